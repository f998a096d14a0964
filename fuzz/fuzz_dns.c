/* fuzz_dns.c - DNS response parsing on hostile packets: never reads past
 * the packet, never stores more than DNS_ADDRS_MAX addresses, and every
 * stored address has the family of the query type.
 *
 * Two shapes per input: the raw bytes as a packet, and the bytes as the
 * answer section behind a header and question that match our query (the
 * first input bytes choose qtype, rcode, TC and ANCOUNT), so the answer
 * walk gets deep coverage.  A query we build is never taken for an answer.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_dns.c dns.c -o build/fuzz/fuzz_dns
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

static const char name[] = "export.example.com";

static void parse_checked(const uint8_t *p, size_t n, uint16_t id,
    uint16_t qtype)
{
	struct dns_addrs out = { .n = 0 };
	enum dns_result r = dns_parse_response(p, n, id, name, qtype, &out);

	CHECK(r == DNS_OK || r == DNS_NOT_FOUND || r == DNS_BAD);
	CHECK(out.n <= DNS_ADDRS_MAX);
	for (unsigned i = 0; i < out.n; i++)
		CHECK(out.sa[i].ss_family == (qtype == DNS_TYPE_A ? AF_INET :
		    AF_INET6));
	if (r != DNS_OK)
		CHECK(out.n == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	uint8_t pkt[DNS_PACKET_MAX + 64];
	uint16_t qtype;
	int qn;

	if (size < 3)
		return 0;
	qtype = data[0] & 1 ? DNS_TYPE_AAAA : DNS_TYPE_A;
	parse_checked(data, size, (uint16_t)(data[0] << 8 | data[1]), qtype);

	qn = dns_build_query(pkt, sizeof pkt, 0x4242, name, qtype);
	CHECK(qn > 0);
	CHECK(dns_parse_response(pkt, (size_t)qn, 0x4242, name, qtype,
	    &(struct dns_addrs){ .n = 0 }) == DNS_BAD);
	pkt[2] = (uint8_t)(0x81 | (data[0] & 0x02));   /* QR, RD, maybe TC */
	pkt[3] = (uint8_t)(data[0] >> 4 == 3 ? 3 : data[0] >> 7 ? 2 : 0);
	pkt[6] = 0;
	pkt[7] = data[1] & 0x1f;                        /* ANCOUNT */
	size_t rest = size - 2;
	if (rest > sizeof pkt - (size_t)qn)
		rest = sizeof pkt - (size_t)qn;
	memcpy(pkt + qn, data + 2, rest);
	parse_checked(pkt, (size_t)qn + rest, 0x4242, qtype);
	return 0;
}
