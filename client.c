/* client.c - see client.h.  One state machine per session:
 * CONNECTING (dial.c owns the descriptor) -> HANDSHAKE -> REQUESTING ->
 * LINGER -> DRAIN, each with its own deadline on the loop slot;
 * client_finish() is the one way out. */
#include "client.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "h2.h"

#define DRAIN_MS 500           /* wait for the peer's EOF after GOAWAY */
#define P2P_PATH "/protowire.P2P/MessageStream"

enum client_state {
	CLIENT_CONNECTING,
	CLIENT_HANDSHAKE,      /* Version / Verack / Ready in flight */
	CLIENT_REQUESTING,     /* one RequestAddresses out, reply awaited */
	CLIENT_LINGER,         /* answering their requests and pings */
	CLIENT_DRAIN,          /* goodbye queued: flush, half-close, EOF */
};

struct client {
	struct loop *loop;
	struct client_config cfg;
	struct client_callbacks cb;
	void *ctx;
	struct client_result r;
	enum client_state state;
	int fd;                    /* -1 while dialing */
	int slot;                  /* -1 while dialing */
	struct dial dial;
	bool sent_verack, sent_ready, got_verack, got_ready;
	bool half_closed;
	bool finished;             /* on_done ran */
	unsigned requests_sent;
	int64_t started_us;
	char authority[ADDR_TEXT_MAX];
	struct h2_conn h2;         /* small: its buffers are lent while used */
};

/* Single-threaded: one decode and one encode area serve every session. */
static struct kaspa_msg rx_msg, tx_msg;

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

/* now + limit, but never past the session's end_by_ms. */
static int64_t deadline_in(const struct client *c, uint64_t limit_ms)
{
	int64_t at = now_ms() + (int64_t)limit_ms;
	return c->cfg.end_by_ms != 0 && c->cfg.end_by_ms < at ?
	    c->cfg.end_by_ms : at;
}

static void set_state(struct client *c, enum client_state st,
    uint64_t limit_ms)
{
	c->state = st;
	loop_set_deadline(c->loop, c->slot, deadline_in(c, limit_ms));
}

/* ---- end of a session ---- */

static void client_free(struct client *c)
{
	dial_cancel(&c->dial);
	if (c->slot >= 0)
		loop_del(c->loop, c->slot);
	if (c->fd >= 0)
		close(c->fd);
	c->r.duration_us = now_us() - c->started_us;
	if (c->r.outcome == NULL)
		c->r.outcome = "closed";
	c->finished = true;
	c->cb.on_done(c->ctx, &c->r);
	h2_free(&c->h2);
	free(c);
}

/* Decide the outcome (first decision wins) and say goodbye politely. */
static void client_finish(struct client *c, const char *outcome)
{
	if (c->r.outcome == NULL)
		c->r.outcome = outcome;
	if (c->state == CLIENT_DRAIN)
		return;
	if (c->state != CLIENT_CONNECTING) {
		if (c->h2.stream == H2_STREAM_OPEN)
			h2_end_call(&c->h2, 0, NULL);
		if (c->h2.state != H2_CLOSING)
			h2_goaway(&c->h2, 0, NULL);
	}
	set_state(c, CLIENT_DRAIN, c->cfg.no_drain ? 0 : DRAIN_MS);
}

/* ---- output ---- */

/* Write what the engine queued; in DRAIN half-close once it is out. */
static void client_flush(struct client *c)
{
	size_t len;
	const uint8_t *out;

	if (c->state == CLIENT_CONNECTING)
		return;
	while (!c->half_closed && (out = h2_out(&c->h2, &len)) != NULL &&
	    len > 0) {
		ssize_t n = write(c->fd, out, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->half_closed = true;   /* peer gone */
			break;
		}
		h2_out_done(&c->h2, (size_t)n);
	}
	out = h2_out(&c->h2, &len);
	bool pending = out != NULL && len > 0 && !c->half_closed;
	loop_set_events(c->loop, c->slot,
	    (short)(POLLIN | (pending ? POLLOUT : 0)));
	if (c->state == CLIENT_DRAIN && !pending && !c->half_closed) {
		shutdown(c->fd, SHUT_WR);
		c->half_closed = true;
	}
}

static struct kaspa_msg *new_msg(enum kaspa_type type, uint32_t response_id)
{
	memset(&tx_msg, 0, offsetof(struct kaspa_msg, u));
	tx_msg.type = type;
	tx_msg.response_id = response_id;
	return &tx_msg;
}

static int send_msg(struct client *c)
{
	static uint8_t buf[2048];
	int n = kaspa_encode(&tx_msg, buf, sizeof buf);
	return n < 0 ? -1 : h2_send_message(&c->h2, buf, (size_t)n);
}

static int send_version(struct client *c)
{
	struct kaspa_version *v = &new_msg(KASPA_VERSION, 0)->u.version;
	struct timespec now;

	memset(v, 0, sizeof *v);
	clock_gettime(CLOCK_REALTIME, &now);
	v->protocol_version = c->cfg.protocol_version;
	v->services = 0;
	v->timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	memcpy(v->id, c->cfg.node_id, KASPA_ID_LEN);
	v->id_len = KASPA_ID_LEN;
	snprintf(v->user_agent, sizeof v->user_agent, "%s", c->cfg.user_agent);
	snprintf(v->network, sizeof v->network, "%s", c->cfg.network);
	if (c->cfg.has_address) {
		bool v4 = addr_is_v4(&c->cfg.address);
		v->has_address = true;
		v->address.ip_len = v4 ? 4 : 16;
		memcpy(v->address.ip, c->cfg.address.b + (v4 ? 12 : 0),
		    v->address.ip_len);
		v->address.port = c->cfg.address_port;
	}
	return send_msg(c);
}

static int send_simple(struct client *c, enum kaspa_type type)
{
	new_msg(type, 0);
	return send_msg(c);
}

static int answer_request(struct client *c, uint32_t request_id)
{
	struct kaspa_msg *m = new_msg(KASPA_ADDRESSES, request_id);

	m->u.addresses.count = c->cfg.n_answer;
	memcpy(m->u.addresses.list, c->cfg.answer,
	    c->cfg.n_answer * sizeof c->cfg.answer[0]);
	c->r.requests_answered++;
	return send_msg(c);
}

/* ---- after Ready ---- */

/* Next RequestAddresses, or linger when all were sent. */
static int next_request(struct client *c)
{
	if (c->requests_sent < c->cfg.address_requests) {
		c->requests_sent++;
		new_msg(KASPA_REQUEST_ADDRESSES, 0)->u.include_all_subnetworks =
		    false;
		if (send_msg(c) != 0)
			return -1;
		set_state(c, CLIENT_REQUESTING, c->cfg.request_timeout_ms);
		return 0;
	}
	if (c->cfg.linger_ms == 0) {
		client_finish(c, "ok");
		return 0;
	}
	set_state(c, CLIENT_LINGER, c->cfg.linger_ms);
	return 0;
}

/* Move the handshake on as far as the flags allow. */
static int advance(struct client *c)
{
	if (c->state != CLIENT_HANDSHAKE)
		return 0;
	if (c->got_verack && c->sent_verack && !c->sent_ready) {
		if (send_simple(c, KASPA_READY) != 0)
			return -1;
		c->sent_ready = true;
		reach(c, CLIENT_STAGE_VERACK);
		set_state(c, CLIENT_HANDSHAKE, c->cfg.stage_timeout_ms);
	}
	if (c->sent_ready && c->got_ready) {
		reach(c, CLIENT_STAGE_READY);
		c->r.handshake_us = now_us() - c->started_us;
		c->r.outcome = "ok";
		return next_request(c);
	}
	return 0;
}

static bool valid_version(const struct kaspa_version *v)
{
	return v->id_len == KASPA_ID_LEN &&
	    (!v->has_address || v->address.ip_len == 4 ||
	     v->address.ip_len == 16);
}

static int on_version(struct client *c, const struct kaspa_version *v)
{
	if (c->r.got_version)
		return 0;
	c->r.version = *v;
	c->r.got_version = true;
	reach(c, CLIENT_STAGE_VERSION);
	if (c->cb.on_version != NULL &&
	    c->cb.on_version(c->ctx, v) == CLIENT_STOP) {
		client_finish(c, "stopped");
		return -1;
	}
	if (!valid_version(v)) {
		client_finish(c, "bad_version");
		return -1;
	}
	if (strcmp(v->network, c->cfg.network) != 0) {
		client_finish(c, "wrong_network");
		return -1;
	}
	if (send_simple(c, KASPA_VERACK) != 0)
		return -1;
	c->sent_verack = true;
	set_state(c, CLIENT_HANDSHAKE, c->cfg.stage_timeout_ms);
	return 0;
}

static int on_addresses(struct client *c, const struct kaspa_msg *m)
{
	c->r.replies++;
	c->r.addresses += m->u.addresses.count;
	if (c->cb.on_addresses != NULL)
		c->cb.on_addresses(c->ctx, m);
	return c->state == CLIENT_REQUESTING ? next_request(c) : 0;
}

static int on_kaspa_message(struct client *c, const struct kaspa_msg *m)
{
	switch (m->type) {
	case KASPA_VERSION:
		if (on_version(c, &m->u.version) != 0)
			return -1;
		break;
	case KASPA_VERACK:
		c->got_verack = true;
		break;
	case KASPA_READY:
		c->got_ready = true;
		break;
	case KASPA_REQUEST_ADDRESSES:
		return answer_request(c, m->request_id);
	case KASPA_ADDRESSES:
		return c->r.stage == CLIENT_STAGE_READY ? on_addresses(c, m) : 0;
	case KASPA_PING:
		new_msg(KASPA_PONG, m->request_id)->u.nonce = m->u.nonce;
		c->r.pings_answered++;
		return send_msg(c);
	case KASPA_REJECT:
		snprintf(c->r.reject_reason, sizeof c->r.reject_reason, "%s",
		    m->u.reject_reason);
		client_finish(c, "reject");
		return -1;
	default:
		break;      /* flows we do not run */
	}
	return advance(c);
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
	const char *err;
	(void)compressed;

	if (c->state == CLIENT_DRAIN)
		return 0;
	if (kaspa_decode(msg, len, &rx_msg, &err) != 0) {
		client_finish(c, c->r.got_version ? "bad_message" : "not_kaspa");
		return -1;
	}
	return on_kaspa_message(c, &rx_msg);
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

static void client_event(struct loop *l, int slot, short revents, void *ud);

/* The connection is up: open the call and send our Version at once. */
static void on_connected(struct client *c)
{
	reach(c, CLIENT_STAGE_TCP);
	c->r.connect_us = now_us() - c->started_us;
	h2_init(&c->h2, H2_CLIENT, &h2_cb, c);
	set_state(c, CLIENT_HANDSHAKE, c->cfg.stage_timeout_ms);
	if (h2_open_call(&c->h2, c->authority, P2P_PATH, true) != 0 ||
	    send_version(c) != 0)
		client_finish(c, "tx_full");
}

/* Returns true when c is gone. */
static bool on_readable(struct client *c)
{
	static uint8_t buf[16384];
	ssize_t n = read(c->fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		client_finish(c, "closed");
		client_free(c);
		return true;
	}
	if (c->state == CLIENT_DRAIN)
		return false;          /* discard until EOF */
	if (h2_recv(&c->h2, buf, (size_t)n) != 0)
		client_finish(c, h2_fail_name(c->h2.fail));
	return false;
}

/* Returns true when c is gone. */
static bool on_deadline(struct client *c)
{
	switch (c->state) {
	case CLIENT_DRAIN:
		client_free(c);
		return true;
	case CLIENT_HANDSHAKE:
		client_finish(c, c->r.got_version ? "timeout" : "not_kaspa");
		return false;
	case CLIENT_REQUESTING:   /* no reply to this one: go on */
		if (next_request(c) != 0)
			client_finish(c, "tx_full");
		return false;
	default:                  /* linger over */
		client_finish(c, "ok");
		return false;
	}
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
		client_flush(c);
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
	c->fd = r->fd;
	/* the dial's slot was just freed: there is room */
	c->slot = loop_add(c->loop, c->fd, POLLIN, client_event, c);
	if (c->slot < 0) {
		c->r.outcome = "error";
		client_free(c);
		return;
	}
	on_connected(c);
	client_flush(c);
}

/* ---- API ---- */

struct client *client_start(struct loop *l, const struct client_config *cfg,
    const struct ip_key *ip, uint16_t port,
    const struct client_callbacks *cb, void *ctx)
{
	struct client *c = malloc(sizeof *c);

	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof *c);
	c->loop = l;
	c->cfg = *cfg;
	c->cb = *cb;
	c->ctx = ctx;
	c->fd = -1;
	c->slot = -1;
	c->r.connect_us = -1;
	c->r.dial = DIAL_ERROR;
	c->r.dial_us = -1;
	c->r.handshake_us = -1;
	c->started_us = now_us();
	c->state = CLIENT_CONNECTING;
	addr_text(ip, port, c->authority, sizeof c->authority);
	int64_t until = deadline_in(c, cfg->connect_timeout_ms) - now_ms();
	if (dial_start(&c->dial, l, cfg->proxy, ip, port,
	    until > 0 ? (uint64_t)until : 0, on_dialed, c) != 0) {
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
		client_flush(c);
	}
	client_free(c);
}
