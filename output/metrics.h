/* metrics.h - counters the modules increment, rendered in the Prometheus
 * text exposition format (version 0.0.4), and an optional HTTP/1.1
 * listener on the sensor's poll loop that serves them.
 *
 * Counting is always on and costs a few compares per connection; the
 * listener runs only when configured (--metrics ADDR:PORT).  It answers
 * GET (and HEAD) /metrics and /healthz, 404 for other paths, 405 for
 * other methods, one request per connection (Connection: close).  Caps:
 * METRICS_REQ_MAX bytes of request head, METRICS_CLIENT_MS for the whole
 * exchange (slow clients get 408 and are cut off), METRICS_CLIENTS at once
 * (more wait in the listen backlog until a place frees).
 *
 * Label values are copied (cut at METRICS_LABEL_MAX - 1 bytes); each
 * labelled family keeps at most METRICS_SERIES distinct label sets, and
 * anything beyond is counted under the value "other", so a hostile peer
 * cannot grow the exposition.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"

#include "loop.h"

#define METRICS_LABEL_MAX 32
#define METRICS_SERIES 32          /* per family, "other" included */
#define METRICS_BUCKETS 11         /* probe duration, +Inf excluded */
#define METRICS_REQ_MAX 2048
#define METRICS_BODY_MAX 32768       /* worst case renders ~15 KB */
#define METRICS_CLIENTS 4
#define METRICS_CLIENT_MS 2000

/* A counter family with up to two labels. */
struct metrics_series {
	char v1[METRICS_LABEL_MAX];
	char v2[METRICS_LABEL_MAX];
	uint64_t count;
};

struct metrics_vec {
	struct metrics_series s[METRICS_SERIES];
	unsigned n;
};

struct metrics_histogram {
	uint64_t bucket[METRICS_BUCKETS];   /* not cumulative; rendered so */
	uint64_t count;
	uint64_t sum_us;
};


struct metrics {
	/* identity, from metrics_init */
	char version[METRICS_LABEL_MAX];
	char sensor_id[256];
	char network[METRICS_LABEL_MAX * 2];
	int64_t start_time_s;         /* Unix time */
	/* counters */
	struct metrics_vec outcomes;          /* outcome */
	struct metrics_vec handshakes;        /* protocol_version */
	struct metrics_vec classifications;   /* classification, reason */
	struct metrics_histogram probe;
	uint64_t log_lines, log_bytes, log_errors;
	/* gauges, refreshed right before each scrape */
	uint64_t open_connections;
	uint64_t log_file_bytes;
	uint64_t log_rotations;
	/* the exporter's state, copied in by the sensor's refresh callback
	 * through metrics_export_set; no export metrics until then */
	struct export_status exp;
	bool exp_present;
};

/* What peer.c knows of a finished connection. */
struct metrics_conn {
	const char *outcome;
	int64_t protocol_version;     /* -1: the handshake did not complete */
	const char *classification;   /* NULL: not classified */
	const char *reason;
	int64_t probe_us;             /* -1: no probe ran (disabled, cached..) */
};

void metrics_init(struct metrics *m, const char *version,
    const char *sensor_id, const char *network);
void metrics_count_conn(struct metrics *m, const struct metrics_conn *c);
/* One NDJSON line of len bytes written (ok) or dropped. */
void metrics_count_log(struct metrics *m, size_t len, bool ok);
void metrics_export_set(struct metrics *m, const struct export_status *e);

/* The exposition into buf; returns its length, or 0 if it did not fit. */
size_t metrics_render(const struct metrics *m, char *buf, size_t cap);

/* ---- HTTP ---- */

enum metrics_route {
	ROUTE_INCOMPLETE,     /* the head has not ended yet: read more */
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_NOT_FOUND,
	ROUTE_BAD_METHOD,
	ROUTE_BAD_REQUEST,
	ROUTE_TOO_LARGE,      /* no end of head within METRICS_REQ_MAX */
};

/* The route of the request head in buf[0..len), parsed by
 * http1_parse_request (RFC 9112: request line, header lines, CRLF line
 * ends, Host rules) within the first METRICS_REQ_MAX bytes.  *head is set
 * for a HEAD request.  The bytes after the head are not looked at. */
enum metrics_route metrics_parse_request(const char *buf, size_t len,
    bool *head);

struct metrics_server;
typedef void (*metrics_refresh_fn)(void *ud, struct metrics *m);

/* Listen on "ADDR:PORT" (see parse_host_port) and serve m from loop l;
 * refresh(ud, m) runs before each scrape to set the gauges.  NULL with
 * errno on failure (EINVAL for a bad address). */
struct metrics_server *metrics_server_start(const char *addr,
    struct metrics *m, struct loop *l, metrics_refresh_fn refresh, void *ud);
/* Close the listener and every client.  NULL is fine. */
void metrics_server_free(struct metrics_server *srv);

#endif
