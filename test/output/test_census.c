/* test_census.c - the census's class rules and every edge case named in
 * census.h, line by line: conflicting verdicts, a crawl-only node, a line
 * without a Version, cached verdicts, two networks, unknown crawls, the
 * window, torn and long lines, NAT sharing, forks; the estimators on
 * numbers worked by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "json_write.h"

#define ID_A "0000000000000000000000000000000a"
#define ID_B "0000000000000000000000000000000b"
#define ID_C "0000000000000000000000000000000c"
#define TS "2026-11-23T16:00:00.000000Z"

static struct census c;
static struct census_result r;

static int setup(void **state)
{
	(void)state;
	return census_init(&c, "kaspa-mainnet", CENSUS_NO_TIME, CENSUS_NO_TIME);
}

static int teardown(void **state)
{
	(void)state;
	census_result_free(&r);
	census_free(&c);
	return 0;
}

static void line(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof buf);
	census_line(&c, buf, (size_t)n);
}

/* An inbound line as the sensor writes it (the members census reads, and
 * a few it skips). */
static void inbound(const char *sensor, const char *ip, const char *id,
    const char *verdict_members)
{
	line("{\"ts\":\"%s\",\"event_id\":\"x-1\",\"sensor_id\":\"%s\","
	    "\"direction\":\"inbound\",\"peer_ip\":\"%s\",\"peer_port\":4000,"
	    "\"protocol_version\":7,\"user_agent\":\"/kaspad:1.0.1/\","
	    "\"network\":\"kaspa-mainnet\",\"peer_id\":\"%s\",\"services\":1,"
	    "\"unknown_fields\":[],\"advertised_unknown_fields\":null,"
	    "\"outcome\":\"ok\",%s,\"bytes_in\":1}\n", TS, sensor, ip, id,
	    verdict_members);
}

#define PUBLIC_VERIFIED "\"classification\":\"public\"," \
	"\"classification_reason\":\"advertised_verified\"," \
	"\"probe_attempts\":[{\"target\":\"1.2.3.4:16111\",\"verify\":\"verified\"}]"
#define PUBLIC_OPEN "\"classification\":\"public\"," \
	"\"classification_reason\":\"advertised_open\""
#define PRIVATE "\"classification\":\"private\"," \
	"\"classification_reason\":\"all_refused\""
#define UNKNOWN "\"classification\":\"unknown\"," \
	"\"classification_reason\":\"rate_limited\""
#define NO_PROBE "\"classification\":null,\"classification_reason\":null"

static void crawl_start(const char *crawl, const char *network)
{
	line("{\"type\":\"crawl_start\",\"crawl_id\":\"%s\",\"ts\":\"%s\","
	    "\"network\":\"%s\",\"seeds\":[],\"watch\":[],\"requests\":1}",
	    crawl, TS, network);
}

static void crawl_peer(const char *crawl, const char *address,
    const char *id, bool reachable)
{
	line("{\"type\":\"peer\",\"crawl_id\":\"%s\",\"ts\":\"%s\","
	    "\"address\":\"%s\",\"depth\":0,\"reachable\":%s,\"reason\":\"ok\","
	    "\"stage\":\"ready\",\"peer_id\":\"%s\",\"user_agent\":\"/x:1/\","
	    "\"protocol_version\":6,\"replies\":1,\"addresses\":3}", crawl,
	    TS, address, reachable ? "true" : "false", id);
}

static void finish(void)
{
	census_result_free(&r);
	assert_int_equal(census_finish(&c, &r), 0);
}

/* The class of the node with id (hex), which must exist. */
static enum census_class class_of(const char *hex)
{
	for (uint32_t k = 0; k < c.n_nodes; k++) {
		char h[2 * CENSUS_ID_LEN + 1];
		for (int i = 0; i < CENSUS_ID_LEN; i++)
			snprintf(h + 2 * i, 3, "%02x", c.node[k].id[i]);
		if (strcmp(h, hex) == 0)
			return (enum census_class)r.class_of[k];
	}
	fail_msg("no node %s", hex);
	return CENSUS_CLASSES;
}

static void check_lines(uint64_t read, uint64_t used, uint64_t bad,
    uint64_t other_kind, uint64_t no_id, uint64_t other_network)
{
	const struct census_lines *l = &c.lines;
	assert_int_equal(l->read, read);
	assert_int_equal(l->used, used);
	assert_int_equal(l->bad, bad);
	assert_int_equal(l->other_kind, other_kind);
	assert_int_equal(l->no_id, no_id);
	assert_int_equal(l->other_network, other_network);
	assert_int_equal(l->read, l->used + l->bad + l->other_kind +
	    l->outside_window + l->no_id + l->other_network +
	    l->crawl_unknown);
	assert_int_equal(l->used, l->inbound + l->crawl_peer + l->crawl_start);
}

/* ---- the rules, flag by flag ---- */

static void test_class_rules(void **state)
{
	static const struct { uint16_t flags; enum census_class want; } t[] = {
		{ 0, CENSUS_UNKNOWN },
		{ CENSUS_F_INBOUND, CENSUS_UNKNOWN },
		{ CENSUS_F_VERIFIED, CENSUS_PUBLIC },
		{ CENSUS_F_REACHED, CENSUS_PUBLIC },
		{ CENSUS_F_CRAWL, CENSUS_UNKNOWN },
		{ CENSUS_F_PRIVATE, CENSUS_PRIVATE },
		{ CENSUS_F_PRIVATE | CENSUS_F_INBOUND, CENSUS_PRIVATE },
		{ CENSUS_F_PUBLIC_OPEN, CENSUS_UNKNOWN },
		{ CENSUS_F_PRIVATE | CENSUS_F_PUBLIC_OPEN, CENSUS_UNKNOWN },
		{ CENSUS_F_PRIVATE | CENSUS_F_VERIFIED, CENSUS_CONFLICTING },
		{ CENSUS_F_PRIVATE | CENSUS_F_VERIFIED | CENSUS_F_REACHED,
		  CENSUS_CONFLICTING },
		{ CENSUS_F_PRIVATE | CENSUS_F_REACHED, CENSUS_PUBLIC },
		{ CENSUS_F_VERIFIED | CENSUS_F_PUBLIC_OPEN, CENSUS_PUBLIC },
		{ CENSUS_F_PUBLIC_OPEN | CENSUS_F_REACHED, CENSUS_PUBLIC },
	};
	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(census_class_of(t[i].flags), t[i].want);
}

/* ---- edge cases, from lines ---- */

static void test_conflicting_listed_not_hidden(void **state)
{
	(void)state;
	inbound("fra", "203.0.113.7", ID_A, PUBLIC_VERIFIED);
	inbound("ams", "203.0.113.7", ID_A, PRIVATE);
	inbound("ams", "203.0.113.8", ID_B, PRIVATE);
	finish();
	assert_int_equal(class_of(ID_A), CENSUS_CONFLICTING);
	assert_int_equal(class_of(ID_B), CENSUS_PRIVATE);
	assert_int_equal(r.all.nodes, 2);
	assert_int_equal(r.all.n[CENSUS_CONFLICTING], 1);
	assert_int_equal(r.all.n[CENSUS_PRIVATE], 1);

	char out[8192] = "";
	FILE *f = fmemopen(out, sizeof out - 1, "w");
	assert_non_null(f);
	static struct json_line line;
	census_print_json(&c, &r, &line, f);
	fclose(f);
	assert_non_null(strstr(out, "\"conflicting\":[\"" ID_A "\"]"));
	f = fmemopen(out, sizeof out - 1, "w");
	census_print_table(&c, &r, f);
	fclose(f);
	assert_non_null(strstr(out, "conflicting: " ID_A));
}

static void test_crawl_only_node(void **state)
{
	(void)state;
	crawl_start("c1", "kaspa-mainnet");
	crawl_peer("c1", "198.51.100.1:16111", ID_A, true);
	crawl_peer("c1", "[2001:db8::1]:16111", ID_B, false);
	inbound("fra", "198.51.100.9", ID_C, PRIVATE);
	finish();
	assert_int_equal(class_of(ID_A), CENSUS_PUBLIC);     /* reached */
	assert_int_equal(class_of(ID_B), CENSUS_UNKNOWN);    /* Version only */
	assert_int_equal(r.crawls, 1);
	assert_int_equal(r.crawl_reached, 1);
	assert_int_equal(r.crawl_reached_dialed, 0);
	assert_int_equal(r.public_not_reached, 0);
	assert_int_equal(r.ips, 3);          /* 2001:db8::1 without brackets */
	assert_non_null(census_name(&c.ips, 1));
	assert_string_equal(census_name(&c.ips, 1), "2001:db8::1");
	/* crawl lines carry no services: unknown, not "none" */
	assert_int_equal(r.services_unknown.nodes, 2);
	assert_int_equal(r.per_sensor[0].nodes, 1);     /* only ID_C dialed */
	check_lines(4, 4, 0, 0, 0, 0);
	assert_int_equal(c.lines.crawl_peer, 2);
	assert_int_equal(c.lines.crawl_start, 1);
}

static void test_crawl_reach_beats_private_verdicts(void **state)
{
	(void)state;
	crawl_start("c1", "kaspa-mainnet");
	inbound("fra", "198.51.100.1", ID_A, PRIVATE);
	crawl_peer("c1", "198.51.100.1:16111", ID_A, true);
	finish();
	assert_int_equal(class_of(ID_A), CENSUS_PUBLIC);
	assert_int_equal(r.crawl_reached_dialed, 1);
}

static void test_no_version_is_no_node(void **state)
{
	(void)state;
	line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":\"inbound\","
	    "\"peer_ip\":\"203.0.113.9\",\"protocol_version\":null,"
	    "\"user_agent\":null,\"network\":null,\"peer_id\":null,"
	    "\"classification\":null,\"first_bytes\":\"160301\"}", TS);
	inbound("fra", "203.0.113.9", "0a", PRIVATE);          /* short id */
	inbound("fra", "203.0.113.9", "0000000000000000000000000000000A",
	    PRIVATE);                                         /* not ours */
	finish();
	assert_int_equal(r.all.nodes, 0);
	assert_int_equal(r.ips, 0);
	check_lines(3, 0, 0, 0, 3, 0);
	assert_int_equal(r.est.method, CENSUS_EST_NONE);
}

static void test_cached_verdicts(void **state)
{
	(void)state;
	/* public, cached from a verified probe: verified */
	inbound("fra", "198.51.100.1", ID_A, "\"classification\":\"public\","
	    "\"classification_reason\":\"cached\","
	    "\"cached_reason\":\"default_port_verified\"");
	/* private, cached */
	inbound("fra", "198.51.100.2", ID_B, "\"classification\":\"private\","
	    "\"classification_reason\":\"cached\","
	    "\"cached_reason\":\"all_timeout\"");
	/* public from --no-probe-verify, cached: no proof */
	inbound("fra", "198.51.100.3", ID_C, "\"classification\":\"public\","
	    "\"classification_reason\":\"cached\","
	    "\"cached_reason\":\"advertised_open\"");
	finish();
	assert_int_equal(class_of(ID_A), CENSUS_PUBLIC);
	assert_int_equal(class_of(ID_B), CENSUS_PRIVATE);
	assert_int_equal(class_of(ID_C), CENSUS_UNKNOWN);
}

static void test_open_and_unknown_verdicts(void **state)
{
	(void)state;
	inbound("fra", "198.51.100.1", ID_A, PRIVATE);
	inbound("fra", "198.51.100.1", ID_A, UNKNOWN);   /* could not tell */
	inbound("fra", "198.51.100.1", ID_A, NO_PROBE);
	inbound("fra", "198.51.100.2", ID_B, PRIVATE);
	inbound("fra", "198.51.100.2", ID_B, PUBLIC_OPEN);   /* not every */
	inbound("fra", "198.51.100.3", ID_C, UNKNOWN);
	finish();
	assert_int_equal(class_of(ID_A), CENSUS_PRIVATE);
	assert_int_equal(class_of(ID_B), CENSUS_UNKNOWN);
	assert_int_equal(class_of(ID_C), CENSUS_UNKNOWN);
	assert_int_equal(r.per_sensor[0].nodes, 3);
	assert_int_equal(r.per_sensor[0].n[CENSUS_PRIVATE], 1);
}

static void test_two_networks(void **state)
{
	(void)state;
	inbound("fra", "198.51.100.1", ID_A, PRIVATE);
	line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":\"inbound\","
	    "\"peer_ip\":\"198.51.100.2\",\"protocol_version\":7,"
	    "\"user_agent\":\"/kaspad:1.0.1/\",\"network\":\"kaspa-testnet-10\","
	    "\"peer_id\":\"%s\",\"outcome\":\"wrong_network\","
	    "\"classification\":null}", TS, ID_B);
	crawl_start("t1", "kaspa-testnet-10");
	crawl_peer("t1", "198.51.100.3:16211", ID_C, true);
	crawl_peer("gone", "198.51.100.3:16211", ID_C, true);  /* no start */
	finish();
	assert_int_equal(r.all.nodes, 1);
	assert_int_equal(class_of(ID_A), CENSUS_PRIVATE);
	check_lines(5, 2, 0, 0, 0, 2);
	assert_int_equal(c.lines.crawl_unknown, 1);
	assert_int_equal(r.crawls, 0);
	census_result_free(&r);
	census_free(&c);

	/* the same lines, counted for the other network */
	assert_int_equal(census_init(&c, "kaspa-testnet-10", CENSUS_NO_TIME,
	    CENSUS_NO_TIME), 0);
	inbound("fra", "198.51.100.1", ID_A, PRIVATE);
	crawl_start("t1", "kaspa-testnet-10");
	crawl_peer("t1", "198.51.100.3:16211", ID_C, true);
	finish();
	assert_int_equal(r.all.nodes, 1);
	assert_int_equal(class_of(ID_C), CENSUS_PUBLIC);
	assert_int_equal(c.lines.other_network, 1);
}

static void test_window(void **state)
{
	(void)state;
	census_free(&c);
	/* [16:00:00.500, 16:00:01.000) */
	assert_int_equal(census_init(&c, "kaspa-mainnet", 1795449600500LL,
	    1795449601000LL), 0);
	const char *ts[] = { "2026-11-23T16:00:00.499999Z",
	    "2026-11-23T16:00:00.500000Z", "2026-11-23T16:00:00.999999Z",
	    "2026-11-23T16:00:01.000000Z" };
	const char *ids[] = { ID_A, ID_B, ID_C, "00000000000000000000000000000001" };
	for (int i = 0; i < 4; i++)
		line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":"
		    "\"inbound\",\"peer_ip\":\"198.51.100.1\",\"network\":"
		    "\"kaspa-mainnet\",\"peer_id\":\"%s\",%s}", ts[i], ids[i],
		    PRIVATE);
	finish();
	assert_int_equal(r.all.nodes, 2);
	assert_int_equal(c.lines.outside_window, 2);
	assert_int_equal(c.first_ms, 1795449600500LL);
	assert_int_equal(c.last_ms, 1795449600999LL);
}

static void test_bad_lines_counted_and_skipped(void **state)
{
	static const char *const bad[] = {
		"",                                       /* blank */
		"{\"ts\":\"2026-11-23T16:00:00.0",        /* torn */
		"[1,2]",                                  /* not an object */
		"{\"direction\":\"inbound\"} x",          /* trailing bytes */
		"{\"direction\":\"inbound\",}",           /* trailing comma */
		"{\"direction\":\"inbound\",\"ts\":\"yesterday\"}",
		"{\"direction\":\"inbound\"}",            /* no ts */
		"{\"ts\":\"" TS "\",\"direction\":\"inbound\",\"peer_id\":\"" ID_A
		    "\",\"network\":\"kaspa-mainnet\",\"sensor_id\":7}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		census_line(&c, bad[i], strlen(bad[i]));
	line("{\"direction\":\"announce\",\"ts\":\"%s\",\"peer_id\":\"%s\"}",
	    TS, ID_A);
	line("{\"type\":\"addresses\",\"crawl_id\":\"c1\",\"ts\":\"%s\"}", TS);
	line("{\"hello\":\"world\"}");
	finish();
	check_lines(11, 0, 8, 3, 0, 0);
	assert_int_equal(r.all.nodes, 0);
}

/* A line just over the cap (whole in the read buffer), one longer than
 * the buffer (skipped as it streams by), then one without its '\n'. */
static void test_file_long_and_unterminated_lines(void **state)
{
	size_t sizes[] = { CENSUS_LINE_MAX + 10, 3u << 20 };
	char *text = malloc(sizes[0] + sizes[1] + 1024);
	size_t n = 0;
	(void)state;
	assert_non_null(text);
	for (int i = 0; i < 2; i++) {
		n += (size_t)sprintf(text + n, "{\"pad\":\"");
		memset(text + n, 'x', sizes[i]);
		n += sizes[i];
		n += (size_t)sprintf(text + n, "\"}\n");
	}
	n += (size_t)sprintf(text + n, "{\"ts\":\"%s\",\"sensor_id\":\"fra\","
	    "\"direction\":\"inbound\",\"peer_ip\":\"198.51.100.1\",\"network\":"
	    "\"kaspa-mainnet\",\"peer_id\":\"%s\",%s}", TS, ID_A, PRIVATE);
	FILE *f = fmemopen(text, n, "r");
	assert_non_null(f);
	assert_int_equal(census_file(&c, f), 0);
	fclose(f);
	free(text);
	finish();
	check_lines(3, 1, 2, 0, 0, 0);          /* each long one once */
	assert_int_equal(class_of(ID_A), CENSUS_PRIVATE);
}

static void test_nat_ids_per_ip(void **state)
{
	(void)state;
	inbound("fra", "100.96.0.1", ID_A, PRIVATE);
	inbound("fra", "100.96.0.1", ID_B, PRIVATE);
	inbound("ams", "100.96.0.1", ID_B, PRIVATE);
	inbound("ams", "100.96.0.1", ID_C, "\"classification\":\"private\","
	    "\"classification_reason\":\"open_different_node\"");
	inbound("ams", "198.51.100.1", ID_C, PRIVATE);      /* moved */
	finish();
	assert_int_equal(r.ips, 2);
	assert_int_equal(r.max_ids_per_ip, 3);
	assert_int_equal(r.ips_by_ids[3], 1);
	assert_int_equal(r.ips_by_ids[1], 1);
	assert_int_equal(r.ips_by_ids[2], 0);
	/* sensor order is by name: ams, fra */
	assert_string_equal(census_name(&c.sensors, r.sensor_order[0]), "ams");
	assert_int_equal(r.per_sensor[r.sensor_order[0]].n[CENSUS_PRIVATE], 2);
	assert_int_equal(r.per_sensor[r.sensor_order[1]].n[CENSUS_PRIVATE], 2);
	assert_int_equal(r.overlap[0 * 2 + 1], 1);     /* ID_B at both */
	assert_int_equal(r.est.method, CENSUS_EST_CHAPMAN);
	assert_int_equal(r.est.seen, 3);
}

static void test_breakdowns(void **state)
{
	(void)state;
	line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":\"inbound\","
	    "\"peer_ip\":\"198.51.100.1\",\"protocol_version\":7,"
	    "\"user_agent\":\"/kaspad:1.0.1/\",\"network\":\"kaspa-mainnet\","
	    "\"peer_id\":\"%s\",\"services\":18446744073709551615,"
	    "\"unknown_fields\":[{\"field\":11,\"wire_type\":0,\"value\":3},"
	    "{\"field\":12,\"wire_type\":2,\"len\":3,\"hex\":\"0a0b0c\","
	    "\"truncated\":false}],\"advertised_unknown_fields\":"
	    "[{\"field\":5,\"wire_type\":0,\"value\":4001}],"
	    "\"message_unknown_fields\":[{\"field\":99,\"wire_type\":0,"
	    "\"value\":1}],%s}", TS, ID_A, PRIVATE);
	/* the same id again with another user agent and version: smallest */
	line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":\"inbound\","
	    "\"peer_ip\":\"198.51.100.1\",\"protocol_version\":6,"
	    "\"user_agent\":\"/kaspad:0.9/\",\"network\":\"kaspa-mainnet\","
	    "\"peer_id\":\"%s\",\"services\":0,%s}", TS, ID_A, PRIVATE);
	inbound("fra", "198.51.100.2", ID_B, PUBLIC_VERIFIED);
	finish();
	assert_int_equal(r.n_user_agents, 2);
	assert_string_equal(census_name(&c.user_agents, (uint32_t)
	    r.user_agents[0].key), "/kaspad:0.9/");   /* 1 node each: by name */
	assert_int_equal(r.n_protocols, 2);
	assert_int_equal(r.protocols[0].key, 6);
	assert_int_equal(r.protocols[0].c.n[CENSUS_PRIVATE], 1);
	assert_int_equal(r.protocols[1].key, 7);
	assert_int_equal(r.protocols[1].c.n[CENSUS_PUBLIC], 1);
	for (int b = 0; b < 64; b++)     /* all 64 bits exact: no doubles */
		assert_int_equal(r.service_bit[b].nodes, b == 0 ? 2 : 1);
	assert_int_equal(r.services_none.nodes, 0);
	assert_int_equal(r.n_forks, 1);
	assert_string_equal(census_name(&c.forks, (uint32_t)r.forks[0].key),
	    "version:11,12 address:5 message:99");
	assert_int_equal(r.forks_all.n[CENSUS_PRIVATE], 1);
}

static void test_one_sensor_halves(void **state)
{
	(void)state;
	const char *t[] = { "2026-11-23T16:00:00.000000Z",
	    "2026-11-23T17:00:00.000000Z", "2026-11-23T18:00:00.000000Z" };
	/* A: first half; B: both; C: second half; mid = 17:00 */
	const char *who[][2] = { { ID_A, t[0] }, { ID_B, t[0] }, { ID_B, t[2] },
	    { ID_C, t[1] } };
	for (size_t i = 0; i < 4; i++)
		line("{\"ts\":\"%s\",\"sensor_id\":\"fra\",\"direction\":"
		    "\"inbound\",\"peer_ip\":\"198.51.100.1\",\"network\":"
		    "\"kaspa-mainnet\",\"peer_id\":\"%s\",%s}", who[i][1],
		    who[i][0], PRIVATE);
	finish();
	assert_true(r.est.halves);
	assert_int_equal(r.sample[0], 2);
	assert_int_equal(r.sample[1], 2);
	assert_int_equal(r.est.both, 1);
	assert_int_equal(r.est.method, CENSUS_EST_CHAPMAN);
	assert_true(fabs(r.est.n_hat - (3.0 * 3.0 / 2.0 - 1)) < 1e-9);
}

static void test_sensor_cap(void **state)
{
	char name[16];
	(void)state;
	for (int s = 0; s <= CENSUS_SENSORS_MAX; s++) {
		snprintf(name, sizeof name, "s%03d", s);
		inbound(name, "198.51.100.1", ID_A, PRIVATE);
	}
	finish();
	assert_int_equal(c.sensors.n, CENSUS_SENSORS_MAX);
	assert_int_equal(c.lines.sensor_over_cap, 1);
	assert_int_equal(c.lines.used, CENSUS_SENSORS_MAX + 1);
	assert_false(r.exact);
	assert_int_equal(r.all.nodes, 1);
}

/* ---- estimators ---- */

static void test_chapman(void **state)
{
	struct census_estimate e;
	(void)state;
	census_chapman(100, 80, 40, &e);
	assert_int_equal(e.method, CENSUS_EST_CHAPMAN);
	assert_int_equal(e.seen, 140);
	/* (101 * 81) / 41 - 1 */
	assert_true(fabs(e.n_hat - (101.0 * 81.0 / 41.0 - 1)) < 1e-9);
	double var = 101.0 * 81 * 60 * 40 / (41.0 * 41 * 42);
	assert_true(fabs(e.se - sqrt(var)) < 1e-9);
	assert_true(e.lo > (double)e.seen && e.lo < e.n_hat && e.hi > e.n_hat);
	census_chapman(10, 12, 0, &e);
	assert_int_equal(e.method, CENSUS_EST_NONE);
	assert_non_null(e.why_none);
	assert_int_equal(e.seen, 22);
	census_chapman(10, 10, 10, &e);          /* both saw the same ids */
	assert_true(fabs(e.n_hat - 10) < 1e-9 && e.lo == e.hi);
}

static void test_darroch(void **state)
{
	struct census_estimate e;
	(void)state;
	/* two samples: the M_t MLE is Lincoln-Petersen n1 n2 / m */
	uint64_t two[] = { 100, 100 };
	census_darroch(two, 2, 150, &e);
	assert_int_equal(e.method, CENSUS_EST_DARROCH);
	assert_true(fabs(e.n_hat - 200) < 1e-6);
	assert_true(fabs(e.se * e.se - 200) < 1e-3);   /* n1n2(n1-m)(n2-m)/m^3 */
	/* three: solves 1 - r/N = prod(1 - n_i/N) */
	uint64_t three[] = { 60, 50, 40 };
	census_darroch(three, 3, 110, &e);
	double N = e.n_hat, lhs = 1 - 110 / N;
	double rhs = (1 - 60 / N) * (1 - 50 / N) * (1 - 40 / N);
	assert_true(fabs(lhs - rhs) < 1e-9);
	assert_true(e.lo < N && N < e.hi && e.lo > 110);
	assert_int_equal(e.recaptures, 40);
	/* no id twice */
	uint64_t apart[] = { 5, 6, 7 };
	census_darroch(apart, 3, 18, &e);
	assert_int_equal(e.method, CENSUS_EST_NONE);
	/* one sample saw every id seen */
	uint64_t all[] = { 9, 4, 2 };
	census_darroch(all, 3, 9, &e);
	assert_true(fabs(e.n_hat - 9) < 1e-9 && e.lo == 9 && e.hi == 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_rules),
		cmocka_unit_test_setup_teardown(test_conflicting_listed_not_hidden,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_crawl_only_node, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_crawl_reach_beats_private_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_version_is_no_node, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cached_verdicts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_and_unknown_verdicts,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines_counted_and_skipped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_long_and_unterminated_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_ids_per_ip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_breakdowns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_sensor_halves, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sensor_cap, setup, teardown),
		cmocka_unit_test(test_chapman),
		cmocka_unit_test(test_darroch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
