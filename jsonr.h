/* jsonr.h - a small JSON reader (RFC 8259) over a byte buffer: skip a
 * value, decode a string, find a member of an object, walk an array.  Positions are
 * indexes into p[0..n); every function returns -1 on malformed input,
 * never reads past n, and nests at most JSONR_DEPTH_MAX deep. */
#ifndef JSONR_H
#define JSONR_H

#include <stddef.h>

#define JSONR_DEPTH_MAX 32

/* Index of the first non-blank byte at or after i. */
size_t jsonr_ws(const char *p, size_t n, size_t i);

/* Index just after the value starting at i (blanks before it skipped). */
long jsonr_skip(const char *p, size_t n, size_t i);

/* The string at i ('"'), unescaped into out (NUL-terminated, with its
 * length in *len; -1 if it does not fit cap).  Returns the index after
 * the closing quote.  \u0000 is refused: out stays a C string. */
long jsonr_string(const char *p, size_t n, size_t i, char *out, size_t cap,
    size_t *len);

/* Index of the value of member `key` of the object at i, or -1. */
long jsonr_member(const char *p, size_t n, size_t i, const char *key);

/* The elements of the array at i, in order: jsonr_array_first gives the
 * index of the first, jsonr_array_next the one after the element at e.
 * 0 when there is none (no element starts at 0: its '[' is before it),
 * -1 if malformed.  The elements themselves are the caller's to read. */
long jsonr_array_first(const char *p, size_t n, size_t i);
long jsonr_array_next(const char *p, size_t n, size_t e);

#endif
