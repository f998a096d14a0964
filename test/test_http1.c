/* test_http1.c - URL parsing, request heads, header-file check, response
 * heads (every prefix is "partial"), chunked bodies, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
