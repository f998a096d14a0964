/* conn.h - the plumbing the inbound (peer.c) and outbound (client.c)
 * adapters share: a non-blocking socket on a loop slot, the h2 engine
 * that carries the gRPC call over it, and the Kaspa messages a handshake
 * engine (handshake.h) receives and sends.
 *
 * Memory: struct conn is the adapter's.  What its connections share (the
 * h2 pools and scratch, the protobuf scratch, one read buffer, one decoded
 * message and one message being encoded: struct kaspa_msg is ~40 KB with
 * its address list) is a struct conn_shared the process owns: conn_read's
 * bytes and conn_decode's message live until the next call of the same
 * function on any connection sharing it.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "h2.h"
#include "handshake.h"
#include "kaspa_pb.h"
#include "loop.h"

#define P2P_PATH "/protowire.P2P/MessageStream"

#define CONN_READ_MAX 16384     /* bytes taken from the socket at a time */
#define CONN_SEND_MAX 2048      /* one message we send, encoded */

/* ~270 KB: a static of the process's context or one allocation, never on
 * the stack.  Must outlive every connection using it. */
struct conn_shared {
	struct h2_ctx h2;
	struct kaspa_pb_scratch pb;
	struct kaspa_msg rx;            /* conn_decode's result */
	struct kaspa_msg tx;            /* the engine's output being encoded */
	uint8_t read_buf[CONN_READ_MAX];
	uint8_t send_buf[CONN_SEND_MAX];
};

/* Set up the shared part (empty h2 pools). */
void conn_shared_init(struct conn_shared *w);

struct conn {
	struct conn_shared *shared;     /* the process's */
	struct loop *loop;
	int fd;
	int slot;
	bool half_closed;       /* shut down for writing, or the peer is gone */
	struct h2_conn h2;      /* small: its buffers are lent while used */
};

/* The socket's own port (0 if unknown). */
uint16_t conn_local_port(const struct conn *c);

/* Read what the socket has: > 0 bytes at *data (in c->shared->read_buf),
 * 0 when nothing is there now, -1 at EOF or on an error. */
ssize_t conn_read(struct conn *c, const uint8_t **data);

/* Write what h2 queued; ask for POLLOUT while some is left.  `draining`
 * (our goodbye is queued): half-close once all is out.  Returns the bytes
 * written. */
size_t conn_flush(struct conn *c, bool draining);

/* Decode one gRPC message into c->shared->rx; NULL (and *err, a static
 * string) if it is not a Kaspa message. */
const struct kaspa_msg *conn_decode(struct conn *c, const uint8_t *msg,
    size_t len, const char **err);

/* Encode and send every message the engine queued, in order.  -1 when
 * one could not be sent (the rest are not tried). */
int conn_send_outputs(struct conn *c, struct hs *h);

/* What an h2 on_message callback returns after the engine took the
 * message: -1 (stop reading the call) when a reply could not be sent
 * (`sent`, conn_send_outputs' result) or the message aborted the engine
 * (HS_EV_ABORTED in `ev`); 0 to go on, also after a normal end. */
int conn_verdict(int sent, unsigned ev);

/* The engine's outcome as this side logs it (NULL while HS_PENDING). */
const char *conn_outcome_name(const struct hs *h);

/* Say goodbye: end the call if it was started and is still ours to end,
 * queue GOAWAY.  Returns how long to drain: to wait for the peer's EOF
 * (the role's drain time). */
uint64_t conn_goodbye(struct conn *c, bool call_started);

#endif
