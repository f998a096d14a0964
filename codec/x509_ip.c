/* x509_ip.c - iPAddress subjectAltName matching (see x509_ip.h). */
#include "x509_ip.h"

#include <stdbool.h>
#include <string.h>

#define TAG_BOOLEAN 0x01
#define TAG_OCTET_STRING 0x04
#define TAG_OID 0x06
#define TAG_SEQUENCE 0x30
#define TAG_EXTENSIONS 0xa3      /* [3] EXPLICIT, constructed */
#define TAG_IP_ADDRESS 0x87      /* GeneralName [7] IMPLICIT, primitive */
#define TAG_NUMBER_MASK 0x1f     /* all ones: the high tag number form */
#define LEN_LONG_FORM 0x80      /* then the low bits count length octets */
#define LEN_OCTETS_MASK 0x7f
/* Two length octets reach 65535, past X509_IP_CERT_MAX. */
#define LEN_OCTETS_MAX 2

/* id-ce-subjectAltName, 2.5.29.17 */
static const uint8_t san_oid[] = { 0x55, 0x1d, 0x11 };

/* Bytes not yet read. */
struct der {
	const uint8_t *p;
	size_t n;
};

/* Definite length at in->p[1..]: its value and the octets it takes;
 * false unless it is DER's one encoding of that length. */
static bool read_length(const struct der *in, size_t *len, size_t *octets)
{
	size_t k;

	if (in->p[1] < LEN_LONG_FORM) {
		*len = in->p[1];
		*octets = 1;
		return true;
	}
	k = in->p[1] & LEN_OCTETS_MASK;
	/* k == 0 is BER's indefinite length; a leading zero is not minimal. */
	if (k == 0 || k > LEN_OCTETS_MAX || in->n < 2 + k || in->p[2] == 0)
		return false;
	*len = 0;
	for (size_t i = 0; i < k; i++)
		*len = *len << 8 | in->p[2 + i];
	*octets = 1 + k;
	return *len >= LEN_LONG_FORM;   /* else the short form was due */
}

/* Takes one element off the front of *in: its tag and its contents.
 * false if in does not start with a whole element as DER has it. */
static bool take(struct der *in, uint8_t *tag, struct der *val)
{
	size_t len, octets, head;

	if (in->n < 2 || (in->p[0] & TAG_NUMBER_MASK) == TAG_NUMBER_MASK)
		return false;
	if (!read_length(in, &len, &octets))
		return false;
	head = 1 + octets;
	if (len > in->n - head)
		return false;
	*tag = in->p[0];
	val->p = in->p + head;
	val->n = len;
	in->p += head + len;
	in->n -= head + len;
	return true;
}

/* Takes an element that must have the tag `want`. */
static bool take_tagged(struct der *in, uint8_t want, struct der *val)
{
	uint8_t tag;

	return take(in, &tag, val) && tag == want;
}

/* extnValue of subjectAltName: GeneralNames, a SEQUENCE of GeneralName.
 * Every entry is read, so a malformed one counts wherever it stands. */
static enum x509_ip_result match_general_names(struct der value,
    const uint8_t *ip, size_t ip_len)
{
	struct der names, name;
	uint8_t tag;
	bool found = false;

	if (!take_tagged(&value, TAG_SEQUENCE, &names) || value.n != 0)
		return X509_IP_MALFORMED;
	while (names.n > 0) {
		if (!take(&names, &tag, &name))
			return X509_IP_MALFORMED;
		if (tag == TAG_IP_ADDRESS && name.n == ip_len &&
		    memcmp(name.p, ip, ip_len) == 0)
			found = true;
	}
	return found ? X509_IP_MATCH : X509_IP_NO_MATCH;
}

/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 * extnValue OCTET STRING }: whether it is subjectAltName, and its value. */
static bool take_extension(struct der *exts, bool *is_san, struct der *value)
{
	struct der ext, oid;
	uint8_t tag;

	if (!take_tagged(exts, TAG_SEQUENCE, &ext) ||
	    !take_tagged(&ext, TAG_OID, &oid) || !take(&ext, &tag, value))
		return false;
	if (tag == TAG_BOOLEAN && (value->n != 1 || !take(&ext, &tag, value)))
		return false;
	if (tag != TAG_OCTET_STRING || ext.n != 0)
		return false;
	*is_san = oid.n == sizeof san_oid &&
	    memcmp(oid.p, san_oid, sizeof san_oid) == 0;
	return true;
}

/* [3] EXPLICIT Extensions, a SEQUENCE of Extension; RFC 5280 4.2 allows
 * one instance of each, so a second subjectAltName is malformed. */
static enum x509_ip_result match_extensions(struct der explicit,
    const uint8_t *ip, size_t ip_len)
{
	struct der exts, value;
	enum x509_ip_result r = X509_IP_NO_MATCH;
	bool is_san, seen_san = false;

	if (!take_tagged(&explicit, TAG_SEQUENCE, &exts) || explicit.n != 0)
		return X509_IP_MALFORMED;
	while (exts.n > 0) {
		if (!take_extension(&exts, &is_san, &value))
			return X509_IP_MALFORMED;
		if (!is_san)
			continue;
		if (seen_san)
			return X509_IP_MALFORMED;
		seen_san = true;
		r = match_general_names(value, ip, ip_len);
		if (r == X509_IP_MALFORMED)
			return r;
	}
	return r;
}

enum x509_ip_result x509_ip_match(const uint8_t *cert, size_t len,
    const uint8_t *ip, size_t ip_len)
{
	struct der in = { cert, len }, certificate, tbs, field;
	uint8_t tag;

	if (len > X509_IP_CERT_MAX)
		return X509_IP_TOO_LARGE;
	if (!take_tagged(&in, TAG_SEQUENCE, &certificate) || in.n != 0 ||
	    !take_tagged(&certificate, TAG_SEQUENCE, &tbs))
		return X509_IP_MALFORMED;
	/* The fields of tbsCertificate; extensions, if any, come last. */
	while (tbs.n > 0) {
		if (!take(&tbs, &tag, &field))
			return X509_IP_MALFORMED;
		if (tag == TAG_EXTENSIONS)
			return tbs.n == 0 ? match_extensions(field, ip, ip_len) :
			    X509_IP_MALFORMED;
	}
	return X509_IP_NO_MATCH;
}
