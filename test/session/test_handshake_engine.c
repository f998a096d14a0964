/* test_handshake_engine.c - handshake.c, the Kaspa handshake engine, with
 * no socket and no clock: decoded messages and times go in; the messages
 * it queues, its events, deadlines, stage and outcome are checked.  Both
 * roles: HS_ACCEPT (as peer.c runs it) and HS_DIAL (client.c: probe,
 * crawl, announce).
 *
 * Every state transition (enum hs_state) and the tests that take it:
 *   (init)       -> HOLD_VERSION   accept_holds_its_version
 *   (init)       -> WAIT_VERSION   dial_sends_version_at_once
 *   HOLD_VERSION -> WAIT_VERSION   accept_speaks_after_version_wait
 *   HOLD_VERSION -> WAIT_VERACK    accept_answers_peer_first, version_echo
 *   HOLD_VERSION -> WAIT_READY     early_verack
 *   HOLD_VERSION -> LINGER         early_verack_and_ready
 *   HOLD_VERSION -> REQUESTING     most_outputs_of_one_call
 *   HOLD_VERSION -> DONE           timeout_holding_version (timeout),
 *                                  bad_version_id_length (bad id),
 *                                  wrong_network_accept (wrong network),
 *                                  reject_before_version (Reject),
 *                                  bad_message_before_version
 *   WAIT_VERSION -> WAIT_VERACK    accept_speaks_after_version_wait,
 *                                  dial_full_session
 *   WAIT_VERSION -> WAIT_READY     early_verack (dial)
 *   WAIT_VERSION -> LINGER         early_verack_and_ready (accept, ours
 *                                  first)
 *   WAIT_VERSION -> REQUESTING     early_verack_and_ready (dial)
 *   WAIT_VERSION -> DONE           early_verack_and_ready (dial: ok),
 *                                  timeout_waiting_version (timeout),
 *                                  stop_at_version (a probe's stop),
 *                                  bad_version_id_length,
 *                                  bad_version_address_length,
 *                                  wrong_network_accept (sensor first),
 *                                  wrong_network_dial,
 *                                  reject_before_version,
 *                                  bad_message_before_version
 *   WAIT_VERACK  -> WAIT_READY     accept_answers_peer_first,
 *                                  dial_full_session
 *   WAIT_VERACK  -> LINGER         early_ready (accept)
 *   WAIT_VERACK  -> REQUESTING     early_ready (dial)
 *   WAIT_VERACK  -> DONE           timeout_verack, early_ready (dial,
 *                                  nothing to ask, no linger),
 *                                  reject_after_version, bad_message
 *   WAIT_READY   -> LINGER         accept_answers_peer_first,
 *                                  dial_linger_without_requests
 *   WAIT_READY   -> REQUESTING     dial_full_session
 *   WAIT_READY   -> DONE           timeout_ready, reject_after_version,
 *                                  dial_ends_at_ready_without_linger
 *   REQUESTING   -> REQUESTING     dial_full_session (a reply),
 *                                  request_timeout_goes_on (no reply)
 *   REQUESTING   -> LINGER         dial_full_session (last reply),
 *                                  request_timeout_goes_on
 *   REQUESTING   -> DONE           dial_ends_at_last_reply_without_linger,
 *                                  request_timeout_goes_on (no linger),
 *                                  reject_after_ready
 *   LINGER       -> DONE           accept_answers_peer_first,
 *                                  dial_full_session (linger over),
 *                                  accept_zero_linger_lasts_until_tick,
 *                                  reject_after_ready, bad_message
 *   DONE         -> DONE           done_ignores_everything
 * Staying put: answers_in_every_state (Ping, RequestAddresses),
 * messages_after_ready_ignored, second_version_ignored,
 * addresses_before_ready_ignored, unknown_messages_ignored,
 * early_tick_does_nothing; outputs_dropped_by_next_call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "handshake.h"

#define T0 1000000                   /* monotonic ms at hs_init */
#define WALL 1700000000123LL         /* Unix ms stamped into our Version */
#define NET "kaspa-mainnet"
#define VERSION_WAIT 300
#define STAGE 4000
#define READY_WAIT 8000
#define REQUEST_WAIT 10000
#define LINGER 5000

static const uint8_t our_id[KASPA_ID_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};
static const struct kaspa_netaddr our_addr = {
	.ip = { 203, 0, 113, 7 }, .ip_len = 4, .port = 16111,
};
static const struct kaspa_netaddr answers[2] = {
	{ .ip = { 203, 0, 113, 7 }, .ip_len = 4, .port = 16111 },
	{ .ip = { 198, 51, 100, 1 }, .ip_len = 4, .port = 16112 },
};

/* struct kaspa_msg is ~40 KB: kept off the stack. */
static struct kaspa_msg in;
static struct kaspa_msg out[HS_OUT_MAX + 1];
static size_t n_out;

static struct hs_config accept_cfg(void)
{
	return (struct hs_config){
		.role = HS_ACCEPT,
		.network = NET,
		.user_agent = "/kaspa-sensor:test/",
		.node_id = our_id,
		.protocol_version = 10,
		.version_wait_ms = VERSION_WAIT,
		.stage_timeout_ms = STAGE,
		.ready_timeout_ms = READY_WAIT,
		.linger_ms = LINGER,
	};
}

/* As client.c sets it up for a crawl: requests, no linger. */
static struct hs_config dial_cfg(unsigned requests, uint64_t linger)
{
	return (struct hs_config){
		.role = HS_DIAL,
		.network = NET,
		.user_agent = "/crawler:test/",
		.node_id = our_id,
		.protocol_version = 7,
		.answer = answers,
		.n_answer = 2,
		.address_requests = requests,
		.stage_timeout_ms = STAGE,
		.ready_timeout_ms = READY_WAIT,
		.request_timeout_ms = REQUEST_WAIT,
		.linger_ms = linger,
	};
}

/* ---- messages from the peer ---- */

static const struct kaspa_msg *msg(enum kaspa_type type, uint32_t request_id)
{
	memset(&in, 0, sizeof in);
	in.type = type;
	in.request_id = request_id;
	return &in;
}

static const struct kaspa_msg *version_msg(uint32_t protocol_version)
{
	struct kaspa_version *v = &((struct kaspa_msg *)
	    msg(KASPA_VERSION, 0))->u.version;

	v->protocol_version = protocol_version;
	memset(v->id, 0xa5, KASPA_ID_LEN);
	v->id_len = KASPA_ID_LEN;
	strcpy(v->network, NET);
	strcpy(v->user_agent, "/kaspad:1.0.1/");
	return &in;
}

static const struct kaspa_msg *ping_msg(uint64_t nonce, uint32_t request_id)
{
	msg(KASPA_PING, request_id);
	in.u.nonce = nonce;
	return &in;
}

static const struct kaspa_msg *reject_msg(void)
{
	msg(KASPA_REJECT, 0);
	strcpy(in.u.reject_reason, "duplicate connection");
	return &in;
}

static const struct kaspa_msg *addresses_msg(void)
{
	msg(KASPA_ADDRESSES, 0);
	in.u.addresses.count = 1;
	in.u.addresses.list[0] = answers[1];
	return &in;
}

/* ---- what the engine queued ---- */

static size_t take(struct hs *h)
{
	n_out = 0;
	while (n_out < HS_OUT_MAX + 1 && hs_next_output(h, WALL, &out[n_out]))
		n_out++;
	return n_out;
}

/* The queued messages are exactly `types` (KASPA_NONE ends the list). */
static void expect_out(struct hs *h, const enum kaspa_type *types)
{
	size_t n = take(h), i;

	for (i = 0; types[i] != KASPA_NONE; i++) {
		assert_true(i < n);
		assert_int_equal(out[i].type, types[i]);
	}
	assert_int_equal(n, i);
}

#define EXPECT_OUT(h, ...) \
	expect_out(h, (const enum kaspa_type[]){ __VA_ARGS__, KASPA_NONE })
#define EXPECT_NONE(h) \
	expect_out(h, (const enum kaspa_type[]){ KASPA_NONE })

static void assert_our_version(const struct kaspa_msg *m,
    const struct hs_config *c, uint32_t protocol_version)
{
	const struct kaspa_version *v = &m->u.version;

	assert_int_equal(m->type, KASPA_VERSION);
	assert_int_equal(m->request_id, 0);
	assert_int_equal(m->response_id, 0);
	assert_int_equal(v->protocol_version, protocol_version);
	assert_int_equal(v->services, 0);
	assert_true(v->timestamp_ms == WALL);
	assert_int_equal(v->id_len, KASPA_ID_LEN);
	assert_memory_equal(v->id, our_id, KASPA_ID_LEN);
	assert_string_equal(v->user_agent, c->user_agent);
	assert_string_equal(v->network, NET);
	assert_false(v->has_subnetwork_id);
	assert_int_equal(v->has_address, c->address != NULL);
	if (c->address != NULL)
		assert_memory_equal(&v->address, c->address, sizeof v->address);
}

static void assert_done(const struct hs *h, unsigned ev, unsigned want_ev,
    enum hs_outcome outcome)
{
	assert_int_equal(ev, want_ev);
	assert_int_equal(h->state, HS_DONE);
	assert_int_equal(h->outcome, outcome);
	assert_true(hs_deadline(h) == 0);
}

#define ABORTED (HS_EV_DONE | HS_EV_ABORTED)

/* ---- driving a session along ---- */

/* HS_ACCEPT, the peer's Version first at T0 + 10: WAIT_VERACK. */
static void accept_to_verack(struct hs *h, const struct hs_config *c)
{
	hs_init(h, c, T0);
	EXPECT_NONE(h);
	assert_int_equal(hs_on_message(h, version_msg(10), T0 + 10),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
	EXPECT_OUT(h, KASPA_VERSION, KASPA_VERACK);
	assert_int_equal(h->state, HS_WAIT_VERACK);
}

static void accept_to_ready_wait(struct hs *h, const struct hs_config *c)
{
	accept_to_verack(h, c);
	assert_int_equal(hs_on_message(h, msg(KASPA_VERACK, 0), T0 + 20), 0);
	EXPECT_OUT(h, KASPA_READY);
	assert_int_equal(h->state, HS_WAIT_READY);
}

/* ... Ready at T0 + 30: LINGER. */
static void accept_to_linger(struct hs *h, const struct hs_config *c)
{
	accept_to_ready_wait(h, c);
	assert_int_equal(hs_on_message(h, msg(KASPA_READY, 0), T0 + 30),
	    HS_EV_READY);
	EXPECT_NONE(h);
	assert_int_equal(h->state, HS_LINGER);
	assert_int_equal(h->outcome, HS_OK);
}

/* HS_DIAL: our Version at T0, theirs at T0 + 10: WAIT_VERACK. */
static void dial_to_verack(struct hs *h, const struct hs_config *c)
{
	hs_init(h, c, T0);
	EXPECT_OUT(h, KASPA_VERSION);
	assert_int_equal(hs_on_message(h, version_msg(9), T0 + 10),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
	EXPECT_OUT(h, KASPA_VERACK);
	assert_int_equal(h->state, HS_WAIT_VERACK);
}

/* ... Verack at T0 + 20, Ready at T0 + 30: the first RequestAddresses. */
static void dial_to_requesting(struct hs *h, const struct hs_config *c)
{
	dial_to_verack(h, c);
	assert_int_equal(hs_on_message(h, msg(KASPA_VERACK, 0), T0 + 20), 0);
	EXPECT_OUT(h, KASPA_READY);
	assert_int_equal(hs_on_message(h, msg(KASPA_READY, 0), T0 + 30),
	    HS_EV_READY);
	EXPECT_OUT(h, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h->state, HS_REQUESTING);
}

/* ---- the accepting side ---- */

static void test_accept_holds_its_version(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_HOLD_VERSION);
	assert_int_equal(h.stage, HS_STAGE_NONE);
	assert_int_equal(h.outcome, HS_PENDING);
	assert_false(h.sent_version);
	assert_true(hs_deadline(&h) == T0 + VERSION_WAIT);
}

static void test_accept_speaks_after_version_wait(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	assert_int_equal(hs_on_tick(&h, T0 + VERSION_WAIT), 0);
	EXPECT_OUT(&h, KASPA_VERSION);
	assert_our_version(&out[0], &c, 10);
	assert_int_equal(h.state, HS_WAIT_VERSION);
	/* the stage deadline runs from the start, not from our Version */
	assert_true(hs_deadline(&h) == T0 + STAGE);
	/* theirs now: no echo, ours is out already; only Verack */
	assert_int_equal(hs_on_message(&h, version_msg(6), T0 + 500),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
	EXPECT_OUT(&h, KASPA_VERACK);
	assert_int_equal(h.our_version, 10);
	assert_false(h.peer_first);
	assert_int_equal(h.state, HS_WAIT_VERACK);
	assert_int_equal(h.stage, HS_STAGE_VERSION);
	assert_true(hs_deadline(&h) == T0 + 500 + STAGE);
}

static void test_accept_answers_peer_first(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	assert_int_equal(hs_on_message(&h, version_msg(9), T0 + 50),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
	EXPECT_OUT(&h, KASPA_VERSION, KASPA_VERACK);
	assert_our_version(&out[0], &c, 9);
	assert_true(h.peer_first);
	assert_true(h.sent_version);
	assert_int_equal(h.state, HS_WAIT_VERACK);
	assert_true(hs_deadline(&h) == T0 + 50 + STAGE);

	assert_int_equal(hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 60), 0);
	EXPECT_OUT(&h, KASPA_READY);
	assert_int_equal(h.state, HS_WAIT_READY);
	assert_int_equal(h.stage, HS_STAGE_VERACK);
	assert_true(hs_deadline(&h) == T0 + 60 + READY_WAIT);

	assert_int_equal(hs_on_message(&h, msg(KASPA_READY, 0), T0 + 70),
	    HS_EV_READY);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_LINGER);
	assert_int_equal(h.stage, HS_STAGE_READY);
	assert_int_equal(h.outcome, HS_OK);
	assert_true(hs_deadline(&h) == T0 + 70 + LINGER);

	/* the linger ran its course: done, and not aborted */
	assert_done(&h, hs_on_tick(&h, T0 + 70 + LINGER), HS_EV_DONE, HS_OK);
	EXPECT_NONE(&h);
}

/* The sensor answers a dialer with the dialer's protocolVersion, and
 * says its own when it had to speak first. */
static void test_version_echo(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	for (uint32_t pv = 5; pv <= 11; pv++) {
		hs_init(&h, &c, T0);
		hs_on_message(&h, version_msg(pv), T0 + 1);
		EXPECT_OUT(&h, KASPA_VERSION, KASPA_VERACK);
		assert_our_version(&out[0], &c, pv);
		assert_int_equal(h.our_version, pv);

		hs_init(&h, &c, T0);
		hs_on_tick(&h, T0 + VERSION_WAIT);
		EXPECT_OUT(&h, KASPA_VERSION);
		assert_our_version(&out[0], &c, 10);
		hs_on_message(&h, version_msg(pv), T0 + VERSION_WAIT + 1);
		EXPECT_OUT(&h, KASPA_VERACK);
		assert_int_equal(h.our_version, 10);
	}
}

static void test_accept_zero_linger_lasts_until_tick(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	c.linger_ms = 0;
	accept_to_linger(&h, &c);
	assert_true(hs_deadline(&h) == T0 + 30);
	/* what came with the Ready is still answered */
	assert_int_equal(hs_on_message(&h, ping_msg(5, 0), T0 + 30), 0);
	EXPECT_OUT(&h, KASPA_PONG);
	assert_done(&h, hs_on_tick(&h, T0 + 30), HS_EV_DONE, HS_OK);
}

/* ---- the dialing side ---- */

static void test_dial_sends_version_at_once(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	assert_our_version(&out[0], &c, 7);
	assert_int_equal(h.state, HS_WAIT_VERSION);
	assert_true(hs_deadline(&h) == T0 + STAGE);

	/* announce: our address in it */
	c.address = &our_addr;
	hs_init(&h, &c, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	assert_our_version(&out[0], &c, 7);
}

static void test_dial_full_session(void **state)
{
	struct hs_config c = dial_cfg(2, 1000);
	struct hs h;
	(void)state;

	dial_to_verack(&h, &c);
	assert_int_equal(h.our_version, 7);     /* no echo when dialing */
	assert_false(h.peer_first);
	assert_true(hs_deadline(&h) == T0 + 10 + STAGE);
	assert_int_equal(hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20), 0);
	EXPECT_OUT(&h, KASPA_READY);
	assert_true(hs_deadline(&h) == T0 + 20 + READY_WAIT);
	assert_int_equal(hs_on_message(&h, msg(KASPA_READY, 0), T0 + 30),
	    HS_EV_READY);
	EXPECT_OUT(&h, KASPA_REQUEST_ADDRESSES);
	assert_false(out[0].u.include_all_subnetworks);
	assert_int_equal(out[0].response_id, 0);
	assert_int_equal(h.state, HS_REQUESTING);
	assert_true(hs_deadline(&h) == T0 + 30 + REQUEST_WAIT);

	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 40),
	    HS_EV_ADDRESSES);
	EXPECT_OUT(&h, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h.state, HS_REQUESTING);
	assert_true(hs_deadline(&h) == T0 + 40 + REQUEST_WAIT);

	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 50),
	    HS_EV_ADDRESSES);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_LINGER);
	assert_true(hs_deadline(&h) == T0 + 50 + 1000);
	assert_int_equal(h.requests_sent, 2);

	/* an unasked reply in the linger is still reported */
	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 60),
	    HS_EV_ADDRESSES);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_LINGER);
	assert_done(&h, hs_on_tick(&h, T0 + 50 + 1000), HS_EV_DONE, HS_OK);
}

static void test_dial_ends_at_last_reply_without_linger(void **state)
{
	struct hs_config c = dial_cfg(1, 0);
	struct hs h;
	(void)state;

	dial_to_requesting(&h, &c);
	assert_done(&h, hs_on_message(&h, addresses_msg(), T0 + 40),
	    HS_EV_ADDRESSES | HS_EV_DONE, HS_OK);
	EXPECT_NONE(&h);
}

static void test_dial_ends_at_ready_without_linger(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	dial_to_verack(&h, &c);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20);
	EXPECT_OUT(&h, KASPA_READY);
	assert_done(&h, hs_on_message(&h, msg(KASPA_READY, 0), T0 + 30),
	    HS_EV_READY | HS_EV_DONE, HS_OK);
	assert_int_equal(h.stage, HS_STAGE_READY);
}

static void test_dial_linger_without_requests(void **state)
{
	struct hs_config c = dial_cfg(0, 2000);
	struct hs h;
	(void)state;

	dial_to_verack(&h, &c);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20);
	EXPECT_OUT(&h, KASPA_READY);
	assert_int_equal(hs_on_message(&h, msg(KASPA_READY, 0), T0 + 30),
	    HS_EV_READY);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_LINGER);
	assert_true(hs_deadline(&h) == T0 + 30 + 2000);
}

static void test_request_timeout_goes_on(void **state)
{
	struct hs_config c = dial_cfg(2, 0);
	struct hs h;
	int64_t t = T0 + 30 + REQUEST_WAIT;
	(void)state;

	dial_to_requesting(&h, &c);
	assert_int_equal(hs_on_tick(&h, t), 0);     /* no reply: next one */
	EXPECT_OUT(&h, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h.state, HS_REQUESTING);
	assert_true(hs_deadline(&h) == t + REQUEST_WAIT);
	/* none to that one either, and no linger: done, "ok" */
	assert_done(&h, hs_on_tick(&h, t + REQUEST_WAIT), HS_EV_DONE, HS_OK);
	EXPECT_NONE(&h);

	c.linger_ms = 700;
	dial_to_requesting(&h, &c);
	hs_on_tick(&h, t);
	EXPECT_OUT(&h, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(hs_on_tick(&h, t + REQUEST_WAIT), 0);
	assert_int_equal(h.state, HS_LINGER);
	assert_true(hs_deadline(&h) == t + REQUEST_WAIT + 700);
}

/* A probe wants the peer's Version and nothing more, checked or not. */
static void test_stop_at_version(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	c.stop_at_version = true;
	hs_init(&h, &c, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	struct kaspa_msg *m = (struct kaspa_msg *)version_msg(10);
	m->u.version.id_len = 3;
	assert_done(&h, hs_on_message(&h, m, T0 + 5),
	    HS_EV_VERSION | ABORTED, HS_STOPPED);
	EXPECT_NONE(&h);
	assert_int_equal(h.stage, HS_STAGE_VERSION);
}

static void test_end_by_caps_deadlines(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	c.end_by_ms = T0 + 1000;
	hs_init(&h, &c, T0);
	assert_true(hs_deadline(&h) == T0 + 1000);
	hs_on_message(&h, version_msg(10), T0 + 500);
	assert_true(hs_deadline(&h) == T0 + 1000);
	assert_done(&h, hs_on_tick(&h, T0 + 1000), ABORTED, HS_TIMEOUT);
}

/* ---- both send orders, messages before their stage ---- */

static void test_early_verack(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(1, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &ca, T0);
	assert_int_equal(hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 1), 0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_HOLD_VERSION);
	assert_int_equal(hs_on_message(&h, version_msg(8), T0 + 2),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
	EXPECT_OUT(&h, KASPA_VERSION, KASPA_VERACK, KASPA_READY);
	assert_int_equal(h.state, HS_WAIT_READY);
	assert_int_equal(h.stage, HS_STAGE_VERACK);
	assert_true(hs_deadline(&h) == T0 + 2 + READY_WAIT);

	hs_init(&h, &cd, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 1);
	EXPECT_NONE(&h);
	hs_on_message(&h, version_msg(8), T0 + 2);
	EXPECT_OUT(&h, KASPA_VERACK, KASPA_READY);
	assert_int_equal(h.state, HS_WAIT_READY);
}

static void test_early_verack_and_ready(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(1, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &ca, T0);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 1);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 2);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_HOLD_VERSION);
	assert_int_equal(hs_on_message(&h, version_msg(8), T0 + 3),
	    HS_EV_VERSION | HS_EV_ACCEPTED | HS_EV_READY);
	EXPECT_OUT(&h, KASPA_VERSION, KASPA_VERACK, KASPA_READY);
	assert_int_equal(h.state, HS_LINGER);
	assert_int_equal(h.outcome, HS_OK);

	/* ours out first: the same from WAIT_VERSION */
	hs_init(&h, &ca, T0);
	hs_on_tick(&h, T0 + VERSION_WAIT);
	EXPECT_OUT(&h, KASPA_VERSION);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 301);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 302);
	hs_on_message(&h, version_msg(8), T0 + 303);
	EXPECT_OUT(&h, KASPA_VERACK, KASPA_READY);
	assert_int_equal(h.state, HS_LINGER);

	hs_init(&h, &cd, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 1);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 2);
	assert_int_equal(hs_on_message(&h, version_msg(8), T0 + 3),
	    HS_EV_VERSION | HS_EV_ACCEPTED | HS_EV_READY);
	EXPECT_OUT(&h, KASPA_VERACK, KASPA_READY, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h.state, HS_REQUESTING);

	cd = dial_cfg(0, 0);        /* nothing to ask, no linger */
	hs_init(&h, &cd, T0);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 1);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 2);
	assert_done(&h, hs_on_message(&h, version_msg(8), T0 + 3),
	    HS_EV_VERSION | HS_EV_ACCEPTED | HS_EV_READY | HS_EV_DONE, HS_OK);
	EXPECT_OUT(&h, KASPA_VERACK, KASPA_READY);
}

static void test_early_ready(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	accept_to_verack(&h, &ca);
	assert_int_equal(hs_on_message(&h, msg(KASPA_READY, 0), T0 + 15), 0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_WAIT_VERACK);
	assert_int_equal(hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20),
	    HS_EV_READY);
	EXPECT_OUT(&h, KASPA_READY);
	assert_int_equal(h.state, HS_LINGER);

	dial_to_verack(&h, &cd);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 15);
	assert_done(&h, hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20),
	    HS_EV_READY | HS_EV_DONE, HS_OK);
	EXPECT_OUT(&h, KASPA_READY);

	cd.address_requests = 1;
	cd.request_timeout_ms = REQUEST_WAIT;
	dial_to_verack(&h, &cd);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 15);
	assert_int_equal(hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20),
	    HS_EV_READY);
	EXPECT_OUT(&h, KASPA_READY, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h.state, HS_REQUESTING);
}

/* Most messages one call queues: the peer's Version after its Verack
 * and Ready, on a side that holds its Version and asks for addresses. */
static void test_most_outputs_of_one_call(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	c.address_requests = 1;
	c.request_timeout_ms = REQUEST_WAIT;
	hs_init(&h, &c, T0);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 1);
	hs_on_message(&h, msg(KASPA_READY, 0), T0 + 2);
	hs_on_message(&h, version_msg(10), T0 + 3);
	assert_int_equal(take(&h), HS_OUT_MAX);
	assert_int_equal(out[3].type, KASPA_REQUEST_ADDRESSES);
	assert_int_equal(h.state, HS_REQUESTING);
}

static void test_outputs_dropped_by_next_call(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);        /* its Version is never taken */
	hs_on_message(&h, ping_msg(1, 0), T0 + 1);
	EXPECT_OUT(&h, KASPA_PONG);
	EXPECT_NONE(&h);            /* taken: gone */
}

/* ---- stage timeouts ---- */

static void test_timeout_holding_version(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	c.version_wait_ms = STAGE;    /* the peer's Version never came, and
	                               * ours was still held */
	hs_init(&h, &c, T0);
	assert_true(hs_deadline(&h) == T0 + STAGE);
	assert_done(&h, hs_on_tick(&h, T0 + STAGE), ABORTED,
	    HS_TIMEOUT_BEFORE_VERSION);
	EXPECT_NONE(&h);
	assert_false(h.sent_version);
}

static void test_timeout_waiting_version(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &ca, T0);
	hs_on_tick(&h, T0 + VERSION_WAIT);
	EXPECT_OUT(&h, KASPA_VERSION);
	assert_done(&h, hs_on_tick(&h, T0 + STAGE), ABORTED,
	    HS_TIMEOUT_BEFORE_VERSION);
	assert_true(h.sent_version);

	hs_init(&h, &cd, T0);
	assert_done(&h, hs_on_tick(&h, T0 + STAGE), ABORTED,
	    HS_TIMEOUT_BEFORE_VERSION);
	assert_int_equal(h.stage, HS_STAGE_NONE);
}

static void test_timeout_verack(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	accept_to_verack(&h, &ca);
	assert_done(&h, hs_on_tick(&h, T0 + 10 + STAGE), ABORTED,
	    HS_TIMEOUT);
	assert_int_equal(h.stage, HS_STAGE_VERSION);

	dial_to_verack(&h, &cd);
	assert_done(&h, hs_on_tick(&h, T0 + 10 + STAGE), ABORTED,
	    HS_TIMEOUT);
}

static void test_timeout_ready(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	accept_to_ready_wait(&h, &c);
	assert_int_equal(hs_on_tick(&h, T0 + 20 + STAGE), 0);  /* not yet */
	assert_done(&h, hs_on_tick(&h, T0 + 20 + READY_WAIT), ABORTED,
	    HS_TIMEOUT);
	assert_int_equal(h.stage, HS_STAGE_VERACK);
}

static void test_early_tick_does_nothing(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	assert_int_equal(hs_on_tick(&h, T0 + VERSION_WAIT - 1), 0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_HOLD_VERSION);
	accept_to_linger(&h, &c);
	assert_int_equal(hs_on_tick(&h, T0 + 30 + LINGER - 1), 0);
	assert_int_equal(h.state, HS_LINGER);
}

/* ---- the peer's Version checked ---- */

static void test_bad_version_id_length(void **state)
{
	static const size_t lens[] = { 0, 15, 17, KASPA_ID_MAX };
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct kaspa_msg *m = (struct kaspa_msg *)version_msg(10);
		m->u.version.id_len = lens[i];

		hs_init(&h, &ca, T0);
		assert_done(&h, hs_on_message(&h, m, T0 + 1),
		    HS_EV_VERSION | ABORTED, HS_BAD_VERSION);
		EXPECT_NONE(&h);        /* not even our Version */
		assert_false(h.sent_version);
		assert_int_equal(h.stage, HS_STAGE_VERSION);

		hs_init(&h, &cd, T0);
		EXPECT_OUT(&h, KASPA_VERSION);
		assert_done(&h, hs_on_message(&h, m, T0 + 1),
		    HS_EV_VERSION | ABORTED, HS_BAD_VERSION);
		EXPECT_NONE(&h);
	}
}

static void test_bad_version_address_length(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	for (uint8_t len = 0; len <= 16; len++) {
		struct kaspa_msg *m = (struct kaspa_msg *)version_msg(10);
		m->u.version.has_address = true;
		m->u.version.address.ip_len = len;
		hs_init(&h, &c, T0);
		unsigned ev = hs_on_message(&h, m, T0 + 1);
		if (len == 4 || len == 16) {
			assert_int_equal(ev, HS_EV_VERSION | HS_EV_ACCEPTED);
		} else {
			assert_done(&h, ev, HS_EV_VERSION | ABORTED,
			    HS_BAD_VERSION);
		}
	}
	/* no address at all is fine, whatever its length field says */
	struct kaspa_msg *m = (struct kaspa_msg *)version_msg(10);
	m->u.version.address.ip_len = 7;
	hs_init(&h, &c, T0);
	assert_int_equal(hs_on_message(&h, m, T0 + 1),
	    HS_EV_VERSION | HS_EV_ACCEPTED);
}

static void test_wrong_network_accept(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	for (int sensor_first = 0; sensor_first < 2; sensor_first++) {
		struct kaspa_msg *m;
		hs_init(&h, &c, T0);
		if (sensor_first) {
			hs_on_tick(&h, T0 + VERSION_WAIT);
			EXPECT_OUT(&h, KASPA_VERSION);
		}
		m = (struct kaspa_msg *)version_msg(10);
		strcpy(m->u.version.network, "kaspa-testnet-10");
		assert_done(&h, hs_on_message(&h, m, T0 + 400),
		    HS_EV_VERSION | ABORTED, HS_WRONG_NETWORK);
		EXPECT_OUT(&h, KASPA_REJECT);
		assert_string_equal(out[0].u.reject_reason,
		    "network mismatch: expected kaspa-mainnet");
		assert_int_equal(h.sent_version, sensor_first);
	}
}

static void test_wrong_network_dial(void **state)
{
	struct hs_config c = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	struct kaspa_msg *m = (struct kaspa_msg *)version_msg(10);
	strcpy(m->u.version.network, "kaspa-mainne");
	assert_done(&h, hs_on_message(&h, m, T0 + 1),
	    HS_EV_VERSION | ABORTED, HS_WRONG_NETWORK);
	EXPECT_NONE(&h);            /* the dialer just leaves */
}

/* ---- Reject, and messages that did not decode ---- */

static void test_reject_before_version(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &ca, T0);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 1),
	    HS_EV_REJECT | ABORTED, HS_REJECTED);
	EXPECT_NONE(&h);
	assert_int_equal(h.stage, HS_STAGE_NONE);

	hs_init(&h, &cd, T0);
	EXPECT_OUT(&h, KASPA_VERSION);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 1),
	    HS_EV_REJECT | ABORTED, HS_REJECTED);
}

static void test_reject_after_version(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	accept_to_verack(&h, &c);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 11),
	    HS_EV_REJECT | ABORTED, HS_REJECTED);
	assert_int_equal(h.stage, HS_STAGE_VERSION);

	accept_to_ready_wait(&h, &c);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 21),
	    HS_EV_REJECT | ABORTED, HS_REJECTED);
	assert_int_equal(h.stage, HS_STAGE_VERACK);
}

/* After Ready the handshake stays "ok", but a Reject still ends it. */
static void test_reject_after_ready(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(2, 0);
	struct hs h;
	(void)state;

	accept_to_linger(&h, &ca);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 40),
	    HS_EV_REJECT | ABORTED, HS_OK);

	dial_to_requesting(&h, &cd);
	assert_done(&h, hs_on_message(&h, reject_msg(), T0 + 40),
	    HS_EV_REJECT | ABORTED, HS_OK);
	EXPECT_NONE(&h);
}

static void test_bad_message_before_version(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(0, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &ca, T0);
	assert_done(&h, hs_on_bad_message(&h), ABORTED,
	    HS_BAD_MESSAGE_BEFORE_VERSION);
	hs_init(&h, &cd, T0);
	assert_done(&h, hs_on_bad_message(&h), ABORTED,
	    HS_BAD_MESSAGE_BEFORE_VERSION);
	EXPECT_NONE(&h);
}

static void test_bad_message(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	accept_to_verack(&h, &c);
	assert_done(&h, hs_on_bad_message(&h), ABORTED, HS_BAD_MESSAGE);
	accept_to_linger(&h, &c);
	assert_done(&h, hs_on_bad_message(&h), ABORTED, HS_OK);
}

/* ---- what does not move the state ---- */

/* Ping and RequestAddresses are answered in every state but DONE, with
 * the request_id as response_id; the state and its deadline stay. */
static void test_answers_in_every_state(void **state)
{
	struct hs_config ca = accept_cfg(), cd = dial_cfg(1, 100);
	struct hs h;
	(void)state;

	for (int step = 0; step < 9; step++) {
		const struct hs_config *c = step < 4 ? &ca : &cd;
		switch (step) {
		case 0: hs_init(&h, &ca, T0); break;
		case 1: hs_init(&h, &ca, T0); hs_on_tick(&h, T0 + 300); break;
		case 2: accept_to_verack(&h, &ca); break;
		case 3: accept_to_linger(&h, &ca); break;
		case 4: hs_init(&h, &cd, T0); break;
		case 5: dial_to_verack(&h, &cd); break;
		case 6: dial_to_verack(&h, &cd);
			hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20);
			break;
		case 7: dial_to_requesting(&h, &cd); break;
		case 8: dial_to_requesting(&h, &cd);
			hs_on_message(&h, addresses_msg(), T0 + 40);
			break;
		}
		enum hs_state st = h.state;
		int64_t deadline = hs_deadline(&h);
		take(&h);

		assert_int_equal(hs_on_message(&h, ping_msg(0x1122334455667788ull,
		    0), T0 + 41), 0);
		EXPECT_OUT(&h, KASPA_PONG);
		assert_true(out[0].u.nonce == 0x1122334455667788ull);
		assert_int_equal(out[0].response_id, 0);
		hs_on_message(&h, ping_msg(9, 77), T0 + 42);
		EXPECT_OUT(&h, KASPA_PONG);
		assert_int_equal(out[0].response_id, 77);

		assert_int_equal(hs_on_message(&h,
		    msg(KASPA_REQUEST_ADDRESSES, 31), T0 + 43), 0);
		EXPECT_OUT(&h, KASPA_ADDRESSES);
		assert_int_equal(out[0].response_id, 31);
		assert_int_equal(out[0].u.addresses.count, c->n_answer);
		if (c->n_answer > 0)
			assert_memory_equal(out[0].u.addresses.list, answers,
			    sizeof answers);

		assert_int_equal(h.state, st);
		assert_true(hs_deadline(&h) == deadline);
		assert_int_equal(h.pings_answered, 2);
		assert_int_equal(h.requests_answered, 1);
	}
}

static void test_messages_after_ready_ignored(void **state)
{
	static const enum kaspa_type types[] = {
		KASPA_VERSION, KASPA_VERACK, KASPA_READY, KASPA_PONG,
		KASPA_OTHER, KASPA_NONE,
	};
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	accept_to_linger(&h, &c);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		const struct kaspa_msg *m = types[i] == KASPA_VERSION ?
		    version_msg(5) : msg(types[i], 3);
		assert_int_equal(hs_on_message(&h, m, T0 + 100), 0);
		EXPECT_NONE(&h);
		assert_int_equal(h.state, HS_LINGER);
		assert_true(hs_deadline(&h) == T0 + 30 + LINGER);
	}
	/* Addresses nobody asked for: reported, nothing else */
	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 100),
	    HS_EV_ADDRESSES);
	EXPECT_NONE(&h);
	assert_int_equal(h.our_version, 10);
}

static void test_second_version_ignored(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	accept_to_verack(&h, &c);
	struct kaspa_msg *m = (struct kaspa_msg *)version_msg(6);
	strcpy(m->u.version.network, "kaspa-simnet");
	m->u.version.id_len = 1;
	assert_int_equal(hs_on_message(&h, m, T0 + 15), 0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_WAIT_VERACK);
	assert_int_equal(h.our_version, 10);
}

static void test_addresses_before_ready_ignored(void **state)
{
	struct hs_config c = dial_cfg(1, 0);
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 1), 0);
	dial_to_verack(&h, &c);
	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 11), 0);
	hs_on_message(&h, msg(KASPA_VERACK, 0), T0 + 20);
	assert_int_equal(hs_on_message(&h, addresses_msg(), T0 + 21), 0);
	EXPECT_NONE(&h);
	assert_int_equal(h.state, HS_WAIT_READY);
	assert_int_equal(h.requests_sent, 0);
}

static void test_unknown_messages_ignored(void **state)
{
	static const enum kaspa_type types[] = {
		KASPA_OTHER, KASPA_NONE, KASPA_PONG,
	};
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		assert_int_equal(hs_on_message(&h, msg(types[i], 0), T0 + 1),
		    0);
		EXPECT_NONE(&h);
		assert_int_equal(h.state, HS_HOLD_VERSION);
	}
	/* nothing was remembered: the peer's Version then goes as usual */
	hs_on_message(&h, version_msg(10), T0 + 2);
	EXPECT_OUT(&h, KASPA_VERSION, KASPA_VERACK);
}

static void test_done_ignores_everything(void **state)
{
	struct hs_config c = accept_cfg();
	struct hs h;
	(void)state;

	hs_init(&h, &c, T0);
	hs_on_message(&h, reject_msg(), T0 + 1);
	assert_int_equal(hs_on_message(&h, version_msg(10), T0 + 2), 0);
	assert_int_equal(hs_on_message(&h, ping_msg(1, 1), T0 + 3), 0);
	assert_int_equal(hs_on_message(&h, msg(KASPA_REQUEST_ADDRESSES, 1),
	    T0 + 3), 0);
	assert_int_equal(hs_on_tick(&h, T0 + 100000), 0);
	assert_int_equal(hs_on_bad_message(&h), 0);
	EXPECT_NONE(&h);
	assert_done(&h, 0, 0, HS_REJECTED);
	assert_int_equal(h.pings_answered, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_holds_its_version),
		cmocka_unit_test(test_accept_speaks_after_version_wait),
		cmocka_unit_test(test_accept_answers_peer_first),
		cmocka_unit_test(test_version_echo),
		cmocka_unit_test(test_accept_zero_linger_lasts_until_tick),
		cmocka_unit_test(test_dial_sends_version_at_once),
		cmocka_unit_test(test_dial_full_session),
		cmocka_unit_test(test_dial_ends_at_last_reply_without_linger),
		cmocka_unit_test(test_dial_ends_at_ready_without_linger),
		cmocka_unit_test(test_dial_linger_without_requests),
		cmocka_unit_test(test_request_timeout_goes_on),
		cmocka_unit_test(test_stop_at_version),
		cmocka_unit_test(test_end_by_caps_deadlines),
		cmocka_unit_test(test_early_verack),
		cmocka_unit_test(test_early_verack_and_ready),
		cmocka_unit_test(test_early_ready),
		cmocka_unit_test(test_most_outputs_of_one_call),
		cmocka_unit_test(test_outputs_dropped_by_next_call),
		cmocka_unit_test(test_timeout_holding_version),
		cmocka_unit_test(test_timeout_waiting_version),
		cmocka_unit_test(test_timeout_verack),
		cmocka_unit_test(test_timeout_ready),
		cmocka_unit_test(test_early_tick_does_nothing),
		cmocka_unit_test(test_bad_version_id_length),
		cmocka_unit_test(test_bad_version_address_length),
		cmocka_unit_test(test_wrong_network_accept),
		cmocka_unit_test(test_wrong_network_dial),
		cmocka_unit_test(test_reject_before_version),
		cmocka_unit_test(test_reject_after_version),
		cmocka_unit_test(test_reject_after_ready),
		cmocka_unit_test(test_bad_message_before_version),
		cmocka_unit_test(test_bad_message),
		cmocka_unit_test(test_answers_in_every_state),
		cmocka_unit_test(test_messages_after_ready_ignored),
		cmocka_unit_test(test_second_version_ignored),
		cmocka_unit_test(test_addresses_before_ready_ignored),
		cmocka_unit_test(test_unknown_messages_ignored),
		cmocka_unit_test(test_done_ignores_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
