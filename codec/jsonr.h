/* jsonr.h - a small JSON reader (RFC 8259) over a byte buffer: skip a
 * value, decode a string or an unsigned integer, find a member of an
 * object, walk an object's members or an array's elements.  Positions are
 * indexes into p[0..n); every function returns -1 on malformed input,
 * never reads past n, and nests at most JSONR_DEPTH_MAX deep. */
#ifndef JSONR_H
#define JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The unsigned integer at i (digits only: no sign, fraction or exponent)
 * into *v; the index after it, or -1 if it is not one or exceeds 64 bits. */
long jsonr_u64(const char *p, size_t n, size_t i, uint64_t *v);

/* One pass over the members of an object or the elements of an array:
 *
 *     struct jsonr_iter it;
 *     size_t v;
 *     int r;
 *     if (jsonr_iter_begin(&it, p, n, i) != 0) ...
 *     while ((r = jsonr_iter_next(&it, p, n, key, sizeof key, &v)) == 1)
 *             it.next = <index after the value at v, e.g. jsonr_skip>;
 *
 * jsonr_iter_next returns 1 with the next member (objects: its key
 * unescaped into key, or "" if it does not fit cap, its length in
 * it.key_len; arrays: key may be NULL) and the index of its value in
 * *value; 0 at the closing bracket (it.next is then the index after it);
 * -1 if the input is malformed.  The caller reads or skips each value and
 * must set it.next to the index just after it. */
struct jsonr_iter {
	size_t next;
	size_t key_len;
	char close;      /* '}' or ']' */
	bool started;    /* a member was returned */
};

/* 0, or -1 if i holds neither an object nor an array. */
int jsonr_iter_begin(struct jsonr_iter *it, const char *p, size_t n,
    size_t i);
int jsonr_iter_next(struct jsonr_iter *it, const char *p, size_t n,
    char *key, size_t cap, size_t *value);

#endif
