/* probe.c - see probe.h.  Each probe is a small state machine on the loop:
 * per target either DIALING (dial.c: is the port open?) or VERIFYING
 * (client.c dials and runs the call until the node's Version arrives),
 * then the next target or the verdict. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "client.h"

/* Verdicts are kept per (IP, node id): a node that reconnects is not
 * probed again, while several nodes behind one IP each get their own.
 * Direct-mapped: a collision just means one more probe. */
#define CACHE_SLOTS 4096
/* Distinct IPs among a probe's targets: the peer's, an advertised one. */
#define PROBE_IPS 2

enum probe_state { PROBE_BETWEEN, PROBE_DIALING, PROBE_VERIFYING };

struct cache_entry {
	struct ip_key ip;
	uint8_t id[KASPA_ID_LEN];
	int64_t until_ms;          /* 0 = empty */
	const char *classification;
	const char *reason;
	char target[ADDR_TEXT_MAX];
};

struct prober {
	struct probe_config cfg;
	struct loop *loop;
	struct client_config ccfg;       /* its node id is not the sensor's:
	                                  * see probe.h */
	uint64_t active;
	struct probe *probes;
	/* IPs some running probe dials: one probe per IP at a time, so
	 * connections with ever new ids cannot multiply the dialing. */
	struct ipmap busy;
	struct cache_entry cache[CACHE_SLOTS];
};

enum target_kind { TARGET_ADVERTISED, TARGET_DEFAULT_PORT, TARGET_SOURCE_PORT };

static const char *const kind_names[] = {
	"advertised", "default_port", "source_port",
};
static const char *const verified_reasons[] = {
	"advertised_verified", "default_port_verified", "source_port_verified",
};
static const char *const open_reasons[] = {
	"advertised_open", "default_port_open", "source_port_open",
};

struct target {
	struct ip_key ip;
	uint16_t port;
	enum target_kind kind;
};

struct probe {
	struct prober *pr;
	struct probe *next, *prev;
	struct probe_request req;
	probe_done_fn done;
	void *ctx;
	struct probe_report report;
	struct target targets[PROBE_TARGETS];
	unsigned n_targets;
	struct ip_key ips[PROBE_IPS];   /* counted in prober.busy */
	unsigned n_ips;
	unsigned cur;
	enum probe_state state;
	struct dial dial;          /* PROBE_DIALING */
	struct client *client;     /* PROBE_VERIFYING */
	int64_t started_us;
	int64_t budget_end_ms;
	bool aborted;              /* sensor shutting down */
};

static void try_next(struct probe *p);

/* ---- cache ---- */

static struct cache_entry *cache_slot(struct prober *pr,
    const struct probe_request *req)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ req->ip.b[i] ^ (uint32_t)req->id[i] << 8) * 16777619u;
	return &pr->cache[h % CACHE_SLOTS];
}

/* The live entry for the request's node, or NULL. */
static struct cache_entry *cache_find(struct prober *pr,
    const struct probe_request *req, int64_t now)
{
	struct cache_entry *e = cache_slot(pr, req);
	if (memcmp(&e->ip, &req->ip, sizeof req->ip) != 0 ||
	    memcmp(e->id, req->id, sizeof e->id) != 0 || e->until_ms <= now)
		return NULL;
	return e;
}

/* ---- targets ---- */

static bool allowed(const struct prober *pr, const struct ip_key *ip)
{
	return pr->cfg.allow_private || addr_is_routable(ip);
}

static void add_target(struct probe *p, const struct ip_key *ip,
    uint16_t port, enum target_kind kind)
{
	if (port == 0 || !allowed(p->pr, ip))
		return;
	for (unsigned i = 0; i < p->n_targets; i++)
		if (p->targets[i].port == port &&
		    memcmp(&p->targets[i].ip, ip, sizeof *ip) == 0)
			return;
	p->targets[p->n_targets++] = (struct target){ *ip, port, kind };
}

static void plan_targets(struct probe *p)
{
	const struct probe_request *r = &p->req;
	bool own_ip = memcmp(&r->advertised, &r->ip, sizeof r->ip) == 0;

	if (r->has_advertised && (own_ip || p->pr->cfg.advertised_any_ip))
		add_target(p, &r->advertised, r->advertised_port,
		    TARGET_ADVERTISED);
	add_target(p, &r->ip, p->pr->cfg.default_port, TARGET_DEFAULT_PORT);
	add_target(p, &r->ip, r->port, TARGET_SOURCE_PORT);
}

/* ---- verdict ---- */

static bool any_attempt(const struct probe_report *r, const char *connect,
    const char *verify)
{
	for (unsigned i = 0; i < r->n_tried; i++)
		if ((connect == NULL || strcmp(r->tried[i].connect, connect) == 0) &&
		    (verify == NULL || (r->tried[i].verify != NULL &&
		    strcmp(r->tried[i].verify, verify) == 0)))
			return true;
	return false;
}

/* A failure of ours or of the proxy: it proves nothing about the node. */
static bool any_local(const struct probe_report *r)
{
	for (unsigned i = 0; i < r->n_tried; i++)
		if (r->tried[i].local)
			return true;
	return false;
}

static bool all_attempts(const struct probe_report *r, const char *connect)
{
	for (unsigned i = 0; i < r->n_tried; i++)
		if (strcmp(r->tried[i].connect, connect) != 0)
			return false;
	return r->n_tried > 0;
}

/* Public only on proof: the node answered with its own id (or, with
 * verification off, something accepted the connection).  Private when
 * the network answered "no" for every target (refused, timeout,
 * unreachable, reset) or another node answered.  A local failure
 * ("error": no socket, no loop slot, our own firewall) proves nothing. */
static void classify(struct probe *p)
{
	struct probe_report *r = &p->report;
	bool verify = p->pr->cfg.verify;
	const struct probe_attempt *last = r->n_tried > 0 ?
	    &r->tried[r->n_tried - 1] : NULL;

	r->classification = "unknown";
	if (p->aborted) {
		r->reason = "shutdown";
	} else if (last != NULL && strcmp(last->connect, "connected") == 0 &&
	    (!verify || (last->verify && strcmp(last->verify, "verified") == 0))) {
		enum target_kind k = p->targets[r->n_tried - 1].kind;
		r->classification = "public";
		r->reason = verify ? verified_reasons[k] : open_reasons[k];
		snprintf(r->target, sizeof r->target, "%s", last->target);
	} else if (r->n_tried == 0) {
		r->reason = "no_routable_target";
	} else if (any_attempt(r, "connected", "different_node")) {
		r->classification = "private";
		r->reason = "open_different_node";
	} else if (any_attempt(r, "connected", NULL)) {
		r->reason = "open_not_kaspa";
	} else if (any_local(r)) {
		r->reason = "probe_error";
	} else {
		r->classification = "private";
		r->reason = all_attempts(r, "refused") ? "all_refused" :
		    all_attempts(r, "timeout") ? "all_timeout" : "all_failed";
	}
}

/* The verdict: classified, cached, the probe off the running list. */
static void probe_finish(struct probe *p)
{
	struct prober *pr = p->pr;
	struct probe_report *r = &p->report;

	classify(p);
	r->duration_us = now_us() - p->started_us;
	/* A local failure says nothing about the node: try again next time. */
	if (strcmp(r->reason, "probe_error") != 0) {
		struct cache_entry *e = cache_slot(pr, &p->req);
		e->ip = p->req.ip;
		memcpy(e->id, p->req.id, sizeof e->id);
		e->until_ms = now_ms() + (int64_t)pr->cfg.cache_ttl_ms;
		e->classification = r->classification;
		e->reason = r->reason;
		snprintf(e->target, sizeof e->target, "%s", r->target);
	}
	for (unsigned i = 0; i < p->n_ips; i++)
		ipmap_dec(&pr->busy, &p->ips[i]);
	if (p->prev)
		p->prev->next = p->next;
	else
		pr->probes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pr->active--;
}

static void probe_end(struct probe *p)
{
	probe_finish(p);
	p->done(p->ctx, &p->report);
	free(p);
}

/* ---- one target ---- */

static struct probe_attempt *attempt(struct probe *p)
{
	return &p->report.tried[p->report.n_tried - 1];
}

/* This target is done: on to the next one, or the verdict. */
static void target_done(struct probe *p)
{
	bool verified = attempt(p)->verify != NULL &&
	    strcmp(attempt(p)->verify, "verified") == 0;
	bool open_enough = !p->pr->cfg.verify &&
	    strcmp(attempt(p)->connect, "connected") == 0;

	p->state = PROBE_BETWEEN;
	if (verified || open_enough || p->cur >= p->n_targets ||
	    now_ms() >= p->budget_end_ms) {
		probe_end(p);
		return;
	}
	try_next(p);
}

static void set_verdict(struct probe *p, const char *verify)
{
	if (attempt(p)->verify == NULL)
		attempt(p)->verify = verify;
}

static void record_dial(struct probe_attempt *a, enum dial_outcome o,
    int64_t dial_us)
{
	a->connect = dial_outcome_name(o);
	a->local = dial_outcome_is_local(o);
	a->rtt_us = dial_us;
}

/* Verification off: an open port is all we ask. */
static void on_dialed(void *ctx, const struct dial_result *r)
{
	struct probe *p = ctx;

	if (r->fd >= 0)
		close(r->fd);
	record_dial(attempt(p), r->outcome, r->connect_us);
	target_done(p);
}

static void on_version(void *ctx, const struct kaspa_version *v)
{
	struct probe *p = ctx;

	set_verdict(p, v->id_len == KASPA_ID_LEN &&
	    memcmp(v->id, p->req.id, KASPA_ID_LEN) == 0 ?
	    "verified" : "different_node");
}

static void on_session_done(void *ctx, const struct client_result *r)
{
	struct probe *p = ctx;
	struct probe_attempt *a = attempt(p);

	p->client = NULL;
	record_dial(a, r->dial, r->dial_us);
	if (r->dial == DIAL_CONNECTED)
		set_verdict(p, "not_kaspa");   /* unless its Version came */
	target_done(p);
}

static const struct client_callbacks session_cb = {
	.on_version = on_version,
	.on_done = on_session_done,
};

/* Dial (or dial and verify) one target; false if it could not start. */
static bool start_target(struct probe *p, const struct target *t)
{
	const struct probe_config *cfg = &p->pr->cfg;
	int64_t left = p->budget_end_ms - now_ms();
	uint64_t timeout = cfg->connect_timeout_ms < (uint64_t)left ?
	    cfg->connect_timeout_ms : (uint64_t)left;

	if (!cfg->verify) {
		p->state = PROBE_DIALING;
		return dial_start(&p->dial, p->pr->loop, cfg->proxy, &t->ip,
		    t->port, timeout, on_dialed, p) == 0;
	}
	struct client_config cc = p->pr->ccfg;
	cc.protocol_version = p->req.protocol_version;
	cc.connect_timeout_ms = timeout;
	cc.stage_timeout_ms = (uint64_t)left;
	cc.end_by_ms = p->budget_end_ms;
	p->state = PROBE_VERIFYING;
	p->client = client_start(p->pr->loop, &cc, &t->ip, t->port,
	    &session_cb, p);
	return p->client != NULL;
}

/* Connect to targets in turn until one is pending (true) or none is
 * left or the budget is spent (false). */
static bool connect_next(struct probe *p)
{
	while (p->cur < p->n_targets && now_ms() < p->budget_end_ms) {
		const struct target *t = &p->targets[p->cur++];
		struct probe_attempt *a = &p->report.tried[p->report.n_tried++];

		addr_text(&t->ip, t->port, a->target, sizeof a->target);
		a->kind = kind_names[t->kind];
		a->verify = NULL;
		a->rtt_us = -1;
		if (start_target(p, t))
			return true;
		p->state = PROBE_BETWEEN;
		record_dial(a, DIAL_ERROR, -1);
	}
	return false;
}

static void try_next(struct probe *p)
{
	if (!connect_next(p))
		probe_end(p);
}

/* ---- API ---- */

struct prober *prober_new(const struct probe_config *cfg, struct loop *l)
{
	struct prober *pr = calloc(1, sizeof *pr);

	if (pr == NULL)
		return NULL;
	pr->cfg = *cfg;
	pr->loop = l;
	pr->ccfg.shared = cfg->shared;
	pr->ccfg.network = cfg->network;
	pr->ccfg.user_agent = cfg->user_agent;
	pr->ccfg.stop_at_version = true;     /* its Version is all we want */
	pr->ccfg.no_drain = true;
	pr->ccfg.proxy = cfg->proxy;
	if (getrandom(pr->ccfg.node_id, KASPA_ID_LEN, 0) != KASPA_ID_LEN ||
	    ipmap_init(&pr->busy, (uint32_t)(cfg->max_concurrent * PROBE_IPS))
	    != 0) {
		free(pr);
		return NULL;
	}
	return pr;
}

void prober_free(struct prober *pr)
{
	struct probe *p;

	while ((p = pr->probes) != NULL) {
		p->cur = p->n_targets;
		p->aborted = true;
		if (p->state == PROBE_VERIFYING)
			client_abort(p->client);     /* ends p */
		else {
			dial_cancel(&p->dial);
			probe_end(p);
		}
	}
	ipmap_free(&pr->busy);
	free(pr);
}

/* Count the targets' distinct IPs (at most PROBE_IPS: the peer's and an
 * advertised one) as busy; false, nothing counted, if a running probe
 * already dials one of them. */
static bool claim_ips(struct probe *p)
{
	struct ipmap *busy = &p->pr->busy;

	p->n_ips = 0;
	for (unsigned i = 0; i < p->n_targets; i++) {
		const struct ip_key *ip = &p->targets[i].ip;
		bool listed = false;
		for (unsigned j = 0; j < p->n_ips; j++)
			listed = listed || memcmp(&p->ips[j], ip, sizeof *ip) == 0;
		if (listed)
			continue;
		if (ipmap_get(busy, ip) > 0 || p->n_ips == PROBE_IPS)
			return false;
		p->ips[p->n_ips++] = *ip;
	}
	for (unsigned j = 0; j < p->n_ips; j++) {
		if (ipmap_inc(busy, &p->ips[j]) == 0) {  /* sized not to fill */
			while (j-- > 0)
				ipmap_dec(busy, &p->ips[j]);
			p->n_ips = 0;
			return false;
		}
	}
	return true;
}

/* A verdict that needs no dialing. */
static bool verdict_now(struct probe_report *r, const char *classification,
    const char *reason)
{
	r->classification = classification;
	r->reason = reason;
	return false;
}

bool probe_start(struct prober *pr, const struct probe_request *req,
    probe_done_fn done, void *ctx, struct probe_report *now)
{
	int64_t t = now_ms();
	struct cache_entry *e;
	struct probe *p;

	memset(now, 0, sizeof *now);
	if (!pr->cfg.enabled)
		return verdict_now(now, "unknown", "probe_disabled");
	if ((e = cache_find(pr, req, t)) != NULL) {
		now->cached_reason = e->reason;
		snprintf(now->target, sizeof now->target, "%s", e->target);
		return verdict_now(now, e->classification, "cached");
	}
	if (pr->active >= pr->cfg.max_concurrent ||
	    (p = malloc(sizeof *p)) == NULL)
		return verdict_now(now, "unknown", "rate_limited");
	memset(p, 0, sizeof *p);
	p->pr = pr;
	p->req = *req;
	p->done = done;
	p->ctx = ctx;
	p->started_us = now_us();
	p->report.via = pr->cfg.proxy != NULL ? "socks5" : NULL;
	p->budget_end_ms = t + (int64_t)pr->cfg.budget_ms;
	plan_targets(p);
	if (p->n_targets == 0 || !claim_ips(p)) {
		const char *reason = p->n_targets == 0 ?
		    "no_routable_target" : "rate_limited";
		free(p);
		return verdict_now(now, "unknown", reason);
	}
	p->next = pr->probes;
	if (pr->probes)
		pr->probes->prev = p;
	pr->probes = p;
	pr->active++;
	if (connect_next(p))
		return true;
	/* Every connect() failed at once: the verdict is already known, and
	 * done must not run before probe_start returns. */
	probe_finish(p);
	*now = p->report;
	free(p);
	return false;
}
