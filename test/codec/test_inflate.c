/* test_inflate.c - inflate.c against vectors made at test time by zlib,
 * plus hand-built streams for the corners zlib's compressor never emits
 * (distance 32768, degenerate and broken Huffman codes, gzip header
 * fields).  zlib's own inflate is the oracle wherever a verdict is
 * compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#define ZLIB_CONST
#include <zlib.h>

#include "inflate.h"

enum {
	MAX_DATA = 100000,      /* largest plain text a test decodes */
	COMP_CAP = 256 * 1024,  /* room for any compressed vector */
	CANARY = 64,            /* guard bytes past the output cap */
	WBITS_RAW = -15,
	WBITS_GZIP = 16 + 15,
	WINDOW = 32768,
};

static uint8_t src[MAX_DATA];
static uint8_t comp[COMP_CAP];
static uint8_t out[MAX_DATA + CANARY];
static uint8_t zout[MAX_DATA];

/* ---- deterministic test data ---- */

static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

enum data_kind { DATA_RANDOM, DATA_TEXT, DATA_FAR_REPEATS, DATA_KINDS };

static void fill_text(uint8_t *p, size_t n)
{
	static const char *const words[] = {
		"kaspa", "peer", "version", "handshake", "block", "the", "of",
		"protocol", "address", "ghostdag", "dag", "and", "node", "ping",
	};
	size_t i = 0;

	while (i < n) {
		const char *w = words[rng() % (sizeof words / sizeof words[0])];
		for (; *w != '\0' && i < n; w++)
			p[i++] = (uint8_t)*w;
		if (i < n)
			p[i++] = rng() % 9 == 0 ? '\n' : ' ';
	}
}

/* Random chunks, half of them copies of data 16..32 KiB back, so zlib's
 * matches reach as far as its compressor goes (32506). */
static void fill_far_repeats(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t chunk = n - i < 300 ? n - i : 300;
		size_t d = WINDOW / 2 + rng() % (WINDOW / 2);
		for (size_t k = 0; k < chunk; k++, i++)
			p[i] = i >= d && rng() % 2 ? p[i - d] : (uint8_t)rng();
	}
}

static void fill_data(enum data_kind kind, uint8_t *p, size_t n)
{
	rng_state = 0x9e3779b9u + (uint32_t)n;
	switch (kind) {
	case DATA_TEXT:
		fill_text(p, n);
		break;
	case DATA_FAR_REPEATS:
		fill_far_repeats(p, n);
		break;
	default:
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)rng();
		break;
	}
}

/* ---- zlib as encoder and as oracle ---- */

static size_t zlib_compress(const uint8_t *in, size_t n, int level, int strategy,
    int wbits, uint8_t *dst, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, wbits, 8, strategy), Z_OK);
	z.next_in = in;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = z.total_out;
	deflateEnd(&z);
	return len;
}

struct verdict {
	int ok;          /* one whole stream decoded within the cap */
	size_t out_len;
	size_t in_used;
};

static struct verdict zlib_inflate(const uint8_t *in, size_t n, int wbits,
    uint8_t *dst, size_t cap)
{
	struct verdict v;
	z_stream z;

	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, wbits), Z_OK);
	z.next_in = in;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	v.ok = inflate(&z, Z_FINISH) == Z_STREAM_END;
	v.out_len = z.total_out;
	v.in_used = z.total_in;
	inflateEnd(&z);
	return v;
}

/* Our decoder into out[] with guard bytes after the cap. */
static int guarded_inflate(int gzip, const uint8_t *in, size_t n, size_t cap,
    size_t *in_used, size_t *out_len)
{
	assert_true(cap <= MAX_DATA);
	memset(out + cap, 0xa5, CANARY);
	int err = gzip ? inflate_gzip(in, n, out, cap, out_len)
	    : inflate_raw(in, n, in_used, out, cap, out_len);
	for (size_t i = 0; i < CANARY; i++)
		if (out[cap + i] != 0xa5)
			fail_msg("wrote past the cap (%zu) at +%zu", cap, i);
	assert_true(*out_len <= cap);
	return err;
}

/* Same verdict as zlib: both accept with equal output and length used,
 * or both reject.  For gzip, zlib stops after one member and leaves any
 * trailing bytes unread; we must call those INFLATE_E_TRAILING. */
static void expect_agreement(int gzip, const uint8_t *in, size_t n, size_t cap)
{
	size_t used = 0, olen;
	int err = guarded_inflate(gzip, in, n, cap, &used, &olen);
	struct verdict z = zlib_inflate(in, n, gzip ? WBITS_GZIP : WBITS_RAW, zout, cap);

	if (gzip && z.ok && z.in_used < n) {
		assert_int_equal(err, INFLATE_E_TRAILING);
		return;
	}
	if (z.ok != (err == INFLATE_OK))
		fail_msg("zlib %s, we say %s (len %zu)", z.ok ? "accepts" : "rejects",
		    inflate_strerror(err), n);
	if (!z.ok)
		return;
	assert_int_equal(olen, z.out_len);
	assert_memory_equal(out, zout, olen);
	if (!gzip)
		assert_int_equal(used, z.in_used);
}

/* ---- a bit writer for hand-built streams ---- */

struct bit_writer {
	uint8_t buf[48 * 1024];
	size_t len;
	uint32_t acc;
	unsigned n;
};

static void put_bits(struct bit_writer *w, uint32_t v, unsigned n)
{
	w->acc |= v << w->n;
	w->n += n;
	for (; w->n >= 8; w->n -= 8, w->acc >>= 8) {
		assert_true(w->len < sizeof w->buf);
		w->buf[w->len++] = (uint8_t)w->acc;
	}
}

/* Huffman codes go MSB first. */
static void put_code(struct bit_writer *w, unsigned code, unsigned len)
{
	while (len-- > 0)
		put_bits(w, (code >> len) & 1, 1);
}

static void flush_bits(struct bit_writer *w)
{
	if (w->n > 0)
		put_bits(w, 0, 8 - w->n);
}

static void put_block_header(struct bit_writer *w, unsigned final, unsigned type)
{
	put_bits(w, final, 1);
	put_bits(w, type, 2);
}

/* RFC 1951 3.2.5/3.2.6, written out independently of inflate.c's formulas. */
static const uint16_t len_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51,
	59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
};
static const uint8_t len_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
	5, 5, 5, 5, 0,
};
static const uint16_t dist_base[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
	513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
};
static const uint8_t dist_extra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
	10, 11, 11, 12, 12, 13, 13,
};

static void put_fixed_symbol(struct bit_writer *w, unsigned sym)
{
	if (sym < 144)
		put_code(w, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(w, 0x190 + sym - 144, 9);
	else if (sym < 280)
		put_code(w, sym - 256, 7);
	else
		put_code(w, 0xc0 + sym - 280, 8);
}

static unsigned find_base(const uint16_t *base, unsigned n, unsigned value)
{
	while (base[n - 1] > value)
		n--;
	return n - 1;
}

static void put_fixed_match(struct bit_writer *w, unsigned len, unsigned dist)
{
	unsigned l = find_base(len_base, 29, len), d = find_base(dist_base, 30, dist);

	put_fixed_symbol(w, 257 + l);
	put_bits(w, len - len_base[l], len_extra[l]);
	put_code(w, d, 5);
	put_bits(w, dist - dist_base[d], dist_extra[d]);
}

/* RFC 1951 3.2.2: canonical codes from lengths. */
static void canonical_codes(const uint8_t *lens, unsigned n, uint16_t *codes)
{
	unsigned count[16] = {0}, next[16];
	unsigned code = 0;

	for (unsigned i = 0; i < n; i++)
		count[lens[i]]++;
	count[0] = 0;
	for (unsigned b = 1; b < 16; b++) {
		code = (code + count[b - 1]) << 1;
		next[b] = code;
	}
	for (unsigned i = 0; i < n; i++)
		if (lens[i] != 0)
			codes[i] = (uint16_t)next[lens[i]]++;
}

/* One entry of the code-length sequence: a symbol 0..18 and, for 16..18,
 * its repeat field. */
struct cl_item {
	uint8_t sym, extra;
};

/* A complete code-length code: 13 lengths of 4 bits, 6 of 5. */
static void default_cl_lens(uint8_t cl_lens[19])
{
	for (unsigned s = 0; s < 19; s++)
		cl_lens[s] = s < 13 ? 4 : 5;
}

static void put_dynamic_header(struct bit_writer *w, unsigned nlit, unsigned ndist,
    const uint8_t cl_lens[19], const struct cl_item *items, size_t nitems)
{
	static const uint8_t order[19] = {
		16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
	};
	static const uint8_t extra_bits[19] = {[16] = 2, [17] = 3, [18] = 7};
	uint16_t codes[19];

	put_bits(w, nlit - 257, 5);
	put_bits(w, ndist - 1, 5);
	put_bits(w, 19 - 4, 4);
	for (unsigned i = 0; i < 19; i++)
		put_bits(w, cl_lens[order[i]], 3);
	canonical_codes(cl_lens, 19, codes);
	for (size_t i = 0; i < nitems; i++) {
		put_code(w, codes[items[i].sym], cl_lens[items[i].sym]);
		put_bits(w, items[i].extra, extra_bits[items[i].sym]);
	}
}

enum { MAX_LENS = 320 };

/* A dynamic code set described by its lengths, sent without runs. */
struct dyn_code {
	uint8_t lens[MAX_LENS];  /* literal/length lengths, then distance */
	unsigned nlit, ndist;
	uint16_t codes[MAX_LENS];
};

static void put_dynamic_code(struct bit_writer *w, struct dyn_code *c)
{
	struct cl_item items[MAX_LENS];
	uint8_t cl_lens[19];

	for (unsigned i = 0; i < c->nlit + c->ndist; i++)
		items[i] = (struct cl_item){c->lens[i], 0};
	default_cl_lens(cl_lens);
	put_dynamic_header(w, c->nlit, c->ndist, cl_lens, items, c->nlit + c->ndist);
	canonical_codes(c->lens, c->nlit, c->codes);
	canonical_codes(c->lens + c->nlit, c->ndist, c->codes + c->nlit);
}

static void put_dyn_symbol(struct bit_writer *w, const struct dyn_code *c, unsigned sym)
{
	put_code(w, c->codes[sym], c->lens[sym]);
}

static void put_dyn_dist(struct bit_writer *w, const struct dyn_code *c, unsigned dsym)
{
	put_dyn_symbol(w, c, c->nlit + dsym);
}

/* Our verdict on a hand-built raw stream, checked against zlib's. */
static int raw_verdict(struct bit_writer *w, size_t cap)
{
	size_t used = 0, olen;

	flush_bits(w);
	expect_agreement(0, w->buf, w->len, cap);
	return guarded_inflate(0, w->buf, w->len, cap, &used, &olen);
}

/* ---- tests ---- */

static void test_crc32_matches_zlib(void **state)
{
	(void)state;
	fill_data(DATA_RANDOM, src, 4096);
	assert_int_equal(inflate_crc32(0, src, 0), 0);
	for (size_t n = 0; n <= 4096; n += 1 + n / 3)
		assert_int_equal(inflate_crc32(0, src, n), crc32(0, src, (uInt)n));
	uint32_t chained = inflate_crc32(inflate_crc32(0, src, 1000), src + 1000, 3096);
	assert_int_equal(chained, crc32(0, src, 4096));
	assert_int_equal(inflate_crc32(0, (const uint8_t *)"123456789", 9), 0xcbf43926);
}

static void test_strerror_names_every_code(void **state)
{
	(void)state;
	for (int e = INFLATE_E_TRAILING; e <= INFLATE_OK; e++)
		for (int f = e + 1; f <= INFLATE_OK; f++)
			assert_string_not_equal(inflate_strerror(e), inflate_strerror(f));
	assert_non_null(inflate_strerror(42));
}

static const struct zconf {
	const char *name;
	int level, strategy;
} confs[] = {
	{"stored", 0, Z_DEFAULT_STRATEGY},
	{"level 1", 1, Z_DEFAULT_STRATEGY},
	{"level 6", 6, Z_DEFAULT_STRATEGY},
	{"level 9", 9, Z_DEFAULT_STRATEGY},
	{"fixed", 6, Z_FIXED},
	{"huffman only", 6, Z_HUFFMAN_ONLY},
	{"rle", 6, Z_RLE},
};

static void check_roundtrip(enum data_kind kind, size_t n, const struct zconf *c)
{
	size_t used, olen;

	fill_data(kind, src, n);
	size_t clen = zlib_compress(src, n, c->level, c->strategy, WBITS_RAW, comp, COMP_CAP);
	int err = guarded_inflate(0, comp, clen, n, &used, &olen);
	if (err != INFLATE_OK || used != clen || olen != n || memcmp(out, src, n) != 0)
		fail_msg("raw %s kind %d size %zu: %s", c->name, kind, n, inflate_strerror(err));

	clen = zlib_compress(src, n, c->level, c->strategy, WBITS_GZIP, comp, COMP_CAP);
	err = guarded_inflate(1, comp, clen, n, &used, &olen);
	if (err != INFLATE_OK || olen != n || memcmp(out, src, n) != 0)
		fail_msg("gzip %s kind %d size %zu: %s", c->name, kind, n, inflate_strerror(err));
	if (n > 0)
		assert_int_equal(guarded_inflate(1, comp, clen, n - 1, &used, &olen),
		    INFLATE_E_TOO_BIG);
}

static void test_roundtrip_zlib_matrix(void **state)
{
	static const size_t sizes[] = {0, 1, 100, 65536, MAX_DATA};

	(void)state;
	for (int kind = 0; kind < DATA_KINDS; kind++)
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
			for (size_t c = 0; c < sizeof confs / sizeof confs[0]; c++)
				check_roundtrip((enum data_kind)kind, sizes[s], &confs[c]);
}

static void test_raw_reports_input_used(void **state)
{
	size_t used, olen;

	(void)state;
	fill_data(DATA_TEXT, src, 5000);
	size_t clen = zlib_compress(src, 5000, 6, Z_DEFAULT_STRATEGY, WBITS_RAW, comp, COMP_CAP);
	memset(comp + clen, 0xff, 7);
	assert_int_equal(guarded_inflate(0, comp, clen + 7, 5000, &used, &olen), INFLATE_OK);
	assert_int_equal(used, clen);
	assert_int_equal(olen, 5000);
}

enum { GZ_FTEXT = 1, GZ_FHCRC = 2, GZ_FEXTRA = 4, GZ_FNAME = 8, GZ_FCOMMENT = 16 };

/* A gzip member with an explicit header, built by hand around zlib's raw
 * DEFLATE output; CRCs from zlib. */
static size_t build_gzip_member(uint8_t *dst, const uint8_t *data, size_t n,
    unsigned flags)
{
	static const uint8_t fixed[10] = {0x1f, 0x8b, 8, 0, 0x78, 0x56, 0x34, 0x12, 2, 3};
	static const uint8_t extra[] = {8, 0, 'K', 'S', 4, 0, 1, 2, 3, 4};
	size_t p = 0;

	memcpy(dst, fixed, sizeof fixed);
	dst[3] = (uint8_t)flags;
	p = sizeof fixed;
	if (flags & GZ_FEXTRA) {
		memcpy(dst + p, extra, sizeof extra);
		p += sizeof extra;
	}
	if (flags & GZ_FNAME) {
		memcpy(dst + p, "version.bin", 12);
		p += 12;
	}
	if (flags & GZ_FCOMMENT) {
		memcpy(dst + p, "kaspa handshake", 16);
		p += 16;
	}
	if (flags & GZ_FHCRC) {
		uLong hcrc = crc32(0, dst, (uInt)p);
		dst[p++] = (uint8_t)hcrc;
		dst[p++] = (uint8_t)(hcrc >> 8);
	}
	p += zlib_compress(data, n, 9, Z_DEFAULT_STRATEGY, WBITS_RAW, dst + p, COMP_CAP / 2);
	uLong crc = crc32(0, data, (uInt)n);
	for (unsigned i = 0; i < 4; i++)
		dst[p++] = (uint8_t)(crc >> 8 * i);
	for (unsigned i = 0; i < 4; i++)
		dst[p++] = (uint8_t)(n >> 8 * i);
	return p;
}

static const unsigned all_header_fields = GZ_FTEXT | GZ_FHCRC | GZ_FEXTRA | GZ_FNAME | GZ_FCOMMENT;

static void test_gzip_optional_header_fields(void **state)
{
	size_t used, olen;

	(void)state;
	fill_data(DATA_TEXT, src, 3000);
	for (unsigned flags = 0; flags <= all_header_fields; flags++) {
		size_t len = build_gzip_member(comp, src, 3000, flags);
		expect_agreement(1, comp, len, 3000);
		assert_int_equal(guarded_inflate(1, comp, len, 3000, &used, &olen), INFLATE_OK);
		assert_memory_equal(out, src, 3000);
	}
	/* a header CRC that does not match */
	size_t len = build_gzip_member(comp, src, 3000, all_header_fields);
	size_t hcrc_at = 10 + 10 + 12 + 16;
	comp[hcrc_at] ^= 1;
	expect_agreement(1, comp, len, 3000);
	assert_int_equal(guarded_inflate(1, comp, len, 3000, &used, &olen), INFLATE_E_CHECKSUM);
}

static void test_gzip_bad_header(void **state)
{
	static const struct {
		size_t at;
		uint8_t value;
	} faults[] = {
		{0, 0x1e}, {1, 0x8c}, {2, 7}, {2, 0}, {3, 0x20}, {3, 0x40}, {3, 0x80},
	};
	size_t used, olen;

	(void)state;
	fill_data(DATA_TEXT, src, 500);
	for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
		size_t len = zlib_compress(src, 500, 6, Z_DEFAULT_STRATEGY, WBITS_GZIP, comp, COMP_CAP);
		comp[faults[i].at] = faults[i].value;
		expect_agreement(1, comp, len, 500);
		assert_int_equal(guarded_inflate(1, comp, len, 500, &used, &olen), INFLATE_E_HEADER);
	}
}

static void test_gzip_bad_crc_and_isize(void **state)
{
	size_t used, olen;

	(void)state;
	fill_data(DATA_TEXT, src, 2000);
	size_t len = zlib_compress(src, 2000, 6, Z_DEFAULT_STRATEGY, WBITS_GZIP, comp, COMP_CAP);
	for (size_t at = len - 8; at < len; at++) {
		comp[at] ^= 0x10;
		expect_agreement(1, comp, len, 2000);
		assert_int_equal(guarded_inflate(1, comp, len, 2000, &used, &olen), INFLATE_E_CHECKSUM);
		comp[at] ^= 0x10;
	}
}

static void test_gzip_trailing_bytes(void **state)
{
	size_t used, olen;

	(void)state;
	fill_data(DATA_TEXT, src, 1000);
	size_t len = zlib_compress(src, 1000, 6, Z_DEFAULT_STRATEGY, WBITS_GZIP, comp, COMP_CAP / 2);
	comp[len] = 0;
	expect_agreement(1, comp, len + 1, 1000);
	assert_int_equal(guarded_inflate(1, comp, len + 1, 1000, &used, &olen), INFLATE_E_TRAILING);
	/* a second member is trailing bytes too: gRPC sends exactly one */
	memcpy(comp + len, comp, len);
	expect_agreement(1, comp, 2 * len, 2000);
	assert_int_equal(guarded_inflate(1, comp, 2 * len, 2000, &used, &olen), INFLATE_E_TRAILING);
}

static void check_every_truncation(int gzip, const uint8_t *in, size_t len, size_t cap)
{
	size_t used, olen;

	for (size_t n = 0; n < len; n++) {
		int err = guarded_inflate(gzip, in, n, cap, &used, &olen);
		if (err != INFLATE_E_TRUNCATED)
			fail_msg("%s cut at %zu of %zu: %s", gzip ? "gzip" : "raw", n, len,
			    inflate_strerror(err));
	}
}

static void test_truncation_at_every_offset(void **state)
{
	(void)state;
	fill_data(DATA_TEXT, src, 1500);
	size_t len = build_gzip_member(comp, src, 1500, all_header_fields);
	check_every_truncation(1, comp, len, 1500);
	for (size_t c = 0; c < sizeof confs / sizeof confs[0]; c++) {
		len = zlib_compress(src, 1500, confs[c].level, confs[c].strategy, WBITS_RAW, comp, COMP_CAP);
		check_every_truncation(0, comp, len, 1500);
		len = zlib_compress(src, 1500, confs[c].level, confs[c].strategy, WBITS_GZIP, comp, COMP_CAP);
		check_every_truncation(1, comp, len, 1500);
	}
}

/* Every single-bit error: no crash, no write past the cap, and the same
 * verdict and output as zlib. */
static void test_bit_flips_agree_with_zlib(void **state)
{
	static const size_t conf_index[] = {0, 2, 4, 5};

	(void)state;
	fill_data(DATA_TEXT, src, 1200);
	for (size_t c = 0; c < sizeof conf_index / sizeof conf_index[0]; c++) {
		const struct zconf *z = &confs[conf_index[c]];
		for (int gzip = 0; gzip <= 1; gzip++) {
			size_t len = zlib_compress(src, 1200, z->level, z->strategy,
			    gzip ? WBITS_GZIP : WBITS_RAW, comp, COMP_CAP);
			for (size_t bit = 0; bit < 8 * len; bit++) {
				comp[bit / 8] ^= (uint8_t)(1u << bit % 8);
				expect_agreement(gzip, comp, len, 1300);
				comp[bit / 8] ^= (uint8_t)(1u << bit % 8);
			}
		}
	}
}

/* 10 MB of zeros is ~10 KB of gzip; a 64 KiB cap must stop it at once. */
static void test_gzip_bomb_hits_cap(void **state)
{
	z_stream z;
	size_t used, olen;

	(void)state;
	memset(src, 0, MAX_DATA);
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, WBITS_GZIP, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_out = comp;
	z.avail_out = COMP_CAP;
	for (int i = 0; i < 100; i++) {
		z.next_in = src;
		z.avail_in = MAX_DATA;
		assert_int_equal(deflate(&z, i == 99 ? Z_FINISH : Z_NO_FLUSH), i == 99 ? Z_STREAM_END : Z_OK);
	}
	size_t len = z.total_out;
	deflateEnd(&z);
	assert_true(len < 20000);

	clock_t t0 = clock();
	assert_int_equal(guarded_inflate(1, comp, len, 65536, &used, &olen), INFLATE_E_TOO_BIG);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(olen <= 65536);
	assert_true(secs < 0.5);
}

static void put_fixed_literals(struct bit_writer *w, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_fixed_symbol(w, p[i]);
}

static void test_fixed_distance_32768_and_too_far(void **state)
{
	static struct bit_writer w;

	(void)state;
	fill_data(DATA_RANDOM, src, WINDOW);
	memset(&w, 0, sizeof w);
	put_block_header(&w, 1, 1);
	put_fixed_literals(&w, src, WINDOW);
	put_fixed_match(&w, 258, WINDOW);
	put_fixed_symbol(&w, 256);
	assert_int_equal(raw_verdict(&w, WINDOW + 258), INFLATE_OK);
	assert_memory_equal(out + WINDOW, src, 258);

	for (unsigned dist = 9; dist <= 11; dist++) {
		memset(&w, 0, sizeof w);
		put_block_header(&w, 1, 1);
		put_fixed_literals(&w, src, 10);
		put_fixed_match(&w, 3, dist);
		put_fixed_symbol(&w, 256);
		assert_int_equal(raw_verdict(&w, 100), dist <= 10 ? INFLATE_OK : INFLATE_E_DATA);
	}
}

/* One fixed block with a symbol zlib never emits: lengths 286/287,
 * distances 30/31, or length 258 spelled as 284 + 31. */
static int fixed_block_with(unsigned lsym, unsigned lextra, unsigned dsym)
{
	static struct bit_writer w;

	memset(&w, 0, sizeof w);
	put_block_header(&w, 1, 1);
	put_fixed_literals(&w, (const uint8_t *)"abc", 3);
	put_fixed_symbol(&w, lsym);
	if (lsym >= 257 && lsym < 286)
		put_bits(&w, lextra, len_extra[lsym - 257]);
	put_code(&w, dsym, 5);
	put_fixed_symbol(&w, 256);
	return raw_verdict(&w, 300);
}

static void test_fixed_invalid_symbols(void **state)
{
	(void)state;
	assert_int_equal(fixed_block_with(257, 0, 0), INFLATE_OK);
	assert_int_equal(fixed_block_with(284, 31, 0), INFLATE_OK);
	assert_int_equal(fixed_block_with(286, 0, 0), INFLATE_E_DATA);
	assert_int_equal(fixed_block_with(287, 0, 0), INFLATE_E_DATA);
	assert_int_equal(fixed_block_with(257, 0, 30), INFLATE_E_DATA);
	assert_int_equal(fixed_block_with(257, 0, 31), INFLATE_E_DATA);
}

static void test_block_types_and_stored(void **state)
{
	static struct bit_writer w;
	size_t used, olen;

	(void)state;
	/* a fixed block, then a stored one that starts at the next byte */
	memset(&w, 0, sizeof w);
	put_block_header(&w, 0, 1);
	put_fixed_literals(&w, (const uint8_t *)"xy", 2);
	put_fixed_symbol(&w, 256);
	put_block_header(&w, 1, 0);
	flush_bits(&w);
	memcpy(w.buf + w.len, "\x03\x00\xfc\xff" "abc", 7);
	w.len += 7;
	assert_int_equal(raw_verdict(&w, 10), INFLATE_OK);
	assert_memory_equal(out, "xyabc", 5);

	static const uint8_t bad_nlen[] = {0x01, 0x03, 0x00, 0xfc, 0xfe, 'a', 'b', 'c'};
	expect_agreement(0, bad_nlen, sizeof bad_nlen, 10);
	assert_int_equal(guarded_inflate(0, bad_nlen, sizeof bad_nlen, 10, &used, &olen), INFLATE_E_DATA);
	static const uint8_t empty_stored[] = {0x01, 0x00, 0x00, 0xff, 0xff};
	expect_agreement(0, empty_stored, sizeof empty_stored, 0);
	assert_int_equal(guarded_inflate(0, empty_stored, sizeof empty_stored, 0, &used, &olen), INFLATE_OK);
	assert_int_equal(used, sizeof empty_stored);
	static const uint8_t reserved_type[] = {0x07, 0x00};
	expect_agreement(0, reserved_type, sizeof reserved_type, 10);
	assert_int_equal(guarded_inflate(0, reserved_type, sizeof reserved_type, 10, &used, &olen), INFLATE_E_DATA);
}

/* A dynamic block using literals a and b, lengths 3 and 4 (257, 258) and
 * the distance code given; the data is "ab" then a match. */
static int dynamic_block(const uint8_t *lit_lens_ab_eob_l3_l4, const uint8_t *dist_lens,
    unsigned ndist, unsigned dsym)
{
	static const unsigned lit_syms[] = {'a', 'b', 256, 257, 258};
	static struct dyn_code c;
	static struct bit_writer w;

	memset(&c, 0, sizeof c);
	memset(&w, 0, sizeof w);
	c.nlit = 259;
	c.ndist = ndist;
	for (unsigned i = 0; i < 5; i++)
		c.lens[lit_syms[i]] = lit_lens_ab_eob_l3_l4[i];
	memcpy(c.lens + c.nlit, dist_lens, ndist);
	put_block_header(&w, 1, 2);
	put_dynamic_code(&w, &c);
	for (unsigned i = 0; i < 2; i++)
		if (c.lens[lit_syms[i]] != 0)
			put_dyn_symbol(&w, &c, lit_syms[i]);
	if (c.lens[257] != 0) {
		put_dyn_symbol(&w, &c, 257);
		put_dyn_dist(&w, &c, dsym);
	}
	put_dyn_symbol(&w, &c, 256);
	return raw_verdict(&w, 100);
}

static void test_dynamic_code_sets(void **state)
{
	static const uint8_t one_bit[] = {1}, two_bits[] = {2}, none[] = {0};
	static const uint8_t complete2[] = {1, 1}, half[] = {2, 2}, over[] = {1, 1, 1};
	static const uint8_t lit_complete[] = {2, 3, 3, 2, 2};
	static const uint8_t lit_only_eob[] = {0, 0, 1, 0, 0};
	static const uint8_t lit_no_match[] = {1, 2, 2, 0, 0};
	static const uint8_t lit_incomplete[] = {2, 3, 3, 2, 0};
	static const uint8_t lit_over[] = {1, 3, 3, 2, 2};
	static const uint8_t lit_no_eob[] = {2, 2, 0, 2, 2};

	(void)state;
	assert_int_equal(dynamic_block(lit_complete, complete2, 2, 0), INFLATE_OK);
	assert_memory_equal(out, "abbbb", 5);
	/* a single distance code of one bit: allowed, its other bit pattern is not */
	assert_int_equal(dynamic_block(lit_complete, one_bit, 1, 0), INFLATE_OK);
	/* ...but a single code of two bits is an incomplete set */
	assert_int_equal(dynamic_block(lit_complete, two_bits, 1, 0), INFLATE_E_DATA);
	assert_int_equal(dynamic_block(lit_complete, half, 2, 1), INFLATE_E_DATA);
	assert_int_equal(dynamic_block(lit_complete, over, 3, 1), INFLATE_E_DATA);
	/* no distance code at all is fine for a block without matches */
	assert_int_equal(dynamic_block(lit_no_match, none, 1, 0), INFLATE_OK);
	assert_int_equal(dynamic_block(lit_complete, none, 1, 0), INFLATE_E_DATA);
	/* literal/length sets: only end-of-block, incomplete, over-subscribed, no end-of-block */
	assert_int_equal(dynamic_block(lit_only_eob, none, 1, 0), INFLATE_OK);
	assert_int_equal(dynamic_block(lit_incomplete, one_bit, 1, 0), INFLATE_E_DATA);
	assert_int_equal(dynamic_block(lit_over, one_bit, 1, 0), INFLATE_E_DATA);
	assert_int_equal(dynamic_block(lit_no_eob, one_bit, 1, 0), INFLATE_E_DATA);
}

/* A dynamic header from explicit code-length items and CL lengths, then
 * "a", a match of 3 at distance 1 and end-of-block when the items make
 * 'a', 256, 257 and 258 two bits long and a complete distance code. */
static int dynamic_header_block(unsigned nlit, unsigned ndist, const uint8_t cl_lens[19],
    const struct cl_item *items, size_t nitems)
{
	static struct bit_writer w;
	static const uint8_t lens[] = {2, 2, 2, 2};
	uint16_t codes[4];

	memset(&w, 0, sizeof w);
	put_block_header(&w, 1, 2);
	put_dynamic_header(&w, nlit, ndist, cl_lens, items, nitems);
	canonical_codes(lens, 4, codes);  /* 'a', 256, 257, 258 in symbol order */
	put_code(&w, codes[0], 2);
	put_code(&w, codes[2], 2);
	put_code(&w, 0, 2);  /* distance symbol 0: distance 1 */
	put_code(&w, codes[1], 2);
	return raw_verdict(&w, 100);
}

static void test_dynamic_code_length_rules(void **state)
{
	/* zeros to 'a', 2, zeros to 256, then 2 repeated across the end of
	 * the literal/length lengths (nlit = 259) into the distance ones */
	static const struct cl_item crossing[] = {
		{18, 97 - 11}, {2, 0}, {18, 138 - 11}, {18, 20 - 11}, {2, 0}, {16, 0}, {16, 0},
	};
	static const struct cl_item repeat_first[] = {{16, 0}};
	static const struct cl_item overrun[] = {
		{18, 97 - 11}, {2, 0}, {18, 138 - 11}, {18, 20 - 11}, {2, 0}, {16, 0}, {16, 1},
	};
	uint8_t cl[19];

	(void)state;
	default_cl_lens(cl);
	assert_int_equal(dynamic_header_block(259, 4, cl, crossing, 7), INFLATE_OK);
	assert_memory_equal(out, "aaaa", 4);
	assert_int_equal(dynamic_header_block(259, 4, cl, repeat_first, 1), INFLATE_E_DATA);
	assert_int_equal(dynamic_header_block(259, 4, cl, overrun, 7), INFLATE_E_DATA);
	/* 287 literal/length or 31 distance codes exceed what RFC 1951 allows */
	assert_int_equal(dynamic_header_block(287, 4, cl, crossing, 7), INFLATE_E_DATA);
	assert_int_equal(dynamic_header_block(259, 31, cl, crossing, 7), INFLATE_E_DATA);
	/* code-length codes must be complete */
	cl[5] = 0;
	assert_int_equal(dynamic_header_block(259, 4, cl, crossing, 7), INFLATE_E_DATA);
	cl[5] = 3;
	assert_int_equal(dynamic_header_block(259, 4, cl, crossing, 7), INFLATE_E_DATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_matches_zlib),
		cmocka_unit_test(test_strerror_names_every_code),
		cmocka_unit_test(test_roundtrip_zlib_matrix),
		cmocka_unit_test(test_raw_reports_input_used),
		cmocka_unit_test(test_gzip_optional_header_fields),
		cmocka_unit_test(test_gzip_bad_header),
		cmocka_unit_test(test_gzip_bad_crc_and_isize),
		cmocka_unit_test(test_gzip_trailing_bytes),
		cmocka_unit_test(test_truncation_at_every_offset),
		cmocka_unit_test(test_bit_flips_agree_with_zlib),
		cmocka_unit_test(test_gzip_bomb_hits_cap),
		cmocka_unit_test(test_fixed_distance_32768_and_too_far),
		cmocka_unit_test(test_fixed_invalid_symbols),
		cmocka_unit_test(test_block_types_and_stored),
		cmocka_unit_test(test_dynamic_code_sets),
		cmocka_unit_test(test_dynamic_code_length_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
