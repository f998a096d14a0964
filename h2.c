/* h2.c - HTTP/2 (RFC 9113) engine carrying one gRPC call; see h2.h.
 *
 * Received frames are processed in place when they arrive whole; only a
 * frame split across h2_recv() calls is gathered into c->rx.  Likewise a
 * header block or gRPC message is copied (into c->hdr, c->msg) only when
 * it spans frames.  Those buffers, the output queue and the HPACK decoder
 * are lent from free lists while in use (see h2.h).  Stream errors on our single stream are raised as
 * connection errors (RFC 9113 section 5.4.1 allows it): with one call per
 * connection there is nothing left to keep the connection for.
 *
 * The HPACK scratch and the inflate output in the caller's struct h2_ctx
 * are shared by its connections, and each is used only within one
 * h2_recv() call (the inflated message only until on_message returns).
 */
#include "h2.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inflate.h"

enum frame_type {
	FT_DATA = 0x0,
	FT_HEADERS = 0x1,
	FT_PRIORITY = 0x2,
	FT_RST_STREAM = 0x3,
	FT_SETTINGS = 0x4,
	FT_PUSH_PROMISE = 0x5,
	FT_PING = 0x6,
	FT_GOAWAY = 0x7,
	FT_WINDOW_UPDATE = 0x8,
	FT_CONTINUATION = 0x9,
};

enum frame_flag {
	FL_END_STREAM = 0x1,
	FL_ACK = 0x1,
	FL_END_HEADERS = 0x4,
	FL_PADDED = 0x8,
	FL_PRIORITY = 0x20,
};

/* RFC 9113 section 7 error codes. */
enum h2_error_code {
	E_NO_ERROR = 0x0,
	E_PROTOCOL = 0x1,
	E_INTERNAL = 0x2,
	E_FLOW_CONTROL = 0x3,
	E_STREAM_CLOSED = 0x5,
	E_FRAME_SIZE = 0x6,
	E_REFUSED_STREAM = 0x7,
	E_COMPRESSION = 0x9,
	E_ENHANCE_YOUR_CALM = 0xb,
};

enum settings_id {
	S_HEADER_TABLE_SIZE = 0x1,
	S_ENABLE_PUSH = 0x2,
	S_MAX_CONCURRENT_STREAMS = 0x3,
	S_INITIAL_WINDOW_SIZE = 0x4,
	S_MAX_FRAME_SIZE = 0x5,
	S_MAX_HEADER_LIST_SIZE = 0x6,
};

#define FRAME_HEADER_LEN 9
#define GRPC_PREFIX_LEN 5
#define WINDOW_MAX 0x7fffffffu
/* RFC 9113 initial values, in force until the peer's SETTINGS say else. */
#define DEFAULT_WINDOW 65535
#define DEFAULT_HEADER_TABLE 4096
#define FRAME_SIZE_MIN 16384u      /* RFC bounds of SETTINGS_MAX_FRAME_SIZE */
#define FRAME_SIZE_LIMIT 16777215u
/* Our receive window, connection and stream: the RFC default, so the peer
 * never needs our SETTINGS to know it.  Messages are consumed as they arrive,
 * so it is returned once half of it is used. */
#define RECV_WINDOW 65535u
#define RECV_WINDOW_RETURN (RECV_WINDOW / 2)
/* Room in tx that queued DATA leaves free for control frames and trailers. */
#define TX_RESERVE 1024
#define GOAWAY_DEBUG_MAX 64
/* One header block we send; below the smallest legal peer max frame size,
 * so it always fits a single HEADERS frame. */
#define HEADER_OUT_MAX 1024

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof PREFACE - 1)

/* ---- lent buffers ---- */

#define RX_MAX (FRAME_HEADER_LEN + H2_FRAME_MAX)
#define MSG_MAX (GRPC_PREFIX_LEN + GRPC_MESSAGE_MAX)
#define HELD_MAX (GRPC_PREFIX_LEN + GRPC_MESSAGE_MAX)
/* Returned buffers kept per kind for reuse: enough for the connections
 * that are mid-frame at any moment; beyond it they go back to malloc. */
#define POOL_KEEP 64


static void *pool_get(struct h2_pool *p)
{
	void *b = p->head;

	if (b == NULL)
		return malloc(p->size);
	memcpy(&p->head, b, sizeof p->head);
	p->n_free--;
	return b;
}

static void pool_put(struct h2_pool *p, void *b)
{
	if (b == NULL)
		return;
	if (p->n_free >= POOL_KEEP) {
		free(b);
		return;
	}
	memcpy(b, &p->head, sizeof p->head);
	p->head = b;
	p->n_free++;
}

static void pool_init(struct h2_pool *p, size_t size)
{
	p->size = size;
	p->head = NULL;
	p->n_free = 0;
}

static void pool_drain(struct h2_pool *p)
{
	while (p->head != NULL)
		free(pool_get(p));
}

void h2_ctx_init(struct h2_ctx *x)
{
	pool_init(&x->rx, RX_MAX);
	pool_init(&x->hdr, H2_HEADER_BLOCK_MAX);
	pool_init(&x->msg, MSG_MAX);
	pool_init(&x->tx, H2_TX_MAX);
	pool_init(&x->held, HELD_MAX);
	pool_init(&x->hpack, sizeof(struct hpack_decoder));
}

void h2_ctx_free(struct h2_ctx *x)
{
	pool_drain(&x->rx);
	pool_drain(&x->hdr);
	pool_drain(&x->msg);
	pool_drain(&x->tx);
	pool_drain(&x->held);
	pool_drain(&x->hpack);
}

struct frame {
	uint8_t type;
	uint8_t flags;
	uint32_t id;
	const uint8_t *p;
	size_t len;
};

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t frame_payload_len(const uint8_t *hdr)
{
	return (size_t)hdr[0] << 16 | (size_t)hdr[1] << 8 | hdr[2];
}

/* ---- output queue ---- */

/* Free bytes at the end of tx, after moving the unsent bytes to the front. */
static size_t tx_room(struct h2_conn *c)
{
	if (c->tx_sent > 0) {
		memmove(c->tx, c->tx + c->tx_sent, c->tx_len - c->tx_sent);
		c->tx_len -= c->tx_sent;
		c->tx_sent = 0;
	}
	return H2_TX_MAX - c->tx_len;
}

static bool lend(struct h2_conn *c, uint8_t **buf, struct h2_pool *p);

/* Append one frame if it fits; no side effect when it does not. */
static bool tx_put(struct h2_conn *c, uint8_t type, uint8_t flags,
    uint32_t id, const uint8_t *payload, size_t len)
{
	if (tx_room(c) < FRAME_HEADER_LEN + len || !lend(c, &c->tx, &c->shared->tx))
		return false;
	uint8_t *p = c->tx + c->tx_len;
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	put_u32(p + 5, id);
	if (len > 0)
		memcpy(p + FRAME_HEADER_LEN, payload, len);
	c->tx_len += FRAME_HEADER_LEN + len;
	return true;
}

static int set_fail(struct h2_conn *c, enum h2_fail f)
{
	if (c->fail == H2_FAIL_NONE)
		c->fail = f;
	c->state = H2_CLOSING;
	return -1;
}

/* Make sure *buf is lent; false (and the connection failed) if not. */
static bool lend(struct h2_conn *c, uint8_t **buf, struct h2_pool *p)
{
	if (*buf == NULL && (*buf = pool_get(p)) == NULL) {
		set_fail(c, H2_FAIL_NO_MEMORY);
		return false;
	}
	return true;
}

static void give_back(uint8_t **buf, struct h2_pool *p)
{
	pool_put(p, *buf);
	*buf = NULL;
}

static int queue_frame(struct h2_conn *c, uint8_t type, uint8_t flags,
    uint32_t id, const uint8_t *payload, size_t len)
{
	return tx_put(c, type, flags, id, payload, len) ? 0 :
	    set_fail(c, H2_FAIL_TX_FULL);
}

/* The last peer-initiated stream we processed (GOAWAY's first field). */
static uint32_t last_peer_stream(const struct h2_conn *c)
{
	return c->role == H2_SERVER && c->stream != H2_STREAM_IDLE ?
	    c->stream_id : 0;
}

static bool put_goaway(struct h2_conn *c, uint32_t code, const char *debug)
{
	uint8_t p[8 + GOAWAY_DEBUG_MAX];
	size_t n = debug ? min_size(strlen(debug), GOAWAY_DEBUG_MAX) : 0;

	put_u32(p, last_peer_stream(c));
	put_u32(p + 4, code);
	if (n > 0)
		memcpy(p + 8, debug, n);
	return tx_put(c, FT_GOAWAY, 0, 0, p, 8 + n);
}

/* Connection error: record why, queue GOAWAY(code) if there is room. */
static int conn_error(struct h2_conn *c, enum h2_fail f, uint32_t code)
{
	if (c->fail == H2_FAIL_NONE) {
		c->fail = f;
		(void)put_goaway(c, code, NULL);
	}
	c->state = H2_CLOSING;
	return -1;
}

static int protocol_error(struct h2_conn *c)
{
	return conn_error(c, H2_FAIL_PROTOCOL, E_PROTOCOL);
}

static int frame_size_error(struct h2_conn *c)
{
	return conn_error(c, H2_FAIL_FRAME_SIZE, E_FRAME_SIZE);
}

static int callback_stop(struct h2_conn *c)
{
	return conn_error(c, H2_FAIL_CALLBACK, E_NO_ERROR);
}

static size_t put_setting(uint8_t *p, size_t n, uint16_t id, uint32_t v)
{
	p[n] = (uint8_t)(id >> 8);
	p[n + 1] = (uint8_t)id;
	put_u32(p + n + 2, v);
	return n + 6;
}

static void queue_our_settings(struct h2_conn *c)
{
	uint8_t p[6 * 6];
	size_t n = 0;

	/* Table size 0: once the peer has ACKed it, every header block it
	 * sends starts by emptying its table (RFC 7541 4.2), so we keep no
	 * 4.9 KB decoder per connection between blocks. */
	n = put_setting(p, n, S_HEADER_TABLE_SIZE, 0);
	if (c->role == H2_CLIENT)
		n = put_setting(p, n, S_ENABLE_PUSH, 0);
	n = put_setting(p, n, S_MAX_CONCURRENT_STREAMS, 1);
	n = put_setting(p, n, S_INITIAL_WINDOW_SIZE, RECV_WINDOW);
	n = put_setting(p, n, S_MAX_FRAME_SIZE, H2_FRAME_MAX);
	n = put_setting(p, n, S_MAX_HEADER_LIST_SIZE, H2_HEADER_LIST_MAX);
	(void)tx_put(c, FT_SETTINGS, 0, 0, p, n);
}

void h2_init(struct h2_conn *c, struct h2_ctx *shared, enum h2_role role,
    const struct h2_callbacks *cb, void *ctx)
{
	*c = (struct h2_conn){
		.shared = shared,
		.role = role,
		.state = role == H2_SERVER ? H2_WAIT_PREFACE : H2_WAIT_SETTINGS,
		.stream = H2_STREAM_IDLE,
		.fail = H2_FAIL_NONE,
		.cb = cb,
		.ctx = ctx,
		.peer_max_frame = FRAME_SIZE_MIN,
		.peer_initial_window = DEFAULT_WINDOW,
		.peer_header_table = DEFAULT_HEADER_TABLE,
		.send_window_conn = DEFAULT_WINDOW,
		.send_window_stream = DEFAULT_WINDOW,
	};
	if (role == H2_CLIENT && lend(c, &c->tx, &c->shared->tx)) {
		memcpy(c->tx, PREFACE, PREFACE_LEN);
		c->tx_len = PREFACE_LEN;
	}
	queue_our_settings(c);
}

void h2_free(struct h2_conn *c)
{
	if (c->shared == NULL)   /* zeroed: never h2_init()ed, holds nothing */
		return;
	pool_put(&c->shared->hpack, c->hpack);
	c->hpack = NULL;
	give_back(&c->rx, &c->shared->rx);
	give_back(&c->hdr, &c->shared->hdr);
	give_back(&c->msg, &c->shared->msg);
	give_back(&c->tx, &c->shared->tx);
	give_back(&c->held, &c->shared->held);
}

/* ---- stream bookkeeping ---- */

static bool stream_is_ours(const struct h2_conn *c, uint32_t id)
{
	return c->stream != H2_STREAM_IDLE && id == c->stream_id;
}

/* A stream that was never opened: not ours, and (server) not one the peer
 * opened and we refused. */
static bool stream_is_idle(const struct h2_conn *c, uint32_t id)
{
	if (stream_is_ours(c, id))
		return false;
	return !(c->role == H2_SERVER && (id & 1) && id <= c->peer_max_stream);
}

static bool remote_open(const struct h2_conn *c)
{
	return c->stream == H2_STREAM_OPEN ||
	    c->stream == H2_STREAM_HALF_CLOSED_LOCAL;
}

static bool local_open(const struct h2_conn *c)
{
	return c->stream == H2_STREAM_OPEN ||
	    c->stream == H2_STREAM_HALF_CLOSED_REMOTE;
}

static void open_our_stream(struct h2_conn *c, uint32_t id)
{
	c->stream_id = id;
	c->stream = H2_STREAM_OPEN;
	c->send_window_stream = c->peer_initial_window;
	c->recv_unacked_stream = 0;
}

/* The peer sent END_STREAM. */
static int end_remote(struct h2_conn *c)
{
	if (c->msg_len != 0)    /* the stream ended inside a gRPC message */
		return protocol_error(c);
	c->stream = c->stream == H2_STREAM_OPEN ?
	    H2_STREAM_HALF_CLOSED_REMOTE : H2_STREAM_CLOSED;
	c->cb->on_end(c->ctx, false, 0);
	return 0;
}

/* We sent END_STREAM. */
static void end_local(struct h2_conn *c)
{
	c->end_pending = false;
	c->stream = c->stream == H2_STREAM_OPEN ?
	    H2_STREAM_HALF_CLOSED_LOCAL : H2_STREAM_CLOSED;
}

/* ---- sending ---- */

struct header_block {
	uint8_t buf[HEADER_OUT_MAX];
	size_t len;
	bool overflow;
};

static void add_field(struct header_block *b, const char *name,
    const char *value)
{
	int n = hpack_encode_field(b->buf + b->len, sizeof b->buf - b->len,
	    name, value);
	if (n < 0)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

static int queue_headers(struct h2_conn *c, const struct header_block *b,
    uint8_t flags)
{
	if (b->overflow)
		return -1;
	return queue_frame(c, FT_HEADERS, FL_END_HEADERS | flags, c->stream_id,
	    b->buf, b->len);
}

/* gRPC percent-encoding of grpc-message: bytes outside 0x20..0x7e, and '%'.
 * out has room for 3 * H2_GRPC_MESSAGE_MAX + 1. */
static void percent_encode(char *out, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *end = in + strnlen(in, H2_GRPC_MESSAGE_MAX);

	for (; in < end; in++) {
		unsigned char ch = (unsigned char)*in;
		if (ch < 0x20 || ch > 0x7e || ch == '%') {
			*out++ = '%';
			*out++ = hex[ch >> 4];
			*out++ = hex[ch & 0xf];
		} else {
			*out++ = (char)ch;
		}
	}
	*out = '\0';
}

/* Server trailers (or a trailers-only response), END_STREAM. */
static int send_trailers(struct h2_conn *c)
{
	struct header_block b = { .len = 0, .overflow = false };
	char status[16];
	char message[3 * H2_GRPC_MESSAGE_MAX + 1];

	if (!c->sent_headers) {
		add_field(&b, ":status", "200");
		add_field(&b, "content-type", "application/grpc");
		c->sent_headers = true;
	}
	(void)snprintf(status, sizeof status, "%d", c->end_status);
	add_field(&b, "grpc-status", status);
	if (c->end_message != NULL && c->end_message[0] != '\0') {
		percent_encode(message, c->end_message);
		add_field(&b, "grpc-message", message);
	}
	return queue_headers(c, &b, FL_END_STREAM);
}

static int send_end_stream(struct h2_conn *c)
{
	int r = c->role == H2_SERVER ? send_trailers(c) :
	    queue_frame(c, FT_DATA, FL_END_STREAM, c->stream_id, NULL, 0);
	if (r == 0)
		end_local(c);
	return r;
}

/* Size of the next DATA frame from held: what the windows, the peer's max
 * frame size and the room in tx allow. */
static size_t next_data_chunk(struct h2_conn *c, size_t left)
{
	size_t room = tx_room(c);
	int64_t window = c->send_window_conn < c->send_window_stream ?
	    c->send_window_conn : c->send_window_stream;

	if (window <= 0 || room <= FRAME_HEADER_LEN + TX_RESERVE)
		return 0;
	left = min_size(left, c->peer_max_frame);
	left = min_size(left, (size_t)window);
	return min_size(left, room - FRAME_HEADER_LEN - TX_RESERVE);
}

/* Send what the windows allow of held, then the pending END_STREAM. */
static int flush_held(struct h2_conn *c)
{
	size_t off = 0;
	size_t n;

	if (!local_open(c))
		return 0;
	while (c->held_len > off &&
	    (n = next_data_chunk(c, c->held_len - off)) > 0 &&
	    tx_put(c, FT_DATA, 0, c->stream_id, c->held + off, n)) {
		c->send_window_conn -= (int64_t)n;
		c->send_window_stream -= (int64_t)n;
		off += n;
	}
	if (off > 0) {
		memmove(c->held, c->held + off, c->held_len - off);
		c->held_len -= off;
	}
	if (c->held_len == 0)
		give_back(&c->held, &c->shared->held);
	if (c->fail != H2_FAIL_NONE)
		return -1;
	if (c->held_len == 0 && c->end_pending)
		return send_end_stream(c);
	return 0;
}

int h2_respond(struct h2_conn *c)
{
	struct header_block b = { .len = 0, .overflow = false };

	if (c->fail != H2_FAIL_NONE || c->role != H2_SERVER ||
	    !local_open(c) || c->sent_headers)
		return -1;
	add_field(&b, ":status", "200");
	add_field(&b, "content-type", "application/grpc");
	add_field(&b, "grpc-accept-encoding", "gzip");
	if (queue_headers(c, &b, 0) < 0)
		return -1;
	c->sent_headers = true;
	return 0;
}

int h2_open_call(struct h2_conn *c, const char *authority, const char *path,
    unsigned gzip)
{
	struct header_block b = { .len = 0, .overflow = false };

	if (c->fail != H2_FAIL_NONE || c->role != H2_CLIENT ||
	    c->stream != H2_STREAM_IDLE || c->state == H2_CLOSING)
		return -1;
	add_field(&b, ":method", "POST");
	add_field(&b, ":scheme", "http");
	add_field(&b, ":path", path);
	add_field(&b, ":authority", authority);
	add_field(&b, "content-type", "application/grpc");
	add_field(&b, "te", "trailers");
	if (gzip & H2_ACCEPT_GZIP)
		add_field(&b, "grpc-accept-encoding", "gzip");
	if (gzip & H2_SEND_GZIP)
		add_field(&b, "grpc-encoding", "gzip");
	if (b.overflow)
		return -1;
	open_our_stream(c, 1);
	if (queue_headers(c, &b, 0) < 0)
		return -1;
	c->sent_headers = true;
	return 0;
}

/* Queue one gRPC message (flag, length, body) behind the held DATA. */
static int queue_message(struct h2_conn *c, uint8_t flag, const uint8_t *msg,
    size_t len)
{
	if (c->fail != H2_FAIL_NONE || !local_open(c) || c->end_pending ||
	    len > GRPC_MESSAGE_MAX)
		return -1;
	if (!c->sent_headers && h2_respond(c) < 0)
		return -1;
	if (HELD_MAX - c->held_len < GRPC_PREFIX_LEN + len)
		return set_fail(c, H2_FAIL_TX_FULL);
	if (!lend(c, &c->held, &c->shared->held))
		return -1;
	c->held[c->held_len] = flag;
	put_u32(c->held + c->held_len + 1, (uint32_t)len);
	if (len > 0)
		memcpy(c->held + c->held_len + GRPC_PREFIX_LEN, msg, len);
	c->held_len += GRPC_PREFIX_LEN + len;
	return flush_held(c);
}

int h2_send_message(struct h2_conn *c, const uint8_t *msg, size_t len)
{
	return queue_message(c, 0, msg, len);
}

int h2_send_gzip(struct h2_conn *c, const uint8_t *gz, size_t len)
{
	return queue_message(c, 1, gz, len);
}

int h2_end_call(struct h2_conn *c, int grpc_status, const char *grpc_message)
{
	if (c->fail != H2_FAIL_NONE || !local_open(c) || c->end_pending)
		return -1;
	c->end_status = grpc_status;
	c->end_message = grpc_message;
	c->end_pending = true;
	return flush_held(c);
}

int h2_goaway(struct h2_conn *c, uint32_t code, const char *debug)
{
	c->state = H2_CLOSING;
	return put_goaway(c, code, debug) ? 0 : set_fail(c, H2_FAIL_TX_FULL);
}

const uint8_t *h2_out(const struct h2_conn *c, size_t *len)
{
	static const uint8_t nothing[1];

	*len = c->tx_len - c->tx_sent;
	return c->tx != NULL ? c->tx + c->tx_sent : nothing;
}

void h2_out_done(struct h2_conn *c, size_t n)
{
	c->tx_sent += min_size(n, c->tx_len - c->tx_sent);
	if (c->tx_sent == c->tx_len) {
		c->tx_len = 0;
		c->tx_sent = 0;
		give_back(&c->tx, &c->shared->tx);
	}
	if (c->fail == H2_FAIL_NONE)
		(void)flush_held(c);   /* a failure is recorded in c->fail */
}

/* ---- receiving: gRPC messages ---- */

/* Check a 5-byte message prefix; the body length goes to c->msg_need. */
static int start_message(struct h2_conn *c, const uint8_t *prefix)
{
	uint8_t flag = prefix[0];
	uint32_t len = get_u32(prefix + 1);

	if (flag > 1)
		return protocol_error(c);
	if (len > GRPC_MESSAGE_MAX)
		return conn_error(c, H2_FAIL_MESSAGE_SIZE, E_ENHANCE_YOUR_CALM);
	if (flag == 1 && !c->peer_gzip)
		return conn_error(c, H2_FAIL_ENCODING, E_PROTOCOL);
	c->msg_need = len;
	return 0;
}

static int deliver_message(struct h2_conn *c, uint8_t flag,
    const uint8_t *body, size_t len)
{
	bool compressed = flag == 1;

	if (compressed) {
		size_t out_len;
		if (inflate_gzip(body, len, c->shared->inflated,
		    sizeof c->shared->inflated,
		    &out_len) != INFLATE_OK)
			return conn_error(c, H2_FAIL_GZIP, E_INTERNAL);
		body = c->shared->inflated;
		len = out_len;
	}
	if (c->cb->on_message(c->ctx, body, len, compressed) != 0)
		return callback_stop(c);
	return 0;
}

/* Bytes of one whole message at the start of p (prefix + body), or 0 if
 * p holds only part of one. */
static size_t whole_message(const uint8_t *p, size_t n)
{
	if (n < GRPC_PREFIX_LEN)
		return 0;
	size_t len = get_u32(p + 1);
	return len <= n - GRPC_PREFIX_LEN ? GRPC_PREFIX_LEN + len : 0;
}

/* Copy the next piece of a message that spans DATA frames into c->msg;
 * returns the bytes taken, or 0 when the connection failed. */
static size_t gather_message(struct h2_conn *c, const uint8_t *p, size_t n)
{
	bool in_prefix = c->msg_len < GRPC_PREFIX_LEN;
	size_t goal = in_prefix ? GRPC_PREFIX_LEN : GRPC_PREFIX_LEN + c->msg_need;
	size_t k = min_size(goal - c->msg_len, n);

	if (!lend(c, &c->msg, &c->shared->msg))
		return 0;
	memcpy(c->msg + c->msg_len, p, k);
	c->msg_len += k;
	if (in_prefix && c->msg_len == GRPC_PREFIX_LEN &&
	    start_message(c, c->msg) < 0)
		return 0;
	if (c->msg_len == GRPC_PREFIX_LEN + c->msg_need &&
	    c->msg_len >= GRPC_PREFIX_LEN) {
		c->msg_len = 0;
		int r = deliver_message(c, c->msg[0], c->msg + GRPC_PREFIX_LEN,
		    c->msg_need);
		give_back(&c->msg, &c->shared->msg);
		if (r < 0)
			return 0;
	}
	return k;
}

/* Split DATA into gRPC messages (5-byte prefix, then the body): whole ones
 * are delivered in place, the rest gathered. */
static int feed_messages(struct h2_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = c->msg_len == 0 ? whole_message(p, n) : 0;

		if (k > 0) {
			if (start_message(c, p) < 0 ||
			    deliver_message(c, p[0], p + GRPC_PREFIX_LEN,
			    k - GRPC_PREFIX_LEN) < 0)
				return -1;
		} else if ((k = gather_message(c, p, n)) == 0) {
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

/* ---- receiving: frames ---- */

/* The payload of a DATA or HEADERS frame without the Pad Length byte and
 * the padding; both kinds belong to a stream, never to stream 0. */
static int stream_payload(struct h2_conn *c, const struct frame *f,
    const uint8_t **p, size_t *n)
{
	if (f->id == 0)
		return protocol_error(c);
	*p = f->p;
	*n = f->len;
	if (!(f->flags & FL_PADDED))
		return 0;
	if (f->len < 1 || f->p[0] >= f->len)
		return protocol_error(c);
	*p = f->p + 1;
	*n = f->len - 1 - f->p[0];
	return 0;
}

/* Give back the receive window once half of it is used.  Called at the end
 * of h2_recv(): the peer cannot have seen a WINDOW_UPDATE we queue while
 * reading its bytes, so everything in one h2_recv() counts against the
 * window granted before, and a peer that overruns it is caught. */
static int return_windows(struct h2_conn *c)
{
	uint8_t p[4];

	if (c->recv_unacked_conn >= RECV_WINDOW_RETURN) {
		put_u32(p, c->recv_unacked_conn);
		c->recv_unacked_conn = 0;
		if (queue_frame(c, FT_WINDOW_UPDATE, 0, 0, p, 4) < 0)
			return -1;
	}
	if (remote_open(c) && c->recv_unacked_stream >= RECV_WINDOW_RETURN) {
		put_u32(p, c->recv_unacked_stream);
		c->recv_unacked_stream = 0;
		if (queue_frame(c, FT_WINDOW_UPDATE, 0, c->stream_id, p, 4) < 0)
			return -1;
	}
	return 0;
}

static int recv_data(struct h2_conn *c, const struct frame *f)
{
	const uint8_t *p;
	size_t n;

	if (stream_payload(c, f, &p, &n) < 0)
		return -1;
	if (c->recv_unacked_conn + f->len > RECV_WINDOW)
		return conn_error(c, H2_FAIL_FLOW_CONTROL, E_FLOW_CONTROL);
	c->recv_unacked_conn += (uint32_t)f->len;
	if (!stream_is_ours(c, f->id))   /* a refused stream: dropped */
		return stream_is_idle(c, f->id) ? protocol_error(c) : 0;
	if (!remote_open(c))
		return conn_error(c, H2_FAIL_PROTOCOL, E_STREAM_CLOSED);
	if (!c->peer_headers_seen)
		return protocol_error(c);
	if (c->recv_unacked_stream + f->len > RECV_WINDOW)
		return conn_error(c, H2_FAIL_FLOW_CONTROL, E_FLOW_CONTROL);
	c->recv_unacked_stream += (uint32_t)f->len;
	if (feed_messages(c, p, n) < 0)
		return -1;
	return (f->flags & FL_END_STREAM) ? end_remote(c) : 0;
}

/* Collects the decoded fields of one header block. */
struct field_sink {
	struct grpc_headers *h;
	bool regular_seen;   /* pseudo-headers must come first */
};

struct header_slot {
	const char *name;
	size_t off;
	size_t size;
};

#define SLOT(name, member) { name, offsetof(struct grpc_headers, member), \
	sizeof(((struct grpc_headers *)0)->member) }

static const struct header_slot header_slots[] = {
	SLOT(":method", method),
	SLOT(":path", path),
	SLOT(":authority", authority),
	SLOT("content-type", content_type),
	SLOT("grpc-encoding", grpc_encoding),
	SLOT("grpc-accept-encoding", grpc_accept_encoding),
	SLOT("user-agent", user_agent),
	SLOT("grpc-message", grpc_message),
};

static bool name_is(const struct hpack_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
	    memcmp(f->name, name, f->name_len) == 0;
}

/* Decimal value of up to 9 digits, or -1. */
static int parse_number(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int on_field(void *ctx, const struct hpack_field *f)
{
	struct field_sink *sink = ctx;
	struct grpc_headers *h = sink->h;
	bool pseudo = f->name_len > 0 && f->name[0] == ':';

	if (pseudo && sink->regular_seen)
		return -1;
	if (!pseudo)
		sink->regular_seen = true;
	for (size_t i = 0; i < sizeof header_slots / sizeof header_slots[0];
	    i++) {
		const struct header_slot *s = &header_slots[i];
		if (name_is(f, s->name)) {
			char *dst = (char *)h + s->off;
			size_t n = min_size(f->value_len, s->size - 1);
			memcpy(dst, f->value, n);
			dst[n] = '\0';
			return 0;
		}
	}
	if (name_is(f, ":status"))
		h->status = parse_number(f->value, f->value_len);
	else if (name_is(f, "grpc-status"))
		h->grpc_status = parse_number(f->value, f->value_len);
	else if (pseudo && !name_is(f, ":scheme"))
		return -1;   /* unknown pseudo-header: malformed */
	return 0;
}

/* The decoder is lent while its table holds entries (or its size was
 * changed); a fresh one is made for a block when there is none. */
static bool lend_decoder(struct h2_conn *c)
{
	if (c->hpack != NULL)
		return true;
	if ((c->hpack = pool_get(&c->shared->hpack)) == NULL) {
		set_fail(c, H2_FAIL_NO_MEMORY);
		return false;
	}
	/* Before the ACK the peer may still use the RFC default table. */
	hpack_decoder_init(c->hpack, c->table_acked ? 0 : HPACK_TABLE_MAX);
	return true;
}

static int decode_header_block(struct h2_conn *c, const uint8_t *block,
    size_t len, struct grpc_headers *h)
{
	struct field_sink sink = { h, false };
	int r;

	memset(h, 0, sizeof *h);
	h->status = -1;
	h->grpc_status = -1;
	if (!lend_decoder(c))
		return -1;
	r = hpack_decode(c->hpack, block, len, c->shared->hpack_scratch,
	    sizeof c->shared->hpack_scratch, H2_HEADER_LIST_MAX, on_field,
	    &sink);
	if (r == HPACK_OK && hpack_decoder_is_fresh(c->hpack)) {
		pool_put(&c->shared->hpack, c->hpack);
		c->hpack = NULL;
	}
	if (r == HPACK_OK)
		return 0;
	if (r == HPACK_E_CALLBACK)
		return protocol_error(c);
	if (r == HPACK_E_LIST_SIZE || r == HPACK_E_TOO_LONG)
		return conn_error(c, H2_FAIL_HEADERS, E_ENHANCE_YOUR_CALM);
	return conn_error(c, H2_FAIL_COMPRESSION, E_COMPRESSION);
}

/* A header block on our stream: request/response headers, or trailers. */
static int headers_on_stream(struct h2_conn *c, struct grpc_headers *h)
{
	if (!remote_open(c))
		return conn_error(c, H2_FAIL_PROTOCOL, E_STREAM_CLOSED);
	h->trailers = c->peer_headers_seen;
	if (h->trailers && !h->end_stream)
		return protocol_error(c);
	if (!h->trailers)
		c->peer_gzip = strcmp(h->grpc_encoding, "gzip") == 0;
	c->peer_headers_seen = true;
	if (c->cb->on_headers(c->ctx, h) != 0)
		return callback_stop(c);
	return h->end_stream ? end_remote(c) : 0;
}

/* Server: a request on a new stream; only the first one is served. */
static int new_peer_stream(struct h2_conn *c, uint32_t id,
    struct grpc_headers *h)
{
	uint8_t code[4];

	c->peer_max_stream = id;
	if (c->stream == H2_STREAM_IDLE && c->state != H2_CLOSING) {
		open_our_stream(c, id);
		return headers_on_stream(c, h);
	}
	put_u32(code, E_REFUSED_STREAM);
	return queue_frame(c, FT_RST_STREAM, 0, id, code, 4);
}

static int header_block_done(struct h2_conn *c, uint32_t id,
    const uint8_t *block, size_t len)
{
	struct grpc_headers h;

	/* Decode even a block we drop: it keeps the HPACK table in sync. */
	if (decode_header_block(c, block, len, &h) < 0)
		return -1;
	h.end_stream = (c->hdr_flags & FL_END_STREAM) != 0;
	if (stream_is_ours(c, id))
		return headers_on_stream(c, &h);
	if (c->role == H2_SERVER && (id & 1) && id > c->peer_max_stream)
		return new_peer_stream(c, id, &h);
	if (stream_is_idle(c, id))
		return protocol_error(c);
	return 0;   /* a stream we refused */
}

/* A block in one HEADERS frame is decoded in place; one that continues
 * is gathered into c->hdr. */
static int add_header_fragment(struct h2_conn *c, uint32_t id,
    const uint8_t *p, size_t n, uint8_t flags)
{
	if (n > H2_HEADER_BLOCK_MAX - c->hdr_len)
		return conn_error(c, H2_FAIL_HEADERS, E_ENHANCE_YOUR_CALM);
	if ((flags & FL_END_HEADERS) && c->hdr_len == 0) {
		c->hdr_stream = 0;
		return header_block_done(c, id, p, n);
	}
	/* An empty fragment lends nothing: if the block's bytes then all come
	 * in its last frame, that frame is decoded in place. */
	if (n > 0) {
		if (!lend(c, &c->hdr, &c->shared->hdr))
			return -1;
		memcpy(c->hdr + c->hdr_len, p, n);
		c->hdr_len += n;
	}
	if (!(flags & FL_END_HEADERS)) {
		c->hdr_stream = id;   /* CONTINUATION must follow */
		return 0;
	}
	c->hdr_stream = 0;
	int r = header_block_done(c, id, c->hdr, c->hdr_len);
	c->hdr_len = 0;
	give_back(&c->hdr, &c->shared->hdr);
	return r;
}

static int recv_headers(struct h2_conn *c, const struct frame *f)
{
	const uint8_t *p;
	size_t n;

	if (stream_payload(c, f, &p, &n) < 0)
		return -1;
	if (f->flags & FL_PRIORITY) {
		/* Exclusive bit + dependency, weight; a stream may not depend
		 * on itself. */
		if (n < 5 || (get_u32(p) & WINDOW_MAX) == f->id)
			return protocol_error(c);
		p += 5;
		n -= 5;
	}
	c->hdr_len = 0;
	c->hdr_flags = f->flags;
	return add_header_fragment(c, f->id, p, n, f->flags);
}

static int recv_continuation(struct h2_conn *c, const struct frame *f)
{
	if (c->hdr_stream == 0)
		return protocol_error(c);
	return add_header_fragment(c, f->id, f->p, f->len, f->flags);
}

static int recv_priority(struct h2_conn *c, const struct frame *f)
{
	if (f->id == 0)
		return protocol_error(c);
	return f->len == 5 ? 0 : frame_size_error(c);
}

static int recv_rst_stream(struct h2_conn *c, const struct frame *f)
{
	if (f->len != 4)
		return frame_size_error(c);
	if (f->id == 0 || stream_is_idle(c, f->id))
		return protocol_error(c);
	if (stream_is_ours(c, f->id) && c->stream != H2_STREAM_CLOSED) {
		c->stream = H2_STREAM_CLOSED;
		c->held_len = 0;
		give_back(&c->held, &c->shared->held);
		c->end_pending = false;
		c->cb->on_end(c->ctx, false, get_u32(f->p));
	}
	return 0;
}

static int grow_window(struct h2_conn *c, int64_t *window, uint32_t inc)
{
	if (*window + inc > (int64_t)WINDOW_MAX)
		return conn_error(c, H2_FAIL_FLOW_CONTROL, E_FLOW_CONTROL);
	*window += inc;
	return 0;
}

static int apply_setting(struct h2_conn *c, uint16_t id, uint32_t v)
{
	switch (id) {
	case S_HEADER_TABLE_SIZE:
		/* Only bounds the peer's decoder table: we never index. */
		c->peer_header_table = v;
		return 0;
	case S_ENABLE_PUSH:
		/* Only a client may enable push; we never push anyway. */
		return v > 1 || (v == 1 && c->role == H2_CLIENT) ?
		    protocol_error(c) : 0;
	case S_INITIAL_WINDOW_SIZE:
		if (v > WINDOW_MAX)
			return conn_error(c, H2_FAIL_FLOW_CONTROL,
			    E_FLOW_CONTROL);
		/* The change applies to the open stream's window (6.9.2). */
		if (c->stream != H2_STREAM_IDLE) {
			int64_t w = c->send_window_stream +
			    (int64_t)v - (int64_t)c->peer_initial_window;
			if (w > (int64_t)WINDOW_MAX)
				return conn_error(c, H2_FAIL_FLOW_CONTROL,
				    E_FLOW_CONTROL);
			c->send_window_stream = w;
		}
		c->peer_initial_window = v;
		return 0;
	case S_MAX_FRAME_SIZE:
		if (v < FRAME_SIZE_MIN || v > FRAME_SIZE_LIMIT)
			return protocol_error(c);
		c->peer_max_frame = v;
		return 0;
	default:
		/* MAX_CONCURRENT_STREAMS (we open one), MAX_HEADER_LIST_SIZE
		 * (advisory) and unknown ids. */
		return 0;
	}
}

/* Our SETTINGS (the only ones we send) are in force at the peer: its
 * next header block must shrink its table to 0, so the entries of the
 * earlier ones are dead.  No block is half-received here: nothing may come
 * between HEADERS and its CONTINUATIONs. */
static int settings_acked(struct h2_conn *c)
{
	c->table_acked = true;
	pool_put(&c->shared->hpack, c->hpack);
	c->hpack = NULL;
	return 0;
}

static int recv_settings(struct h2_conn *c, const struct frame *f)
{
	if (f->id != 0)
		return protocol_error(c);
	if (f->flags & FL_ACK)
		return f->len == 0 ? settings_acked(c) : frame_size_error(c);
	if (f->len % 6 != 0)
		return frame_size_error(c);
	for (size_t i = 0; i < f->len; i += 6) {
		uint16_t id = (uint16_t)(f->p[i] << 8 | f->p[i + 1]);
		if (apply_setting(c, id, get_u32(f->p + i + 2)) < 0)
			return -1;
	}
	if (c->state == H2_WAIT_SETTINGS)
		c->state = H2_OPEN;
	if (queue_frame(c, FT_SETTINGS, FL_ACK, 0, NULL, 0) < 0)
		return -1;
	return flush_held(c);
}

static int recv_ping(struct h2_conn *c, const struct frame *f)
{
	if (f->id != 0)
		return protocol_error(c);
	if (f->len != 8)
		return frame_size_error(c);
	if (f->flags & FL_ACK)
		return 0;
	return queue_frame(c, FT_PING, FL_ACK, 0, f->p, 8);
}

static int recv_goaway(struct h2_conn *c, const struct frame *f)
{
	if (f->id != 0)
		return protocol_error(c);
	if (f->len < 8)
		return frame_size_error(c);
	c->state = H2_CLOSING;
	c->cb->on_end(c->ctx, true, get_u32(f->p + 4));
	return 0;
}

static int recv_window_update(struct h2_conn *c, const struct frame *f)
{
	uint32_t inc;

	if (f->len != 4)
		return frame_size_error(c);
	inc = get_u32(f->p) & WINDOW_MAX;
	if (f->id != 0 && !stream_is_ours(c, f->id))
		return stream_is_idle(c, f->id) ? protocol_error(c) : 0;
	if (inc == 0)
		return protocol_error(c);
	if (grow_window(c, f->id == 0 ? &c->send_window_conn :
	    &c->send_window_stream, inc) < 0)
		return -1;
	return flush_held(c);
}

static int process_frame(struct h2_conn *c, const struct frame *f)
{
	/* A header block is one unit: nothing may interleave (6.10). */
	if (c->hdr_stream != 0 &&
	    (f->type != FT_CONTINUATION || f->id != c->hdr_stream))
		return protocol_error(c);
	if (c->state == H2_WAIT_SETTINGS &&
	    (f->type != FT_SETTINGS || (f->flags & FL_ACK)))
		return protocol_error(c);
	switch (f->type) {
	case FT_DATA:
		return recv_data(c, f);
	case FT_HEADERS:
		return recv_headers(c, f);
	case FT_PRIORITY:
		return recv_priority(c, f);
	case FT_RST_STREAM:
		return recv_rst_stream(c, f);
	case FT_SETTINGS:
		return recv_settings(c, f);
	case FT_PUSH_PROMISE:
		return protocol_error(c);   /* push is never enabled */
	case FT_PING:
		return recv_ping(c, f);
	case FT_GOAWAY:
		return recv_goaway(c, f);
	case FT_WINDOW_UPDATE:
		return recv_window_update(c, f);
	case FT_CONTINUATION:
		return recv_continuation(c, f);
	default:
		return 0;   /* unknown frame types are ignored (5.5) */
	}
}

/* Match the client preface byte by byte; fail on the first wrong one. */
static size_t recv_preface(struct h2_conn *c, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && c->preface_seen < PREFACE_LEN) {
		if (buf[n] != (uint8_t)PREFACE[c->preface_seen]) {
			conn_error(c, H2_FAIL_PREFACE, E_PROTOCOL);
			return n;
		}
		n++;
		c->preface_seen++;
	}
	if (c->preface_seen == PREFACE_LEN)
		c->state = H2_WAIT_SETTINGS;
	return n;
}

/* Process the frame that starts at p (header and whole payload). */
static void process_frame_at(struct h2_conn *c, const uint8_t *p)
{
	struct frame f = {
		.type = p[3],
		.flags = p[4],
		.id = get_u32(p + 5) & WINDOW_MAX,
		.p = p + FRAME_HEADER_LEN,
		.len = frame_payload_len(p),
	};
	(void)process_frame(c, &f);   /* failures land in c->fail */
}

/* Process one frame in place when buf holds it whole; otherwise gather it
 * into rx and process it once complete.  Returns the bytes taken. */
static size_t recv_frame_bytes(struct h2_conn *c, const uint8_t *buf,
    size_t len)
{
	if (c->rx_len == 0 && len >= FRAME_HEADER_LEN &&
	    frame_payload_len(buf) <= H2_FRAME_MAX &&
	    len - FRAME_HEADER_LEN >= frame_payload_len(buf)) {
		process_frame_at(c, buf);
		return FRAME_HEADER_LEN + frame_payload_len(buf);
	}
	size_t want = c->rx_len < FRAME_HEADER_LEN ? FRAME_HEADER_LEN :
	    FRAME_HEADER_LEN + frame_payload_len(c->rx);
	size_t n = min_size(want - c->rx_len, len);

	if (!lend(c, &c->rx, &c->shared->rx))
		return len;
	memcpy(c->rx + c->rx_len, buf, n);
	c->rx_len += n;
	if (c->rx_len < FRAME_HEADER_LEN)
		return n;
	if (frame_payload_len(c->rx) > H2_FRAME_MAX) {
		frame_size_error(c);
		return n;
	}
	if (c->rx_len == FRAME_HEADER_LEN + frame_payload_len(c->rx)) {
		c->rx_len = 0;
		process_frame_at(c, c->rx);
		give_back(&c->rx, &c->shared->rx);
	}
	return n;
}

int h2_recv(struct h2_conn *c, const uint8_t *buf, size_t len)
{
	while (len > 0 && c->fail == H2_FAIL_NONE) {
		size_t n = c->state == H2_WAIT_PREFACE ?
		    recv_preface(c, buf, len) : recv_frame_bytes(c, buf, len);
		buf += n;
		len -= n;
	}
	if (c->fail == H2_FAIL_NONE)
		(void)return_windows(c);
	return c->fail == H2_FAIL_NONE ? 0 : -1;
}

const char *h2_fail_name(enum h2_fail f)
{
	switch (f) {
	case H2_FAIL_NONE: return "none";
	case H2_FAIL_PREFACE: return "bad_preface";
	case H2_FAIL_PROTOCOL: return "protocol_error";
	case H2_FAIL_FRAME_SIZE: return "frame_size_error";
	case H2_FAIL_COMPRESSION: return "compression_error";
	case H2_FAIL_HEADERS: return "headers_too_large";
	case H2_FAIL_FLOW_CONTROL: return "flow_control_error";
	case H2_FAIL_MESSAGE_SIZE: return "message_too_large";
	case H2_FAIL_GZIP: return "gzip_error";
	case H2_FAIL_ENCODING: return "bad_encoding";
	case H2_FAIL_TX_FULL: return "tx_full";
	case H2_FAIL_CALLBACK: return "callback_stop";
	case H2_FAIL_NO_MEMORY: return "out_of_memory";
	}
	return "unknown";
}
