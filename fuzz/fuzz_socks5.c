/* fuzz_socks5.c - the SOCKS5 reply parsers on hostile bytes, and the
 * request builders on hostile names and credentials.  Invariants: the
 * reply length asked for stays within SOCKS5_REPLY_MAX and never shrinks
 * as bytes arrive, a complete reply is complete at exactly that length
 * and no earlier, and requests never outgrow their buffers.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_socks5.c socks5.c addr.c -o build/fuzz/fuzz_socks5
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

static void fuzz_reply(const uint8_t *p, size_t n)
{
	struct socks5_reply r;
	size_t need = 0, prev = SOCKS5_REPLY_MIN;

	for (size_t i = 0; i <= n && i <= SOCKS5_REPLY_MAX; i++) {
		int got = socks5_parse_reply(p, i, &need, &r);
		CHECK(got >= -1 && got <= 1);
		CHECK(need >= SOCKS5_REPLY_MIN && need <= SOCKS5_REPLY_MAX);
		if (got == -1)
			return;
		CHECK(need >= prev);
		prev = need;
		CHECK(got == 1 ? need <= i : need > i);
		if (got == 1) {
			CHECK(i == need);   /* no earlier prefix completed it */
			CHECK(socks5_parse_reply(p, n, &need, &r) == 1);
			return;
		}
	}
}

static void fuzz_short_replies(const uint8_t *p, size_t n)
{
	uint8_t method;
	bool ok;

	for (size_t i = 0; i <= n && i <= 3; i++) {
		int m = socks5_parse_method(p, i, i % 2 == 0, &method);
		int a = socks5_parse_auth(p, i, &ok);
		CHECK(m >= -1 && m <= 1 && a >= -1 && a <= 1);
		CHECK(i >= 2 ? m != 0 && a != 0 : m != 1 && a != 1);
	}
}

static void fuzz_requests(const uint8_t *p, size_t n)
{
	char text[SOCKS5_AUTH_MAX];
	uint8_t out[SOCKS5_AUTH_MAX + 1];
	size_t len = n < sizeof text - 1 ? n : sizeof text - 1;
	size_t half = len / 2;

	memcpy(text, p, len);
	text[len] = '\0';
	out[SOCKS5_REQUEST_MAX] = 0xa5;
	int r = socks5_connect_name(out, text, 16111);
	size_t slen = strlen(text);
	CHECK(r == (slen >= 1 && slen <= SOCKS5_NAME_MAX ? (int)slen + 7 : -1));
	CHECK(out[SOCKS5_REQUEST_MAX] == 0xa5);
	/* user = first half, password = the rest */
	char user[SOCKS5_AUTH_MAX];
	memcpy(user, text, half);
	user[half] = '\0';
	out[SOCKS5_AUTH_MAX] = 0x5a;
	r = socks5_auth_request(out, user, text + half);
	CHECK(r == -1 || (r >= 5 && r <= SOCKS5_AUTH_MAX));
	CHECK(out[SOCKS5_AUTH_MAX] == 0x5a);
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	fuzz_reply(p, n);
	fuzz_short_replies(p, n);
	fuzz_requests(p, n);
	return 0;
}
