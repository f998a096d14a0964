/* test_report.c - the report's numbers on a fixed crawl file
 * (test/data/report_fixture.ndjson), value by value, and its JSON reader
 * and time parser on hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define FIXTURE "test/data/report_fixture.ndjson"
#define W1 "203.0.113.7:16111"
#define W2 "[2001:db8::7]:16111"
#define W3 "198.51.100.1:16111"
#define T0 1767225600000LL        /* 2026-01-01T00:00:00Z in Unix ms */

static struct report r;

static int load_fixture(void **state)
{
	static const char *const watch[] = { W1, W2, W3 };
	(void)state;
	if (report_init(&r, watch, 3, T0 - 60000) != 0)
		return -1;
	FILE *f = fopen(FIXTURE, "r");
	if (f == NULL)
		return -1;
	report_file(&r, f);
	fclose(f);
	report_finish(&r);
	return 0;
}

static int free_report(void **state)
{
	(void)state;
	report_free(&r);
	return 0;
}

static void check_cell(const struct report_cell *c, uint64_t checked,
    uint64_t with, uint32_t advertisers, int64_t first)
{
	assert_int_equal(c->checked, checked);
	assert_int_equal(c->with, with);
	assert_int_equal(c->advertisers, advertisers);
	assert_int_equal(c->first_seen_ms, first);
}

static void test_lines_and_order(void **state)
{
	(void)state;
	assert_int_equal(r.lines, 18);
	assert_int_equal(r.skipped, 2);     /* not JSON; nested too deep */
	assert_int_equal(r.n_crawls, 2);
	/* Sorted by start although "bbbb" comes first in the file. */
	assert_string_equal(r.crawls[0].id, "aaaa");
	assert_string_equal(r.crawls[1].id, "bbbb");
	assert_int_equal(r.crawls[0].start_ms, T0);
	assert_int_equal(r.crawls[1].start_ms, T0 + 3600000);
	assert_int_equal(r.crawls[0].visited, 3);
	assert_int_equal(r.crawls[0].reachable, 2);
	assert_int_equal(r.crawls[0].replies, 6);
	assert_int_equal(r.crawls[0].peers_replying, 2);
	/* A reply in two parts counts once. */
	assert_int_equal(r.crawls[1].replies, 2);
	assert_int_equal(r.crawls[1].peers_replying, 2);
}

static void test_watched_flags(void **state)
{
	const struct report_crawl *a = &r.crawls[0];
	(void)state;
	assert_true(a->watch_listed[0]);
	assert_true(a->watch_listed[1]);
	assert_false(a->watch_listed[2]);
	check_cell(&a->cell[0], 6, 3, 2, T0 + 10000);
	check_cell(&a->cell[1], 6, 2, 1, T0 + 20000);
	check_cell(&a->cell[2], 0, 0, 0, REPORT_NO_TIME);  /* not watched */
}

static void test_full_lists(void **state)
{
	const struct report_crawl *b = &r.crawls[1];
	(void)state;
	check_cell(&b->cell[0], 2, 1, 1, T0 + 3605250);
	check_cell(&b->cell[1], 2, 1, 1, T0 + 3607000);
	/* Only in the second part of the reply. */
	check_cell(&b->cell[2], 2, 1, 1, T0 + 3605250);
}

static void test_totals(void **state)
{
	(void)state;
	/* W1: 192.0.2.1 in both crawls, 192.0.2.2 in one: 2 unique. */
	check_cell(&r.total[0], 8, 4, 2, T0 + 10000);
	check_cell(&r.total[1], 8, 3, 2, T0 + 20000);
	check_cell(&r.total[2], 2, 1, 1, T0 + 3605250);
	assert_int_equal(r.crawls_seen[0], 2);
	assert_int_equal(r.crawls_seen[1], 2);
	assert_int_equal(r.crawls_seen[2], 1);
}

static void test_json_output(void **state)
{
	char buf[8192];
	(void)state;
	FILE *f = fmemopen(buf, sizeof buf, "w");
	assert_non_null(f);
	report_print_json(&r, f);
	fclose(f);
	assert_non_null(strstr(buf, "{\"address\":\"203.0.113.7:16111\","
	    "\"crawls_seen\":2,\"total\":{\"replies\":8,\"replies_with\":4,"
	    "\"share\":0.5000,\"advertisers\":2,\"first_seen\":"
	    "\"2026-01-01T00:00:10Z\",\"first_seen_after_since_s\":70.000}"));
	assert_non_null(strstr(buf, "{\"crawl_id\":\"aaaa\",\"start\":"
	    "\"2026-01-01T00:00:00Z\",\"visited\":3,\"reachable\":2,"
	    "\"peers_replying\":2,\"checked\":false,\"replies\":0,"));
}

static void test_time_parse(void **state)
{
	int64_t ms;
	static const char *const bad[] = {
		"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:00:00.x1Z",
		"2026-01-01X00:00:00Z", "1234567890123", "-5", "12a",
	};
	(void)state;
	assert_int_equal(report_parse_time("2026-01-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, T0);
	assert_int_equal(report_parse_time("2026-01-01T00:00:01.5Z", 22, &ms), 0);
	assert_int_equal(ms, T0 + 1500);
	assert_int_equal(report_parse_time("1970-01-01T00:00:00.000001Z", 27,
	    &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(report_parse_time("1767225600", 10, &ms), 0);
	assert_int_equal(ms, T0);
	assert_int_equal(report_parse_time("2000-03-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, 951868800000LL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(report_parse_time(bad[i], strlen(bad[i]), &ms), -1);
}

static void test_hostile_lines(void **state)
{
	static const char *const bad[] = {
		"", "{", "}", "{\"type\":}", "{\"type\":\"peer\"", "[1,2]",
		"{\"type\":\"peer\",}", "{\"type\":\"a\\q\"}",
		"{\"type\":\"a\\u12\"}", "{\"type\":\"peer\",\"x\":tru",
		"{\"type\":\"addresses\",\"watched\":[1]}",
		"{\"type\":\"addresses\",\"seq\":99999999999999999999999}",
		"{\"type\":\"peer\"} trailing", "{\"type\":\"a\x01\"}",
		"{\"type\":\"peer\",\"ts\":\"yesterday\"}",
		/* Not JSON, though made of the characters of numbers and
		 * literals (a loose reader took these). */
		"{\"type\":\"peer\",\"x\":nul}", "{\"type\":\"peer\",\"x\":1-2}",
		"{\"type\":\"peer\",\"x\":truefalse}", "{\"type\":\"peer\",\"x\":-}",
		"{\"type\":\"peer\",\"x\":.5}", "{\"type\":\"peer\",\"x\":+1}",
		"{\"type\":\"addresses\",\"from\":\"a\",\"seq\":1e3}",
		"{\"type\":\"x\",\"o\":{\"a\":[{\"b\":{}}],\"c\":\"\\\"\"},\"d\":null}",
	};
	static const char *const watch[] = { W1 };
	struct report h;
	(void)state;
	assert_int_equal(report_init(&h, watch, 1, REPORT_NO_TIME), 0);
	for (size_t i = 0; i + 1 < sizeof bad / sizeof bad[0]; i++)
		if (report_line(&h, bad[i], strlen(bad[i])) != -1)
			fail_msg("line %zu used: %s", i, bad[i]);
	/* The last one is valid JSON with nesting we skip. */
	const char *ok = bad[sizeof bad / sizeof bad[0] - 1];
	assert_int_equal(report_line(&h, ok, strlen(ok)), 0);
	/* A line over the cap. */
	char *big = malloc(REPORT_LINE_MAX + 16);
	assert_non_null(big);
	memset(big, ' ', REPORT_LINE_MAX + 15);
	memcpy(big, "{\"type\":\"peer\"}", 15);
	assert_int_equal(report_line(&h, big, REPORT_LINE_MAX + 15), -1);
	free(big);
	report_finish(&h);
	assert_int_equal(h.total[0].checked, 0);
	report_free(&h);
	const char *const bad_watch[] = { "example.com:16111" };
	assert_int_equal(report_init(&h, bad_watch, 1, 0), -1);
	report_free(&h);
}

/* Strings longer than any we keep: a member the line needs makes it
 * unusable; an element of an address list simply matches nothing. */
static void test_long_strings(void **state)
{
	static const char *const watch[] = { W1 };
	char line[512], pad[200];
	struct report h;
	(void)state;

	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	assert_int_equal(report_init(&h, watch, 1, REPORT_NO_TIME), 0);
	snprintf(line, sizeof line, "{\"type\":\"peer\",\"crawl_id\":\"%s\"}",
	    pad);
	assert_int_equal(report_line(&h, line, strlen(line)), -1);
	snprintf(line, sizeof line, "{\"type\":\"addresses\",\"crawl_id\":\"c\","
	    "\"from\":\"192.0.2.1:16111\",\"seq\":1,\"watched\":[\"%s\","
	    "\"" W1 "\"]}", pad);
	assert_int_equal(report_line(&h, line, strlen(line)), 0);
	report_finish(&h);
	assert_int_equal(h.n_crawls, 1);
	assert_int_equal(h.skipped, 1);
	/* The crawl watched nothing and the line held no full list: the
	 * reply was not checkable, but the watched[] element still counts. */
	assert_int_equal(h.crawls[0].replies, 1);
	assert_int_equal(h.crawls[0].cell[0].with, 0);
	report_free(&h);
}

/* One crawl more than the table holds, each with a peer line: every
 * crawl up to REPORT_CRAWLS_MAX keeps its numbers however often the table
 * grew under it, and the one past the cap is skipped. */
static void test_crawl_cap(void **state)
{
	static const char *const watch[] = { W1 };
	char line[256];
	struct report h;
	(void)state;

	assert_int_equal(report_init(&h, watch, 1, REPORT_NO_TIME), 0);
	for (unsigned i = 0; i <= REPORT_CRAWLS_MAX; i++) {
		snprintf(line, sizeof line, "{\"type\":\"peer\",\"crawl_id\":"
		    "\"c%u\",\"ts\":\"%lld\",\"reachable\":%s}", i,
		    (T0 / 1000 + (long long)i), i % 2 ? "true" : "false");
		assert_int_equal(report_line(&h, line, strlen(line)),
		    i < REPORT_CRAWLS_MAX ? 0 : -1);
	}
	/* The first crawl again, after every growth. */
	snprintf(line, sizeof line, "{\"type\":\"peer\",\"crawl_id\":\"c0\","
	    "\"reachable\":true}");
	assert_int_equal(report_line(&h, line, strlen(line)), 0);
	report_finish(&h);
	assert_int_equal(h.n_crawls, REPORT_CRAWLS_MAX);
	assert_int_equal(h.skipped, 1);
	for (unsigned i = 0; i < REPORT_CRAWLS_MAX; i++) {
		char id[16];
		snprintf(id, sizeof id, "c%u", i);
		assert_string_equal(h.crawls[i].id, id);
		assert_int_equal(h.crawls[i].start_ms, T0 + (int64_t)i * 1000);
		assert_int_equal(h.crawls[i].visited, i == 0 ? 2 : 1);
		assert_int_equal(h.crawls[i].reachable, i == 0 ? 1 : i % 2);
	}
	report_free(&h);
}

int main(void)
{
	const struct CMUnitTest fixture[] = {
		cmocka_unit_test(test_lines_and_order),
		cmocka_unit_test(test_watched_flags),
		cmocka_unit_test(test_full_lists),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_json_output),
	};
	const struct CMUnitTest parsing[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_crawl_cap),
	};
	return cmocka_run_group_tests(fixture, load_fixture, free_report) |
	    cmocka_run_group_tests(parsing, NULL, NULL);
}
