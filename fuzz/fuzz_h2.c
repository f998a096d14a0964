/* fuzz_h2.c - libFuzzer target for the HTTP/2 engine.
 *
 * Input: one config byte, then the bytes a peer sends.  A server engine
 * gets the client preface followed by the bytes; a client engine that has
 * opened its call gets the bytes as they are.  Config bits 0-3 pick the
 * h2_recv() piece size (0: all at once), bit 4 makes each engine send a
 * message (and end its call) between pieces, bit 5 leaves the output
 * unread so the queues fill.  Callbacks do nothing.  The engine structs and
 * their shared pools are static; each run ends with h2_free() and
 * h2_ctx_free(), which give their buffers back.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_h2.c \
 *     h2.c hpack.c inflate.c -o build/fuzz_h2
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h2.h"

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static int on_headers(void *ctx, const struct grpc_headers *h)
{
	(void)ctx;
	(void)h;
	return 0;
}

static int on_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	(void)ctx;
	(void)msg;
	(void)len;
	(void)compressed;
	return 0;
}

static void on_end(void *ctx, bool goaway, uint32_t code)
{
	(void)ctx;
	(void)goaway;
	(void)code;
}

static const struct h2_callbacks cbs = { on_headers, on_message, on_end };
static struct h2_ctx shared;
static struct h2_conn server, client;

static void check(int ok)
{
	if (!ok)
		abort();
}

static void after_piece(struct h2_conn *c, uint8_t config, size_t step)
{
	static const uint8_t msg[300];
	size_t n;

	if (config & 0x10) {
		(void)h2_send_message(c, msg, step % sizeof msg);
		if (step % 7 == 6)
			(void)h2_end_call(c, 0, "done");
	}
	h2_out(c, &n);
	check(c->tx_sent <= c->tx_len && c->tx_len <= H2_TX_MAX);
	check(c->held_len <= GRPC_MESSAGE_MAX + 5);
	/* Buffers are lent exactly while they hold bytes. */
	if (c->fail == H2_FAIL_NONE)
		check((c->tx != NULL) == (c->tx_len > 0) &&
		    (c->held != NULL) == (c->held_len > 0) &&
		    (c->rx != NULL) == (c->rx_len > 0) &&
		    (c->msg != NULL) == (c->msg_len > 0) &&
		    (c->hdr != NULL) == (c->hdr_len > 0));
	/* After the ACK of our table size 0 no decoder is kept. */
	if (c->fail == H2_FAIL_NONE && c->table_acked)
		check(c->hpack == NULL);
	if (!(config & 0x20))
		h2_out_done(c, n);
}

static void feed(struct h2_conn *c, const uint8_t *p, size_t len,
    uint8_t config)
{
	static const size_t pieces[16] = { 0, 1, 2, 3, 5, 8, 9, 13, 17, 64,
	    100, 255, 1000, 4096, 9, 10 };
	size_t piece = pieces[config & 0xf];
	size_t step = 0;

	for (size_t off = 0; off < len; step++) {
		size_t k = piece == 0 || piece > len - off ? len - off : piece;
		int r = h2_recv(c, p + off, k);
		check(r == 0 || c->fail != H2_FAIL_NONE);
		if (r < 0) {
			check(h2_recv(c, p, 1) == -1);
			return;
		}
		after_piece(c, config, step);
		off += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t config = data[0];

	h2_ctx_init(&shared);
	h2_init(&server, &shared, H2_SERVER, &cbs, NULL);
	check(h2_recv(&server, (const uint8_t *)PREFACE, 24) == 0);
	feed(&server, data + 1, size - 1, config);

	h2_init(&client, &shared, H2_CLIENT, &cbs, NULL);
	check(h2_open_call(&client, "127.0.0.1:16111",
	    "/protowire.P2P/MessageStream", true) == 0);
	feed(&client, data + 1, size - 1, config);
	h2_free(&server);
	h2_free(&client);
	h2_ctx_free(&shared);
	return 0;
}
