/* http1.h - the client side of HTTP/1.1 (RFC 9112), as the exporter needs
 * it: URL parsing, request heads, and a stateless response parser.
 *
 * The parser is picohttpparser-style: call it again on the whole buffer
 * whenever more bytes arrived.  It returns the head length once the blank
 * line is in, -2 when more bytes are needed, -1 on a malformed or
 * oversized head.  Nothing is allocated; every size is capped.
 */
#ifndef HTTP1_H
#define HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define URL_HOST_MAX 256
#define URL_PATH_MAX 2048
#define HTTP1_HEAD_MAX 16384          /* status line + headers */
#define HTTP1_CONTENT_LENGTH_MAX (1ull << 40)

struct url {
	bool tls;                     /* https */
	char host[URL_HOST_MAX];      /* name or address, without [] */
	uint16_t port;
	char path[URL_PATH_MAX];      /* path and query, starts with '/' */
};

/* "http[s]://host[:port][/path][?query]", host may be "[v6]".  No user
 * info, no fragment.  0 on success, -1 if malformed or too long. */
int url_parse(const char *s, struct url *u);

/* "POST path HTTP/1.1" head with Host, Content-Type, Content-Length,
 * Connection: close, then `extra` (complete "Name: value\r\n" lines, or
 * NULL) and the blank line.  Returns the length, or -1 if it does not fit
 * in cap. */
int http1_post_head(char *out, size_t cap, const struct url *u,
    const char *content_type, size_t body_len, const char *extra);

/* 0 if `block` is a sequence of "Name: value\r\n" lines with a token name
 * and no control bytes in the value (what a header file may hold), else
 * -1. */
int http1_check_headers(const char *block, size_t len);

struct http1_response {
	int status;                   /* 100..999 */
	int64_t content_length;       /* -1: not given */
	bool chunked;                 /* Transfer-Encoding ends in chunked */
};

/* Parses buf[0..len): see the top of this file. */
int http1_parse_response(const char *buf, size_t len,
    struct http1_response *r);

/* Chunked body in buf[0..len).  Returns -2 until the last chunk and the
 * trailers are in, -1 if malformed; then decodes it in place, sets
 * *body_len and returns the bytes of buf it used. */
long http1_dechunk(char *buf, size_t len, size_t *body_len);

#endif
