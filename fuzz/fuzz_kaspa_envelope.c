/* libFuzzer target for the KaspadMessage envelope: top-level fields that
 * are no payload (a newer or forked protocol's additions) must not change
 * what a message decodes to.  The input describes up to 15 such fields
 * and a message P; the target builds an envelope E, P with the fields put
 * before it, after it or between its top-level fields, and checks that
 *
 * - E decodes exactly when P does, to the same type, ids and payload,
 *   the same unknown fields of a Version and its address, and re-encodes
 *   to the same bytes;
 * - E's unknown top-level fields are P's plus the added ones, counted
 *   whole (kept + dropped), and, when the added ones sit only before and
 *   after P, kept exactly in wire order up to KASPA_UNKNOWN_MAX.
 *
 * Input: a count byte (low 4 bits), then per added field a header of 6
 * bytes (wire type, varint padding and key padding; field number, 32-bit
 * little endian; position: 0 before P, 255 after P, k after P's k-th
 * top-level field) and its value (varint and fixed64: 8 bytes, fixed32:
 * 4 bytes, bytes: a length byte and that many bytes); the rest is P.
 * Keys padded up to 10 bytes stay within 32 bits, so the reference
 * node's decoder (prost) reads them as the plain ones.
 */
#include <stdlib.h>
#include <string.h>

#include "kaspa_msg_equal.h"
#include "kaspa_pb.h"

#define EXTRA_MAX 15
#define FIELD_NUMBER_MAX 536870911u
#define POS_BEFORE 0
#define POS_AFTER 255
#define ENVELOPE_MAX (64 * 1024)
#define EXTRAS_WIRE_MAX (EXTRA_MAX * 272)   /* tag, length, 255 bytes */

/* Top-level field numbers that are no payload and no id: the gaps in the
 * reference node's oneof below 64 (messages.proto, written out as an
 * oracle), and anything from 64 up but response_id (101) and request_id
 * (102). */
static const uint8_t free_below_64[] = { 4, 7, 8, 9, 11, 18, 23, 24, 28,
    29, 32, 38, 39, 62 };

struct extra {
	struct kaspa_unknown_field field;    /* as the decoder must report it */
	uint8_t pad;                         /* varint: redundant 0x80 bytes */
	uint8_t key_pad;                     /* the same, for the key */
	uint8_t pos;
	const uint8_t *bytes;                /* wire type 2: all of them */
};

static struct extra extras[EXTRA_MAX];
static size_t n_extras;
static uint8_t envelope[ENVELOPE_MAX];
static struct kaspa_msg plain, wrapped;
static struct kaspa_pb_scratch scratch;
static uint8_t enc_plain[ENVELOPE_MAX], enc_wrapped[ENVELOPE_MAX];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static uint32_t free_field_number(uint32_t raw)
{
	const size_t n_low = sizeof free_below_64;
	uint32_t number;

	if (raw % 4 == 0)
		return free_below_64[raw / 4 % n_low];
	number = 64 + raw % (FIELD_NUMBER_MAX - 64 + 1);
	return number == 101 || number == 102 ? number + 2 : number;
}

/* Reads one added field's description; false when the input ends. */
static bool parse_extra(const uint8_t **p, const uint8_t *end, struct extra *e)
{
	static const uint8_t wire_types[] = { 0, 1, 2, 5 };
	size_t n;

	if (end - *p < 6)
		return false;
	memset(e, 0, sizeof *e);
	e->field.wire_type = wire_types[(*p)[0] & 3];
	e->pad = (*p)[0] >> 2 & 3;
	e->key_pad = (*p)[0] >> 4 & 7;
	e->field.number = free_field_number((uint32_t)le(*p + 1, 4));
	e->pos = (*p)[5];
	*p += 6;
	n = e->field.wire_type == 5 ? 4 : e->field.wire_type == 2 ? 1 : 8;
	if ((size_t)(end - *p) < n)
		return false;
	e->field.value = le(*p, n);
	*p += n;
	if (e->field.wire_type != 2)
		return true;
	if ((size_t)(end - *p) < e->field.value)
		return false;
	e->bytes = *p;
	e->field.bytes_len = (uint8_t)(e->field.value < KASPA_UNKNOWN_BYTES_MAX ?
	    e->field.value : KASPA_UNKNOWN_BYTES_MAX);
	memcpy(e->field.bytes, e->bytes, e->field.bytes_len);
	*p += e->field.value;
	return true;
}

/* v as a varint, made pad bytes longer, but never beyond the 10 bytes
 * the reference node's decoder reads. */
static size_t put_varint(uint8_t *out, uint64_t v, unsigned pad)
{
	size_t n = 0, plain_len = 1;

	for (uint64_t rest = v >> 7; rest > 0; rest >>= 7)
		plain_len++;
	if (pad > 10 - plain_len)
		pad = (unsigned)(10 - plain_len);
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	if (pad == 0) {
		out[n++] = (uint8_t)v;
		return n;
	}
	out[n++] = (uint8_t)(v | 0x80);    /* the same value, longer */
	while (--pad > 0)
		out[n++] = 0x80;
	out[n++] = 0;
	return n;
}

/* Appends e's wire form at out; returns its length (at most 20 bytes,
 * or 12 + the bytes of a wire type 2 field). */
static size_t put_extra(uint8_t *out, const struct extra *e)
{
	const struct kaspa_unknown_field *f = &e->field;
	size_t n = put_varint(out, (uint64_t)f->number << 3 | f->wire_type,
	    e->key_pad);

	switch (f->wire_type) {
	case 0:
		return n + put_varint(out + n, f->value, e->pad);
	case 2:
		n += put_varint(out + n, f->value, 0);
		memcpy(out + n, e->bytes, f->value);
		return n + f->value;
	default:
		for (size_t i = 0; i < (f->wire_type == 1 ? 8u : 4u); i++)
			out[n++] = (uint8_t)(f->value >> (8 * i));
		return n;
	}
}

/* Length of the top-level field at p (tag and value), 0 if malformed:
 * the envelope's own wire walk, independent of the decoder's.  It reads
 * the key and a length as varints of up to 10 bytes and keeps their low
 * 32 bits: P decoded, so its keys fit 32 bits (prost's rule). */
static size_t field_len(const uint8_t *p, size_t len)
{
	uint64_t key = 0, v = 0;
	size_t i = 0;

	for (unsigned shift = 0; i < len && shift < 70; shift += 7) {
		key |= (uint64_t)(p[i] & 0x7F) << shift;
		if (!(p[i++] & 0x80))
			break;
	}
	if (i == 0 || (p[i - 1] & 0x80))
		return 0;
	switch (key & 7) {
	case 0:
		while (i < len && (p[i] & 0x80))
			i++;
		return i < len ? i + 1 : 0;
	case 1:
		return len - i >= 8 ? i + 8 : 0;
	case 5:
		return len - i >= 4 ? i + 4 : 0;
	case 2:
		for (unsigned shift = 0; i < len && shift < 70; shift += 7) {
			v |= (uint64_t)(p[i] & 0x7F) << shift;
			if (!(p[i++] & 0x80))
				return len - i >= (uint32_t)v ? i + (uint32_t)v : 0;
		}
		return 0;
	default:
		return 0;
	}
}

/* Writes the added fields at position pos. */
static size_t put_extras_at(uint8_t *out, unsigned pos)
{
	size_t n = 0;

	for (size_t i = 0; i < n_extras; i++)
		if (extras[i].pos == pos)
			n += put_extra(out + n, &extras[i]);
	return n;
}

/* E: P with the added fields at their positions (a position past P's
 * last field counts as after it).  Every field of P is whole, as P
 * decoded. */
static size_t build_envelope(const uint8_t *p, size_t len)
{
	size_t n = put_extras_at(envelope, POS_BEFORE), off = 0;
	unsigned k = 0;

	while (off < len) {
		size_t fl = field_len(p + off, len - off);

		check(fl > 0);
		memcpy(envelope + n, p + off, fl);
		n += fl;
		off += fl;
		if (++k < POS_AFTER)
			n += put_extras_at(envelope + n, k);
	}
	for (size_t i = 0; i < n_extras; i++)
		if (extras[i].pos == POS_AFTER || extras[i].pos > k)
			n += put_extra(envelope + n, &extras[i]);
	return n;
}

static bool unknown_field_equal(const struct kaspa_unknown_field *a,
    const struct kaspa_unknown_field *b)
{
	return a->number == b->number && a->wire_type == b->wire_type &&
	    a->value == b->value && a->bytes_len == b->bytes_len &&
	    memcmp(a->bytes, b->bytes, a->bytes_len) == 0;
}

static bool unknown_list_equal(const struct kaspa_unknown_fields *a,
    const struct kaspa_unknown_fields *b)
{
	if (a->count != b->count || a->dropped != b->dropped)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!unknown_field_equal(&a->field[i], &b->field[i]))
			return false;
	return true;
}

/* The unknown top-level fields E must report when the added ones are
 * all before or after P: those before, P's own, those after. */
static void expected_message_unknowns(struct kaspa_unknown_fields *out)
{
	const struct kaspa_unknown_fields *own = &plain.unknown.message;
	size_t total = 0;

	memset(out, 0, sizeof *out);
	for (int after = 0; after <= 1; after++) {
		for (size_t i = 0; i < n_extras; i++) {
			if ((extras[i].pos == POS_AFTER) != after)
				continue;
			if (out->count < KASPA_UNKNOWN_MAX)
				out->field[out->count++] = extras[i].field;
			total++;
		}
		for (size_t i = 0; !after && i < own->count; i++) {
			if (out->count < KASPA_UNKNOWN_MAX)
				out->field[out->count++] = own->field[i];
			total++;
		}
		if (!after)
			total += own->dropped;
	}
	out->dropped = total - out->count;
}

static bool only_at_ends(void)
{
	for (size_t i = 0; i < n_extras; i++)
		if (extras[i].pos != POS_BEFORE && extras[i].pos != POS_AFTER)
			return false;
	return true;
}

static void check_message_unknowns(void)
{
	const struct kaspa_unknown_fields *got = &wrapped.unknown.message;
	const struct kaspa_unknown_fields *own = &plain.unknown.message;
	struct kaspa_unknown_fields want;

	check(got->count + got->dropped ==
	    own->count + own->dropped + n_extras);
	if (!only_at_ends())
		return;
	expected_message_unknowns(&want);
	check(unknown_list_equal(got, &want));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	const char *err_plain = NULL, *err_wrapped = NULL;
	size_t want_extras, len;
	int n_plain, n_wrapped;

	if (size == 0 || size > ENVELOPE_MAX - EXTRAS_WIRE_MAX)
		return 0;
	want_extras = *p++ & 0x0F;
	for (n_extras = 0; n_extras < want_extras; n_extras++)
		if (!parse_extra(&p, end, &extras[n_extras]))
			return 0;
	if (kaspa_decode(&scratch, p, (size_t)(end - p), &plain, &err_plain) != 0)
		return 0;    /* fields of a malformed P have no boundaries */
	len = build_envelope(p, (size_t)(end - p));
	check(kaspa_decode(&scratch, envelope, len, &wrapped, &err_wrapped) == 0);
	check(kaspa_msg_equal(&plain, &wrapped));
	if (plain.type == KASPA_VERSION)
		check(unknown_list_equal(&plain.unknown.version,
		    &wrapped.unknown.version) &&
		    unknown_list_equal(&plain.unknown.address,
		    &wrapped.unknown.address));
	check_message_unknowns();
	n_plain = kaspa_encode(&scratch, &plain, enc_plain, sizeof enc_plain);
	n_wrapped = kaspa_encode(&scratch, &wrapped, enc_wrapped, sizeof enc_wrapped);
	check(n_plain == n_wrapped && (n_plain < 0 ||
	    memcmp(enc_plain, enc_wrapped, (size_t)n_plain) == 0));
	return 0;
}
