/* peer_log.c - see peer_log.h. */
#include "peer_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "hex.h"
#include "json_write.h"

#define UNKNOWN_LIST_MAX 640   /* one unknown-field list's share of the line */
#define ATTEMPTS_JSON_MAX 1024 /* probe_attempts (3 take at most 520) */

static const char *const stage_names[] = {
	"tcp", "http2", "call", "version", "verack", "ready",
};

void peer_keep_first_bytes(struct peer_record *r, const uint8_t *buf,
    size_t n)
{
	size_t k = FIRST_BYTES - r->first_len;

	if (k > n)
		k = n;
	memcpy(r->first_bytes + r->first_len, buf, k);
	r->first_len += k;
}

const char *peer_preface_outcome(const struct peer_record *r)
{
	const uint8_t *b = r->first_bytes;
	if (r->first_len >= 2 && b[0] == 0x16 && b[1] == 0x03)
		return "tls";
	size_t i = 0;
	while (i < r->first_len && b[i] >= 'A' && b[i] <= 'Z')
		i++;
	if (i >= 3 && i < r->first_len && b[i] == ' ')
		return "http1";
	return "not_http2";
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

static void log_version(struct json_line *j, const struct peer_record *p)
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

static void log_probe(struct json_line *j, const struct peer_record *p)
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
static void peer_count(struct sensor *s, const struct peer_record *p)
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
	metrics_count_conn(&s->metrics, &c);
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

void peer_log(struct sensor *s, const struct peer_record *p)
{
	struct json_line *j = &s->line;
	char ts[JSON_TIMESTAMP_LEN], event_id[NDJSON_EVENT_ID_MAX];

	peer_count(s, p);
	json_timestamp(ts, &p->accepted_wall);
	ndjson_event_id(&s->log, event_id);
	json_begin(j);
	json_str(j, "ts", ts);
	json_str(j, "event_id", event_id);
	json_str(j, "sensor_id", s->cfg->sensor_id);
	json_str(j, "direction", "inbound");
	json_str(j, "peer_ip", p->ip_text);
	json_u64(j, "peer_port", p->port);
	json_u64(j, "local_port", p->local_port);
	log_version(j, p);
	if (p->sent_version)
		json_u64(j, "our_protocol_version", p->our_version);
	else
		json_null(j, "our_protocol_version");
	json_str(j, "version_order", !p->got_version || !p->sent_version ?
	    NULL : p->peer_first ? "peer_first" : "sensor_first");
	json_str(j, "http_user_agent", p->http_user_agent[0] ?
	    p->http_user_agent : NULL);
	json_bool(j, "compressed", p->compressed);
	if (p->handshake_us >= 0)
		json_ms(j, "handshake_ms", p->handshake_us);
	else
		json_null(j, "handshake_ms");
	json_ms(j, "duration_ms", p->closed_us - p->accepted_us);
	json_str(j, "stage_reached", stage_names[p->stage]);
	json_str(j, "outcome", p->outcome ? p->outcome : "closed");
	json_str(j, "reject_reason", p->reject_reason);
	log_probe(j, p);
	if (p->stage == STAGE_TCP && p->first_len > 0)
		json_hex(j, "first_bytes", p->first_bytes, p->first_len);
	json_u64(j, "bytes_in", p->bytes_in);
	json_u64(j, "bytes_out", p->bytes_out);
	if (json_end(j) != 0) {
		fprintf(stderr, "kaspa-sensor: %s: line too long, dropped\n",
		    __func__);
		metrics_count_log(&s->metrics, 0, false);
		return;
	}
	bool written = ndjson_write(&s->log, j->buf, j->len) == 0;
	metrics_count_log(&s->metrics, j->len, written);
	if (!written)
		fprintf(stderr, "kaspa-sensor: %s: %s: %s\n", __func__,
		    s->log.path, strerror(errno));
}
