/* census_out.c - the census as a table for people or one JSON object for
 * programs, and `kaspa-sensor census` itself (see census.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "census.h"
#include "hex.h"
#include "json_write.h"
#include "report.h"
#include "version.h"

static const char identity[] = "a node is its Version id (peer_id): a"
    " restarted node gets a new id and is counted again";

static const char assumptions[] = "the private node ids are a closed"
    " population over the window (none appears or goes), and each sample"
    " sees each id independently of the other samples, with the same"
    " chance for every id; a restart breaks both: the node comes back with"
    " a new id, so the estimate counts ids (more than nodes), and an id"
    " alive for part of the window is less likely to be seen, so ids are"
    " underestimated (two halves of one sensor: an id that changed in the"
    " middle looks like two ids each seen once, overestimated)";

static const char *const sample_kind[] = { "sensors", "halves of the window" };

static void time_text(int64_t ms, char out[JSON_TIMESTAMP_LEN])
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	json_timestamp(out, &t);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

static const char *method_name(enum census_method m)
{
	return m == CENSUS_EST_CHAPMAN ? "chapman" :
	    m == CENSUS_EST_DARROCH ? "darroch_mt" : NULL;
}

/* Sample i's name: a sensor id, or which half. */
static const char *sample_name(const struct census *c,
    const struct census_result *r, unsigned i)
{
	if (r->est.halves)
		return i == 0 ? "first_half" : "second_half";
	return census_name(&c->sensors, i);
}

/* The i-th sample to show: sensors by name, halves in order. */
static unsigned sample_at(const struct census_result *r, unsigned i)
{
	return r->est.halves ? i : r->sensor_order[i];
}

static uint64_t overlap_of(const struct census *c,
    const struct census_result *r, uint32_t a, uint32_t b)
{
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	return r->overlap[(size_t)lo * c->sensors.n + hi];
}

/* One row of the overlap list, for the table and the JSON alike. */
struct overlap {
	uint32_t i, k;          /* the pair's places in sensor_order */
	const char *a, *b;      /* their sensor ids */
	uint64_t both;          /* private ids both saw */
};

/* The next sensor pair in report order into *o (start from all zero);
 * false after the last. */
static bool next_overlap(const struct census *c,
    const struct census_result *r, struct overlap *o)
{
	uint32_t ns = c->sensors.n;

	if (++o->k >= ns)
		o->k = ++o->i + 1;
	if (o->k >= ns)
		return false;
	uint32_t a = r->sensor_order[o->i], b = r->sensor_order[o->k];
	o->a = census_name(&c->sensors, a);
	o->b = census_name(&c->sensors, b);
	o->both = overlap_of(c, r, a, b);
	return true;
}

/* ---- JSON ---- */

/* A built object after sep, without the line builder's '\n'; members:
 * its members only, to go on in an object being written. */
static void put_built(FILE *f, struct json_line *j, const char *sep,
    bool members)
{
	if (json_end(j) == 0)
		fprintf(f, "%s%.*s", sep, (int)j->len - (members ? 3 : 1),
		    j->buf + members);
}

static void put_object(FILE *f, struct json_line *j, const char *sep)
{
	put_built(f, j, sep, false);
}

static void json_counts(struct json_line *j, const struct census_counts *c)
{
	json_u64(j, "nodes", c->nodes);
	for (int k = 0; k < CENSUS_CLASSES; k++)
		json_u64(j, census_class_name((enum census_class)k), c->n[k]);
}

static void counts_object(FILE *f, struct json_line *j, const char *key,
    const struct census_counts *c)
{
	json_begin(j);
	json_counts(j, c);
	fprintf(f, "\"%s\":", key);
	put_object(f, j, "");
}

static void json_time_or_null(struct json_line *j, const char *key,
    int64_t ms)
{
	char t[JSON_TIMESTAMP_LEN];
	if (ms == CENSUS_NO_TIME) {
		json_null(j, key);
		return;
	}
	time_text(ms, t);
	json_str(j, key, t);
}

static void json_head(const struct census *c,
    const struct census_result *r, struct json_line *j, FILE *f)
{
	const struct census_lines *l = &c->lines;
	const uint64_t *line_counts[] = { &l->read, &l->used, &l->inbound,
	    &l->crawl_peer, &l->crawl_start, &l->bad, &l->other_kind,
	    &l->outside_window, &l->no_id, &l->other_network,
	    &l->crawl_unknown, &l->sensor_over_cap };
	static const char *const line_names[] = { "read", "used", "inbound",
	    "crawl_peer", "crawl_start", "bad", "other_kind",
	    "outside_window", "no_id", "other_network", "crawl_unknown",
	    "sensor_over_cap" };

	json_begin(j);
	json_str(j, "network", c->network);
	json_str(j, "node_identity", identity);
	json_bool(j, "exact", r->exact);
	fprintf(f, "{");
	put_built(f, j, "", true);
	fprintf(f, ",\"window\":");
	json_begin(j);
	json_time_or_null(j, "since", c->since_ms);
	json_time_or_null(j, "until", c->until_ms);
	json_time_or_null(j, "first", c->first_ms);
	json_time_or_null(j, "last", c->last_ms);
	put_object(f, j, "");
	fprintf(f, ",\"lines\":");
	json_begin(j);
	for (size_t i = 0; i < sizeof line_names / sizeof *line_names; i++)
		json_u64(j, line_names[i], *line_counts[i]);
	put_object(f, j, "");
	fprintf(f, ",\"caps\":{\"nodes\":%u,\"ips\":%u,\"ip_id_pairs\":%u,"
	    "\"sensors\":%u,\"names\":%u,\"nodes_refused\":%llu}",
	    CENSUS_NODES_MAX, CENSUS_IPS_MAX, CENSUS_PAIRS_MAX,
	    CENSUS_SENSORS_MAX, CENSUS_NAMES_MAX,
	    (unsigned long long)c->nodes_refused);
}

static void json_classes(const struct census *c,
    const struct census_result *r, struct json_line *j, FILE *f)
{
	char hex[2 * CENSUS_ID_LEN + 1];
	const char *sep = "";

	fprintf(f, ",");
	counts_object(f, j, "nodes", &r->all);
	fprintf(f, ",\"shares\":{");
	for (int k = 0; k < CENSUS_CLASSES; k++)
		fprintf(f, "%s\"%s\":%.6f", k ? "," : "",
		    census_class_name((enum census_class)k),
		    share(r->all.n[k], r->all.nodes));
	fprintf(f, "},\"conflicting\":[");
	for (uint32_t k = 0; k < c->n_nodes; k++) {
		if (r->class_of[k] != CENSUS_CONFLICTING)
			continue;
		hex_text(hex, c->node[k].id, CENSUS_ID_LEN);
		fprintf(f, "%s\"%s\"", sep, hex);
		sep = ",";
	}
	fprintf(f, "],\"ips\":{\"distinct\":%llu,\"max_ids_per_ip\":%u,"
	    "\"ids_per_ip\":[", (unsigned long long)r->ips, r->max_ids_per_ip);
	sep = "";
	for (uint32_t k = 1; k <= r->max_ids_per_ip; k++) {
		if (r->ips_by_ids[k] == 0)
			continue;
		fprintf(f, "%s{\"ids\":%u,\"ips\":%llu}", sep, k,
		    (unsigned long long)r->ips_by_ids[k]);
		sep = ",";
	}
	fprintf(f, "]}");
}

/* A breakdown: one object per row, its name under `key`. */
static void json_rows(FILE *f, struct json_line *j, const char *key,
    const struct census_names *t, const struct census_row *row, size_t n)
{

	for (size_t i = 0; i < n; i++) {
		json_begin(j);
		if (row[i].key == CENSUS_NONE)
			json_null(j, key);
		else if (t == NULL)
			json_u64(j, key, row[i].key);
		else
			json_str(j, key, census_name(t, (uint32_t)row[i].key));
		json_counts(j, &row[i].c);
		put_object(f, j, i ? "," : "");
	}
}

static void json_breakdowns(const struct census *c,
    const struct census_result *r, struct json_line *j, FILE *f)
{
	const char *sep = "";

	fprintf(f, ",\"user_agents\":[");
	json_rows(f, j, "user_agent", &c->user_agents, r->user_agents,
	    r->n_user_agents);
	fprintf(f, "],\"protocol_versions\":[");
	json_rows(f, j, "protocol_version", NULL, r->protocols, r->n_protocols);
	fprintf(f, "],\"services\":{\"bits\":[");
	for (int b = 0; b < 64; b++) {
		if (r->service_bit[b].nodes == 0)
			continue;
		json_begin(j);
		json_u64(j, "bit", (uint64_t)b);
		json_counts(j, &r->service_bit[b]);
		put_object(f, j, sep);
		sep = ",";
	}
	fprintf(f, "],");
	counts_object(f, j, "none", &r->services_none);
	fprintf(f, ",");
	counts_object(f, j, "unknown", &r->services_unknown);
	fprintf(f, "},\"forks\":{");
	counts_object(f, j, "all", &r->forks_all);
	fprintf(f, ",\"signatures\":[");
	json_rows(f, j, "fields", &c->forks, r->forks, r->n_forks);
	fprintf(f, "]}");
}

static void json_sensors(const struct census *c,
    const struct census_result *r, struct json_line *j, FILE *f)
{
	uint32_t ns = c->sensors.n;
	const char *sep = "";

	fprintf(f, ",\"sensors\":[");
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t s = r->sensor_order[i];
		json_begin(j);
		json_str(j, "sensor_id", census_name(&c->sensors, s));
		json_counts(j, &r->per_sensor[s]);
		put_object(f, j, i ? "," : "");
	}
	fprintf(f, "],\"private_overlap\":[");
	for (struct overlap o = { 0 }; next_overlap(c, r, &o); sep = ",") {
		json_begin(j);
		json_str(j, "a", o.a);
		json_str(j, "b", o.b);
		json_u64(j, "both", o.both);
		put_object(f, j, sep);
	}
	fprintf(f, "],\"crawl\":");
	json_begin(j);
	json_u64(j, "crawls", r->crawls);
	json_u64(j, "reached", r->crawl_reached);
	json_u64(j, "reached_dialed_a_sensor", r->crawl_reached_dialed);
	json_u64(j, "public_not_reached", r->public_not_reached);
	put_object(f, j, "");
}

static void json_estimate(const struct census *c,
    const struct census_result *r, struct json_line *j, FILE *f)
{
	const struct census_estimate *e = &r->est;
	const char *m = method_name(e->method);

	fprintf(f, ",\"estimate\":");
	json_begin(j);
	json_str(j, "population", "private node ids");
	json_str(j, "samples", sample_kind[e->halves]);
	json_str(j, "method", m);
	json_u64(j, "k", e->k);
	json_u64(j, "seen", e->seen);
	json_u64(j, "recaptures", e->recaptures);
	json_time_or_null(j, "halves_meet", e->halves ? r->mid_ms :
	    CENSUS_NO_TIME);
	json_str(j, "why_none", m ? NULL : e->why_none);
	json_str(j, "assumptions", assumptions);
	fprintf(f, "{");
	put_built(f, j, "", true);
	if (m)
		fprintf(f, ",\"estimate\":%.2f,\"se\":%.2f,\"ci95\":[%.2f,%.2f]",
		    e->n_hat, e->se, e->lo, e->hi);
	else
		fprintf(f, ",\"estimate\":null,\"se\":null,\"ci95\":null");
	fprintf(f, ",\"sample_sizes\":[");
	for (unsigned i = 0; i < e->k; i++) {
		unsigned s = sample_at(r, i);
		json_begin(j);
		json_str(j, "sample", sample_name(c, r, s));
		json_u64(j, "private", r->sample[s]);
		put_object(f, j, i ? "," : "");
	}
	fprintf(f, "]}");
}

void census_print_json(const struct census *c, const struct census_result *r,
    struct json_line *j, FILE *f)
{
	json_head(c, r, j, f);
	json_classes(c, r, j, f);
	json_breakdowns(c, r, j, f);
	json_sensors(c, r, j, f);
	json_estimate(c, r, j, f);
	fprintf(f, "}\n");
}

/* ---- table ---- */

/* Names come from the network: control bytes would drive the terminal.
 * A name is padded to width; a longer one gets its own line. */
static void put_name(FILE *f, const char *s, int width)
{
	int n = 0;
	for (; s[n] != '\0'; n++)
		fputc((unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n], f);
	if (width > 0 && n > width) {
		fprintf(f, "\n  ");
		n = 0;
	}
	for (; n < width; n++)
		fputc(' ', f);
}

/* text after lead, cut at blanks into lines of at most 78 columns. */
static void put_wrapped(FILE *f, const char *lead, const char *text)
{
	size_t col = strlen(lead);
	bool first = true;

	fputs(lead, f);
	while (*text != '\0') {
		size_t word = strcspn(text, " ");
		if (!first && col + 1 + word > 78) {
			fputs("\n    ", f);
			col = 4;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, word, f);
		col += word;
		text += word;
		text += strspn(text, " ");
		first = false;
	}
	fputc('\n', f);
}

static void counts_row(FILE *f, const struct census_counts *c)
{
	fprintf(f, " %8llu %8llu %8llu %8llu %8llu",
	    (unsigned long long)c->nodes,
	    (unsigned long long)c->n[CENSUS_PUBLIC],
	    (unsigned long long)c->n[CENSUS_PRIVATE],
	    (unsigned long long)c->n[CENSUS_UNKNOWN],
	    (unsigned long long)c->n[CENSUS_CONFLICTING]);
}

static void counts_header(FILE *f, const char *what, const char *more)
{
	fprintf(f, "  %-32s %8s %8s %8s %8s %8s%s\n", what, "nodes", "public",
	    "private", "unknown", "conflict", more);
}

static void counts_line(FILE *f, const char *name, const struct census_counts *c)
{
	fprintf(f, "  ");
	put_name(f, name, 32);
	counts_row(f, c);
	fprintf(f, "\n");
}

static void table_rows(FILE *f, const char *what, const struct census_names *t,
    const struct census_row *row, size_t n)
{
	char num[24];

	counts_header(f, what, "");
	for (size_t i = 0; i < n; i++) {
		const char *name = num;
		if (row[i].key == CENSUS_NONE)
			name = "(none)";
		else if (t == NULL)
			snprintf(num, sizeof num, "%llu",
			    (unsigned long long)row[i].key);
		else
			name = census_name(t, (uint32_t)row[i].key);
		counts_line(f, name, &row[i].c);
	}
}

static void table_head(const struct census *c, const struct census_result *r,
    FILE *f)
{
	char a[JSON_TIMESTAMP_LEN] = "-", b[JSON_TIMESTAMP_LEN] = "-";
	const struct census_lines *l = &c->lines;

	if (c->first_ms != CENSUS_NO_TIME) {
		time_text(c->first_ms, a);
		time_text(c->last_ms, b);
	}
	fprintf(f, "census of %s, lines from %s to %s\n", c->network, a, b);
	fprintf(f, "  %s\n", identity);
	fprintf(f, "lines: %llu read, %llu used (%llu inbound, %llu crawl peer,"
	    " %llu crawl start); skipped: %llu bad, %llu other kinds, %llu"
	    " outside the window, %llu without an id, %llu other network, %llu"
	    " of unknown crawls\n", (unsigned long long)l->read,
	    (unsigned long long)l->used, (unsigned long long)l->inbound,
	    (unsigned long long)l->crawl_peer,
	    (unsigned long long)l->crawl_start, (unsigned long long)l->bad,
	    (unsigned long long)l->other_kind,
	    (unsigned long long)l->outside_window,
	    (unsigned long long)l->no_id, (unsigned long long)l->other_network,
	    (unsigned long long)l->crawl_unknown);
	if (!r->exact)
		fprintf(f, "  A TABLE CAP WAS REACHED: counts are lower bounds"
		    " (%llu ids refused)\n",
		    (unsigned long long)c->nodes_refused);
	fprintf(f, "\nnodes: %llu\n", (unsigned long long)r->all.nodes);
	for (int k = 0; k < CENSUS_CLASSES; k++)
		fprintf(f, "  %-12s %8llu  %5.1f%%\n",
		    census_class_name((enum census_class)k),
		    (unsigned long long)r->all.n[k],
		    100 * share(r->all.n[k], r->all.nodes));
}

static void table_classes(const struct census *c,
    const struct census_result *r, FILE *f)
{
	char hex[2 * CENSUS_ID_LEN + 1];

	for (uint32_t k = 0; k < c->n_nodes; k++)
		if (r->class_of[k] == CENSUS_CONFLICTING) {
			hex_text(hex, c->node[k].id, CENSUS_ID_LEN);
			fprintf(f, "  conflicting: %s\n", hex);
		}
	fprintf(f, "\nIPs: %llu distinct; ids per IP:",
	    (unsigned long long)r->ips);
	for (uint32_t k = 1; k <= r->max_ids_per_ip; k++)
		if (r->ips_by_ids[k] > 0)
			fprintf(f, " %u: %llu IPs;", k,
			    (unsigned long long)r->ips_by_ids[k]);
	fprintf(f, "\n\n");
	table_rows(f, "user_agent", &c->user_agents, r->user_agents,
	    r->n_user_agents);
	fprintf(f, "\n");
	table_rows(f, "protocol_version", NULL, r->protocols, r->n_protocols);
	fprintf(f, "\n");
	counts_header(f, "services", "");
	for (int b = 0; b < 64; b++)
		if (r->service_bit[b].nodes > 0) {
			char bit[16];
			snprintf(bit, sizeof bit, "bit %d", b);
			counts_line(f, bit, &r->service_bit[b]);
		}
	counts_line(f, "none", &r->services_none);
	counts_line(f, "unknown (no inbound Version)", &r->services_unknown);
	fprintf(f, "\n");
	table_rows(f, "unknown fields (forks)", &c->forks, r->forks, r->n_forks);
	counts_line(f, "any", &r->forks_all);
}

static void table_sensors(const struct census *c,
    const struct census_result *r, FILE *f)
{
	uint32_t ns = c->sensors.n;

	fprintf(f, "\n");
	counts_header(f, "sensor_id", "  private");
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t s = r->sensor_order[i];
		fprintf(f, "  ");
		put_name(f, census_name(&c->sensors, s), 32);
		counts_row(f, &r->per_sensor[s]);
		fprintf(f, "  %6.1f%%\n", 100 * share(
		    r->per_sensor[s].n[CENSUS_PRIVATE], r->per_sensor[s].nodes));
	}
	if (ns >= 2)
		fprintf(f, "\nprivate ids seen by both sensors:\n");
	for (struct overlap o = { 0 }; next_overlap(c, r, &o); ) {
		fprintf(f, "  ");
		put_name(f, o.a, 0);
		fprintf(f, " & ");
		put_name(f, o.b, 0);
		fprintf(f, ": %llu\n", (unsigned long long)o.both);
	}
	fprintf(f, "\ncrawl: %llu crawls reached %llu ids, %llu of which also"
	    " dialed a sensor; %llu public ids the crawl did not reach\n",
	    (unsigned long long)r->crawls, (unsigned long long)r->crawl_reached,
	    (unsigned long long)r->crawl_reached_dialed,
	    (unsigned long long)r->public_not_reached);
}

static void table_estimate(const struct census *c,
    const struct census_result *r, FILE *f)
{
	const struct census_estimate *e = &r->est;

	fprintf(f, "\nprivate ids, seen or not (samples: %s):",
	    sample_kind[e->halves]);
	for (unsigned i = 0; i < e->k; i++) {
		unsigned s = sample_at(r, i);
		fprintf(f, " ");
		put_name(f, sample_name(c, r, s), 0);
		fprintf(f, " %llu;", (unsigned long long)r->sample[s]);
	}
	fprintf(f, " %llu seen, %llu recaptures\n",
	    (unsigned long long)e->seen, (unsigned long long)e->recaptures);
	if (e->method == CENSUS_EST_NONE)
		fprintf(f, "  no estimate: %s\n", e->why_none);
	else
		fprintf(f, "  %s: %.0f (95%% interval %.0f .. %.0f, se %.1f)\n",
		    e->method == CENSUS_EST_CHAPMAN ? "Chapman (Lincoln-Petersen,"
		    " two samples)" : "Darroch's M_t maximum likelihood",
		    e->n_hat, e->lo, e->hi, e->se);
	put_wrapped(f, "  assumes: ", assumptions);
}

void census_print_table(const struct census *c, const struct census_result *r,
    FILE *f)
{
	table_head(c, r, f);
	table_classes(c, r, f);
	table_sensors(c, r, f);
	table_estimate(c, r, f);
}

/* ---- command ---- */

static int census_usage(FILE *f, int rc)
{
	fprintf(f, "usage: kaspa-sensor census [--since TIME] [--until TIME]"
	    " [--network NAME] [--json] FILE...\n"
	    "How many nodes sensor logs and crawl logs saw, public, private"
	    " or unknown,\nand an estimate of the private ones no sensor saw."
	    " FILE - is stdin.\n"
	    "  --since TIME     only lines from TIME on (RFC 3339 UTC or Unix"
	    " seconds)\n"
	    "  --until TIME     only lines before TIME\n"
	    "  --network NAME   the network counted (" DEFAULT_NETWORK ")\n"
	    "  --json           one JSON object instead of the table\n");
	return rc;
}

static int parse_time_arg(const char *flag, const char *t, int64_t *ms)
{
	if (report_parse_time(t, strlen(t), ms) == 0)
		return 0;
	fprintf(stderr, "kaspa-sensor census: bad %s '%s'\n", flag, t);
	return -1;
}

/* Reads every file; exit status 0, or 1 after the first that fails. */
static int read_files(struct census *c, char **files, int n)
{
	for (int i = 0; i < n; i++) {
		const char *path = files[i];
		FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		int rc = f == NULL ? -1 : census_file(c, f);
		if (f != NULL && f != stdin)
			fclose(f);
		if (rc != 0) {
			fprintf(stderr, "kaspa-sensor census: %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
	}
	return 0;
}

int census_main(int argc, char **argv)
{
	/* The subcommand's context: static, too big for the stack. */
	static struct census c;
	static struct census_result r;
	static struct json_line line;   /* census_print_json's */
	int64_t since = CENSUS_NO_TIME, until = CENSUS_NO_TIME;
	const char *network = DEFAULT_NETWORK;
	char **files = calloc((size_t)argc, sizeof *files);
	int n_files = 0, rc = 2;
	bool json = false;

	for (int i = 1; files != NULL && i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			free(files);
			return census_usage(stdout, 0);
		}
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--since") == 0 && i + 1 < argc) {
			if (parse_time_arg(a, argv[++i], &since) != 0)
				goto out;
		} else if (strcmp(a, "--until") == 0 && i + 1 < argc) {
			if (parse_time_arg(a, argv[++i], &until) != 0)
				goto out;
		} else if (strcmp(a, "--network") == 0 && i + 1 < argc &&
		    strlen(argv[i + 1]) < sizeof c.network) {
			network = argv[++i];
		} else if (a[0] != '-' || strcmp(a, "-") == 0) {
			files[n_files++] = argv[i];
		} else {
			fprintf(stderr, "kaspa-sensor census: bad argument"
			    " '%s'\n", a);
			census_usage(stderr, 2);
			goto out;
		}
	}
	if (files == NULL || n_files == 0) {
		census_usage(stderr, 2);
		goto out;
	}
	rc = 1;
	if (census_init(&c, network, since, until) != 0) {
		fprintf(stderr, "kaspa-sensor census: out of memory\n");
		goto out;
	}
	if ((rc = read_files(&c, files, n_files)) == 0 &&
	    census_finish(&c, &r) != 0) {
		fprintf(stderr, "kaspa-sensor census: out of memory\n");
		rc = 1;
	}
	if (rc == 0) {
		if (json)
			census_print_json(&c, &r, &line, stdout);
		else
			census_print_table(&c, &r, stdout);
		census_result_free(&r);
	}
	census_free(&c);
out:
	free(files);
	return rc;
}
