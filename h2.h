/* h2.h - HTTP/2 (RFC 9113) connection engine carrying one gRPC call.
 *
 * The engine never does I/O (BearSSL style): feed it received bytes with
 * h2_recv(), which calls back with events; take the bytes it wants sent with
 * h2_out() / h2_out_done().  The same code serves both roles: H2_SERVER (a
 * node dialed the sensor) and H2_CLIENT (probe, crawler).
 *
 * A Kaspa P2P connection is one bidirectional-streaming call, so the engine
 * carries exactly one stream: the server accepts the first request stream
 * and refuses others with RST_STREAM(REFUSED_STREAM); the client opens
 * stream 1.  gRPC length-prefixed messages are reassembled across DATA
 * frames (or split out of one), gzip ones are inflated, and each complete
 * message is handed to on_message.
 *
 * struct h2_conn itself is small (a few hundred bytes).  Its fixed-size
 * buffers (partial frame, header block, gRPC message, output queue, DATA
 * held by flow control, HPACK decoder) are lent to it from free lists only
 * while they hold something: most frames arrive whole and are processed
 * in place, most writes complete at once, and a peer that indexes no
 * header leaves the decoder in its initial state, so a connection waiting
 * mid-handshake usually holds none of them.  h2_free() gives them back.
 *
 * Memory: the free lists, and the scratch space for decoding a header
 * block and inflating a message, are in a struct h2_ctx the caller owns
 * and shares between its connections (one per process is enough: the
 * engine is single-threaded).  It must outlive every connection using it.
 */
#ifndef H2_H
#define H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpack.h"

#define H2_FRAME_MAX 16384          /* our SETTINGS_MAX_FRAME_SIZE */
#define H2_HEADER_BLOCK_MAX 16384   /* HEADERS + CONTINUATION, encoded */
#define H2_HEADER_LIST_MAX 8192     /* our SETTINGS_MAX_HEADER_LIST_SIZE */
#define H2_TX_MAX 32768             /* bytes queued for the socket */
#define GRPC_MESSAGE_MAX 65536      /* one gRPC message, wire and inflated */

enum h2_role { H2_SERVER, H2_CLIENT };

/* A free list of same-size blocks; the link lives in the block. */
struct h2_pool {
	size_t size;
	void *head;
	unsigned n_free;
};

/* What the connections of one caller share (~100 KB: keep it off the
 * stack).  The pools lend each connection its buffers (see above);
 * the scratch is used within one h2_recv() call. */
struct h2_ctx {
	struct h2_pool rx, hdr, msg, tx, held, hpack;
	uint8_t hpack_scratch[2 * HPACK_STRING_MAX];
	uint8_t inflated[GRPC_MESSAGE_MAX];    /* a gzip message, inflated */
};

/* Set up empty pools. */
void h2_ctx_init(struct h2_ctx *x);
/* Free the pooled blocks; buffers still lent to live connections are
 * not the pools' (h2_free() them first). */
void h2_ctx_free(struct h2_ctx *x);

/* Connection stage. */
enum h2_state {
	H2_WAIT_PREFACE,  /* server: reading the 24-byte client preface */
	H2_WAIT_SETTINGS, /* the peer's first frame must be SETTINGS */
	H2_OPEN,
	H2_CLOSING,       /* GOAWAY sent or received: flush and close */
};

/* Stage of the single stream. */
enum h2_stream_state {
	H2_STREAM_IDLE,
	H2_STREAM_OPEN,
	H2_STREAM_HALF_CLOSED_LOCAL,  /* we sent END_STREAM */
	H2_STREAM_HALF_CLOSED_REMOTE, /* the peer sent END_STREAM */
	H2_STREAM_CLOSED,
};

/* Why the engine gave up on the connection (for the log's `outcome`). */
enum h2_fail {
	H2_FAIL_NONE = 0,
	H2_FAIL_PREFACE,       /* not an HTTP/2 client preface */
	H2_FAIL_PROTOCOL,      /* PROTOCOL_ERROR of any kind */
	H2_FAIL_FRAME_SIZE,    /* frame larger than our SETTINGS allow */
	H2_FAIL_COMPRESSION,   /* HPACK decoding error */
	H2_FAIL_HEADERS,       /* header block or list over its cap */
	H2_FAIL_FLOW_CONTROL,  /* window overflow or peer overran our window */
	H2_FAIL_MESSAGE_SIZE,  /* gRPC message over GRPC_MESSAGE_MAX */
	H2_FAIL_GZIP,          /* bad gzip body, or over the inflated cap */
	H2_FAIL_ENCODING,      /* compressed flag without grpc-encoding gzip */
	H2_FAIL_TX_FULL,       /* peer does not read: output queue full */
	H2_FAIL_CALLBACK,      /* a callback asked to stop */
	H2_FAIL_NO_MEMORY,     /* no buffer could be lent */
};

/* Headers of the call, parsed from the decoded list.  Absent strings are
 * empty, absent numbers -1.  Longer values are truncated to the field. */
struct grpc_headers {
	bool trailers;          /* second header block on the stream */
	bool end_stream;        /* block carried END_STREAM */
	int status;             /* :status (client side) */
	int grpc_status;        /* grpc-status, trailers (or trailers-only) */
	char method[8];
	char path[64];
	char authority[64];
	char content_type[48];
	char grpc_encoding[16];         /* e.g. "gzip", "identity" */
	char grpc_accept_encoding[48];
	char user_agent[128];
	char grpc_message[128];
};

/* All three callbacks must be set.  Returning non-zero from on_headers or
 * on_message fails the connection with H2_FAIL_CALLBACK.  They may call
 * the sending functions below. */
struct h2_callbacks {
	/* Request headers (server), response headers or trailers (client). */
	int (*on_headers)(void *ctx, const struct grpc_headers *h);
	/* One complete gRPC message; `compressed` is the wire flag.  msg
	 * points into the connection's reassembly buffer, the bytes given to
	 * h2_recv(), or (inflated) the h2_ctx's scratch: valid only until
	 * the callback returns. */
	int (*on_message)(void *ctx, const uint8_t *msg, size_t len,
	    bool compressed);
	/* The peer ended the call: END_STREAM (code 0), RST_STREAM (its error
	 * code) or GOAWAY (goaway = true, its error code). */
	void (*on_end)(void *ctx, bool goaway, uint32_t code);
};

struct h2_conn {
	struct h2_ctx *shared;       /* the caller's, given to h2_init() */
	enum h2_role role;
	enum h2_state state;
	enum h2_stream_state stream;
	enum h2_fail fail;
	const struct h2_callbacks *cb;
	void *ctx;
	uint32_t stream_id;
	uint32_t peer_max_stream;    /* server: highest stream the peer opened */
	uint32_t preface_seen;       /* bytes of the client preface matched */
	bool peer_gzip;              /* grpc-encoding: gzip on the call */
	bool peer_headers_seen;      /* the peer's first header block arrived */
	bool sent_headers;           /* our request/response headers are out */
	bool table_acked;            /* the peer ACKed our HPACK table size 0 */
	/* h2_end_call() waits for held DATA: trailers (server) or END_STREAM. */
	bool end_pending;
	int end_status;
	const char *end_message;     /* static storage, or NULL */

	/* Peer SETTINGS we honour. */
	uint32_t peer_max_frame;
	uint32_t peer_initial_window;
	uint32_t peer_header_table;
	/* Send windows (may go negative after a SETTINGS change). */
	int64_t send_window_conn;
	int64_t send_window_stream;
	/* Bytes received but not yet returned with WINDOW_UPDATE. */
	uint32_t recv_unacked_conn;
	uint32_t recv_unacked_stream;

	/* Partial frame carried over between h2_recv() calls. */
	size_t rx_len;
	/* HEADERS + CONTINUATION being collected. */
	size_t hdr_len;
	uint32_t hdr_stream;
	uint8_t hdr_flags;
	/* gRPC message being reassembled: 5-byte prefix, then body. */
	size_t msg_len;         /* bytes of prefix + body collected */
	size_t msg_need;        /* body length from the prefix */
	/* Output queue, and DATA held back by flow control. */
	size_t tx_len;
	size_t tx_sent;
	size_t held_len;

	/* Lent buffers, NULL while empty (sizes: see h2.c). */
	struct hpack_decoder *hpack;
	uint8_t *rx;
	uint8_t *hdr;
	uint8_t *msg;
	uint8_t *tx;
	uint8_t *held;
};

/* Start a connection: queues the client preface (client) and our SETTINGS.
 * c must be zeroed memory or h2_free()d: h2_init() does not give buffers
 * back. */
void h2_init(struct h2_conn *c, struct h2_ctx *shared, enum h2_role role,
    const struct h2_callbacks *cb, void *ctx);
/* Give every lent buffer back; c may then be freed or h2_init()ed again.
 * Harmless on a zeroed struct and when called twice. */
void h2_free(struct h2_conn *c);

/* Feed received bytes.  Returns 0, or -1 when the connection must close
 * (c->fail says why; a GOAWAY is queued when one is due: flush h2_out()
 * before closing). */
int h2_recv(struct h2_conn *c, const uint8_t *buf, size_t len);

/* h2_open_call() flags. */
#define H2_ACCEPT_GZIP 1u   /* grpc-accept-encoding: gzip */
#define H2_SEND_GZIP 2u     /* grpc-encoding: gzip (h2_send_gzip allowed) */

/* Client: open the call (HEADERS on stream 1): POST `path`, content-type
 * application/grpc, te: trailers, and the gzip headers `gzip` asks for
 * (H2_ACCEPT_GZIP | H2_SEND_GZIP; `true` means H2_ACCEPT_GZIP). */
int h2_open_call(struct h2_conn *c, const char *authority, const char *path,
    unsigned gzip);
/* Server: answer the request with :status 200 and application/grpc. */
int h2_respond(struct h2_conn *c);
/* Send one uncompressed gRPC message (flag 0) as DATA, split by the peer's
 * max frame size, held back while the windows are closed.  A server that
 * has not called h2_respond() yet responds first.  Returns -1 without
 * failing the connection on misuse (no open stream, too long), and with
 * c->fail = H2_FAIL_TX_FULL when `held` has no room. */
int h2_send_message(struct h2_conn *c, const uint8_t *msg, size_t len);
/* The same for a message the caller already gzip-compressed (flag 1);
 * a client must have opened the call with H2_SEND_GZIP. */
int h2_send_gzip(struct h2_conn *c, const uint8_t *gz, size_t len);
/* End our side of the call: server sends trailers (grpc-status and
 * grpc-message, END_STREAM), client an empty DATA with END_STREAM.
 * grpc_message is NULL or a string with static storage (it may be sent
 * after the call returns); at most H2_GRPC_MESSAGE_MAX bytes of it go out. */
#define H2_GRPC_MESSAGE_MAX 127
int h2_end_call(struct h2_conn *c, int grpc_status, const char *grpc_message);
/* Queue GOAWAY(last stream, code, debug text); the state becomes closing. */
int h2_goaway(struct h2_conn *c, uint32_t code, const char *debug);

/* Bytes waiting to be written, and how many were written.  h2_out_done()
 * also moves held DATA into the freed room (a failure there lands in
 * c->fail). */
const uint8_t *h2_out(const struct h2_conn *c, size_t *len);
void h2_out_done(struct h2_conn *c, size_t n);

const char *h2_fail_name(enum h2_fail f);   /* e.g. "protocol_error" */

#endif
