/* handshake.h - the Kaspa P2P handshake as a pure engine, for both roles.
 *
 * Written like BearSSL's engines: the caller owns the context and does
 * all I/O.  The engine reads no socket, knows no HTTP/2 and reads no
 * clock: the caller hands it each decoded message (hs_on_message) and
 * the passing of time (hs_on_tick), and after every call
 *   - takes the messages to send, in order, with hs_next_output(),
 *   - acts on the events the call returned (HS_EV_*),
 *   - arms a timer for hs_deadline() (0: none; the engine is done).
 * Every time is monotonic milliseconds (loop.h's now_ms()), except the
 * wall clock that hs_next_output() stamps into our Version.
 *
 * The exchange (rusty-kaspa protocol/p2p/src/handshake.rs): each side
 * sends its Version; on the peer's Version a side checks it (id of 16
 * bytes, address IP of 4 or 16 bytes, same network) and sends Verack;
 * Verack both ways -> each sends Ready; Ready both ways -> done ("ok").
 * Then the engine sends `address_requests` RequestAddresses, one at a
 * time, and lingers; until it is done it answers every RequestAddresses
 * (with cfg->answer) and Ping (Pong), echoing request_id as response_id.
 * A Verack or Ready that comes before its stage is remembered.  A Reject
 * ends the engine at any stage; so does a message the caller could not
 * decode (hs_on_bad_message).  The first outcome decided stays: a Reject
 * after Ready ends an "ok" handshake.
 *
 * States (enum hs_state), every transition, listed with its test in
 * test/session/test_handshake_engine.c:
 *   HOLD_VERSION -> WAIT_VERSION -> WAIT_VERACK -> WAIT_READY
 *     -> REQUESTING (as often as requested) -> LINGER -> DONE,
 *   and any state -> DONE.
 *
 * The two roles differ only in data (the role table in handshake.c):
 *   HS_ACCEPT, the side that was dialed: our Version is held until the
 *     peer's comes (ours then echoes its protocolVersion) or until
 *     version_wait_ms passes (ours then says cfg->protocol_version); a
 *     wrong network gets a Reject before the end; a linger of 0 still
 *     lasts until the next tick, so what came with the peer's Ready is
 *     answered.
 *   HS_DIAL, the side that dialed: our Version goes out in hs_init(); a
 *     wrong network ends without a word; a linger of 0 ends at once.
 *
 * Memory: struct hs is the caller's (any storage; no allocation, nothing
 * to free).  The engine keeps the cfg pointer: the config, its strings and
 * its answer list must stay unchanged while the engine is in use.  A
 * message passed to hs_on_message() is only read during the call; the
 * events that concern it (the peer's Version, an Addresses reply, a
 * Reject's reason) are read by the caller from that same message, which
 * stays the caller's.  The outputs of a call wait in the context until
 * the next hs_init/hs_on_* call, which drops any not taken.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "kaspa_pb.h"

enum hs_role {
	HS_ACCEPT,      /* the peer dialed us (we are the gRPC server) */
	HS_DIAL,        /* we dialed the peer (we are the gRPC client) */
};

struct hs_config {
	enum hs_role role;
	const char *network;            /* ours; the peer's must match */
	const char *user_agent;
	const uint8_t *node_id;         /* KASPA_ID_LEN bytes */
	uint32_t protocol_version;      /* in our Version when we speak first */
	const struct kaspa_netaddr *address;   /* ours in the Version, or NULL */
	const struct kaspa_netaddr *answer;    /* handed to RequestAddresses */
	unsigned n_answer;
	unsigned address_requests;      /* RequestAddresses after Ready */
	bool stop_at_version;           /* end at the peer's Version (a probe:
	                                 * its id is all it wants) */
	uint64_t version_wait_ms;       /* HS_ACCEPT: ours goes out unprompted
	                                 * after this */
	uint64_t stage_timeout_ms;      /* Version, then Verack */
	uint64_t ready_timeout_ms;      /* the peer's Ready */
	uint64_t request_timeout_ms;    /* one Addresses reply */
	uint64_t linger_ms;             /* after Ready and the last reply */
	int64_t end_by_ms;              /* no deadline runs past it; 0: none */
};

enum hs_state {
	HS_HOLD_VERSION,    /* HS_ACCEPT: neither Version sent yet; ours waits */
	HS_WAIT_VERSION,    /* ours sent, the peer's awaited */
	HS_WAIT_VERACK,     /* the peer's Version accepted, our Verack out */
	HS_WAIT_READY,      /* Verack both ways, our Ready out */
	HS_REQUESTING,      /* Ready both ways; one RequestAddresses out */
	HS_LINGER,          /* answering until the linger ends */
	HS_DONE,            /* nothing more: hs->outcome says how it ended */
};

/* How far the handshake got (never goes back). */
enum hs_stage {
	HS_STAGE_NONE,
	HS_STAGE_VERSION,   /* the peer's Version arrived */
	HS_STAGE_VERACK,    /* Verack went both ways */
	HS_STAGE_READY,     /* Ready went both ways */
};

enum hs_outcome {
	HS_PENDING,         /* not decided yet */
	HS_OK,              /* Ready both ways (and the end was ours) */
	HS_STOPPED,         /* cfg->stop_at_version, and the Version came */
	HS_TIMEOUT_BEFORE_VERSION, /* a deadline passed before the peer's
	                            * Version */
	HS_TIMEOUT,         /* a deadline passed after it */
	HS_REJECTED,        /* the peer sent Reject */
	HS_BAD_VERSION,     /* id not 16 bytes, or address IP not 4 or 16 */
	HS_WRONG_NETWORK,   /* the peer's network is not ours */
	HS_BAD_MESSAGE_BEFORE_VERSION, /* one the caller could not decode */
	HS_BAD_MESSAGE,     /* the same after the peer's Version */
};

/* Events: bits returned by hs_on_message, hs_on_tick, hs_on_bad_message. */
#define HS_EV_VERSION   0x01u  /* the peer's (first) Version is the message
                                * passed in; checks may yet fail */
#define HS_EV_ACCEPTED  0x02u  /* ... and it passed them: our Verack is out */
#define HS_EV_READY     0x04u  /* Ready went both ways: outcome HS_OK */
#define HS_EV_ADDRESSES 0x08u  /* the message is an Addresses reply that
                                * came after Ready */
#define HS_EV_REJECT    0x10u  /* the message is the peer's Reject */
#define HS_EV_DONE      0x20u  /* the engine ended: see hs->outcome */
#define HS_EV_ABORTED   0x40u  /* ... not by running its course: a Reject,
                                * a failed check, a bad message, a stop or
                                * a timeout ended it (the outcome may still
                                * be HS_OK: the first decision stays) */

#define HS_OUT_MAX 4    /* most messages one call queues (the peer's
                         * Version: ours, Verack, Ready, RequestAddresses) */

/* Read the fields freely; change them only through the functions.  The
 * order keeps it small: one per connection. */
struct hs {
	const struct hs_config *cfg;
	int64_t deadline_ms;        /* of the state; 0 once done */
	int64_t version_at_ms;      /* HOLD_VERSION: ours goes out then */
	uint64_t pong_nonce;        /* the queued Pong's; a call answers one
	                             * message at most */
	enum hs_state state;
	enum hs_stage stage;
	enum hs_outcome outcome;
	uint32_t our_version;       /* our Version's protocolVersion, if sent */
	uint32_t answer_id;         /* response_id of the queued Pong or
	                             * Addresses: the request_id they answer */
	unsigned requests_sent;
	unsigned requests_answered; /* the peer's RequestAddresses */
	unsigned pings_answered;
	enum kaspa_type out[HS_OUT_MAX];    /* queued, in order */
	uint8_t n_out, next_out;
	bool sent_version;          /* our Version is queued */
	bool peer_first;            /* the peer's Version came before ours */
	bool early_verack;          /* the peer's Verack came before its stage */
	bool early_ready;           /* the peer's Ready came before its stage */
};

/* Start: HS_ACCEPT holds its Version, HS_DIAL queues it. */
void hs_init(struct hs *h, const struct hs_config *cfg, int64_t now_ms);

/* One decoded message from the peer.  Returns HS_EV_* bits. */
unsigned hs_on_message(struct hs *h, const struct kaspa_msg *m,
    int64_t now_ms);

/* The caller could not decode a message: the engine ends (HS_EV_DONE). */
unsigned hs_on_bad_message(struct hs *h);

/* Time passed: call it at hs_deadline() (an earlier call does nothing).
 * Returns HS_EV_* bits. */
unsigned hs_on_tick(struct hs *h, int64_t now_ms);

/* When hs_on_tick wants to run next; 0 when done.  HOLD_VERSION and
 * WAIT_VERSION count stage_timeout_ms from hs_init; every later state
 * gets its whole limit from the call that entered it, so a new state may
 * bring the deadline earlier (a linger shorter than what was left of the
 * Ready wait); within a state it does not move.  None is past end_by_ms,
 * and a tick at it always moves the engine on. */
int64_t hs_deadline(const struct hs *h);

/* The next queued message, built into *m (all of its header and payload;
 * wall_ms, Unix milliseconds, stamps a Version).  false when none is
 * left. */
bool hs_next_output(struct hs *h, int64_t wall_ms, struct kaspa_msg *m);

#endif
