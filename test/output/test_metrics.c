/* test_metrics.c - routing a request head (paths, methods, 400 for what
 * http1_parse_request refuses, split and oversized input) and the
 * Prometheus exposition (values, label caps, escaping, histogram, export
 * block, buffer too small).  The HTTP server
 * itself is exercised over real sockets by test/interop/test_metrics.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define GET_METRICS "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"

static enum metrics_route route_of(const char *req, bool *head)
{
	bool h;
	enum metrics_route r = metrics_parse_request(req, strlen(req), &h);
	if (head != NULL)
		*head = h;
	return r;
}

/* ---- parser ---- */

static void test_routes(void **state)
{
	bool head;
	(void)state;

	assert_int_equal(route_of(GET_METRICS, &head), ROUTE_METRICS);
	assert_false(head);
	assert_int_equal(route_of("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    &head), ROUTE_METRICS);
	assert_true(head);
	assert_int_equal(route_of("GET /healthz HTTP/1.1\r\nhOsT:x\r\n\r\n",
	    NULL), ROUTE_HEALTHZ);
	assert_int_equal(route_of("GET /metrics?name[]=up HTTP/1.1\r\n"
	    "Host: x\r\nAccept: */*\r\nUser-Agent: Prometheus/2.42\r\n\r\n",
	    NULL), ROUTE_METRICS);
	/* HTTP/1.0 needs no Host; a later 1.x minor is served as 1.1. */
	assert_int_equal(route_of("GET /metrics HTTP/1.0\r\n\r\n", NULL),
	    ROUTE_METRICS);
	assert_int_equal(route_of("GET /metrics HTTP/1.9\r\nHost: x\r\n\r\n",
	    NULL), ROUTE_METRICS);
	/* Absolute form (RFC 9112 3.2.2). */
	assert_int_equal(route_of("GET http://h:9/metrics?a HTTP/1.1\r\n"
	    "Host: h:9\r\n\r\n", NULL), ROUTE_METRICS);
	assert_int_equal(route_of("GET HTTPS://h/healthz HTTP/1.1\r\n"
	    "Host: h\r\n\r\n", NULL), ROUTE_HEALTHZ);
	assert_int_equal(route_of("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n",
	    NULL), ROUTE_NOT_FOUND);
	assert_int_equal(route_of("GET http://metrics HTTP/1.1\r\nHost: h\r\n"
	    "\r\n", NULL), ROUTE_NOT_FOUND);
	/* Only what follows the head is ignored. */
	assert_int_equal(route_of(GET_METRICS "garbage\x01\x02", NULL),
	    ROUTE_METRICS);
}

static void test_not_found_and_method(void **state)
{
	(void)state;
	static const char *const not_found[] = {
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /METRICS HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /other HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof not_found / sizeof *not_found; i++)
		assert_int_equal(route_of(not_found[i], NULL), ROUTE_NOT_FOUND);
	static const char *const bad_method[] = {
		"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"get /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GETT /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad_method / sizeof *bad_method; i++)
		assert_int_equal(route_of(bad_method[i], NULL),
		    ROUTE_BAD_METHOD);
}

/* The parser's verdicts (test_http1.c has the hostile cases) become
 * 400: one of each kind here. */
static void test_bad_requests(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"GET /metrics HTTP/1.1\r\n\r\n",                 /* no Host */
		"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET ftp://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"\x16\x03\x01\x02\x10\x01\x11\x01\xfc\x03\x03\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (route_of(bad[i], NULL) != ROUTE_BAD_REQUEST)
			fail_msg("request %zu: %d", i, route_of(bad[i], NULL));
	}
	/* A NUL inside a header value. */
	static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	bool head;
	assert_int_equal(metrics_parse_request(nul, sizeof nul - 1, &head),
	    ROUTE_BAD_REQUEST);
	/* Header values may carry obs-text and tabs. */
	assert_int_equal(route_of("GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "X-A:\t\xc3\xa9 v\t\r\n\r\n", NULL), ROUTE_METRICS);
}

/* Every proper prefix of a request is incomplete; the whole is not. */
static void test_prefixes_incomplete(void **state)
{
	const char *req = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	bool head;
	(void)state;

	for (size_t n = 0; n < strlen(req); n++)
		assert_int_equal(metrics_parse_request(req, n, &head),
		    ROUTE_INCOMPLETE);
	assert_int_equal(metrics_parse_request(req, strlen(req), &head),
	    ROUTE_HEALTHZ);
	assert_true(head);
}

static void test_size_cap(void **state)
{
	static char big[METRICS_REQ_MAX + 64];
	bool head;
	(void)state;

	/* A head that never ends: incomplete until the cap, then too large. */
	memset(big, 'a', sizeof big);
	assert_int_equal(metrics_parse_request(big, METRICS_REQ_MAX - 1, &head),
	    ROUTE_INCOMPLETE);
	assert_int_equal(metrics_parse_request(big, METRICS_REQ_MAX, &head),
	    ROUTE_TOO_LARGE);
	assert_int_equal(metrics_parse_request(big, sizeof big, &head),
	    ROUTE_TOO_LARGE);
	/* Bare LF line ends never end the head. */
	for (size_t i = 0; i + 1 < sizeof big; i += 2)
		memcpy(big + i, "\n", 1);
	assert_int_equal(metrics_parse_request(big, METRICS_REQ_MAX, &head),
	    ROUTE_TOO_LARGE);
	/* A head ending exactly at the cap is served; one byte later not. */
	size_t pre = strlen("GET /metrics HTTP/1.1\r\nHost: x\r\nX: ");
	for (size_t total = METRICS_REQ_MAX; total <= METRICS_REQ_MAX + 1;
	    total++) {
		memcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ", pre);
		memset(big + pre, 'v', total - pre - 4);
		memcpy(big + total - 4, "\r\n\r\n", 4);
		assert_int_equal(metrics_parse_request(big, total, &head),
		    total == METRICS_REQ_MAX ? ROUTE_METRICS : ROUTE_TOO_LARGE);
	}
}

/* ---- exposition ---- */

static char body[METRICS_BODY_MAX];

static const char *render(const struct metrics *m)
{
	size_t n = metrics_render(m, body, sizeof body);
	assert_true(n > 0);
	assert_int_equal(strlen(body), n);
	assert_int_equal(body[n - 1], '\n');
	return body;
}

static void assert_has_line(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof want, "\n%s\n", line);
	if (strstr(text, want) == NULL)
		fail_msg("missing line: %s\n--- exposition:\n%s", line, text);
}

static void count(struct metrics *m, const char *outcome, int64_t pv,
    const char *cls, const char *reason, int64_t probe_us)
{
	struct metrics_conn c = { outcome, pv, cls, reason, probe_us };
	metrics_count_conn(m, &c);
}

static void test_render_counts(void **state)
{
	static struct metrics m;
	(void)state;

	metrics_init(&m, "1.2.3", "eu-as3320", "kaspa-mainnet");
	count(&m, "ok", 7, "public", "verified", 1500);
	count(&m, "ok", 7, "private", "no_listener", 2000000);
	count(&m, "ok", 10, "public", "cached", -1);
	count(&m, "timeout", -1, NULL, NULL, -1);
	metrics_count_log(&m, 100, true);
	metrics_count_log(&m, 50, true);
	metrics_count_log(&m, 70, false);
	m.open_connections = 3;
	const char *t = render(&m);

	assert_true(strncmp(t, "# HELP kaspa_sensor_build_info ", 31) == 0);
	assert_has_line(t, "kaspa_sensor_build_info{version=\"1.2.3\"} 1");
	assert_has_line(t, "kaspa_sensor_info{sensor_id=\"eu-as3320\","
	    "network=\"kaspa-mainnet\"} 1");
	assert_has_line(t, "# TYPE kaspa_sensor_connections_total counter");
	assert_has_line(t, "kaspa_sensor_connections_total{outcome=\"ok\"} 3");
	assert_has_line(t, "kaspa_sensor_connections_total{outcome=\"timeout\"} 1");
	assert_has_line(t, "kaspa_sensor_handshakes_total{protocol_version=\"7\"} 2");
	assert_has_line(t, "kaspa_sensor_handshakes_total{protocol_version=\"10\"} 1");
	assert_has_line(t, "kaspa_sensor_classifications_total{classification="
	    "\"public\",reason=\"verified\"} 1");
	assert_has_line(t, "kaspa_sensor_classifications_total{classification="
	    "\"public\",reason=\"cached\"} 1");
	/* Histogram: cumulative buckets, exact sum in seconds. */
	assert_has_line(t, "# TYPE kaspa_sensor_probe_duration_seconds histogram");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"0.005\"} 1");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"1\"} 1");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"2.5\"} 2");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"+Inf\"} 2");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_sum 2.001500");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_count 2");
	assert_has_line(t, "kaspa_sensor_open_connections 3");
	assert_has_line(t, "kaspa_sensor_log_lines_total 2");
	assert_has_line(t, "kaspa_sensor_log_written_bytes_total 150");
	assert_has_line(t, "kaspa_sensor_log_errors_total 1");
	/* No export block until the exporter reports. */
	assert_null(strstr(t, "export"));
}

static void test_histogram_edges(void **state)
{
	static struct metrics m;
	(void)state;

	metrics_init(&m, "v", "s", "n");
	count(&m, "ok", -1, "x", "y", 0);          /* lowest bucket */
	count(&m, "ok", -1, "x", "y", 5000);       /* le is inclusive */
	count(&m, "ok", -1, "x", "y", 5001);
	count(&m, "ok", -1, "x", "y", 60000000);   /* only +Inf */
	const char *t = render(&m);
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"0.005\"} 2");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"0.01\"} 3");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"10\"} 3");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_bucket{le=\"+Inf\"} 4");
	assert_has_line(t, "kaspa_sensor_probe_duration_seconds_sum 60.010001");
	assert_null(strstr(t, "kaspa_sensor_handshakes_total{"));
}

/* Distinct label values beyond the cap all count as "other". */
static void test_label_cap(void **state)
{
	static struct metrics m;
	char name[32], line[128];
	(void)state;

	metrics_init(&m, "v", "s", "n");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "o%d", i);
		count(&m, name, i, "c", name, -1);
	}
	assert_int_equal(m.outcomes.n, METRICS_SERIES);
	const char *t = render(&m);
	snprintf(line, sizeof line, "kaspa_sensor_connections_total{outcome="
	    "\"other\"} %d", 100 - (METRICS_SERIES - 1));
	assert_has_line(t, line);
	snprintf(line, sizeof line, "kaspa_sensor_handshakes_total{protocol_"
	    "version=\"other\"} %d", 100 - (METRICS_SERIES - 1));
	assert_has_line(t, line);
	snprintf(line, sizeof line, "kaspa_sensor_classifications_total{"
	    "classification=\"other\",reason=\"other\"} %d",
	    100 - (METRICS_SERIES - 1));
	assert_has_line(t, line);
	assert_has_line(t, "kaspa_sensor_connections_total{outcome=\"o30\"} 1");
	assert_null(strstr(t, "\"o31\""));
	/* Long values are cut, not spilled. */
	count(&m, "a_very_long_outcome_name_that_goes_past_the_label_cap",
	    -1, NULL, NULL, -1);
	assert_int_equal(m.outcomes.n, METRICS_SERIES);
}

static void test_escaping(void **state)
{
	static struct metrics m;
	(void)state;

	metrics_init(&m, "v", "a\"b\\c\nd\xc3\xa9\x01", "kaspa-mainnet");
	count(&m, "x\"y", -1, NULL, NULL, -1);
	const char *t = render(&m);
	assert_has_line(t, "kaspa_sensor_info{sensor_id=\"a\\\"b\\\\c\\nd___\","
	    "network=\"kaspa-mainnet\"} 1");
	assert_has_line(t, "kaspa_sensor_connections_total{outcome=\"x\\\"y\"} 1");
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
}

static void test_export_block(void **state)
{
	static struct metrics m;
	struct export_status e = { .health = EXPORT_FAILING, .lag_bytes = 4096,
	    .lag_lines = 9, .last_success_ms = 1795450051234, .lines_ok = 17,
	    .batches_ok = 3, .retries = 2, .dead_lines = 5, .dropped_lines = 1 };
	(void)state;

	metrics_init(&m, "v", "s", "n");
	metrics_export_set(&m, &e);
	const char *t = render(&m);
	assert_has_line(t, "kaspa_sensor_export_failing 1");
	assert_has_line(t, "kaspa_sensor_export_lag_bytes 4096");
	assert_has_line(t, "kaspa_sensor_export_lag_lines 9");
	assert_has_line(t, "# TYPE kaspa_sensor_export_last_success_timestamp_"
	    "seconds gauge");
	assert_has_line(t, "kaspa_sensor_export_last_success_timestamp_seconds "
	    "1795450051.234000");
	assert_has_line(t, "kaspa_sensor_export_lines_total 17");
	assert_has_line(t, "kaspa_sensor_export_batches_total 3");
	assert_has_line(t, "kaspa_sensor_export_retries_total 2");
	assert_has_line(t, "kaspa_sensor_export_dead_lines_total 5");
	assert_has_line(t, "kaspa_sensor_export_dropped_lines_total 1");
	e.last_success_ms = 0;      /* never */
	e.health = EXPORT_OK;
	metrics_export_set(&m, &e);
	t = render(&m);
	assert_has_line(t, "kaspa_sensor_export_last_success_timestamp_seconds "
	    "0.000000");
	assert_has_line(t, "kaspa_sensor_export_failing 0");
}

/* Every cut of the buffer either fits the whole text or fails cleanly. */
static void test_small_buffer(void **state)
{
	static struct metrics m;
	static char small[METRICS_BODY_MAX];
	(void)state;

	metrics_init(&m, "v", "s", "n");
	count(&m, "ok", 7, "public", "verified", 1000);
	size_t full = metrics_render(&m, body, sizeof body);
	assert_true(full > 0);
	for (size_t cap = 0; cap <= full; cap += 97)
		assert_int_equal(metrics_render(&m, small, cap), 0);
	assert_int_equal(metrics_render(&m, small, full), 0);   /* no NUL room */
	assert_int_equal(metrics_render(&m, small, full + 1), full);
	assert_memory_equal(small, body, full);
}

/* The worst case (every family full of the longest labels) still fits. */
static void test_worst_case_fits(void **state)
{
	static struct metrics m;
	char a[METRICS_LABEL_MAX], b[METRICS_LABEL_MAX];
	struct export_status e = { .health = EXPORT_FAILING, .lag_bytes = UINT64_MAX,
	    .lag_lines = UINT64_MAX, .last_success_ms = INT64_MAX,
	    .lines_ok = UINT64_MAX, .batches_ok = UINT64_MAX,
	    .retries = UINT64_MAX, .dead_lines = UINT64_MAX,
	    .dropped_lines = UINT64_MAX };
	char id[256];
	(void)state;

	memset(id, '"', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	metrics_init(&m, id, id, id);
	for (int i = 0; i < 3 * METRICS_SERIES; i++) {
		memset(a, '\\', sizeof a - 1);
		memset(b, '"', sizeof b - 1);
		a[sizeof a - 1] = b[sizeof b - 1] = '\0';
		char num[16];
		snprintf(num, sizeof num, "%07d", i);
		memcpy(a, num, 7);
		count(&m, a, 4000000000LL + i, a, b, 1);
	}
	for (int i = 0; i < METRICS_SERIES; i++) {
		m.outcomes.s[i].count = UINT64_MAX;
		m.classifications.s[i].count = UINT64_MAX;
	}
	metrics_export_set(&m, &e);
	assert_true(metrics_render(&m, body, sizeof body) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_prefixes_incomplete),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_render_counts),
		cmocka_unit_test(test_histogram_edges),
		cmocka_unit_test(test_label_cap),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_export_block),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_worst_case_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
