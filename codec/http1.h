/* http1.h - HTTP/1.1 (RFC 9112) both ways: the client side the exporter
 * needs (URL parsing, request heads, a response parser, chunked bodies)
 * and the server side the metrics listener needs (a request parser).
 *
 * The parsers are picohttpparser-style: stateless, call them again on
 * the whole buffer whenever more bytes arrived.  They return the head
 * length once the blank line is in, -2 when more bytes are needed, -1 on
 * a malformed head.  Nothing is allocated; every size is capped: the
 * response parser's head by HTTP1_HEAD_MAX (-1 beyond), the request
 * parser's by the caller's buffer (-2 with a full buffer: too large).
 * Only buf[0..len) is ever read.
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

/* ---- server side ---- */

/* A request head's parts; the pointers point into the parsed buffer and
 * live as long as it does. */
struct http1_request {
	const char *method;           /* a token, case-sensitive */
	size_t method_len;
	const char *path;             /* the target's path, without its query */
	size_t path_len;              /* 0 for "http://host" */
	int minor;                    /* HTTP/1.<minor>, 0..9 */
};

/* The request line ("METHOD SP target SP HTTP/1.d CRLF"; the target in
 * origin form "/p?q" or absolute form "http[s]://host/p?q"), header lines
 * ("Name: value CRLF", a token name, no control bytes in the value, no
 * folding, no bare LF) and the blank line.  Host is counted as RFC 9112
 * 3.2 asks: exactly one in HTTP/1.1, at most one in HTTP/1.0.  The bytes
 * after the head are not looked at.  See the top of this file for the
 * return value. */
int http1_parse_request(const char *buf, size_t len, struct http1_request *r);

/* Chunked body in buf[0..len).  Returns -2 until the last chunk and the
 * trailers are in, -1 if malformed; then decodes it in place, sets
 * *body_len and returns the bytes of buf it used. */
long http1_dechunk(char *buf, size_t len, size_t *body_len);

#endif
