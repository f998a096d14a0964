/* client.c - see client.h.  The session: CONNECTING (dial.c owns the
 * descriptor) -> HANDSHAKE (handshake.c's engine runs: Version, Verack,
 * Ready, RequestAddresses, linger) -> DRAIN; client_finish() is the one
 * way out. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "handshake.h"

enum client_state {
	CLIENT_CONNECTING,
	CLIENT_HANDSHAKE,      /* the engine runs */
	CLIENT_DRAIN,          /* goodbye queued: flush, half-close, EOF */
};

struct client {
	struct client_config cfg;
	struct client_callbacks cb;
	void *ctx;
	struct client_result r;
	enum client_state state;
	struct dial dial;
	int64_t started_us;
	char authority[ADDR_TEXT_MAX];
	struct hs_config hs_cfg;   /* points into cfg */
	struct hs hs;
	struct conn conn;          /* fd and slot -1 while dialing */
};

static const enum client_stage hs_stages[] = {
	[HS_STAGE_NONE] = CLIENT_STAGE_TCP,
	[HS_STAGE_VERSION] = CLIENT_STAGE_VERSION,
	[HS_STAGE_VERACK] = CLIENT_STAGE_VERACK,
	[HS_STAGE_READY] = CLIENT_STAGE_READY,
};

static const char *const stage_names[] = {
	"none", "tcp", "call", "version", "verack", "ready",
};

const char *client_stage_name(enum client_stage s)
{
	return stage_names[s];
}

static void reach(struct client *c, enum client_stage s)
{
	if (s > c->r.stage)
		c->r.stage = s;
}

static void set_state(struct client *c, enum client_state st,
    int64_t deadline)
{
	c->state = st;
	loop_set_deadline(c->conn.loop, c->conn.slot, deadline);
}

/* ---- end of a session ---- */

static void client_free(struct client *c)
{
	dial_cancel(&c->dial);
	if (c->conn.slot >= 0)
		loop_del(c->conn.loop, c->conn.slot);
	if (c->conn.fd >= 0)
		close(c->conn.fd);
	c->r.duration_us = now_us() - c->started_us;
	if (c->r.outcome == NULL)
		c->r.outcome = "closed";
	c->r.requests_answered = c->hs.requests_answered;
	c->r.pings_answered = c->hs.pings_answered;
	c->cb.on_done(c->ctx, &c->r);
	h2_free(&c->conn.h2);
	free(c);
}

/* Decide the outcome (first decision wins) and say goodbye politely. */
static void client_finish(struct client *c, const char *outcome)
{
	if (c->r.outcome == NULL)
		c->r.outcome = outcome;
	if (c->state == CLIENT_DRAIN)
		return;
	uint64_t drain = conn_goodbye(&c->conn, true);
	set_state(c, CLIENT_DRAIN, now_ms() + (c->cfg.no_drain ? 0 :
	    (int64_t)drain));
}

/* ---- the handshake ---- */

static void on_addresses(struct client *c, const struct kaspa_msg *m)
{
	c->r.replies++;
	c->r.addresses += m->u.addresses.count;
	if (c->cb.on_addresses != NULL)
		c->cb.on_addresses(c->ctx, m);
}

/* Act on one step of the engine: `ev` its events, `m` the message it was
 * given (NULL for a tick).  Returns -1 if a message could not be sent. */
static int engine_step(struct client *c, unsigned ev,
    const struct kaspa_msg *m)
{
	struct hs *h = &c->hs;

	if (ev & HS_EV_VERSION) {
		c->r.version = m->u.version;
		c->r.got_version = true;
		if (c->cb.on_version != NULL)
			c->cb.on_version(c->ctx, &m->u.version);
	}
	if (ev & HS_EV_READY) {
		c->r.handshake_us = now_us() - c->started_us;
		c->r.outcome = "ok";
	}
	if (ev & HS_EV_ADDRESSES)
		on_addresses(c, m);
	if (ev & HS_EV_REJECT)
		snprintf(c->r.reject_reason, sizeof c->r.reject_reason, "%s",
		    m->u.reject_reason);
	reach(c, hs_stages[h->stage]);
	int sent = conn_send_outputs(&c->conn, h);
	if (ev & HS_EV_DONE)
		client_finish(c, conn_outcome_name(h));
	else
		loop_set_deadline(c->conn.loop, c->conn.slot, hs_deadline(h));
	return sent;
}

/* ---- h2 callbacks ---- */

static int cb_headers(void *ctx, const struct grpc_headers *h)
{
	struct client *c = ctx;

	if (h->status != 200 || h->trailers || h->grpc_status > 0) {
		client_finish(c, "not_kaspa");
		return -1;
	}
	reach(c, CLIENT_STAGE_CALL);
	return 0;
}

static int cb_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct client *c = ctx;
	const struct kaspa_msg *m;
	const char *err;
	(void)compressed;

	if (c->state == CLIENT_DRAIN)
		return 0;
	m = conn_decode(&c->conn, msg, len, &err);
	unsigned ev = m != NULL ? hs_on_message(&c->hs, m, now_ms()) :
	    hs_on_bad_message(&c->hs);
	return conn_verdict(engine_step(c, ev, m), ev);
}

static void cb_end(void *ctx, bool goaway, uint32_t code)
{
	(void)goaway;
	(void)code;
	client_finish(ctx, "closed");
}

static const struct h2_callbacks h2_cb = {
	.on_headers = cb_headers,
	.on_message = cb_message,
	.on_end = cb_end,
};

/* ---- events ---- */

/* The connection is up: open the call; the engine sends our Version. */
static void on_connected(struct client *c)
{
	reach(c, CLIENT_STAGE_TCP);
	c->r.connect_us = now_us() - c->started_us;
	h2_init(&c->conn.h2, &c->conn.shared->h2, H2_CLIENT, &h2_cb,
	    c);
	c->state = CLIENT_HANDSHAKE;
	hs_init(&c->hs, &c->hs_cfg, now_ms());
	if (h2_open_call(&c->conn.h2, c->authority, P2P_PATH, true) != 0 ||
	    engine_step(c, 0, NULL) != 0)
		client_finish(c, "tx_full");
}

/* Returns true when c is gone. */
static bool on_readable(struct client *c)
{
	const uint8_t *buf;
	ssize_t n = conn_read(&c->conn, &buf);

	if (n == 0)
		return false;
	if (n < 0) {
		client_finish(c, "closed");
		client_free(c);
		return true;
	}
	if (c->state == CLIENT_DRAIN)
		return false;          /* discard until EOF */
	if (h2_recv(&c->conn.h2, buf, (size_t)n) != 0)
		client_finish(c, h2_fail_name(c->conn.h2.fail));
	return false;
}

/* Returns true when c is gone. */
static bool on_deadline(struct client *c)
{
	if (c->state == CLIENT_DRAIN) {
		client_free(c);
		return true;
	}
	if (engine_step(c, hs_on_tick(&c->hs, now_ms()), NULL) != 0)
		client_finish(c, "tx_full");
	return false;
}

static void client_event(struct loop *l, int slot, short revents, void *ud)
{
	struct client *c = ud;
	bool gone;
	(void)l;
	(void)slot;

	if (revents == 0)
		gone = on_deadline(c);
	else if (revents & (POLLIN | POLLERR | POLLHUP))
		gone = on_readable(c);
	else
		gone = false;
	if (!gone)
		conn_flush(&c->conn, c->state == CLIENT_DRAIN);
}

static void on_dialed(void *ctx, const struct dial_result *r)
{
	struct client *c = ctx;

	c->r.dial = r->outcome;
	c->r.dial_us = r->connect_us;
	c->r.dial_detail = r->detail;
	if (r->outcome != DIAL_CONNECTED) {
		c->r.outcome = dial_outcome_name(r->outcome);
		client_free(c);
		return;
	}
	c->conn.fd = r->fd;
	/* the dial's slot was just freed: there is room */
	c->conn.slot = loop_add(c->conn.loop, c->conn.fd, POLLIN,
	    client_event, c);
	if (c->conn.slot < 0) {
		c->r.outcome = "error";
		client_free(c);
		return;
	}
	on_connected(c);
	conn_flush(&c->conn, c->state == CLIENT_DRAIN);
}

/* ---- API ---- */

static void make_hs_config(struct client *c)
{
	const struct client_config *cc = &c->cfg;

	c->hs_cfg = (struct hs_config){
		.role = HS_DIAL,
		.network = cc->network,
		.user_agent = cc->user_agent,
		.node_id = cc->node_id,
		.protocol_version = cc->protocol_version,
		.address = cc->has_address ? &cc->address : NULL,
		.answer = cc->answer,
		.n_answer = cc->n_answer,
		.address_requests = cc->address_requests,
		.stop_at_version = cc->stop_at_version,
		.stage_timeout_ms = cc->stage_timeout_ms,
		.ready_timeout_ms = cc->stage_timeout_ms,
		.request_timeout_ms = cc->request_timeout_ms,
		.linger_ms = cc->linger_ms,
		.end_by_ms = cc->end_by_ms,
	};
}

/* The connect timeout, but no later than end_by_ms. */
static uint64_t dial_timeout(const struct client_config *cfg)
{
	int64_t left = cfg->end_by_ms - now_ms();

	if (cfg->end_by_ms == 0 || left >= (int64_t)cfg->connect_timeout_ms)
		return cfg->connect_timeout_ms;
	return left > 0 ? (uint64_t)left : 0;
}

struct client *client_start(struct loop *l, const struct client_config *cfg,
    const struct ip_key *ip, uint16_t port,
    const struct client_callbacks *cb, void *ctx)
{
	struct client *c = malloc(sizeof *c);

	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof *c);
	c->conn.shared = cfg->shared;
	c->conn.loop = l;
	c->cfg = *cfg;
	c->cb = *cb;
	c->ctx = ctx;
	c->conn.fd = -1;
	c->conn.slot = -1;
	c->r.connect_us = -1;
	c->r.dial = DIAL_ERROR;
	c->r.dial_us = -1;
	c->r.handshake_us = -1;
	c->started_us = now_us();
	c->state = CLIENT_CONNECTING;
	make_hs_config(c);
	addr_text(ip, port, c->authority, sizeof c->authority);
	if (dial_start(&c->dial, l, cfg->proxy, ip, port, dial_timeout(cfg),
	    on_dialed, c) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void client_abort(struct client *c)
{
	if (c->r.outcome == NULL)
		c->r.outcome = "aborted";
	if (c->state != CLIENT_CONNECTING) {
		client_finish(c, "aborted");
		conn_flush(&c->conn, true);
	}
	client_free(c);
}
