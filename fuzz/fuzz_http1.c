/* fuzz_http1.c - the HTTP/1.1 response and request parsers, the chunked
 * decoder, the header-file check and URL parsing on hostile bytes.
 * Invariants: results stay inside the input, a head found in a prefix is
 * found at the same place in the whole input, a decoded body is never
 * longer than its encoding, and a parsed URL makes a well-formed request
 * head.  The request parser reads a heap copy of exactly len bytes, ends
 * its head at the first CRLF CRLF (found here independently), answers
 * the same on the head alone, and is partial on any shorter prefix; the
 * parts it returns lie inside the head and hold no control bytes.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_http1.c http1.c -o build/fuzz/fuzz_http1
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

static void fuzz_response(const char *p, size_t n)
{
	struct http1_response r, r2;
	int head = http1_parse_response(p, n, &r);

	CHECK(head == -1 || head == -2 || (head > 0 && (size_t)head <= n));
	if (head > 0) {
		CHECK(r.status >= 100 && r.status <= 999);
		CHECK(!(r.chunked && r.content_length >= 0));
		/* More bytes after the head change nothing about it. */
		CHECK(http1_parse_response(p, (size_t)head, &r2) == head);
		CHECK(r2.status == r.status && r2.chunked == r.chunked &&
		    r2.content_length == r.content_length);
	}
	if (n > 0)   /* a shorter prefix never completes earlier than this */
		CHECK(http1_parse_response(p, n - 1, &r2) != -2 || head != 0);
}

/* Offset just past the first CRLF CRLF, or 0 (independent of http1.c). */
static size_t find_end(const char *d, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(d + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

static bool printable(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return false;
	return true;
}

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void fuzz_request(const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);
	struct http1_request r, r2, shorter;
	size_t end = find_end(p, n);

	memcpy(copy, p, n);
	int head = http1_parse_request(copy, n, &r);
	if (end == 0)
		CHECK(head == -2);
	else
		CHECK(head == -1 || (size_t)head == end);
	if (end > 0) {     /* the head alone: the same answer */
		CHECK(http1_parse_request(copy, end, &r2) == head);
		CHECK(http1_parse_request(copy, end - 1, &shorter) == -2);
	}
	if (head > 0) {
		CHECK(r.method_len > 0 && inside(r.method, r.method_len, copy,
		    (size_t)head) && printable(r.method, r.method_len));
		CHECK(inside(r.path, r.path_len, copy, (size_t)head) &&
		    printable(r.path, r.path_len));
		CHECK(r.path_len == 0 || r.path[0] == '/');
		CHECK(r.minor >= 0 && r.minor <= 9);
		CHECK(r2.method == r.method && r2.path == r.path &&
		    r2.path_len == r.path_len && r2.minor == r.minor);
	}
	free(copy);
}

static void fuzz_chunked(const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);
	size_t body = 0;
	long used;

	memcpy(copy, p, n);
	used = http1_dechunk(copy, n, &body);
	CHECK(used >= -2 && used <= (long)n);
	if (used >= 0)
		CHECK(body <= (size_t)used);
	free(copy);
}

static void fuzz_url(const char *p, size_t n)
{
	char s[URL_PATH_MAX + URL_HOST_MAX + 64], head[HTTP1_HEAD_MAX];
	struct url u;
	int len;

	if (n >= sizeof s)
		n = sizeof s - 1;
	memcpy(s, p, n);
	s[n] = '\0';
	if (url_parse(s, &u) != 0)
		return;
	CHECK(u.host[0] != '\0' && u.path[0] == '/' && u.port != 0);
	len = http1_post_head(head, sizeof head, &u, "text/plain", 7, NULL);
	CHECK(len > 0 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0);
	CHECK(memchr(head, '\0', (size_t)len) == NULL);
	/* Exactly one blank line: no header injection through the URL. */
	CHECK(strstr(head, "\r\n\r\n") == head + len - 4);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *p = (const char *)data;

	fuzz_response(p, size);
	fuzz_request(p, size);
	fuzz_chunked(p, size);
	fuzz_url(p, size);
	if (http1_check_headers(p, size) == 0)
		CHECK(size == 0 || (size >= 3 && p[size - 1] == '\n'));
	return 0;
}
