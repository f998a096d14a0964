/* test_jsonr.c - the JSON reader: numbers by RFC 8259's grammar exactly
 * (the loose forms a character-class scan would take are refused), and
 * walking an array's elements (empty, nested, blanks, every malformed
 * separator).  Strings and member lookup are fuzzed (fuzz_jsonr.c) and
 * exercised through report.c (test_report.c) and the Firestore export
 * tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

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

/* Element indexes of the array text, -1 if a step failed. */
static int walk(const char *s, long *at, int cap)
{
	size_t n = strlen(s);
	int k = 0;
	long e;

	for (e = jsonr_array_first(s, n, 0); e > 0 && k < cap;
	    e = jsonr_array_next(s, n, (size_t)e))
		at[k++] = e;
	return e < 0 ? -1 : k;
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
	long e = jsonr_array_first(obj, strlen(obj), (size_t)v);
	assert_int_equal(e, 9);
	e = jsonr_array_next(obj, strlen(obj), (size_t)e);
	assert_int_equal(e, 13);
	assert_int_equal(jsonr_array_next(obj, strlen(obj), (size_t)e), 0);
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
	assert_int_equal(jsonr_array_first("[]", 1, 0), -1);
	assert_int_equal(jsonr_array_next("[1]", 2, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_array_walk),
		cmocka_unit_test(test_array_walk_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
