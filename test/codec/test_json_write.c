/* test_json_write.c - the line builder: escaping, UTF-8 repair, every
 * value kind, exact milliseconds, overflow (the line fails whole),
 * timestamps, hex both ways; and Python's json module reading 2000 lines of random
 * bytes back as bytes.decode("utf-8", "replace"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json_write.h"

#define PYTHON "/usr/bin/python3"

/* The line {"s":<s escaped>}\n for n raw bytes. */
static const char *line_of(struct json_line *j, const void *s, size_t n)
{
	json_begin(j);
	json_strn(j, "s", s, n);
	assert_int_equal(json_end(j), 0);
	assert_int_equal(strlen(j->buf), j->len);
	return j->buf;
}

static void assert_escapes(const void *raw, size_t n, const char *escaped)
{
	struct json_line j;
	char want[256];

	snprintf(want, sizeof want, "{\"s\":\"%s\"}\n", escaped);
	assert_string_equal(line_of(&j, raw, n), want);
}

/* ---- escaping ---- */

static void test_control_chars_escaped(void **state)
{
	static const char *const short_form[32] = {
		['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n",
		['\f'] = "\\f", ['\r'] = "\\r",
	};
	char want[8];
	uint8_t c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		if (short_form[c])
			snprintf(want, sizeof want, "%s", short_form[c]);
		else
			snprintf(want, sizeof want, "\\u%04x", c);
		assert_escapes(&c, 1, want);
	}
	assert_escapes("\x7f", 1, "\x7f");  /* DEL needs no escape */
}

static void test_quote_backslash_escaped(void **state)
{
	(void)state;
	assert_escapes("a\"b\\c/d", 7, "a\\\"b\\\\c/d");
	assert_escapes("", 0, "");
	assert_escapes("\"\"", 2, "\\\"\\\"");
}

static void test_valid_utf8_kept(void **state)
{
	static const char *const ok[] = {
		"\xc2\x80", "\xc3\xa9", "\xdf\xbf",        /* U+0080 e-acute U+07FF */
		"\xe0\xa0\x80", "\xe2\x82\xac",            /* U+0800, euro */
		"\xed\x9f\xbf", "\xee\x80\x80",            /* U+D7FF, U+E000 */
		"\xef\xbf\xbd", "\xef\xbf\xbf",            /* U+FFFD, U+FFFF */
		"\xf0\x90\x80\x80", "\xf0\x9d\x84\x9e",    /* U+10000, G clef */
		"\xf4\x8f\xbf\xbf",                        /* U+10FFFF */
		"/kaspad:1.0.1(\xd0\xba\xd0\xb0\xd1\x81)/",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_escapes(ok[i], strlen(ok[i]), ok[i]);
}

static void test_invalid_utf8_replaced(void **state)
{
#define R "\xef\xbf\xbd"
	static const struct { const char *in; const char *out; } cases[] = {
		{ "\x80", R },                         /* stray continuation */
		{ "\xbf" "a", R "a" },
		{ "\xc0\xaf", R R },                   /* overlong '/' */
		{ "\xc1\xbf", R R },
		{ "\xe0\x80\xaf", R R R },             /* overlong 3-byte */
		{ "\xe0\x9f\xbf", R R R },
		{ "\xed\xa0\x80", R R R },             /* surrogate D800 */
		{ "\xed\xbf\xbf", R R R },             /* surrogate DFFF */
		{ "\xf0\x8f\xbf\xbf", R R R R },       /* overlong 4-byte */
		{ "\xf4\x90\x80\x80", R R R R },       /* U+110000 */
		{ "\xf5\x80\x80\x80", R R R R },
		{ "\xf8\x88\x80\x80\x80", R R R R R },
		{ "\xfe\xff", R R },
		{ "\xc2", R },                         /* truncated at end */
		{ "\xe2\x82", R },
		{ "\xf0\x9f\x98", R },
		{ "\xe2\x82" "A", R "A" },             /* truncated mid-string */
		{ "\xf0\x9f\x98x", R "x" },
		{ "\xf0\x9f\x98\x80\x80", "\xf0\x9f\x98\x80" R },
		{ "a\xc3\x28z", "a" R "(z" },
	};
#undef R
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_escapes(cases[i].in, strlen(cases[i].in), cases[i].out);
}

static void test_nul_byte_in_strn(void **state)
{
	(void)state;
	assert_escapes("a\0b", 3, "a\\u0000b");
}

/* ---- values ---- */

static void test_all_value_kinds(void **state)
{
	static const uint8_t id[4] = { 0x00, 0xab, 0x7f, 0xff };
	struct json_line j;

	(void)state;
	json_begin(&j);
	json_str(&j, "a", "x");
	json_str(&j, "b", NULL);
	json_u64(&j, "c", UINT64_MAX);
	json_i64(&j, "d", INT64_MIN);
	json_i64(&j, "e", 0);
	json_bool(&j, "f", true);
	json_bool(&j, "g", false);
	json_null(&j, "h");
	json_hex(&j, "i", id, sizeof id);
	json_hex(&j, "k", id, 0);
	json_raw(&j, "l", "[1,{\"x\":2}]");
	json_raw(&j, "m", NULL);
	assert_int_equal(json_end(&j), 0);
	assert_string_equal(j.buf, "{\"a\":\"x\",\"b\":null,"
	    "\"c\":18446744073709551615,\"d\":-9223372036854775808,\"e\":0,"
	    "\"f\":true,\"g\":false,\"h\":null,\"i\":\"00ab7fff\",\"k\":\"\","
	    "\"l\":[1,{\"x\":2}],\"m\":null}\n");
}

static void test_empty_object(void **state)
{
	struct json_line j;

	(void)state;
	json_begin(&j);
	assert_int_equal(json_end(&j), 0);
	assert_string_equal(j.buf, "{}\n");
}

static void assert_ms(int64_t us, const char *want)
{
	struct json_line j;
	char line[64];

	json_begin(&j);
	json_ms(&j, "t", us);
	assert_int_equal(json_end(&j), 0);
	snprintf(line, sizeof line, "{\"t\":%s}\n", want);
	assert_string_equal(j.buf, line);
}

static void test_ms_exact(void **state)
{
	(void)state;
	assert_ms(0, "0.000");
	assert_ms(1, "0.001");
	assert_ms(10, "0.010");
	assert_ms(999, "0.999");
	assert_ms(1000, "1.000");
	assert_ms(12345, "12.345");
	assert_ms(5012345, "5012.345");
	assert_ms(-1, "-0.001");
	assert_ms(-1500, "-1.500");
	assert_ms(INT64_MAX, "9223372036854775.807");
	assert_ms(INT64_MIN, "-9223372036854775.808");
}

/* ---- overflow ---- */

static void test_overflow_fails_line(void **state)
{
	static char big[JSON_LINE_MAX];
	struct json_line j;
	/* {"s":" + n + "}\n must leave one byte for the NUL. */
	const size_t fits = JSON_LINE_MAX - 1 - 9;

	(void)state;
	memset(big, 'a', sizeof big);
	json_begin(&j);
	json_strn(&j, "s", big, fits);
	assert_int_equal(json_end(&j), 0);
	assert_int_equal(j.len, JSON_LINE_MAX - 1);

	json_begin(&j);
	json_strn(&j, "s", big, fits + 1);
	assert_int_equal(json_end(&j), -1);
	assert_true(j.overflow);

	/* Control bytes escape to 6 bytes each: a sixth of the line is
	 * enough to overflow it. */
	const size_t ctrl = JSON_LINE_MAX / 6 + 1;
	memset(big, 1, ctrl);
	json_begin(&j);
	json_strn(&j, "s", big, ctrl);
	json_u64(&j, "after", 1);  /* later members do not clear the flag */
	assert_int_equal(json_end(&j), -1);
	assert_true(j.len < JSON_LINE_MAX);

	/* The builder is reusable after an overflow. */
	line_of(&j, "ok", 2);
}

/* ---- timestamps ---- */

static void assert_timestamp(time_t sec, long nsec, const char *want)
{
	struct timespec t = { .tv_sec = sec, .tv_nsec = nsec };
	char out[JSON_TIMESTAMP_LEN];

	json_timestamp(out, &t);
	assert_string_equal(out, want);
}

static void test_timestamp_format(void **state)
{
	(void)state;
	assert_timestamp(0, 0, "1970-01-01T00:00:00.000000Z");
	assert_timestamp(1795450801, 123456789, "2026-11-23T16:20:01.123456Z");
	assert_timestamp(1709251199, 999999999, "2024-02-29T23:59:59.999999Z");
	assert_timestamp(1709251199, 1000, "2024-02-29T23:59:59.000001Z");
	/* out of range: clamped */
	assert_timestamp(-5, -1, "1970-01-01T00:00:00.000000Z");
	assert_timestamp((time_t)1 << 40, 2000000000,
	    "9999-12-31T23:59:59.999999Z");
}

/* ---- hex ---- */

static void test_hex_text(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof b + 2];
	(void)state;

	memset(out, '#', sizeof out);
	hex_text(out, b, sizeof b);
	assert_string_equal(out, "00017f80abff");
	assert_int_equal(out[2 * sizeof b + 1], '#');   /* nothing past the NUL */
	hex_text(out, b, 0);
	assert_string_equal(out, "");
	/* And back: every byte value, against the digit strings. */
	for (int c = 0; c < 256; c++) {
		const char *lo = c ? strchr("0123456789abcdef", c) : NULL;
		const char *up = c ? strchr("0123456789ABCDEF", c) : NULL;
		int want = lo ? (int)(lo - "0123456789abcdef") :
		    up ? (int)(up - "0123456789ABCDEF") : -1;
		assert_int_equal(hex_digit_value((char)c), want);
	}
}

/* json_hex fits whole or fails the line; it never leaves half a value. */
static void test_json_hex_overflow(void **state)
{
	static uint8_t bytes[JSON_LINE_MAX / 2];
	struct json_line j;
	/* {"h":" + 2n + "}\n and the NUL: n = (JSON_LINE_MAX - 10) / 2 fits. */
	const size_t fits = (JSON_LINE_MAX - 10) / 2;
	(void)state;

	memset(bytes, 0xa5, sizeof bytes);
	json_begin(&j);
	json_hex(&j, "h", bytes, fits);
	assert_int_equal(json_end(&j), 0);
	assert_int_equal(j.len, 9 + 2 * fits);
	assert_int_equal(j.buf[j.len], '\0');
	json_begin(&j);
	json_hex(&j, "h", bytes, fits + 1);
	assert_int_equal(json_end(&j), -1);
	json_begin(&j);
	json_hex(&j, "h", bytes, sizeof bytes);
	assert_int_equal(json_end(&j), -1);
	assert_true(j.len < JSON_LINE_MAX);
}

/* ---- Python agrees: escaping of random bytes == decode("utf-8", "replace") */

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_random_bytes_match_python(void **state)
{
	static const uint8_t pool[] = {
		0x00, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
	};
	uint8_t raw[600];
	struct json_line j;
	uint32_t seed = 12345;
	size_t i, n;
	int k;

	(void)state;
	/* The lines go to Python on a pipe, exactly as built. */
	FILE *py = popen(PYTHON " -c '"
	    "import json,sys\n"
	    "n = 0\n"
	    "for l in sys.stdin.buffer:\n"
	    "  assert l.endswith(b\"\\n\"), l\n"
	    "  o = json.loads(l.decode(\"utf-8\"))\n"
	    "  assert o[\"s\"] == bytes.fromhex(o[\"raw\"]).decode(\"utf-8\", \"replace\"), l\n"
	    "  n += 1\n"
	    "assert n == 2000'", "w");
	assert_non_null(py);
	for (k = 0; k < 2000; k++) {
		n = xorshift(&seed) % sizeof raw;
		for (i = 0; i < n; i++) {
			uint32_t r = xorshift(&seed);

			/* half the bytes from the tricky pool */
			raw[i] = r & 1 ? pool[(r >> 1) % sizeof pool]
			    : (uint8_t)(r >> 8);
		}
		json_begin(&j);
		json_strn(&j, "s", raw, n);
		json_hex(&j, "raw", raw, n);
		assert_int_equal(json_end(&j), 0);
		assert_int_equal(fwrite(j.buf, 1, j.len, py), j.len);
	}
	assert_int_equal(pclose(py), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_chars_escaped),
		cmocka_unit_test(test_quote_backslash_escaped),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_nul_byte_in_strn),
		cmocka_unit_test(test_all_value_kinds),
		cmocka_unit_test(test_empty_object),
		cmocka_unit_test(test_ms_exact),
		cmocka_unit_test(test_overflow_fails_line),
		cmocka_unit_test(test_timestamp_format),
		cmocka_unit_test(test_hex_text),
		cmocka_unit_test(test_json_hex_overflow),
		cmocka_unit_test(test_random_bytes_match_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
