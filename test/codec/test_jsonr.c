/* test_jsonr.c - the JSON reader: numbers by RFC 8259's grammar exactly
 * (the loose forms a character-class scan would take are refused),
 * walking an array's elements with jsonr_iter (empty, nested, blanks,
 * every malformed separator), and jsonr_u64.  Strings and member lookup are fuzzed (fuzz_jsonr.c) and
 * exercised through report.c (test_report.c) and the Firestore export
 * tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "jsonr.h"

static long skip_text(const char *s)
{
	return jsonr_skip(s, strlen(s), 0);
}

static void test_numbers(void **state)
{
	static const char *const good[] = {
		"0", "-0", "7", "-12", "0.5", "-0.5", "10.25", "1e3", "1E3",
		"1e+3", "1e-3", "-1.5E-07", "123456789012345678901234567890",
	};
	static const char *const bad[] = {
		"-", "+1", ".5", "1.", "1.e3", "1e", "1e+", "1-2", "1+2", "--1",
		"e3", "-.5", "0x10", "1..2", "1e3e3", "1.2.3", "Infinity", "NaN",
	};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (skip_text(good[i]) != (long)strlen(good[i]))
			fail_msg("'%s' not skipped whole", good[i]);
	/* A number ends where its grammar does: the caller sees the rest. */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (skip_text(bad[i]) == (long)strlen(bad[i]))
			fail_msg("'%s' taken as a number", bad[i]);
	assert_int_equal(skip_text("01"), 1);
	assert_int_equal(skip_text("[01]"), -1);
	assert_int_equal(skip_text("{\"a\":1-2}"), -1);
	assert_int_equal(skip_text("[1e]"), -1);
}

/* Element indexes of the array text (jsonr_iter, each element skipped),
 * -1 if a step failed or the text is no array. */
static int walk_from(const char *s, size_t n, size_t i, long *at, int cap)
{
	struct jsonr_iter it;
	size_t v;
	int r, k = 0;

	if (jsonr_iter_begin(&it, s, n, i) != 0 || it.close != ']')
		return -1;
	while ((r = jsonr_iter_next(&it, s, n, NULL, 0, &v)) == 1) {
		long next = jsonr_skip(s, n, v);
		if (next < 0 || k == cap)
			return -1;
		at[k++] = (long)v;
		it.next = (size_t)next;
	}
	return r < 0 ? -1 : k;
}

static int walk(const char *s, long *at, int cap)
{
	return walk_from(s, strlen(s), 0, at, cap);
}

static void test_array_walk(void **state)
{
	long at[8];
	(void)state;

	assert_int_equal(walk("[]", at, 8), 0);
	assert_int_equal(walk(" [ \t\r\n] ", at, 8), 0);
	assert_int_equal(walk("[1]", at, 8), 1);
	assert_int_equal(at[0], 1);
	assert_int_equal(walk("[ \"a\" , [2,3] ,{\"b\":[]}, null ]", at, 8), 4);
	assert_int_equal(at[0], 2);
	assert_int_equal(at[1], 8);
	assert_int_equal(at[2], 15);
	assert_int_equal(at[3], 25);
	/* From inside an object: the array at a member's value. */
	const char *obj = "{\"list\":[\"x\",\"y\"]}";
	long v = jsonr_member(obj, strlen(obj), 0, "list");
	assert_int_equal(v, 8);
	assert_int_equal(walk_from(obj, strlen(obj), (size_t)v, at, 8), 2);
	assert_int_equal(at[0], 9);
	assert_int_equal(at[1], 13);
}

static void test_array_walk_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", "{}", "\"[]\"", "[", "[1", "[1,", "[1,]", "[,1]", "[1 2]",
		"[1;2]", "[1,,2]", "[tru]", "[\"a]", "[[1]", "[1}",
	};
	long at[8];
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (walk(bad[i], at, 8) != -1)
			fail_msg("walked '%s'", bad[i]);
	/* Never past n: the closing bracket outside the counted bytes. */
	assert_int_equal(walk_from("[]", 1, 0, at, 8), -1);
	assert_int_equal(walk_from("[1]", 2, 0, at, 8), -1);
}

/* jsonr_u64: JSON's unsigned integers, by decimal.h's rule. */
static void test_u64(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(jsonr_u64("0", 1, 0, &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(jsonr_u64("18446744073709551615,", 21, 0, &v), 20);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(jsonr_u64("12]", 3, 0, &v), 2);
	assert_int_equal(v, 12);
	static const char *const bad[] = {
		"", "-1", "+1", "01", "1.5", "1e3", "1E3", "18446744073709551616",
		"x", " 1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (jsonr_u64(bad[i], strlen(bad[i]), 0, &v) != -1)
			fail_msg("took '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_array_walk),
		cmocka_unit_test(test_array_walk_malformed),
		cmocka_unit_test(test_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
