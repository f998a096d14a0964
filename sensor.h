/* sensor.h - state shared by the listener (sensor.c) and the inbound
 * peer state machine (peer.c). */
#ifndef SENSOR_H
#define SENSOR_H

#include <stdint.h>

#include "config.h"
#include "conn.h"
#include "dial.h"
#include "handshake.h"
#include "json_write.h"
#include "ipmap.h"
#include "kaspa_pb.h"
#include "listener.h"
#include "loop.h"
#include "metrics.h"
#include "ndjson.h"

struct peer;
struct prober;
struct announcer;
struct exporter;

/* SIGTERM/SIGINT: the first drains, the second stops now (sensor.c). */
enum shutdown_state {
	SHUTDOWN_NONE,      /* running */
	SHUTDOWN_DRAINING,  /* lines written; the exporter ships what is left */
	SHUTDOWN_STOPPING,  /* the loop ends at this turn */
};

struct sensor {
	const struct config *cfg;
	struct conn_shared shared;     /* every connection's buffers (conn.h) */
	struct json_line line;         /* peer_log's */
	struct loop loop;
	struct ndjson_log log;
	struct ipmap per_ip;           /* open connections per peer IP */
	uint8_t node_id[KASPA_ID_LEN]; /* random, per process */
	char node_hex[2 * KASPA_ID_LEN + 1];
	struct hs_config handshake;    /* every inbound one (peer_setup) */
	unsigned n_peers;              /* open inbound connections */
	struct peer *peers;            /* list of them */
	struct dial_proxy proxy;       /* --socks5; len 0: none */
	struct prober *prober;
	struct announcer *announcer;    /* NULL unless --announce */
	struct exporter *exporter;      /* NULL unless --export-url */
	struct metrics metrics;        /* counters (metrics.h) */
	struct metrics_server *metrics_srv;   /* NULL: no --metrics */
	int n_listeners;
	struct listener listeners[CONFIG_LISTEN_MAX];
	int signal_fd;                 /* self-pipe read end */
	int signal_slot;
	enum shutdown_state shutdown;
	char why[256];                 /* a start-up step's failure reason */
};

#endif
