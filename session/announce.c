/* announce.c - see announce.h. */
#include "announce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "client.h"
#include "json_write.h"

struct candidate {
	struct ip_key ip;
	uint16_t port;
	int64_t last_ms;           /* last dial, 0 = never */
};

struct session {
	struct announcer *a;
	struct client *client;     /* NULL: free */
	struct ip_key ip;
	uint16_t port;
	struct timespec started;
};

struct announcer {
	struct json_line line;      /* log_session's */
	struct announce_config cfg;
	struct loop *loop;
	struct ndjson_log *log;
	struct client_config ccfg;
	int timer_slot;
	unsigned n_cand;
	struct candidate cand[ANNOUNCE_CANDIDATES_MAX];
	struct session sess[ANNOUNCE_ROUND_MAX];
};

static void add_candidate(struct announcer *a, const struct ip_key *ip,
    uint16_t port)
{
	if (port == 0 || a->n_cand >= ANNOUNCE_CANDIDATES_MAX ||
	    (!a->cfg.allow_private && !addr_is_routable(ip)) ||
	    (port == a->cfg.external_port &&
	     memcmp(ip, &a->cfg.external, sizeof *ip) == 0))
		return;
	for (unsigned i = 0; i < a->n_cand; i++)
		if (a->cand[i].port == port &&
		    memcmp(&a->cand[i].ip, ip, sizeof *ip) == 0)
			return;
	a->cand[a->n_cand++] = (struct candidate){ *ip, port, 0 };
}

static void log_session(struct session *s, const struct client_result *r)
{
	struct json_line *j = &s->a->line;
	char ts[JSON_TIMESTAMP_LEN], text[ADDR_TEXT_MAX];
	char event_id[NDJSON_EVENT_ID_MAX];
	struct announcer *a = s->a;

	json_timestamp(ts, &s->started);
	addr_text(&s->ip, s->port, text, sizeof text);
	ndjson_event_id(a->log, event_id);
	json_begin(j);
	json_str(j, "ts", ts);
	json_str(j, "event_id", event_id);
	json_str(j, "sensor_id", a->cfg.sensor_id);
	json_str(j, "direction", "announce");
	json_str(j, "peer_address", text);
	json_str(j, "outcome", r->outcome);
	json_str(j, "stage_reached", client_stage_name(r->stage));
	if (r->got_version) {
		json_hex(j, "peer_id", r->version.id, r->version.id_len);
		json_str(j, "user_agent", r->version.user_agent);
		json_u64(j, "protocol_version", r->version.protocol_version);
	}
	json_u64(j, "requests_answered", r->requests_answered);
	json_u64(j, "pings_answered", r->pings_answered);
	json_u64(j, "addresses_received", r->addresses);
	json_ms(j, "duration_ms", r->duration_us);
	if (json_end(j) != 0 || ndjson_write(a->log, j->buf, j->len) != 0)
		fprintf(stderr, "kaspa-sensor: %s: line dropped: %s\n", __func__,
		    strerror(errno));
}

static void on_addresses(void *ctx, const struct kaspa_msg *m)
{
	struct session *s = ctx;

	for (size_t i = 0; i < m->u.addresses.count; i++) {
		const struct kaspa_netaddr *n = &m->u.addresses.list[i];
		struct ip_key ip;
		if (n->port <= 65535 &&
		    addr_from_bytes(&ip, n->ip, n->ip_len) == 0)
			add_candidate(s->a, &ip, (uint16_t)n->port);
	}
}

static void on_done(void *ctx, const struct client_result *r)
{
	struct session *s = ctx;

	log_session(s, r);
	s->client = NULL;
}

static const struct client_callbacks session_cb = {
	.on_version = NULL,
	.on_addresses = on_addresses,
	.on_done = on_done,
};

static struct session *free_session(struct announcer *a)
{
	for (uint64_t i = 0; i < a->cfg.per_round; i++)
		if (a->sess[i].client == NULL)
			return &a->sess[i];
	return NULL;
}

/* Dial up to per_round candidates not dialed within the redial period,
 * starting at a random one. */
static void round_start(struct announcer *a)
{
	int64_t now = now_ms();
	uint32_t r = 0;
	struct session *s;

	if (a->n_cand == 0)
		return;
	(void)!getrandom(&r, sizeof r, 0);
	for (unsigned k = 0; k < a->n_cand && (s = free_session(a)) != NULL;
	    k++) {
		struct candidate *c = &a->cand[(r + k) % a->n_cand];
		if (c->last_ms != 0 && now - c->last_ms < (int64_t)a->cfg.redial_ms)
			continue;
		c->last_ms = now;
		s->a = a;
		s->ip = c->ip;
		s->port = c->port;
		clock_gettime(CLOCK_REALTIME, &s->started);
		s->client = client_start(a->loop, &a->ccfg, &c->ip, c->port,
		    &session_cb, s);
		if (s->client == NULL)
			break;     /* out of sockets or slots: next round */
	}
}

static void on_timer(struct loop *l, int slot, short revents, void *ud)
{
	struct announcer *a = ud;
	(void)revents;

	round_start(a);
	loop_set_deadline(l, slot, now_ms() + (int64_t)a->cfg.interval_ms);
}

/* 0, or -1 with the reason in why[why_len]. */
static int add_peer_list(struct announcer *a, const char *list, char *why,
    size_t why_len)
{
	char buf[256], *save = NULL;

	if (list == NULL || list[0] == '\0')
		return 0;
	if (strlen(list) >= sizeof buf) {
		snprintf(why, why_len, "--announce-peers: longer than %zu bytes",
		    sizeof buf - 1);
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		struct ip_key ip;
		uint16_t port;
		if (addr_parse(t, &ip, &port) != 0) {
			snprintf(why, why_len, "--announce-peers: bad peer '%s'"
			    " (IP:PORT only: DNS names are not resolved yet)", t);
			return -1;
		}
		add_candidate(a, &ip, port);
	}
	return 0;
}

static void make_client_config(struct announcer *a)
{
	const struct announce_config *c = &a->cfg;
	struct client_config *cc = &a->ccfg;
	struct kaspa_netaddr *ours = &cc->address;
	bool v4 = addr_is_v4(&c->external);

	memset(cc, 0, sizeof *cc);
	cc->shared = c->shared;
	cc->network = c->network;
	cc->user_agent = c->user_agent;
	cc->protocol_version = c->protocol_version;
	memcpy(cc->node_id, c->node_id, KASPA_ID_LEN);
	ours->ip_len = v4 ? 4 : 16;
	memcpy(ours->ip, c->external.b + (v4 ? 12 : 0), ours->ip_len);
	ours->port = c->external_port;
	cc->has_address = true;         /* in our Version, and the answer */
	cc->answer[0] = *ours;
	cc->n_answer = 1;
	cc->address_requests = 1;
	cc->connect_timeout_ms = 2000;
	cc->stage_timeout_ms = 4000;
	cc->request_timeout_ms = 10000;
	cc->linger_ms = c->linger_ms;
	cc->proxy = c->proxy;
}

struct announcer *announce_start(const struct announce_config *cfg,
    struct loop *l, struct ndjson_log *log, char *why, size_t why_len)
{
	struct announcer *a = calloc(1, sizeof *a);

	if (a == NULL) {
		snprintf(why, why_len, "announce: out of memory");
		return NULL;
	}
	a->cfg = *cfg;
	if (a->cfg.per_round > ANNOUNCE_ROUND_MAX)
		a->cfg.per_round = ANNOUNCE_ROUND_MAX;
	a->loop = l;
	a->log = log;
	make_client_config(a);
	if (add_peer_list(a, cfg->peers, why, why_len) != 0) {
		free(a);
		return NULL;
	}
	if ((a->timer_slot = loop_add(l, -1, 0, on_timer, a)) < 0) {
		snprintf(why, why_len, "announce: no loop slot");
		free(a);
		return NULL;
	}
	if (a->n_cand == 0)
		fprintf(stderr, "kaspa-sensor: %s: no peer to announce to yet"
		    " (see --announce-peers)\n", __func__);
	loop_set_deadline(l, a->timer_slot, now_ms() + 1);
	return a;
}

void announce_free(struct announcer *a)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < ANNOUNCE_ROUND_MAX; i++)
		if (a->sess[i].client != NULL)
			client_abort(a->sess[i].client);
	loop_del(a->loop, a->timer_slot);
	free(a);
}
