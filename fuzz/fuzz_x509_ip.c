/* fuzz_x509_ip.c - the iPAddress SAN walk on hostile DER: never reads
 * past the input, a verdict from the enum, TOO_LARGE exactly over the
 * cap, a MATCH only where the input holds an iPAddress element with the
 * address, and no strict prefix of a whole certificate reads as one.
 *
 * Each input is tried twice: as a certificate (seeds: real ones made by
 * openssl), and as the content of a subjectAltName extnValue inside a
 * well-formed certificate (seeds: real GeneralNames), so that the name
 * walk gets deep coverage.  Addresses: 127.0.0.1, ::1, and the input's
 * last 4 and 16 bytes.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_x509_ip.c x509_ip.c -o build/fuzz/fuzz_x509_ip
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x509_ip.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

/* Certificate, tbsCertificate, [3], Extensions, Extension, OCTET STRING:
 * six heads of up to 4 bytes, the serial, the OID, the signature
 * algorithm. */
#define ENVELOPE_MAX 64

static const uint8_t v4[4] = { 127, 0, 0, 1 };
static const uint8_t v6[16] = { [15] = 1 };

/* Writes a head (tag, minimal length) for n content bytes; its size. */
static size_t head(uint8_t *out, uint8_t tag, size_t n)
{
	out[0] = tag;
	if (n < 0x80) {
		out[1] = (uint8_t)n;
		return 2;
	}
	if (n < 0x100) {
		out[1] = 0x81;
		out[2] = (uint8_t)n;
		return 3;
	}
	out[1] = 0x82;
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return 4;
}

static size_t head_len(size_t n)
{
	return n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
}

/* A certificate whose one extension is a subjectAltName with extnValue
 * value[0..n), n at most X509_IP_CERT_MAX; its length. */
static size_t envelope(uint8_t *out, const uint8_t *value, size_t n)
{
	static const uint8_t serial[] = { 0x02, 0x01, 0x01 };
	static const uint8_t oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
	static const uint8_t sigalg[] = { 0x30, 0x03, 0x06, 0x01, 0x00 };
	size_t octets = head_len(n) + n;
	size_t ext = head_len(sizeof oid + octets) + sizeof oid + octets;
	size_t exts = head_len(ext) + ext;
	size_t a3 = head_len(exts) + exts;
	size_t tbs = sizeof serial + a3;
	size_t cert = head_len(tbs) + tbs + sizeof sigalg;
	size_t k = 0;

	k += head(out + k, 0x30, cert);
	k += head(out + k, 0x30, tbs);
	memcpy(out + k, serial, sizeof serial);
	k += sizeof serial;
	k += head(out + k, 0xa3, exts);
	k += head(out + k, 0x30, ext);
	k += head(out + k, 0x30, sizeof oid + octets);
	memcpy(out + k, oid, sizeof oid);
	k += sizeof oid;
	k += head(out + k, 0x04, n);
	memcpy(out + k, value, n);
	k += n;
	memcpy(out + k, sigalg, sizeof sigalg);
	return k + sizeof sigalg;
}

/* Whether p[0..n) holds the bytes of an iPAddress element for ip. */
static int holds_ip_element(const uint8_t *p, size_t n, const uint8_t *ip,
    size_t ip_len)
{
	for (size_t i = 0; i + 2 + ip_len <= n; i++)
		if (p[i] == 0x87 && p[i + 1] == ip_len &&
		    memcmp(p + i + 2, ip, ip_len) == 0)
			return 1;
	return 0;
}

static void check_one(const uint8_t *cert, size_t n, const uint8_t *ip,
    size_t ip_len)
{
	enum x509_ip_result r = x509_ip_match(cert, n, ip, ip_len);

	CHECK(r == X509_IP_MATCH || r == X509_IP_NO_MATCH ||
	    r == X509_IP_MALFORMED || r == X509_IP_TOO_LARGE);
	CHECK((r == X509_IP_TOO_LARGE) == (n > X509_IP_CERT_MAX));
	if (r == X509_IP_MATCH)
		CHECK(holds_ip_element(cert, n, ip, ip_len));
	/* A whole certificate ends where its SEQUENCE does. */
	if (n > 0 && (r == X509_IP_MATCH || r == X509_IP_NO_MATCH))
		CHECK(x509_ip_match(cert, n - 1, ip, ip_len) ==
		    X509_IP_MALFORMED);
}

static void check_all(const uint8_t *cert, size_t n, const uint8_t *in,
    size_t in_n)
{
	check_one(cert, n, v4, sizeof v4);
	check_one(cert, n, v6, sizeof v6);
	if (in_n >= 4)
		check_one(cert, n, in + in_n - 4, 4);
	if (in_n >= 16)
		check_one(cert, n, in + in_n - 16, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t built[X509_IP_CERT_MAX + ENVELOPE_MAX];
	static uint8_t tail[X509_IP_CERT_MAX + ENVELOPE_MAX];
	size_t n;

	check_all(data, size, data, size);
	if (size > X509_IP_CERT_MAX)
		return 0;
	n = envelope(built, data, size);
	CHECK(n > size && n <= size + ENVELOPE_MAX);
	/* At the very end of a global: ASan's redzone after it catches a
	 * read past the certificate. */
	memcpy(tail + sizeof tail - n, built, n);
	check_all(tail + sizeof tail - n, n, data, size);
	return 0;
}
