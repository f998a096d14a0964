/* fuzz_handshake.c - the handshake engine (session/handshake.c) driven
 * through one random session.  The first bytes pick the role and every
 * knob of struct hs_config (within the ranges config.c, crawl.c and
 * probe.c give it); the rest are steps: a decoded message from the peer
 * (any type, with varied ids, networks, versions and addresses), a
 * message the caller could not decode, a clock step (0, a few ms, a long
 * way, to hs_deadline() or just before it), a tick, or how many outputs
 * the caller takes after the next call.
 *
 * After every call it checks what handshake.h promises:
 *   - the state and the stage only move forward, each state has its
 *     stage, and DONE stays DONE with nothing more queued or returned;
 *   - the first outcome decided stays, and fits how the engine ended;
 *   - deadlines: 0 exactly when done, never past end_by_ms; a call that
 *     leaves the state (and the requests sent) as they were leaves
 *     hs_deadline() as it was; a state entered gets its full limit from
 *     now (clamped to end_by_ms); a tick before hs_deadline() does
 *     nothing, a tick at it always moves the engine on, and one at the
 *     stage's end while ours is held ends it rather than speaking;
 *   - events: each bit exactly when its cause happened in that call;
 *   - outputs: at most HS_OUT_MAX, in protocol order, each only where it
 *     is legal (our Version once, Verack on acceptance, Ready at Verack
 *     both ways, RequestAddresses one at a time and no more than asked,
 *     a Pong only for a Ping, Addresses only for RequestAddresses, a
 *     Reject only for a wrong network when accepting), and the messages
 *     hs_next_output builds carry what they answer.
 * A broken promise aborts with the line of the check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

#define WALL_BASE 1700000000000LL   /* Unix ms at monotonic 0 */
#define LONG_NET "kaspa-a-network-name-of-sixty-four-characters-which-is-the-limit"
#define EV_ALL (HS_EV_VERSION | HS_EV_ACCEPTED | HS_EV_READY | \
    HS_EV_ADDRESSES | HS_EV_REJECT | HS_EV_DONE | HS_EV_ABORTED)

/* Ours and the peer's: the same name, another, a prefix of one, empty,
 * and the longest config.c takes. */
static const char *const networks[] = {
	"kaspa-mainnet", "kaspa-testnet-10", "kaspa-mainnet-", "", LONG_NET,
};
#define N_NETWORKS (sizeof networks / sizeof networks[0])

static const uint8_t node_id[KASPA_ID_LEN] = {
	0xde, 0xad, 0xbe, 0xef, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};
static const struct kaspa_netaddr our_address = {
	.ip = { 203, 0, 113, 7 }, .ip_len = 4, .port = 16111,
};
static const struct kaspa_netaddr answers[3] = {
	{ .ip = { 198, 51, 100, 1 }, .ip_len = 4, .port = 16111 },
	{ .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, .ip_len = 16,
	  .port = 16112 },
	{ .timestamp = 1700000000, .ip = { 192, 0, 2, 9 }, .ip_len = 4,
	  .port = 1 },
};

/* The input, read front to back; 0 once it runs out. */
struct bytes {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct bytes *b, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len && b->n > 0; i++, b->p++, b->n--)
		v = v << 8 | *b->p;
	return v;
}

static uint64_t take_upto(struct bytes *b, uint64_t max)
{
	return take(b, 4) % (max + 1);
}

enum call {
	CALL_MESSAGE,
	CALL_BAD_MESSAGE,
	CALL_TICK,
};

/* What the checks need of the engine before a call. */
struct before {
	enum hs_state state;
	enum hs_stage stage;
	enum hs_outcome outcome;
	int64_t deadline;           /* hs_deadline() */
	unsigned requests_sent;
};

struct run {
	struct hs h;
	struct hs_config cfg;
	int64_t t0, now;
	unsigned take;              /* outputs the caller takes next */
	unsigned versions_out;      /* our Versions queued, all calls */
	unsigned requests_out;      /* RequestAddresses queued, all calls */
	unsigned pings, requests;   /* the peer's, while not done */
	uint32_t peer_protocol_version;     /* of its Version, if it came */
	bool echo;                  /* ours went out on the peer's Version */
};

static struct run run;
static struct kaspa_msg in, got;

/* ---- the config ---- */

static void make_config(struct bytes *b, struct hs_config *c)
{
	uint8_t flags = (uint8_t)take(b, 1);

	memset(c, 0, sizeof *c);
	c->role = flags & 1 ? HS_DIAL : HS_ACCEPT;
	c->stop_at_version = flags & 2;
	c->address = flags & 4 ? &our_address : NULL;
	c->network = networks[take(b, 1) % N_NETWORKS];
	c->user_agent = flags & 8 ? "/kaspa-sensor:fuzz/" : "";
	c->node_id = node_id;
	c->protocol_version = (uint32_t)take_upto(b, UINT32_MAX - 1) + 1;
	c->answer = answers;
	c->n_answer = (unsigned)take(b, 1) % 4;
	c->address_requests = (unsigned)take_upto(b, 100);
	c->version_wait_ms = take_upto(b, 60000);
	/* probe.c gives a stage what is left of its budget: it may be 0 */
	c->stage_timeout_ms = take_upto(b, 600000);
	c->ready_timeout_ms = take_upto(b, 600000);
	c->request_timeout_ms = take_upto(b, 300000);
	c->linger_ms = take_upto(b, 3600000);
	if (flags & 16)     /* a probe's budget: from now to a minute on */
		c->end_by_ms = run.t0 + (int64_t)take_upto(b, 60000);
}

/* ---- the steps: one message from the peer ---- */

static void make_version(struct bytes *b, struct kaspa_version *v)
{
	static const size_t id_lens[] = { KASPA_ID_LEN, 0, 15, 17,
	    KASPA_ID_MAX };
	uint8_t shape = (uint8_t)take(b, 1);

	v->protocol_version = (uint32_t)take(b, 4);
	v->id_len = id_lens[(shape & 7) % 5];
	memset(v->id, 0x11, v->id_len);
	snprintf(v->network, sizeof v->network, "%s",
	    networks[(shape >> 3 & 7) % N_NETWORKS]);
	v->has_address = shape & 0x80;
	v->address.ip_len = (uint8_t)(take(b, 1) % 17);
	snprintf(v->user_agent, sizeof v->user_agent, "/peer:%u/",
	    (unsigned)shape);
}

static void make_message(struct bytes *b, struct kaspa_msg *m)
{
	static const enum kaspa_type types[] = {
		KASPA_VERSION, KASPA_VERACK, KASPA_READY, KASPA_REJECT,
		KASPA_PING, KASPA_PONG, KASPA_REQUEST_ADDRESSES,
		KASPA_ADDRESSES, KASPA_OTHER, KASPA_NONE,
	};

	memset(m, 0, offsetof(struct kaspa_msg, u) + sizeof m->u.version);
	m->type = types[take(b, 1) % (sizeof types / sizeof types[0])];
	m->request_id = (uint32_t)take(b, 1);
	m->response_id = (uint32_t)take(b, 1);
	switch (m->type) {
	case KASPA_VERSION:
		make_version(b, &m->u.version);
		break;
	case KASPA_PING:
	case KASPA_PONG:
		m->u.nonce = take(b, 8);
		break;
	case KASPA_REJECT:
		snprintf(m->u.reject_reason, sizeof m->u.reject_reason,
		    "go away");
		break;
	case KASPA_ADDRESSES:
		m->u.addresses.count = take(b, 1) % 3;
		break;
	case KASPA_OTHER:
		m->other_field = (uint32_t)take(b, 1);
		break;
	default:
		break;
	}
}

/* ---- checks ---- */

static void snapshot(const struct hs *h, struct before *b)
{
	b->state = h->state;
	b->stage = h->stage;
	b->outcome = h->outcome;
	b->deadline = hs_deadline(h);
	b->requests_sent = h->requests_sent;
}

static enum hs_stage stage_of(enum hs_state st)
{
	switch (st) {
	case HS_WAIT_VERACK:
		return HS_STAGE_VERSION;
	case HS_WAIT_READY:
		return HS_STAGE_VERACK;
	case HS_REQUESTING:
	case HS_LINGER:
		return HS_STAGE_READY;
	default:
		return HS_STAGE_NONE;
	}
}

static bool outcome_before_version(enum hs_outcome o)
{
	return o == HS_TIMEOUT_BEFORE_VERSION ||
	    o == HS_BAD_MESSAGE_BEFORE_VERSION;
}

/* State, stage and outcome: forward only, and consistent. */
static void check_state(const struct before *b, const struct hs *h)
{
	CHECK(h->state >= b->state);
	CHECK(h->stage >= b->stage);
	CHECK(b->outcome == HS_PENDING || h->outcome == b->outcome);
	if (h->state != HS_DONE) {
		CHECK(h->stage == stage_of(h->state));
		CHECK(h->outcome == (h->stage == HS_STAGE_READY ? HS_OK :
		    HS_PENDING));
		return;
	}
	CHECK(h->outcome != HS_PENDING);
	CHECK((h->outcome == HS_OK) == (h->stage == HS_STAGE_READY));
	CHECK(!outcome_before_version(h->outcome) ||
	    h->stage == HS_STAGE_NONE);
	CHECK((h->outcome != HS_TIMEOUT && h->outcome != HS_BAD_MESSAGE) ||
	    h->stage != HS_STAGE_NONE);
	CHECK(h->outcome != HS_STOPPED || run.cfg.stop_at_version);
}

static int64_t clamp_to_end(int64_t at)
{
	int64_t end = run.cfg.end_by_ms;
	return end != 0 && end < at ? end : at;
}

/* The limit a state gets from the moment it is entered. */
static uint64_t limit_of(enum hs_state st)
{
	const struct hs_config *c = &run.cfg;

	switch (st) {
	case HS_WAIT_VERACK:
		return c->stage_timeout_ms;
	case HS_WAIT_READY:
		return c->ready_timeout_ms;
	case HS_REQUESTING:
		return c->request_timeout_ms;
	default:
		return c->linger_ms;
	}
}

/* hs_init's deadlines, which HOLD_VERSION and WAIT_VERSION keep. */
static int64_t first_deadline(enum hs_state st)
{
	int64_t stage_end = clamp_to_end(run.t0 +
	    (int64_t)run.cfg.stage_timeout_ms);
	int64_t speak_at = run.t0 + (int64_t)run.cfg.version_wait_ms;

	if (st == HS_HOLD_VERSION && speak_at < stage_end)
		return speak_at;
	return stage_end;
}

static void check_deadline(const struct before *b, const struct hs *h)
{
	int64_t d = hs_deadline(h);

	if (h->state == HS_DONE) {
		CHECK(d == 0);
		return;
	}
	CHECK(d > 0);
	CHECK(run.cfg.end_by_ms == 0 || d <= run.cfg.end_by_ms);
	if (h->state == b->state && h->requests_sent == b->requests_sent)
		CHECK(d == b->deadline);
	else if (h->state <= HS_WAIT_VERSION)
		CHECK(d == first_deadline(h->state));
	else
		CHECK(d == clamp_to_end(run.now + (int64_t)limit_of(h->state)));
}

/* Has the engine moved since `b`? */
static bool moved(const struct before *b, const struct hs *h)
{
	return h->state != b->state || h->requests_sent != b->requests_sent;
}

static void check_tick(const struct before *b, const struct hs *h,
    unsigned ev)
{
	CHECK((ev & (HS_EV_VERSION | HS_EV_ACCEPTED | HS_EV_READY |
	    HS_EV_ADDRESSES | HS_EV_REJECT)) == 0);
	if (b->state == HS_DONE)
		return;
	if (run.now < b->deadline) {
		CHECK(ev == 0 && !moved(b, h) && h->n_out == 0);
		return;
	}
	CHECK(moved(b, h));         /* else the caller ticks forever */
	if (b->state == HS_HOLD_VERSION &&
	    run.now >= first_deadline(HS_WAIT_VERSION))
		CHECK(h->state == HS_DONE);     /* too late to speak */
	if (h->state == HS_DONE && b->stage < HS_STAGE_READY)
		CHECK(h->outcome == (b->stage == HS_STAGE_NONE ?
		    HS_TIMEOUT_BEFORE_VERSION : HS_TIMEOUT));
}

static bool valid_version(const struct kaspa_version *v)
{
	return v->id_len == KASPA_ID_LEN && (!v->has_address ||
	    v->address.ip_len == 4 || v->address.ip_len == 16);
}

/* Why the engine must turn down this Version, or HS_PENDING. */
static enum hs_outcome version_verdict(const struct kaspa_version *v)
{
	if (run.cfg.stop_at_version)
		return HS_STOPPED;
	if (!valid_version(v))
		return HS_BAD_VERSION;
	if (strcmp(v->network, run.cfg.network) != 0)
		return HS_WRONG_NETWORK;
	return HS_PENDING;
}

static void check_version_events(const struct before *b, const struct hs *h,
    const struct kaspa_msg *m, unsigned ev)
{
	bool first = m->type == KASPA_VERSION && b->state <= HS_WAIT_VERSION;

	CHECK(((ev & HS_EV_VERSION) != 0) == first);
	if (!first) {
		CHECK((ev & HS_EV_ACCEPTED) == 0);
		return;
	}
	enum hs_outcome verdict = version_verdict(&m->u.version);
	CHECK(((ev & HS_EV_ACCEPTED) != 0) == (verdict == HS_PENDING));
	if (verdict != HS_PENDING)
		CHECK(h->state == HS_DONE && h->outcome == verdict &&
		    (ev & HS_EV_ABORTED));
}

static void check_message(const struct before *b, const struct hs *h,
    const struct kaspa_msg *m, unsigned ev)
{
	if (b->state == HS_DONE) {
		CHECK(ev == 0);
		return;
	}
	check_version_events(b, h, m, ev);
	CHECK(((ev & HS_EV_ADDRESSES) != 0) ==
	    (m->type == KASPA_ADDRESSES && b->stage == HS_STAGE_READY));
	CHECK(((ev & HS_EV_REJECT) != 0) == (m->type == KASPA_REJECT));
	if (m->type == KASPA_REJECT)
		CHECK(h->state == HS_DONE && (b->outcome == HS_OK ||
		    h->outcome == HS_REJECTED));
	if (m->type == KASPA_PING || m->type == KASPA_REQUEST_ADDRESSES)
		CHECK(ev == 0 && !moved(b, h));
}

static void check_bad_message(const struct before *b, const struct hs *h,
    unsigned ev)
{
	if (b->state == HS_DONE) {
		CHECK(ev == 0);
		return;
	}
	CHECK(ev == (HS_EV_DONE | HS_EV_ABORTED));
	CHECK(h->outcome == (b->outcome == HS_OK ? HS_OK :
	    b->state <= HS_WAIT_VERSION ? HS_BAD_MESSAGE_BEFORE_VERSION :
	    HS_BAD_MESSAGE));
}

/* The bits every call shares: DONE, ABORTED, READY. */
static void check_events(const struct before *b, const struct hs *h,
    unsigned ev)
{
	bool ended = b->state != HS_DONE && h->state == HS_DONE;

	CHECK((ev & ~EV_ALL) == 0);
	CHECK(((ev & HS_EV_DONE) != 0) == ended);
	CHECK(!(ev & HS_EV_ABORTED) || (ev & HS_EV_DONE));
	CHECK(((ev & HS_EV_READY) != 0) ==
	    (b->stage < HS_STAGE_READY && h->stage == HS_STAGE_READY));
	if (ended && !(ev & HS_EV_ABORTED))     /* ran its course */
		CHECK(h->outcome == HS_OK &&
		    run.requests_out == run.cfg.address_requests);
}

/* Where a RequestAddresses may go out: at Ready, or when the one before
 * was answered or timed out. */
static bool may_request(const struct before *b, enum call call,
    const struct kaspa_msg *m)
{
	if (b->stage < HS_STAGE_READY)
		return true;
	if (b->state != HS_REQUESTING)
		return false;
	return call == CALL_TICK || m->type == KASPA_ADDRESSES;
}

/* Each output: legal here, in protocol order, once per call. */
static void check_outputs(const struct before *b, const struct hs *h,
    enum call call, const struct kaspa_msg *m, unsigned ev)
{
	enum { N_ORDER = 4 };
	static const enum kaspa_type order[N_ORDER] = { KASPA_VERSION,
	    KASPA_VERACK, KASPA_READY, KASPA_REQUEST_ADDRESSES };
	bool answer = b->state != HS_DONE && call == CALL_MESSAGE &&
	    (m->type == KASPA_PING || m->type == KASPA_REQUEST_ADDRESSES);
	bool rejected = b->outcome == HS_PENDING &&
	    h->outcome == HS_WRONG_NETWORK && run.cfg.role == HS_ACCEPT;
	unsigned seen[N_ORDER] = { 0 }, versions, next = 0;

	CHECK(h->n_out <= HS_OUT_MAX && h->next_out == 0);
	if (answer || rejected) {
		CHECK(h->n_out == 1);
		CHECK(h->out[0] == (rejected ? KASPA_REJECT :
		    m->type == KASPA_PING ? KASPA_PONG : KASPA_ADDRESSES));
		return;
	}
	for (unsigned i = 0; i < h->n_out; i++) {
		while (next < N_ORDER && order[next] != h->out[i])
			next++;
		CHECK(next < N_ORDER);      /* a legal type, in order */
		seen[next]++;
		CHECK(seen[next] == 1);
	}
	versions = seen[0];
	run.versions_out += versions;
	run.echo |= versions && call == CALL_MESSAGE;
	run.requests_out += seen[3];
	CHECK(run.versions_out <= 1);
	CHECK(!versions || (run.cfg.role == HS_ACCEPT &&
	    b->state == HS_HOLD_VERSION));
	CHECK((seen[1] == 1) == ((ev & HS_EV_ACCEPTED) != 0));
	CHECK((seen[2] == 1) == (b->stage < HS_STAGE_VERACK &&
	    h->stage >= HS_STAGE_VERACK));
	CHECK(!seen[3] || may_request(b, call, m));
	CHECK(run.requests_out <= run.cfg.address_requests);
}

/* The counters the engine keeps agree with what it queued. */
static void check_counts(const struct hs *h)
{
	CHECK(h->requests_sent == run.requests_out);
	CHECK(h->sent_version == (run.versions_out == 1));
	CHECK(h->pings_answered == run.pings);
	CHECK(h->requests_answered == run.requests);
	if (h->state == HS_LINGER)
		CHECK(run.requests_out == run.cfg.address_requests);
}

/* ---- the caller's side: taking the outputs ---- */

static void check_our_version(const struct kaspa_version *v)
{
	const struct hs_config *c = &run.cfg;

	CHECK(v->protocol_version == (run.echo ?
	    run.peer_protocol_version : c->protocol_version));
	CHECK(v->timestamp_ms == WALL_BASE + run.now);
	CHECK(v->id_len == KASPA_ID_LEN &&
	    memcmp(v->id, c->node_id, KASPA_ID_LEN) == 0);
	CHECK(strcmp(v->network, c->network) == 0);
	CHECK(strcmp(v->user_agent, c->user_agent) == 0);
	CHECK(v->has_address == (c->address != NULL));
	CHECK(!v->has_address ||
	    memcmp(&v->address, c->address, sizeof v->address) == 0);
}

/* One output, as built, against what it answers. */
static void check_built(const struct kaspa_msg *o, const struct kaspa_msg *m)
{
	bool answers_m = o->type == KASPA_PONG || o->type == KASPA_ADDRESSES;

	CHECK(o->other_field == 0 && o->request_id == 0);
	CHECK(o->response_id == (answers_m ? m->request_id : 0));
	switch (o->type) {
	case KASPA_VERSION:
		check_our_version(&o->u.version);
		break;
	case KASPA_PONG:
		CHECK(o->u.nonce == m->u.nonce);
		break;
	case KASPA_ADDRESSES:
		CHECK(o->u.addresses.count == run.cfg.n_answer);
		CHECK(memcmp(o->u.addresses.list, answers,
		    run.cfg.n_answer * sizeof answers[0]) == 0);
		break;
	case KASPA_REJECT:
		CHECK(strstr(o->u.reject_reason, run.cfg.network) != NULL);
		break;
	case KASPA_REQUEST_ADDRESSES:
		CHECK(!o->u.include_all_subnetworks);
		break;
	default:
		break;
	}
}

/* Take run.take outputs (the rest the next call drops). */
static void drain(const struct kaspa_msg *m)
{
	unsigned n = 0;

	while (n < run.take &&
	    hs_next_output(&run.h, WALL_BASE + run.now, &got)) {
		CHECK(got.type == run.h.out[n]);
		check_built(&got, m);
		n++;
	}
	CHECK(n == (run.take < run.h.n_out ? run.take : run.h.n_out));
	run.take = HS_OUT_MAX + 1;
}

/* One call, then every check. */
static void after_call(const struct before *b, enum call call,
    const struct kaspa_msg *m, unsigned ev)
{
	const struct hs *h = &run.h;

	check_outputs(b, h, call, m, ev);   /* first: it counts them */
	check_state(b, h);
	check_events(b, h, ev);
	if (call == CALL_MESSAGE)
		check_message(b, h, m, ev);
	else if (call == CALL_BAD_MESSAGE)
		check_bad_message(b, h, ev);
	else
		check_tick(b, h, ev);
	check_counts(h);
	check_deadline(b, h);
	drain(m);
}

static void deliver(struct bytes *in_bytes)
{
	struct before b;

	make_message(in_bytes, &in);
	snapshot(&run.h, &b);
	if (b.state != HS_DONE) {
		run.pings += in.type == KASPA_PING;
		run.requests += in.type == KASPA_REQUEST_ADDRESSES;
		if (in.type == KASPA_VERSION && b.state <= HS_WAIT_VERSION)
			run.peer_protocol_version =
			    in.u.version.protocol_version;
	}
	after_call(&b, CALL_MESSAGE, &in, hs_on_message(&run.h, &in,
	    run.now));
}

static void bad_message(void)
{
	struct before b;

	snapshot(&run.h, &b);
	after_call(&b, CALL_BAD_MESSAGE, &in, hs_on_bad_message(&run.h));
}

static void tick(void)
{
	struct before b;

	snapshot(&run.h, &b);
	after_call(&b, CALL_TICK, &in, hs_on_tick(&run.h, run.now));
}

/* The clock: monotonic, never back. */
static void advance_to(int64_t at)
{
	if (at > run.now)
		run.now = at;
}

enum step {
	STEP_MESSAGE,
	STEP_BAD_MESSAGE,
	STEP_TICK,
	STEP_WAIT_FEW,          /* 0 to 255 ms */
	STEP_WAIT_LONG,         /* up to an hour */
	STEP_WAIT_DEADLINE,     /* to hs_deadline() exactly, and tick */
	STEP_WAIT_BEFORE,       /* to 1 ms before it */
	STEP_TAKE,              /* the caller takes only some outputs */
	N_STEPS,
};

static void step(struct bytes *b)
{
	int64_t d = hs_deadline(&run.h);

	switch ((enum step)(take(b, 1) % N_STEPS)) {
	case STEP_MESSAGE:
		deliver(b);
		break;
	case STEP_BAD_MESSAGE:
		bad_message();
		break;
	case STEP_TICK:
		tick();
		break;
	case STEP_WAIT_FEW:
		advance_to(run.now + (int64_t)take(b, 1));
		break;
	case STEP_WAIT_LONG:
		advance_to(run.now + (int64_t)take_upto(b, 3600000));
		break;
	case STEP_WAIT_DEADLINE:
		advance_to(d);
		tick();
		break;
	case STEP_WAIT_BEFORE:
		advance_to(d - 1);
		break;
	default:
		run.take = (unsigned)take(b, 1) % (HS_OUT_MAX + 1);
		break;
	}
}

static void start(struct bytes *b)
{
	struct before none = { .state = HS_HOLD_VERSION };

	memset(&run, 0, sizeof run);
	run.t0 = 1 + (int64_t)take(b, 4);  /* monotonic ms: never 0 */
	run.now = run.t0;
	run.take = HS_OUT_MAX + 1;
	make_config(b, &run.cfg);
	hs_init(&run.h, &run.cfg, run.now);
	const struct hs *h = &run.h;
	bool dial = run.cfg.role == HS_DIAL;
	CHECK(h->state == (dial ? HS_WAIT_VERSION : HS_HOLD_VERSION));
	CHECK(h->n_out == (dial ? 1 : 0));
	CHECK(!dial || h->out[0] == KASPA_VERSION);
	run.versions_out = dial;
	none.deadline = hs_deadline(h);
	CHECK(none.deadline == first_deadline(h->state));
	check_state(&none, h);
	check_counts(h);
	memset(&in, 0, sizeof in);
	drain(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytes b = { data, size };

	start(&b);
	while (b.n > 0)
		step(&b);
	return 0;
}
