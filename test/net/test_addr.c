/* test_addr.c - IP keys: routable vs bogon (both edges of every special
 * block and the addresses just outside), IPv4-mapped handling, text forms,
 * socket address round trips, NetAddress byte lengths, IP:PORT text
 * (parse_host_port, addr_parse) on good and hostile input, network
 * ports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* ---- the specification, written out independently of addr.c ---- */

struct block {
	const char *first;    /* textual first address of the block */
	unsigned bits;
};

/* IANA special-purpose IPv4 blocks that are not globally routable. */
static const struct block v4_blocks[] = {
	{ "0.0.0.0", 8 }, { "10.0.0.0", 8 }, { "100.64.0.0", 10 },
	{ "127.0.0.0", 8 }, { "169.254.0.0", 16 }, { "172.16.0.0", 12 },
	{ "192.0.0.0", 24 }, { "192.0.2.0", 24 }, { "192.88.99.0", 24 },
	{ "192.168.0.0", 16 }, { "198.18.0.0", 15 }, { "198.51.100.0", 24 },
	{ "203.0.113.0", 24 }, { "224.0.0.0", 4 }, { "240.0.0.0", 4 },
};

/* Inside global unicast 2000::/3, the blocks that are not ordinary. */
static const struct block v6_blocks[] = {
	{ "2001::", 23 },        /* IETF protocol assignments, Teredo */
	{ "2001:db8::", 32 },    /* documentation */
	{ "3fff::", 20 },        /* documentation (RFC 9637) */
};

#define N_V4 (sizeof v4_blocks / sizeof v4_blocks[0])
#define N_V6 (sizeof v6_blocks / sizeof v6_blocks[0])

static struct ip_key key_of(const char *text)
{
	struct ip_key k;
	uint8_t v4[4];
	if (inet_pton(AF_INET, text, v4) == 1) {
		assert_int_equal(addr_from_bytes(&k, v4, 4), 0);
		return k;
	}
	if (inet_pton(AF_INET6, text, k.b) != 1)
		fail_msg("bad test address %s", text);
	return k;
}

/* The 16-byte address as a big-endian number: +1 / -1 with carry. */
static void add_one(uint8_t *b, size_t n, int delta)
{
	for (size_t i = n; i-- > 0;) {
		uint8_t old = b[i];
		b[i] = (uint8_t)(b[i] + delta);
		if ((delta > 0 && old != 0xff) || (delta < 0 && old != 0x00))
			return;
	}
}

static bool within(const uint8_t *ip, const uint8_t *first, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((ip[byte] >> bit) & 1) != ((first[byte] >> bit) & 1))
			return false;
	}
	return true;
}

/* Set every host bit of a prefix: the block's last address. */
static void last_of(uint8_t *b, size_t n, unsigned bits)
{
	for (unsigned i = bits; i < n * 8; i++)
		b[i / 8] |= (uint8_t)(1u << (7 - i % 8));
}

static bool in_blocks(int af, const uint8_t *ip, const struct block *list,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t first[16];
		inet_pton(af, list[i].first, first);
		if (within(ip, first, list[i].bits))
			return true;
	}
	return false;
}

static bool v4_expected(const uint8_t *ip4)
{
	return !in_blocks(AF_INET, ip4, v4_blocks, N_V4);
}

static bool v6_expected(const uint8_t *ip)
{
	static const uint8_t global[16] = { 0x20 };
	return within(ip, global, 3) &&
	    !in_blocks(AF_INET6, ip, v6_blocks, N_V6);
}

static void check_routable(const struct ip_key *k, bool want)
{
	char text[ADDR_TEXT_MAX];
	addr_ip_text(k, text, sizeof text);
	if (addr_is_routable(k) != want)
		fail_msg("%s: routable %d, want %d", text, !want, want);
}

static void check_routable_text(const char *text, bool want)
{
	struct ip_key k = key_of(text);
	check_routable(&k, want);
}

static void check_each(const char *const *texts, size_t n, bool want)
{
	for (size_t i = 0; i < n; i++)
		check_routable_text(texts[i], want);
}

#define CHECK_EACH(list, want) \
	check_each(list, sizeof list / sizeof list[0], want)

/* The key of a 4-byte address: via addr_from_bytes and, separately, as a
 * hand-made ::ffff:a.b.c.d, both must agree. */
static void check_v4(const uint8_t *ip4, bool wrapped)
{
	if (wrapped)
		return;   /* stepped past 0.0.0.0 or 255.255.255.255 */
	struct ip_key k, mapped = { { 0 } };
	assert_int_equal(addr_from_bytes(&k, ip4, 4), 0);
	mapped.b[10] = mapped.b[11] = 0xff;
	memcpy(mapped.b + 12, ip4, 4);
	assert_memory_equal(&k, &mapped, sizeof k);
	assert_true(addr_is_v4(&k));
	check_routable(&k, v4_expected(ip4));
}

/* ---- routable ---- */

static void test_v4_block_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_V4; i++) {
		uint8_t first[4], last[4], below[4], above[4];
		inet_pton(AF_INET, v4_blocks[i].first, first);
		memcpy(last, first, 4);
		last_of(last, 4, v4_blocks[i].bits);
		memcpy(below, first, 4);
		add_one(below, 4, -1);
		memcpy(above, last, 4);
		add_one(above, 4, +1);

		check_v4(first, false);
		check_v4(last, false);
		assert_false(v4_expected(first));
		assert_false(v4_expected(last));
		check_v4(below, memcmp(first, "\0\0\0\0", 4) == 0);
		check_v4(above, memcmp(last, "\xff\xff\xff\xff", 4) == 0);
	}
}

static void test_v4_examples(void **state)
{
	(void)state;
	static const char *const routable[] = { "1.1.1.1", "8.8.8.8",
		"9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
		"172.15.255.255", "172.32.0.0", "192.0.1.0", "192.88.98.255",
		"192.167.255.255", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "185.1.2.3" };
	static const char *const bogon[] = { "0.0.0.0", "10.1.2.3",
		"100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.5.4",
		"172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1",
		"192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7",
		"203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255" };
	CHECK_EACH(routable, true);
	CHECK_EACH(bogon, false);
}

static void test_v6_block_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_V6; i++) {
		struct ip_key first, last, below, above;
		inet_pton(AF_INET6, v6_blocks[i].first, first.b);
		last = first;
		last_of(last.b, 16, v6_blocks[i].bits);
		below = first;
		add_one(below.b, 16, -1);
		above = last;
		add_one(above.b, 16, +1);
		check_routable(&first, false);
		check_routable(&last, false);
		check_routable(&below, v6_expected(below.b));
		check_routable(&above, v6_expected(above.b));
	}
	/* The edges of 2000::/3 itself. */
	check_routable_text("2000::", true);
	check_routable_text("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false);
	check_routable_text("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true);
	check_routable_text("4000::", false);
}

static void test_v6_examples(void **state)
{
	(void)state;
	static const char *const routable[] = { "2a01:4f8::1",
		"2606:4700:4700::1111", "2001:200::1", "2001:db7:ffff::1",
		"2001:db9::1", "2400:cb00::1", "3ffe::1", "3fff:1000::1" };
	static const char *const bogon[] = {
		"::", "::1",                       /* unspecified, loopback */
		"::8.8.8.8",                       /* v4-compatible */
		"64:ff9b::808:808",                /* NAT64 */
		"100::1",                          /* discard */
		"fc00::1", "fd12:3456::1",         /* ULA */
		"fe80::1", "febf:ffff::1",         /* link-local */
		"fec0::1",                         /* old site-local */
		"ff02::1", "ff0e::1",              /* multicast */
		"2001:db8::1", "2001:db8:ffff::1", /* documentation */
		"3fff::1", "3fff:fff::1",          /* documentation */
		"2001::1", "2001:0:4136:e378::1",  /* Teredo */
		"2001:2::1", "2001:10::1",         /* benchmarking, ORCHID */
		"2001:1ff:ffff::1",                /* end of 2001::/23 */
	};
	CHECK_EACH(routable, true);
	CHECK_EACH(bogon, false);
}

/* A 16-byte ::ffff:a.b.c.d (from a NetAddress or a dual-stack socket) is
 * judged as the IPv4 address, not as IPv6 outside 2000::/3. */
static void test_v4_mapped(void **state)
{
	(void)state;
	uint8_t b[16] = { [10] = 0xff, [11] = 0xff, 8, 8, 8, 8 };
	struct ip_key k;
	assert_int_equal(addr_from_bytes(&k, b, 16), 0);
	assert_true(addr_is_v4(&k));
	check_routable(&k, true);
	b[12] = 10;
	assert_int_equal(addr_from_bytes(&k, b, 16), 0);
	check_routable(&k, false);
	/* One bit off the prefix: no longer mapped, and not global. */
	b[12] = 8;
	b[11] = 0xfe;
	assert_int_equal(addr_from_bytes(&k, b, 16), 0);
	assert_false(addr_is_v4(&k));
	check_routable(&k, false);
	k = key_of("2001:db8::1");
	assert_false(addr_is_v4(&k));
}

/* ---- text ---- */

static void check_text(const char *ip, uint32_t port, const char *want)
{
	struct ip_key k = key_of(ip);
	char out[ADDR_TEXT_MAX];
	memset(out, 'x', sizeof out);
	addr_text(&k, port, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_text(void **state)
{
	(void)state;
	check_text("1.2.3.4", 16111, "1.2.3.4:16111");
	check_text("0.0.0.0", 0, "0.0.0.0:0");
	check_text("255.255.255.255", 65535, "255.255.255.255:65535");
	check_text("::ffff:1.2.3.4", 16111, "1.2.3.4:16111");
	check_text("2001:db8::1", 16111, "[2001:db8::1]:16111");
	check_text("::1", 1, "[::1]:1");
	check_text("::", 16111, "[::]:16111");
	check_text("fe80::1:2", 80, "[fe80::1:2]:80");
	/* The longest form fits ADDR_TEXT_MAX. */
	check_text("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* A peer's NetAddress port is a uint32: shown as sent, not cut. */
	check_text("1.2.3.4", 70000, "1.2.3.4:70000");
	check_text("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT32_MAX,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:4294967295");

	struct ip_key k = key_of("::ffff:192.168.0.1");
	char ip[ADDR_TEXT_MAX];
	addr_ip_text(&k, ip, sizeof ip);
	assert_string_equal(ip, "192.168.0.1");
	k = key_of("2a01:4f8::1");
	addr_ip_text(&k, ip, sizeof ip);
	assert_string_equal(ip, "2a01:4f8::1");
}

/* Short buffers: always terminated, never written past cap. */
static void test_text_short_buffer(void **state)
{
	(void)state;
	struct ip_key k = key_of("2001:db8::1");
	char out[32];
	for (size_t cap = 1; cap < 24; cap++) {
		memset(out, 'x', sizeof out);
		addr_text(&k, 16111, out, cap);
		assert_true(strlen(out) < cap);
		assert_int_equal(strncmp(out, "[2001:db8::1]:16111",
		    strlen(out)), 0);
		for (size_t i = cap; i < sizeof out; i++)
			assert_int_equal(out[i], 'x');

		memset(out, 'x', sizeof out);
		addr_ip_text(&k, out, cap);
		/* Too small for the whole address: a "?" marker. */
		assert_string_equal(out, cap > strlen("2001:db8::1") ?
		    "2001:db8::1" : cap > 1 ? "?" : "");
		for (size_t i = cap; i < sizeof out; i++)
			assert_int_equal(out[i], 'x');
	}
}

/* ---- bytes and socket addresses ---- */

static void test_from_bytes_lengths(void **state)
{
	(void)state;
	uint8_t ip[32];
	for (size_t i = 0; i < sizeof ip; i++)
		ip[i] = (uint8_t)(i + 1);
	for (size_t len = 0; len <= sizeof ip; len++) {
		struct ip_key k;
		memset(&k, 0xaa, sizeof k);
		int r = addr_from_bytes(&k, ip, len);
		if (len == 4 || len == 16) {
			assert_int_equal(r, 0);
			assert_memory_equal(k.b + 16 - len, ip, len);
		} else {
			assert_int_equal(r, -1);
			for (int i = 0; i < 16; i++)
				assert_int_equal(k.b[i], 0xaa);
		}
	}
}

static void test_sockaddr_round_trip(void **state)
{
	(void)state;
	struct sockaddr_storage sa, back;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
	struct ip_key k4, k6;

	memset(&sa, 0, sizeof sa);
	v4->sin_family = AF_INET;
	v4->sin_port = htons(16111);
	inet_pton(AF_INET, "1.2.3.4", &v4->sin_addr);
	assert_int_equal(addr_from_sockaddr(&k4, &sa), 16111);
	assert_true(addr_is_v4(&k4));
	assert_int_equal(addr_to_sockaddr(&k4, 16111, &back),
	    sizeof(struct sockaddr_in));
	assert_memory_equal(&back, &sa, sizeof(struct sockaddr_in));

	/* A dual-stack socket reports ::ffff:1.2.3.4: the same key. */
	memset(&sa, 0, sizeof sa);
	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(40000);
	inet_pton(AF_INET6, "::ffff:1.2.3.4", &v6->sin6_addr);
	assert_int_equal(addr_from_sockaddr(&k6, &sa), 40000);
	assert_memory_equal(&k4, &k6, sizeof k4);

	inet_pton(AF_INET6, "2001:db8::7", &v6->sin6_addr);
	assert_int_equal(addr_from_sockaddr(&k6, &sa), 40000);
	assert_false(addr_is_v4(&k6));
	assert_int_equal(addr_to_sockaddr(&k6, 40000, &back),
	    sizeof(struct sockaddr_in6));
	assert_memory_equal(&back, &sa, sizeof(struct sockaddr_in6));
}

/* ---- parsing IP:PORT text ---- */

/* The socket address's own family, IP text (inet_ntop) and port. */
static void check_parsed(const struct listen_addr *a, int family,
    const char *ip, uint16_t port)
{
	const struct sockaddr_in *v4 = (const void *)&a->sa;
	const struct sockaddr_in6 *v6 = (const void *)&a->sa;
	char text[INET6_ADDRSTRLEN];

	assert_int_equal(a->sa.ss_family, family);
	assert_int_equal(a->len, family == AF_INET ? sizeof *v4 : sizeof *v6);
	inet_ntop(family, family == AF_INET ? (const void *)&v4->sin_addr :
	    (const void *)&v6->sin6_addr, text, sizeof text);
	assert_string_equal(text, ip);
	assert_int_equal(ntohs(family == AF_INET ? v4->sin_port :
	    v6->sin6_port), port);
}

static void test_parse_host_port_good(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int family;
		const char *ip;
		uint16_t port;
	} good[] = {
		{ "1.2.3.4:16111", AF_INET, "1.2.3.4", 16111 },
		{ "0.0.0.0:0", AF_INET, "0.0.0.0", 0 },
		{ "255.255.255.255:65535", AF_INET, "255.255.255.255", 65535 },
		{ "127.0.0.1:00080", AF_INET, "127.0.0.1", 80 },
		{ "127.0.0.1:0000080", AF_INET, "127.0.0.1", 80 },
		{ "[::1]:16111", AF_INET6, "::1", 16111 },
		{ "[::]:1", AF_INET6, "::", 1 },
		{ "[2001:db8::1]:65535", AF_INET6, "2001:db8::1", 65535 },
		{ "[::ffff:1.2.3.4]:80", AF_INET6, "::ffff:1.2.3.4", 80 },
		{ "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", AF_INET6,
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535 },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct listen_addr a;
		if (parse_host_port(good[i].in, &a) != 0)
			fail_msg("refused '%s'", good[i].in);
		check_parsed(&a, good[i].family, good[i].ip, good[i].port);
		assert_string_equal(a.text, good[i].in);
	}
}

/* Refused by both parsers. */
static void test_parse_host_port_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", ":", ":80", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536",
		"1.2.3.4:99999", "1.2.3.4:123456", "1.2.3.4:-1", "1.2.3.4:-0",
		"1.2.3.4:+80", "1.2.3.4: 80", "1.2.3.4:80 ", "1.2.3.4:0x50",
		"1.2.3.4:80a", "1.2.3.4::80", "1.2.3:80", "1.2.3.4.5:80",
		"256.0.0.1:80", " 1.2.3.4:80", "localhost:80", "example.com:80",
		/* IPv6 needs its brackets, and they hold IPv6 only. */
		"::1:80", "2001:db8::1:80", "::", "[::1:80", "::1]:80",
		"[::1]80", "[::1]", "[::1]:", "[]:80", "[1.2.3.4]:80",
		"[::1]:65536", "[::1]:+1", "[::1]:1:2", "[[::1]]:80",
		"[fe80::1%eth0]:80", "[::1] :80",
		"[0000000000000000000000000000000000000000000000000000000000001]:1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct listen_addr a;
		struct ip_key k;
		uint16_t port = 7;
		memset(&a, 0, sizeof a);
		if (parse_host_port(bad[i], &a) == 0)
			fail_msg("accepted '%s'", bad[i]);
		if (addr_parse(bad[i], &k, &port) == 0)
			fail_msg("addr_parse accepted '%s'", bad[i]);
		assert_int_equal(port, 7);
	}
}

/* addr_parse gives the key every other module compares: an IPv4 address
 * is the same key however it was written. */
static void test_addr_parse_keys(void **state)
{
	struct ip_key k, mapped;
	uint16_t port, port2;
	char text[ADDR_TEXT_MAX];
	(void)state;

	assert_int_equal(addr_parse("1.2.3.4:16111", &k, &port), 0);
	assert_int_equal(port, 16111);
	assert_true(addr_is_v4(&k));
	assert_int_equal(addr_parse("[::ffff:1.2.3.4]:16111", &mapped, &port2),
	    0);
	assert_memory_equal(&k, &mapped, sizeof k);
	addr_text(&mapped, port2, text, sizeof text);
	assert_string_equal(text, "1.2.3.4:16111");
	assert_int_equal(addr_parse("[2001:DB8::0:7]:0", &k, &port), 0);
	assert_int_equal(port, 0);
	addr_text(&k, port, text, sizeof text);
	assert_string_equal(text, "[2001:db8::7]:0");
}

/* ---- networks ---- */

static void test_network_default_port(void **state)
{
	(void)state;
	assert_int_equal(network_default_port("kaspa-mainnet"), 16111);
	assert_int_equal(network_default_port("kaspa-testnet-10"), 16211);
	assert_int_equal(network_default_port("kaspa-testnet-12"), 16311);
	assert_int_equal(network_default_port("kaspa-testnet-11"), 16411);
	assert_int_equal(network_default_port("kaspa-testnet-13"), 16411);
	assert_int_equal(network_default_port("kaspa-testnet-1"), 16411);
	assert_int_equal(network_default_port("kaspa-simnet"), 16511);
	assert_int_equal(network_default_port("kaspa-devnet"), 16611);

	static const char *const unknown[] = { "", "mainnet", "kaspa",
		"kaspa-", "kaspa-mainnet ", "KASPA-MAINNET", "kaspa-mainnet-1",
		"kaspa-testnet", "kaspa-testnet-", "kaspa-testnet-x",
		"kaspa-testnet-10x", "kaspa-testnet--1", "kaspa-testnet-+1",
		"kaspa-devnet-1", "kaspa-simnet2", "testnet-10", "bitcoin" };
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		if (network_default_port(unknown[i]) != 0)
			fail_msg("'%s' -> %u, want 0", unknown[i],
			    network_default_port(unknown[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_block_edges),
		cmocka_unit_test(test_v4_examples),
		cmocka_unit_test(test_v6_block_edges),
		cmocka_unit_test(test_v6_examples),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_short_buffer),
		cmocka_unit_test(test_from_bytes_lengths),
		cmocka_unit_test(test_sockaddr_round_trip),
		cmocka_unit_test(test_parse_host_port_good),
		cmocka_unit_test(test_parse_host_port_bad),
		cmocka_unit_test(test_addr_parse_keys),
		cmocka_unit_test(test_network_default_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
