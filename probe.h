/* probe.h - dial an inbound peer back and classify it Public or Private.
 *
 * Targets, in order, each only if routable (or allowed): the address the
 * peer advertised in its Version (only on the peer's own IP unless
 * configured otherwise: the sensor must not be a reflector), the peer's IP
 * with the network's default port, the peer's IP and source port.  Each
 * is dialed by client.c (through dial.c, so maybe through the SOCKS5
 * proxy) with a timeout, and the Kaspa client handshake runs until the
 * probed node's Version arrives; its id is compared with the inbound
 * peer's.  The first verified target ends it.  With verification off a
 * bare dial is enough.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dial.h"
#include "kaspa_pb.h"
#include "loop.h"

struct conn_shared;

#define PROBE_TARGETS 3

struct probe_config {
	struct conn_shared *shared;  /* the process's (conn.h) */
	bool enabled;
	bool verify;               /* run the Kaspa handshake on an open port */
	bool allow_private;        /* dial non-routable addresses (tests) */
	bool advertised_any_ip;    /* trust an advertised IP other than the
	                            * peer's own */
	uint64_t connect_timeout_ms;
	uint64_t budget_ms;        /* whole probe, all targets */
	uint64_t max_concurrent;
	uint64_t cache_ttl_ms;     /* also the per-node cooldown */
	uint16_t default_port;
	const char *network;
	const char *user_agent;
	const struct dial_proxy *proxy;   /* NULL: dial directly */
};

struct probe_attempt {
	char target[ADDR_TEXT_MAX];
	const char *kind;          /* advertised | default_port | source_port */
	const char *connect;       /* a dial outcome: connected | refused |
	                            * timeout | unreachable | reset | error |
	                            * proxy_refused | proxy_error */
	bool local;                /* ours or the proxy's: says nothing */
	int64_t rtt_us;            /* until the target answered, or -1 */
	const char *verify;        /* verified | different_node | not_kaspa |
	                            * NULL when not run */
};

struct probe_report {
	const char *classification;   /* public | private | unknown */
	const char *reason;
	const char *cached_reason;    /* reason == "cached": the original */
	const char *via;              /* "socks5" through the proxy, or NULL */
	char target[ADDR_TEXT_MAX];   /* where the verdict came from, or "" */
	struct probe_attempt tried[PROBE_TARGETS];
	unsigned n_tried;
	int64_t duration_us;
};

/* What the probe needs to know of the inbound peer. */
struct probe_request {
	struct ip_key ip;
	uint16_t port;                 /* its source port */
	bool has_advertised;
	struct ip_key advertised;
	uint16_t advertised_port;
	uint8_t id[KASPA_ID_LEN];
	uint32_t protocol_version;
};

typedef void (*probe_done_fn)(void *ctx, const struct probe_report *r);

struct probe;
struct prober;

struct prober *prober_new(const struct probe_config *cfg, struct loop *l);
/* End every probe now (their callbacks run, reason "shutdown"). */
void prober_free(struct prober *pr);

/* Start a probe.  Returns true if it runs (done is called later, from the
 * loop, never from inside probe_start), false if the verdict is already
 * in *now (disabled, cached, no target, every connect() failed at once,
 * or rate limited: probe_max running, or one already dials one of this
 * probe's IPs). */
bool probe_start(struct prober *pr, const struct probe_request *req,
    probe_done_fn done, void *ctx, struct probe_report *now);

#endif
