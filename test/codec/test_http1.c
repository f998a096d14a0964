/* test_http1.c - URL parsing, request heads, header-file check, response
 * heads (every prefix is "partial"), chunked bodies, and the server-side
 * request parser (its parts, Host rules, every prefix partial, bytes
 * read only inside len, hostile request lines and headers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

static void test_url_forms(void **state)
{
	struct url u;

	(void)state;
	assert_int_equal(url_parse("https://ch.example/", &u), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "ch.example");
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/");
	assert_int_equal(url_parse("http://127.0.0.1:8123", &u), 0);
	assert_false(u.tls);
	assert_int_equal(u.port, 8123);
	assert_string_equal(u.path, "/");
	assert_int_equal(url_parse("https://[::1]:8443/a/b?query=INSERT%20x&z=1",
	    &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path, "/a/b?query=INSERT%20x&z=1");
	assert_int_equal(url_parse("https://h?q=1", &u), 0);
	assert_string_equal(u.path, "/?q=1");
	assert_int_equal(url_parse(
	    "https://f.googleapis.com/v1/projects/p/databases/(default)/documents/c",
	    &u), 0);
}

static void test_url_rejects(void **state)
{
	static const char *const bad[] = {
		"ftp://h/", "https://", "https:///x", "https://user@h/",
		"https://h/#frag", "https://h/a b", "https://h:0/", "https://h:65536/",
		"https://h:/", "https://h:8a/", "https://[::1/", "https://[::1]x/",
		"HTTPS://h/", "https://h/\r\nX: y", "https://h\x01/",
	};
	char long_host[URL_HOST_MAX + 20] = "https://";
	struct url u;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(url_parse(bad[i], &u), -1);
	memset(long_host + 8, 'a', URL_HOST_MAX);
	assert_int_equal(url_parse(long_host, &u), -1);
}

static void test_post_head(void **state)
{
	char out[512];
	struct url u;

	(void)state;
	assert_int_equal(url_parse("https://ch/?q=1", &u), 0);
	int n = http1_post_head(out, sizeof out, &u, "application/x-ndjson", 12,
	    "X-Key: s\r\n");
	assert_string_equal(out, "POST /?q=1 HTTP/1.1\r\nHost: ch\r\n"
	    "Content-Type: application/x-ndjson\r\nContent-Length: 12\r\n"
	    "Connection: close\r\nX-Key: s\r\n\r\n");
	assert_int_equal(n, (int)strlen(out));
	assert_int_equal(url_parse("http://[::1]:81/", &u), 0);
	http1_post_head(out, sizeof out, &u, "t", 0, NULL);
	assert_non_null(strstr(out, "\r\nHost: [::1]:81\r\n"));
	assert_int_equal(http1_post_head(out, 40, &u, "t", 0, NULL), -1);
}

static void test_check_headers(void **state)
{
	(void)state;
	assert_int_equal(http1_check_headers("", 0), 0);
	assert_int_equal(http1_check_headers("A: b\r\nX-Y_z: c d\te\r\n", 20), 0);
	assert_int_equal(http1_check_headers("A b\r\n", 5), -1);
	assert_int_equal(http1_check_headers(": b\r\n", 5), -1);
	assert_int_equal(http1_check_headers("A: b\n", 5), -1);
	assert_int_equal(http1_check_headers("A: b\r\nC", 7), -1);
	assert_int_equal(http1_check_headers("A: b\rC: d\r\n", 11), -1);
	assert_int_equal(http1_check_headers("A: \x01\r\n", 6), -1);
}

static const char ok_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    "content-length:  5 \r\nX-ClickHouse-Summary: {\"read_rows\":\"0\"}\r\n\r\n";

static void test_response_every_prefix_partial(void **state)
{
	struct http1_response r;
	size_t n = strlen(ok_head);

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(http1_parse_response(ok_head, i, &r), -2);
	assert_int_equal(http1_parse_response(ok_head, n, &r), (int)n);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 5);
	assert_false(r.chunked);
}

static int parse(const char *s, struct http1_response *r)
{
	return http1_parse_response(s, strlen(s), r);
}

static void test_response_framing(void **state)
{
	struct http1_response r;

	(void)state;
	assert_true(parse("HTTP/1.1 500 x\r\nTransfer-Encoding: chunked\r\n\r\n",
	    &r) > 0);
	assert_true(r.chunked);
	assert_int_equal(r.content_length, -1);
	assert_true(parse("HTTP/1.0 404\r\n\r\n", &r) > 0);
	assert_int_equal(r.status, 404);
	assert_true(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n", &r) > 0);
	/* Smuggling shapes and junk. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip"
	    "\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/2 200 OK\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 099 x\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 2000 x\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n", &r), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\nA: b\r\n\r\n", &r), -1);
}

static void test_response_size_cap(void **state)
{
	static char big[HTTP1_HEAD_MAX + 100];
	struct http1_response r;

	(void)state;
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 21);
	memset(big + 21, 'a', sizeof big - 21);
	assert_int_equal(http1_parse_response(big, HTTP1_HEAD_MAX - 1, &r), -2);
	assert_int_equal(http1_parse_response(big, sizeof big, &r), -1);
}

static void test_dechunk(void **state)
{
	static const char enc[] = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
	    "E\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	char buf[128];
	size_t body = 0, n = strlen(enc) - 4;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, enc, i);
		assert_int_equal(http1_dechunk(buf, i, &body), -2);
	}
	memcpy(buf, enc, sizeof enc);
	assert_int_equal(http1_dechunk(buf, sizeof enc - 1, &body), (long)n);
	assert_int_equal(body, 23);
	assert_memory_equal(buf, "Wikipedia in\r\n\r\nchunks.", 23);
}

static void test_dechunk_hostile(void **state)
{
	static const char *const bad[] = {
		"x\r\n", "4\r\nWikiXX0\r\n\r\n", "\r\n", "4\nWiki\r\n0\r\n\r\n",
		"1000000000000000\r\n", "-1\r\n", "0\r\nTrailer\n\r\n",
	};
	char buf[64];
	size_t body;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = strlen(bad[i]);
		memcpy(buf, bad[i], n);
		assert_int_equal(http1_dechunk(buf, n, &body), -1);
	}
	/* A huge announced chunk just waits for bytes: the caller's buffer
	 * cap and timeout bound it. */
	memcpy(buf, "fffffff\r\nab", 11);
	assert_int_equal(http1_dechunk(buf, 11, &body), -2);
}

/* ---- request (server side) ---- */

static int parse_req(const char *s, struct http1_request *r)
{
	return http1_parse_request(s, strlen(s), r);
}

static void assert_span(const char *p, size_t n, const char *want)
{
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("'%.*s', want '%s'", (int)n, p, want);
}

static void test_request_parts(void **state)
{
	static const struct {
		const char *head, *method, *path;
		int minor;
	} good[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/metrics", 1 },
		{ "HEAD /healthz?x=1&y HTTP/1.1\r\nhOsT:x\r\n\r\n", "HEAD",
		  "/healthz", 1 },
		{ "GET / HTTP/1.0\r\n\r\n", "GET", "/", 0 },
		{ "M-SEARCH! /a/b/ HTTP/1.9\r\nHost: h\r\nA:\r\n\r\n", "M-SEARCH!",
		  "/a/b/", 9 },
		/* Absolute form: the path after the authority (RFC 9112 3.2.2). */
		{ "GET http://h:9/metrics?a HTTP/1.1\r\nHost: h:9\r\n\r\n", "GET",
		  "/metrics", 1 },
		{ "GET HTTPS://h/x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "/x", 1 },
		{ "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "", 1 },
		{ "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "", 1 },
		/* Field values may carry tabs and obs-text. */
		{ "GET /m HTTP/1.1\r\nHost: x\r\nX-A:\t\xc3\xa9 v\t\r\n\r\n", "GET",
		  "/m", 1 },
	};
	struct http1_request r;
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (parse_req(good[i].head, &r) != (int)strlen(good[i].head))
			fail_msg("refused: %s", good[i].head);
		assert_span(r.method, r.method_len, good[i].method);
		assert_span(r.path, r.path_len, good[i].path);
		assert_int_equal(r.minor, good[i].minor);
	}
	/* What follows the head is the caller's: not looked at. */
	static const char more[] = "GET / HTTP/1.0\r\n\r\n\x01\x02garbage";
	assert_int_equal(http1_parse_request(more, sizeof more - 1, &r), 18);
}

/* RFC 9112 3.2: one Host in HTTP/1.1, never two. */
static void test_request_host_rules(void **state)
{
	struct http1_request r;
	(void)state;
	assert_int_equal(parse_req("GET / HTTP/1.1\r\n\r\n", &r), -1);
	assert_int_equal(parse_req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
	    "\r\n", &r), -1);
	assert_int_equal(parse_req("GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n"
	    "\r\n", &r), -1);
	assert_int_equal(parse_req("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", &r),
	    -1);
	assert_true(parse_req("GET / HTTP/1.0\r\nHost: a\r\n\r\n", &r) > 0);
	assert_true(parse_req("GET / HTTP/1.1\r\nHostname: a\r\nHost: b\r\n"
	    "\r\n", &r) > 0);
}

/* Every proper prefix is partial; the parser reads only what len gives
 * (each try is a heap copy of exactly that size, for ASan). */
static void test_request_every_prefix_partial(void **state)
{
	static const char req[] = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
	    "User-Agent: Prometheus/2.42\r\n\r\n";
	struct http1_request r;
	size_t n = sizeof req - 1;
	(void)state;
	for (size_t i = 0; i <= n; i++) {
		char *copy = malloc(i ? i : 1);
		assert_non_null(copy);
		memcpy(copy, req, i);
		assert_int_equal(http1_parse_request(copy, i, &r),
		    i < n ? -2 : (int)n);
		free(copy);
	}
	/* A head that never ends stays partial: the caller's buffer is
	 * the cap (a full one means 431).  Bare LFs end nothing. */
	static char big[4096];
	memset(big, '\n', sizeof big);
	assert_int_equal(http1_parse_request(big, sizeof big, &r), -2);
}

static void test_request_hostile(void **state)
{
	static const char *const bad[] = {
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET ftp://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.x\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.10\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",
		"GET /metrics http/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics\r\nHost: x\r\n\r\n",
		"GET\r\n\r\n", "GET \r\n\r\n", "\r\n\r\n",
		" GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /met\x7frics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /m\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\rY\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\nA: b\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: \x01\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nX\x80: y\r\nHost: x\r\n\r\n",
		"\x16\x03\x01\x02\x10\x01\x11\x01\xfc\x03\x03\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	};
	struct http1_request r;
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse_req(bad[i], &r) != -1)
			fail_msg("request %zu: %d", i, parse_req(bad[i], &r));
	/* A NUL inside a header value or the method. */
	static const char nul[] = "GET /m HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	assert_int_equal(http1_parse_request(nul, sizeof nul - 1, &r), -1);
	static const char nul2[] = "G\0T /m HTTP/1.0\r\n\r\n";
	assert_int_equal(http1_parse_request(nul2, sizeof nul2 - 1, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_forms),
		cmocka_unit_test(test_url_rejects),
		cmocka_unit_test(test_post_head),
		cmocka_unit_test(test_check_headers),
		cmocka_unit_test(test_response_every_prefix_partial),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_response_size_cap),
		cmocka_unit_test(test_dechunk),
		cmocka_unit_test(test_dechunk_hostile),
		cmocka_unit_test(test_request_parts),
		cmocka_unit_test(test_request_host_rules),
		cmocka_unit_test(test_request_every_prefix_partial),
		cmocka_unit_test(test_request_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
