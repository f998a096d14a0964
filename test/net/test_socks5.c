/* test_socks5.c - SOCKS5 requests byte for byte (RFC 1928, RFC 1929) and
 * the reply parsers on every prefix, bad versions, unknown address types
 * and methods we did not offer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "socks5.h"

static struct ip_key v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ip_key k;
	const uint8_t raw[4] = { a, b, c, d };
	addr_from_bytes(&k, raw, 4);
	return k;
}

static void test_greeting(void **state)
{
	uint8_t out[SOCKS5_GREETING_MAX];
	(void)state;

	assert_int_equal(socks5_greeting(out, false), 3);
	assert_memory_equal(out, "\x05\x01\x00", 3);
	assert_int_equal(socks5_greeting(out, true), 4);
	assert_memory_equal(out, "\x05\x02\x00\x02", 4);
}

static void test_auth_request(void **state)
{
	uint8_t out[SOCKS5_AUTH_MAX];
	char long_cred[SOCKS5_CRED_MAX + 2];
	(void)state;

	assert_int_equal(socks5_auth_request(out, "alice", "s3cret"), 14);
	assert_memory_equal(out, "\x01\x05" "alice" "\x06" "s3cret", 14);
	memset(long_cred, 'x', sizeof long_cred - 1);
	long_cred[sizeof long_cred - 1] = '\0';
	assert_int_equal(socks5_auth_request(out, long_cred, "p"), -1);
	assert_int_equal(socks5_auth_request(out, "u", long_cred), -1);
	assert_int_equal(socks5_auth_request(out, "", "p"), -1);
	assert_int_equal(socks5_auth_request(out, "u", ""), -1);
	long_cred[SOCKS5_CRED_MAX] = '\0';    /* exactly 255: the most */
	assert_int_equal(socks5_auth_request(out, long_cred, long_cred),
	    SOCKS5_AUTH_MAX);
}

static void test_connect_requests(void **state)
{
	uint8_t out[SOCKS5_REQUEST_MAX];
	struct ip_key k = v4(203, 0, 113, 7);
	struct ip_key k6;
	uint8_t raw6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	char name[SOCKS5_NAME_MAX + 2];
	(void)state;

	raw6[15] = 1;
	addr_from_bytes(&k6, raw6, 16);
	assert_int_equal(socks5_connect_ip(out, &k, 16111), 10);
	assert_memory_equal(out, "\x05\x01\x00\x01\xcb\x00\x71\x07\x3e\xef", 10);
	assert_int_equal(socks5_connect_ip(out, &k6, 443), 22);
	assert_memory_equal(out, "\x05\x01\x00\x04", 4);
	assert_memory_equal(out + 4, raw6, 16);
	assert_memory_equal(out + 20, "\x01\xbb", 2);
	assert_int_equal(socks5_connect_name(out, "seeder1.kaspad.net", 16111),
	    7 + 18);
	assert_memory_equal(out, "\x05\x01\x00\x03\x12" "seeder1.kaspad.net"
	    "\x3e\xef", 25);
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_int_equal(socks5_connect_name(out, name, 1), -1);
	assert_int_equal(socks5_connect_name(out, "", 1), -1);
	name[SOCKS5_NAME_MAX] = '\0';
	assert_int_equal(socks5_connect_name(out, name, 1), SOCKS5_REQUEST_MAX);
}

static void test_method_replies(void **state)
{
	uint8_t m = 0xaa;
	(void)state;

	assert_int_equal(socks5_parse_method((const uint8_t *)"", 0, false, &m), 0);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05", 1, false,
	    &m), 0);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x04", 1, false,
	    &m), -1);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\x00", 2,
	    false, &m), 1);
	assert_int_equal(m, SOCKS5_METHOD_NONE);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\xff", 2,
	    false, &m), 1);
	assert_int_equal(m, SOCKS5_METHOD_REFUSED);
	/* username/password only when we offered it; GSSAPI never */
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\x02", 2,
	    false, &m), -1);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\x02", 2,
	    true, &m), 1);
	assert_int_equal(m, SOCKS5_METHOD_USERPASS);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\x01", 2,
	    true, &m), -1);
	/* a SOCKS4 or HTTP proxy answering */
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x00\x5a", 2,
	    true, &m), -1);
	assert_int_equal(socks5_parse_method((const uint8_t *)"HT", 2, true,
	    &m), -1);
}

static void test_auth_replies(void **state)
{
	bool ok = true;
	(void)state;

	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01", 1, &ok), 0);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x00", 2, &ok), 1);
	assert_true(ok);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x01", 2, &ok), 1);
	assert_false(ok);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\xff", 2, &ok), 1);
	assert_false(ok);
	/* some servers answer the subnegotiation with version 5: not ours */
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x05\x00", 2, &ok),
	    -1);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x05", 1, &ok), -1);
}

/* Every proper prefix needs more, and says how much it knows it needs. */
static void assert_reply(const uint8_t *p, size_t n, uint8_t rep,
    uint16_t port)
{
	struct socks5_reply r;
	size_t need;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(socks5_parse_reply(p, i, &need, &r), 0);
		assert_true(need > i && need <= n);
		assert_true(i < SOCKS5_REPLY_MIN ? need == SOCKS5_REPLY_MIN :
		    need == n);
	}
	memset(&r, 0, sizeof r);
	assert_int_equal(socks5_parse_reply(p, n, &need, &r), 1);
	assert_int_equal(need, n);
	assert_int_equal(r.rep, rep);
	assert_int_equal(r.bound_port, port);
}

static void test_replies_every_code(void **state)
{
	uint8_t p[SOCKS5_REPLY_MAX];
	(void)state;

	for (unsigned rep = 0; rep <= 0xff; rep++) {
		memcpy(p, "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\xd2", 10);
		p[1] = (uint8_t)rep;
		assert_reply(p, 10, (uint8_t)rep, 1234);
	}
}

static void test_reply_address_types(void **state)
{
	uint8_t p[SOCKS5_REPLY_MAX];
	struct socks5_reply r;
	size_t need;
	(void)state;

	memset(p, 0, sizeof p);
	memcpy(p, "\x05\x00\x00\x04", 4);
	p[21] = 0x50;
	assert_reply(p, 22, 0, 0x50);
	memcpy(p, "\x05\x05\x00\x03\x09" "localhost" "\x00\x16", 16);
	assert_reply(p, 16, SOCKS5_CONN_REFUSED, 22);
	/* the longest: a 255-byte name */
	memset(p, 'n', sizeof p);
	memcpy(p, "\x05\x00\x00\x03\xff", 5);
	assert_reply(p, SOCKS5_REPLY_MAX, 0, 0x6e6e);
	/* an empty name is still a well-formed reply */
	memcpy(p, "\x05\x00\x00\x03\x00\x00\x50", 7);
	assert_reply(p, 7, 0, 80);
	/* unknown address types, a wrong version at any length */
	memcpy(p, "\x05\x00\x00\x02\x00", 5);
	assert_int_equal(socks5_parse_reply(p, 5, &need, &r), -1);
	memcpy(p, "\x05\x00\x00\x00\x00", 5);
	assert_int_equal(socks5_parse_reply(p, 5, &need, &r), -1);
	for (size_t n = 1; n <= 10; n++)
		assert_int_equal(socks5_parse_reply((const uint8_t *)
		    "\x04\x5a\x00\x50\x7f\x00\x00\x01\x00\x00", n, &need, &r), -1);
	/* bytes after the reply (the target's first) are not looked at */
	memcpy(p, "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\xd2PRI *", 15);
	assert_int_equal(socks5_parse_reply(p, 15, &need, &r), 1);
	assert_int_equal(need, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_auth_request),
		cmocka_unit_test(test_connect_requests),
		cmocka_unit_test(test_method_replies),
		cmocka_unit_test(test_auth_replies),
		cmocka_unit_test(test_replies_every_code),
		cmocka_unit_test(test_reply_address_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
