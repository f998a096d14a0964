/* test_x509_ip.c - iPAddress SAN matching: real certificates made by
 * openssl at test time (addresses, DNS names and a CN that read like
 * addresses, names whose bytes are an address, every name kind, a
 * v4-mapped address, a critical SAN; truncated, padded, each byte
 * flipped), then hand-built DER: long-form and non-minimal lengths,
 * nested garbage, extension shapes, duplicate SANs, and the size cap.
 * Every input is an exact-size heap copy, so ASan sees over-reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x509_ip.h"

/* ---- helpers ---- */

struct ip {
	uint8_t b[16];
	size_t len;
};

static struct ip ip_of(const char *text)
{
	struct ip a = { .len = 4 };

	if (inet_pton(AF_INET, text, a.b) != 1) {
		assert_int_equal(inet_pton(AF_INET6, text, a.b), 1);
		a.len = 16;
	}
	return a;
}

/* The walk sees a heap copy of exactly n bytes, so that ASan catches a
 * read past the end. */
static enum x509_ip_result match(const uint8_t *der, size_t n,
    const char *ip_text)
{
	struct ip a = ip_of(ip_text);
	uint8_t *copy;
	enum x509_ip_result r;

	if (n > X509_IP_CERT_MAX)
		return x509_ip_match(der, n, a.b, a.len);
	copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n > 0)
		memcpy(copy, der, n);
	r = x509_ip_match(copy, n, a.b, a.len);
	free(copy);
	return r;
}

/* A certificate made by openssl: subject CN `cn`, and the
 * subjectAltName `san` (openssl's syntax) unless NULL.  Its length. */
static size_t openssl_cert(const char *cn, const char *san, uint8_t *der,
    size_t cap)
{
	char cmd[1024];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj '/CN=%s' "
	    "-days 1 %s%s%s -outform DER 2>/dev/null", cn,
	    san ? "-addext 'subjectAltName=" : "", san ? san : "",
	    san ? "'" : "");
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(der, 1, cap, f);
	assert_int_equal(pclose(f), 0);
	assert_true(n > 0 && n < cap);
	return n;
}

/* DER element tag + minimal length + contents at out; its size. */
static size_t tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t n)
{
	size_t h = 0;

	out[h++] = tag;
	if (n < 0x80) {
		out[h++] = (uint8_t)n;
	} else if (n < 0x100) {
		out[h++] = 0x81;
		out[h++] = (uint8_t)n;
	} else {
		assert_true(n < 0x10000);
		out[h++] = 0x82;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	}
	if (n > 0)
		memmove(out + h, v, n);
	return h + n;
}

#define BUILD_MAX (X509_IP_CERT_MAX + 64)

/* Certificate { tbsCertificate { serial, fields, [3] { exts } },
 * signatureAlgorithm } around already-encoded bytes: `fields` go between
 * the serial and the extensions (or after them, if after_exts), `exts`
 * is the content of the Extensions SEQUENCE (NULL: no [3]). */
static size_t cert_around(uint8_t *out, const uint8_t *fields, size_t fn,
    const uint8_t *exts, size_t en, int after_exts)
{
	static uint8_t tbs[BUILD_MAX], t1[BUILD_MAX], t2[BUILD_MAX];
	static const uint8_t serial[] = { 0x02, 0x01, 0x01 };
	static const uint8_t sigalg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	size_t n = 0, k;

	memcpy(tbs, serial, sizeof serial);
	n = sizeof serial;
	if (fields != NULL && !after_exts) {
		memcpy(tbs + n, fields, fn);
		n += fn;
	}
	if (exts != NULL) {
		k = tlv(t1, 0x30, exts, en);
		n += tlv(tbs + n, 0xa3, t1, k);
	}
	if (fields != NULL && after_exts) {
		memcpy(tbs + n, fields, fn);
		n += fn;
	}
	k = tlv(t2, 0x30, tbs, n);
	memcpy(t2 + k, sigalg, sizeof sigalg);
	return tlv(out, 0x30, t2, k + sizeof sigalg);
}

/* One Extension: OID, an optional BOOLEAN (crit: its content bytes),
 * OCTET STRING holding `value`. */
static size_t extension(uint8_t *out, const uint8_t *oid, size_t on,
    const uint8_t *crit, size_t cn, const uint8_t *value, size_t vn)
{
	uint8_t body[BUILD_MAX];
	size_t n = tlv(body, 0x06, oid, on);

	if (crit != NULL)
		n += tlv(body + n, 0x01, crit, cn);
	n += tlv(body + n, 0x04, value, vn);
	return tlv(out, 0x30, body, n);
}

static const uint8_t san_oid[] = { 0x55, 0x1d, 0x11 };
static const uint8_t true_byte[] = { 0xff };

/* A certificate whose only extension is a SAN with the given encoded
 * GeneralNames element (the OCTET STRING's content, as is). */
static size_t cert_with_san_value(uint8_t *out, const uint8_t *v, size_t n)
{
	uint8_t ext[BUILD_MAX];
	size_t en = extension(ext, san_oid, sizeof san_oid, NULL, 0, v, n);

	return cert_around(out, NULL, 0, ext, en, 0);
}

#define IP127 0x87, 0x04, 0x7f, 0x00, 0x00, 0x01

/* ---- real certificates ---- */

#define CHECKS_MAX 8

struct check {
	const char *ip;
	enum x509_ip_result want;
};

static const struct {
	const char *cn, *san;
	struct check checks[CHECKS_MAX];
} real_certs[] = {
	{ "store.example", "IP:127.0.0.1,DNS:localhost", {
	    { "127.0.0.1", X509_IP_MATCH },
	    { "127.0.0.2", X509_IP_NO_MATCH },
	    { "10.0.0.1", X509_IP_NO_MATCH },
	    /* The same address as 16 bytes is another address. */
	    { "::ffff:127.0.0.1", X509_IP_NO_MATCH },
	    { "::1", X509_IP_NO_MATCH } } },
	{ "store.example", "IP:::1", {
	    { "::1", X509_IP_MATCH },
	    { "0:0::0:1", X509_IP_MATCH },
	    { "::2", X509_IP_NO_MATCH },
	    { "127.0.0.1", X509_IP_NO_MATCH } } },
	/* DNS names and a CN written like the addresses, and names whose
	 * 4 and 16 bytes are those of an address ("a.io" is 97.46.105.111;
	 * an email address too). */
	{ "127.0.0.1", "DNS:127.0.0.1,DNS:::1,DNS:a.io,DNS:abcdefgh.example,"
	    "email:a@bc", {
	    { "127.0.0.1", X509_IP_NO_MATCH },
	    { "::1", X509_IP_NO_MATCH },
	    { "97.46.105.111", X509_IP_NO_MATCH },
	    { "6162:6364:6566:6768:2e65:7861:6d70:6c65", X509_IP_NO_MATCH },
	    { "97.64.98.99", X509_IP_NO_MATCH } } },
	{ "127.0.0.1", NULL, {
	    { "127.0.0.1", X509_IP_NO_MATCH } } },
	/* Every name kind, critical; addresses in other kinds do not count,
	 * and a v4-mapped entry is not the IPv4 address. */
	{ "store.example", "critical,email:a@b.example,"
	    "otherName:1.2.3.4;UTF8:10.0.0.9,URI:https://10.0.0.8/,"
	    "RID:1.2.3.4,IP:10.0.0.1,DNS:10.0.0.7,IP:2001:db8::7,"
	    "IP:::ffff:10.0.0.3,IP:10.0.0.2", {
	    { "10.0.0.1", X509_IP_MATCH },
	    { "10.0.0.2", X509_IP_MATCH },
	    { "2001:db8::7", X509_IP_MATCH },
	    { "::ffff:10.0.0.3", X509_IP_MATCH },
	    { "10.0.0.3", X509_IP_NO_MATCH },
	    { "10.0.0.7", X509_IP_NO_MATCH },
	    { "10.0.0.8", X509_IP_NO_MATCH },
	    { "10.0.0.9", X509_IP_NO_MATCH } } },
};

static void test_real_certificates(void **state)
{
	uint8_t der[4096];

	(void)state;
	for (size_t i = 0; i < sizeof real_certs / sizeof real_certs[0]; i++) {
		size_t n = openssl_cert(real_certs[i].cn, real_certs[i].san, der,
		    sizeof der);
		for (const struct check *c = real_certs[i].checks;
		    c < real_certs[i].checks + CHECKS_MAX && c->ip; c++) {
			if (match(der, n, c->ip) != c->want)
				fail_msg("SAN %s, address %s: %d, want %d",
				    real_certs[i].san, c->ip,
				    match(der, n, c->ip), c->want);
		}
	}
}

static void test_real_cert_truncated_or_padded(void **state)
{
	uint8_t der[4096];
	size_t n = openssl_cert("store.example", "IP:127.0.0.1", der,
	    sizeof der);

	(void)state;
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(match(der, cut, "127.0.0.1"), X509_IP_MALFORMED);
	der[n] = 0x00;
	assert_int_equal(match(der, n + 1, "127.0.0.1"), X509_IP_MALFORMED);
	/* Every byte flipped in turn: a verdict, never a read out of bounds
	 * (ASan).  Flipping the address itself must lose the match. */
	for (size_t i = 0; i < n; i++) {
		der[i] ^= 0xff;
		enum x509_ip_result r = match(der, n, "127.0.0.1");
		assert_true(r == X509_IP_MATCH || r == X509_IP_NO_MATCH ||
		    r == X509_IP_MALFORMED);
		der[i] ^= 0xff;
	}
	uint8_t *at = NULL;
	for (size_t i = 0; i + 6 <= n && at == NULL; i++)
		if (memcmp(der + i, (uint8_t[]){ IP127 }, 6) == 0)
			at = der + i;
	assert_non_null(at);
	at[5] = 0x02;
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
	assert_int_equal(match(der, n, "127.0.0.2"), X509_IP_MATCH);
}

/* ---- hand-built DER ---- */

static void test_built_baseline(void **state)
{
	static uint8_t der[BUILD_MAX];
	static const uint8_t gn[] = { 0x30, 0x06, IP127 };
	size_t n = cert_with_san_value(der, gn, sizeof gn);

	(void)state;
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MATCH);
	n = cert_around(der, NULL, 0, NULL, 0, 0);   /* no extensions */
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
	assert_int_equal(match(der, 0, "127.0.0.1"), X509_IP_MALFORMED);
	/* Length octets cut off at the very end of the input. */
	assert_int_equal(match((uint8_t[]){ 0x30, 0x80 }, 2, "127.0.0.1"),
	    X509_IP_MALFORMED);
	assert_int_equal(match((uint8_t[]){ 0x30, 0x81 }, 2, "127.0.0.1"),
	    X509_IP_MALFORMED);
	assert_int_equal(match((uint8_t[]){ 0x30, 0x82, 0x01 }, 3,
	    "127.0.0.1"), X509_IP_MALFORMED);
}

/* GeneralNames encodings that DER does not allow or that do not add
 * up: each one MALFORMED, though the address is there. */
static void test_bad_lengths(void **state)
{
	static const struct {
		uint8_t b[16];
		size_t n;
	} bad[] = {
		{ { 0x30, 0x81, 0x06, IP127 }, 9 },              /* not minimal */
		{ { 0x30, 0x82, 0x00, 0x06, IP127 }, 10 },       /* leading zero */
		{ { 0x30, 0x80, IP127, 0x00, 0x00 }, 10 },       /* indefinite */
		{ { 0x30, 0x83, 0x00, 0x00, 0x06, IP127 }, 11 }, /* 3 octets */
		{ { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff, IP127 }, 12 },
		{ { 0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, IP127 }, 16 },
		{ { 0x30, 0x07, IP127 }, 8 },                    /* overruns */
		{ { 0x30, 0x06, 0x87, 0x05, 0x7f, 0, 0, 1 }, 8 },/* entry too */
		{ { 0x30, 0x02, 0x87, 0x81 }, 4 },               /* cut head */
		{ { 0x30, 0x06, IP127, 0x00 }, 9 },              /* trailing */
		{ { 0x30, 0x07, IP127, 0x00 }, 9 },              /* half TLV */
		{ { 0x04, 0x06, IP127 }, 8 },                    /* not SEQ */
		/* High tag number form ([5] written long), which would read
		 * as a 5-byte element if taken for a short tag. */
		{ { 0x30, 0x07, 0x9f, 0x05, 0x04, 0x7f, 0, 0, 1 }, 9 },
		{ { 0x30 }, 1 },
		{ { 0 }, 0 },
	};
	static uint8_t der[BUILD_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = cert_with_san_value(der, bad[i].b, bad[i].n);
		assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MALFORMED);
	}
}

/* GeneralNames: `dns` dNSName entries "h.example", then 127.0.0.1. */
static size_t many_names(uint8_t *gn, int dns)
{
	static uint8_t names[BUILD_MAX];
	size_t nn = 0;

	for (int i = 0; i < dns; i++)
		nn += tlv(names + nn, 0x82, (const uint8_t *)"h.example", 9);
	memcpy(names + nn, (uint8_t[]){ IP127 }, 6);
	return tlv(gn, 0x30, names, nn + 6);
}

/* Long-form lengths where DER needs them (over 127 bytes) are read. */
static void test_long_form_lengths(void **state)
{
	static uint8_t der[BUILD_MAX], gn[BUILD_MAX], padded[BUILD_MAX];
	size_t n = many_names(gn, 40);

	(void)state;
	assert_int_equal(gn[1], 0x82);          /* two length octets */
	n = cert_with_san_value(der, gn, n);
	assert_int_equal(der[1], 0x82);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MATCH);
	assert_int_equal(match(der, n, "127.0.0.2"), X509_IP_NO_MATCH);
	/* 12 entries: 138 bytes, 0x81 0x8a. */
	n = many_names(gn, 12);
	assert_int_equal(gn[1], 0x81);
	assert_int_equal(gn[2], 138);
	assert_int_equal(match(der, cert_with_san_value(der, gn, n),
	    "127.0.0.1"), X509_IP_MATCH);
	/* The same length as 0x82 0x00 0x8a is not DER's. */
	memcpy(padded, (uint8_t[]){ 0x30, 0x82, 0x00 }, 3);
	memcpy(padded + 3, gn + 2, n - 2);
	assert_int_equal(match(der, cert_with_san_value(der, padded, n + 1),
	    "127.0.0.1"), X509_IP_MALFORMED);
	/* Nine octets 01 00 .. 00 8a: 2^64 + 138 would wrap to 138 in a
	 * 64-bit size_t. */
	memcpy(padded, (uint8_t[]){ 0x30, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0,
	    0x8a }, 11);
	memcpy(padded + 11, gn + 3, n - 3);
	assert_int_equal(match(der, cert_with_san_value(der, padded, n + 8),
	    "127.0.0.1"), X509_IP_MALFORMED);
}

/* Garbage inside GeneralNames is skipped as whole elements, never
 * entered: the address in a constructed [7] or deep nesting is not an
 * iPAddress entry. */
static void test_nested_garbage(void **state)
{
	static uint8_t der[BUILD_MAX], deep[BUILD_MAX], t[BUILD_MAX];
	static const uint8_t wrapped[] = { 0x30, 0x08, 0xa7, 0x06, 0x04, 0x04,
	    0x7f, 0x00, 0x00, 0x01 };
	/* Four address bytes under tags that are not [7] primitive. */
	static const uint8_t other_tags[] = { 0xa7, 0x07, 0x97, 0xc7, 0x86,
	    0x88 };
	uint8_t gn[8] = { 0x30, 0x06, 0, 0x04, 0x7f, 0x00, 0x00, 0x01 };
	size_t n, dn = 6;

	(void)state;
	n = cert_with_san_value(der, wrapped, sizeof wrapped);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
	for (size_t i = 0; i < sizeof other_tags; i++) {
		gn[2] = other_tags[i];
		n = cert_with_san_value(der, gn, sizeof gn);
		assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
	}
	gn[2] = 0x87;
	n = cert_with_san_value(der, gn, sizeof gn);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MATCH);
	/* Address and mask (the name-constraints form) is 8 bytes, not the
	 * address. */
	n = cert_with_san_value(der, (uint8_t[]){ 0x30, 0x0a, 0x87, 0x08, 0x7f,
	    0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff }, 12);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
	memcpy(deep, (uint8_t[]){ IP127 }, 6);
	for (int i = 0; i < 2000; i++) {       /* 2000 levels of [0] */
		dn = tlv(t, 0xa0, deep, dn);
		memcpy(deep, t, dn);
	}
	dn = tlv(t, 0x30, deep, dn);
	n = cert_with_san_value(der, t, dn);
	assert_true(n <= X509_IP_CERT_MAX);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_NO_MATCH);
}

/* The verdict on ip_text for a certificate whose Extensions SEQUENCE
 * holds exts[0..en). */
static enum x509_ip_result verdict(const uint8_t *exts, size_t en,
    const char *ip_text)
{
	static uint8_t der[BUILD_MAX];

	return match(der, cert_around(der, NULL, 0, exts, en, 0), ip_text);
}

static void test_extension_shapes(void **state)
{
	static uint8_t der[BUILD_MAX], exts[BUILD_MAX], seq[BUILD_MAX],
	    a3[BUILD_MAX];
	static const uint8_t gn[] = { 0x30, 0x06, IP127 };
	static const uint8_t other_gn[] = { 0x30, 0x06, 0x87, 0x04, 10, 0, 0, 1 };
	static const uint8_t long_oid[] = { 0x55, 0x1d, 0x11, 0x00 };
	static const uint8_t two_bytes[] = { 0xff, 0xff };
	size_t en, n, sn;

	(void)state;
	/* Critical: TRUE before the value. */
	en = extension(exts, san_oid, sizeof san_oid, true_byte, 1, gn,
	    sizeof gn);
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_MATCH);
	/* A BOOLEAN of two bytes. */
	en = extension(exts, san_oid, sizeof san_oid, two_bytes, 2, gn,
	    sizeof gn);
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_MALFORMED);
	/* An OID that starts like subjectAltName is another extension. */
	en = extension(exts, long_oid, sizeof long_oid, NULL, 0, gn,
	    sizeof gn);
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_NO_MATCH);
	/* Two subjectAltNames: refused whichever holds the address. */
	en = extension(exts, san_oid, sizeof san_oid, NULL, 0, other_gn,
	    sizeof other_gn);
	en += extension(exts + en, san_oid, sizeof san_oid, NULL, 0, gn,
	    sizeof gn);
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_MALFORMED);
	assert_int_equal(verdict(exts, en, "10.0.0.1"), X509_IP_MALFORMED);
	/* Other extensions around it are skipped. */
	en = extension(exts, long_oid, sizeof long_oid, true_byte, 1,
	    other_gn, sizeof other_gn);
	en += extension(exts + en, san_oid, sizeof san_oid, NULL, 0, gn,
	    sizeof gn);
	en += extension(exts + en, long_oid, sizeof long_oid, NULL, 0, gn,
	    sizeof gn);
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_MATCH);
	assert_int_equal(verdict(exts, en, "10.0.0.1"), X509_IP_NO_MATCH);
	/* An Extension without its OCTET STRING, or with more after it. */
	assert_int_equal(verdict((uint8_t[]){ 0x30, 0x05, 0x06, 0x03, 0x55,
	    0x1d, 0x11 }, 7, "127.0.0.1"), X509_IP_MALFORMED);
	en = extension(exts, san_oid, sizeof san_oid, NULL, 0, gn, sizeof gn);
	exts[en++] = 0x05;     /* a NULL after extnValue, inside the SEQUENCE */
	exts[en++] = 0x00;
	exts[1] += 2;
	assert_int_equal(verdict(exts, en, "127.0.0.1"), X509_IP_MALFORMED);
	/* Extensions not last in tbsCertificate. */
	en = extension(exts, san_oid, sizeof san_oid, NULL, 0, gn, sizeof gn);
	n = cert_around(der, (uint8_t[]){ 0x05, 0x00 }, 2, exts, en, 1);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MALFORMED);
	/* [3] holding more than the Extensions SEQUENCE: built by hand as
	 * the last field, a3 { 30 { ext } 05 00 }. */
	sn = tlv(seq, 0x30, exts, en);
	seq[sn++] = 0x05;
	seq[sn++] = 0x00;
	n = cert_around(der, a3, tlv(a3, 0xa3, seq, sn), NULL, 0, 0);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MALFORMED);
	n = cert_around(der, a3, tlv(a3, 0xa3, seq, sn - 2), NULL, 0, 0);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MATCH);
}

/* A filler field grows the certificate to the cap exactly, then one
 * byte over it. */
static void test_size_cap(void **state)
{
	static uint8_t der[BUILD_MAX], exts[BUILD_MAX], filler[BUILD_MAX];
	static const uint8_t gn[] = { 0x30, 0x06, IP127 };
	static const uint8_t zeros[X509_IP_CERT_MAX];
	size_t en = extension(exts, san_oid, sizeof san_oid, NULL, 0, gn,
	    sizeof gn);
	size_t n = cert_around(der, NULL, 0, exts, en, 0);
	size_t fill = X509_IP_CERT_MAX - n - 4 - 4;  /* filler and two heads */
	size_t fn = tlv(filler, 0x04, zeros, fill);

	(void)state;
	n = cert_around(der, filler, fn, exts, en, 0);
	assert_int_equal(n, X509_IP_CERT_MAX);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_MATCH);
	fn = tlv(filler, 0x04, zeros, fill + 1);
	n = cert_around(der, filler, fn, exts, en, 0);
	assert_int_equal(n, X509_IP_CERT_MAX + 1);
	assert_int_equal(match(der, n, "127.0.0.1"), X509_IP_TOO_LARGE);
	assert_int_equal(match(der, SIZE_MAX, "127.0.0.1"), X509_IP_TOO_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_certificates),
		cmocka_unit_test(test_real_cert_truncated_or_padded),
		cmocka_unit_test(test_built_baseline),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_long_form_lengths),
		cmocka_unit_test(test_nested_garbage),
		cmocka_unit_test(test_extension_shapes),
		cmocka_unit_test(test_size_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
