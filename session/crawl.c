/* crawl.c - see crawl.h.  The frontier is one array in discovery order
 * (so a forward scan is breadth first) with a hash index on (IP, port);
 * a sliding head skips what was started. */
#include "crawl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>

#include "client.h"
#include "conn.h"
#include "crawl_opts.h"
#include "dial.h"
#include "dns.h"
#include "hex.h"
#include "ipmap.h"
#include "json_write.h"
#include "loop.h"
#include "ndjson.h"
#include "version.h"

#define SCAN_WINDOW 4096       /* queued targets looked at per pump */
#define FD_RESERVE 16          /* descriptors kept for the rest */
#define SEEDERS_MAX 9
#define DNS_TRY_MS 2000        /* per name server */

/* The reference node's DNS seeders per network (consensus/core/src/
 * config/params.rs); they answer A/AAAA queries with peers' IPs, whose
 * port is the network's default. */
static const struct {
	const char *network;
	const char *names[SEEDERS_MAX];
} seeders[] = {
	{ "kaspa-mainnet", { "mainnet-dnsseed-1.kaspanet.org",
	  "mainnet-dnsseed-2.kaspanet.org", "seeder1.kaspad.net",
	  "seeder2.kaspad.net", "seeder3.kaspad.net", "seeder4.kaspad.net",
	  "kaspadns.kaspacalc.net", "n-mainnet.kaspa.ws",
	  "dnsseeder-kaspa-mainnet.x-con.at" } },
	{ "kaspa-testnet-10", { "seeder1-tn.kaspad.net",
	  "dnsseeder-kaspa-testnet.x-con.at", "n-testnet-10.kaspa.ws" } },
};

/* seeders[] index for a network, or -1. */
static int seeder_list(const char *network)
{
	for (size_t k = 0; k < sizeof seeders / sizeof seeders[0]; k++)
		if (strcmp(seeders[k].network, network) == 0)
			return (int)k;
	return -1;
}

/* One seeder's name being resolved. */
struct seeder_query {
	struct crawl *cr;
	const char *name;
	struct dns_query q;
	int slot;              /* -1 when done */
};

enum target_state { T_QUEUED, T_ACTIVE, T_DONE };

struct target {
	struct ip_key ip;
	uint16_t port;
	uint16_t depth;
	uint8_t state;
	uint32_t new_addresses;    /* frontier growth from its replies */
	struct client *client;     /* while T_ACTIVE */
	struct crawl *cr;
	unsigned replies;
};

struct crawl {
	struct crawl_opts o;
	struct loop loop;
	struct ndjson_log log;
	struct client_config ccfg;
	struct conn_shared shared;      /* every session's buffers (conn.h) */
	struct dial_proxy proxy;
	struct seeder_query seeder[SEEDERS_MAX];
	unsigned resolving;        /* seeder queries still out */
	char crawl_id[24];
	struct target *t;
	uint32_t n;                /* targets in the frontier */
	uint32_t head;             /* targets before it are all started */
	uint32_t *index;           /* hash index: target number + 1, 0 empty */
	uint32_t index_mask;
	struct ipmap busy;         /* connections open per IP */
	struct ipmap ports;        /* frontier entries per IP */
	uint32_t active;
	uint64_t visited, reachable, replies, dropped;
	int64_t started_us;
	int timer_slot;
	bool stopping;
	struct target *current;    /* whose reply is being read */
	/* Scratch of the line writers and the Addresses handler, used by
	 * one at a time (~120 KB: struct crawl is static in crawl_main). */
	struct json_line line;
	char reply_texts[KASPA_ADDR_MAX][ADDR_TEXT_MAX];
	const char *reply_ptrs[CRAWL_ADDRS_PER_LINE];
	char reply_addrs[CRAWL_ADDRS_PER_LINE * (ADDR_TEXT_MAX + 3) + 3];
};

/* ---- frontier ---- */

static uint32_t target_hash(const struct ip_key *ip, uint16_t port)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ ip->b[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	return (h ^ (port >> 8)) * 16777619u;
}

/* The index slot holding (ip, port), or the empty one where it goes. */
static uint32_t *index_slot(struct crawl *cr, const struct ip_key *ip,
    uint16_t port)
{
	uint32_t i = target_hash(ip, port) & cr->index_mask;
	for (;; i = (i + 1) & cr->index_mask) {
		uint32_t v = cr->index[i];
		if (v == 0 || (cr->t[v - 1].port == port &&
		    memcmp(&cr->t[v - 1].ip, ip, sizeof *ip) == 0))
			return &cr->index[i];
	}
}

static bool is_unspecified(const struct ip_key *ip)
{
	static const struct ip_key zero;
	static const uint8_t v4_zero[16] = { [10] = 0xff, [11] = 0xff };
	return memcmp(ip, &zero, sizeof zero) == 0 ||
	    memcmp(ip->b, v4_zero, sizeof v4_zero) == 0;
}

/* Add to the frontier; true if it is new there. */
static bool frontier_add(struct crawl *cr, const struct ip_key *ip,
    uint16_t port, uint16_t depth)
{
	if (port == 0 || is_unspecified(ip) ||
	    (!cr->o.allow_private && !addr_is_routable(ip)))
		return false;
	uint32_t *slot = index_slot(cr, ip, port);
	if (*slot != 0)
		return false;
	if (cr->n >= cr->o.max_peers ||
	    ipmap_get(&cr->ports, ip) >= CRAWL_PORTS_PER_IP ||
	    ipmap_inc(&cr->ports, ip) == 0) {
		cr->dropped++;
		return false;
	}
	struct target *t = &cr->t[cr->n];
	memset(t, 0, sizeof *t);
	t->ip = *ip;
	t->port = port;
	t->depth = depth;
	t->state = T_QUEUED;
	*slot = ++cr->n;
	return true;
}

/* ---- output ---- */

static void write_line(struct crawl *cr, struct json_line *j)
{
	if (json_end(j) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: line too long, dropped\n",
		    __func__);
		return;
	}
	if (ndjson_write(&cr->log, j->buf, j->len) != 0)
		fprintf(stderr, "kaspa-sensor: %s: %s: %s\n", __func__,
		    cr->log.path, strerror(errno));
}

static void line_head(struct crawl *cr, struct json_line *j, const char *type)
{
	char ts[JSON_TIMESTAMP_LEN], event_id[NDJSON_EVENT_ID_MAX];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_timestamp(ts, &now);
	ndjson_event_id(&cr->log, event_id);   /* crawl_id-sequence */
	json_begin(j);
	json_str(j, "type", type);
	json_str(j, "crawl_id", cr->crawl_id);
	json_str(j, "ts", ts);
	json_str(j, "event_id", event_id);
}

/* ["a","b"] from n address texts; they need no escaping. */
static void text_array(char *out, size_t cap, const char *const *texts,
    size_t n)
{
	size_t len = (size_t)snprintf(out, cap, "[");
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"",
		    i ? "," : "", texts[i]);
	if (len < cap)
		snprintf(out + len, cap - len, "]");
}

static void watch_array(const struct watch *w, unsigned n, char *out,
    size_t cap)
{
	const char *texts[CRAWL_SEEDS_MAX];   /* the longer of both lists */
	for (unsigned i = 0; i < n; i++)
		texts[i] = w[i].text;
	text_array(out, cap, texts, n);
}

static void log_start(struct crawl *cr)
{
	struct json_line *j = &cr->line;
	char list[CRAWL_SEEDS_MAX * (ADDR_TEXT_MAX + 3) + 3];

	line_head(cr, j, "crawl_start");
	json_str(j, "network", cr->o.network);
	watch_array(cr->o.seeds, cr->o.n_seeds, list, sizeof list);
	json_raw(j, "seeds", list);
	watch_array(cr->o.watch, cr->o.n_watch, list, sizeof list);
	json_raw(j, "watch", list);
	json_u64(j, "requests", cr->o.requests);
	write_line(cr, j);
}

static void log_end(struct crawl *cr)
{
	struct json_line *j = &cr->line;

	line_head(cr, j, "crawl_end");
	json_u64(j, "visited", cr->visited);
	json_u64(j, "reachable", cr->reachable);
	json_u64(j, "replies", cr->replies);
	json_u64(j, "frontier", cr->n);
	json_u64(j, "dropped", cr->dropped);
	json_ms(j, "duration_ms", now_us() - cr->started_us);
	write_line(cr, j);
}

static void log_peer(struct crawl *cr, const struct target *t,
    const struct client_result *r)
{
	struct json_line *j = &cr->line;
	char text[ADDR_TEXT_MAX];
	const struct kaspa_version *v = &r->version;
	struct ip_key adv;

	line_head(cr, j, "peer");
	addr_text(&t->ip, t->port, text, sizeof text);
	json_str(j, "address", text);
	json_u64(j, "depth", t->depth);
	json_bool(j, "reachable", r->stage >= CLIENT_STAGE_READY);
	json_str(j, "reason", r->outcome);
	if (r->dial_detail != NULL)      /* e.g. socks5_auth_failed */
		json_str(j, "dial_detail", r->dial_detail);
	json_str(j, "stage", client_stage_name(r->stage));
	if (r->got_version) {
		json_hex(j, "peer_id", v->id, v->id_len);
		json_str(j, "user_agent", v->user_agent);
		json_u64(j, "protocol_version", v->protocol_version);
	} else {
		json_null(j, "peer_id");
		json_null(j, "user_agent");
		json_null(j, "protocol_version");
	}
	if (r->got_version && v->has_address &&
	    addr_from_bytes(&adv, v->address.ip, v->address.ip_len) == 0) {
		addr_text(&adv, v->address.port, text, sizeof text);
		json_str(j, "advertised_address", text);
	} else {
		json_null(j, "advertised_address");
	}
	json_str(j, "reject_reason", r->reject_reason[0] ?
	    r->reject_reason : NULL);
	json_u64(j, "replies", r->replies);
	json_u64(j, "addresses", r->addresses);
	json_u64(j, "new_addresses", t->new_addresses);
	if (r->connect_us >= 0)
		json_ms(j, "connect_ms", r->connect_us);
	else
		json_null(j, "connect_ms");
	if (r->handshake_us >= 0)
		json_ms(j, "handshake_ms", r->handshake_us);
	else
		json_null(j, "handshake_ms");
	json_ms(j, "duration_ms", r->duration_us);
	write_line(cr, j);
}

/* One reply: the header line (count, watched) and, when asked, the
 * addresses in parts. */
static void log_reply(struct crawl *cr, const struct target *t, unsigned seq,
    const char (*texts)[ADDR_TEXT_MAX], size_t n, const bool *watched)
{
	struct json_line *j = &cr->line;
	char from[ADDR_TEXT_MAX];
	char list[CRAWL_WATCH_MAX * (ADDR_TEXT_MAX + 3) + 3];
	const char *hits[CRAWL_WATCH_MAX];
	size_t n_hits = 0;
	size_t parts = cr->o.log_addresses ?
	    (n + CRAWL_ADDRS_PER_LINE - 1) / CRAWL_ADDRS_PER_LINE : 0;

	for (unsigned w = 0; w < cr->o.n_watch; w++)
		if (watched[w])
			hits[n_hits++] = cr->o.watch[w].text;
	addr_text(&t->ip, t->port, from, sizeof from);
	for (size_t part = 0; part == 0 || part < parts; part++) {
		line_head(cr, j, "addresses");
		json_str(j, "from", from);
		json_u64(j, "seq", seq);
		if (part == 0) {
			json_u64(j, "count", n);
			text_array(list, sizeof list, hits, n_hits);
			json_raw(j, "watched", list);
		}
		if (parts > 0) {
			size_t first = part * CRAWL_ADDRS_PER_LINE;
			size_t k = n - first < CRAWL_ADDRS_PER_LINE ? n - first :
			    CRAWL_ADDRS_PER_LINE;
			for (size_t i = 0; i < k; i++)
				cr->reply_ptrs[i] = texts[first + i];
			text_array(cr->reply_addrs, sizeof cr->reply_addrs,
			    cr->reply_ptrs, k);
			json_u64(j, "part", part);
			json_u64(j, "parts", parts);
			json_raw(j, "addresses", cr->reply_addrs);
		}
		write_line(cr, j);
	}
}

/* ---- visiting ---- */

static void pump(struct crawl *cr);

static void on_addresses(void *ctx, const struct kaspa_msg *m)
{
	struct target *t = ctx;
	struct crawl *cr = t->cr;
	char (*texts)[ADDR_TEXT_MAX] = cr->reply_texts;
	bool watched[CRAWL_WATCH_MAX] = { false };
	size_t n = 0;

	cr->replies++;
	for (size_t i = 0; i < m->u.addresses.count; i++) {
		const struct kaspa_netaddr *a = &m->u.addresses.list[i];
		struct ip_key ip;
		if (addr_from_bytes(&ip, a->ip, a->ip_len) != 0 ||
		    a->port > 65535)
			continue;
		uint16_t port = (uint16_t)a->port;
		for (unsigned w = 0; w < cr->o.n_watch; w++)
			if (cr->o.watch[w].port == port &&
			    memcmp(&cr->o.watch[w].ip, &ip, sizeof ip) == 0)
				watched[w] = true;
		if (frontier_add(cr, &ip, port, (uint16_t)(t->depth + 1)))
			t->new_addresses++;
		addr_text(&ip, port, texts[n++], ADDR_TEXT_MAX);
	}
	log_reply(cr, t, ++t->replies, (const char (*)[ADDR_TEXT_MAX])texts, n,
	    watched);
}

static void on_done(void *ctx, const struct client_result *r)
{
	struct target *t = ctx;
	struct crawl *cr = t->cr;

	t->state = T_DONE;
	t->client = NULL;
	cr->active--;
	cr->visited++;
	if (r->stage >= CLIENT_STAGE_READY)
		cr->reachable++;
	ipmap_dec(&cr->busy, &t->ip);
	log_peer(cr, t, r);
	if (!cr->stopping)
		pump(cr);
}

static const struct client_callbacks visit_cb = {
	.on_version = NULL,
	.on_addresses = on_addresses,
	.on_done = on_done,
};

/* A target we could not even start: logged like an unreachable one. */
static void start_failed(struct crawl *cr, struct target *t)
{
	struct client_result r = { .outcome = "no_resources",
	    .connect_us = -1, .handshake_us = -1 };

	t->state = T_DONE;
	cr->visited++;
	log_peer(cr, t, &r);
}

static void visit(struct crawl *cr, struct target *t)
{
	t->cr = cr;
	t->state = T_ACTIVE;
	if (ipmap_inc(&cr->busy, &t->ip) == 0) {
		start_failed(cr, t);
		return;
	}
	cr->active++;
	t->client = client_start(&cr->loop, &cr->ccfg, &t->ip, t->port,
	    &visit_cb, t);
	if (t->client == NULL) {
		cr->active--;
		ipmap_dec(&cr->busy, &t->ip);
		start_failed(cr, t);
	}
}

static void finish(struct crawl *cr)
{
	log_end(cr);
	loop_stop(&cr->loop);
}

/* Start queued targets, oldest first, while there is room; an IP with a
 * connection open waits its turn. */
static void pump(struct crawl *cr)
{
	uint32_t scanned = 0;

	for (uint32_t i = cr->head; i < cr->n && scanned < SCAN_WINDOW &&
	    cr->active < cr->o.concurrency; i++) {
		struct target *t = &cr->t[i];
		if (t->state != T_QUEUED)
			continue;
		scanned++;
		if (ipmap_get(&cr->busy, &t->ip) == 0)
			visit(cr, t);
	}
	while (cr->head < cr->n && cr->t[cr->head].state != T_QUEUED)
		cr->head++;
	if (cr->active == 0 && cr->head >= cr->n && cr->resolving == 0)
		finish(cr);
}

/* ---- DNS seeders (no --seed) ---- */

/* One "seeder" line: the name, what came back, the addresses added. */
static void log_seeder(struct crawl *cr, const char *name, const char *result,
    const struct dns_addrs *a)
{
	struct json_line *j = &cr->line;
	char texts[DNS_ADDRS_MAX][ADDR_TEXT_MAX];
	const char *list[DNS_ADDRS_MAX];
	char out[DNS_ADDRS_MAX * (ADDR_TEXT_MAX + 3) + 3];
	uint16_t port = network_default_port(cr->o.network);
	unsigned n = 0;

	for (unsigned i = 0; a != NULL && i < a->n; i++) {
		struct ip_key ip;
		addr_from_sockaddr(&ip, &a->sa[i]);
		addr_text(&ip, port, texts[n], ADDR_TEXT_MAX);
		list[n] = texts[n];
		n++;
		frontier_add(cr, &ip, port, 0);
	}
	text_array(out, sizeof out, list, n);
	line_head(cr, j, "seeder");
	json_str(j, "name", name);
	json_str(j, "result", result);
	json_raw(j, "addresses", out);
	write_line(cr, j);
}

static void seeder_done(struct seeder_query *s, const char *result)
{
	struct crawl *cr = s->cr;

	log_seeder(cr, s->name, result, strcmp(result, "ok") == 0 ?
	    &s->q.result : NULL);
	if (s->slot >= 0)
		loop_del(&cr->loop, s->slot);
	s->slot = -1;
	dns_stop(&s->q);
	cr->resolving--;
}

static void on_seeder_event(struct loop *l, int slot, short revents, void *ud)
{
	struct seeder_query *s = ud;
	int r;

	if (revents == 0) {     /* this server is silent: the next one */
		loop_del(l, slot);
		s->slot = -1;
		if ((r = dns_next_server(&s->q)) == 0) {
			s->slot = loop_add(l, s->q.fd, POLLIN, on_seeder_event, s);
			loop_set_deadline(l, s->slot, now_ms() + DNS_TRY_MS);
			return;
		}
		seeder_done(s, r > 0 ? "ok" : "no_answer");
	} else if ((r = dns_on_readable(&s->q)) != 0) {
		seeder_done(s, r > 0 ? "ok" : "no_such_host");
	} else {
		return;
	}
	if (!s->cr->stopping)
		pump(s->cr);
}

/* Query every seeder of the network at once, on the loop. */
static void resolve_seeders(struct crawl *cr)
{
	int k = seeder_list(cr->o.network);

	for (unsigned i = 0; i < SEEDERS_MAX; i++) {
		struct seeder_query *s = &cr->seeder[i];
		s->cr = cr;
		s->name = seeders[k].names[i];
		s->slot = -1;
		s->q.fd = -1;
		if (s->name == NULL)
			continue;
		if (dns_start(&s->q, s->name, cr->o.resolv_conf) != 0 ||
		    (s->slot = loop_add(&cr->loop, s->q.fd, POLLIN,
		    on_seeder_event, s)) < 0) {
			dns_stop(&s->q);
			log_seeder(cr, s->name, "error", NULL);
			continue;
		}
		loop_set_deadline(&cr->loop, s->slot, now_ms() + DNS_TRY_MS);
		cr->resolving++;
	}
}

/* The whole crawl's time limit. */
static void on_time_limit(struct loop *l, int slot, short revents, void *ud)
{
	struct crawl *cr = ud;
	(void)revents;

	loop_del(l, slot);
	fprintf(stderr, "kaspa-sensor: %s: time limit, %u connections open,"
	    " %u targets not visited\n", __func__, cr->active, cr->n - cr->head);
	cr->stopping = true;
	for (unsigned i = 0; i < SEEDERS_MAX; i++)
		if (cr->seeder[i].slot >= 0)
			seeder_done(&cr->seeder[i], "no_answer");
	for (uint32_t i = 0; i < cr->n; i++)
		if (cr->t[i].state == T_ACTIVE)
			client_abort(cr->t[i].client);
	finish(cr);
}

/* ---- setup ---- */

/* Leave room under RLIMIT_NOFILE for the log and the loop. */
static void clamp_concurrency(struct crawl_opts *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    o->concurrency + FD_RESERVE > rl.rlim_cur) {
		o->concurrency = rl.rlim_cur > 2 * FD_RESERVE ?
		    rl.rlim_cur - FD_RESERVE : FD_RESERVE;
		fprintf(stderr, "kaspa-sensor: %s: concurrency lowered to %llu"
		    " (open file limit)\n", __func__,
		    (unsigned long long)o->concurrency);
	}
}

static void make_client_config(struct crawl *cr)
{
	struct client_config *c = &cr->ccfg;

	memset(c, 0, sizeof *c);
	c->shared = &cr->shared;
	c->network = cr->o.network;
	c->user_agent = cr->o.user_agent;
	c->protocol_version = (uint32_t)cr->o.protocol_version;
	c->address_requests = (unsigned)cr->o.requests;
	c->connect_timeout_ms = cr->o.connect_timeout_ms;
	c->stage_timeout_ms = cr->o.stage_timeout_ms;
	c->request_timeout_ms = cr->o.request_timeout_ms;
	c->linger_ms = 0;
	c->proxy = dial_proxy_for(&cr->proxy, DIAL_CRAWL);
}

static int crawl_init(struct crawl *cr)
{
	uint8_t rnd[8];
	uint32_t cap = 16;

	conn_shared_init(&cr->shared);
	if (getrandom(cr->ccfg.node_id, KASPA_ID_LEN, 0) != KASPA_ID_LEN ||
	    getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return -1;
	hex_text(cr->crawl_id, rnd, sizeof rnd);
	while (cap < cr->o.max_peers * 2)
		cap <<= 1;
	cr->index_mask = cap - 1;
	cr->t = calloc(cr->o.max_peers, sizeof *cr->t);
	cr->index = calloc(cap, sizeof *cr->index);
	if (cr->t == NULL || cr->index == NULL ||
	    loop_init(&cr->loop, (int)cr->o.concurrency + 8) != 0 ||
	    ipmap_init(&cr->busy, (uint32_t)cr->o.concurrency) != 0 ||
	    ipmap_init(&cr->ports, (uint32_t)cr->o.max_peers) != 0)
		return -1;
	cr->timer_slot = loop_add(&cr->loop, -1, 0, on_time_limit, cr);
	loop_set_deadline(&cr->loop, cr->timer_slot,
	    now_ms() + (int64_t)cr->o.max_seconds * 1000);
	return 0;
}

static void crawl_free(struct crawl *cr)
{
	free(cr->t);
	free(cr->index);
	ipmap_free(&cr->busy);
	ipmap_free(&cr->ports);
	loop_free(&cr->loop);
}

int crawl_main(int argc, char **argv)
{
	static struct crawl cr;
	int rc = crawl_opts_parse(&cr.o, argc, argv);

	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if (cr.o.n_seeds == 0 && seeder_list(cr.o.network) < 0) {
		fprintf(stderr, "kaspa-sensor crawl: no DNS seeders known for %s:"
		    " give --seed IP:PORT\n", cr.o.network);
		return 2;
	}
	const char *bad = dial_proxy_load(&cr.proxy, cr.o.socks5,
	    cr.o.socks5_user, cr.o.socks5_password_file, cr.o.socks5_for);
	if (bad != NULL) {
		fprintf(stderr, "kaspa-sensor crawl: %s\n", bad);
		return 2;
	}
	clamp_concurrency(&cr.o);
	make_client_config(&cr);
	if (crawl_init(&cr) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: out of memory\n", __func__);
		return 1;
	}
	if (ndjson_open(&cr.log, cr.o.out, 0, 0) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: %s: %s\n", __func__, cr.o.out,
		    strerror(errno));
		crawl_free(&cr);
		return 1;
	}
	snprintf(cr.log.event_prefix, sizeof cr.log.event_prefix, "%s",
	    cr.crawl_id);
	cr.started_us = now_us();
	log_start(&cr);
	for (unsigned i = 0; i < cr.o.n_seeds; i++)
		if (!frontier_add(&cr, &cr.o.seeds[i].ip, cr.o.seeds[i].port, 0))
			fprintf(stderr, "kaspa-sensor: %s: seed %s skipped (duplicate or not"
			    " routable: see --crawl-allow-private)\n", __func__,
			    cr.o.seeds[i].text);
	if (cr.o.n_seeds == 0)
		resolve_seeders(&cr);
	pump(&cr);
	if (!cr.loop.stop && loop_run(&cr.loop) != 0)
		rc = 1;
	fprintf(stderr, "kaspa-sensor: crawl %s: %llu visited, %llu reachable,"
	    " %llu replies, %u in frontier, %llu dropped, %.1f s\n", cr.crawl_id,
	    (unsigned long long)cr.visited, (unsigned long long)cr.reachable,
	    (unsigned long long)cr.replies, cr.n,
	    (unsigned long long)cr.dropped,
	    (double)(now_us() - cr.started_us) / 1e6);
	ndjson_close(&cr.log);
	crawl_free(&cr);
	return rc;
}
