/* libFuzzer target for kaspa_decode: any input must decode or fail with a
 * reason that names it (nanopb's or the wire walk's, never PB_GET_ERROR's
 * "(none)"); whatever decodes must re-encode, and decode again
 * to the same key fields.  Unknown fields of a Version, its address and
 * the KaspadMessage around any payload are bounded, well-formed, really
 * unknown, and never re-encoded.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11
 *   -D_DEFAULT_SOURCE -DPB_ENABLE_MALLOC -I. -Ibuild/gen -I/usr/include
 *   fuzz/fuzz_kaspa_pb.c fuzz/kaspa_msg_equal.c kaspa_pb.c build/gen/kaspa.pb.c
 *   /usr/lib/x86_64-linux-gnu/libprotobuf-nanopb.a -o build/fuzz_kaspa_pb
 */
#include <stdlib.h>
#include <string.h>

#include "kaspa_msg_equal.h"
#include "kaspa_pb.h"

/* Large structs: static, as in the sensor. */
static struct kaspa_msg first, second;
static struct kaspa_pb_scratch scratch;
static uint8_t enc[64 * 1024];

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Field numbers of proto/kaspa.proto, written out as an oracle. */
static const uint32_t version_known[] = { 1, 2, 3, 4, 5, 6, 8, 9, 10 };
static const uint32_t netaddr_known[] = { 1, 3, 4 };
static const uint32_t message_known[] = { 1, 6, 16, 17, 19, 20, 22, 50,
    101, 102 };

static bool in_list(const uint32_t *list, size_t n, uint32_t number)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == number)
			return true;
	return false;
}

static bool unknown_field_valid(const struct kaspa_unknown_field *f,
    const uint32_t *known, size_t n_known)
{
	if (f->number == 0 || f->number > 536870911 ||
	    in_list(known, n_known, f->number))
		return false;
	switch (f->wire_type) {
	case 0:
	case 1:
		return f->bytes_len == 0;
	case 5:
		return f->bytes_len == 0 && f->value <= UINT32_MAX;
	case 2:
		return f->bytes_len == (f->value < KASPA_UNKNOWN_BYTES_MAX ?
		    f->value : KASPA_UNKNOWN_BYTES_MAX);
	default:
		return false;
	}
}

static bool unknown_list_valid(const struct kaspa_unknown_fields *u,
    const uint32_t *known, size_t n_known)
{
	if (u->count > KASPA_UNKNOWN_MAX ||
	    (u->dropped > 0 && u->count != KASPA_UNKNOWN_MAX))
		return false;
	for (size_t i = 0; i < u->count; i++)
		if (!unknown_field_valid(&u->field[i], known, n_known))
			return false;
	return true;
}

/* A list and its length, for unknown_list_valid. */
#define LIST(a) (a), sizeof(a) / sizeof((a)[0])

static void check_unknown_fields(const struct kaspa_msg *m)
{
	const struct kaspa_version_unknown *u = &m->unknown;

	check(unknown_list_valid(&u->message, LIST(message_known)));
	if (m->type != KASPA_VERSION)
		return;
	check(unknown_list_valid(&u->version, LIST(version_known)));
	check(unknown_list_valid(&u->address, LIST(netaddr_known)));
	check(m->u.version.has_address || (u->address.count == 0 &&
	    u->address.dropped == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	int n;

	if (kaspa_decode(&scratch, data, size, &first, &err) != 0) {
		check(err != NULL && err[0] != '\0' &&
		    strcmp(err, "(none)") != 0);
		return 0;
	}
	check_unknown_fields(&first);
	n = kaspa_encode(&scratch, &first, enc, sizeof enc);
	if (first.type == KASPA_OTHER) {
		check(n == -1);
		return 0;
	}
	check(n >= 0);
	check(kaspa_decode(&scratch, enc, (size_t)n, &second, &err) == 0);
	check(kaspa_msg_equal(&first, &second));
	check(second.unknown.message.count == 0);
	if (second.type == KASPA_VERSION)
		check(second.unknown.version.count == 0 &&
		    second.unknown.address.count == 0);
	return 0;
}
