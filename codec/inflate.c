/* inflate.c - one-shot DEFLATE (RFC 1951) and gzip (RFC 1952) decoder.
 *
 * Huffman codes are decoded canonically, one bit at a time, from a table
 * of code counts per length and the symbols in code order: small, no
 * lookup tables to build, and fast enough for gRPC-sized messages.
 * The output buffer is the LZ77 window.  Errors are sticky in the decoder
 * state: reading past the input records INFLATE_E_TRUNCATED and yields
 * zero bits, and every loop stops at the first error.
 */
#include "inflate.h"

#include <stdbool.h>
#include <string.h>

enum {
	MAX_BITS = 15,         /* longest Huffman code */
	MAX_LIT_CODES = 286,   /* literal/length symbols a dynamic block may use */
	MAX_DIST_CODES = 30,   /* distance symbols a dynamic block may use */
	FIXED_LIT_CODES = 288, /* the fixed code also assigns 286 and 287 */
	FIXED_DIST_CODES = 32, /* ...and distances 30 and 31 */
	CL_CODES = 19,         /* code-length alphabet */
	END_OF_BLOCK = 256,
	FIRST_LENGTH = 257,
	LENGTH_CODES = 29,     /* 257..285 */
};

enum block_type {
	BLOCK_STORED = 0,
	BLOCK_FIXED = 1,
	BLOCK_DYNAMIC = 2,
	BLOCK_RESERVED = 3,
};

struct huffman {
	uint16_t count[MAX_BITS + 1];      /* codes per length; [0] = unused symbols */
	uint16_t symbol[FIXED_LIT_CODES];  /* symbols in canonical code order */
	unsigned max_len;                  /* longest code; past it no code matches */
};

struct inflater {
	const uint8_t *in;
	size_t in_len, in_pos;
	uint32_t bit_buf;  /* bits fetched from in[] but not consumed, LSB first */
	unsigned bit_cnt;  /* always < 8 between reads */
	uint8_t *out;
	size_t out_cap, out_len;
	int err;           /* first error; later ones are its consequences */
};

static int fail(struct inflater *s, int err)
{
	if (s->err == INFLATE_OK)
		s->err = err;
	return s->err;
}

/* n <= 16 bits, LSB first (RFC 1951 3.1.1). */
static unsigned read_bits(struct inflater *s, unsigned n)
{
	while (s->bit_cnt < n) {
		if (s->in_pos == s->in_len) {
			fail(s, INFLATE_E_TRUNCATED);
			return 0;
		}
		s->bit_buf |= (uint32_t)s->in[s->in_pos++] << s->bit_cnt;
		s->bit_cnt += 8;
	}
	unsigned v = s->bit_buf & ((1u << n) - 1);
	s->bit_buf >>= n;
	s->bit_cnt -= n;
	return v;
}

/* Codes are sent MSB first; at each length, the codes of that length are
 * the `count` values following `first`, so one compare per bit finds the
 * symbol.  Returns -1 (and records INFLATE_E_DATA) for a code the set
 * leaves unassigned; callers check s->err before using the result. */
static int decode_symbol(struct inflater *s, const struct huffman *h)
{
	int code = 0, first = 0, index = 0;

	for (unsigned len = 1; len <= h->max_len; len++) {
		code |= (int)read_bits(s, 1);
		int count = h->count[len];
		if (code - first < count)
			return h->symbol[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	fail(s, INFLATE_E_DATA);
	return -1;
}

/* Canonical code from per-symbol lengths (RFC 1951 3.2.2).  Returns the
 * code space left unused, in units of 2^-MAX_BITS: 0 for a complete set,
 * > 0 for an incomplete one, < 0 for an over-subscribed one. */
static int build_huffman(struct huffman *h, const uint8_t *lengths, unsigned n)
{
	uint16_t next[MAX_BITS + 1];
	int left = 1;

	memset(h->count, 0, sizeof h->count);
	for (unsigned i = 0; i < n; i++)
		h->count[lengths[i]]++;
	h->max_len = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		left = (left << 1) - h->count[len];
		if (left < 0)
			return left;
		if (h->count[len] != 0)
			h->max_len = len;
	}
	next[1] = 0;
	for (unsigned len = 1; len < MAX_BITS; len++)
		next[len + 1] = (uint16_t)(next[len] + h->count[len]);
	for (unsigned i = 0; i < n; i++)
		if (lengths[i] != 0)
			h->symbol[next[lengths[i]]++] = (uint16_t)i;
	return left;
}

/* Incomplete literal/length and distance sets are accepted only in the
 * degenerate forms a compressor emits for one or no symbol (as zlib does):
 * no code at all, or a single 1-bit code.  Unassigned codes then fail in
 * decode_symbol. */
static int build_lit_or_dist(struct huffman *h, const uint8_t *lengths, unsigned n)
{
	int left = build_huffman(h, lengths, n);
	unsigned used = n - h->count[0];

	return left == 0 || (left > 0 && (used == 0 || (used == 1 && h->count[1] == 1)));
}

/* Length symbols 257..264 are lengths 3..10; then groups of four whose
 * extra bits grow by one; 285 is 258 (RFC 1951 3.2.5). */
static unsigned length_extra(unsigned lsym)
{
	return lsym < 8 || lsym == 28 ? 0 : (lsym - 4) / 4;
}

static unsigned length_base(unsigned lsym)
{
	if (lsym < 8)
		return lsym + 3;
	if (lsym == 28)
		return 258;
	return ((4u + (lsym & 3)) << length_extra(lsym)) + 3;
}

/* Distance symbols 0..3 are distances 1..4; then pairs whose extra bits
 * grow by one, up to 29 = 24577..32768. */
static unsigned dist_extra(unsigned dsym)
{
	return dsym < 4 ? 0 : (dsym - 2) / 2;
}

static unsigned dist_base(unsigned dsym)
{
	return dsym < 4 ? dsym + 1 : ((2u + (dsym & 1)) << dist_extra(dsym)) + 1;
}

static int put_literal(struct inflater *s, int sym)
{
	if (s->out_len == s->out_cap)
		return fail(s, INFLATE_E_TOO_BIG);
	s->out[s->out_len++] = (uint8_t)sym;
	return INFLATE_OK;
}

static int copy_match(struct inflater *s, unsigned lsym, const struct huffman *dist)
{
	if (lsym >= LENGTH_CODES)
		return fail(s, INFLATE_E_DATA);
	size_t len = length_base(lsym) + read_bits(s, length_extra(lsym));
	int dsym = decode_symbol(s, dist);
	if (s->err != INFLATE_OK)
		return s->err;
	if (dsym >= MAX_DIST_CODES)
		return fail(s, INFLATE_E_DATA);
	size_t d = dist_base((unsigned)dsym) + read_bits(s, dist_extra((unsigned)dsym));
	if (s->err != INFLATE_OK)
		return s->err;
	if (d > s->out_len)
		return fail(s, INFLATE_E_DATA);
	if (len > s->out_cap - s->out_len)
		return fail(s, INFLATE_E_TOO_BIG);
	/* Byte by byte on purpose: source and destination overlap when d < len. */
	uint8_t *to = s->out + s->out_len;
	const uint8_t *from = to - d;
	for (size_t i = 0; i < len; i++)
		to[i] = from[i];
	s->out_len += len;
	return INFLATE_OK;
}

static int inflate_codes(struct inflater *s, const struct huffman *lit,
    const struct huffman *dist)
{
	for (;;) {
		int sym = decode_symbol(s, lit);
		if (s->err != INFLATE_OK)
			return s->err;
		if (sym == END_OF_BLOCK)
			return INFLATE_OK;
		if (sym < END_OF_BLOCK ? put_literal(s, sym)
		    : copy_match(s, (unsigned)(sym - FIRST_LENGTH), dist))
			return s->err;
	}
}

/* The fixed code (RFC 1951 3.2.6) as build_huffman would make it, written
 * out so it costs nothing per block (most gRPC messages are one fixed
 * block) and keeps no state: lengths 7 for 256..279, 8 for 0..143 and
 * 280..287, 9 for 144..255; every distance code 5 bits. */
#define SEQ4(n) (n), (n) + 1, (n) + 2, (n) + 3
#define SEQ8(n) SEQ4(n), SEQ4((n) + 4)
#define SEQ16(n) SEQ8(n), SEQ8((n) + 8)
#define SEQ32(n) SEQ16(n), SEQ16((n) + 16)
static const struct huffman fixed_lit = {
	.count = { [7] = 24, [8] = 152, [9] = 112 },
	.symbol = {
		SEQ16(256), SEQ8(272),
		SEQ32(0), SEQ32(32), SEQ32(64), SEQ32(96), SEQ16(128),
		SEQ8(280),
		SEQ16(144), SEQ32(160), SEQ32(192), SEQ32(224),
	},
	.max_len = 9,
};
static const struct huffman fixed_dist = {
	.count = { [5] = FIXED_DIST_CODES },
	.symbol = { SEQ32(0) },
	.max_len = 5,
};
#undef SEQ32
#undef SEQ16
#undef SEQ8
#undef SEQ4

/* Code lengths 0..15 are literal; 16 repeats the previous length 3..6
 * times; 17 and 18 give 3..10 and 11..138 zeros.  One sequence covers
 * both alphabets, so a run may cross from one into the other. */
static int read_code_lengths(struct inflater *s, const struct huffman *cl,
    uint8_t *lengths, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		int sym = decode_symbol(s, cl);
		if (s->err != INFLATE_OK)
			return s->err;
		if (sym < 16) {
			lengths[i++] = (uint8_t)sym;
			continue;
		}
		uint8_t len = 0;
		unsigned repeat;
		if (sym == 16) {
			if (i == 0)
				return fail(s, INFLATE_E_DATA);
			len = lengths[i - 1];
			repeat = 3 + read_bits(s, 2);
		} else if (sym == 17) {
			repeat = 3 + read_bits(s, 3);
		} else {
			repeat = 11 + read_bits(s, 7);
		}
		if (s->err != INFLATE_OK)
			return s->err;
		if (repeat > n - i)
			return fail(s, INFLATE_E_DATA);
		memset(lengths + i, len, repeat);
		i += repeat;
	}
	return INFLATE_OK;
}

static int read_dynamic_codes(struct inflater *s, struct huffman *lit,
    struct huffman *dist)
{
	static const uint8_t cl_order[CL_CODES] = {
		16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
	};
	uint8_t lengths[MAX_LIT_CODES + MAX_DIST_CODES];
	struct huffman cl;

	unsigned nlit = read_bits(s, 5) + 257;
	unsigned ndist = read_bits(s, 5) + 1;
	unsigned ncl = read_bits(s, 4) + 4;
	if (s->err != INFLATE_OK)
		return s->err;
	if (nlit > MAX_LIT_CODES || ndist > MAX_DIST_CODES)
		return fail(s, INFLATE_E_DATA);
	memset(lengths, 0, sizeof lengths);  /* all of it: gcc cannot see lengths[256] is always set */
	for (unsigned i = 0; i < ncl; i++)
		lengths[cl_order[i]] = (uint8_t)read_bits(s, 3);
	if (s->err != INFLATE_OK)
		return s->err;
	if (build_huffman(&cl, lengths, CL_CODES) != 0)
		return fail(s, INFLATE_E_DATA);
	if (read_code_lengths(s, &cl, lengths, nlit + ndist) != INFLATE_OK)
		return s->err;
	if (lengths[END_OF_BLOCK] == 0
	    || !build_lit_or_dist(lit, lengths, nlit)
	    || !build_lit_or_dist(dist, lengths + nlit, ndist))
		return fail(s, INFLATE_E_DATA);
	return INFLATE_OK;
}

static int inflate_stored(struct inflater *s)
{
	s->bit_buf = 0;  /* the rest of the current byte is padding */
	s->bit_cnt = 0;
	if (s->in_len - s->in_pos < 4)
		return fail(s, INFLATE_E_TRUNCATED);
	const uint8_t *p = s->in + s->in_pos;
	size_t len = (size_t)p[0] | (size_t)p[1] << 8;
	size_t nlen = (size_t)p[2] | (size_t)p[3] << 8;
	s->in_pos += 4;
	if (len != (~nlen & 0xffff))
		return fail(s, INFLATE_E_DATA);
	if (len > s->out_cap - s->out_len)
		return fail(s, INFLATE_E_TOO_BIG);
	if (len > s->in_len - s->in_pos)
		return fail(s, INFLATE_E_TRUNCATED);
	if (len != 0)
		memcpy(s->out + s->out_len, s->in + s->in_pos, len);
	s->in_pos += len;
	s->out_len += len;
	return INFLATE_OK;
}

static int inflate_block(struct inflater *s, enum block_type type)
{
	struct huffman lit, dist;

	switch (type) {
	case BLOCK_STORED:
		return inflate_stored(s);
	case BLOCK_FIXED:
		return inflate_codes(s, &fixed_lit, &fixed_dist);
	case BLOCK_DYNAMIC:
		if (read_dynamic_codes(s, &lit, &dist) != INFLATE_OK)
			return s->err;
		return inflate_codes(s, &lit, &dist);
	case BLOCK_RESERVED:
		break;
	}
	return fail(s, INFLATE_E_DATA);
}

int inflate_raw(const uint8_t *in, size_t in_len, size_t *in_used,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct inflater s = {
		.in = in, .in_len = in_len, .out = out, .out_cap = out_cap,
	};
	unsigned last;

	do {
		last = read_bits(&s, 1);
		enum block_type type = (enum block_type)read_bits(&s, 2);
		if (s.err != INFLATE_OK || inflate_block(&s, type) != INFLATE_OK)
			break;
	} while (!last);
	*in_used = s.in_pos;
	*out_len = s.out_len;
	return s.err;
}

/* ---- gzip (RFC 1952) ---- */

enum gzip_flag {
	GZ_FTEXT = 1 << 0,  /* a hint only */
	GZ_FHCRC = 1 << 1,
	GZ_FEXTRA = 1 << 2,
	GZ_FNAME = 1 << 3,
	GZ_FCOMMENT = 1 << 4,
	GZ_RESERVED = 0xe0,
};

enum {
	GZ_FIXED_HEADER = 10,  /* ID1 ID2 CM FLG MTIME(4) XFL OS */
	GZ_TRAILER = 8,        /* CRC32 ISIZE */
	GZ_CM_DEFLATE = 8,
};

static uint32_t get_le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | get_le16(p + 2) << 16;
}

/* Advances *pos past a zero-terminated FNAME or FCOMMENT. */
static int skip_zstring(const uint8_t *in, size_t in_len, size_t *pos)
{
	const uint8_t *nul = memchr(in + *pos, 0, in_len - *pos);

	if (nul == NULL)
		return INFLATE_E_TRUNCATED;
	*pos = (size_t)(nul - in) + 1;
	return INFLATE_OK;
}

/* On success *pos is the offset of the DEFLATE data. */
static int parse_gzip_header(const uint8_t *in, size_t in_len, size_t *pos)
{
	if (in_len < GZ_FIXED_HEADER)
		return INFLATE_E_TRUNCATED;
	if (in[0] != 0x1f || in[1] != 0x8b || in[2] != GZ_CM_DEFLATE
	    || (in[3] & GZ_RESERVED) != 0)
		return INFLATE_E_HEADER;
	unsigned flags = in[3];
	size_t p = GZ_FIXED_HEADER;  /* MTIME, XFL and OS are of no use here */

	if (flags & GZ_FEXTRA) {
		if (in_len - p < 2 || in_len - p - 2 < get_le16(in + p))
			return INFLATE_E_TRUNCATED;
		p += 2 + get_le16(in + p);
	}
	if ((flags & GZ_FNAME) && skip_zstring(in, in_len, &p) != INFLATE_OK)
		return INFLATE_E_TRUNCATED;
	if ((flags & GZ_FCOMMENT) && skip_zstring(in, in_len, &p) != INFLATE_OK)
		return INFLATE_E_TRUNCATED;
	if (flags & GZ_FHCRC) {
		if (in_len - p < 2)
			return INFLATE_E_TRUNCATED;
		if (get_le16(in + p) != (inflate_crc32(0, in, p) & 0xffff))
			return INFLATE_E_CHECKSUM;
		p += 2;
	}
	*pos = p;
	return INFLATE_OK;
}

int inflate_gzip(const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t pos, used;

	*out_len = 0;
	int err = parse_gzip_header(in, in_len, &pos);
	if (err == INFLATE_OK)
		err = inflate_raw(in + pos, in_len - pos, &used, out, out_cap, out_len);
	if (err != INFLATE_OK)
		return err;
	pos += used;
	if (in_len - pos < GZ_TRAILER)
		return INFLATE_E_TRUNCATED;
	if (get_le32(in + pos) != inflate_crc32(0, out, *out_len)
	    || get_le32(in + pos + 4) != (uint32_t)*out_len)
		return INFLATE_E_CHECKSUM;
	if (in_len - pos > GZ_TRAILER)
		return INFLATE_E_TRAILING;
	return INFLATE_OK;
}

/* Four bits per step from a 16-entry table: 64 bytes of constants instead
 * of the usual 1 KB (or a first-use init), and still hundreds of MB/s,
 * far more than a handshake needs.  Reflected polynomial 0xedb88320. */
uint32_t inflate_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	static const uint32_t nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};

	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

const char *inflate_strerror(int err)
{
	switch ((enum inflate_err)err) {
	case INFLATE_OK: return "ok";
	case INFLATE_E_TRUNCATED: return "input ended early";
	case INFLATE_E_DATA: return "invalid deflate data";
	case INFLATE_E_TOO_BIG: return "output exceeds the cap";
	case INFLATE_E_HEADER: return "bad gzip header";
	case INFLATE_E_CHECKSUM: return "gzip checksum mismatch";
	case INFLATE_E_TRAILING: return "bytes after the gzip member";
	}
	return "unknown inflate error";
}
