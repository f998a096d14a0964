/* test_hpack.c - HPACK decoder and encoder: RFC 7541 Appendix C vectors,
 * hostile input, and a cross-check against python3-hpack's encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpack.h"

#define MAX_FIELDS 96
#define MAX_STR 512
#define NO_LIST_CAP SIZE_MAX

/* ---- helpers ---- */

struct field_copy {
	size_t name_len, value_len;
	char name[MAX_STR], value[MAX_STR];
};

struct field_list {
	size_t n;
	struct field_copy f[MAX_FIELDS];
};

/* Expected fields and table entries, as C strings. */
struct pair {
	const char *name, *value;
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t scratch[2 * HPACK_STRING_MAX];
static struct field_list got;

static int collect(void *ctx, const struct hpack_field *f)
{
	struct field_list *l = ctx;
	if (l->n == MAX_FIELDS || f->name_len > MAX_STR ||
	    f->value_len > MAX_STR)
		return -1;
	struct field_copy *c = &l->f[l->n++];
	c->name_len = f->name_len;
	c->value_len = f->value_len;
	memcpy(c->name, f->name, f->name_len);
	memcpy(c->value, f->value, f->value_len);
	return 0;
}

static int reject_all(void *ctx, const struct hpack_field *f)
{
	(void)ctx;
	(void)f;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digits to bytes; blanks are skipped. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		int hi = hexval(hex[0]), lo = hexval(hex[1]);
		assert_true(hi >= 0 && lo >= 0 && n < cap);
		out[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	return n;
}

static int decode(struct hpack_decoder *d, const uint8_t *in, size_t len)
{
	got.n = 0;
	return hpack_decode(d, in, len, scratch, sizeof scratch, NO_LIST_CAP,
	    collect, &got);
}

static int decode_hex(struct hpack_decoder *d, const char *hex)
{
	uint8_t block[1024];
	return decode(d, block, unhex(hex, block, sizeof block));
}

static void expect_field(const struct field_copy *c, const char *name,
    size_t name_len, const char *value, size_t value_len)
{
	assert_int_equal(c->name_len, name_len);
	assert_memory_equal(c->name, name, name_len);
	assert_int_equal(c->value_len, value_len);
	assert_memory_equal(c->value, value, value_len);
}

static void expect_fields(const struct pair *want, size_t n)
{
	assert_int_equal(got.n, n);
	for (size_t i = 0; i < n; i++)
		expect_field(&got.f[i], want[i].name, strlen(want[i].name),
		    want[i].value, strlen(want[i].value));
}

/* RFC 7541 5.1 integer in a test-built block. */
static size_t put_int(uint8_t *out, uint8_t flags, unsigned prefix_bits,
    size_t v)
{
	size_t n = 0, prefix_max = (1u << prefix_bits) - 1;
	if (v < prefix_max) {
		out[n++] = (uint8_t)(flags | v);
		return n;
	}
	out[n++] = (uint8_t)(flags | prefix_max);
	for (v -= prefix_max; v >= 0x80; v >>= 7)
		out[n++] = (uint8_t)(0x80 | (v & 0x7f));
	out[n++] = (uint8_t)v;
	return n;
}

/* Reads the dynamic table through indexed fields 62.. on a copy of d
 * (indexed fields leave the table alone, but the copy makes sure). */
static void expect_table(const struct hpack_decoder *d,
    const struct pair *want, size_t n, size_t size)
{
	assert_int_equal(d->count, n);
	assert_int_equal(d->size, size);
	for (size_t i = 0; i < n; i++) {
		struct hpack_decoder copy = *d;
		uint8_t block[4];
		size_t len = put_int(block, 0x80, 7, 62 + i);
		assert_int_equal(decode(&copy, block, len), HPACK_OK);
		expect_fields(&want[i], 1);
	}
	struct hpack_decoder copy = *d;
	uint8_t block[4];
	size_t len = put_int(block, 0x80, 7, 62 + n);
	assert_int_equal(decode(&copy, block, len), HPACK_E_INDEX);
}

/* ---- RFC 7541 C.1: integers ---- */

static void test_c1_integers(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* C.1.1: 10 in a 5-bit prefix, as a table size update. */
	assert_int_equal(decode_hex(&d, "2a"), HPACK_OK);
	assert_int_equal(d.max_size, 10);
	/* C.1.2: 1337 in a 5-bit prefix. */
	assert_int_equal(decode_hex(&d, "3f9a0a"), HPACK_OK);
	assert_int_equal(d.max_size, 1337);
	/* C.1.3: 42 fills a byte (0x2a): a 42-byte name length. */
	assert_int_equal(decode_hex(&d, "00 2a"
	    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
	    "00"), HPACK_OK);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.f[0].name_len, 42);

	/* Redundant zero continuation bytes are fine up to the cap... */
	assert_int_equal(decode_hex(&d, "3f 80808000"), HPACK_OK);
	assert_int_equal(d.max_size, 31);
	/* ...one more is an error, however small the value. */
	assert_int_equal(decode_hex(&d, "3f 8080808000"), HPACK_E_INTEGER);
	assert_int_equal(decode_hex(&d, "ff ffffffff0f"), HPACK_E_INTEGER);
	/* The largest accepted integer is read, then refused as a size. */
	assert_int_equal(decode_hex(&d, "3f ffffff7f"), HPACK_E_TABLE_SIZE);
	/* A huge string length runs past the block. */
	assert_int_equal(decode_hex(&d, "00 7f ffffff7f"), HPACK_E_TRUNCATED);
	/* Integers cut off inside the continuation. */
	assert_int_equal(decode_hex(&d, "3f9a"), HPACK_E_TRUNCATED);
	assert_int_equal(decode_hex(&d, "3f"), HPACK_E_TRUNCATED);
}

/* C.2.1: "custom-key: custom-header" with incremental indexing (55). */
#define C21_HEX "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865" \
	" 6164 6572"

/* ---- RFC 7541 C.2: single representations, each on a fresh decoder ---- */

static void test_c2_representations(void **state)
{
	(void)state;
	struct hpack_decoder d;
	static const struct pair c21[] = { { "custom-key", "custom-header" } };
	static const struct pair c22[] = { { ":path", "/sample/path" } };
	static const struct pair c23[] = { { "password", "secret" } };
	static const struct pair c24[] = { { ":method", "GET" } };

	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, C21_HEX), HPACK_OK);
	expect_fields(c21, 1);
	expect_table(&d, c21, 1, 55);

	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "040c 2f73 616d 706c 652f 7061 7468"),
	    HPACK_OK);
	expect_fields(c22, 1);
	expect_table(&d, NULL, 0, 0);

	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "1008 7061 7373 776f 7264 0673 6563"
	    "7265 74"), HPACK_OK);
	expect_fields(c23, 1);
	expect_table(&d, NULL, 0, 0);

	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "82"), HPACK_OK);
	expect_fields(c24, 1);
	expect_table(&d, NULL, 0, 0);
}

/* ---- RFC 7541 C.3-C.6: sequences on one decoder ---- */

struct step {
	const char *hex;
	const struct pair *fields;
	size_t n_fields;
	const struct pair *table;
	size_t n_table;
	size_t table_size;
};

static const struct pair req1[] = {
	{ ":method", "GET" }, { ":scheme", "http" }, { ":path", "/" },
	{ ":authority", "www.example.com" },
};
static const struct pair req2[] = {
	{ ":method", "GET" }, { ":scheme", "http" }, { ":path", "/" },
	{ ":authority", "www.example.com" }, { "cache-control", "no-cache" },
};
static const struct pair req3[] = {
	{ ":method", "GET" }, { ":scheme", "https" },
	{ ":path", "/index.html" }, { ":authority", "www.example.com" },
	{ "custom-key", "custom-value" },
};
static const struct pair req_table1[] = {
	{ ":authority", "www.example.com" },
};
static const struct pair req_table2[] = {
	{ "cache-control", "no-cache" }, { ":authority", "www.example.com" },
};
static const struct pair req_table3[] = {
	{ "custom-key", "custom-value" }, { "cache-control", "no-cache" },
	{ ":authority", "www.example.com" },
};

#define DATE1 "Mon, 21 Oct 2013 20:13:21 GMT"
#define DATE2 "Mon, 21 Oct 2013 20:13:22 GMT"
#define COOKIE "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
#define LOCATION "https://www.example.com"
static const struct pair resp1[] = {
	{ ":status", "302" }, { "cache-control", "private" },
	{ "date", DATE1 }, { "location", LOCATION },
};
static const struct pair resp2[] = {
	{ ":status", "307" }, { "cache-control", "private" },
	{ "date", DATE1 }, { "location", LOCATION },
};
static const struct pair resp3[] = {
	{ ":status", "200" }, { "cache-control", "private" },
	{ "date", DATE2 }, { "location", LOCATION },
	{ "content-encoding", "gzip" }, { "set-cookie", COOKIE },
};
static const struct pair resp_table1[] = {
	{ "location", LOCATION }, { "date", DATE1 },
	{ "cache-control", "private" }, { ":status", "302" },
};
static const struct pair resp_table2[] = {
	{ ":status", "307" }, { "location", LOCATION }, { "date", DATE1 },
	{ "cache-control", "private" },
};
static const struct pair resp_table3[] = {
	{ "set-cookie", COOKIE }, { "content-encoding", "gzip" },
	{ "date", DATE2 },
};

#define STEP(hex, f, t, size) { hex, f, COUNT(f), t, COUNT(t), size }

static const struct step c3[] = {
	STEP("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
	    req1, req_table1, 57),
	STEP("8286 84be 5808 6e6f 2d63 6163 6865", req2, req_table2, 110),
	STEP("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d"
	    "7661 6c75 65", req3, req_table3, 164),
};

static const struct step c4[] = {
	STEP("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
	    req1, req_table1, 57),
	STEP("8286 84be 5886 a8eb 1064 9cbf", req2, req_table2, 110),
	STEP("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
	    req3, req_table3, 164),
};

static const struct step c5[] = {
	STEP("4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120"
	    "4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768"
	    "7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
	    resp1, resp_table1, 222),
	STEP("4803 3330 37c1 c0bf", resp2, resp_table2, 222),
	STEP("88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a"
	    "3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153"
	    "444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49"
	    "553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e"
	    "3d31", resp3, resp_table3, 215),
};

static const struct step c6[] = {
	STEP("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005"
	    "9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8"
	    "e9ae 82ae 43d3", resp1, resp_table1, 222),
	STEP("4883 640e ffc1 c0bf", resp2, resp_table2, 222),
	STEP("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d"
	    "1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b"
	    "3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed"
	    "4ee5 b106 3d50 07", resp3, resp_table3, 215),
};

/* Every proper prefix of a block either ends at a field boundary (OK, a
 * prefix of the fields) or is TRUNCATED; the decoder state is that before
 * the block. */
static void expect_truncations_fail(const struct hpack_decoder *before,
    const uint8_t *block, size_t len, const struct pair *fields, size_t n)
{
	for (size_t cut = 0; cut < len; cut++) {
		struct hpack_decoder d = *before;
		/* Exactly cut bytes on the heap: ASan catches an overread. */
		uint8_t *piece = malloc(cut + !cut);
		assert_non_null(piece);
		memcpy(piece, block, cut);
		int err = decode(&d, piece, cut);
		free(piece);
		if (err == HPACK_OK) {
			assert_true(got.n < n);
			expect_fields(fields, got.n);
		} else {
			assert_int_equal(err, HPACK_E_TRUNCATED);
		}
	}
}

static void run_steps(const struct step *steps, size_t n_steps,
    size_t settings_max)
{
	struct hpack_decoder d;
	hpack_decoder_init(&d, settings_max);
	for (size_t i = 0; i < n_steps; i++) {
		const struct step *s = &steps[i];
		uint8_t block[1024];
		size_t len = unhex(s->hex, block, sizeof block);
		expect_truncations_fail(&d, block, len, s->fields, s->n_fields);
		assert_int_equal(decode(&d, block, len), HPACK_OK);
		expect_fields(s->fields, s->n_fields);
		expect_table(&d, s->table, s->n_table, s->table_size);
	}
}

static void test_c3_requests(void **state)
{
	(void)state;
	run_steps(c3, COUNT(c3), HPACK_TABLE_MAX);
}

static void test_c4_requests_huffman(void **state)
{
	(void)state;
	run_steps(c4, COUNT(c4), HPACK_TABLE_MAX);
}

static void test_c5_responses_eviction(void **state)
{
	(void)state;
	run_steps(c5, COUNT(c5), 256);
}

static void test_c6_responses_huffman(void **state)
{
	(void)state;
	run_steps(c6, COUNT(c6), 256);
}

/* ---- Huffman errors ---- */

static void test_huffman_invalid(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* 'a' is 00011: one byte "a" + 3 bits of padding. */
	assert_int_equal(decode_hex(&d, "00 81 1f 00"), HPACK_OK);
	expect_field(&got.f[0], "a", 1, "", 0);
	/* Empty Huffman string. */
	assert_int_equal(decode_hex(&d, "00 81 1f 80"), HPACK_OK);
	expect_field(&got.f[0], "a", 1, "", 0);
	/* Padding of zeros. */
	assert_int_equal(decode_hex(&d, "00 81 18 00"), HPACK_E_HUFFMAN);
	/* Padding longer than 7 bits (3 + 8 ones). */
	assert_int_equal(decode_hex(&d, "00 82 1fff 00"), HPACK_E_HUFFMAN);
	/* A whole byte of ones alone is padding of 8 bits. */
	assert_int_equal(decode_hex(&d, "00 81 ff 00"), HPACK_E_HUFFMAN);
	/* EOS (30 ones) inside the string, in a name and in a value. */
	assert_int_equal(decode_hex(&d, "00 84 ffffffff 00"), HPACK_E_HUFFMAN);
	assert_int_equal(decode_hex(&d, "00 0178 84 fffffffc"),
	    HPACK_E_HUFFMAN);
	/* EOS followed by a valid 'a'. */
	assert_int_equal(decode_hex(&d, "00 85 fffffffc 7f 00"),
	    HPACK_E_HUFFMAN);
}

/* ---- table size updates ---- */

static void test_table_size_bomb(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* 4097 = 31 + 0x62 + (0x1f << 7). */
	assert_int_equal(decode_hex(&d, "3f e21f 82"), HPACK_E_TABLE_SIZE);
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "3f e11f 82"), HPACK_OK);
	assert_int_equal(d.max_size, 4096);
	/* A caller advertising less: 4096 is a bomb too. */
	hpack_decoder_init(&d, 256);
	assert_int_equal(decode_hex(&d, "3f e11f"), HPACK_E_TABLE_SIZE);
	/* settings_max above what the ring holds is clamped. */
	hpack_decoder_init(&d, 1 << 20);
	assert_int_equal(d.settings_max, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "3f e21f"), HPACK_E_TABLE_SIZE);
}

static void test_table_size_update_placement(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* After a field: refused. */
	assert_int_equal(decode_hex(&d, "82 20"), HPACK_E_TABLE_SIZE);
	/* Several at the start are fine (RFC 7541 4.2: min then final). */
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "20 3fe11f 82"), HPACK_OK);
	/* A block of only a size update. */
	assert_int_equal(decode_hex(&d, "3f e101"), HPACK_OK);
	assert_int_equal(d.max_size, 256);
}

static void test_table_size_zero_and_back(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, c3[0].hex), HPACK_OK);
	expect_table(&d, req_table1, 1, 57);
	/* 0 then 4096: the table empties and works again. */
	assert_int_equal(decode_hex(&d, "20 3fe11f 82"), HPACK_OK);
	expect_table(&d, NULL, 0, 0);
	assert_int_equal(decode_hex(&d, "be"), HPACK_E_INDEX);
	assert_int_equal(decode_hex(&d, c3[0].hex), HPACK_OK);
	expect_table(&d, req_table1, 1, 57);
	/* Size 0 alone: incremental indexing still emits, adds nothing. */
	assert_int_equal(decode_hex(&d, "20 " C21_HEX), HPACK_OK);
	assert_int_equal(got.n, 1);
	expect_table(&d, NULL, 0, 0);
}

/* ---- dynamic table ---- */

/* A literal field with a new name and raw strings; repr is the first byte:
 * 0x40 incremental indexing, 0x00 without indexing, 0x10 never indexed. */
static size_t literal_new_name(uint8_t *out, uint8_t repr, const char *name,
    const char *value)
{
	size_t n = 0, name_len = strlen(name), value_len = strlen(value);
	out[n++] = repr;
	n += put_int(out + n, 0, 7, name_len);
	memcpy(out + n, name, name_len);
	n += name_len;
	n += put_int(out + n, 0, 7, value_len);
	memcpy(out + n, value, value_len);
	return n + value_len;
}

static void test_entry_larger_than_table(void **state)
{
	(void)state;
	static const struct pair c21[] = { { "custom-key", "custom-header" } };
	struct hpack_decoder d;
	hpack_decoder_init(&d, 100);
	assert_int_equal(decode_hex(&d, C21_HEX), HPACK_OK);
	expect_table(&d, c21, 1, 55);
	/* 1 + 67 + 32 = 100 fits exactly, after evicting the first. */
	char value[80];
	memset(value, 'v', 67);
	value[67] = '\0';
	uint8_t block[128];
	size_t len = literal_new_name(block, 0x40, "x", value);
	assert_int_equal(decode(&d, block, len), HPACK_OK);
	const struct pair fits[] = { { "x", value } };
	expect_table(&d, fits, 1, 100);
	/* One byte more (RFC 7541 4.4): the table empties, the field is
	 * still emitted. */
	strcat(value, "v");
	len = literal_new_name(block, 0x40, "x", value);
	assert_int_equal(decode(&d, block, len), HPACK_OK);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.f[0].value_len, 68);
	expect_table(&d, NULL, 0, 0);
}

/* Entries of 136 bytes: 30 fit in 4096 and they straddle the ring's end
 * as it wraps around, many times. */
static void test_table_ring_wraps(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	char names[300][8], values[300][101];
	for (unsigned i = 0; i < 300; i++) {
		snprintf(names[i], sizeof names[i], "k%03u", i);
		memset(values[i], (int)('a' + i % 26), 100);
		values[i][100] = '\0';
		uint8_t block[160];
		size_t len = literal_new_name(block, 0x40, names[i], values[i]);
		assert_int_equal(decode(&d, block, len), HPACK_OK);

		size_t count = i + 1 < 30 ? i + 1 : 30;
		struct pair want[30];
		for (size_t age = 0; age < count; age++)
			want[age] = (struct pair){ names[i - age], values[i - age] };
		expect_table(&d, want, count, count * 136);
	}
}

static void test_smallest_entries(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* Empty name and value: 32 bytes each, 128 fill the table. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(decode_hex(&d, "40 00 00"), HPACK_OK);
	struct pair empty[128];
	for (size_t i = 0; i < 128; i++)
		empty[i] = (struct pair){ "", "" };
	expect_table(&d, empty, 128, 4096);
}

static void test_index_out_of_range(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode_hex(&d, "80"), HPACK_E_INDEX);
	assert_int_equal(decode_hex(&d, "be"), HPACK_E_INDEX);
	assert_int_equal(decode_hex(&d, "ff ffffff7f"), HPACK_E_INDEX);
	/* Literal names by index: 62 with an empty table. */
	assert_int_equal(decode_hex(&d, "7e 0161"), HPACK_E_INDEX);
	assert_int_equal(decode_hex(&d, "0f 2f 0161"), HPACK_E_INDEX);
	assert_int_equal(decode_hex(&d, C21_HEX), HPACK_OK);
	assert_int_equal(decode_hex(&d, "be"), HPACK_OK);
	assert_int_equal(decode_hex(&d, "bf"), HPACK_E_INDEX);
	/* Name from the dynamic table, never indexed. */
	assert_int_equal(decode_hex(&d, "1f 2f 0161"), HPACK_OK);
	expect_field(&got.f[0], "custom-key", 10, "a", 1);
	assert_int_equal(decode_hex(&d, "7f 00 0161"), HPACK_E_INDEX);
}

/* ---- caps ---- */

static void test_list_size_cap(void **state)
{
	(void)state;
	uint8_t block[64];
	size_t len = unhex(c3[0].hex, block, sizeof block);
	/* 42 + 43 + 38 + 57 = 180. */
	static const size_t caps[] = { 180, 179, 0 };
	static const int want[] = { HPACK_OK, HPACK_E_LIST_SIZE,
		HPACK_E_LIST_SIZE };
	for (size_t i = 0; i < COUNT(caps); i++) {
		struct hpack_decoder d;
		hpack_decoder_init(&d, HPACK_TABLE_MAX);
		got.n = 0;
		assert_int_equal(hpack_decode(&d, block, len, scratch,
		    sizeof scratch, caps[i], collect, &got), want[i]);
	}
	assert_int_equal(got.n, 0);
}

static void test_scratch_too_small(void **state)
{
	(void)state;
	uint8_t block[64];
	size_t len = unhex(c3[0].hex, block, sizeof block);
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	/* The value "www.example.com" needs 15 bytes. */
	assert_int_equal(hpack_decode(&d, block, len, scratch, 14, NO_LIST_CAP,
	    collect, &got), HPACK_E_BUFFER);
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(hpack_decode(&d, block, len, scratch, 15, NO_LIST_CAP,
	    collect, &got), HPACK_OK);
	/* A dynamic entry is copied out: name + value, 25 bytes. */
	uint8_t indexed = 0xbe;
	assert_int_equal(hpack_decode(&d, &indexed, 1, scratch, 24,
	    NO_LIST_CAP, collect, &got), HPACK_E_BUFFER);
	assert_int_equal(hpack_decode(&d, &indexed, 1, scratch, 25,
	    NO_LIST_CAP, collect, &got), HPACK_OK);
	/* Huffman output is bounded too: "www.example.com" of C.4.1. */
	len = unhex(c4[0].hex, block, sizeof block);
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(hpack_decode(&d, block, len, scratch, 14, NO_LIST_CAP,
	    collect, &got), HPACK_E_BUFFER);
}

static void test_string_max(void **state)
{
	(void)state;
	static char value[HPACK_STRING_MAX + 2];
	static uint8_t block[HPACK_STRING_MAX + 16];
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	memset(value, 'v', HPACK_STRING_MAX);
	int len = hpack_encode_field(block, sizeof block, "x", value);
	assert_true(len > 0);
	/* Decoded, then refused by collect(), which keeps MAX_STR. */
	assert_int_equal(decode(&d, block, (size_t)len), HPACK_E_CALLBACK);
	value[HPACK_STRING_MAX] = 'v';
	len = hpack_encode_field(block, sizeof block, "x", value);
	assert_int_equal(decode(&d, block, (size_t)len), HPACK_E_TOO_LONG);

	/* Huffman: eight 'a' (00011) are 5 bytes; 4096 'a' decode, 4104
	 * don't. */
	static const uint8_t eight_a[5] = { 0x18, 0xc6, 0x31, 0x8c, 0x63 };
	for (size_t groups = 512; groups <= 513; groups++) {
		size_t n = 0;
		block[n++] = 0x00;
		n += put_int(block + n, 0, 7, 1);
		block[n++] = 'x';
		n += put_int(block + n, 0x80, 7, groups * 5);
		for (size_t g = 0; g < groups; g++, n += 5)
			memcpy(block + n, eight_a, 5);
		got.n = 0;
		assert_int_equal(hpack_decode(&d, block, n, scratch,
		    sizeof scratch, NO_LIST_CAP, reject_all, NULL),
		    groups == 512 ? HPACK_E_CALLBACK : HPACK_E_TOO_LONG);
	}
}

static void test_callback_error(void **state)
{
	(void)state;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	uint8_t indexed = 0x82;
	assert_int_equal(hpack_decode(&d, &indexed, 1, scratch, sizeof scratch,
	    NO_LIST_CAP, reject_all, NULL), HPACK_E_CALLBACK);
}

/* ---- encoder ---- */

static void expect_encoding(const char *name, const char *value,
    const char *hex)
{
	uint8_t want[256], out[256];
	size_t want_len = unhex(hex, want, sizeof want);
	assert_int_equal(hpack_encode_field(out, sizeof out, name, value),
	    (int)want_len);
	assert_memory_equal(out, want, want_len);
	for (size_t cap = 0; cap < want_len; cap++)
		assert_int_equal(hpack_encode_field(out, cap, name, value),
		    HPACK_E_BUFFER);
	assert_int_equal(hpack_encode_field(out, want_len, name, value),
	    (int)want_len);
}

static void test_encode_bytes(void **state)
{
	(void)state;
	expect_encoding(":path", "/x", "04 02 2f78");
	expect_encoding("custom-key", "custom-header",
	    "00 0a 6375 7374 6f6d 2d6b 6579 0d 6375 7374 6f6d 2d68 6561 6465 72");
	/* Static index 58 >= 15 continues: 15 + 43. */
	expect_encoding("user-agent", "t", "0f 2b 01 74");
	expect_encoding(":status", "", "08 00");
}

static void test_encode_roundtrip(void **state)
{
	(void)state;
	static char long_value[201];
	memset(long_value, 'L', 200); /* length 200 needs two bytes */
	const struct pair fields[] = {
		{ ":status", "200" },
		{ "content-type", "application/grpc" },
		{ "grpc-encoding", "gzip" },
		{ "grpc-accept-encoding", "gzip" },
		{ "x-long", long_value },
		{ "", "" },
		{ "grpc-status", "0" },
	};
	uint8_t block[1024];
	size_t len = 0;
	for (size_t i = 0; i < COUNT(fields); i++) {
		int n = hpack_encode_field(block + len, sizeof block - len,
		    fields[i].name, fields[i].value);
		assert_true(n > 0);
		len += (size_t)n;
	}
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);
	assert_int_equal(decode(&d, block, len), HPACK_OK);
	expect_fields(fields, COUNT(fields));
	expect_table(&d, NULL, 0, 0);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int err = HPACK_E_BUFFER; err <= HPACK_OK; err++)
		assert_string_not_equal(hpack_strerror(err),
		    hpack_strerror(-100));
	assert_string_equal(hpack_strerror(HPACK_E_TABLE_SIZE),
	    "table size update too large or not at block start");
}

/* ---- cross-check against python3-hpack ---- */

/* Encodes header lists as a gRPC client and server would on one connection
 * (Huffman, dynamic table, never-indexed, size updates, eviction) and
 * prints each block and the fields it encodes.  No single quotes: it is
 * passed to sh in them. */
#define PY_ENCODER \
	"import hpack\n" \
	"from hpack.table import HeaderTable\n" \
	"e = hpack.Encoder()\n" \
	"req = [(\":method\", \"POST\"), (\":scheme\", \"http\"),\n" \
	"       (\":path\", \"/protowire.P2P/MessageStream\"),\n" \
	"       (\":authority\", \"127.0.0.1:16111\"),\n" \
	"       (\"content-type\", \"application/grpc\"), (\"te\", \"trailers\"),\n" \
	"       (\"grpc-encoding\", \"gzip\"), (\"grpc-accept-encoding\", \"gzip\"),\n" \
	"       (\"user-agent\", \"tonic/0.12.3\")]\n" \
	"resp = [(\":status\", \"200\"), (\"content-type\", \"application/grpc\"),\n" \
	"        (\"grpc-encoding\", \"gzip\")]\n" \
	"trailers = [(\"grpc-status\", \"0\"), (\"grpc-message\", \"\")]\n" \
	"def b(x):\n" \
	"    return x if isinstance(x, bytes) else x.encode()\n" \
	"def emit(fields):\n" \
	"    print(\"block\", e.encode(fields).hex())\n" \
	"    for f in fields:\n" \
	"        print(\"field\", b(f[0]).hex(), b(f[1]).hex())\n" \
	"    print(\"end\")\n" \
	"for i in range(3):\n" \
	"    emit(req)\n" \
	"emit(resp)\n" \
	"emit(trailers)\n" \
	"emit(req + [(\"authorization\", \"secret\", True)])\n" \
	"e.header_table_size = 0\n" \
	"e.header_table_size = 4096\n" \
	"emit(req)\n" \
	"emit(req)\n" \
	"e.header_table_size = 256\n" \
	"emit(req + [(\"x-all-bytes\", bytes(range(256)))])\n" \
	"emit(req)\n" \
	"emit(list(HeaderTable.STATIC_TABLE))\n"
#define PY_BLOCKS 11

static void test_python_hpack_crosscheck(void **state)
{
	(void)state;
	static char line[16384];
	static uint8_t block[4096];
	static struct field_list want;
	size_t block_len = 0, blocks = 0, size_updates = 0;
	struct hpack_decoder d;
	hpack_decoder_init(&d, HPACK_TABLE_MAX);

	FILE *py = popen("/usr/bin/python3 -c '" PY_ENCODER "'", "r");
	assert_non_null(py);
	while (fgets(line, sizeof line, py)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "block ", 6) == 0) {
			block_len = unhex(line + 6, block, sizeof block);
			want.n = 0;
		} else if (strncmp(line, "field ", 6) == 0) {
			char *value = strchr(line + 6, ' ');
			assert_non_null(value);
			*value++ = '\0';
			assert_true(want.n < MAX_FIELDS);
			struct field_copy *f = &want.f[want.n++];
			f->name_len = unhex(line + 6, (uint8_t *)f->name, MAX_STR);
			f->value_len = unhex(value, (uint8_t *)f->value, MAX_STR);
		} else {
			assert_string_equal(line, "end");
			assert_int_equal(decode(&d, block, block_len), HPACK_OK);
			assert_int_equal(got.n, want.n);
			for (size_t i = 0; i < want.n; i++)
				expect_field(&got.f[i], want.f[i].name,
				    want.f[i].name_len, want.f[i].value,
				    want.f[i].value_len);
			size_updates += (block[0] & 0xe0) == 0x20;
			blocks++;
		}
	}
	assert_int_equal(pclose(py), 0);
	assert_int_equal(blocks, PY_BLOCKS);
	assert_int_equal(size_updates, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c1_integers),
		cmocka_unit_test(test_c2_representations),
		cmocka_unit_test(test_c3_requests),
		cmocka_unit_test(test_c4_requests_huffman),
		cmocka_unit_test(test_c5_responses_eviction),
		cmocka_unit_test(test_c6_responses_huffman),
		cmocka_unit_test(test_huffman_invalid),
		cmocka_unit_test(test_table_size_bomb),
		cmocka_unit_test(test_table_size_update_placement),
		cmocka_unit_test(test_table_size_zero_and_back),
		cmocka_unit_test(test_entry_larger_than_table),
		cmocka_unit_test(test_table_ring_wraps),
		cmocka_unit_test(test_smallest_entries),
		cmocka_unit_test(test_index_out_of_range),
		cmocka_unit_test(test_list_size_cap),
		cmocka_unit_test(test_scratch_too_small),
		cmocka_unit_test(test_string_max),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_encode_bytes),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_python_hpack_crosscheck),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
