/* fuzz_hpack.c - libFuzzer target for the HPACK decoder (and encoder).
 *
 * Input: one config byte, then header blocks for one decoder, each a
 * length byte and that many bytes (255: the rest of the input).  Config
 * bits 0-1 pick the table size, bit 2 a full or a tiny scratch (bits 3-6
 * its size), bit 7 a small header list cap.  Each block is copied to a heap
 * buffer of its exact size so ASan sees any overread.  Every decoded field
 * without NUL bytes is re-encoded and must decode to itself.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_hpack.c \
 *     hpack.c -o build/fuzz_hpack
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpack.h"

#define REST_OF_INPUT 255

static void check(int ok)
{
	if (!ok)
		abort();
}

/* The re-encoded field, decoded back. */
struct expected {
	const struct hpack_field *f;
	int seen;
};

static int compare_field(void *ctx, const struct hpack_field *f)
{
	struct expected *e = ctx;
	check(!e->seen && f->name_len == e->f->name_len &&
	    f->value_len == e->f->value_len &&
	    memcmp(f->name, e->f->name, f->name_len) == 0 &&
	    memcmp(f->value, e->f->value, f->value_len) == 0);
	e->seen = 1;
	return 0;
}

static void roundtrip_field(const struct hpack_field *f)
{
	static char name[HPACK_STRING_MAX + 1], value[HPACK_STRING_MAX + 1];
	static uint8_t block[2 * HPACK_STRING_MAX + 16];
	static uint8_t scratch[2 * HPACK_STRING_MAX];
	if (memchr(f->name, 0, f->name_len) || memchr(f->value, 0, f->value_len))
		return; /* the encoder takes C strings */
	memcpy(name, f->name, f->name_len);
	name[f->name_len] = '\0';
	memcpy(value, f->value, f->value_len);
	value[f->value_len] = '\0';
	int len = hpack_encode_field(block, sizeof block, name, value);
	check(len > 0);

	struct hpack_decoder d;
	struct expected e = { f, 0 };
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	check(hpack_decode(&d, block, (size_t)len, scratch, sizeof scratch,
	    SIZE_MAX, compare_field, &e) == HPACK_OK && e.seen);
	check(d.count == 0);
}

static int on_field(void *ctx, const struct hpack_field *f)
{
	(void)ctx;
	check(f->name_len <= HPACK_STRING_MAX &&
	    f->value_len <= HPACK_STRING_MAX);
	roundtrip_field(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t table_sizes[] = { 0, 64, 256, HPACK_TABLE_MAX };
	if (size == 0)
		return 0;
	uint8_t config = data[0];
	size_t settings = table_sizes[config & 3];
	size_t scratch_cap = (config & 4) ? 2 * HPACK_STRING_MAX
	    : (size_t)(config >> 3 & 15) * 4;
	size_t list_cap = (config & 0x80) ? 300 : SIZE_MAX;
	uint8_t *scratch = malloc(scratch_cap + !scratch_cap);
	check(scratch != NULL);

	struct hpack_decoder d;
	hpack_decoder_init(&d, settings);
	size_t pos = 1;
	while (pos < size) {
		size_t len = data[pos++];
		if (len == REST_OF_INPUT || len > size - pos)
			len = size - pos;
		uint8_t *block = malloc(len + !len);
		check(block != NULL);
		memcpy(block, data + pos, len);
		int err = hpack_decode(&d, block, len, scratch, scratch_cap,
		    list_cap, on_field, NULL);
		free(block);
		pos += len;

		check(err <= HPACK_OK && err >= HPACK_E_BUFFER);
		if (err != HPACK_OK) /* the connection would end: start over */
			hpack_decoder_init(&d, settings);
		check(d.size <= d.max_size && d.max_size <= d.settings_max &&
		    (size_t)d.count * 32 <= d.size);
	}
	free(scratch);
	return 0;
}
