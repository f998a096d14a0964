/* hpack.h - HPACK header compression (RFC 7541) for HTTP/2.
 *
 * The decoder keeps the dynamic table in a fixed ring inside the caller-owned
 * struct: no malloc, no I/O.  A header block is decoded in one call, fields
 * are handed to a callback as (name, value) byte strings.  Decoded strings
 * live in a caller-supplied scratch buffer (>= 2 * HPACK_STRING_MAX is
 * enough for any field), valid until the callback returns.
 *
 * The encoder emits only "literal without indexing", never Huffman: always
 * valid, and it needs no state.
 */
#ifndef HPACK_H
#define HPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound of the dynamic table we accept: what we advertise in
 * SETTINGS_HEADER_TABLE_SIZE, and also the RFC default the peer may use
 * before it has seen our SETTINGS. */
#define HPACK_TABLE_MAX 4096
/* Longest decoded name or value, and the scratch buffer for one field. */
#define HPACK_STRING_MAX 4096

enum hpack_err {
	HPACK_OK = 0,
	HPACK_E_TRUNCATED = -1,   /* block ends inside a representation */
	HPACK_E_INTEGER = -2,     /* integer overflows or is too long */
	HPACK_E_INDEX = -3,       /* index 0 or beyond the tables */
	HPACK_E_HUFFMAN = -4,     /* invalid code, EOS, or bad padding */
	HPACK_E_TOO_LONG = -5,    /* string longer than HPACK_STRING_MAX */
	HPACK_E_TABLE_SIZE = -6,  /* size update above the limit, or misplaced */
	HPACK_E_LIST_SIZE = -7,   /* header list larger than the caller's cap */
	HPACK_E_CALLBACK = -8,    /* the callback returned non-zero */
	HPACK_E_BUFFER = -9,      /* encoder output or decoder scratch too small */
};

struct hpack_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Dynamic table in a fixed byte ring (layout is hpack.c's business; keep
 * sizeof well under 6 KiB: there is one per connection). */
struct hpack_decoder {
	uint8_t ring[HPACK_TABLE_MAX];
	uint16_t entry_off[HPACK_TABLE_MAX / 32];   /* each entry costs >= 32 */
	uint16_t entry_name_len[HPACK_TABLE_MAX / 32];
	uint16_t entry_value_len[HPACK_TABLE_MAX / 32];
	uint16_t first;        /* slot of the newest entry */
	uint16_t count;        /* entries in the table */
	uint16_t ring_head;    /* next free byte in ring */
	uint32_t size;         /* RFC 7541 size: sum of name + value + 32 */
	uint32_t max_size;     /* current maximum, set by size updates */
	uint32_t settings_max; /* bound for size updates (our SETTINGS value) */
};

typedef int (*hpack_field_cb)(void *ctx, const struct hpack_field *f);

/* settings_max: our SETTINGS_HEADER_TABLE_SIZE, the initial table size and
 * the bound for size updates; values above HPACK_TABLE_MAX are clamped. */
void hpack_decoder_init(struct hpack_decoder *d, size_t settings_max);

/* True while d is as hpack_decoder_init() left it (empty table, size
 * never changed): such a decoder carries no state, so a caller may drop it
 * and init a fresh one before the next block. */
bool hpack_decoder_is_fresh(const struct hpack_decoder *d);

/* Decode one complete header block.  Calls cb for each field in order.
 * max_list_size caps the RFC 9113 header list size (sum of name + value
 * + 32 per field).  Returns HPACK_OK or a negative enum hpack_err; after an
 * error the decoder state is undefined (the connection must end with
 * COMPRESSION_ERROR). */
int hpack_decode(struct hpack_decoder *d, const uint8_t *in, size_t len,
    uint8_t *scratch, size_t scratch_cap, size_t max_list_size,
    hpack_field_cb cb, void *ctx);

/* Append one field as "literal without indexing, new name" (or indexed name
 * when name matches the static table).  Returns bytes written or
 * HPACK_E_BUFFER. */
int hpack_encode_field(uint8_t *out, size_t cap, const char *name,
    const char *value);

const char *hpack_strerror(int err);

#endif
