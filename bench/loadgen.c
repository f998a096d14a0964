/* loadgen.c - load generator for the kaspa-sensor benchmarks (BENCHMARKS.md).
 *
 * Drives up to N concurrent connections on one poll loop (loop.c), each
 * doing what a dialing Kaspa node does, with our own h2 client engine and
 * codecs: h2c preface, the gRPC call, Version at once (gzip by default),
 * Verack on the listener's Version, Ready once Verack went both ways,
 * RequestAddresses after the listener's Ready, close when Addresses comes.
 * Other modes:
 *   tcp   connect, wait for the server to close, close (the ceiling run);
 *   hold  stop mid-handshake: Version sent, the listener's Version and
 *         Verack received, our Verack never sent; keep the socket open.
 * Source addresses rotate over --src-base .. + --src-count - 1 (loopback
 * 127.x.y.z all work on Linux), which avoids ephemeral-port exhaustion and
 * gives each connection its own node id: the id is derived from the source
 * IP.  With --listen-port the generator is also the node the sensor dials
 * back: it answers a probe's Version with the id that belongs to the
 * address the probe dialed, so the sensor can verify it.
 *
 * gzip bodies come from a tiny fixed-Huffman, literals-only DEFLATE encoder
 * below (valid RFC 1951/1952, no zlib); CRC-32 is inflate.c's.
 * Prints one line of key=value pairs on stdout at the end (and "held N"
 * when a hold run has all its connections open).
 */
#define _GNU_SOURCE     /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "h2.h"
#include "inflate.h"
#include "kaspa_pb.h"
#include "loop.h"

#define P2P_PATH "/protowire.P2P/MessageStream"
#define NETWORK "kaspa-mainnet"
#define USER_AGENT "/kaspa-loadgen:0.1/"
#define PROTOCOL_VERSION 9
#define MSG_MAX 1024            /* one encoded message we send */
#define LISTEN_CONNS_MAX 4096   /* probe connections at once */
#define LISTEN_TIMEOUT_MS 5000
#define HIST_US 10              /* latency histogram bucket width */
#define HIST_BUCKETS 100000     /* up to 1 s; slower lands in the last */

enum mode { MODE_FULL, MODE_HOLD, MODE_TCP };

struct opts {
	struct sockaddr_in target;
	uint32_t src_base;        /* host order; 0 = let the kernel choose */
	uint32_t src_count;
	unsigned concurrency;
	uint64_t total;           /* 0 = until the duration ends */
	double duration_s;        /* 0 = until total */
	unsigned rate;            /* starts per second, 0 = unpaced */
	bool gzip;
	enum mode mode;
	uint16_t advertise_port;  /* 0 = no address in our Version */
	uint16_t listen_port;     /* 0 = no probe listener */
	unsigned timeout_ms;
	double hold_s;
};

enum sess_state { S_CONNECTING, S_CALL, S_HELD, S_DONE };

/* One outbound connection. */
struct session {
	int fd;
	int slot;
	enum sess_state state;
	uint32_t src_ip;          /* host order */
	int64_t start_us;
	bool sent_verack, got_verack, sent_ready, got_ready, sent_request;
	struct h2_conn h2;
};

/* One probe the sensor dialed to our listener. */
struct lconn {
	int fd;
	int slot;
	uint32_t local_ip;        /* the address it dialed: whose id to show */
	bool answered;
	struct h2_conn h2;
};

enum fail_kind { F_CONNECT, F_TIMEOUT, F_CLOSED, F_H2, F_COUNT };
static const char *const fail_names[F_COUNT] = {
	"fail_connect", "fail_timeout", "fail_closed", "fail_h2",
};

static struct {
	struct opts o;
	struct loop loop;
	uint8_t nonce[KASPA_ID_LEN];  /* per run: ids differ between runs */
	uint64_t started, ok, ok_in_window, held, failed[F_COUNT];
	uint64_t probes_answered, probes_in_window;
	unsigned active;
	uint32_t next_src;
	int64_t t0_us, window_end_us, last_end_us;
	bool stopping, held_reported;
	int timer_slot;
	int listen_fd;
	uint32_t hist[HIST_BUCKETS];
	uint64_t hist_n;
	struct kaspa_msg msg;         /* single-threaded encode/decode area */
	struct kaspa_pb_scratch pb;
	struct h2_ctx h2;             /* every session's h2 pools */
} g;

static void fill(void);

/* ---- gzip: fixed Huffman, literals only (RFC 1951 3.2.6, RFC 1952) ---- */

struct bit_writer {
	uint8_t *out;
	size_t cap, len;
	uint32_t acc;
	int n;
	bool overflow;
};

/* LSB-first, as DEFLATE packs everything but Huffman codes. */
static void put_bits(struct bit_writer *w, uint32_t v, int n)
{
	w->acc |= v << w->n;
	w->n += n;
	while (w->n >= 8) {
		if (w->len < w->cap)
			w->out[w->len++] = (uint8_t)w->acc;
		else
			w->overflow = true;
		w->acc >>= 8;
		w->n -= 8;
	}
}

/* Huffman codes go most significant bit first. */
static void put_code(struct bit_writer *w, uint32_t code, int len)
{
	uint32_t rev = 0;
	for (int i = 0; i < len; i++)
		rev |= ((code >> i) & 1u) << (len - 1 - i);
	put_bits(w, rev, len);
}

static void put_literal(struct bit_writer *w, unsigned sym)
{
	if (sym < 144)
		put_code(w, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(w, 0x190 + sym - 144, 9);
	else
		put_code(w, 0, 7);          /* 256: end of block */
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One gzip member holding `in`; returns its length or -1. */
static int gzip_fixed(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0,
	    0xff };
	struct bit_writer w = { out, cap - 8, sizeof header, 0, 0, false };

	if (cap < sizeof header + 8 + 2)
		return -1;
	memcpy(out, header, sizeof header);
	put_bits(&w, 1, 1);                 /* BFINAL */
	put_bits(&w, 1, 2);                 /* BTYPE 01: fixed Huffman */
	for (size_t i = 0; i < len; i++)
		put_literal(&w, in[i]);
	put_literal(&w, 256);
	put_bits(&w, 0, 7);                 /* flush to a byte boundary */
	if (w.overflow)
		return -1;
	put_le32(out + w.len, inflate_crc32(0, in, len));
	put_le32(out + w.len + 4, (uint32_t)len);
	return (int)w.len + 8;
}

/* ---- messages ---- */

static void node_id(uint32_t ip, uint8_t id[KASPA_ID_LEN])
{
	memcpy(id, g.nonce, KASPA_ID_LEN);
	for (int i = 0; i < 4; i++)
		id[i] ^= (uint8_t)(ip >> (24 - 8 * i));
}

static struct kaspa_msg *new_msg(enum kaspa_type type)
{
	memset(&g.msg, 0, offsetof(struct kaspa_msg, u));
	g.msg.type = type;
	return &g.msg;
}

static int send_msg(struct h2_conn *h2, bool gzip)
{
	uint8_t raw[MSG_MAX], gz[2 * MSG_MAX];
	int n = kaspa_encode(&g.pb, &g.msg, raw, sizeof raw);

	if (n < 0)
		return -1;
	if (!gzip)
		return h2_send_message(h2, raw, (size_t)n);
	n = gzip_fixed(raw, (size_t)n, gz, sizeof gz);
	return n < 0 ? -1 : h2_send_gzip(h2, gz, (size_t)n);
}

static int send_empty(struct h2_conn *h2, enum kaspa_type type, bool gzip)
{
	new_msg(type)->u.addresses.count = 0;
	return send_msg(h2, gzip);
}

/* Our Version as node `ip`; it advertises ip:advertise_port if set. */
static int send_version(struct h2_conn *h2, uint32_t ip, bool gzip)
{
	struct kaspa_version *v = &new_msg(KASPA_VERSION)->u.version;
	struct timespec now;

	memset(v, 0, sizeof *v);
	clock_gettime(CLOCK_REALTIME, &now);
	v->protocol_version = PROTOCOL_VERSION;
	v->timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	node_id(ip, v->id);
	v->id_len = KASPA_ID_LEN;
	snprintf(v->user_agent, sizeof v->user_agent, USER_AGENT);
	snprintf(v->network, sizeof v->network, NETWORK);
	if (g.o.advertise_port != 0) {
		uint32_t be = htonl(ip);
		v->has_address = true;
		memcpy(v->address.ip, &be, 4);
		v->address.ip_len = 4;
		v->address.port = g.o.advertise_port;
	}
	return send_msg(h2, gzip);
}

/* Write what the engine queued; returns true if bytes are left over. */
static bool flush_h2(int fd, struct h2_conn *h2)
{
	size_t len;
	const uint8_t *out;

	while ((out = h2_out(h2, &len)) != NULL && len > 0) {
		ssize_t n = write(fd, out, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		h2_out_done(h2, (size_t)n);
	}
	out = h2_out(h2, &len);
	return out != NULL && len > 0;
}

/* ---- statistics ---- */

static void record_latency(int64_t us)
{
	int64_t b = us / HIST_US;
	g.hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
	g.hist_n++;
}

static double percentile_ms(double q)
{
	uint64_t want = (uint64_t)(q * (double)g.hist_n), seen = 0;

	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += g.hist[i];
		if (seen > want)
			return (i + 0.5) * HIST_US / 1000.0;
	}
	return 0;
}

static bool in_window(int64_t t)
{
	return g.window_end_us == 0 || t <= g.window_end_us;
}

/* ---- outbound sessions ---- */

/* Closing first would leave a TIME_WAIT socket per session: at thousands
 * a second they fill the kernel's table (tcp_max_tw_buckets) and every
 * connect() then searches through them.  A reset leaves nothing. */
static void close_with_reset(int fd)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
	close(fd);
}

static void session_end(struct session *s, int fail)
{
	int64_t t = now_us();

	if (fail < 0) {
		g.ok++;
		if (in_window(t))
			g.ok_in_window++;
	} else {
		g.failed[fail]++;
	}
	if (s->state == S_HELD)
		g.held--;
	loop_del(&g.loop, s->slot);
	close_with_reset(s->fd);
	h2_free(&s->h2);
	free(s);
	g.active--;
	g.last_end_us = t;
	fill();
}

static void maybe_report_held(void)
{
	unsigned goal = g.o.concurrency;
	if (g.o.total != 0 && g.o.total < goal)
		goal = (unsigned)g.o.total;
	if (g.held_reported || g.held < goal)
		return;
	g.held_reported = true;
	printf("held %llu\n", (unsigned long long)g.held);
	fflush(stdout);
	if (g.o.hold_s > 0)
		loop_set_deadline(&g.loop, g.timer_slot,
		    now_ms() + (int64_t)(g.o.hold_s * 1000));
}

/* Move our side of the handshake on; returns -1 to fail the session. */
static int session_advance(struct session *s)
{
	bool gz = g.o.gzip;

	if (g.o.mode == MODE_HOLD) {
		if (s->got_verack && s->state != S_HELD) {
			s->state = S_HELD;
			g.held++;
			loop_set_deadline(&g.loop, s->slot, 0);
			maybe_report_held();
		}
		return 0;
	}
	if (s->sent_verack && s->got_verack && !s->sent_ready) {
		if (send_empty(&s->h2, KASPA_READY, gz) != 0)
			return -1;
		s->sent_ready = true;
	}
	if (s->got_ready && !s->sent_request) {
		record_latency(now_us() - s->start_us);
		new_msg(KASPA_REQUEST_ADDRESSES)->request_id = 1;
		if (send_msg(&s->h2, gz) != 0)
			return -1;
		s->sent_request = true;
	}
	return 0;
}

static int session_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct session *s = ctx;
	const char *err;
	(void)compressed;

	if (kaspa_decode(&g.pb, msg, len, &g.msg, &err) != 0)
		return -1;
	switch (g.msg.type) {
	case KASPA_VERSION:
		if (g.o.mode != MODE_HOLD && !s->sent_verack) {
			if (send_empty(&s->h2, KASPA_VERACK, g.o.gzip) != 0)
				return -1;
			s->sent_verack = true;
		}
		break;
	case KASPA_VERACK:
		s->got_verack = true;
		break;
	case KASPA_READY:
		s->got_ready = true;
		break;
	case KASPA_ADDRESSES:
		if (s->sent_request)
			s->state = S_DONE;
		break;
	case KASPA_REJECT:
		return -1;
	default:
		break;
	}
	return session_advance(s);
}

static int session_headers(void *ctx, const struct grpc_headers *h)
{
	(void)ctx;
	return h->trailers || (h->status != -1 && h->status != 200) ? -1 : 0;
}

static void session_call_end(void *ctx, bool goaway, uint32_t code)
{
	(void)ctx;
	(void)goaway;
	(void)code;
}

static const struct h2_callbacks session_cb = {
	.on_headers = session_headers,
	.on_message = session_message,
	.on_end = session_call_end,
};

static int session_connected(struct session *s)
{
	char authority[32];
	struct in_addr a = g.o.target.sin_addr;
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
		return -1;
	s->state = S_CALL;
	if (g.o.mode == MODE_TCP)
		return 0;            /* the server closes; we wait for EOF */
	snprintf(authority, sizeof authority, "%s:%u", inet_ntoa(a),
	    ntohs(g.o.target.sin_port));
	h2_init(&s->h2, &g.h2, H2_CLIENT, &session_cb, s);
	if (h2_open_call(&s->h2, authority, P2P_PATH, H2_ACCEPT_GZIP |
	    (g.o.gzip ? H2_SEND_GZIP : 0)) != 0)
		return -1;
	return send_version(&s->h2, s->src_ip, g.o.gzip);
}

/* Returns the failure kind, or -1 to go on. */
static int session_readable(struct session *s)
{
	static uint8_t buf[16384];
	ssize_t n = read(s->fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0) {
		if (g.o.mode == MODE_TCP) {
			record_latency(now_us() - s->start_us);
			s->state = S_DONE;
			return -1;
		}
		return F_CLOSED;
	}
	if (g.o.mode == MODE_TCP)
		return F_H2;         /* the ceiling server sends nothing */
	return h2_recv(&s->h2, buf, (size_t)n) != 0 ? F_H2 : -1;
}

static void session_event(struct loop *l, int slot, short revents, void *ud)
{
	struct session *s = ud;
	int fail = -1;
	(void)slot;

	if (revents == 0)
		fail = F_TIMEOUT;
	else if (s->state == S_CONNECTING)
		fail = session_connected(s) != 0 ? F_CONNECT : -1;
	else if (revents & (POLLIN | POLLERR | POLLHUP))
		fail = session_readable(s);
	if (fail >= 0 || s->state == S_DONE) {
		session_end(s, fail);
		return;
	}
	bool pending = g.o.mode != MODE_TCP && flush_h2(s->fd, &s->h2);
	loop_set_events(l, s->slot, (short)(POLLIN | (pending ? POLLOUT : 0)));
}

static uint32_t next_source(void)
{
	if (g.o.src_count == 0)
		return ntohl(g.o.target.sin_addr.s_addr);
	uint32_t ip = g.o.src_base + g.next_src;
	g.next_src = (g.next_src + 1) % g.o.src_count;
	return ip;
}

/* Non-blocking socket from the next source address, connect() started. */
static int open_socket(uint32_t src)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(src) };

	if (fd < 0)
		return -1;
	if (g.o.src_count != 0 &&
	    (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&g.o.target, sizeof g.o.target)
	    != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start_session(void)
{
	struct session *s = malloc(sizeof *s);

	g.started++;
	if (s == NULL) {
		g.failed[F_CONNECT]++;
		return;
	}
	memset(s, 0, sizeof *s);
	s->src_ip = next_source();
	s->start_us = now_us();
	s->state = S_CONNECTING;
	s->fd = open_socket(s->src_ip);
	if (s->fd < 0 || (s->slot = loop_add(&g.loop, s->fd, POLLOUT,
	    session_event, s)) < 0) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		g.failed[F_CONNECT]++;
		return;
	}
	if (g.o.mode != MODE_HOLD)
		loop_set_deadline(&g.loop, s->slot,
		    now_ms() + (int64_t)g.o.timeout_ms);
	g.active++;
}

/* Starts allowed by now under --rate. */
static uint64_t paced_budget(int64_t t)
{
	if (g.o.rate == 0)
		return UINT64_MAX;
	return (uint64_t)((t - g.t0_us) / 1e6 * g.o.rate) + 1;
}

static bool may_start(void)
{
	return !g.stopping && g.active < g.o.concurrency &&
	    (g.o.total == 0 || g.started < g.o.total);
}

/* Start sessions up to the limits; stop the loop when all is done. */
static void fill(void)
{
	int64_t t = now_us();
	uint64_t budget = paced_budget(t);

	while (may_start() && g.started < budget)
		start_session();
	if (may_start() && g.o.rate != 0)   /* wake for the next start */
		loop_set_deadline(&g.loop, g.timer_slot, now_ms() + 1);
	if (g.o.total != 0 && g.started >= g.o.total)
		g.stopping = true;
	if (g.stopping && g.active == 0)
		loop_stop(&g.loop);
}

/* The pacing tick, the end of the window, the end of a hold. */
static void on_timer(struct loop *l, int slot, short revents, void *ud)
{
	int64_t t = now_us();
	(void)slot;
	(void)revents;
	(void)ud;

	if (g.held_reported) {
		loop_stop(l);
		return;
	}
	if (g.window_end_us != 0 && t >= g.window_end_us)
		g.stopping = true;
	fill();
	if (!g.stopping && g.window_end_us != 0 &&
	    g.loop.ent[g.timer_slot].deadline_ms == 0)
		loop_set_deadline(l, g.timer_slot, g.window_end_us / 1000 + 1);
}

/* ---- probe listener: the node the sensor dials back ---- */

static void lconn_close(struct lconn *c)
{
	loop_del(&g.loop, c->slot);
	close(c->fd);
	h2_free(&c->h2);
	free(c);
}

static int lconn_headers(void *ctx, const struct grpc_headers *h)
{
	struct lconn *c = ctx;
	return h->trailers ? 0 : h2_respond(&c->h2);
}

static int lconn_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct lconn *c = ctx;
	const char *err;
	(void)compressed;

	if (kaspa_decode(&g.pb, msg, len, &g.msg, &err) != 0 ||
	    g.msg.type != KASPA_VERSION || c->answered)
		return 0;
	c->answered = true;
	g.probes_answered++;
	if (in_window(now_us()))
		g.probes_in_window++;
	return send_version(&c->h2, c->local_ip, false);
}

static const struct h2_callbacks lconn_cb = {
	.on_headers = lconn_headers,
	.on_message = lconn_message,
	.on_end = session_call_end,
};

static void lconn_event(struct loop *l, int slot, short revents, void *ud)
{
	static uint8_t buf[16384];
	struct lconn *c = ud;
	(void)slot;

	if (revents == 0) {
		lconn_close(c);
		return;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP)) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    (n > 0 && h2_recv(&c->h2, buf, (size_t)n) != 0)) {
			(void)flush_h2(c->fd, &c->h2);
			lconn_close(c);
			return;
		}
	}
	bool pending = flush_h2(c->fd, &c->h2);
	loop_set_events(l, c->slot, (short)(POLLIN | (pending ? POLLOUT : 0)));
}

static void accept_one(int fd)
{
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	struct lconn *c = malloc(sizeof *c);

	if (c == NULL || getsockname(fd, (struct sockaddr *)&local, &len) != 0) {
		free(c);
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->local_ip = ntohl(local.sin_addr.s_addr);
	c->slot = loop_add(&g.loop, fd, POLLIN, lconn_event, c);
	if (c->slot < 0) {
		free(c);
		close(fd);
		return;
	}
	loop_set_deadline(&g.loop, c->slot, now_ms() + LISTEN_TIMEOUT_MS);
	h2_init(&c->h2, &g.h2, H2_SERVER, &lconn_cb, c);
	(void)flush_h2(fd, &c->h2);
}

static void on_accept(struct loop *l, int slot, short revents, void *ud)
{
	(void)l;
	(void)slot;
	(void)revents;
	(void)ud;

	for (int i = 0; i < 64; i++) {
		int fd = accept4(g.listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		accept_one(fd);
	}
}

static int start_listener(void)
{
	int one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons(g.o.listen_port),
	    .sin_addr.s_addr = htonl(INADDR_ANY) };

	g.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (g.listen_fd < 0)
		return -1;
	setsockopt(g.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(g.listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(g.listen_fd, 4096) != 0)
		return -1;
	return loop_add(&g.loop, g.listen_fd, POLLIN, on_accept, NULL) < 0 ?
	    -1 : 0;
}

/* ---- command line ---- */

static void usage(void)
{
	fprintf(stderr,
	    "usage: loadgen [--target IP:PORT] [--mode full|hold|tcp]\n"
	    "  [--concurrency N] [--total N] [--duration-s S] [--rate N/s]\n"
	    "  [--no-gzip] [--src-base IP --src-count N] [--timeout-ms MS]\n"
	    "  [--advertise-port P] [--listen-port P] [--hold-s S]\n");
	exit(2);
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_target(const char *s, struct sockaddr_in *sa)
{
	char host[32];
	const char *colon = strrchr(s, ':');
	uint32_t ip;

	if (colon == NULL || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (parse_ipv4(host, &ip) != 0)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(ip);
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return 0;
}

static enum mode parse_mode(const char *s)
{
	if (strcmp(s, "full") == 0)
		return MODE_FULL;
	if (strcmp(s, "hold") == 0)
		return MODE_HOLD;
	if (strcmp(s, "tcp") == 0)
		return MODE_TCP;
	usage();
	return MODE_FULL;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .concurrency = 100, .gzip = true,
	    .mode = MODE_FULL, .timeout_ms = 10000 };
	parse_target("127.0.0.1:16111", &o->target);
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];
		if (strcmp(k, "--no-gzip") == 0) {
			o->gzip = false;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(k, "--target") == 0) {
			if (parse_target(v, &o->target) != 0)
				usage();
		} else if (strcmp(k, "--src-base") == 0) {
			if (parse_ipv4(v, &o->src_base) != 0)
				usage();
		} else if (strcmp(k, "--mode") == 0) {
			o->mode = parse_mode(v);
		} else if (strcmp(k, "--concurrency") == 0) {
			o->concurrency = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--total") == 0) {
			o->total = strtoull(v, NULL, 10);
		} else if (strcmp(k, "--duration-s") == 0) {
			o->duration_s = strtod(v, NULL);
		} else if (strcmp(k, "--rate") == 0) {
			o->rate = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--src-count") == 0) {
			o->src_count = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--timeout-ms") == 0) {
			o->timeout_ms = (unsigned)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--advertise-port") == 0) {
			o->advertise_port = (uint16_t)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--listen-port") == 0) {
			o->listen_port = (uint16_t)strtoul(v, NULL, 10);
		} else if (strcmp(k, "--hold-s") == 0) {
			o->hold_s = strtod(v, NULL);
		} else {
			usage();
		}
	}
	if (o->concurrency == 0 || (o->src_count != 0 && o->src_base == 0) ||
	    (o->total == 0 && o->duration_s <= 0 && o->mode != MODE_HOLD))
		usage();
}

/* CPU seconds this process used, user + system. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void print_summary(void)
{
	double elapsed = (double)(g.last_end_us - g.t0_us) / 1e6;
	double window = g.o.duration_s > 0 ? g.o.duration_s : elapsed;
	static const char *const modes[] = { "full", "hold", "tcp" };

	printf("mode=%s gzip=%d concurrency=%u started=%llu ok=%llu",
	    modes[g.o.mode], g.o.gzip, g.o.concurrency,
	    (unsigned long long)g.started, (unsigned long long)g.ok);
	for (int i = 0; i < F_COUNT; i++)
		printf(" %s=%llu", fail_names[i],
		    (unsigned long long)g.failed[i]);
	printf(" elapsed_s=%.3f window_s=%.3f ok_in_window=%llu rate_per_s=%.1f"
	    " p50_ms=%.3f p99_ms=%.3f probes_answered=%llu probes_per_s=%.1f"
	    " cpu_s=%.2f\n",
	    elapsed, window, (unsigned long long)g.ok_in_window,
	    window > 0 ? (double)g.ok_in_window / window : 0.0,
	    percentile_ms(0.50), percentile_ms(0.99),
	    (unsigned long long)g.probes_answered,
	    window > 0 ? (double)g.probes_in_window / window : 0.0,
	    cpu_seconds());
}

int main(int argc, char **argv)
{
	parse_args(argc, argv, &g.o);
	signal(SIGPIPE, SIG_IGN);
	h2_ctx_init(&g.h2);
	if (getrandom(g.nonce, sizeof g.nonce, 0) != (ssize_t)sizeof g.nonce ||
	    loop_init(&g.loop, (int)g.o.concurrency + LISTEN_CONNS_MAX + 8)
	    != 0) {
		fprintf(stderr, "loadgen: %s: setup failed\n", __func__);
		return 1;
	}
	g.timer_slot = loop_add(&g.loop, -1, 0, on_timer, NULL);
	if (g.o.listen_port != 0 && start_listener() != 0) {
		fprintf(stderr, "loadgen: %s: listen on port %u: %s\n",
		    __func__, g.o.listen_port, strerror(errno));
		return 1;
	}
	g.t0_us = g.last_end_us = now_us();
	if (g.o.duration_s > 0 && g.o.mode != MODE_HOLD) {
		g.window_end_us = g.t0_us + (int64_t)(g.o.duration_s * 1e6);
		loop_set_deadline(&g.loop, g.timer_slot,
		    g.window_end_us / 1000 + 1);
	}
	fill();
	if (loop_run(&g.loop) != 0) {
		fprintf(stderr, "loadgen: %s: poll: %s\n", __func__,
		    strerror(errno));
		return 1;
	}
	if (g.o.mode != MODE_HOLD)
		print_summary();
	return 0;
}
