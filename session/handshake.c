/* handshake.c - see handshake.h.  One state machine for both roles; what
 * differs between them is the row of `rules` below. */
#include "handshake.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct role_rules {
	bool version_at_start;     /* ours goes out in hs_init */
	bool reject_wrong_network; /* a Reject says why before the end */
	bool linger_to_tick;       /* a linger of 0 lasts until the next tick */
} rules[] = {
	[HS_ACCEPT] = { false, true, true },
	[HS_DIAL] = { true, false, false },
};

/* now + limit, but never past cfg->end_by_ms. */
static int64_t deadline_in(const struct hs *h, int64_t now, uint64_t limit)
{
	int64_t at = now + (int64_t)limit;
	int64_t end = h->cfg->end_by_ms;
	return end != 0 && end < at ? end : at;
}

static void enter(struct hs *h, enum hs_state st, int64_t now, uint64_t limit)
{
	h->state = st;
	h->deadline_ms = deadline_in(h, now, limit);
}

static void reach(struct hs *h, enum hs_stage s)
{
	if (s > h->stage)
		h->stage = s;
}

/* Each call queues at most HS_OUT_MAX (see handshake.h): the check only
 * keeps a broken promise from writing past the array. */
static void queue(struct hs *h, enum kaspa_type type)
{
	if (h->n_out < HS_OUT_MAX)
		h->out[h->n_out++] = type;
}

/* A Pong or an Addresses for the message of this call. */
static void answer(struct hs *h, enum kaspa_type type, uint32_t request_id,
    uint64_t nonce)
{
	h->answer_id = request_id;
	h->pong_nonce = nonce;
	queue(h, type);
}

/* A new call: outputs of the last one not taken are dropped. */
static void new_call(struct hs *h)
{
	h->n_out = 0;
	h->next_out = 0;
}

/* End with `why`; the outcome is the first one decided. */
static unsigned finish(struct hs *h, enum hs_outcome why)
{
	if (h->outcome == HS_PENDING)
		h->outcome = why;
	h->state = HS_DONE;
	h->deadline_ms = 0;
	return HS_EV_DONE | (why == HS_OK ? 0 : HS_EV_ABORTED);
}

static void send_version(struct hs *h, uint32_t protocol_version)
{
	h->sent_version = true;
	h->our_version = protocol_version;
	queue(h, KASPA_VERSION);
}

static bool before_version(const struct hs *h)
{
	return h->state == HS_HOLD_VERSION || h->state == HS_WAIT_VERSION;
}

/* After Ready, and after each reply or its timeout: the next
 * RequestAddresses, else the linger, else the end. */
static unsigned next_request(struct hs *h, int64_t now)
{
	const struct hs_config *c = h->cfg;

	if (h->requests_sent < c->address_requests) {
		h->requests_sent++;
		queue(h, KASPA_REQUEST_ADDRESSES);
		enter(h, HS_REQUESTING, now, c->request_timeout_ms);
		return 0;
	}
	if (c->linger_ms == 0 && !rules[c->role].linger_to_tick)
		return finish(h, HS_OK);
	enter(h, HS_LINGER, now, c->linger_ms);
	return 0;
}

static unsigned ready_both_ways(struct hs *h, int64_t now)
{
	reach(h, HS_STAGE_READY);
	h->outcome = HS_OK;
	return HS_EV_READY | next_request(h, now);
}

static unsigned verack_both_ways(struct hs *h, int64_t now)
{
	queue(h, KASPA_READY);
	reach(h, HS_STAGE_VERACK);
	enter(h, HS_WAIT_READY, now, h->cfg->ready_timeout_ms);
	return h->early_ready ? ready_both_ways(h, now) : 0;
}

static bool valid_version(const struct kaspa_version *v)
{
	return v->id_len == KASPA_ID_LEN &&
	    (!v->has_address || v->address.ip_len == 4 ||
	     v->address.ip_len == 16);
}

static unsigned on_version(struct hs *h, const struct kaspa_version *v,
    int64_t now)
{
	const struct hs_config *c = h->cfg;

	h->peer_first = !h->sent_version;
	reach(h, HS_STAGE_VERSION);
	if (c->stop_at_version)
		return HS_EV_VERSION | finish(h, HS_STOPPED);
	if (!valid_version(v))
		return HS_EV_VERSION | finish(h, HS_BAD_VERSION);
	if (strcmp(v->network, c->network) != 0) {
		if (rules[c->role].reject_wrong_network)
			queue(h, KASPA_REJECT);
		return HS_EV_VERSION | finish(h, HS_WRONG_NETWORK);
	}
	if (!h->sent_version)
		send_version(h, v->protocol_version);   /* the echo */
	queue(h, KASPA_VERACK);
	enter(h, HS_WAIT_VERACK, now, c->stage_timeout_ms);
	return HS_EV_VERSION | HS_EV_ACCEPTED |
	    (h->early_verack ? verack_both_ways(h, now) : 0);
}

static unsigned on_verack(struct hs *h, int64_t now)
{
	if (h->state == HS_WAIT_VERACK)
		return verack_both_ways(h, now);
	if (before_version(h))
		h->early_verack = true;
	return 0;
}

static unsigned on_ready(struct hs *h, int64_t now)
{
	if (h->state == HS_WAIT_READY)
		return ready_both_ways(h, now);
	if (h->state < HS_WAIT_READY)
		h->early_ready = true;
	return 0;
}

static unsigned on_addresses(struct hs *h, int64_t now)
{
	if (h->stage != HS_STAGE_READY)
		return 0;       /* not asked for yet */
	return HS_EV_ADDRESSES |
	    (h->state == HS_REQUESTING ? next_request(h, now) : 0);
}

void hs_init(struct hs *h, const struct hs_config *cfg, int64_t now_ms)
{
	memset(h, 0, sizeof *h);
	h->cfg = cfg;
	enter(h, HS_HOLD_VERSION, now_ms, cfg->stage_timeout_ms);
	h->version_at_ms = now_ms + (int64_t)cfg->version_wait_ms;
	if (rules[cfg->role].version_at_start) {
		send_version(h, cfg->protocol_version);
		h->state = HS_WAIT_VERSION;
	}
}

unsigned hs_on_message(struct hs *h, const struct kaspa_msg *m,
    int64_t now_ms)
{
	new_call(h);
	if (h->state == HS_DONE)
		return 0;
	switch (m->type) {
	case KASPA_VERSION:     /* a second one changes nothing */
		return before_version(h) ? on_version(h, &m->u.version, now_ms)
		    : 0;
	case KASPA_VERACK:
		return on_verack(h, now_ms);
	case KASPA_READY:
		return on_ready(h, now_ms);
	case KASPA_ADDRESSES:
		return on_addresses(h, now_ms);
	case KASPA_REQUEST_ADDRESSES:
		h->requests_answered++;
		answer(h, KASPA_ADDRESSES, m->request_id, 0);
		return 0;
	case KASPA_PING:
		h->pings_answered++;
		answer(h, KASPA_PONG, m->request_id, m->u.nonce);
		return 0;
	case KASPA_REJECT:
		return HS_EV_REJECT | finish(h, HS_REJECTED);
	default:
		return 0;       /* flows we do not run: ignored, never fatal */
	}
}

unsigned hs_on_bad_message(struct hs *h)
{
	new_call(h);
	if (h->state == HS_DONE)
		return 0;
	return finish(h, before_version(h) ? HS_BAD_MESSAGE_BEFORE_VERSION :
	    HS_BAD_MESSAGE);
}

unsigned hs_on_tick(struct hs *h, int64_t now_ms)
{
	new_call(h);
	if (h->state == HS_HOLD_VERSION && now_ms >= h->version_at_ms &&
	    now_ms < h->deadline_ms) {
		/* The peer waits for us to speak first. */
		send_version(h, h->cfg->protocol_version);
		h->state = HS_WAIT_VERSION;
		return 0;
	}
	if (h->state == HS_DONE || now_ms < h->deadline_ms)
		return 0;
	switch (h->state) {
	case HS_REQUESTING:     /* no reply to this one: go on */
		return next_request(h, now_ms);
	case HS_LINGER:
		return finish(h, HS_OK);
	default:
		return finish(h, before_version(h) ? HS_TIMEOUT_BEFORE_VERSION :
		    HS_TIMEOUT);
	}
}

int64_t hs_deadline(const struct hs *h)
{
	if (h->state == HS_HOLD_VERSION && h->version_at_ms < h->deadline_ms)
		return h->version_at_ms;
	return h->deadline_ms;
}

static void build_version(const struct hs *h, int64_t wall_ms,
    struct kaspa_version *v)
{
	const struct hs_config *c = h->cfg;

	memset(v, 0, sizeof *v);
	v->protocol_version = h->our_version;
	v->timestamp_ms = wall_ms;
	memcpy(v->id, c->node_id, KASPA_ID_LEN);
	v->id_len = KASPA_ID_LEN;
	snprintf(v->user_agent, sizeof v->user_agent, "%s", c->user_agent);
	snprintf(v->network, sizeof v->network, "%s", c->network);
	if (c->address != NULL) {
		v->has_address = true;
		v->address = *c->address;
	}
}

static void build_answer(const struct hs_config *c, struct kaspa_msg *m)
{
	size_t n = c->n_answer < KASPA_ADDR_MAX ? c->n_answer : KASPA_ADDR_MAX;

	m->u.addresses.count = n;
	if (n > 0)
		memcpy(m->u.addresses.list, c->answer, n * sizeof c->answer[0]);
}

bool hs_next_output(struct hs *h, int64_t wall_ms, struct kaspa_msg *m)
{
	if (h->next_out >= h->n_out)
		return false;
	enum kaspa_type type = h->out[h->next_out++];
	memset(m, 0, offsetof(struct kaspa_msg, u));
	m->type = type;
	switch (type) {
	case KASPA_VERSION:
		build_version(h, wall_ms, &m->u.version);
		break;
	case KASPA_ADDRESSES:
		m->response_id = h->answer_id;
		build_answer(h->cfg, m);
		break;
	case KASPA_REQUEST_ADDRESSES:
		m->u.include_all_subnetworks = false;
		break;
	case KASPA_PONG:
		m->response_id = h->answer_id;
		m->u.nonce = h->pong_nonce;
		break;
	case KASPA_REJECT:      /* the one Reject we send */
		snprintf(m->u.reject_reason, sizeof m->u.reject_reason,
		    "network mismatch: expected %s", h->cfg->network);
		break;
	default:                /* Verack, Ready: empty */
		break;
	}
	return true;
}
