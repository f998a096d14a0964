/* fuzz_http1.c - the HTTP/1.1 response parser, the chunked decoder, the
 * header-file check and URL parsing on hostile bytes.  Invariants: results
 * stay inside the input, a head found in a prefix is found at the same
 * place in the whole input, a decoded body is never longer than its
 * encoding, and a parsed URL makes a well-formed request head.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_http1.c http1.c -o build/fuzz/fuzz_http1
 */
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
	fuzz_chunked(p, size);
	fuzz_url(p, size);
	if (http1_check_headers(p, size) == 0)
		CHECK(size == 0 || (size >= 3 && p[size - 1] == '\n'));
	return 0;
}
