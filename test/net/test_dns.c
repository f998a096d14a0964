/* test_dns.c - query building, response parsing (compression, CNAME
 * chains, case, rcodes, truncation, caps, spoofed and hostile packets)
 * the local lookups (numeric, hosts file) and a half-answered query. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"

static const uint8_t query_a[] = {
	0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
};

static void test_build_query(void **state)
{
	uint8_t out[DNS_PACKET_MAX];
	char name[300];

	(void)state;
	assert_int_equal(dns_build_query(out, sizeof out, 0x1234, "example.com",
	    DNS_TYPE_A), sizeof query_a);
	assert_memory_equal(out, query_a, sizeof query_a);
	assert_int_equal(dns_build_query(out, sizeof out, 0x1234, "example.com.",
	    DNS_TYPE_A), sizeof query_a);
	assert_int_equal(dns_build_query(out, sizeof out, 1, "a..b", 1), -1);
	assert_int_equal(dns_build_query(out, sizeof out, 1, "", 1), -1);
	assert_int_equal(dns_build_query(out, sizeof out, 1, "a b", 1), -1);
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(dns_build_query(out, sizeof out, 1, name, 1), -1);
	memset(name, 'a', 260);
	for (int i = 63; i < 260; i += 64)
		name[i] = '.';
	name[260] = '\0';
	assert_int_equal(dns_build_query(out, sizeof out, 1, name, 1), -1);
	assert_int_equal(dns_build_query(out, 20, 1, "example.com", 1), -1);
}

/* Our query as an answer: QR set, flags low byte, then records. */
static size_t answer(uint8_t *p, uint8_t flags_lo, uint16_t ancount,
    const uint8_t *records, size_t rn)
{
	memcpy(p, query_a, sizeof query_a);
	p[2] = 0x81;
	p[3] = flags_lo;
	p[6] = (uint8_t)(ancount >> 8);
	p[7] = (uint8_t)ancount;
	if (rn)
		memcpy(p + sizeof query_a, records, rn);
	return sizeof query_a + rn;
}

/* www -> CNAME, then two A records named by compression pointers. */
static const uint8_t records[] = {
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'w', 'w', 0xc0, 12,
	0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 7,
	3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3,
	0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,   /* AAAA: not asked */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

static void test_parse_answers(void **state)
{
	uint8_t p[DNS_PACKET_MAX];
	struct dns_addrs out = { .n = 0 };
	size_t n = answer(p, 0x80, 4, records, sizeof records);
	char text[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(dns_parse_response(p, n, 0x1234, "EXAMPLE.com",
	    DNS_TYPE_A, &out), DNS_OK);
	assert_int_equal(out.n, 2);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&out.sa[0])->sin_addr, text,
	    sizeof text);
	assert_string_equal(text, "127.0.0.7");
	inet_ntop(AF_INET, &((struct sockaddr_in *)&out.sa[1])->sin_addr, text,
	    sizeof text);
	assert_string_equal(text, "10.1.2.3");
}

static void test_parse_not_ours(void **state)
{
	uint8_t p[DNS_PACKET_MAX];
	struct dns_addrs out = { .n = 0 };
	size_t n = answer(p, 0x80, 4, records, sizeof records);

	(void)state;
	assert_int_equal(dns_parse_response(p, n, 0x1235, "example.com",
	    DNS_TYPE_A, &out), DNS_BAD);
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.org",
	    DNS_TYPE_A, &out), DNS_BAD);
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_AAAA, &out), DNS_BAD);
	p[2] = 0x01;   /* a query, not a response */
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_BAD);
	assert_int_equal(out.n, 0);
	assert_int_equal(dns_parse_response(p, 11, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_BAD);
}

static void test_parse_rcodes_and_truncation(void **state)
{
	uint8_t p[DNS_PACKET_MAX + 10];
	struct dns_addrs out = { .n = 0 };
	size_t n;

	(void)state;
	n = answer(p, 0x83, 0, NULL, 0);   /* NXDOMAIN */
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_NOT_FOUND);
	n = answer(p, 0x82, 0, NULL, 0);   /* SERVFAIL: no answer here */
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_OK);
	assert_int_equal(out.n, 0);
	/* Records cut mid-way: malformed, nothing kept ... */
	n = answer(p, 0x80, 4, records, 40);
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_BAD);
	assert_int_equal(out.n, 0);
	/* ... unless TC says so: the whole records before the cut count. */
	p[2] = 0x83;
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_OK);
	assert_int_equal(out.n, 1);
	assert_int_equal(dns_parse_response(p, DNS_PACKET_MAX + 1, 0x1234,
	    "example.com", DNS_TYPE_A, &out), DNS_BAD);
}

static void test_parse_caps_addresses(void **state)
{
	uint8_t p[DNS_PACKET_MAX], recs[20 * 16];
	struct dns_addrs out = { .n = 0 };
	size_t n;

	(void)state;
	for (int i = 0; i < 20; i++) {
		static const uint8_t a[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0,
		    4, 192, 0, 2, 0 };
		memcpy(recs + 16 * i, a, 16);
		recs[16 * i + 15] = (uint8_t)i;
	}
	n = answer(p, 0x80, 20, recs, sizeof recs);
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_OK);
	assert_int_equal(out.n, DNS_ADDRS_MAX);
	/* A label length with the reserved 0x40/0x80 bits: malformed. */
	out.n = 0;
	recs[0] = 0x40;
	n = answer(p, 0x80, 20, recs, sizeof recs);
	assert_int_equal(dns_parse_response(p, n, 0x1234, "example.com",
	    DNS_TYPE_A, &out), DNS_BAD);
}

static void test_lookup_local(void **state)
{
	char path[] = "/tmp/test_dns_hostsXXXXXX";
	struct dns_addrs out;
	int fd = mkstemp(path);
	static const char hosts[] = "# comment\n127.0.0.1\tlocalhost\n"
	    "::1 localhost ip6-localhost\n10.9.8.7 store.lan store # x\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hosts, sizeof hosts - 1), sizeof hosts - 1);
	close(fd);
	assert_true(dns_lookup_local("192.0.2.1", path, &out));
	assert_int_equal(out.sa[0].ss_family, AF_INET);
	assert_true(dns_lookup_local("2001:db8::1", path, &out));
	assert_int_equal(out.sa[0].ss_family, AF_INET6);
	assert_true(dns_lookup_local("LOCALHOST", path, &out));
	assert_int_equal(out.n, 2);
	assert_true(dns_lookup_local("store", path, &out));
	assert_int_equal(out.n, 1);
	assert_false(dns_lookup_local("x", path, &out));
	assert_false(dns_lookup_local("comment", path, &out));
	assert_false(dns_lookup_local("store.lan", "/nonexistent", &out));
	unlink(path);
}

/* A server that answered A but drops AAAA: its A addresses are used, not
 * thrown away by asking the next server (none here: no socket needed). */
static void test_next_server_keeps_one_answer(void **state)
{
	struct dns_query q;

	(void)state;
	memset(&q, 0, sizeof q);
	q.fd = -1;
	q.n_servers = q.next_server = 1;
	assert_int_equal(dns_next_server(&q), -1);     /* nothing, none left */
	q.answered[0] = true;                          /* A: no record */
	assert_int_equal(dns_next_server(&q), -1);
	assert_true(dns_lookup_local("192.0.2.1", NULL, &q.result));
	assert_int_equal(dns_next_server(&q), 1);
	assert_int_equal(q.result.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_parse_answers),
		cmocka_unit_test(test_parse_not_ours),
		cmocka_unit_test(test_parse_rcodes_and_truncation),
		cmocka_unit_test(test_parse_caps_addresses),
		cmocka_unit_test(test_lookup_local),
		cmocka_unit_test(test_next_server_keeps_one_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
