/* json_write.h - one JSON object per line, built in a fixed buffer.
 *
 * json_begin, then one call per member, then json_end.  The builder never
 * allocates and never writes past buf; when a value does not fit, the
 * overflow flag sticks and json_end fails, so a truncated line is never
 * logged.  Strings are escaped per RFC 8259 and any byte sequence that is
 * not well-formed UTF-8 (stray continuation bytes, overlong forms,
 * surrogates, code points above U+10FFFF, truncated sequences) becomes
 * U+FFFD, one per maximal invalid subpart (the Unicode / WHATWG policy,
 * also Python's bytes.decode("utf-8", "replace")), so every line is valid
 * UTF-8 JSON whatever a peer sent.  Keys are trusted constants.  The
 * finished line goes to a log with ndjson_write (ndjson.h).
 */
#ifndef JSON_WRITE_H
#define JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Holds the longest line any writer builds, with room to spare: an
 * inbound connection's is at most 9,667 bytes (peer.c asserts a looser
 * bound against this), a crawl's or an announce's is shorter.  Readers of
 * the log (export batches, report) take lines at least this long. */
#define JSON_LINE_MAX 16384

struct json_line {
	char buf[JSON_LINE_MAX];  /* NUL-terminated after a successful json_end */
	size_t len;
	bool overflow;            /* something did not fit: the line is unusable */
	bool first;               /* no member written yet (no comma needed) */
};

void json_begin(struct json_line *j);                                 /* "{" */
void json_str(struct json_line *j, const char *key, const char *s);  /* NULL -> null */
void json_strn(struct json_line *j, const char *key, const void *s, size_t n);
void json_u64(struct json_line *j, const char *key, uint64_t v);
void json_i64(struct json_line *j, const char *key, int64_t v);
void json_bool(struct json_line *j, const char *key, bool v);
void json_null(struct json_line *j, const char *key);
/* Microseconds as milliseconds with exactly 3 decimals: 12345 -> 12.345,
 * -1 -> -0.001 (exact, no rounding involved). */
void json_ms(struct json_line *j, const char *key, int64_t us);
/* Lowercase hex string of n bytes. */
void json_hex(struct json_line *j, const char *key, const uint8_t *p, size_t n);
/* A pre-built JSON value (array, object, number), copied verbatim; the
 * caller vouches for its validity.  NULL -> null. */
void json_raw(struct json_line *j, const char *key, const char *raw);
/* "}\n".  0 on success (j->buf, j->len are the line), -1 if anything
 * overflowed. */
int json_end(struct json_line *j);

/* RFC 3339 UTC with microseconds, "2026-11-23T16:20:01.123456Z".  Times
 * outside years 1970..9999 are clamped to that range. */
#define JSON_TIMESTAMP_LEN 32
void json_timestamp(char out[JSON_TIMESTAMP_LEN], const struct timespec *t);

#endif
