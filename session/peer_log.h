/* peer_log.h - what an inbound connection leaves behind: its one NDJSON
 * line (README "Log format") and its share of the Prometheus counters.
 * peer.c fills a struct peer_record as the connection goes and hands it
 * over once, at the end; the helpers below read and fill its first
 * bytes. */
#ifndef PEER_LOG_H
#define PEER_LOG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kaspa_pb.h"
#include "probe.h"
#include "sensor.h"

#define FIRST_BYTES 16         /* kept to tell what a non-HTTP/2 client was */
#define HTTP_UA_MAX 128        /* the user-agent header kept, with its NUL */

/* How far the handshake got, for the log (never goes back). */
enum peer_stage {
	STAGE_TCP, STAGE_HTTP2, STAGE_CALL, STAGE_VERSION, STAGE_VERACK,
	STAGE_READY,
};

/* Largest members first: one of these per connection. */
struct peer_record {
	struct kaspa_version version;
	struct probe_report probe;
	struct timespec accepted_wall;
	int64_t accepted_us;
	int64_t handshake_us;      /* accept -> both Ready; -1 until then */
	int64_t closed_us;
	uint64_t bytes_in, bytes_out;
	struct kaspa_version_unknown *unknown;  /* only if it sent some */
	const char *outcome;       /* NULL while undecided */
	char *reject_reason;       /* the peer's Reject text (rare) */
	size_t first_len;
	enum peer_stage stage;
	uint32_t our_version;      /* valid if sent_version */
	uint16_t port;
	uint16_t local_port;
	uint8_t first_bytes[FIRST_BYTES];
	char ip_text[INET6_ADDRSTRLEN];
	char http_user_agent[HTTP_UA_MAX];
	bool got_version;
	bool sent_version;
	bool peer_first;           /* their Version came before ours */
	bool compressed;           /* the peer sent a gzip message */
	bool probe_started;
};

/* Keep the first FIRST_BYTES the client sent (of n more at buf). */
void peer_keep_first_bytes(struct peer_record *r, const uint8_t *buf,
    size_t n);

/* What a client that failed the HTTP/2 preface was speaking, from its
 * first bytes: "tls", "http1" or "not_http2". */
const char *peer_preface_outcome(const struct peer_record *r);

/* Count the connection in s->metrics and write its line to s->log. */
void peer_log(struct sensor *s, const struct peer_record *r);

#endif
