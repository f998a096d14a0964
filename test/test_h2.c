/* test_h2.c - the HTTP/2 engine: two engines wired back to back, hand-made
 * hostile frames, and bytes from python's h2 library (test/h2_peer.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "ci_skip.h"
#include "h2.h"
#include "hpack.h"

enum { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4,
	PUSH_PROMISE = 5, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8,
	CONTINUATION = 9 };
enum { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8,
	PRIO = 0x20 };

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define MP "/protowire.P2P/MessageStream"

/* What one engine's callbacks saw. */
struct events {
	int headers;
	struct grpc_headers last_headers;
	int messages;
	size_t bytes;                 /* message bytes, concatenated below */
	uint8_t all[1 << 19];
	size_t last_len;
	bool last_compressed;
	int ends;
	bool end_goaway;
	uint32_t end_code;
	bool stop;                    /* callbacks return non-zero */
};

static struct h2_ctx shared;          /* both engines' pools and scratch */
static struct h2_conn server, client;
static struct events sev, cev;

/* Engines are reused across tests: give back what the last use holds. */
static void reinit(struct h2_conn *c, enum h2_role role,
    const struct h2_callbacks *cb, void *ctx)
{
	h2_free(c);
	h2_init(c, &shared, role, cb, ctx);
}

static int init_shared(void **state)
{
	(void)state;
	h2_ctx_init(&shared);
	return 0;
}

static int free_engines(void **state)
{
	(void)state;
	h2_free(&server);
	h2_free(&client);
	h2_ctx_free(&shared);
	return 0;
}

static int on_headers(void *ctx, const struct grpc_headers *h)
{
	struct events *e = ctx;
	e->headers++;
	e->last_headers = *h;
	return e->stop ? -1 : 0;
}

static int on_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct events *e = ctx;
	assert_true(e->bytes + len <= sizeof e->all);
	if (len > 0)
		memcpy(e->all + e->bytes, msg, len);
	e->bytes += len;
	e->messages++;
	e->last_len = len;
	e->last_compressed = compressed;
	return e->stop ? -1 : 0;
}

static void on_end(void *ctx, bool goaway, uint32_t code)
{
	struct events *e = ctx;
	e->ends++;
	e->end_goaway = goaway;
	e->end_code = code;
}

static const struct h2_callbacks cbs = { on_headers, on_message, on_end };

static uint8_t wire[1 << 18];   /* scratch for bytes in flight */

/* Move what `from` wants sent into `to`, `chunk` bytes per h2_recv (0: all
 * at once).  Returns the bytes moved. */
static size_t pump(struct h2_conn *from, struct h2_conn *to, size_t chunk)
{
	size_t n;
	const uint8_t *p = h2_out(from, &n);

	memcpy(wire, p, n);
	h2_out_done(from, n);
	for (size_t off = 0; off < n;) {
		size_t k = chunk == 0 || chunk > n - off ? n - off : chunk;
		assert_int_equal(h2_recv(to, wire + off, k), 0);
		off += k;
	}
	return n;
}

static void pump_both(size_t chunk)
{
	for (int i = 0; i < 100; i++)
		if (pump(&client, &server, chunk) + pump(&server, &client,
		    chunk) == 0)
			return;
	fail_msg("engines never went quiet");
}

static void reset_events(void)
{
	memset(&sev, 0, sizeof sev);
	memset(&cev, 0, sizeof cev);
}

/* Client and server with the call open and answered. */
static void open_pair(size_t chunk)
{
	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_int_equal(h2_open_call(&client, "127.0.0.1:16111", MP, true),
	    0);
	pump_both(chunk);
	assert_int_equal(server.state, H2_OPEN);
	assert_int_equal(client.state, H2_OPEN);
	assert_int_equal(sev.headers, 1);
	assert_int_equal(h2_respond(&server), 0);
	pump_both(chunk);
	assert_int_equal(cev.headers, 1);
}

/* Pseudo-random bytes (an LCG): gzip cannot shrink them much. */
static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* ---- raw frames for the hostile tests ---- */

static size_t put_frame(uint8_t *out, uint8_t type, uint8_t flags,
    uint32_t id, const void *payload, size_t len)
{
	out[0] = (uint8_t)(len >> 16);
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	out[3] = type;
	out[4] = flags;
	out[5] = (uint8_t)(id >> 24);
	out[6] = (uint8_t)(id >> 16);
	out[7] = (uint8_t)(id >> 8);
	out[8] = (uint8_t)id;
	if (len > 0)
		memcpy(out + 9, payload, len);
	return 9 + len;
}

static int feed_frame(struct h2_conn *c, uint8_t type, uint8_t flags,
    uint32_t id, const void *payload, size_t len)
{
	static uint8_t buf[9 + (1 << 17)];
	size_t n = put_frame(buf, type, flags, id, payload, len);
	return h2_recv(c, buf, n);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A request header block; `gzip` adds grpc-encoding: gzip. */
static size_t request_block(uint8_t *out, size_t cap, bool gzip)
{
	static const char *const f[][2] = {
		{ ":method", "POST" }, { ":scheme", "http" }, { ":path", MP },
		{ ":authority", "10.0.0.1:16111" },
		{ "content-type", "application/grpc" }, { "te", "trailers" },
		{ "user-agent", "test" }, { "grpc-encoding", "gzip" },
	};
	size_t n = 0;
	for (size_t i = 0; i < (gzip ? 8u : 7u); i++) {
		int k = hpack_encode_field(out + n, cap - n, f[i][0], f[i][1]);
		assert_true(k > 0);
		n += (size_t)k;
	}
	return n;
}

/* A server that read the preface and an empty SETTINGS. */
static void server_ready(void)
{
	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	assert_int_equal(h2_recv(&server, (const uint8_t *)PREFACE, 24), 0);
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, NULL, 0), 0);
	assert_int_equal(server.state, H2_OPEN);
}

/* ... and the request headers on stream 1. */
static void server_with_call(bool gzip)
{
	uint8_t block[512];
	server_ready();
	size_t n = request_block(block, sizeof block, gzip);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, block,
	    n), 0);
	assert_int_equal(sev.headers, 1);
}

/* Find the index-th frame of `type` queued in c's output. */
static bool find_out_frame(const struct h2_conn *c, uint8_t type, int index,
    uint32_t *id, const uint8_t **payload, size_t *len, uint8_t *flags)
{
	size_t n;
	const uint8_t *p = h2_out(c, &n);
	size_t off = 0;

	if (c->role == H2_CLIENT && n >= 24 && memcmp(p, PREFACE, 24) == 0)
		off = 24;
	while (off + 9 <= n) {
		size_t flen = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 |
		    p[off + 2];
		if (p[off + 3] == type && index-- == 0) {
			*id = (uint32_t)p[off + 5] << 24 |
			    (uint32_t)p[off + 6] << 16 |
			    (uint32_t)p[off + 7] << 8 | p[off + 8];
			*payload = p + off + 9;
			*len = flen;
			*flags = p[off + 4];
			return true;
		}
		off += 9 + flen;
	}
	return false;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The connection failed with `f` and queued GOAWAY(code). */
static void assert_failed(const struct h2_conn *c, enum h2_fail f,
    uint32_t code)
{
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint8_t flags;

	assert_string_equal(h2_fail_name(c->fail), h2_fail_name(f));
	assert_true(find_out_frame(c, GOAWAY, 0, &id, &p, &len, &flags));
	assert_int_equal(get32(p + 4), code);
}

static size_t gzip_bytes(const uint8_t *in, size_t len, uint8_t *out,
    size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = z.total_out;
	deflateEnd(&z);
	return n;
}

/* A gRPC message (prefix + body) into out. */
static size_t grpc_message(uint8_t *out, uint8_t flag, const uint8_t *body,
    size_t len)
{
	out[0] = flag;
	put32(out + 1, (uint32_t)len);
	if (len > 0)
		memcpy(out + 5, body, len);
	return 5 + len;
}

/* ---- engine against engine ---- */

static void test_call_both_ways(void **state)
{
	(void)state;
	uint8_t a[300], b[5000];
	open_pair(0);

	const struct grpc_headers *h = &sev.last_headers;
	assert_string_equal(h->method, "POST");
	assert_string_equal(h->path, MP);
	assert_string_equal(h->authority, "127.0.0.1:16111");
	assert_string_equal(h->content_type, "application/grpc");
	assert_string_equal(h->grpc_accept_encoding, "gzip");
	assert_false(h->trailers);
	assert_int_equal(cev.last_headers.status, 200);
	assert_int_equal(cev.last_headers.grpc_status, -1);

	fill_pattern(a, sizeof a, 1);
	fill_pattern(b, sizeof b, 2);
	assert_int_equal(h2_send_message(&client, a, sizeof a), 0);
	assert_int_equal(h2_send_message(&server, b, sizeof b), 0);
	assert_int_equal(h2_send_message(&server, NULL, 0), 0);
	pump_both(0);
	assert_int_equal(sev.messages, 1);
	assert_memory_equal(sev.all, a, sizeof a);
	assert_int_equal(cev.messages, 2);
	assert_int_equal(cev.last_len, 0);
	assert_memory_equal(cev.all, b, sizeof b);

	assert_int_equal(h2_end_call(&client, 0, NULL), 0);
	pump_both(0);
	assert_int_equal(sev.ends, 1);
	assert_false(sev.end_goaway);
	assert_int_equal(server.stream, H2_STREAM_HALF_CLOSED_REMOTE);
	assert_int_equal(h2_end_call(&server, 13, "bad 100%\nthing"), 0);
	pump_both(0);
	assert_int_equal(cev.headers, 2);
	assert_true(cev.last_headers.trailers);
	assert_true(cev.last_headers.end_stream);
	assert_int_equal(cev.last_headers.grpc_status, 13);
	assert_string_equal(cev.last_headers.grpc_message,
	    "bad 100%25%0Athing");
	assert_int_equal(cev.ends, 1);
	assert_int_equal(client.stream, H2_STREAM_CLOSED);
	assert_int_equal(server.stream, H2_STREAM_CLOSED);
	assert_int_equal(h2_send_message(&server, a, 1), -1);
	assert_int_equal(server.fail, H2_FAIL_NONE);
}

static void test_byte_at_a_time(void **state)
{
	(void)state;
	static uint8_t m[20000];
	open_pair(1);
	fill_pattern(m, sizeof m, 3);
	assert_int_equal(h2_send_message(&client, m, sizeof m), 0);
	assert_int_equal(h2_send_message(&server, m, 100), 0);
	pump_both(1);
	assert_int_equal(sev.messages, 1);
	assert_memory_equal(sev.all, m, sizeof m);
	assert_int_equal(cev.messages, 1);
	assert_memory_equal(cev.all, m, 100);
}

static void test_trailers_only(void **state)
{
	(void)state;
	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_int_equal(h2_open_call(&client, "h", MP, false), 0);
	pump_both(0);
	assert_int_equal(h2_end_call(&server, 12, "no"), 0);
	pump_both(0);
	assert_int_equal(cev.headers, 1);
	assert_int_equal(cev.last_headers.status, 200);
	assert_int_equal(cev.last_headers.grpc_status, 12);
	assert_true(cev.last_headers.end_stream);
	assert_false(cev.last_headers.trailers);
	assert_int_equal(cev.ends, 1);
}

/* A message larger than the peer's window waits in `held` until the
 * receiver returns the window. */
static void test_flow_control_large_message(void **state)
{
	(void)state;
	static uint8_t m[GRPC_MESSAGE_MAX];
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint8_t flags;

	open_pair(0);
	fill_pattern(m, sizeof m, 4);
	assert_int_equal(h2_send_message(&server, m, sizeof m), 0);
	assert_true(server.held_len > 0);
	/* One way only: the client's WINDOW_UPDATEs stay in its queue. */
	while (pump(&server, &client, 0) > 0)
		;
	assert_int_equal(cev.messages, 0);
	assert_int_equal(server.send_window_conn, 0);
	assert_int_equal(server.held_len, sizeof m + 5 - 65535);
	/* The receiver returned both windows. */
	assert_true(find_out_frame(&client, WINDOW_UPDATE, 0, &id, &p, &len,
	    &flags));
	assert_true(find_out_frame(&client, WINDOW_UPDATE, 1, &id, &p, &len,
	    &flags));
	pump_both(0);
	assert_int_equal(server.held_len, 0);
	assert_int_equal(cev.messages, 1);
	assert_memory_equal(cev.all, m, sizeof m);
}

/* The peer's SETTINGS shrink the stream window; WINDOW_UPDATE reopens it. */
static void test_flow_control_settings_window(void **state)
{
	(void)state;
	uint8_t s[6] = { 0, 4, 0, 0, 0, 10 };
	uint8_t wu[4];
	uint8_t msg[100] = { 0 };

	server_with_call(false);
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, s, 6), 0);
	assert_int_equal(server.send_window_stream, 10);
	assert_int_equal(h2_send_message(&server, msg, sizeof msg), 0);
	assert_int_equal(server.held_len, 105 - 10);
	put32(wu, 95);
	assert_int_equal(feed_frame(&server, WINDOW_UPDATE, 0, 1, wu, 4), 0);
	assert_int_equal(server.held_len, 0);
	assert_int_equal(server.send_window_stream, 0);
}

/* Write everything c queues, as a socket would; returns the DATA payload
 * bytes and the largest DATA frame seen. */
static size_t drain_data(struct h2_conn *c, size_t *largest)
{
	size_t total = 0;
	size_t n;

	*largest = 0;
	while (h2_out(c, &n), n > 0) {
		uint32_t id;
		const uint8_t *p;
		size_t len;
		uint8_t flags;
		for (int i = 0; find_out_frame(c, DATA, i, &id, &p, &len,
		    &flags); i++) {
			total += len;
			if (len > *largest)
				*largest = len;
		}
		h2_out_done(c, n);
	}
	return total;
}

/* DATA frames no larger than the peer's SETTINGS_MAX_FRAME_SIZE; what does
 * not fit in tx moves there as the socket drains it. */
static void test_send_split_by_max_frame(void **state)
{
	(void)state;
	static uint8_t m[60000];
	uint8_t s[6] = { 0, 5, 0, 0, 0x50, 0 };   /* max frame 20480 */
	size_t largest;

	server_with_call(false);
	assert_int_equal(h2_send_message(&server, m, sizeof m), 0);
	assert_true(server.held_len > 0);
	assert_int_equal(drain_data(&server, &largest), sizeof m + 5);
	assert_int_equal(largest, 16384);

	server_with_call(false);
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, s, 6), 0);
	assert_int_equal(h2_send_message(&server, m, 50000), 0);
	assert_int_equal(drain_data(&server, &largest), 50005);
	assert_int_equal(largest, 20480);
}

static void test_gzip_and_split_messages(void **state)
{
	(void)state;
	static uint8_t body[30000], gz[40000], stream[200000];
	size_t n = 0;

	server_with_call(true);
	assert_string_equal(sev.last_headers.grpc_encoding, "gzip");
	fill_pattern(body, sizeof body, 5);
	size_t zlen = gzip_bytes(body, sizeof body, gz, sizeof gz);
	assert_true(zlen > 3003);
	/* gzip, plain, gzip, then ten tiny ones: all in one byte stream. */
	n += grpc_message(stream + n, 1, gz, zlen);
	n += grpc_message(stream + n, 0, body, 1000);
	n += grpc_message(stream + n, 1, gz, zlen);
	for (int i = 0; i < 10; i++)
		n += grpc_message(stream + n, 0, body + i, 1);

	/* Many DATA frames of 7 bytes: messages span frames. */
	for (size_t off = 0; off < 3000; off += 7)
		assert_int_equal(feed_frame(&server, DATA, 0, 1, stream + off,
		    7), 0);
	/* The rest in one h2_recv per 16 KiB frame. */
	for (size_t off = 3003; off < n; off += 16384) {
		size_t k = n - off < 16384 ? n - off : 16384;
		assert_int_equal(feed_frame(&server, DATA, 0, 1, stream + off,
		    k), 0);
	}
	assert_int_equal(sev.messages, 13);
	assert_memory_equal(sev.all, body, sizeof body);
	assert_memory_equal(sev.all + sizeof body, body, 1000);
	assert_memory_equal(sev.all + sizeof body + 1000, body, sizeof body);
	assert_int_equal(sev.all[2 * sizeof body + 1000 + 9], body[9]);
	assert_false(sev.last_compressed);

	/* Ten messages in one frame, END_STREAM on it. */
	uint8_t ten[60];
	size_t t = 0;
	for (int i = 0; i < 10; i++)
		t += grpc_message(ten + t, 0, body, 1);
	assert_int_equal(feed_frame(&server, DATA, END_STREAM, 1, ten, t), 0);
	assert_int_equal(sev.messages, 23);
	assert_int_equal(sev.ends, 1);
}

/* The client receives a gzip'd reply (Kaspa nodes send those). */
static void test_client_gzip_reply(void **state)
{
	(void)state;
	uint8_t block[256], gz[300], m[400], body[100];
	size_t n = 0;

	reset_events();
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_int_equal(h2_open_call(&client, "h", MP, true), 0);
	assert_int_equal(feed_frame(&client, SETTINGS, 0, 0, NULL, 0), 0);
	n += (size_t)hpack_encode_field(block, sizeof block, ":status", "200");
	n += (size_t)hpack_encode_field(block + n, sizeof block - n,
	    "grpc-encoding", "gzip");
	assert_int_equal(feed_frame(&client, HEADERS, END_HEADERS, 1, block,
	    n), 0);
	fill_pattern(body, sizeof body, 6);
	size_t z = gzip_bytes(body, sizeof body, gz, sizeof gz);
	size_t mlen = grpc_message(m, 1, gz, z);
	assert_int_equal(feed_frame(&client, DATA, 0, 1, m, mlen), 0);
	assert_int_equal(cev.messages, 1);
	assert_true(cev.last_compressed);
	assert_memory_equal(cev.all, body, sizeof body);
}

static void test_padding_and_priority(void **state)
{
	(void)state;
	uint8_t block[512], f[700], msg[20];

	server_ready();
	size_t n = request_block(block, sizeof block, false);
	/* Pad Length 10, dependency 0, weight 15, block, 10 padding bytes. */
	f[0] = 10;
	put32(f + 1, 0);
	f[5] = 15;
	memcpy(f + 6, block, n);
	memset(f + 6 + n, 0, 10);
	assert_int_equal(feed_frame(&server, HEADERS,
	    END_HEADERS | PADDED | PRIO, 1, f, 6 + n + 10), 0);
	assert_int_equal(sev.headers, 1);
	assert_string_equal(sev.last_headers.path, MP);

	size_t m = grpc_message(msg, 0, (const uint8_t *)"abc", 3);
	f[0] = 200;
	memcpy(f + 1, msg, m);
	memset(f + 1 + m, 0, 200);
	assert_int_equal(feed_frame(&server, DATA, PADDED, 1, f, 1 + m + 200),
	    0);
	assert_int_equal(sev.messages, 1);
	assert_memory_equal(sev.all, "abc", 3);
	/* Padding counts against flow control. */
	assert_int_equal(server.recv_unacked_conn, 1 + m + 200);
	/* Pad Length not below the payload length. */
	f[0] = 5;
	assert_int_equal(feed_frame(&server, DATA, PADDED, 1, f, 5), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

static void test_continuation(void **state)
{
	(void)state;
	uint8_t block[512];

	server_ready();
	size_t n = request_block(block, sizeof block, false);
	assert_int_equal(feed_frame(&server, HEADERS, 0, 1, block, 10), 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, 0, 1, block + 10,
	    0), 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, 0, 1, block + 10,
	    20), 0);
	assert_int_equal(sev.headers, 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, END_HEADERS, 1,
	    block + 30, n - 30), 0);
	assert_int_equal(sev.headers, 1);
	assert_string_equal(sev.last_headers.user_agent, "test");
}

/* A block whose HEADERS carries no bytes and whose one CONTINUATION ends
 * it is decoded in place: the block buffer must not stay lent. */
static void test_continuation_after_empty_headers(void **state)
{
	(void)state;
	uint8_t block[512];

	server_ready();
	size_t n = request_block(block, sizeof block, false);
	assert_int_equal(feed_frame(&server, HEADERS, 0, 1, block, 0), 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, END_HEADERS, 1,
	    block, n), 0);
	assert_int_equal(sev.headers, 1);
	assert_string_equal(sev.last_headers.path, MP);
	assert_int_equal(server.hdr_len, 0);
	assert_null(server.hdr);
}

static void test_ping_and_settings_ack(void **state)
{
	(void)state;
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint8_t flags;
	uint8_t ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	server_ready();
	/* Our SETTINGS first, then the ACK of the peer's. */
	assert_true(find_out_frame(&server, SETTINGS, 0, &id, &p, &len,
	    &flags));
	assert_int_equal(flags, 0);
	bool saw_streams = false, saw_list = false;
	for (size_t i = 0; i < len; i += 6) {
		uint16_t s = (uint16_t)(p[i] << 8 | p[i + 1]);
		uint32_t v = get32(p + i + 2);
		saw_streams |= s == 3 && v == 1;
		saw_list |= s == 6 && v == H2_HEADER_LIST_MAX;
		assert_true(s != 2);   /* ENABLE_PUSH only from a client */
	}
	assert_true(saw_streams && saw_list);
	assert_true(find_out_frame(&server, SETTINGS, 1, &id, &p, &len,
	    &flags));
	assert_int_equal(flags, ACK);
	assert_int_equal(len, 0);

	assert_int_equal(feed_frame(&server, PING, 0, 0, ping, 8), 0);
	assert_true(find_out_frame(&server, PING, 0, &id, &p, &len, &flags));
	assert_int_equal(flags, ACK);
	assert_memory_equal(p, ping, 8);
	/* A PING ACK is not answered; PRIORITY and unknown types ignored. */
	assert_int_equal(feed_frame(&server, PING, ACK, 0, ping, 8), 0);
	assert_false(find_out_frame(&server, PING, 1, &id, &p, &len, &flags));
	assert_int_equal(feed_frame(&server, PRIORITY, 0, 1, ping, 5), 0);
	assert_int_equal(feed_frame(&server, 0xfa, 0xff, 7, ping, 8), 0);
	assert_int_equal(server.fail, H2_FAIL_NONE);

	/* The client's SETTINGS disable push. */
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_true(find_out_frame(&client, SETTINGS, 0, &id, &p, &len,
	    &flags));
	bool push_off = false;
	for (size_t i = 0; i < len; i += 6)
		push_off |= p[i + 1] == 2 && get32(p + i + 2) == 0;
	assert_true(push_off);
}

static void test_goaway_and_rst_stream(void **state)
{
	(void)state;
	uint8_t r[4];

	open_pair(0);
	assert_int_equal(h2_goaway(&client, 2, "bye"), 0);
	pump(&client, &server, 0);
	assert_int_equal(sev.ends, 1);
	assert_true(sev.end_goaway);
	assert_int_equal(sev.end_code, 2);
	assert_int_equal(server.state, H2_CLOSING);
	assert_int_equal(server.fail, H2_FAIL_NONE);

	server_with_call(false);
	put32(r, 8);
	assert_int_equal(feed_frame(&server, RST_STREAM, 0, 1, r, 4), 0);
	assert_int_equal(sev.ends, 1);
	assert_false(sev.end_goaway);
	assert_int_equal(sev.end_code, 8);
	assert_int_equal(server.stream, H2_STREAM_CLOSED);
	assert_int_equal(h2_send_message(&server, r, 4), -1);
	/* DATA after the reset: the stream is closed. */
	assert_int_equal(feed_frame(&server, DATA, 0, 1, r, 4), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 5);
}

static void test_second_stream_refused(void **state)
{
	(void)state;
	uint8_t block[512], m[10];
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint8_t flags;

	server_with_call(false);
	size_t n = request_block(block, sizeof block, false);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 3, block,
	    n), 0);
	assert_int_equal(sev.headers, 1);
	assert_true(find_out_frame(&server, RST_STREAM, 0, &id, &p, &len,
	    &flags));
	assert_int_equal(id, 3);
	assert_int_equal(get32(p), 7);
	/* Its DATA is dropped; the first call goes on. */
	size_t k = grpc_message(m, 0, (const uint8_t *)"x", 1);
	assert_int_equal(feed_frame(&server, DATA, 0, 3, m, k), 0);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, m, k), 0);
	assert_int_equal(sev.messages, 1);
	/* DATA on a stream never opened is a connection error. */
	assert_int_equal(feed_frame(&server, DATA, 0, 5, m, k), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
	assert_int_equal(h2_recv(&server, m, 1), -1);
}

/* We advertise HPACK table size 0: before the peer's ACK its first block
 * may index into the default 4096-byte table; after the ACK the decoder is
 * not kept between blocks, and a block that does not start by shrinking
 * the table to 0 cannot refer to old entries. */
static void test_hpack_table_released_after_ack(void **state)
{
	(void)state;
	/* request headers with "x-a: 1" indexed (literal, incremental) */
	static const uint8_t indexed[] = { 0x40, 3, 'x', '-', 'a', 1, '1' };
	static const uint8_t update0_then_ref[] = { 0x20, 0xbe };  /* 62 */
	static const uint8_t update0_then_lit[] = { 0x20, 0x00, 1, 'y', 1, '2' };
	uint8_t block[512];

	server_ready();
	size_t n = request_block(block, sizeof block, false);
	memcpy(block + n, indexed, sizeof indexed);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, block,
	    n + sizeof indexed), 0);
	assert_non_null(server.hpack);           /* holds "x-a: 1" */
	assert_int_equal(feed_frame(&server, SETTINGS, ACK, 0, NULL, 0), 0);
	assert_null(server.hpack);               /* released at the ACK */
	/* trailers that shrink the table and then add a literal: fine */
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS | END_STREAM,
	    1, update0_then_lit, sizeof update0_then_lit), 0);
	assert_null(server.hpack);
	/* a block that refers to the dropped entry: compression error */
	server_ready();
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, block,
	    n + sizeof indexed), 0);
	assert_int_equal(feed_frame(&server, SETTINGS, ACK, 0, NULL, 0), 0);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS | END_STREAM,
	    1, update0_then_ref, sizeof update0_then_ref), -1);
	assert_failed(&server, H2_FAIL_COMPRESSION, 9);
}

/* The two orders around the ACK of our table size 0.  Client: response
 * headers indexed into the default table before the ACK, then trailers
 * that shrink it.  Server: the ACK first, then a request block that
 * starts by shrinking the table and indexes a field (evicted at once). */
static void test_hpack_table_ack_orders(void **state)
{
	(void)state;
	/* :status 200; content-type: application/grpc, indexed */
	static const uint8_t response[] = { 0x88, 0x5f, 16, 'a', 'p', 'p', 'l',
	    'i', 'c', 'a', 't', 'i', 'o', 'n', '/', 'g', 'r', 'p', 'c' };
	/* size update 0; grpc-status: 0 */
	static const uint8_t trailers[] = { 0x20, 0x00, 11, 'g', 'r', 'p', 'c',
	    '-', 's', 't', 'a', 't', 'u', 's', 1, '0' };
	static const uint8_t indexed[] = { 0x40, 3, 'x', '-', 'a', 1, '1' };
	uint8_t block[512];

	reset_events();
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_int_equal(h2_open_call(&client, "h", MP, false), 0);
	assert_int_equal(feed_frame(&client, SETTINGS, 0, 0, NULL, 0), 0);
	assert_int_equal(feed_frame(&client, HEADERS, END_HEADERS, 1,
	    response, sizeof response), 0);
	assert_string_equal(cev.last_headers.content_type, "application/grpc");
	assert_non_null(client.hpack);
	assert_int_equal(feed_frame(&client, SETTINGS, ACK, 0, NULL, 0), 0);
	assert_null(client.hpack);
	assert_int_equal(feed_frame(&client, HEADERS, END_HEADERS | END_STREAM,
	    1, trailers, sizeof trailers), 0);
	assert_true(cev.last_headers.trailers);
	assert_int_equal(cev.last_headers.grpc_status, 0);
	assert_int_equal(cev.ends, 1);
	assert_null(client.hpack);

	server_ready();
	assert_int_equal(feed_frame(&server, SETTINGS, ACK, 0, NULL, 0), 0);
	block[0] = 0x20;
	size_t n = 1 + request_block(block + 1, sizeof block - 1, false);
	memcpy(block + n, indexed, sizeof indexed);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, block,
	    n + sizeof indexed), 0);
	assert_int_equal(sev.headers, 1);
	assert_string_equal(sev.last_headers.path, MP);
	assert_null(server.hpack);
	assert_int_equal(server.fail, H2_FAIL_NONE);
}

/* ---- hostile input ---- */

static void test_bad_preface(void **state)
{
	(void)state;
	const uint8_t http1[] = "GET / HTTP/1.1\r\n";

	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	assert_int_equal(h2_recv(&server, (const uint8_t *)PREFACE, 3), 0);
	assert_int_equal(h2_recv(&server, (const uint8_t *)"x", 1), -1);
	assert_int_equal(server.fail, H2_FAIL_PREFACE);
	assert_int_equal(server.preface_seen, 3);
	assert_int_equal(h2_recv(&server, (const uint8_t *)PREFACE, 24), -1);

	reinit(&server, H2_SERVER, &cbs, &sev);
	assert_int_equal(h2_recv(&server, http1, sizeof http1 - 1), -1);
	assert_int_equal(server.preface_seen, 0);
	assert_failed(&server, H2_FAIL_PREFACE, 1);
}

static void test_first_frame_not_settings(void **state)
{
	(void)state;
	uint8_t ping[8] = { 0 };
	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	assert_int_equal(h2_recv(&server, (const uint8_t *)PREFACE, 24), 0);
	assert_int_equal(feed_frame(&server, PING, 0, 0, ping, 8), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

static void test_frame_over_max_size(void **state)
{
	(void)state;
	uint8_t hdr[9];
	server_ready();
	put_frame(hdr, DATA, 0, 1, NULL, 0);
	hdr[0] = 0;
	hdr[1] = 0x40;
	hdr[2] = 0x01;   /* 16385 */
	/* Rejected from the frame header alone. */
	assert_int_equal(h2_recv(&server, hdr, 9), -1);
	assert_failed(&server, H2_FAIL_FRAME_SIZE, 6);
}

static void test_continuation_without_headers(void **state)
{
	(void)state;
	server_ready();
	assert_int_equal(feed_frame(&server, CONTINUATION, END_HEADERS, 1,
	    "\x82", 1), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

static void test_frame_inside_header_block(void **state)
{
	(void)state;
	uint8_t block[512], ping[8] = { 0 };
	server_ready();
	size_t n = request_block(block, sizeof block, false);
	assert_int_equal(feed_frame(&server, HEADERS, 0, 1, block, n), 0);
	assert_int_equal(feed_frame(&server, PING, 0, 0, ping, 8), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);

	/* CONTINUATION of another stream also interleaves. */
	server_ready();
	assert_int_equal(feed_frame(&server, HEADERS, 0, 1, block, 5), 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, END_HEADERS, 3,
	    block + 5, n - 5), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

static void test_header_block_over_cap(void **state)
{
	(void)state;
	static uint8_t junk[16384];
	server_ready();
	memset(junk, 0x82, sizeof junk);
	assert_int_equal(feed_frame(&server, HEADERS, 0, 1, junk, 10000), 0);
	assert_int_equal(feed_frame(&server, CONTINUATION, 0, 1, junk, 6384),
	    0);
	assert_int_equal(feed_frame(&server, CONTINUATION, END_HEADERS, 1,
	    junk, 1), -1);
	assert_failed(&server, H2_FAIL_HEADERS, 0xb);
}

static void test_header_list_over_cap(void **state)
{
	(void)state;
	static uint8_t block[H2_HEADER_BLOCK_MAX];
	static char value[3000];
	size_t n = 0;

	server_ready();
	memset(value, 'v', sizeof value - 1);
	for (int i = 0; i < 4; i++)
		n += (size_t)hpack_encode_field(block + n, sizeof block - n,
		    "x-big", value);
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, block,
	    n), -1);
	assert_failed(&server, H2_FAIL_HEADERS, 0xb);
}

static void test_hpack_garbage(void **state)
{
	(void)state;
	/* Indexed field 0, then an index far beyond both tables. */
	server_ready();
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, "\x80",
	    1), -1);
	assert_failed(&server, H2_FAIL_COMPRESSION, 9);
	server_ready();
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1,
	    "\xff\xff\xff\xff\xff\xff\x7f", 7), -1);
	assert_failed(&server, H2_FAIL_COMPRESSION, 9);
	/* A pseudo-header after a regular one is malformed. */
	server_ready();
	uint8_t b[64];
	size_t n = (size_t)hpack_encode_field(b, sizeof b, "te", "trailers");
	n += (size_t)hpack_encode_field(b + n, sizeof b - n, ":path", "/");
	assert_int_equal(feed_frame(&server, HEADERS, END_HEADERS, 1, b, n),
	    -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

static void test_window_errors(void **state)
{
	(void)state;
	uint8_t wu[4], s[6] = { 0, 4, 0x80, 0, 0, 0 };

	server_with_call(false);
	put32(wu, 0x7fffffff);
	assert_int_equal(feed_frame(&server, WINDOW_UPDATE, 0, 0, wu, 4), -1);
	assert_failed(&server, H2_FAIL_FLOW_CONTROL, 3);

	server_with_call(false);
	assert_int_equal(feed_frame(&server, WINDOW_UPDATE, 0, 1, wu, 4), -1);
	assert_failed(&server, H2_FAIL_FLOW_CONTROL, 3);

	server_with_call(false);
	put32(wu, 0);
	assert_int_equal(feed_frame(&server, WINDOW_UPDATE, 0, 0, wu, 4), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);

	server_with_call(false);
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, s, 6), -1);
	assert_failed(&server, H2_FAIL_FLOW_CONTROL, 3);
}

static void test_bad_settings(void **state)
{
	(void)state;
	uint8_t push[6] = { 0, 2, 0, 0, 0, 2 };
	uint8_t frame[6] = { 0, 5, 0, 0, 0x3f, 0xff };

	server_ready();
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, push, 6), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
	server_ready();
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, frame, 6), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
	server_ready();
	assert_int_equal(feed_frame(&server, SETTINGS, 0, 0, frame, 5), -1);
	assert_failed(&server, H2_FAIL_FRAME_SIZE, 6);
	server_ready();
	assert_int_equal(feed_frame(&server, PUSH_PROMISE, END_HEADERS, 1,
	    frame, 6), -1);
	assert_failed(&server, H2_FAIL_PROTOCOL, 1);
}

/* A peer that sends more than the window we granted. */
static void test_receive_window_overrun(void **state)
{
	(void)state;
	static uint8_t blast[5 * (9 + 16384)];
	uint8_t prefix[5] = { 0, 0, 0, 0xff, 0xff };   /* 65535-byte msg */
	size_t n = 0;

	server_with_call(false);
	for (int i = 0; i < 5; i++) {
		uint8_t payload[16384] = { 0 };
		if (i == 0)
			memcpy(payload, prefix, 5);
		n += put_frame(blast + n, DATA, 0, 1, payload, sizeof payload);
	}
	assert_int_equal(h2_recv(&server, blast, n), -1);
	assert_failed(&server, H2_FAIL_FLOW_CONTROL, 3);
}

static void test_message_over_cap(void **state)
{
	(void)state;
	uint8_t prefix[5] = { 0, 0, 1, 0, 1 };   /* 65537 */
	server_with_call(false);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, prefix, 5), -1);
	assert_failed(&server, H2_FAIL_MESSAGE_SIZE, 0xb);
}

static void test_gzip_bomb(void **state)
{
	(void)state;
	static uint8_t zeros[1 << 20], gz[4096], m[5000];
	server_with_call(true);
	size_t z = gzip_bytes(zeros, sizeof zeros, gz, sizeof gz);
	size_t n = grpc_message(m, 1, gz, z);
	assert_true(n < 16384);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, m, n), -1);
	assert_failed(&server, H2_FAIL_GZIP, 2);
	assert_int_equal(sev.messages, 0);

	server_with_call(true);
	n = grpc_message(m, 1, (const uint8_t *)"not gzip", 8);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, m, n), -1);
	assert_int_equal(server.fail, H2_FAIL_GZIP);
}

static void test_compressed_without_encoding(void **state)
{
	(void)state;
	uint8_t m[20];
	server_with_call(false);
	size_t n = grpc_message(m, 1, (const uint8_t *)"abc", 3);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, m, n), -1);
	assert_failed(&server, H2_FAIL_ENCODING, 1);
}

static void test_callback_stop_and_tx_full(void **state)
{
	(void)state;
	static uint8_t m[GRPC_MESSAGE_MAX];
	uint8_t small[20];

	server_with_call(false);
	sev.stop = true;
	size_t n = grpc_message(small, 0, (const uint8_t *)"abc", 3);
	assert_int_equal(feed_frame(&server, DATA, 0, 1, small, n), -1);
	assert_failed(&server, H2_FAIL_CALLBACK, 0);

	/* The peer reads nothing: held fills, then sending fails. */
	server_with_call(false);
	assert_int_equal(h2_send_message(&server, m, sizeof m), 0);
	assert_int_equal(h2_send_message(&server, m, sizeof m), -1);
	assert_int_equal(server.fail, H2_FAIL_TX_FULL);
}

/* ---- bytes from python's h2 (Huffman, dynamic table) ---- */

static size_t run_peer(const char *cmd, uint8_t *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, cap, f);
	int rc = pclose(f);
	if (rc != 0 || n == 0)
		return 0;
	return n;
}

static void test_python_h2_peer(void **state)
{
	(void)state;
	static uint8_t in[1 << 16];
	static const char expect[] = "kaspa-test-message kaspa-test-message "
	    "kaspa-test-message kaspa-test-message kaspa-test-message "
	    "kaspa-test-message kaspa-test-message kaspa-test-message ";
	uint32_t id;
	const uint8_t *p;
	size_t len;
	uint8_t flags;

	size_t n = run_peer("/usr/bin/python3 test/h2_peer.py client", in,
	    sizeof in);
	if (n == 0)
		skip_or_fail_in_ci("test/h2_peer.py wrote nothing"
		    " (python3-h2 missing?)");

	/* The server engine reads the python client, in odd-sized pieces. */
	reset_events();
	reinit(&server, H2_SERVER, &cbs, &sev);
	for (size_t off = 0; off < n; off += 13)
		assert_int_equal(h2_recv(&server, in + off,
		    n - off < 13 ? n - off : 13), 0);
	assert_int_equal(sev.headers, 1);
	assert_string_equal(sev.last_headers.path, MP);
	assert_string_equal(sev.last_headers.authority, "127.0.0.1:16111");
	assert_string_equal(sev.last_headers.content_type,
	    "application/grpc");
	assert_string_equal(sev.last_headers.grpc_encoding, "gzip");
	assert_string_equal(sev.last_headers.user_agent, "tonic/0.12.3");
	assert_int_equal(sev.messages, 1);
	assert_true(sev.last_compressed);
	assert_int_equal(sev.bytes, sizeof expect - 1);
	assert_memory_equal(sev.all, expect, sizeof expect - 1);
	assert_int_equal(sev.ends, 1);
	/* Stream 3's headers came from the dynamic table; it is refused. */
	assert_true(find_out_frame(&server, RST_STREAM, 0, &id, &p, &len,
	    &flags));
	assert_int_equal(id, 3);

	/* The client engine's bytes to a python server, and its answer back. */
	char path[] = "/tmp/test_h2_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	reset_events();
	reinit(&client, H2_CLIENT, &cbs, &cev);
	assert_int_equal(h2_open_call(&client, "127.0.0.1:16111", MP, true),
	    0);
	const uint8_t *out = h2_out(&client, &len);
	assert_int_equal(fwrite(out, 1, len, f), len);
	fclose(f);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 test/h2_peer.py server %s",
	    path);
	n = run_peer(cmd, in, sizeof in);
	unlink(path);
	assert_true(n > 0);
	assert_int_equal(h2_recv(&client, in, n), 0);
	assert_int_equal(cev.headers, 2);
	assert_true(cev.last_headers.trailers);
	assert_int_equal(cev.last_headers.grpc_status, 0);
	assert_string_equal(cev.last_headers.grpc_message, "all good");
	assert_int_equal(cev.messages, 1);
	assert_memory_equal(cev.all, expect, sizeof expect - 1);
	assert_int_equal(cev.ends, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_both_ways),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_trailers_only),
		cmocka_unit_test(test_flow_control_large_message),
		cmocka_unit_test(test_flow_control_settings_window),
		cmocka_unit_test(test_send_split_by_max_frame),
		cmocka_unit_test(test_gzip_and_split_messages),
		cmocka_unit_test(test_client_gzip_reply),
		cmocka_unit_test(test_padding_and_priority),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_continuation_after_empty_headers),
		cmocka_unit_test(test_ping_and_settings_ack),
		cmocka_unit_test(test_goaway_and_rst_stream),
		cmocka_unit_test(test_second_stream_refused),
		cmocka_unit_test(test_hpack_table_released_after_ack),
		cmocka_unit_test(test_hpack_table_ack_orders),
		cmocka_unit_test(test_bad_preface),
		cmocka_unit_test(test_first_frame_not_settings),
		cmocka_unit_test(test_frame_over_max_size),
		cmocka_unit_test(test_continuation_without_headers),
		cmocka_unit_test(test_frame_inside_header_block),
		cmocka_unit_test(test_header_block_over_cap),
		cmocka_unit_test(test_header_list_over_cap),
		cmocka_unit_test(test_hpack_garbage),
		cmocka_unit_test(test_window_errors),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_receive_window_overrun),
		cmocka_unit_test(test_message_over_cap),
		cmocka_unit_test(test_gzip_bomb),
		cmocka_unit_test(test_compressed_without_encoding),
		cmocka_unit_test(test_callback_stop_and_tx_full),
		cmocka_unit_test(test_python_h2_peer),
	};
	return cmocka_run_group_tests(tests, init_shared, free_engines);
}
