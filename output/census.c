/* census.c - the census over NDJSON lines (see census.h): tables, the
 * line reader, the classes and the estimators.  Output and the command
 * line: census_out.c. */
#include "census.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "jsonr.h"
#include "report.h"

#define READ_BUF (1u << 20)     /* file reads; holds any whole line */
#define NAMES_SLOTS0 64u
#define NODES0 1024u

/* ---- hashing, seeded per run (census_init): chains cannot be planned ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return (uint32_t)mix64(h ^ n);
}

/* ---- interned names ---- */

static int names_init(struct census_names *t, uint32_t max)
{
	memset(t, 0, sizeof *t);
	t->max = max;
	t->last = CENSUS_NONE;
	t->slot_mask = NAMES_SLOTS0 - 1;
	t->slot = calloc(NAMES_SLOTS0, sizeof *t->slot);
	return t->slot == NULL ? -1 : 0;
}

static void names_free(struct census_names *t)
{
	free(t->text);
	free(t->start);
	free(t->hash);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

const char *census_name(const struct census_names *t, uint32_t k)
{
	return k < t->n ? t->text + t->start[k] : NULL;
}

/* *p holds *cap elements of size bytes; make room for need of them. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return 0;
	if ((q = realloc(*p, n * size)) == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Replaces *slot (an open-addressing index, *mask + 1 slots) by one of
 * `slots` slots (a power of two) over entries 0..n-1, entry k at
 * hash(ctx, k), each slot k + 1 (0: empty).  -1 if out of memory (the old
 * index stays). */
static int index_rebuild(uint32_t **slot, uint32_t *mask, uint32_t slots,
    uint32_t n, uint32_t (*hash)(const void *ctx, uint32_t k),
    const void *ctx)
{
	uint32_t *s = calloc(slots, sizeof *s);

	if (s == NULL)
		return -1;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = hash(ctx, k) & (slots - 1);
		while (s[i] != 0)
			i = (i + 1) & (slots - 1);
		s[i] = k + 1;
	}
	free(*slot);
	*slot = s;
	*mask = slots - 1;
	return 0;
}

static uint32_t name_hash(const void *ctx, uint32_t k)
{
	return ((const struct census_names *)ctx)->hash[k];
}

static int names_rehash(struct census_names *t)
{
	return index_rebuild(&t->slot, &t->slot_mask, (t->slot_mask + 1) * 2,
	    t->n, name_hash, t);
}

/* Where name s is (its index), or CENSUS_NONE with *empty the free slot
 * where it would go. */
static uint32_t names_probe(const struct census_names *t, uint32_t h,
    const char *s, size_t len, uint32_t *empty)
{
	uint32_t i = h & t->slot_mask;

	for (; t->slot[i] != 0; i = (i + 1) & t->slot_mask) {
		uint32_t k = t->slot[i] - 1;
		const char *name = t->text + t->start[k];
		if (t->hash[k] == h && strncmp(name, s, len) == 0 &&
		    name[len] == '\0')
			return k;
	}
	*empty = i;
	return CENSUS_NONE;
}

static uint32_t names_find(const struct census_names *t, uint64_t seed,
    const char *s, size_t len)
{
	uint32_t empty;
	return names_probe(t, hash_bytes(seed, s, len), s, len, &empty);
}

/* Index of name s (len bytes, no NUL inside), added if new; CENSUS_NONE
 * when the table is full or out of memory (counted in refused). */
static uint32_t names_get(struct census_names *t, uint64_t seed,
    const char *s, size_t len)
{
	const char *last = census_name(t, t->last);
	if (last != NULL && strncmp(last, s, len) == 0 && last[len] == '\0')
		return t->last;      /* lines of one sensor come in runs */
	uint32_t h = hash_bytes(seed, s, len), i;
	uint32_t k = names_probe(t, h, s, len, &i);
	size_t cap_hash = t->idx_cap;

	if (k != CENSUS_NONE)
		return t->last = k;
	if (t->n >= t->max ||
	    grow((void **)&t->hash, &cap_hash, t->n + 1, sizeof *t->hash) ||
	    grow((void **)&t->start, &t->idx_cap, t->n + 1, sizeof *t->start) ||
	    grow((void **)&t->text, &t->text_cap, t->text_len + len + 1, 1)) {
		t->refused++;
		return CENSUS_NONE;
	}
	memcpy(t->text + t->text_len, s, len);
	t->text[t->text_len + len] = '\0';
	t->start[t->n] = (uint32_t)t->text_len;
	t->hash[t->n] = h;
	t->text_len += len + 1;
	t->slot[i] = ++t->n;
	if (t->n * 2 > t->slot_mask + 1 && names_rehash(t) != 0) {
		t->slot[i] = 0;      /* keep the table as it was */
		t->n--;
		t->text_len -= len + 1;
		t->refused++;
		return CENSUS_NONE;
	}
	return t->last = t->n - 1;
}

/* ---- nodes and (IP, id) pairs ---- */

static uint32_t node_hash(const void *ctx, uint32_t k)
{
	const struct census *c = ctx;
	return hash_bytes(c->seed, c->node[k].id, CENSUS_ID_LEN);
}

static int nodes_rehash(struct census *c)
{
	return index_rebuild(&c->node_slot, &c->node_mask,
	    (c->node_mask + 1) * 2, c->n_nodes, node_hash, c);
}

/* The slot holding this id, or the free one where it would go. */
static uint32_t node_slot(const struct census *c,
    const uint8_t id[CENSUS_ID_LEN])
{
	uint32_t i = hash_bytes(c->seed, id, CENSUS_ID_LEN) & c->node_mask;

	while (c->node_slot[i] != 0 &&
	    memcmp(c->node[c->node_slot[i] - 1].id, id, CENSUS_ID_LEN) != 0)
		i = (i + 1) & c->node_mask;
	return i;
}

/* The node with this id, added if new; NULL when the table is full. */
static struct census_node *node_get(struct census *c,
    const uint8_t id[CENSUS_ID_LEN])
{
	uint32_t i = node_slot(c, id);

	if (c->node_slot[i] != 0)
		return &c->node[c->node_slot[i] - 1];
	if (c->n_nodes >= CENSUS_NODES_MAX ||
	    grow((void **)&c->node, &c->node_cap, c->n_nodes + 1,
	    sizeof *c->node) != 0 ||
	    ((c->n_nodes + 1) * 2 > c->node_mask + 1 &&
	     nodes_rehash(c) != 0)) {
		c->nodes_refused++;
		return NULL;
	}
	i = node_slot(c, id);            /* the index may have grown */
	struct census_node *nd = &c->node[c->n_nodes];
	memset(nd, 0, sizeof *nd);
	memcpy(nd->id, id, CENSUS_ID_LEN);
	nd->first_ms = nd->last_ms = CENSUS_NO_TIME;
	nd->user_agent = nd->fork = nd->protocol_version = CENSUS_NONE;
	c->node_slot[i] = ++c->n_nodes;
	return nd;
}

static int pairs_rehash(struct census *c, uint64_t slots)
{
	uint64_t *s = calloc(slots, sizeof *s);

	if (s == NULL)
		return -1;
	for (uint64_t k = 0; k <= c->pair_mask; k++) {
		if (c->pair[k] == 0)
			continue;
		uint64_t i = mix64(c->pair[k] ^ c->seed) & (slots - 1);
		while (s[i] != 0)
			i = (i + 1) & (slots - 1);
		s[i] = c->pair[k];
	}
	free(c->pair);
	c->pair = s;
	c->pair_mask = slots - 1;
	return 0;
}

/* Record that node k was seen on this IP (text). */
static void ip_seen(struct census *c, const char *ip, uint32_t k)
{
	uint32_t ipk = names_get(&c->ips, c->seed, ip, strlen(ip));

	if (ipk == CENSUS_NONE)
		return;
	size_t had = c->ip_ids_cap;
	if (grow((void **)&c->ip_ids, &c->ip_ids_cap, (size_t)ipk + 1,
	    sizeof *c->ip_ids) != 0) {
		c->pairs_refused++;
		return;
	}
	memset(c->ip_ids + had, 0, (c->ip_ids_cap - had) * sizeof *c->ip_ids);
	uint64_t key = (uint64_t)(ipk + 1) << 32 | k;
	uint64_t i = mix64(key ^ c->seed) & c->pair_mask;
	for (; c->pair[i] != 0; i = (i + 1) & c->pair_mask)
		if (c->pair[i] == key)
			return;
	if (c->n_pairs >= CENSUS_PAIRS_MAX) {
		c->pairs_refused++;
		return;
	}
	c->pair[i] = key;
	c->n_pairs++;
	c->ip_ids[ipk]++;
	if ((uint64_t)c->n_pairs * 2 > c->pair_mask + 1 &&
	    pairs_rehash(c, (c->pair_mask + 1) * 2) != 0) {
		c->pair[i] = 0;
		c->n_pairs--;
		c->ip_ids[ipk]--;
		c->pairs_refused++;
	}
}

/* ---- one line's members ---- */

enum key {
	K_TS, K_DIRECTION, K_TYPE, K_SENSOR_ID, K_PEER_IP, K_NETWORK,
	K_PEER_ID, K_PROTOCOL_VERSION, K_USER_AGENT, K_SERVICES,
	K_UNKNOWN_FIELDS, K_ADVERTISED_UNKNOWN_FIELDS,
	K_MESSAGE_UNKNOWN_FIELDS, K_CLASSIFICATION, K_REASON, K_CACHED_REASON,
	K_CRAWL_ID, K_ADDRESS, K_REACHABLE, K_COUNT
};

static const char *const key_name[K_COUNT] = {
	"ts", "direction", "type", "sensor_id", "peer_ip", "network",
	"peer_id", "protocol_version", "user_agent", "services",
	"unknown_fields", "advertised_unknown_fields",
	"message_unknown_fields", "classification", "classification_reason",
	"cached_reason", "crawl_id", "address", "reachable",
};

#define KEY_LEN_MAX 32           /* longer member names are not ours */
#define KEY_SLOTS CENSUS_KEY_SLOTS
_Static_assert(K_COUNT <= CENSUS_KEYS_MAX, "struct census_keys");

/* A cheap hash of a member name: the line's keys are looked up by it. */
static uint32_t key_hash(const char *name, size_t len)
{
	return len == 0 ? 0 : (uint32_t)(len * 7 + (unsigned char)name[0] * 3 +
	    (unsigned char)name[len - 1] * 5 + (unsigned char)name[len / 2]) %
	    KEY_SLOTS;
}

static void keys_build(struct census_keys *t)
{
	memset(t, 0, sizeof *t);
	for (int k = 0; k < K_COUNT; k++) {
		t->size[k] = strlen(key_name[k]);
		uint32_t i = key_hash(key_name[k], t->size[k]);
		while (t->slot[i] != 0)
			i = (i + 1) % KEY_SLOTS;
		t->slot[i] = (int8_t)(k + 1);
	}
}

/* Member name -> key. */
static int key_of(const struct census_keys *t, const char *name, size_t len)
{
	for (uint32_t i = key_hash(name, len); t->slot[i] != 0;
	    i = (i + 1) % KEY_SLOTS) {
		int k = t->slot[i] - 1;
		if (t->size[k] == len && memcmp(key_name[k], name, len) == 0)
			return k;
	}
	return -1;
}

#define ABSENT SIZE_MAX

struct line {
	const char *p;
	size_t n;
	size_t at[K_COUNT];          /* index of the first such member's
	                              * value, or ABSENT */
};

/* The whole line must be one JSON object. */
static int read_members(const struct census_keys *keys, struct line *ln,
    const char *p, size_t n)
{
	struct jsonr_iter it;
	char key[KEY_LEN_MAX];
	size_t v;
	int r;

	ln->p = p;
	ln->n = n;
	for (int k = 0; k < K_COUNT; k++)
		ln->at[k] = ABSENT;
	if (jsonr_iter_begin(&it, p, n, 0) != 0 || it.close != '}')
		return -1;
	while ((r = jsonr_iter_next(&it, p, n, key, sizeof key, &v)) == 1) {
		int k = key_of(keys, key, it.key_len);
		long end = jsonr_skip(p, n, v);
		if (end < 0)
			return -1;
		if (k >= 0 && ln->at[k] == ABSENT)
			ln->at[k] = v;
		it.next = (size_t)end;
	}
	return r == 0 && jsonr_ws(p, n, it.next) == n ? 0 : -1;
}

static bool is_null(const struct line *ln, enum key k)
{
	return ln->at[k] == ABSENT || ln->p[ln->at[k]] == 'n';
}

/* 1: the string, decoded into out; 0: absent or null; -1: not a string,
 * or longer than cap allows. */
static int get_str(const struct line *ln, enum key k, char *out, size_t cap)
{
	size_t len;

	if (is_null(ln, k))
		return 0;
	return jsonr_string(ln->p, ln->n, ln->at[k], out, cap, &len) < 0 ?
	    -1 : 1;
}

/* 1: the number; 0: absent or null; -1: not an unsigned integer. */
static int get_u64(const struct line *ln, enum key k, uint64_t *v)
{
	if (is_null(ln, k))
		return 0;
	return jsonr_u64(ln->p, ln->n, ln->at[k], v) < 0 ? -1 : 1;
}

static bool str_is(const struct line *ln, enum key k, const char *want)
{
	char s[32];
	return get_str(ln, k, s, sizeof s) == 1 && strcmp(s, want) == 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* 32 lowercase hex digits, as the sensor writes a 16-byte id. */
static bool read_id(const struct line *ln, uint8_t id[CENSUS_ID_LEN])
{
	char hex[2 * CENSUS_ID_LEN + 1];

	if (get_str(ln, K_PEER_ID, hex, sizeof hex) != 1 ||
	    strlen(hex) != 2 * CENSUS_ID_LEN)
		return false;
	for (size_t i = 0; i < 2 * CENSUS_ID_LEN; i++) {
		char ch = hex[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' :
		    ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
		if (d < 0)
			return false;
		id[i / 2] = (uint8_t)(i % 2 ? id[i / 2] << 4 | d : d);
	}
	return true;
}

/* "field" numbers of an array of unknown fields, "," separated, appended
 * to out after "label:" (nothing if the array is empty or null).  -1 if it
 * is not such an array or out is full. */
static int fork_fields(const struct line *ln, enum key k, const char *label,
    char *out, size_t cap)
{
	struct jsonr_iter it;
	size_t v, len = strlen(out), first = 1;
	uint64_t field;
	int r;

	if (is_null(ln, k))
		return 0;
	if (jsonr_iter_begin(&it, ln->p, ln->n, ln->at[k]) != 0 ||
	    it.close != ']')
		return -1;
	while ((r = jsonr_iter_next(&it, ln->p, ln->n, NULL, 0, &v)) == 1) {
		long f = jsonr_member(ln->p, ln->n, v, "field");
		long end = jsonr_skip(ln->p, ln->n, v);
		if (f < 0 || end < 0 ||
		    jsonr_u64(ln->p, ln->n, (size_t)f, &field) < 0)
			return -1;
		int w = snprintf(out + len, cap - len, "%s%s%llu",
		    first ? (len ? " " : "") : ",", first ? label : "",
		    (unsigned long long)field);
		if (w < 0 || (size_t)w >= cap - len)
			return -1;
		len += (size_t)w;
		first = 0;
		it.next = (size_t)end;
	}
	return r;
}

/* ---- using a line ---- */

enum use {
	USED, BAD, OTHER_KIND, OUTSIDE_WINDOW, NO_ID, OTHER_NETWORK,
	CRAWL_UNKNOWN
};

enum kind { KIND_INBOUND, KIND_CRAWL_PEER, KIND_CRAWL_START, KIND_OTHER };

static enum kind kind_of(const struct line *ln)
{
	if (ln->at[K_DIRECTION] != ABSENT)
		return str_is(ln, K_DIRECTION, "inbound") ? KIND_INBOUND :
		    KIND_OTHER;
	if (str_is(ln, K_TYPE, "peer"))
		return KIND_CRAWL_PEER;
	if (str_is(ln, K_TYPE, "crawl_start"))
		return KIND_CRAWL_START;
	return KIND_OTHER;
}

static enum use crawl_start(struct census *c, const struct line *ln)
{
	char id[CENSUS_NAME_LEN], network[sizeof c->network];

	if (get_str(ln, K_CRAWL_ID, id, sizeof id) != 1)
		return BAD;
	int has = get_str(ln, K_NETWORK, network, sizeof network);
	if (has < 0)
		return BAD;
	uint32_t k = names_get(&c->crawls, c->seed, id, strlen(id));
	if (k != CENSUS_NONE)
		c->crawl_same_network[k] = has == 1 &&
		    strcmp(network, c->network) == 0;
	return USED;
}

static void keep_smallest_name(const struct census_names *t, uint32_t *have,
    uint32_t k)
{
	if (k != CENSUS_NONE && (*have == CENSUS_NONE ||
	    strcmp(census_name(t, k), census_name(t, *have)) < 0))
		*have = k;
}

/* The Version members both kinds of line carry.  -1 if malformed. */
struct version_members {
	char user_agent[CENSUS_NAME_LEN];
	bool has_user_agent, has_protocol_version;
	uint64_t protocol_version;
};

static int read_version(const struct line *ln, struct version_members *v)
{
	int ua = get_str(ln, K_USER_AGENT, v->user_agent, sizeof v->user_agent);
	int pv = get_u64(ln, K_PROTOCOL_VERSION, &v->protocol_version);

	v->has_user_agent = ua == 1;
	v->has_protocol_version = pv == 1;
	return ua < 0 || pv < 0 || (pv == 1 &&
	    v->protocol_version >= CENSUS_NONE) ? -1 : 0;
}

static void node_version(struct census *c, struct census_node *nd,
    const struct version_members *v)
{
	if (v->has_user_agent)
		keep_smallest_name(&c->user_agents, &nd->user_agent,
		    names_get(&c->user_agents, c->seed, v->user_agent,
		    strlen(v->user_agent)));
	if (v->has_protocol_version &&
	    v->protocol_version < nd->protocol_version)
		nd->protocol_version = (uint32_t)v->protocol_version;
}

static void seen_at(int64_t *first, int64_t *last, int64_t ts)
{
	if (*first == CENSUS_NO_TIME || ts < *first)
		*first = ts;
	if (*last == CENSUS_NO_TIME || ts > *last)
		*last = ts;
}

/* The probe verdict's flag, 0 if none (no probe, or it could not tell);
 * -1 if malformed. */
static int verdict_flag(const struct line *ln)
{
	char cls[16] = "", reason[48] = "", cached[48] = "";

	if (get_str(ln, K_CLASSIFICATION, cls, sizeof cls) < 0 ||
	    get_str(ln, K_REASON, reason, sizeof reason) < 0 ||
	    get_str(ln, K_CACHED_REASON, cached, sizeof cached) < 0)
		return -1;
	if (strcmp(cls, "private") == 0)
		return CENSUS_F_PRIVATE;
	if (strcmp(cls, "public") != 0)
		return 0;
	return ends_with(reason, "_verified") || (strcmp(reason, "cached") == 0
	    && ends_with(cached, "_verified")) ? CENSUS_F_VERIFIED :
	    CENSUS_F_PUBLIC_OPEN;
}

static enum use inbound(struct census *c, const struct line *ln,
    const uint8_t *id, int64_t ts)
{
	char network[sizeof c->network], sensor[CENSUS_NAME_LEN];
	char ip[CENSUS_NAME_LEN], fork[CENSUS_NAME_LEN] = "";
	struct version_members v;
	uint64_t services;
	int flag, has_services;

	if (get_str(ln, K_NETWORK, network, sizeof network) != 1 ||
	    strcmp(network, c->network) != 0)
		return OTHER_NETWORK;
	if (get_str(ln, K_SENSOR_ID, sensor, sizeof sensor) != 1 ||
	    get_str(ln, K_PEER_IP, ip, sizeof ip) != 1 ||
	    read_version(ln, &v) != 0 ||
	    (has_services = get_u64(ln, K_SERVICES, &services)) < 0 ||
	    (flag = verdict_flag(ln)) < 0 ||
	    fork_fields(ln, K_UNKNOWN_FIELDS, "version:", fork, sizeof fork) ||
	    fork_fields(ln, K_ADVERTISED_UNKNOWN_FIELDS, "address:", fork,
	    sizeof fork) ||
	    fork_fields(ln, K_MESSAGE_UNKNOWN_FIELDS, "message:", fork,
	    sizeof fork))
		return BAD;
	uint32_t s = names_get(&c->sensors, c->seed, sensor, strlen(sensor));
	struct census_node *nd = node_get(c, id);
	if (s == CENSUS_NONE)
		c->lines.sensor_over_cap++;
	seen_at(&c->inbound_first_ms, &c->inbound_last_ms, ts);
	if (nd == NULL)
		return USED;
	nd->flags |= (uint16_t)(CENSUS_F_INBOUND | flag);
	if (s != CENSUS_NONE)
		nd->sensors[s / 8] |= (uint8_t)(1u << s % 8);
	seen_at(&nd->first_ms, &nd->last_ms, ts);
	node_version(c, nd, &v);
	if (has_services) {
		nd->services |= services;
		nd->flags |= CENSUS_F_SERVICES;
	}
	if (fork[0] != '\0')
		keep_smallest_name(&c->forks, &nd->fork,
		    names_get(&c->forks, c->seed, fork, strlen(fork)));
	ip_seen(c, ip, (uint32_t)(nd - c->node));
	return USED;
}

/* "1.2.3.4:16111" -> "1.2.3.4", "[2001:db8::1]:16111" -> "2001:db8::1". */
static int address_ip(const char *address, char *ip, size_t cap)
{
	const char *colon = strrchr(address, ':');
	size_t start = address[0] == '[', len;

	if (colon == NULL)
		return -1;
	len = (size_t)(colon - address) - start;
	if (start && (len == 0 || address[start + len - 1] != ']'))
		return -1;
	len -= start;
	if (len == 0 || len >= cap)
		return -1;
	memcpy(ip, address + start, len);
	ip[len] = '\0';
	return 0;
}

static enum use crawl_peer(struct census *c, const struct line *ln,
    const uint8_t *id)
{
	char crawl[CENSUS_NAME_LEN], address[CENSUS_NAME_LEN];
	char ip[CENSUS_NAME_LEN];
	struct version_members v;

	if (get_str(ln, K_CRAWL_ID, crawl, sizeof crawl) != 1 ||
	    get_str(ln, K_ADDRESS, address, sizeof address) != 1 ||
	    address_ip(address, ip, sizeof ip) != 0 ||
	    read_version(ln, &v) != 0)
		return BAD;
	uint32_t k = names_find(&c->crawls, c->seed, crawl, strlen(crawl));
	if (k == CENSUS_NONE)
		return CRAWL_UNKNOWN;
	if (!c->crawl_same_network[k])
		return OTHER_NETWORK;
	struct census_node *nd = node_get(c, id);
	if (nd == NULL)
		return USED;          /* counted in nodes_refused */
	nd->flags |= CENSUS_F_CRAWL;
	if (!is_null(ln, K_REACHABLE) && ln->p[ln->at[K_REACHABLE]] == 't')
		nd->flags |= CENSUS_F_REACHED;
	node_version(c, nd, &v);
	ip_seen(c, ip, (uint32_t)(nd - c->node));
	return USED;
}

static enum use use_line(struct census *c, const struct line *ln,
    enum kind kind)
{
	char ts_text[40];
	uint8_t id[CENSUS_ID_LEN];
	int64_t ts;

	if (kind == KIND_OTHER)
		return OTHER_KIND;
	if (kind == KIND_CRAWL_START)
		return crawl_start(c, ln);
	if (get_str(ln, K_TS, ts_text, sizeof ts_text) != 1 ||
	    report_parse_time(ts_text, strlen(ts_text), &ts) != 0)
		return BAD;
	if ((c->since_ms != CENSUS_NO_TIME && ts < c->since_ms) ||
	    (c->until_ms != CENSUS_NO_TIME && ts >= c->until_ms))
		return OUTSIDE_WINDOW;
	if (!read_id(ln, id))
		return NO_ID;
	enum use u = kind == KIND_INBOUND ? inbound(c, ln, id, ts) :
	    crawl_peer(c, ln, id);
	if (u == USED)
		seen_at(&c->first_ms, &c->last_ms, ts);
	return u;
}

void census_line(struct census *c, const char *p, size_t n)
{
	struct line ln;
	struct census_lines *l = &c->lines;
	enum kind kind = KIND_OTHER;
	enum use u = BAD;

	l->read++;
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n <= CENSUS_LINE_MAX && read_members(&c->keys, &ln, p, n) == 0)
		u = use_line(c, &ln, kind = kind_of(&ln));
	switch (u) {
	case USED:
		l->used++;
		l->inbound += kind == KIND_INBOUND;
		l->crawl_peer += kind == KIND_CRAWL_PEER;
		l->crawl_start += kind == KIND_CRAWL_START;
		break;
	case BAD: l->bad++; break;
	case OTHER_KIND: l->other_kind++; break;
	case OUTSIDE_WINDOW: l->outside_window++; break;
	case NO_ID: l->no_id++; break;
	case OTHER_NETWORK: l->other_network++; break;
	case CRAWL_UNKNOWN: l->crawl_unknown++; break;
	}
}

int census_file(struct census *c, FILE *f)
{
	char *buf = malloc(READ_BUF);
	size_t have = 0, got;
	bool skipping = false;     /* inside a line longer than the max */

	if (buf == NULL)
		return -1;
	while ((got = fread(buf + have, 1, READ_BUF - have, f)) > 0) {
		size_t start = 0;
		const char *nl;
		have += got;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			size_t len = (size_t)(nl - (buf + start));
			if (!skipping)
				census_line(c, buf + start, len);
			skipping = false;
			start += len + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have > CENSUS_LINE_MAX) {   /* counted once, then skipped */
			if (!skipping)
				census_line(c, buf, have);
			skipping = true;
			have = 0;
		}
	}
	if (have > 0 && !skipping)
		census_line(c, buf, have);   /* the last line has no '\n' */
	free(buf);
	return ferror(f) ? -1 : 0;
}

int census_init(struct census *c, const char *network, int64_t since_ms,
    int64_t until_ms)
{
	memset(c, 0, sizeof *c);
	snprintf(c->network, sizeof c->network, "%s", network);
	c->since_ms = since_ms;
	c->until_ms = until_ms;
	c->first_ms = c->last_ms = CENSUS_NO_TIME;
	keys_build(&c->keys);
	c->inbound_first_ms = c->inbound_last_ms = CENSUS_NO_TIME;
	if (getrandom(&c->seed, sizeof c->seed, 0) != (ssize_t)sizeof c->seed)
		c->seed = 0x9e3779b97f4a7c15ULL;   /* still correct, just known */
	c->node_mask = NODES0 * 2 - 1;
	c->pair_mask = NODES0 * 2 - 1;
	c->node_slot = calloc(c->node_mask + 1, sizeof *c->node_slot);
	c->pair = calloc(c->pair_mask + 1, sizeof *c->pair);
	c->crawl_same_network = calloc(CENSUS_NAMES_MAX, 1);
	if (c->node_slot == NULL || c->pair == NULL ||
	    c->crawl_same_network == NULL ||
	    names_init(&c->sensors, CENSUS_SENSORS_MAX) != 0 ||
	    names_init(&c->user_agents, CENSUS_NAMES_MAX) != 0 ||
	    names_init(&c->forks, CENSUS_NAMES_MAX) != 0 ||
	    names_init(&c->crawls, CENSUS_NAMES_MAX) != 0 ||
	    names_init(&c->ips, CENSUS_IPS_MAX) != 0) {
		census_free(c);
		return -1;
	}
	return 0;
}

void census_free(struct census *c)
{
	free(c->node);
	free(c->node_slot);
	free(c->pair);
	free(c->crawl_same_network);
	free(c->ip_ids);
	names_free(&c->sensors);
	names_free(&c->user_agents);
	names_free(&c->forks);
	names_free(&c->crawls);
	names_free(&c->ips);
	memset(c, 0, sizeof *c);
}

/* ---- classes, breakdowns, the estimate ---- */

enum census_class census_class_of(uint16_t f)
{
	if ((f & CENSUS_F_VERIFIED) && (f & CENSUS_F_PRIVATE))
		return CENSUS_CONFLICTING;
	if (f & (CENSUS_F_VERIFIED | CENSUS_F_REACHED))
		return CENSUS_PUBLIC;
	if ((f & CENSUS_F_PRIVATE) && !(f & CENSUS_F_PUBLIC_OPEN))
		return CENSUS_PRIVATE;
	return CENSUS_UNKNOWN;
}

const char *census_class_name(enum census_class k)
{
	static const char *const name[CENSUS_CLASSES] = {
		"public", "private", "unknown", "conflicting" };
	return name[k];
}

static void count(struct census_counts *c, enum census_class k)
{
	c->n[k]++;
	c->nodes++;
}

static int by_nodes_then_name(const void *a, const void *b)
{
	const struct census_row *x = a, *y = b;
	if (x->c.nodes != y->c.nodes)
		return x->c.nodes > y->c.nodes ? -1 : 1;
	if (x->key == y->key)
		return 0;
	if (x->key == CENSUS_NONE || y->key == CENSUS_NONE)
		return x->key == CENSUS_NONE ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A sensor index with its name, to sort by (qsort has no context). */
struct named_sensor {
	const char *name;
	uint32_t index;
};

static int by_name(const void *a, const void *b)
{
	const struct named_sensor *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static void sort_sensors(const struct census *c, struct census_result *r)
{
	struct named_sensor t[CENSUS_SENSORS_MAX];
	uint32_t ns = c->sensors.n;

	for (uint32_t s = 0; s < ns; s++)
		t[s] = (struct named_sensor){ census_name(&c->sensors, s), s };
	qsort(t, ns, sizeof *t, by_name);
	for (uint32_t s = 0; s < ns; s++)
		r->sensor_order[s] = t[s].index;
}

static int by_key(const void *a, const void *b)
{
	const struct census_row *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

/* The rows with nodes, out of counts[0..n) (counts[n]: no name), sorted
 * by nodes then name. */
static struct census_row *name_rows(const struct census_names *t,
    const struct census_counts *counts, size_t n, size_t *rows)
{
	struct census_row *row = calloc(n + 1, sizeof *row);

	*rows = 0;
	if (row == NULL)
		return NULL;
	for (size_t k = 0; k <= n; k++)
		if (counts[k].nodes > 0)
			row[(*rows)++] = (struct census_row){
			    k == n ? CENSUS_NONE : k, counts[k],
			    k == n ? NULL : census_name(t, (uint32_t)k) };
	qsort(row, *rows, sizeof *row, by_nodes_then_name);
	return row;
}

/* Protocol versions: one row per value, in order. */
static struct census_row *protocol_rows(const struct census *c,
    const struct census_result *r, size_t *rows)
{
	struct census_row *row = calloc(c->n_nodes + 1, sizeof *row);
	size_t n = 0;

	*rows = 0;
	if (row == NULL)
		return NULL;
	for (uint32_t k = 0; k < c->n_nodes; k++) {
		row[k].key = c->node[k].protocol_version;
		count(&row[k].c, (enum census_class)r->class_of[k]);
	}
	qsort(row, c->n_nodes, sizeof *row, by_key);
	for (uint32_t k = 0; k < c->n_nodes; k++) {
		if (n > 0 && row[n - 1].key == row[k].key) {
			for (int i = 0; i < CENSUS_CLASSES; i++)
				row[n - 1].c.n[i] += row[k].c.n[i];
			row[n - 1].c.nodes++;
		} else {
			row[n++] = row[k];
		}
	}
	*rows = n;
	return row;
}

static void count_services(struct census_result *r,
    const struct census_node *nd, enum census_class k)
{
	if (!(nd->flags & CENSUS_F_SERVICES)) {
		count(&r->services_unknown, k);
		return;
	}
	if (nd->services == 0)
		count(&r->services_none, k);
	for (int b = 0; b < 64; b++)
		if (nd->services >> b & 1)
			count(&r->service_bit[b], k);
}

/* Per sensor, and the private overlap of each pair of them. */
static void count_sensors(const struct census *c, struct census_result *r,
    const struct census_node *nd, enum census_class k)
{
	uint32_t ns = c->sensors.n, seen[CENSUS_SENSORS_MAX], n = 0;

	for (uint32_t s = 0; s < ns; s++)
		if (nd->sensors[s / 8] >> s % 8 & 1) {
			count(&r->per_sensor[s], k);
			seen[n++] = s;
		}
	if (k != CENSUS_PRIVATE)
		return;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = i + 1; j < n; j++)
			r->overlap[(size_t)seen[i] * ns + seen[j]]++;
}

static void count_crawl(struct census_result *r, const struct census_node *nd,
    enum census_class k)
{
	if (nd->flags & CENSUS_F_REACHED) {
		r->crawl_reached++;
		r->crawl_reached_dialed += (nd->flags & CENSUS_F_INBOUND) != 0;
	} else if (k == CENSUS_PUBLIC) {
		r->public_not_reached++;
	}
}

static void count_ips(const struct census *c, struct census_result *r)
{
	r->ips = c->ips.n;
	for (uint32_t i = 0; i < c->ips.n; i++)
		if (c->ip_ids[i] > r->max_ids_per_ip)
			r->max_ids_per_ip = c->ip_ids[i];
	r->ips_by_ids = calloc((size_t)r->max_ids_per_ip + 1,
	    sizeof *r->ips_by_ids);
	if (r->ips_by_ids != NULL)
		for (uint32_t i = 0; i < c->ips.n; i++)
			r->ips_by_ids[c->ip_ids[i]]++;
}

/* Samples: the sensors if two or more, else the two halves of the one
 * sensor's window. */
static void estimate(const struct census *c, struct census_result *r)
{
	uint32_t ns = c->sensors.n;
	uint64_t seen = 0, both = 0;

	if (ns == 0) {
		r->est.method = CENSUS_EST_NONE;
		r->est.why_none = "no inbound line";
		return;
	}
	if (ns >= 2) {
		for (uint32_t s = 0; s < ns; s++)
			r->sample[s] = r->per_sensor[s].n[CENSUS_PRIVATE];
		for (uint32_t k = 0; k < c->n_nodes; k++) {
			bool any = false;
			for (size_t b = 0; b < sizeof c->node[k].sensors; b++)
				any |= c->node[k].sensors[b] != 0;
			seen += any && r->class_of[k] == CENSUS_PRIVATE;
		}
		if (ns == 2)
			census_chapman(r->sample[0], r->sample[1], r->overlap[1],
			    &r->est);
		else
			census_darroch(r->sample, ns, seen, &r->est);
		return;
	}
	r->mid_ms = c->inbound_first_ms +
	    (c->inbound_last_ms - c->inbound_first_ms) / 2;
	for (uint32_t k = 0; k < c->n_nodes; k++) {
		const struct census_node *nd = &c->node[k];
		if (r->class_of[k] != CENSUS_PRIVATE || nd->sensors[0] == 0)
			continue;
		bool a = nd->first_ms < r->mid_ms, b = nd->last_ms >= r->mid_ms;
		r->sample[0] += a;
		r->sample[1] += b;
		both += a && b;
	}
	census_chapman(r->sample[0], r->sample[1], both, &r->est);
	r->est.halves = true;
}

int census_finish(const struct census *c, struct census_result *r)
{
	uint32_t ns = c->sensors.n, nu = c->user_agents.n, nf = c->forks.n;
	struct census_counts *ua = calloc(nu + 1, sizeof *ua);
	struct census_counts *fk = calloc(nf + 1, sizeof *fk);

	memset(r, 0, sizeof *r);
	r->class_of = malloc((size_t)c->n_nodes + 1);
	r->per_sensor = calloc((size_t)ns + 1, sizeof *r->per_sensor);
	r->sensor_order = calloc((size_t)ns + 1, sizeof *r->sensor_order);
	r->overlap = calloc((size_t)ns * ns + 1, sizeof *r->overlap);
	if (ua == NULL || fk == NULL || r->class_of == NULL ||
	    r->per_sensor == NULL || r->sensor_order == NULL ||
	    r->overlap == NULL)
		goto oom;
	for (uint32_t k = 0; k < c->n_nodes; k++) {
		const struct census_node *nd = &c->node[k];
		enum census_class cls = census_class_of(nd->flags);
		r->class_of[k] = (uint8_t)cls;
		count(&r->all, cls);
		count(&ua[nd->user_agent == CENSUS_NONE ? nu : nd->user_agent],
		    cls);
		if (nd->fork != CENSUS_NONE) {
			count(&fk[nd->fork], cls);
			count(&r->forks_all, cls);
		}
		count_services(r, nd, cls);
		count_sensors(c, r, nd, cls);
		count_crawl(r, nd, cls);
	}
	for (uint32_t k = 0; k < c->crawls.n; k++)
		r->crawls += c->crawl_same_network[k];
	r->user_agents = name_rows(&c->user_agents, ua, nu, &r->n_user_agents);
	r->forks = name_rows(&c->forks, fk, nf, &r->n_forks);
	r->protocols = protocol_rows(c, r, &r->n_protocols);
	sort_sensors(c, r);
	count_ips(c, r);
	if (r->user_agents == NULL || r->forks == NULL ||
	    r->protocols == NULL || r->ips_by_ids == NULL)
		goto oom;
	estimate(c, r);
	r->exact = c->nodes_refused == 0 && c->pairs_refused == 0 &&
	    c->lines.sensor_over_cap == 0 && c->sensors.refused == 0 &&
	    c->user_agents.refused == 0 && c->forks.refused == 0 &&
	    c->crawls.refused == 0 && c->ips.refused == 0;
	free(ua);
	free(fk);
	return 0;
oom:
	free(ua);
	free(fk);
	census_result_free(r);
	return -1;
}

void census_result_free(struct census_result *r)
{
	free(r->class_of);
	free(r->per_sensor);
	free(r->sensor_order);
	free(r->overlap);
	free(r->user_agents);
	free(r->protocols);
	free(r->forks);
	free(r->ips_by_ids);
	memset(r, 0, sizeof *r);
}

/* ---- estimators ---- */

#define Z95 1.959963984540054

/* The 95% interval around n_hat, log-normal in the unseen part f0 =
 * n_hat - seen (Chao 1987), so that it never goes below what was seen. */
static void interval(struct census_estimate *e, double var)
{
	double f0 = e->n_hat - (double)e->seen;

	e->se = var > 0 ? sqrt(var) : 0;
	if (f0 <= 0 || var <= 0) {
		e->lo = e->hi = e->n_hat;
		return;
	}
	double c = exp(Z95 * sqrt(log(1 + var / (f0 * f0))));
	e->lo = (double)e->seen + f0 / c;
	e->hi = (double)e->seen + f0 * c;
}

static void no_estimate(struct census_estimate *e, const char *why)
{
	e->method = CENSUS_EST_NONE;
	e->why_none = why;
	e->n_hat = e->se = e->lo = e->hi = 0;
}

void census_chapman(uint64_t n1, uint64_t n2, uint64_t both,
    struct census_estimate *e)
{
	double a = (double)n1 + 1, b = (double)n2 + 1, m = (double)both;

	memset(e, 0, sizeof *e);
	e->k = 2;
	e->both = e->recaptures = both;
	e->seen = n1 + n2 - both;
	if (both == 0) {
		no_estimate(e, "no id was seen in both samples");
		return;
	}
	e->method = CENSUS_EST_CHAPMAN;
	e->n_hat = a * b / (m + 1) - 1;
	interval(e, a * b * ((double)n1 - m) * ((double)n2 - m) /
	    ((m + 1) * (m + 1) * (m + 2)));
}

/* Darroch's likelihood equation for M_t: 1 - seen/N = prod (1 - n_i/N);
 * g(N) below is zero at the estimate, negative below it. */
static double darroch_g(const uint64_t *n, unsigned k, uint64_t seen,
    double N)
{
	double g = log1p(-(double)seen / N);
	for (unsigned i = 0; i < k; i++)
		g -= log1p(-(double)n[i] / N);
	return g;
}

void census_darroch(const uint64_t *n, unsigned k, uint64_t seen,
    struct census_estimate *e)
{
	uint64_t sum = 0, largest = 0;

	memset(e, 0, sizeof *e);
	e->k = k;
	e->seen = seen;
	for (unsigned i = 0; i < k; i++) {
		sum += n[i];
		largest = n[i] > largest ? n[i] : largest;
	}
	e->recaptures = sum - seen;
	if (sum <= seen) {
		no_estimate(e, "no id was seen by two samples");
		return;
	}
	e->method = CENSUS_EST_DARROCH;
	if (largest == seen) {     /* one sample saw every id seen */
		e->n_hat = (double)seen;
		interval(e, 0);
		return;
	}
	double lo = (double)seen, hi = 2 * (double)seen;
	while (darroch_g(n, k, seen, hi) <= 0) {
		if (hi > 1e18) {
			no_estimate(e, "the likelihood has no maximum");
			return;
		}
		lo = hi;
		hi *= 2;
	}
	for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
		double mid = (lo + hi) / 2;
		if (darroch_g(n, k, seen, mid) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	double N = (lo + hi) / 2, inv = 1 / (N - (double)seen) + (k - 1) / N;
	for (unsigned i = 0; i < k; i++)
		inv -= 1 / (N - (double)n[i]);
	if (inv <= 0) {
		no_estimate(e, "the likelihood is flat at its maximum");
		return;
	}
	e->n_hat = N;
	interval(e, 1 / inv);
}
