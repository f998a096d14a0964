/* hpack.c - HPACK header compression (RFC 7541), see hpack.h.
 *
 * The decoder is a recursive descent over the block: one representation at
 * a time, each read completely (integer, strings) before it is applied.
 * The dynamic table stores name and value bytes back to back in a byte ring
 * (an entry may wrap around its end) and per entry its offset and lengths in
 * a ring of slots; the newest entry is in slot d->first.
 */
#include "hpack.h"
#include "hpack_huffman.h"
#include "outbuf.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define ENTRY_OVERHEAD 32 /* RFC 7541 4.1: an entry costs name + value + 32 */
#define RING_SIZE HPACK_TABLE_MAX
#define SLOTS (HPACK_TABLE_MAX / ENTRY_OVERHEAD)
/* Continuation bytes allowed after an integer's prefix: 28 bits are far
 * beyond any index, length or table size we accept. */
#define INT_MAX_CONTINUATION 4

/* First-byte patterns of the representations (RFC 7541 6). */
#define REPR_INDEXED 0x80        /* 1xxxxxxx, 7-bit index */
#define REPR_INCREMENTAL 0x40    /* 01xxxxxx, 6-bit name index */
#define REPR_INCREMENTAL_MASK 0xc0
#define REPR_SIZE_UPDATE 0x20    /* 001xxxxx, 5-bit size */
#define REPR_SIZE_UPDATE_MASK 0xe0
/* 0000xxxx without indexing, 0001xxxx never indexed: both 4-bit name
 * index, and for a decoder the same thing. */
#define STRING_HUFFMAN 0x80      /* H bit before a string's 7-bit length */

struct static_entry {
	const char *name;
	const char *value;
};

/* RFC 7541 Appendix A; index 1 is the first entry. */
static const struct static_entry static_table[] = {
	{ ":authority", "" },
	{ ":method", "GET" },
	{ ":method", "POST" },
	{ ":path", "/" },
	{ ":path", "/index.html" },
	{ ":scheme", "http" },
	{ ":scheme", "https" },
	{ ":status", "200" },
	{ ":status", "204" },
	{ ":status", "206" },
	{ ":status", "304" },
	{ ":status", "400" },
	{ ":status", "404" },
	{ ":status", "500" },
	{ "accept-charset", "" },
	{ "accept-encoding", "gzip, deflate" },
	{ "accept-language", "" },
	{ "accept-ranges", "" },
	{ "accept", "" },
	{ "access-control-allow-origin", "" },
	{ "age", "" },
	{ "allow", "" },
	{ "authorization", "" },
	{ "cache-control", "" },
	{ "content-disposition", "" },
	{ "content-encoding", "" },
	{ "content-language", "" },
	{ "content-length", "" },
	{ "content-location", "" },
	{ "content-range", "" },
	{ "content-type", "" },
	{ "cookie", "" },
	{ "date", "" },
	{ "etag", "" },
	{ "expect", "" },
	{ "expires", "" },
	{ "from", "" },
	{ "host", "" },
	{ "if-match", "" },
	{ "if-modified-since", "" },
	{ "if-none-match", "" },
	{ "if-range", "" },
	{ "if-unmodified-since", "" },
	{ "last-modified", "" },
	{ "link", "" },
	{ "location", "" },
	{ "max-forwards", "" },
	{ "proxy-authenticate", "" },
	{ "proxy-authorization", "" },
	{ "range", "" },
	{ "referer", "" },
	{ "refresh", "" },
	{ "retry-after", "" },
	{ "server", "" },
	{ "set-cookie", "" },
	{ "strict-transport-security", "" },
	{ "transfer-encoding", "" },
	{ "user-agent", "" },
	{ "vary", "" },
	{ "via", "" },
	{ "www-authenticate", "" },
};
#define STATIC_COUNT (sizeof static_table / sizeof static_table[0])

_Static_assert(STATIC_COUNT == 61, "RFC 7541 static table has 61 entries");
_Static_assert(sizeof ((struct hpack_decoder *)0)->entry_off ==
    SLOTS * sizeof(uint16_t), "one slot per smallest possible entry");
_Static_assert(RING_SIZE <= UINT16_MAX, "ring offsets are uint16_t");

/* ---- input ---- */

struct reader {
	const uint8_t *p;
	const uint8_t *end;
};

/* Where decoded strings of the current field go. */
struct scratch {
	uint8_t *buf;
	size_t cap;
	size_t used;
};

/* RFC 7541 5.1: an integer in the low prefix_bits of the current byte,
 * continued in 7-bit groups, least significant first. */
static int read_int(struct reader *r, unsigned prefix_bits, uint32_t *out)
{
	if (r->p == r->end)
		return HPACK_E_TRUNCATED;
	uint32_t prefix_max = (1u << prefix_bits) - 1;
	uint32_t v = *r->p++ & prefix_max;
	if (v < prefix_max) {
		*out = v;
		return HPACK_OK;
	}
	for (unsigned shift = 0; shift < 7 * INT_MAX_CONTINUATION; shift += 7) {
		if (r->p == r->end)
			return HPACK_E_TRUNCATED;
		uint8_t b = *r->p++;
		v += (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return HPACK_OK;
		}
	}
	return HPACK_E_INTEGER;
}

/* RFC 7541 5.2 and Appendix B.  Walks the canonical code bit by bit: at
 * each length, codes first .. first + count - 1 are that length's symbols,
 * and the next length starts at (first + count) << 1. */
static int huffman_decode(const uint8_t *in, size_t n, uint8_t *out,
    size_t cap, size_t *out_len)
{
	uint32_t code = 0;   /* bits read since the last symbol */
	uint32_t first = 0;  /* first code of length `bits` */
	unsigned bits = 0;
	unsigned index = 0;  /* symbols with codes shorter than `bits` */
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		for (int b = 7; b >= 0; b--) {
			code = code << 1 | ((in[i] >> b) & 1u);
			bits++;
			/* The code is complete, so a match comes by 30 bits. */
			uint32_t count = huffman_count[bits];
			if (code - first >= count) {
				index += count;
				first = (first + count) << 1;
				continue;
			}
			index += code - first;
			if (index == HUFFMAN_EOS)
				return HPACK_E_HUFFMAN;
			if (len == cap)
				return HPACK_E_TOO_LONG;
			out[len++] = huffman_symbol[index];
			code = first = 0;
			bits = index = 0;
		}
	}
	/* Padding: the most significant bits of EOS (all ones), under 8. */
	if (bits > 7 || code != (1u << bits) - 1)
		return HPACK_E_HUFFMAN;
	*out_len = len;
	return HPACK_OK;
}

/* RFC 7541 5.2: a string literal, decoded into the free part of scratch. */
static int read_string(struct reader *r, struct scratch *s, const char **str,
    size_t *len)
{
	if (r->p == r->end)
		return HPACK_E_TRUNCATED;
	bool huffman = *r->p & STRING_HUFFMAN;
	uint32_t n;
	int err = read_int(r, 7, &n);
	if (err)
		return err;
	if (n > (size_t)(r->end - r->p))
		return HPACK_E_TRUNCATED;
	const uint8_t *src = r->p;
	r->p += n;

	uint8_t *out = s->buf + s->used;
	size_t room = s->cap - s->used;
	size_t limit = room < HPACK_STRING_MAX ? room : HPACK_STRING_MAX;
	if (huffman) {
		err = huffman_decode(src, n, out, limit, len);
	} else if (n > limit) {
		err = HPACK_E_TOO_LONG;
	} else {
		memcpy(out, src, n);
		*len = n;
	}
	if (err == HPACK_E_TOO_LONG && limit < HPACK_STRING_MAX)
		return HPACK_E_BUFFER; /* the caller's scratch is what is short */
	if (err)
		return err;
	*str = (const char *)out;
	s->used += *len;
	return HPACK_OK;
}

/* ---- dynamic table (RFC 7541 2.3.2, 4) ---- */

static size_t entry_size(size_t name_len, size_t value_len)
{
	return name_len + value_len + ENTRY_OVERHEAD;
}

/* Slot of the entry `age` insertions older than the newest (age 0). */
static unsigned slot_of(const struct hpack_decoder *d, unsigned age)
{
	return (d->first + SLOTS - age) % SLOTS;
}

static void evict_until_size_at_most(struct hpack_decoder *d, size_t limit)
{
	while (d->size > limit) {
		unsigned oldest = slot_of(d, d->count - 1u);
		d->size -= (uint32_t)entry_size(d->entry_name_len[oldest],
		    d->entry_value_len[oldest]);
		d->count--;
	}
}

static void ring_write(struct hpack_decoder *d, const char *src, size_t len)
{
	size_t head = d->ring_head;
	size_t part = len < RING_SIZE - head ? len : RING_SIZE - head;
	memcpy(d->ring + head, src, part);
	memcpy(d->ring, src + part, len - part);
	d->ring_head = (uint16_t)((head + len) % RING_SIZE);
}

static void ring_read(const struct hpack_decoder *d, size_t off, size_t len,
    uint8_t *dst)
{
	size_t part = len < RING_SIZE - off ? len : RING_SIZE - off;
	memcpy(dst, d->ring + off, part);
	memcpy(dst + part, d->ring, len - part);
}

/* Evicts as needed, then adds f as the newest entry.  The byte ring cannot
 * overflow: entries hold at most max_size - 32 * count <= RING_SIZE bytes. */
static void table_insert(struct hpack_decoder *d, const struct hpack_field *f)
{
	size_t need = entry_size(f->name_len, f->value_len);
	if (need > d->max_size) {
		evict_until_size_at_most(d, 0); /* RFC 7541 4.4 */
		return;
	}
	evict_until_size_at_most(d, d->max_size - need);
	d->first = (uint16_t)((d->first + 1u) % SLOTS);
	d->entry_off[d->first] = d->ring_head;
	d->entry_name_len[d->first] = (uint16_t)f->name_len;
	d->entry_value_len[d->first] = (uint16_t)f->value_len;
	ring_write(d, f->name, f->name_len);
	ring_write(d, f->value, f->value_len);
	d->count++;
	d->size += (uint32_t)need;
}

/* Copies len ring bytes from off into scratch: a field handed to the
 * callback must be contiguous, and a ring entry may wrap. */
static int ring_to_scratch(const struct hpack_decoder *d, size_t off,
    size_t len, struct scratch *s, const char **str)
{
	if (len > s->cap - s->used)
		return HPACK_E_BUFFER;
	ring_read(d, off % RING_SIZE, len, s->buf + s->used);
	*str = (const char *)s->buf + s->used;
	s->used += len;
	return HPACK_OK;
}

/* Resolves an index (static table first, then dynamic, newest first) to
 * the name, and the value too when with_value is set. */
static int lookup(const struct hpack_decoder *d, uint32_t index,
    bool with_value, struct scratch *s, struct hpack_field *f)
{
	if (index == 0 || index > STATIC_COUNT + d->count)
		return HPACK_E_INDEX;
	if (index <= STATIC_COUNT) {
		const struct static_entry *e = &static_table[index - 1];
		f->name = e->name;
		f->name_len = strlen(e->name);
		f->value = e->value;
		f->value_len = strlen(e->value);
		return HPACK_OK;
	}
	unsigned slot = slot_of(d, index - STATIC_COUNT - 1);
	size_t off = d->entry_off[slot];
	f->name_len = d->entry_name_len[slot];
	f->value_len = d->entry_value_len[slot];
	int err = ring_to_scratch(d, off, f->name_len, s, &f->name);
	if (err || !with_value)
		return err;
	return ring_to_scratch(d, off + f->name_len, f->value_len, s,
	    &f->value);
}

/* ---- representations ---- */

/* RFC 7541 6.3. */
static int read_size_update(struct hpack_decoder *d, struct reader *r)
{
	uint32_t size;
	int err = read_int(r, 5, &size);
	if (err)
		return err;
	if (size > d->settings_max)
		return HPACK_E_TABLE_SIZE;
	d->max_size = size;
	evict_until_size_at_most(d, size);
	return HPACK_OK;
}

/* RFC 7541 6.2: name by index or literal, then a literal value; added to
 * the table for "incremental indexing". */
static int read_literal(struct hpack_decoder *d, struct reader *r,
    struct scratch *s, struct hpack_field *f)
{
	bool incremental = (*r->p & REPR_INCREMENTAL_MASK) == REPR_INCREMENTAL;
	uint32_t index;
	int err = read_int(r, incremental ? 6 : 4, &index);
	if (err)
		return err;
	if (index == 0)
		err = read_string(r, s, &f->name, &f->name_len);
	else
		err = lookup(d, index, false, s, f);
	if (!err)
		err = read_string(r, s, &f->value, &f->value_len);
	if (!err && incremental)
		table_insert(d, f);
	return err;
}

/* One field representation (not a size update) into f. */
static int read_field(struct hpack_decoder *d, struct reader *r,
    struct scratch *s, struct hpack_field *f)
{
	s->used = 0;
	if (*r->p & REPR_INDEXED) {
		uint32_t index;
		int err = read_int(r, 7, &index);
		return err ? err : lookup(d, index, true, s, f);
	}
	return read_literal(d, r, s, f);
}

/* Counts f against the header list size (RFC 9113 6.5.2), then hands it
 * to the callback. */
static int emit_field(const struct hpack_field *f, size_t *list_size,
    size_t max_list_size, hpack_field_cb cb, void *ctx)
{
	size_t cost = entry_size(f->name_len, f->value_len);
	if (cost > max_list_size - *list_size)
		return HPACK_E_LIST_SIZE;
	*list_size += cost;
	return cb(ctx, f) ? HPACK_E_CALLBACK : HPACK_OK;
}

void hpack_decoder_init(struct hpack_decoder *d, size_t settings_max)
{
	memset(d, 0, sizeof *d);
	/* The ring holds no more than HPACK_TABLE_MAX. */
	if (settings_max > HPACK_TABLE_MAX)
		settings_max = HPACK_TABLE_MAX;
	d->settings_max = (uint32_t)settings_max;
	d->max_size = (uint32_t)settings_max;
}

bool hpack_decoder_is_fresh(const struct hpack_decoder *d)
{
	return d->count == 0 && d->max_size == d->settings_max;
}

int hpack_decode(struct hpack_decoder *d, const uint8_t *in, size_t len,
    uint8_t *scratch, size_t scratch_cap, size_t max_list_size,
    hpack_field_cb cb, void *ctx)
{
	struct reader r = { in, in + len };
	struct scratch s = { scratch, scratch_cap, 0 };
	size_t list_size = 0;
	bool at_block_start = true; /* size updates only come first (4.2) */

	while (r.p < r.end) {
		int err;
		if ((*r.p & REPR_SIZE_UPDATE_MASK) == REPR_SIZE_UPDATE) {
			err = at_block_start ? read_size_update(d, &r) :
			    HPACK_E_TABLE_SIZE;
		} else {
			struct hpack_field f;
			at_block_start = false;
			err = read_field(d, &r, &s, &f);
			if (!err)
				err = emit_field(&f, &list_size, max_list_size,
				    cb, ctx);
		}
		if (err)
			return err;
	}
	return HPACK_OK;
}

/* ---- encoder ---- */

/* RFC 7541 5.1, with `flags` in the bits above the prefix. */
static void put_int(struct outbuf *w, uint8_t flags, unsigned prefix_bits,
    size_t v)
{
	uint8_t buf[1 + (sizeof v * CHAR_BIT + 6) / 7];
	size_t n = 0;
	size_t prefix_max = (1u << prefix_bits) - 1;
	if (v < prefix_max) {
		buf[n++] = (uint8_t)(flags | v);
	} else {
		buf[n++] = (uint8_t)(flags | prefix_max);
		for (v -= prefix_max; v >= 0x80; v >>= 7)
			buf[n++] = (uint8_t)(0x80 | (v & 0x7f));
		buf[n++] = (uint8_t)v;
	}
	outbuf_put(w, buf, n);
}

/* Raw string literal (H = 0). */
static void put_string(struct outbuf *w, const char *str)
{
	size_t len = strlen(str);
	put_int(w, 0, 7, len);
	outbuf_put(w, str, len);
}

/* Index of the first static entry named `name`, 0 if none. */
static size_t static_name_index(const char *name)
{
	for (size_t i = 0; i < STATIC_COUNT; i++)
		if (strcmp(static_table[i].name, name) == 0)
			return i + 1;
	return 0;
}

int hpack_encode_field(uint8_t *out, size_t cap, const char *name,
    const char *value)
{
	struct outbuf w = { out, cap < INT_MAX ? cap : INT_MAX, 0, false };
	size_t index = static_name_index(name);
	/* 0000xxxx: literal without indexing; name index 0 means a literal
	 * name follows. */
	put_int(&w, 0x00, 4, index);
	if (index == 0)
		put_string(&w, name);
	put_string(&w, value);
	return w.overflow ? HPACK_E_BUFFER : (int)w.len;
}

const char *hpack_strerror(int err)
{
	switch ((enum hpack_err)err) {
	case HPACK_OK: return "ok";
	case HPACK_E_TRUNCATED: return "header block ends inside a field";
	case HPACK_E_INTEGER: return "integer too large or too long";
	case HPACK_E_INDEX: return "header table index 0 or out of range";
	case HPACK_E_HUFFMAN: return "invalid Huffman code, EOS or padding";
	case HPACK_E_TOO_LONG: return "header string longer than the limit";
	case HPACK_E_TABLE_SIZE:
		return "table size update too large or not at block start";
	case HPACK_E_LIST_SIZE: return "header list larger than the limit";
	case HPACK_E_CALLBACK: return "header field rejected by the callback";
	case HPACK_E_BUFFER: return "output or scratch buffer too small";
	}
	return "unknown HPACK error";
}
