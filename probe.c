/* probe.c - see probe.h.  Each probe is a small state machine on the loop:
 * CONNECTING (non-blocking connect to one target), then VERIFYING (our h2
 * client runs the call until the node's Version arrives), then the next
 * target or the verdict. */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "h2.h"

/* Verdicts are kept per (IP, node id): a node that reconnects is not
 * probed again, while several nodes behind one IP each get their own.
 * Direct-mapped: a collision just means one more probe. */
#define CACHE_SLOTS 4096
/* Distinct IPs among a probe's targets: the peer's, an advertised one. */
#define PROBE_IPS 2
#define P2P_PATH "/protowire.P2P/MessageStream"

enum probe_state { PROBE_CONNECTING, PROBE_VERIFYING };

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
	uint8_t probe_id[KASPA_ID_LEN];  /* not the sensor's: see probe.h */
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
	int fd;
	int slot;
	int64_t started_us;
	int64_t attempt_us;        /* this connect() began */
	int64_t budget_end_ms;
	bool aborted;              /* sensor shutting down */
	struct h2_conn h2;         /* initialised once a port is open */
};

static struct kaspa_msg probe_msg;   /* single-threaded scratch */

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
	} else if (any_attempt(r, "error", NULL)) {
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

static const char *connect_outcome(int err)
{
	switch (err) {
	case 0:
		return "connected";
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	case ECONNRESET:
		return "reset";
	default:
		return "error";
	}
}

/* Close the target's socket; a verified node gets a polite goodbye. */
static void drop_socket(struct probe *p)
{
	if (p->state == PROBE_VERIFYING) {
		size_t len;
		const uint8_t *out;
		h2_end_call(&p->h2, 0, NULL);
		h2_goaway(&p->h2, 0, NULL);
		if ((out = h2_out(&p->h2, &len)) != NULL && len > 0)
			(void)!write(p->fd, out, len);
		shutdown(p->fd, SHUT_WR);
		h2_free(&p->h2);
	}
	loop_del(p->pr->loop, p->slot);
	close(p->fd);
	p->fd = -1;
}

/* This target is done: on to the next one, or the verdict. */
static void target_done(struct probe *p)
{
	bool verified = attempt(p)->verify != NULL &&
	    strcmp(attempt(p)->verify, "verified") == 0;
	bool open_enough = !p->pr->cfg.verify &&
	    strcmp(attempt(p)->connect, "connected") == 0;

	drop_socket(p);
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

static int cb_headers(void *ctx, const struct grpc_headers *h)
{
	struct probe *p = ctx;
	/* A trailers-only answer or an HTTP error: not a Kaspa node. */
	if (h->status != 200 || h->trailers || h->grpc_status > 0) {
		set_verdict(p, "not_kaspa");
		return -1;
	}
	return 0;
}

static int cb_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct probe *p = ctx;
	const char *err;
	(void)compressed;

	if (kaspa_decode(msg, len, &probe_msg, &err) != 0 ||
	    probe_msg.type != KASPA_VERSION)
		return 0;    /* a node sends Version first; wait for it */
	const struct kaspa_version *v = &probe_msg.u.version;
	set_verdict(p, v->id_len == KASPA_ID_LEN &&
	    memcmp(v->id, p->req.id, KASPA_ID_LEN) == 0 ?
	    "verified" : "different_node");
	return -1;       /* seen enough: stop reading */
}

static void cb_end(void *ctx, bool goaway, uint32_t code)
{
	(void)goaway;
	(void)code;
	set_verdict(ctx, "not_kaspa");
}

static const struct h2_callbacks callbacks = {
	.on_headers = cb_headers,
	.on_message = cb_message,
	.on_end = cb_end,
};

static int send_our_version(struct probe *p)
{
	static uint8_t buf[512];
	struct kaspa_version *v = &probe_msg.u.version;
	struct timespec now;

	memset(&probe_msg, 0, offsetof(struct kaspa_msg, u));
	memset(v, 0, sizeof *v);
	probe_msg.type = KASPA_VERSION;
	clock_gettime(CLOCK_REALTIME, &now);
	v->protocol_version = p->req.protocol_version;
	v->timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	memcpy(v->id, p->pr->probe_id, KASPA_ID_LEN);
	v->id_len = KASPA_ID_LEN;
	snprintf(v->user_agent, sizeof v->user_agent, "%s",
	    p->pr->cfg.user_agent);
	snprintf(v->network, sizeof v->network, "%s", p->pr->cfg.network);
	int n = kaspa_encode(&probe_msg, buf, sizeof buf);
	return n < 0 ? -1 : h2_send_message(&p->h2, buf, (size_t)n);
}

/* Port open: speak Kaspa as a dialing node would, until its Version. */
static void start_verify(struct probe *p)
{
	struct probe_attempt *a = attempt(p);

	p->state = PROBE_VERIFYING;
	h2_init(&p->h2, H2_CLIENT, &callbacks, p);
	if (h2_open_call(&p->h2, a->target, P2P_PATH, true) != 0 ||
	    send_our_version(p) != 0) {
		set_verdict(p, "not_kaspa");
		target_done(p);
		return;
	}
	loop_set_deadline(p->pr->loop, p->slot, p->budget_end_ms);
}

static void flush_verify(struct probe *p)
{
	size_t len;
	const uint8_t *out = h2_out(&p->h2, &len);

	if (out != NULL && len > 0) {
		ssize_t n = write(p->fd, out, len);
		if (n > 0)
			h2_out_done(&p->h2, (size_t)n);
	}
	out = h2_out(&p->h2, &len);
	loop_set_events(p->pr->loop, p->slot,
	    (short)(POLLIN | (out != NULL && len > 0 ? POLLOUT : 0)));
}

static void on_connect_event(struct probe *p, short revents)
{
	struct probe_attempt *a = attempt(p);
	int err = 0;
	socklen_t len = sizeof err;

	if (revents == 0) {
		a->connect = "timeout";
		target_done(p);
		return;
	}
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	a->connect = connect_outcome(err);
	a->rtt_us = now_us() - p->attempt_us;
	if (err != 0 || !p->pr->cfg.verify) {
		target_done(p);
		return;
	}
	start_verify(p);
	if (p->fd >= 0)
		flush_verify(p);
}

static void on_verify_event(struct probe *p, short revents)
{
	static uint8_t buf[16384];

	if (revents == 0) {
		set_verdict(p, "not_kaspa");   /* budget spent, no Version */
		target_done(p);
		return;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		ssize_t n = read(p->fd, buf, sizeof buf);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || h2_recv(&p->h2, buf, (size_t)n) != 0) {
			set_verdict(p, "not_kaspa");
			target_done(p);
			return;
		}
	}
	flush_verify(p);
}

static void probe_event(struct loop *l, int slot, short revents, void *ud)
{
	struct probe *p = ud;
	(void)l;
	(void)slot;

	if (p->state == PROBE_CONNECTING)
		on_connect_event(p, revents);
	else
		on_verify_event(p, revents);
}

/* Connect to targets in turn until one is pending (true) or none is
 * left or the budget is spent (false). */
static bool connect_next(struct probe *p)
{
	while (p->cur < p->n_targets && now_ms() < p->budget_end_ms) {
		const struct target *t = &p->targets[p->cur++];
		struct probe_attempt *a = &p->report.tried[p->report.n_tried++];
		struct sockaddr_storage sa;
		socklen_t sa_len = addr_to_sockaddr(&t->ip, t->port, &sa);

		addr_text(&t->ip, t->port, a->target, sizeof a->target);
		a->kind = kind_names[t->kind];
		a->verify = NULL;
		a->rtt_us = -1;
		p->state = PROBE_CONNECTING;
		p->attempt_us = now_us();
		p->fd = socket(sa.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd < 0) {
			a->connect = "error";
			continue;
		}
		if (connect(p->fd, (struct sockaddr *)&sa, sa_len) != 0 &&
		    errno != EINPROGRESS) {
			a->connect = connect_outcome(errno);
			close(p->fd);
			p->fd = -1;
			continue;
		}
		p->slot = loop_add(p->pr->loop, p->fd, POLLOUT, probe_event, p);
		if (p->slot < 0) {
			a->connect = "error";
			close(p->fd);
			p->fd = -1;
			continue;
		}
		int64_t limit = now_ms() + (int64_t)p->pr->cfg.connect_timeout_ms;
		loop_set_deadline(p->pr->loop, p->slot,
		    limit < p->budget_end_ms ? limit : p->budget_end_ms);
		return true;
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
	if (getrandom(pr->probe_id, sizeof pr->probe_id, 0) !=
	    (ssize_t)sizeof pr->probe_id ||
	    ipmap_init(&pr->busy, (uint32_t)(cfg->max_concurrent * PROBE_IPS))
	    != 0) {
		free(pr);
		return NULL;
	}
	return pr;
}

void prober_free(struct prober *pr)
{
	while (pr->probes != NULL) {
		struct probe *p = pr->probes;
		if (p->fd >= 0)
			drop_socket(p);
		p->cur = p->n_targets;
		p->aborted = true;
		probe_end(p);
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
	p->fd = -1;
	p->started_us = now_us();
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
