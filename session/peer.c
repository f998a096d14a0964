/* peer.c - one inbound connection: the socket and the h2 engine in
 * conn.c, the Kaspa handshake in handshake.c (HS_ACCEPT role).
 *
 * Bytes from the socket go into the h2 engine; its callbacks hand us the
 * call's headers and each gRPC message, which we decode and feed to the
 * handshake engine; what it wants sent goes back through h2.  Everything
 * a connection owns is in struct peer, freed in one place (peer_close),
 * which also has its NDJSON line written (peer_log.c).
 */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "conn.h"
#include "handshake.h"
#include "peer_log.h"
#include "probe.h"

#define GRPC_UNIMPLEMENTED 12

enum peer_state {
	PEER_WAIT_CALL,     /* TCP up: preface, SETTINGS, request headers */
	PEER_HANDSHAKE,     /* call open: the handshake engine runs */
	PEER_DRAIN,         /* goodbye queued: flush, half-close, await EOF */
};

struct peer {
	struct peer_record rec;    /* what its NDJSON line will say */
	struct conn conn;
	struct hs hs;
	struct sensor *s;
	struct peer *next, *prev;
	struct ip_key ip;
	enum peer_state state;
	bool counted_ip;           /* holds a unit in s->per_ip */
	bool probe_pending;        /* the line waits for the probe's verdict */
	bool released;             /* socket closed, waiting for the probe */
};

/* musl's malloc serves 1,629 to 2,032 bytes from its 2,032-byte class:
 * one byte past 1,628 costs every connection 400 bytes (BENCHMARKS.md,
 * "Memory per connection"). */
_Static_assert(sizeof(struct peer) <= 1628, "struct peer: malloc class");

static const enum peer_stage hs_stages[] = {
	[HS_STAGE_NONE] = STAGE_CALL,
	[HS_STAGE_VERSION] = STAGE_VERSION,
	[HS_STAGE_VERACK] = STAGE_VERACK,
	[HS_STAGE_READY] = STAGE_READY,
};

static void peer_close(struct peer *p);
static void peer_finish(struct peer *p, const char *outcome);

static void reach(struct peer *p, enum peer_stage st)
{
	if (st > p->rec.stage)
		p->rec.stage = st;
}

static void set_state(struct peer *p, enum peer_state st, int64_t deadline)
{
	p->state = st;
	loop_set_deadline(&p->s->loop, p->conn.slot, deadline);
}

static void peer_flush(struct peer *p)
{
	p->rec.bytes_out += conn_flush(&p->conn, p->state == PEER_DRAIN);
}

/* ---- the handshake ---- */

static void probe_done(void *ctx, const struct probe_report *r)
{
	struct peer *p = ctx;

	p->rec.probe = *r;
	p->probe_pending = false;
	if (p->released)
		peer_close(p);
}

/* Dial the peer back now, while it is still connected to us. */
static void start_probe(struct peer *p)
{
	struct probe_request req = { .ip = p->ip, .port = p->rec.port };
	const struct kaspa_version *v = &p->rec.version;

	memcpy(req.id, v->id, KASPA_ID_LEN);
	req.protocol_version = v->protocol_version;
	req.has_advertised = v->has_address && addr_from_bytes(&req.advertised,
	    v->address.ip, v->address.ip_len) == 0 && v->address.port <= 65535;
	req.advertised_port = (uint16_t)v->address.port;
	p->rec.probe_started = true;
	p->probe_pending = true;
	if (!probe_start(p->s->prober, &req, probe_done, p, &p->rec.probe))
		p->probe_pending = false;
}

static bool has_unknown(const struct kaspa_version_unknown *u)
{
	return u->version.count + u->version.dropped + u->address.count +
	    u->address.dropped + u->message.count + u->message.dropped > 0;
}

static void on_version(struct peer *p, const struct kaspa_msg *m)
{
	p->rec.version = m->u.version;
	if (has_unknown(&m->unknown) &&
	    (p->rec.unknown = malloc(sizeof *p->rec.unknown)) != NULL)
		*p->rec.unknown = m->unknown;
	p->rec.got_version = true;
}

/* Act on one step of the engine: `ev` its events, `m` the message it was
 * given (NULL for a tick).  Returns -1 if a message could not be sent. */
static int engine_step(struct peer *p, unsigned ev, const struct kaspa_msg *m)
{
	struct hs *h = &p->hs;

	if (ev & HS_EV_VERSION)
		on_version(p, m);
	if (ev & HS_EV_ACCEPTED)
		start_probe(p);
	if ((ev & HS_EV_REJECT) && p->rec.reject_reason == NULL)
		p->rec.reject_reason = strdup(m->u.reject_reason);
	if (ev & HS_EV_READY) {
		p->rec.handshake_us = now_us() - p->rec.accepted_us;
		p->rec.outcome = "ok";
	}
	reach(p, hs_stages[h->stage]);
	int sent = conn_send_outputs(&p->conn, h);
	if (ev & HS_EV_DONE)
		peer_finish(p, conn_outcome_name(h));
	else
		loop_set_deadline(&p->s->loop, p->conn.slot, hs_deadline(h));
	return sent;
}

/* ---- h2 callbacks ---- */

static int cb_headers(void *ctx, const struct grpc_headers *h)
{
	struct peer *p = ctx;

	if (h->trailers || p->state != PEER_WAIT_CALL)
		return 0;
	snprintf(p->rec.http_user_agent, sizeof p->rec.http_user_agent, "%s",
	    h->user_agent);
	if (strcmp(h->path, P2P_PATH) != 0 ||
	    strncmp(h->content_type, "application/grpc", 16) != 0) {
		h2_end_call(&p->conn.h2, GRPC_UNIMPLEMENTED, "unknown method");
		peer_finish(p, "bad_call");
		return -1;
	}
	reach(p, STAGE_CALL);
	if (h2_respond(&p->conn.h2) != 0)
		return -1;
	p->state = PEER_HANDSHAKE;
	hs_init(&p->hs, &p->s->handshake, now_ms());
	engine_step(p, 0, NULL);    /* its first deadline; ours is held */
	return 0;
}

static int cb_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct peer *p = ctx;
	const struct kaspa_msg *m;
	const char *err;
	unsigned ev;

	if (compressed)
		p->rec.compressed = true;
	if (p->state != PEER_HANDSHAKE)
		return 0;
	if ((m = conn_decode(&p->conn, msg, len, &err)) != NULL) {
		ev = hs_on_message(&p->hs, m, now_ms());
	} else {
		fprintf(stderr, "kaspa-sensor: %s: %s:%u: %s\n", __func__,
		    p->rec.ip_text, p->rec.port, err);
		ev = hs_on_bad_message(&p->hs);
	}
	return conn_verdict(engine_step(p, ev, m), ev);
}

static void cb_end(void *ctx, bool goaway, uint32_t code)
{
	struct peer *p = ctx;
	(void)goaway;
	(void)code;
	peer_finish(p, "closed");
}

static const struct h2_callbacks callbacks = {
	.on_headers = cb_headers,
	.on_message = cb_message,
	.on_end = cb_end,
};

/* ---- events ---- */

/* Returns true when p is gone. */
static bool on_readable(struct peer *p)
{
	const uint8_t *buf;
	ssize_t n = conn_read(&p->conn, &buf);

	if (n == 0)
		return false;
	if (n < 0) {
		peer_finish(p, "closed");
		peer_close(p);
		return true;
	}
	p->rec.bytes_in += (uint64_t)n;
	peer_keep_first_bytes(&p->rec, buf, (size_t)n);
	if (p->state == PEER_DRAIN)
		return false;      /* discard until EOF */
	struct h2_conn *h2 = &p->conn.h2;
	int rc = h2_recv(h2, buf, (size_t)n);
	/* Only a client that got past the preface counts as HTTP/2. */
	if (h2->fail != H2_FAIL_PREFACE && h2->state != H2_WAIT_PREFACE)
		reach(p, STAGE_HTTP2);
	/* Even after "ok" (lingering): the engine is closed, so say goodbye
	 * now; peer_finish keeps the first outcome. */
	if (rc != 0)
		peer_finish(p, h2->fail == H2_FAIL_PREFACE ?
		    peer_preface_outcome(&p->rec) : h2_fail_name(h2->fail));
	return false;
}

/* Returns true when p is gone. */
static bool on_deadline(struct peer *p)
{
	switch (p->state) {
	case PEER_DRAIN:
		peer_close(p);
		return true;
	case PEER_HANDSHAKE:
		if (engine_step(p, hs_on_tick(&p->hs, now_ms()), NULL) != 0)
			peer_finish(p, "tx_full");
		return false;
	default:
		peer_finish(p, "timeout");
		return false;
	}
}

static void peer_event(struct loop *l, int slot, short revents, void *ud)
{
	struct peer *p = ud;
	(void)l;
	(void)slot;

	bool gone = revents == 0 ? on_deadline(p) :
	    (revents & (POLLIN | POLLERR | POLLHUP)) ? on_readable(p) : false;
	if (!gone)
		peer_flush(p);
}

/* ---- end of a connection ---- */

/* Decide the outcome (first decision wins) and say goodbye: trailers if the
 * call is open, GOAWAY, then drain. */
static void peer_finish(struct peer *p, const char *outcome)
{
	if (p->rec.outcome == NULL)
		p->rec.outcome = outcome;
	if (p->state == PEER_DRAIN)
		return;
	uint64_t drain = conn_goodbye(&p->conn, p->state != PEER_WAIT_CALL);
	set_state(p, PEER_DRAIN, now_ms() + (int64_t)drain);
}

/* What the engine knew, for the line. */
static void record_close(struct peer *p)
{
	struct peer_record *r = &p->rec;

	r->closed_us = now_us();
	r->sent_version = p->hs.sent_version;
	r->our_version = p->hs.our_version;
	r->peer_first = p->hs.peer_first;
}

/* The one cleanup path: the socket goes now, the line and the memory
 * once the probe (if any) has its verdict (probe_done calls back here). */
static void peer_close(struct peer *p)
{
	struct sensor *s = p->s;

	if (!p->released) {
		p->released = true;
		record_close(p);
		if (p->counted_ip)
			ipmap_dec(&s->per_ip, &p->ip);
		loop_del(&s->loop, p->conn.slot);
		close(p->conn.fd);
		if (p->prev)
			p->prev->next = p->next;
		else
			s->peers = p->next;
		if (p->next)
			p->next->prev = p->prev;
		s->n_peers--;
	}
	if (p->probe_pending)
		return;
	peer_log(s, &p->rec);
	h2_free(&p->conn.h2);
	free(p->rec.unknown);
	free(p->rec.reject_reason);
	free(p);
}

void peer_close_all(struct sensor *s)
{
	while (s->peers != NULL) {
		struct peer *p = s->peers;
		peer_finish(p, "shutdown");
		peer_flush(p);
		peer_close(p);
	}
}

/* ---- start ---- */

void peer_setup(struct sensor *s)
{
	const struct config *c = s->cfg;

	s->handshake = (struct hs_config){
		.role = HS_ACCEPT,
		.network = c->network,
		.user_agent = c->user_agent,
		.node_id = s->node_id,
		.protocol_version = (uint32_t)c->protocol_version,
		.version_wait_ms = c->version_wait_ms,
		.stage_timeout_ms = c->stage_timeout_ms,
		.ready_timeout_ms = c->ready_timeout_ms,
		.linger_ms = c->linger_ms,
	};
}

static void peer_init(struct peer *p, struct sensor *s, int fd)
{
	memset(p, 0, sizeof *p);
	p->s = s;
	p->conn.loop = &s->loop;
	p->conn.shared = &s->shared;
	p->conn.fd = fd;
	p->rec.handshake_us = -1;
	p->rec.accepted_us = now_us();
	clock_gettime(CLOCK_REALTIME, &p->rec.accepted_wall);
	p->rec.local_port = conn_local_port(&p->conn);
}

int peer_accept(struct sensor *s, int fd, const struct sockaddr_storage *sa,
    const char *refuse)
{
	struct peer *p = malloc(sizeof *p);

	if (p == NULL) {
		close(fd);
		return -1;
	}
	peer_init(p, s, fd);
	p->rec.port = addr_from_sockaddr(&p->ip, sa);
	addr_ip_text(&p->ip, p->rec.ip_text, sizeof p->rec.ip_text);
	p->conn.slot = loop_add(&s->loop, fd, POLLIN, peer_event, p);
	if (p->conn.slot < 0) {
		free(p);
		close(fd);
		return -1;
	}
	p->next = s->peers;
	if (s->peers)
		s->peers->prev = p;
	s->peers = p;
	s->n_peers++;
	if (refuse == NULL && ipmap_inc(&s->per_ip, &p->ip) != 0) {
		p->counted_ip = true;
		if (ipmap_get(&s->per_ip, &p->ip) > s->cfg->max_conns_per_ip)
			refuse = "ip_limit";
	} else if (refuse == NULL) {
		refuse = "conn_limit";
	}
	if (refuse != NULL) {
		p->rec.outcome = refuse;
		peer_close(p);
		return 0;
	}
	h2_init(&p->conn.h2, &p->conn.shared->h2, H2_SERVER, &callbacks,
	    p);
	set_state(p, PEER_WAIT_CALL,
	    now_ms() + (int64_t)s->cfg->stage_timeout_ms);
	peer_flush(p);
	return 0;
}
