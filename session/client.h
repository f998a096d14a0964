/* client.h - one outbound Kaspa P2P session on the loop.
 *
 * A client dials IP:PORT through dial.c (directly, or through the SOCKS5
 * proxy in its configuration), opens
 * the gRPC call with our h2 engine in the H2_CLIENT role and runs the
 * handshake as the reference node's dialer does (protocol/p2p/src/
 * handshake.rs, protocol/flows/src/flow_context.rs): our Version at once,
 * Verack when theirs arrives, Ready when Verack went both ways.
 *
 * The handshake itself is handshake.c's (HS_DIAL role); this file is the
 * adapter that gives it a socket and an HTTP/2 call.
 *
 * How far it goes is the caller's choice:
 *   - until the peer's Version (stop_at_version: a probe),
 *   - through Ready, then `address_requests` RequestAddresses, one at a
 *     time, each reply handed to on_addresses (a crawler),
 *   - then `linger_ms` more (an announcer that stays a little).
 * Meanwhile the peer's RequestAddresses get `answer` (possibly empty) and
 * its Pings a Pong.  The end is polite: END_STREAM, GOAWAY, half-close,
 * a short wait for the peer's EOF.  on_done runs once, from the loop, and
 * the client frees itself right after.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dial.h"
#include "kaspa_pb.h"
#include "loop.h"

struct conn_shared;

#define CLIENT_ANSWER_MAX 16    /* addresses we hand out when asked */

/* How far the session got (never goes back). */
enum client_stage {
	CLIENT_STAGE_NONE,      /* the dial did not succeed */
	CLIENT_STAGE_TCP,
	CLIENT_STAGE_CALL,      /* the server answered the call with 200 */
	CLIENT_STAGE_VERSION,   /* their Version arrived */
	CLIENT_STAGE_VERACK,    /* Verack went both ways */
	CLIENT_STAGE_READY,     /* Ready went both ways */
};

struct client_config {
	struct conn_shared *shared;     /* the process's (conn.h) */
	const char *network;
	const char *user_agent;
	uint32_t protocol_version;
	uint8_t node_id[KASPA_ID_LEN];
	bool has_address;               /* our address in the Version */
	struct kaspa_netaddr address;
	struct kaspa_netaddr answer[CLIENT_ANSWER_MAX];
	unsigned n_answer;
	unsigned address_requests;      /* RequestAddresses after Ready */
	bool stop_at_version;           /* end ("stopped") at their Version */
	uint64_t connect_timeout_ms;    /* the whole dial, proxy included */
	uint64_t stage_timeout_ms;      /* Version, Verack, Ready each */
	uint64_t request_timeout_ms;    /* one Addresses reply */
	uint64_t linger_ms;             /* after the last reply */
	int64_t end_by_ms;              /* monotonic; 0: none.  No dial and
	                                 * no stage runs past it */
	bool no_drain;                  /* close right after our goodbye
	                                 * instead of waiting for their EOF */
	const struct dial_proxy *proxy; /* NULL: dial directly */
};

struct client_result {
	const char *outcome;   /* ok | stopped | <a dial outcome but
	                        * connected: refused, timeout, unreachable,
	                        * reset, error, proxy_refused, proxy_error>
	                        * | not_kaspa | closed | reject
	                        * | wrong_network | bad_version | bad_message
	                        * | aborted | <h2 failure name> */
	enum dial_outcome dial;         /* how the dial ended (DIAL_ERROR
	                                 * if it was aborted) */
	const char *dial_detail;        /* dial_result.detail, or NULL */
	enum client_stage stage;
	bool got_version;
	struct kaspa_version version;   /* theirs, valid if got_version */
	char reject_reason[KASPA_REASON_MAX + 1];
	unsigned replies;               /* Addresses messages received */
	uint64_t addresses;             /* addresses in them, total */
	unsigned requests_answered;     /* their RequestAddresses */
	unsigned pings_answered;
	int64_t connect_us;             /* -1 if no connection */
	int64_t dial_us;                /* until the target answered the dial
	                                 * (refused too), or -1 */
	int64_t handshake_us;           /* start -> Ready both ways, or -1 */
	int64_t duration_us;
};

struct client_callbacks {
	/* Their Version as it came, whether it passes the checks or not;
	 * may be NULL. */
	void (*on_version)(void *ctx, const struct kaspa_version *v);
	/* One Addresses reply (m->type == KASPA_ADDRESSES); may be NULL. */
	void (*on_addresses)(void *ctx, const struct kaspa_msg *m);
	void (*on_done)(void *ctx, const struct client_result *r);
};

struct client;

/* Start a session to ip:port.  Returns NULL (nothing started, no callback)
 * when out of memory, sockets or loop slots.  cfg is copied. */
struct client *client_start(struct loop *l, const struct client_config *cfg,
    const struct ip_key *ip, uint16_t port,
    const struct client_callbacks *cb, void *ctx);

/* End now (outcome "aborted" unless decided); on_done runs before this
 * returns. */
void client_abort(struct client *c);

const char *client_stage_name(enum client_stage s);

#endif
