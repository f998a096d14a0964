/* peer.c - the inbound connection state machine.
 *
 * Bytes from the socket go into the h2 engine; its callbacks hand us the
 * call's headers and each gRPC message, which we decode and feed to the
 * handshake.  Everything a connection owns is in struct peer, freed in one
 * place (peer_close), which also writes the connection's NDJSON line.
 */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "h2.h"
#include "probe.h"

#define DRAIN_MS 1000          /* wait for the peer's EOF after our GOAWAY */
#define FIRST_BYTES 16         /* kept to tell what a non-HTTP/2 client was */
#define HTTP_UA_MAX 128        /* the user-agent header kept, with its NUL */
#define UNKNOWN_LIST_MAX 640   /* one unknown-field list's share of the line */
#define ATTEMPTS_JSON_MAX 1024 /* probe_attempts (3 take at most 520) */
#define P2P_PATH "/protowire.P2P/MessageStream"
#define GRPC_UNIMPLEMENTED 12

enum peer_state {
	PEER_WAIT_CALL,     /* TCP up: preface, SETTINGS, request headers */
	PEER_WAIT_VERSION,  /* call open; ours goes out when theirs comes or
	                     * version-wait passes */
	PEER_WAIT_VERACK,   /* their Version in, our Verack out */
	PEER_WAIT_READY,    /* Verack both ways, our Ready out */
	PEER_LINGER,        /* handshake done; answering until linger ends */
	PEER_DRAIN,         /* goodbye queued: flush, half-close, await EOF */
};

/* How far the handshake got, for the log (never goes back). */
enum peer_stage {
	STAGE_TCP, STAGE_HTTP2, STAGE_CALL, STAGE_VERSION, STAGE_VERACK,
	STAGE_READY,
};

static const char *const stage_names[] = {
	"tcp", "http2", "call", "version", "verack", "ready",
};

struct peer {
	struct sensor *s;
	struct peer *next, *prev;
	int fd;
	int slot;
	enum peer_state state;
	enum peer_stage stage;
	struct ip_key ip;
	bool counted_ip;           /* holds a unit in s->per_ip */
	char ip_text[INET6_ADDRSTRLEN];
	uint16_t port;
	uint16_t local_port;
	struct timespec accepted_wall;
	int64_t accepted_us;
	int64_t handshake_us;      /* accept -> both Ready; -1 until then */
	int64_t closed_us;
	int64_t stage_deadline_ms;
	int64_t version_send_ms;   /* when ours goes out unprompted */
	const char *outcome;       /* NULL while undecided */
	bool sent_version, sent_ready, half_closed;
	bool got_version, got_verack, got_ready;
	bool peer_first;           /* their Version came before ours */
	bool probe_started;
	bool probe_pending;        /* the line waits for the probe's verdict */
	bool released;             /* socket closed, waiting for the probe */
	bool compressed;           /* the peer sent a gzip message */
	uint32_t our_version;
	uint64_t bytes_in, bytes_out;
	uint8_t first_bytes[FIRST_BYTES];
	size_t first_len;
	char http_user_agent[HTTP_UA_MAX];
	char *reject_reason;       /* the peer's Reject text (rare) */
	struct kaspa_version version;
	struct kaspa_version_unknown *unknown;  /* only if it sent some */
	struct probe_report probe;
	struct h2_conn h2;         /* small: its buffers are lent while used */
};

/* The program is single-threaded: one decode and one encode area serve
 * every connection (struct kaspa_msg is ~40 KB with its address list). */
static struct kaspa_msg rx_msg, tx_msg;

static void peer_close(struct peer *p);
static void peer_finish(struct peer *p, const char *outcome);

static void reach(struct peer *p, enum peer_stage st)
{
	if (st > p->stage)
		p->stage = st;
}

static void set_state(struct peer *p, enum peer_state st, int64_t limit_ms)
{
	p->state = st;
	p->stage_deadline_ms = now_ms() + limit_ms;
	loop_set_deadline(&p->s->loop, p->slot, p->stage_deadline_ms);
}

/* ---- output ---- */

/* Write what the engine has queued; ask for POLLOUT if the socket is full. */
static void peer_flush(struct peer *p)
{
	size_t len;
	const uint8_t *out;

	while ((out = h2_out(&p->h2, &len)) != NULL && len > 0) {
		ssize_t n = write(p->fd, out, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				p->half_closed = true;   /* peer gone */
			break;
		}
		h2_out_done(&p->h2, (size_t)n);
		p->bytes_out += (uint64_t)n;
	}
	out = h2_out(&p->h2, &len);
	bool pending = out != NULL && len > 0 && !p->half_closed;
	loop_set_events(&p->s->loop, p->slot,
	    (short)(POLLIN | (pending ? POLLOUT : 0)));
	if (p->state == PEER_DRAIN && !pending && !p->half_closed) {
		shutdown(p->fd, SHUT_WR);
		p->half_closed = true;
	}
}

static int send_msg(struct peer *p, struct kaspa_msg *m)
{
	static uint8_t buf[1024];
	int n = kaspa_encode(m, buf, sizeof buf);
	if (n < 0 || h2_send_message(&p->h2, buf, (size_t)n) != 0)
		return -1;
	return 0;
}

/* Start tx_msg: header fields set, payload left to the caller. */
static struct kaspa_msg *new_msg(enum kaspa_type type, uint32_t response_id)
{
	memset(&tx_msg, 0, offsetof(struct kaspa_msg, u));
	tx_msg.type = type;
	tx_msg.response_id = response_id;
	return &tx_msg;
}

/* Verack, Ready, and Addresses with no address. */
static int send_empty(struct peer *p, enum kaspa_type type, uint32_t resp_id)
{
	new_msg(type, resp_id)->u.addresses.count = 0;
	return send_msg(p, &tx_msg);
}

static int send_our_version(struct peer *p)
{
	const struct config *c = p->s->cfg;
	struct kaspa_version *v = &new_msg(KASPA_VERSION, 0)->u.version;
	struct timespec now;

	memset(v, 0, sizeof *v);
	clock_gettime(CLOCK_REALTIME, &now);
	p->our_version = p->got_version ? p->version.protocol_version
	    : (uint32_t)c->protocol_version;
	v->protocol_version = p->our_version;
	v->timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	memcpy(v->id, p->s->node_id, KASPA_ID_LEN);
	v->id_len = KASPA_ID_LEN;
	snprintf(v->user_agent, sizeof v->user_agent, "%s", c->user_agent);
	snprintf(v->network, sizeof v->network, "%s", c->network);
	p->sent_version = true;
	return send_msg(p, &tx_msg);
}

/* ---- the handshake ---- */

/* Move the handshake on as far as the flags allow. */
static int advance(struct peer *p)
{
	if (p->got_version && !p->sent_version && send_our_version(p) != 0)
		return -1;
	if (p->state == PEER_WAIT_VERACK && p->got_verack && !p->sent_ready) {
		if (send_empty(p, KASPA_READY, 0) != 0)
			return -1;
		p->sent_ready = true;
		reach(p, STAGE_VERACK);
		set_state(p, PEER_WAIT_READY, (int64_t)p->s->cfg->ready_timeout_ms);
	}
	if (p->state == PEER_WAIT_READY && p->got_ready) {
		reach(p, STAGE_READY);
		p->handshake_us = now_us() - p->accepted_us;
		p->outcome = "ok";
		set_state(p, PEER_LINGER, (int64_t)p->s->cfg->linger_ms);
	}
	return 0;
}

static void probe_done(void *ctx, const struct probe_report *r)
{
	struct peer *p = ctx;

	p->probe = *r;
	p->probe_pending = false;
	if (p->released)
		peer_close(p);
}

/* Dial the peer back now, while it is still connected to us. */
static void start_probe(struct peer *p)
{
	struct probe_request req = { .ip = p->ip, .port = p->port };
	const struct kaspa_version *v = &p->version;

	memcpy(req.id, v->id, KASPA_ID_LEN);
	req.protocol_version = v->protocol_version;
	req.has_advertised = v->has_address && addr_from_bytes(&req.advertised,
	    v->address.ip, v->address.ip_len) == 0 && v->address.port <= 65535;
	req.advertised_port = (uint16_t)v->address.port;
	p->probe_started = true;
	p->probe_pending = true;
	if (!probe_start(p->s->prober, &req, probe_done, p, &p->probe))
		p->probe_pending = false;
}

static bool valid_version(const struct kaspa_version *v)
{
	return v->id_len == KASPA_ID_LEN &&
	    (!v->has_address || v->address.ip_len == 4 ||
	     v->address.ip_len == 16);
}

static bool has_unknown(const struct kaspa_version_unknown *u)
{
	return u->version.count + u->version.dropped + u->address.count +
	    u->address.dropped + u->message.count + u->message.dropped > 0;
}

static int on_version(struct peer *p, const struct kaspa_msg *m)
{
	const struct kaspa_version *v = &m->u.version;

	if (p->got_version)
		return 0;       /* a second Version changes nothing */
	p->version = *v;
	if (has_unknown(&m->unknown) &&
	    (p->unknown = malloc(sizeof *p->unknown)) != NULL)
		*p->unknown = m->unknown;
	p->got_version = true;
	p->peer_first = !p->sent_version;
	reach(p, STAGE_VERSION);
	if (!valid_version(v)) {
		peer_finish(p, "bad_version_message");
		return -1;
	}
	if (strcmp(v->network, p->s->cfg->network) != 0) {
		struct kaspa_msg *m = new_msg(KASPA_REJECT, 0);
		snprintf(m->u.reject_reason, sizeof m->u.reject_reason,
		    "network mismatch: expected %s", p->s->cfg->network);
		send_msg(p, m);
		peer_finish(p, "wrong_network");
		return -1;
	}
	start_probe(p);
	if (!p->sent_version && send_our_version(p) != 0)
		return -1;
	if (send_empty(p, KASPA_VERACK, 0) != 0)
		return -1;
	set_state(p, PEER_WAIT_VERACK, (int64_t)p->s->cfg->stage_timeout_ms);
	return 0;
}

static int on_kaspa_message(struct peer *p, const struct kaspa_msg *m)
{
	switch (m->type) {
	case KASPA_VERSION:
		if (on_version(p, m) != 0)
			return -1;
		break;
	case KASPA_VERACK:
		p->got_verack = true;
		break;
	case KASPA_READY:
		p->got_ready = true;
		break;
	case KASPA_REQUEST_ADDRESSES:
		/* The reference node echoes request_id as response_id. */
		if (send_empty(p, KASPA_ADDRESSES, m->request_id) != 0)
			return -1;
		break;
	case KASPA_PING:
		new_msg(KASPA_PONG, m->request_id)->u.nonce = m->u.nonce;
		if (send_msg(p, &tx_msg) != 0)
			return -1;
		break;
	case KASPA_REJECT:
		if (p->reject_reason == NULL)
			p->reject_reason = strdup(m->u.reject_reason);
		peer_finish(p, "peer_reject");
		return -1;
	default:
		break;      /* flows we do not run: ignored, never fatal */
	}
	return advance(p);
}

/* ---- h2 callbacks ---- */

static int cb_headers(void *ctx, const struct grpc_headers *h)
{
	struct peer *p = ctx;

	if (h->trailers || p->state != PEER_WAIT_CALL)
		return 0;
	snprintf(p->http_user_agent, sizeof p->http_user_agent, "%s",
	    h->user_agent);
	if (strcmp(h->path, P2P_PATH) != 0 ||
	    strncmp(h->content_type, "application/grpc", 16) != 0) {
		h2_end_call(&p->h2, GRPC_UNIMPLEMENTED, "unknown method");
		peer_finish(p, "bad_call");
		return -1;
	}
	reach(p, STAGE_CALL);
	if (h2_respond(&p->h2) != 0)
		return -1;
	set_state(p, PEER_WAIT_VERSION, (int64_t)p->s->cfg->stage_timeout_ms);
	p->version_send_ms = now_ms() + (int64_t)p->s->cfg->version_wait_ms;
	if (p->version_send_ms < p->stage_deadline_ms)
		loop_set_deadline(&p->s->loop, p->slot, p->version_send_ms);
	return 0;
}

static int cb_message(void *ctx, const uint8_t *msg, size_t len,
    bool compressed)
{
	struct peer *p = ctx;
	const char *err;

	if (compressed)
		p->compressed = true;
	if (p->state == PEER_DRAIN || p->state == PEER_WAIT_CALL)
		return 0;
	if (kaspa_decode(msg, len, &rx_msg, &err) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: %s:%u: %s\n", __func__,
		    p->ip_text, p->port, err);
		peer_finish(p, p->got_version ? "bad_message"
		    : "bad_version_message");
		return -1;
	}
	return on_kaspa_message(p, &rx_msg);
}

static void cb_end(void *ctx, bool goaway, uint32_t code)
{
	struct peer *p = ctx;
	(void)goaway;
	(void)code;
	peer_finish(p, "closed");
}

static const struct h2_callbacks callbacks = {
	.on_headers = cb_headers,
	.on_message = cb_message,
	.on_end = cb_end,
};

/* ---- events ---- */

/* What a client that failed the preface was speaking. */
static const char *preface_outcome(const struct peer *p)
{
	const uint8_t *b = p->first_bytes;
	if (p->first_len >= 2 && b[0] == 0x16 && b[1] == 0x03)
		return "tls";
	size_t i = 0;
	while (i < p->first_len && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	if (i >= 3 && i < p->first_len && b[i] == ' ')
		return "http1";
	return "not_http2";
}

/* Returns true when p is gone. */
static bool on_readable(struct peer *p)
{
	static uint8_t buf[16384];
	ssize_t n = read(p->fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		p->half_closed = true;
		peer_finish(p, "closed");
		peer_close(p);
		return true;
	}
	p->bytes_in += (uint64_t)n;
	if (p->first_len < FIRST_BYTES) {
		size_t k = FIRST_BYTES - p->first_len;
		if (k > (size_t)n)
			k = (size_t)n;
		memcpy(p->first_bytes + p->first_len, buf, k);
		p->first_len += k;
	}
	if (p->state == PEER_DRAIN)
		return false;      /* discard until EOF */
	int rc = h2_recv(&p->h2, buf, (size_t)n);
	/* Only a client that got past the preface counts as HTTP/2. */
	if (p->h2.fail != H2_FAIL_PREFACE && p->h2.state != H2_WAIT_PREFACE)
		reach(p, STAGE_HTTP2);
	/* Even after "ok" (lingering): the engine is closed, so say goodbye
	 * now; peer_finish keeps the first outcome. */
	if (rc != 0)
		peer_finish(p, p->h2.fail == H2_FAIL_PREFACE ? preface_outcome(p)
		    : h2_fail_name(p->h2.fail));
	return false;
}

/* Returns true when p is gone. */
static bool on_deadline(struct peer *p)
{
	int64_t now = now_ms();

	if (p->state == PEER_WAIT_VERSION && !p->sent_version &&
	    now >= p->version_send_ms && now < p->stage_deadline_ms) {
		/* The peer waits for us to speak first. */
		if (send_our_version(p) != 0)
			peer_finish(p, "tx_full");
		else
			loop_set_deadline(&p->s->loop, p->slot,
			    p->stage_deadline_ms);
		return false;
	}
	if (p->state == PEER_DRAIN) {
		peer_close(p);
		return true;
	}
	peer_finish(p, "timeout");   /* in PEER_LINGER the outcome is "ok" */
	return false;
}

static void peer_event(struct loop *l, int slot, short revents, void *ud)
{
	struct peer *p = ud;
	(void)l;
	(void)slot;

	bool gone = revents == 0 ? on_deadline(p) :
	    (revents & (POLLIN | POLLERR | POLLHUP)) ? on_readable(p) : false;
	if (!gone)
		peer_flush(p);
}

/* ---- end of a connection ---- */

/* Decide the outcome (first decision wins) and say goodbye: trailers if the
 * call is open, GOAWAY, then drain. */
static void peer_finish(struct peer *p, const char *outcome)
{
	if (p->outcome == NULL)
		p->outcome = outcome;
	if (p->state == PEER_DRAIN)
		return;
	if (p->state != PEER_WAIT_CALL && (p->h2.stream == H2_STREAM_OPEN ||
	    p->h2.stream == H2_STREAM_HALF_CLOSED_REMOTE))
		h2_end_call(&p->h2, 0, NULL);
	if (p->h2.state != H2_CLOSING)
		h2_goaway(&p->h2, 0, NULL);
	set_state(p, PEER_DRAIN, DRAIN_MS);
}

/* A field a fork added to Version, NetAddress or KaspadMessage, as a
 * JSON object: {"field","wire_type","value"}, or for bytes {"field",
 * "wire_type":2,"len","hex" (the first KASPA_UNKNOWN_BYTES_MAX),
 * "truncated"}. */
static int unknown_field_json(const struct kaspa_unknown_field *f, char *out,
    size_t cap)
{
	char hex[2 * KASPA_UNKNOWN_BYTES_MAX + 1];

	if (f->wire_type != 2)
		return snprintf(out, cap, "{\"field\":%u,\"wire_type\":%u,"
		    "\"value\":%llu}", (unsigned)f->number, f->wire_type,
		    (unsigned long long)f->value);
	hex_text(hex, f->bytes, f->bytes_len);
	return snprintf(out, cap, "{\"field\":%u,\"wire_type\":2,\"len\":%llu,"
	    "\"hex\":\"%s\",\"truncated\":%s}", (unsigned)f->number,
	    (unsigned long long)f->value, hex,
	    f->value > f->bytes_len ? "true" : "false");
}

/* key: [objects] within a fixed share of the line; fields beyond it or
 * beyond kaspa_pb's cap are counted in key_dropped (only when some are). */
static void log_unknown_fields(struct json_line *j, const char *key,
    const char *key_dropped, const struct kaspa_unknown_fields *u)
{
	char out[UNKNOWN_LIST_MAX], one[160];
	size_t n = 1, dropped = u->dropped;

	out[0] = '[';
	for (size_t i = 0; i < u->count; i++) {
		int len = unknown_field_json(&u->field[i], one, sizeof one);

		if (len < 0 || (size_t)len + 3 > sizeof out - n) {
			dropped++;
			continue;
		}
		n += (size_t)snprintf(out + n, sizeof out - n, "%s%s",
		    n > 1 ? "," : "", one);
	}
	snprintf(out + n, sizeof out - n, "]");
	json_raw(j, key, out);
	if (dropped > 0)
		json_u64(j, key_dropped, dropped);
}

static void log_version(struct json_line *j, const struct peer *p)
{
	const struct kaspa_version *v = &p->version;
	char addr[ADDR_TEXT_MAX];
	struct ip_key k;

	if (!p->got_version) {
		static const char *const keys[] = { "protocol_version",
		    "user_agent", "network", "peer_id", "advertised_address",
		    "services", "disable_relay_tx", "peer_timestamp_ms",
		    "unknown_fields", "advertised_unknown_fields",
		    "message_unknown_fields" };
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			json_null(j, keys[i]);
		return;
	}
	json_u64(j, "protocol_version", v->protocol_version);
	json_str(j, "user_agent", v->user_agent);
	json_str(j, "network", v->network);
	json_hex(j, "peer_id", v->id, v->id_len);
	if (v->has_address &&
	    addr_from_bytes(&k, v->address.ip, v->address.ip_len) == 0) {
		addr_text(&k, v->address.port, addr, sizeof addr);
		json_str(j, "advertised_address", addr);
	} else {
		json_null(j, "advertised_address");
	}
	json_u64(j, "services", v->services);
	json_bool(j, "disable_relay_tx", v->disable_relay_tx);
	json_i64(j, "peer_timestamp_ms", v->timestamp_ms);
	static const struct kaspa_version_unknown none;
	const struct kaspa_version_unknown *u = p->unknown ? p->unknown : &none;
	log_unknown_fields(j, "unknown_fields", "unknown_fields_dropped",
	    &u->version);
	if (v->has_address)
		log_unknown_fields(j, "advertised_unknown_fields",
		    "advertised_unknown_fields_dropped", &u->address);
	else
		json_null(j, "advertised_unknown_fields");
	log_unknown_fields(j, "message_unknown_fields",
	    "message_unknown_fields_dropped", &u->message);
}

/* [{"target":..,"kind":..,"connect":..,"rtt_ms":..,"verify":..}, ...]:
 * every string in it is ours, so nothing needs escaping. */
static void probe_attempts_json(const struct probe_report *r, char *out,
    size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "[");

	for (unsigned i = 0; i < r->n_tried && n < cap; i++) {
		const struct probe_attempt *a = &r->tried[i];
		char rtt[32] = "null", verify[24] = "null";
		if (a->rtt_us >= 0)
			snprintf(rtt, sizeof rtt, "%lld.%03lld",
			    (long long)(a->rtt_us / 1000),
			    (long long)(a->rtt_us % 1000));
		if (a->verify != NULL)
			snprintf(verify, sizeof verify, "\"%s\"", a->verify);
		n += (size_t)snprintf(out + n, cap - n, "%s{\"target\":\"%s\","
		    "\"kind\":\"%s\",\"connect\":\"%s\",\"rtt_ms\":%s,"
		    "\"verify\":%s}", i ? "," : "", a->target, a->kind,
		    a->connect, rtt, verify);
	}
	if (n < cap)
		snprintf(out + n, cap - n, "]");
}

static void log_probe(struct json_line *j, const struct peer *p)
{
	const struct probe_report *r = &p->probe;
	char attempts[ATTEMPTS_JSON_MAX];

	if (!p->probe_started) {
		json_null(j, "classification");
		json_null(j, "classification_reason");
		return;
	}
	json_str(j, "classification", r->classification);
	json_str(j, "classification_reason", r->reason);
	if (r->cached_reason != NULL)
		json_str(j, "cached_reason", r->cached_reason);
	json_str(j, "probe_target", r->target[0] ? r->target : NULL);
	if (r->via != NULL)
		json_str(j, "probe_via", r->via);
	if (r->n_tried > 0) {
		probe_attempts_json(r, attempts, sizeof attempts);
		json_raw(j, "probe_attempts", attempts);
		json_ms(j, "probe_ms", r->duration_us);
	}
}

/* The connection in the Prometheus counters (metrics.h). */
static void peer_count(const struct peer *p)
{
	const struct probe_report *r = &p->probe;
	struct metrics_conn c = {
		.outcome = p->outcome ? p->outcome : "closed",
		.protocol_version = p->handshake_us >= 0 ?
		    (int64_t)p->version.protocol_version : -1,
		.classification = p->probe_started ? r->classification : NULL,
		.reason = r->reason,
		.probe_us = p->probe_started && r->n_tried > 0 ?
		    r->duration_us : -1,
	};
	metrics_count_conn(&p->s->metrics, &c);
}

/* The longest line peer_log can build: all 40 members present, each key
 * as long as the longest, every string a peer or the operator chose
 * (sensor id, network) made of control bytes that escape to \u00XX (6
 * bytes each), every number and word of ours at its widest.  11,138
 * bytes by this count; member by member the worst is 9,667, and
 * test/interop/test_line_length.py has a line of ~8,650 written. */
#define KEY_WORST (sizeof ",\"advertised_unknown_fields_dropped\":" - 1)
#define STR_WORST(n) (2 + 6 * (size_t)(n))      /* n bytes, quoted */
#define HEX_WORST(n) (2 + 2 * (size_t)(n))      /* n bytes as hex, quoted */
#define TEXT_WORST(cap) (2 + (size_t)(cap) - 1) /* ours, from a buffer */
#define NUMBER_WORST 21   /* -9223372036854775.808: json_ms of INT64_MIN */
#define WORD_WORST 23     /* "default_port_verified": our longest word */
#define LINE_WORST (3 /* {}\n */ + \
	/* sensor_id, user_agent, network, http_user_agent, reject_reason */ \
	5 * KEY_WORST + STR_WORST(CONFIG_STR_MAX - 1) + \
	    STR_WORST(KASPA_UA_MAX) + STR_WORST(KASPA_NETWORK_MAX) + \
	    STR_WORST(HTTP_UA_MAX - 1) + STR_WORST(KASPA_REASON_MAX) + \
	/* peer_id, first_bytes */ \
	2 * KEY_WORST + HEX_WORST(KASPA_ID_MAX) + HEX_WORST(FIRST_BYTES) + \
	/* the three unknown-field lists, probe_attempts */ \
	4 * KEY_WORST + 3 * (UNKNOWN_LIST_MAX - 1) + ATTEMPTS_JSON_MAX - 1 + \
	/* ts, event_id, peer_ip, advertised_address, probe_target */ \
	5 * KEY_WORST + TEXT_WORST(JSON_TIMESTAMP_LEN) + \
	    TEXT_WORST(NDJSON_EVENT_ID_MAX) + 3 * TEXT_WORST(ADDR_TEXT_MAX) + \
	/* 14 numbers; 10 words of ours and booleans */ \
	14 * (KEY_WORST + NUMBER_WORST) + 10 * (KEY_WORST + WORD_WORST))
_Static_assert(LINE_WORST < JSON_LINE_MAX, "a connection's line must fit");

static void peer_log(struct peer *p)
{
	static struct json_line j;
	char ts[JSON_TIMESTAMP_LEN], event_id[NDJSON_EVENT_ID_MAX];
	struct sensor *s = p->s;

	peer_count(p);
	json_timestamp(ts, &p->accepted_wall);
	ndjson_event_id(&s->log, event_id);
	json_begin(&j);
	json_str(&j, "ts", ts);
	json_str(&j, "event_id", event_id);
	json_str(&j, "sensor_id", s->cfg->sensor_id);
	json_str(&j, "direction", "inbound");
	json_str(&j, "peer_ip", p->ip_text);
	json_u64(&j, "peer_port", p->port);
	json_u64(&j, "local_port", p->local_port);
	log_version(&j, p);
	if (p->sent_version)
		json_u64(&j, "our_protocol_version", p->our_version);
	else
		json_null(&j, "our_protocol_version");
	json_str(&j, "version_order", !p->got_version || !p->sent_version ?
	    NULL : p->peer_first ? "peer_first" : "sensor_first");
	json_str(&j, "http_user_agent", p->http_user_agent[0] ?
	    p->http_user_agent : NULL);
	json_bool(&j, "compressed", p->compressed);
	if (p->handshake_us >= 0)
		json_ms(&j, "handshake_ms", p->handshake_us);
	else
		json_null(&j, "handshake_ms");
	json_ms(&j, "duration_ms", p->closed_us - p->accepted_us);
	json_str(&j, "stage_reached", stage_names[p->stage]);
	json_str(&j, "outcome", p->outcome ? p->outcome : "closed");
	json_str(&j, "reject_reason", p->reject_reason);
	log_probe(&j, p);
	if (p->stage == STAGE_TCP && p->first_len > 0)
		json_hex(&j, "first_bytes", p->first_bytes, p->first_len);
	json_u64(&j, "bytes_in", p->bytes_in);
	json_u64(&j, "bytes_out", p->bytes_out);
	if (json_end(&j) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: line too long, dropped\n",
		    __func__);
		metrics_count_log(&s->metrics, 0, false);
		return;
	}
	bool written = ndjson_write(&s->log, j.buf, j.len) == 0;
	metrics_count_log(&s->metrics, j.len, written);
	if (!written)
		fprintf(stderr, "kaspa-sensor: %s: %s: %s\n", __func__,
		    s->log.path, strerror(errno));
}

/* The one cleanup path: the socket goes now, the line and the memory
 * once the probe (if any) has its verdict (probe_done calls back here). */
static void peer_close(struct peer *p)
{
	struct sensor *s = p->s;

	if (!p->released) {
		p->released = true;
		p->closed_us = now_us();
		if (p->counted_ip)
			ipmap_dec(&s->per_ip, &p->ip);
		loop_del(&s->loop, p->slot);
		close(p->fd);
		if (p->prev)
			p->prev->next = p->next;
		else
			s->peers = p->next;
		if (p->next)
			p->next->prev = p->prev;
		s->n_peers--;
	}
	if (p->probe_pending)
		return;
	peer_log(p);
	h2_free(&p->h2);
	free(p->unknown);
	free(p->reject_reason);
	free(p);
}

void peer_close_all(struct sensor *s)
{
	while (s->peers != NULL) {
		struct peer *p = s->peers;
		peer_finish(p, "shutdown");
		peer_flush(p);
		peer_close(p);
	}
}

/* ---- start ---- */

static uint16_t local_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	return ntohs(sa.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&sa)->sin_port :
	    ((struct sockaddr_in6 *)&sa)->sin6_port);
}

static void peer_init(struct peer *p, struct sensor *s, int fd)
{
	memset(p, 0, sizeof *p);
	p->s = s;
	p->fd = fd;
	p->handshake_us = -1;
	p->accepted_us = now_us();
	clock_gettime(CLOCK_REALTIME, &p->accepted_wall);
	p->local_port = local_port(fd);
}

int peer_accept(struct sensor *s, int fd, const struct sockaddr_storage *sa,
    const char *refuse)
{
	struct peer *p = malloc(sizeof *p);

	if (p == NULL) {
		close(fd);
		return -1;
	}
	peer_init(p, s, fd);
	p->port = addr_from_sockaddr(&p->ip, sa);
	addr_ip_text(&p->ip, p->ip_text, sizeof p->ip_text);
	p->slot = loop_add(&s->loop, fd, POLLIN, peer_event, p);
	if (p->slot < 0) {
		free(p);
		close(fd);
		return -1;
	}
	p->next = s->peers;
	if (s->peers)
		s->peers->prev = p;
	s->peers = p;
	s->n_peers++;
	if (refuse == NULL && ipmap_inc(&s->per_ip, &p->ip) != 0) {
		p->counted_ip = true;
		if (ipmap_get(&s->per_ip, &p->ip) > s->cfg->max_conns_per_ip)
			refuse = "ip_limit";
	} else if (refuse == NULL) {
		refuse = "conn_limit";
	}
	if (refuse != NULL) {
		p->outcome = refuse;
		peer_close(p);
		return 0;
	}
	h2_init(&p->h2, H2_SERVER, &callbacks, p);
	set_state(p, PEER_WAIT_CALL, (int64_t)s->cfg->stage_timeout_ms);
	peer_flush(p);
	return 0;
}
