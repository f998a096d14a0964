/* announce.h - make the sensor's address known (sensor option --announce).
 *
 * The reference node records a peer's address only after Ready: the
 * dialed address for its outbound peers, and for any peer the address in
 * the peer's Version (protocol/flows/src/flow_context.rs).  A sensor that
 * only accepts connections is never dialed, so nobody records it.  The
 * announcer dials a few public peers every interval with our external
 * address in our Version, completes the handshake including Ready, answers
 * their RequestAddresses with that address, asks once for theirs (to learn
 * more peers to announce to), lingers a little and leaves.
 *
 * Bounded: at most `per_round` sessions per interval (and open at once),
 * each peer at most once per `redial` period, a candidate list of at most
 * ANNOUNCE_CANDIDATES_MAX addresses.  One NDJSON line per session
 * ("direction":"announce") goes to the sensor's log.
 */
#ifndef ANNOUNCE_H
#define ANNOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dial.h"
#include "kaspa_pb.h"
#include "loop.h"

struct conn_shared;
#include "ndjson.h"

#define ANNOUNCE_CANDIDATES_MAX 2048
#define ANNOUNCE_ROUND_MAX 64

struct announce_config {
	struct conn_shared *shared;      /* the process's (conn.h) */
	struct ip_key external;          /* our public address */
	uint16_t external_port;
	const char *peers;               /* "IP:PORT,IP:PORT" to start from */
	bool allow_private;              /* dial non-routable candidates */
	uint64_t interval_ms;
	uint64_t per_round;              /* <= ANNOUNCE_ROUND_MAX */
	uint64_t linger_ms;
	uint64_t redial_ms;
	const char *network;
	const char *user_agent;
	const char *sensor_id;
	uint32_t protocol_version;
	uint8_t node_id[KASPA_ID_LEN];   /* the sensor's */
	const struct dial_proxy *proxy;  /* NULL: dial directly */
};

struct announcer;

/* NULL on a bad peer list or no memory, with the reason in why[why_len]
 * for the caller to print. */
struct announcer *announce_start(const struct announce_config *cfg,
    struct loop *l, struct ndjson_log *log, char *why, size_t why_len);
/* End every session (their lines are written) and the timer. */
void announce_free(struct announcer *a);

#endif
