/* test_bisect.c - the bisecting planner against a model store that
 * refuses any range holding a bad line: every line settled exactly once,
 * left to right; exactly the bad lines parked; the request count within
 * 2 k ceil(log2 n) + 1; the hard limit when every line is bad; every set
 * of up to three bad lines in batches of 1..40 lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bisect.h"

#define LINES_MAX 100000

/* What a run did: requests sent, and per line how it was settled. */
struct run {
	uint64_t requests;
	uint64_t parked_ranges;
	char settled[LINES_MAX];     /* 0: not yet, 'S': shipped, 'P': parked */
};

static struct run run;
static bool bad[LINES_MAX];

static bool holds_bad(struct line_range r)
{
	for (uint64_t i = r.first; i < r.first + r.count; i++)
		if (bad[i])
			return true;
	return false;
}

/* Runs a batch of n lines against the model store; checks that ranges
 * are settled left to right, each line once. */
static void run_batch(uint64_t n)
{
	struct bisect b;
	struct line_range r;
	uint64_t next_unsettled = 0;

	run.requests = 0;
	run.parked_ranges = 0;
	memset(run.settled, 0, n);
	bisect_start(&b, n);
	while (bisect_next(&b, &r)) {
		assert_int_equal(r.first, next_unsettled);
		assert_true(r.count >= 1 && r.first + r.count <= n);
		assert_true(b.depth <= BISECT_STACK);
		run.requests++;
		bool refused = holds_bad(r);
		enum bisect_action a = bisect_answer(&b, refused ?
		    BISECT_REFUSED : BISECT_ACCEPTED);
		if (a == BISECT_SPLIT) {
			assert_true(refused);
			continue;
		}
		assert_int_equal(a, refused ? BISECT_PARK : BISECT_SHIP);
		run.parked_ranges += a == BISECT_PARK;
		for (uint64_t i = r.first; i < r.first + r.count; i++) {
			assert_int_equal(run.settled[i], 0);
			run.settled[i] = a == BISECT_PARK ? 'P' : 'S';
		}
		next_unsettled = r.first + r.count;
	}
	assert_int_equal(next_unsettled, n);
}

static uint64_t bound(uint64_t n, uint64_t k)
{
	return 2 * k * bisect_levels(n) + 1;
}

/* Exactly the bad lines parked, one per range; the rest shipped. */
static void assert_only_bad_parked(uint64_t n, uint64_t k)
{
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(run.settled[i], bad[i] ? 'P' : 'S');
	assert_int_equal(run.parked_ranges, k);
	assert_true(run.requests <= bound(n, k));
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(bisect_levels(0), 0);
	assert_int_equal(bisect_levels(1), 0);
	assert_int_equal(bisect_levels(2), 1);
	assert_int_equal(bisect_levels(3), 2);
	assert_int_equal(bisect_levels(200), 8);
	assert_int_equal(bisect_levels(256), 8);
	assert_int_equal(bisect_levels(257), 9);
	assert_int_equal(bisect_levels(UINT64_MAX), 64);
}

static void test_empty_batch_sends_nothing(void **state)
{
	struct bisect b;
	struct line_range r;

	(void)state;
	bisect_start(&b, 0);
	assert_false(bisect_next(&b, &r));
}

static void test_good_batch_is_one_request(void **state)
{
	(void)state;
	memset(bad, 0, sizeof bad);
	run_batch(500);
	assert_int_equal(run.requests, 1);
	assert_only_bad_parked(500, 0);
}

static void test_single_bad_line_is_parked_in_one_request(void **state)
{
	(void)state;
	memset(bad, 0, sizeof bad);
	bad[0] = true;
	run_batch(1);
	assert_int_equal(run.requests, 1);
	assert_only_bad_parked(1, 1);
}

/* The suite's ClickHouse case: lines 7, 99, 100 of 200. */
static void test_three_of_200(void **state)
{
	(void)state;
	memset(bad, 0, sizeof bad);
	bad[7] = bad[99] = bad[100] = true;
	run_batch(200);
	assert_only_bad_parked(200, 3);
	assert_true(run.requests <= 49);
}

static void test_every_small_case(void **state)
{
	(void)state;
	memset(bad, 0, sizeof bad);
	for (uint64_t n = 1; n <= 40; n++)
		for (uint64_t a = 0; a <= n; a++)
			for (uint64_t b2 = a; b2 <= n; b2++)
				for (uint64_t c = b2; c <= n; c++) {
					/* index n means "no bad line here" */
					bad[a] = bad[b2] = bad[c] = true;
					bad[n] = false;
					uint64_t k = (a < n) + (b2 < n && b2 != a) +
					    (c < n && c != b2 && c != a);
					run_batch(n);
					assert_only_bad_parked(n, k);
					bad[a] = bad[b2] = bad[c] = false;
				}
}

static void test_spread_bad_lines_in_the_largest_batch(void **state)
{
	uint64_t n = LINES_MAX, k = BISECT_MAX_REFUSED;

	(void)state;
	memset(bad, 0, sizeof bad);
	for (uint64_t i = 0; i < k; i++)
		bad[(i * 7919 * 13 + 5) % n] = true;
	run_batch(n);
	assert_only_bad_parked(n, k);
}

/* A wrong table: every line refused.  The limit stops the splitting;
 * everything is still settled, each line once, and parked. */
static void test_all_bad_hits_the_hard_limit(void **state)
{
	(void)state;
	for (uint64_t n = 2; n <= 1000; n += n / 3 + 1) {
		for (uint64_t i = 0; i < n; i++)
			bad[i] = true;
		run_batch(n);
		for (uint64_t i = 0; i < n; i++)
			assert_int_equal(run.settled[i], 'P');
		assert_true(run.requests <= bound(n, BISECT_MAX_REFUSED));
		/* n - 1 splits would isolate every line */
		if (n - 1 > BISECT_MAX_REFUSED * bisect_levels(n))
			assert_true(run.parked_ranges < n &&
			    run.requests < 2 * n - 1);
	}
}

/* A park the caller could not carry out: the same line goes out again,
 * and the lines after it wait for it. */
static void test_unpark_sends_the_same_range_again(void **state)
{
	struct bisect b;
	struct line_range r, again;

	(void)state;
	bisect_start(&b, 4);
	assert_int_equal(bisect_answer(&b, BISECT_REFUSED), BISECT_SPLIT);
	assert_true(bisect_next(&b, &r));                 /* lines 0..1 */
	assert_int_equal(bisect_answer(&b, BISECT_REFUSED), BISECT_SPLIT);
	assert_true(bisect_next(&b, &r));
	assert_int_equal(r.first, 0);
	assert_int_equal(r.count, 1);
	assert_int_equal(bisect_answer(&b, BISECT_REFUSED), BISECT_PARK);
	bisect_unpark(&b, r);
	assert_true(bisect_next(&b, &again));
	assert_int_equal(again.first, 0);
	assert_int_equal(again.count, 1);
	assert_int_equal(bisect_answer(&b, BISECT_REFUSED), BISECT_PARK);
	assert_true(bisect_next(&b, &r));                 /* then line 1 */
	assert_int_equal(r.first, 1);
	assert_int_equal(bisect_answer(&b, BISECT_ACCEPTED), BISECT_SHIP);
	assert_true(bisect_next(&b, &r));                 /* then 2..3 */
	assert_int_equal(r.first, 2);
	assert_int_equal(r.count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_empty_batch_sends_nothing),
		cmocka_unit_test(test_good_batch_is_one_request),
		cmocka_unit_test(test_single_bad_line_is_parked_in_one_request),
		cmocka_unit_test(test_three_of_200),
		cmocka_unit_test(test_every_small_case),
		cmocka_unit_test(test_spread_bad_lines_in_the_largest_batch),
		cmocka_unit_test(test_all_bad_hits_the_hard_limit),
		cmocka_unit_test(test_unpark_sends_the_same_range_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
