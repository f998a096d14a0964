/* report.c - see report.h. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decimal.h"
#include "json_write.h"
#include "jsonr.h"

#define STR_MAX ADDR_TEXT_MAX  /* longest string member we keep */
#define UNIX_SECONDS_MAX 999999999999ull   /* 12 digits */
#define CRAWLS_FIRST 8     /* crawl table slots at first; doubles when full */

_Static_assert(REPORT_LINE_MAX >= JSON_LINE_MAX,
    "report must take every line a crawl can write");

/* ---- one line's members, read with jsonr.h ---- */

struct line {
	char type[STR_MAX], crawl_id[STR_MAX], ts[STR_MAX], from[STR_MAX];
	uint64_t seq, part;
	bool reachable, has_addresses;
	bool in_watch[REPORT_WATCH_MAX];    /* crawl_start: watch[] */
	bool in_list[REPORT_WATCH_MAX];     /* watched[] or addresses[] */
};

/* The line's text: one JSON object, checked whole before any member is
 * read, so a member lookup that fails means the member is absent. */
struct text {
	const char *s;
	size_t n;
};

static long member(const struct text *t, const char *key)
{
	return jsonr_member(t->s, t->n, 0, key);
}

/* A string member into out; absent: "".  -1 if it is not a string of
 * fewer than STR_MAX bytes (none of the ones we keep is longer). */
static int str_member(const struct text *t, const char *key,
    char out[STR_MAX])
{
	long v = member(t, key);
	size_t len;

	out[0] = '\0';
	if (v < 0)
		return 0;
	return jsonr_string(t->s, t->n, (size_t)v, out, STR_MAX, &len) < 0 ?
	    -1 : 0;
}

/* An unsigned integer member; absent, null or not a number counts as 0.
 * -1 for a number that is no uint64 (fraction, exponent, overflow). */
static int uint_member(const struct text *t, const char *key, uint64_t *v)
{
	long at = member(t, key);

	*v = 0;
	if (at < 0 || t->s[at] < '0' || t->s[at] > '9')
		return 0;
	return jsonr_u64(t->s, t->n, (size_t)at, v) < 0 ? -1 : 0;
}

static int watch_index(const struct report *r, const char *s)
{
	for (unsigned w = 0; w < r->n_watch; w++)
		if (strcmp(r->watch[w], s) == 0)
			return (int)w;
	return -1;
}

/* The array of address strings at index v: each watched one is marked
 * in `marks`.  Anything but an array (null) marks nothing; an element
 * that is not a string makes the line unusable (-1). */
static int mark_watched(const struct report *r, const struct text *t,
    long v, bool *marks)
{
	struct jsonr_iter it;
	char a[STR_MAX];
	size_t e, len;
	int more;

	if (v < 0 || t->s[v] != '[')
		return 0;
	jsonr_iter_begin(&it, t->s, t->n, (size_t)v);
	while ((more = jsonr_iter_next(&it, t->s, t->n, NULL, 0, &e)) == 1) {
		long next = jsonr_skip(t->s, t->n, e);
		if (t->s[e] != '"' || next < 0)
			return -1;
		/* One too long for a is no watched address. */
		if (jsonr_string(t->s, t->n, e, a, sizeof a, &len) >= 0) {
			int w = watch_index(r, a);
			if (w >= 0)
				marks[w] = true;
		}
		it.next = (size_t)next;
	}
	return more;     /* 0 at the ']', -1 if malformed */
}

/* The members its type needs; -1 if the line is unusable. */
static int parse_line(const struct report *r, const char *s, size_t len,
    struct line *ln)
{
	struct text t = { s, len };
	size_t start = jsonr_ws(s, len, 0);
	long end = jsonr_skip(s, len, 0);

	memset(ln, 0, sizeof *ln);
	if (end < 0 || s[start] != '{' || jsonr_ws(s, len, (size_t)end) != len ||
	    str_member(&t, "type", ln->type) != 0 || ln->type[0] == '\0' ||
	    str_member(&t, "crawl_id", ln->crawl_id) != 0 ||
	    str_member(&t, "ts", ln->ts) != 0)
		return -1;
	if (strcmp(ln->type, "crawl_start") == 0)
		return mark_watched(r, &t, member(&t, "watch"), ln->in_watch);
	if (strcmp(ln->type, "peer") == 0) {
		long v = member(&t, "reachable");
		ln->reachable = v >= 0 && s[v] == 't';     /* true */
		return 0;
	}
	if (strcmp(ln->type, "addresses") != 0)
		return 0;
	long list = member(&t, "addresses");    /* peer lines: a number */
	ln->has_addresses = list >= 0 && s[list] == '[';
	if (str_member(&t, "from", ln->from) != 0 ||
	    uint_member(&t, "seq", &ln->seq) != 0 ||
	    uint_member(&t, "part", &ln->part) != 0 ||
	    mark_watched(r, &t, member(&t, "watched"), ln->in_list) != 0)
		return -1;
	return mark_watched(r, &t, list, ln->in_list);
}

/* ---- time ---- */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* A fixed-width field of digits, e.g. the month at s[5..7). */
static bool field(const char *s, size_t width, uint64_t max, int64_t *v)
{
	uint64_t u;

	if (decimal_parse(s, width, 0, max, &u) != 0)
		return false;
	*v = (int64_t)u;
	return true;
}

int report_parse_time(const char *s, size_t len, int64_t *ms)
{
	int64_t y, mo, d, h, mi, sec, v;

	if (field(s, len, UNIX_SECONDS_MAX, &v)) {
		*ms = v * 1000;
		return 0;
	}
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[len - 1] != 'Z' ||
	    !field(s, 4, 9999, &y) || !field(s + 5, 2, 12, &mo) ||
	    !field(s + 8, 2, 31, &d) || !field(s + 11, 2, 23, &h) ||
	    !field(s + 14, 2, 59, &mi) || !field(s + 17, 2, 60, &sec) ||
	    mo < 1 || d < 1)
		return -1;
	int64_t frac_ms = 0;
	size_t i = 19;
	if (s[i] == '.') {
		int64_t scale = 100;
		for (i++; i < len - 1; i++, scale /= 10) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			frac_ms += (s[i] - '0') * scale;
		}
	}
	if (i != len - 1)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	    sec * 1000 + frac_ms;
	return 0;
}

/* ---- unique (tag, peer) pairs ---- */

static uint32_t set_hash(uint32_t tag, const char *s)
{
	uint32_t h = 2166136261u ^ tag;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ tag) * 16777619u;
}

static int set_grow(struct report_set *set)
{
	uint32_t cap = set->cap ? set->cap * 2 : 1024;
	struct report_set_entry *e = calloc(cap, sizeof *e);

	if (e == NULL)
		return -1;
	for (uint32_t i = 0; i < set->cap; i++) {
		if (set->e[i].tag == 0)
			continue;
		uint32_t k = set_hash(set->e[i].tag, set->e[i].s) & (cap - 1);
		while (e[k].tag != 0)
			k = (k + 1) & (cap - 1);
		e[k] = set->e[i];
	}
	free(set->e);
	set->e = e;
	set->cap = cap;
	return 0;
}

/* Insert; true if (tag, s) was new. */
static bool set_add(struct report_set *set, uint32_t tag, const char *s)
{
	if ((set->used + 1) * 2 > set->cap &&
	    (set->cap >= REPORT_SET_MAX || set_grow(set) != 0)) {
		set->full = true;     /* counts from here on are lower bounds */
		return false;
	}
	uint32_t k = set_hash(tag, s) & (set->cap - 1);
	while (set->e[k].tag != 0) {
		if (set->e[k].tag == tag && strcmp(set->e[k].s, s) == 0)
			return false;
		k = (k + 1) & (set->cap - 1);
	}
	set->e[k].tag = tag;
	snprintf(set->e[k].s, sizeof set->e[k].s, "%s", s);
	set->used++;
	return true;
}

/* Tags: per crawl, "replied" and "advertised W"; overall "advertised W". */
static uint32_t tag_replied(unsigned crawl)
{
	return 1 + crawl * (REPORT_WATCH_MAX + 1);
}

static uint32_t tag_advertised(unsigned crawl, unsigned w)
{
	return tag_replied(crawl) + 1 + w;
}

static uint32_t tag_overall(unsigned w)
{
	return tag_replied(REPORT_CRAWLS_MAX) + w;
}

/* ---- accumulating ---- */

static void cell_init(struct report_cell *c)
{
	memset(c, 0, sizeof *c);
	c->first_seen_ms = REPORT_NO_TIME;
}

static void seen_at(int64_t *first, int64_t ts)
{
	if (ts != REPORT_NO_TIME &&
	    (*first == REPORT_NO_TIME || ts < *first))
		*first = ts;
}

/* Room for one more crawl: double the table, up to REPORT_CRAWLS_MAX
 * (most reports read a few crawls; the full table is 640 KB). */
static int crawls_room(struct report *r)
{
	if (r->n_crawls < r->crawls_cap)
		return 0;
	if (r->crawls_cap >= REPORT_CRAWLS_MAX)
		return -1;
	unsigned cap = r->crawls_cap * 2;
	if (cap > REPORT_CRAWLS_MAX)
		cap = REPORT_CRAWLS_MAX;
	struct report_crawl *c = realloc(r->crawls, cap * sizeof *c);
	if (c == NULL)
		return -1;
	r->crawls = c;
	r->crawls_cap = cap;
	return 0;
}

/* The crawl a line belongs to, created on first sight; -1 if full. */
static int crawl_of(struct report *r, const struct line *ln, int64_t ts)
{
	for (unsigned i = 0; i < r->n_crawls; i++)
		if (strcmp(r->crawls[i].id, ln->crawl_id) == 0)
			return (int)i;
	if (crawls_room(r) != 0)
		return -1;
	struct report_crawl *c = &r->crawls[r->n_crawls];
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", ln->crawl_id);
	c->start_ms = ts;
	for (unsigned w = 0; w < REPORT_WATCH_MAX; w++)
		cell_init(&c->cell[w]);
	return (int)r->n_crawls++;
}

static void close_reply(struct report *r)
{
	struct report_reply *rp = &r->reply;
	struct report_crawl *c;

	if (!rp->open)
		return;
	rp->open = false;
	c = &r->crawls[rp->crawl];
	c->replies++;
	if (set_add(&r->set, tag_replied(rp->crawl), rp->from))
		c->peers_replying++;
	for (unsigned w = 0; w < r->n_watch; w++) {
		struct report_cell *cell = &c->cell[w];
		if (!rp->checked[w])
			continue;
		cell->checked++;
		if (!rp->present[w])
			continue;
		cell->with++;
		seen_at(&cell->first_seen_ms, rp->ts_ms);
		if (set_add(&r->set, tag_advertised(rp->crawl, w), rp->from))
			cell->advertisers++;
		if (set_add(&r->set, tag_overall(w), rp->from))
			r->total[w].advertisers++;
	}
}

static void on_reply(struct report *r, unsigned ci, const struct line *ln,
    int64_t ts)
{
	struct report_reply *rp = &r->reply;
	bool continues = rp->open && ln->part > 0 && rp->crawl == ci &&
	    rp->seq == ln->seq && strcmp(rp->from, ln->from) == 0;

	if (!continues) {
		close_reply(r);
		memset(rp, 0, sizeof *rp);
		rp->open = true;
		rp->crawl = ci;
		rp->seq = ln->seq;
		rp->ts_ms = ts;
		snprintf(rp->from, sizeof rp->from, "%s", ln->from);
	}
	for (unsigned w = 0; w < r->n_watch; w++) {
		rp->checked[w] |= r->crawls[ci].watch_listed[w] ||
		    ln->has_addresses;
		rp->present[w] |= ln->in_list[w];
	}
}

int report_line(struct report *r, const char *s, size_t len)
{
	struct line ln;
	int64_t ts = REPORT_NO_TIME;
	int ci;

	r->lines++;
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > REPORT_LINE_MAX || parse_line(r, s, len, &ln) != 0 ||
	    (ln.ts[0] && report_parse_time(ln.ts, strlen(ln.ts), &ts) != 0) ||
	    (ci = crawl_of(r, &ln, ts)) < 0) {
		r->skipped++;
		return -1;
	}
	struct report_crawl *c = &r->crawls[ci];
	if (strcmp(ln.type, "crawl_start") == 0) {
		close_reply(r);
		c->start_ms = ts;
		memcpy(c->watch_listed, ln.in_watch, sizeof c->watch_listed);
	} else if (strcmp(ln.type, "peer") == 0) {
		c->visited++;
		c->reachable += ln.reachable;
	} else if (strcmp(ln.type, "addresses") == 0 && ln.from[0]) {
		on_reply(r, (unsigned)ci, &ln, ts);
	}
	return 0;
}

void report_file(struct report *r, FILE *f)
{
	char *buf = r->line_buf;

	while (fgets(buf, sizeof r->line_buf, f) != NULL) {
		size_t len = strlen(buf);
		if (len == sizeof r->line_buf - 1 && buf[len - 1] != '\n') {
			int ch;        /* too long: skip the rest of it */
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			r->lines++;
			r->skipped++;
			continue;
		}
		report_line(r, buf, len);
	}
	close_reply(r);
}

static int by_start(const void *a, const void *b)
{
	const struct report_crawl *x = a, *y = b;
	return (x->start_ms > y->start_ms) - (x->start_ms < y->start_ms);
}

void report_finish(struct report *r)
{
	close_reply(r);
	/* Unique counts are already in; keep each crawl's own numbers. */
	qsort(r->crawls, r->n_crawls, sizeof *r->crawls, by_start);
	for (unsigned w = 0; w < r->n_watch; w++) {
		struct report_cell *t = &r->total[w];
		for (unsigned i = 0; i < r->n_crawls; i++) {
			const struct report_cell *c = &r->crawls[i].cell[w];
			t->checked += c->checked;
			t->with += c->with;
			seen_at(&t->first_seen_ms, c->first_seen_ms);
			r->crawls_seen[w] += c->with > 0;
		}
	}
}

int report_init(struct report *r, const char *const *watch, unsigned n,
    int64_t since_ms)
{
	memset(r, 0, sizeof *r);
	if (n > REPORT_WATCH_MAX)
		return -1;
	for (unsigned w = 0; w < n; w++) {
		struct ip_key ip;
		uint16_t port;
		if (addr_parse(watch[w], &ip, &port) != 0)
			return -1;
		addr_text(&ip, port, r->watch[w], ADDR_TEXT_MAX);
		cell_init(&r->total[w]);
	}
	r->n_watch = n;
	r->since_ms = since_ms;
	r->crawls = malloc(CRAWLS_FIRST * sizeof *r->crawls);
	r->crawls_cap = r->crawls == NULL ? 0 : CRAWLS_FIRST;
	return r->crawls == NULL ? -1 : 0;
}

void report_free(struct report *r)
{
	free(r->crawls);
	free(r->set.e);
	r->crawls = NULL;
	r->set.e = NULL;
}

/* ---- output ---- */

static double share(const struct report_cell *c)
{
	return c->checked ? 100.0 * (double)c->with / (double)c->checked : 0.0;
}

static void fmt_time(int64_t ms, char *out, size_t cap)
{
	if (ms == REPORT_NO_TIME) {
		snprintf(out, cap, "-");
		return;
	}
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Seconds after --since, or "-". */
static void fmt_after(const struct report *r, int64_t ms, char *out,
    size_t cap)
{
	if (ms == REPORT_NO_TIME || r->since_ms == REPORT_NO_TIME)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%+.1f", (double)(ms - r->since_ms) / 1000.0);
}

static void table_row(const struct report *r, FILE *f, const char *name,
    int64_t start, uint64_t visited, uint64_t reachable,
    const struct report_cell *c)
{
	char when[32], first[32], after[32];
	fmt_time(start, when, sizeof when);
	fmt_time(c->first_seen_ms, first, sizeof first);
	fmt_after(r, c->first_seen_ms, after, sizeof after);
	fprintf(f, "  %-16.16s %-20s %7llu %7llu %8llu %7llu %6.2f%% %7u"
	    "  %-20s %s\n", name, when, (unsigned long long)visited,
	    (unsigned long long)reachable, (unsigned long long)c->checked,
	    (unsigned long long)c->with, share(c), c->advertisers, first, after);
}

void report_print_table(const struct report *r, FILE *f)
{
	for (unsigned w = 0; w < r->n_watch; w++) {
		uint64_t visited = 0, reachable = 0;
		fprintf(f, "watched %s: in %u of %u crawls\n", r->watch[w],
		    r->crawls_seen[w], r->n_crawls);
		fprintf(f, "  %-16s %-20s %7s %7s %8s %7s %7s %7s  %-20s %s\n",
		    "crawl", "start", "visited", "reach", "replies", "with",
		    "share", "peers", "first_seen", "after_since_s");
		for (unsigned i = 0; i < r->n_crawls; i++) {
			const struct report_crawl *c = &r->crawls[i];
			visited += c->visited;
			reachable += c->reachable;
			if (!c->cell[w].checked && !c->watch_listed[w])
				fprintf(f, "  %-16.16s (not checked for it)\n",
				    c->id);
			else
				table_row(r, f, c->id, c->start_ms, c->visited,
				    c->reachable, &c->cell[w]);
		}
		table_row(r, f, "all", r->n_crawls ? r->crawls[0].start_ms :
		    REPORT_NO_TIME, visited, reachable, &r->total[w]);
	}
	fprintf(f, "%llu lines read, %llu skipped%s\n",
	    (unsigned long long)r->lines, (unsigned long long)r->skipped,
	    r->set.full ? "; peer set full, unique counts are lower bounds" : "");
}

static void json_cell(const struct report *r, FILE *f,
    const struct report_cell *c)
{
	char first[32];
	fmt_time(c->first_seen_ms, first, sizeof first);
	fprintf(f, "\"replies\":%llu,\"replies_with\":%llu,\"share\":%.4f,"
	    "\"advertisers\":%u,", (unsigned long long)c->checked,
	    (unsigned long long)c->with, share(c) / 100.0, c->advertisers);
	if (c->first_seen_ms == REPORT_NO_TIME) {
		fprintf(f, "\"first_seen\":null,\"first_seen_after_since_s\":null");
		return;
	}
	fprintf(f, "\"first_seen\":\"%s\",\"first_seen_after_since_s\":", first);
	if (r->since_ms == REPORT_NO_TIME)
		fprintf(f, "null");
	else
		fprintf(f, "%.3f", (double)(c->first_seen_ms - r->since_ms) / 1000.0);
}

void report_print_json(const struct report *r, FILE *f)
{
	char when[32];

	fprintf(f, "{\"lines\":%llu,\"skipped\":%llu,\"crawls\":%u,"
	    "\"unique_counts_exact\":%s,\"watch\":[",
	    (unsigned long long)r->lines, (unsigned long long)r->skipped,
	    r->n_crawls, r->set.full ? "false" : "true");
	for (unsigned w = 0; w < r->n_watch; w++) {
		fprintf(f, "%s{\"address\":\"%s\",\"crawls_seen\":%u,\"total\":{",
		    w ? "," : "", r->watch[w], r->crawls_seen[w]);
		json_cell(r, f, &r->total[w]);
		fprintf(f, "},\"trend\":[");
		for (unsigned i = 0; i < r->n_crawls; i++) {
			const struct report_crawl *c = &r->crawls[i];
			fmt_time(c->start_ms, when, sizeof when);
			fprintf(f, "%s{\"crawl_id\":\"%s\",\"start\":\"%s\","
			    "\"visited\":%llu,\"reachable\":%llu,"
			    "\"peers_replying\":%u,\"checked\":%s,", i ? "," : "",
			    c->id, when, (unsigned long long)c->visited,
			    (unsigned long long)c->reachable, c->peers_replying,
			    c->cell[w].checked || c->watch_listed[w] ?
			    "true" : "false");
			json_cell(r, f, &c->cell[w]);
			fprintf(f, "}");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "]}\n");
}

/* ---- command ---- */

static int report_usage(FILE *f, int rc)
{
	fprintf(f, "usage: kaspa-sensor report --watch IP:PORT... [--since TIME]"
	    " [--json] FILE...\n"
	    "How often crawls saw each watched address in Addresses replies.\n"
	    "  --watch IP:PORT  address to report on, repeatable (max %d)\n"
	    "  --since TIME     sensor start, RFC 3339 UTC or Unix seconds:\n"
	    "                   first sightings are also given relative to it\n"
	    "  --json           one JSON object instead of the table\n",
	    REPORT_WATCH_MAX);
	return rc;
}

int report_main(int argc, char **argv)
{
	static struct report r;
	const char *watch[REPORT_WATCH_MAX];
	const char *files[256];
	unsigned n_watch = 0, n_files = 0;
	int64_t since = REPORT_NO_TIME;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return report_usage(stdout, 0);
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--watch") == 0 && i + 1 < argc &&
		    n_watch < REPORT_WATCH_MAX) {
			watch[n_watch++] = argv[++i];
		} else if (strcmp(a, "--since") == 0 && i + 1 < argc) {
			const char *t = argv[++i];
			if (report_parse_time(t, strlen(t), &since) != 0) {
				fprintf(stderr, "kaspa-sensor report: bad --since"
				    " '%s'\n", t);
				return 2;
			}
		} else if (a[0] != '-' && n_files < sizeof files / sizeof *files) {
			files[n_files++] = a;
		} else {
			fprintf(stderr, "kaspa-sensor report: bad argument '%s'\n", a);
			return report_usage(stderr, 2);
		}
	}
	if (n_watch == 0 || n_files == 0)
		return report_usage(stderr, 2);
	if (report_init(&r, watch, n_watch, since) != 0) {
		fprintf(stderr, "kaspa-sensor report: bad --watch address or out"
		    " of memory\n");
		return 2;
	}
	for (unsigned i = 0; i < n_files; i++) {
		FILE *f = fopen(files[i], "r");
		if (f == NULL) {
			fprintf(stderr, "kaspa-sensor report: %s: %s\n", files[i],
			    strerror(errno));
			report_free(&r);
			return 1;
		}
		report_file(&r, f);
		fclose(f);
	}
	report_finish(&r);
	if (json)
		report_print_json(&r, stdout);
	else
		report_print_table(&r, stdout);
	report_free(&r);
	return 0;
}
