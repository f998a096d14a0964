/* export.h - ships the NDJSON log to a central store over HTTPS.
 *
 * The log files are the source of truth: the exporter reads lines from
 * the rotated files (PATH.keep .. PATH.1) and the current one, oldest
 * first, batches them (max lines, bytes, delay) and POSTs each batch.  A
 * durable cursor (file dev+inode and offset; temp file, fsync, rename)
 * advances only past lines the store acknowledged (2xx) or refused and
 * that are parked, so delivery is at least once; every line
 * carries event_id for de-duplication.  Through ndjson's may_delete hook
 * a rotation never deletes a file that is not fully shipped, unless the
 * log files together exceed disk_cap_bytes (then the lost lines are
 * counted and reported).
 *
 * Failures: 5xx, 408, 429, timeouts and connection or TLS errors retry
 * the same request with exponential backoff and jitter.  Any other 4xx
 * refuses the lines sent: the batch goes out again in halves (bisect.h)
 * until the refused lines are single, those are parked in the
 * dead-letter file as they were (replayable) with the store's reason in
 * DEAD.why, one JSON line each, and the rest is shipped.  The cursor
 * moves once the whole batch is settled: a crash in between sends it
 * again.  Runs on the sensor's loop: no thread, no blocking call but
 * local file I/O.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dial.h"
#include "loop.h"
#include "ndjson.h"

enum export_format { EXPORT_NDJSON, EXPORT_FIRESTORE };

struct export_config {
	const char *url;
	enum export_format format;
	const char *ca_file;
	const char *header_file;          /* NULL: none */
	const char *credentials_file;     /* firestore service-account JSON */
	bool allow_http;
	uint64_t batch_lines, batch_bytes, batch_ms;
	const char *cursor_path;          /* NULL: LOG.cursor */
	const char *dead_letter_path;     /* NULL: LOG.dead */
	uint64_t disk_cap_bytes;
	uint64_t timeout_ms;              /* one whole request */
	uint64_t retry_max_ms;            /* backoff ceiling */
	const struct dial_proxy *proxy;   /* NULL: dial directly */
};

enum export_health { EXPORT_STARTING, EXPORT_OK, EXPORT_FAILING };

/* What operators (and later a metrics endpoint) read. */
struct export_status {
	enum export_health health;
	uint64_t lag_bytes;        /* in the log files after the cursor */
	uint64_t lag_lines;        /* lines read but not shipped yet */
	int64_t last_success_ms;   /* Unix time; 0: never */
	int64_t last_error_ms;
	char last_error[160];      /* never holds header or key material */
	uint64_t batches_ok, lines_ok;   /* batches: accepted requests */
	uint64_t retries;
	uint64_t dead_batches, dead_lines;   /* parked parts, their lines */
	uint64_t dropped_lines;    /* deleted unshipped under the disk cap */
};

struct exporter;

/* Reads the CA bundle, header file and cursor, hooks into the log's
 * rotation and starts the timer.  NULL on error, with the reason in
 * why[why_len] for the caller to print. */
struct exporter *exporter_new(const struct export_config *c, struct loop *l,
    struct ndjson_log *log, char *why, size_t why_len);

const struct export_status *exporter_status(const struct exporter *e);

/* Shutdown: ship what is pending, then loop_stop(), within `within_ms`
 * at most. */
void exporter_drain(struct exporter *e, uint64_t within_ms);

/* Closes everything and unhooks the log; NULL is fine. */
void exporter_free(struct exporter *e);

#endif
