/* census.h - `kaspa-sensor census`: how many nodes a fleet's logs saw, of
 * which class, and how many private nodes exist that no sensor saw.
 *
 * Input: any mix of sensor logs (inbound lines, any number of sensor_ids)
 * and crawl logs (crawl.h), read line by line; memory grows with distinct
 * nodes, IPs and names, never with lines (each table has a hard cap below;
 * what goes past it is counted and the output says the counts are lower
 * bounds).  A line that is not a JSON object, or lacks a readable ts, is
 * counted as bad and skipped; one of another kind (announce lines, crawl
 * lines other than peer and crawl_start, anything else) is counted and
 * not used.
 *
 * A node is its Version id (peer_id, 32 hex digits); a node restarted gets
 * a new id and is counted again.  Lines used, in the window [since, until)
 * and of the census network:
 *   inbound    a sighting by that sensor_id, with its probe verdict;
 *   peer       (crawl) a sighting by the crawl; "reachable":true means the
 *              crawl completed the handshake with that id.
 * A crawl's network is its crawl_start line's, which must come first.
 *
 * Class of a node over the window (a probe verdict is a line whose
 * classification is public or private; unknown ones could not tell):
 *   conflicting  a verified public verdict (reason *_verified, or cached
 *                with cached_reason *_verified) and a private one;
 *   public       otherwise a verified public verdict, or the crawl reached it;
 *   private      otherwise at least one verdict, every one private;
 *   unknown      otherwise.
 * A node's user_agent, protocol_version and fork signature are the
 * smallest (bytewise) its lines show, services the OR of them all.
 */
#ifndef CENSUS_H
#define CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_line;

#define CENSUS_LINE_MAX 65536
#define CENSUS_ID_LEN 16
#define CENSUS_NODES_MAX (1u << 20)     /* distinct ids */
#define CENSUS_IPS_MAX (1u << 20)       /* distinct IPs */
#define CENSUS_PAIRS_MAX (1u << 21)     /* distinct (IP, id) */
#define CENSUS_SENSORS_MAX 256
#define CENSUS_NAMES_MAX 4096           /* user agents, forks, crawls each */
#define CENSUS_NAME_LEN 1024            /* longest name kept */
#define CENSUS_NO_TIME INT64_MIN
#define CENSUS_NONE UINT32_MAX          /* no name / no value */

/* What a node's lines showed (struct census_node.flags). */
enum census_flag {
	CENSUS_F_INBOUND = 1,        /* it dialed a sensor */
	CENSUS_F_CRAWL = 2,          /* a crawl's peer line */
	CENSUS_F_REACHED = 4,        /* the crawl completed the handshake */
	CENSUS_F_VERIFIED = 8,       /* a verified public verdict */
	CENSUS_F_PUBLIC_OPEN = 16,   /* a public verdict without proof */
	CENSUS_F_PRIVATE = 32,       /* a private verdict */
	CENSUS_F_SERVICES = 64,      /* services known */
};

enum census_class {
	CENSUS_PUBLIC, CENSUS_PRIVATE, CENSUS_UNKNOWN, CENSUS_CONFLICTING,
	CENSUS_CLASSES
};

/* Interned strings (sensor ids, user agents, ...): index by text. */
struct census_names {
	char *text;                  /* NUL-separated */
	size_t text_len, text_cap;
	uint32_t *start;             /* offset of name k in text */
	uint32_t *hash;              /* of name k */
	size_t idx_cap;              /* room in start and hash */
	uint32_t *slot;              /* open addressing: k + 1, 0 empty */
	uint32_t n, slot_mask, max;
	uint32_t last;               /* the last name found */
	uint64_t refused;            /* lookups past max */
};

struct census_node {
	uint8_t id[CENSUS_ID_LEN];
	uint64_t services;           /* OR over its Versions */
	int64_t first_ms, last_ms;   /* its inbound lines */
	uint32_t user_agent, fork;   /* names, or CENSUS_NONE */
	uint32_t protocol_version;   /* smallest, or CENSUS_NONE */
	uint16_t flags;              /* CENSUS_F_* (census.c) */
	uint8_t sensors[CENSUS_SENSORS_MAX / 8];   /* bit per sensor index */
};

/* Count of nodes per class (and all of them). */
struct census_counts {
	uint64_t n[CENSUS_CLASSES];
	uint64_t nodes;
};

enum census_method { CENSUS_EST_NONE, CENSUS_EST_CHAPMAN, CENSUS_EST_DARROCH };

struct census_estimate {
	enum census_method method;
	bool halves;                 /* samples: two halves of the window of
	                              * one sensor, not sensors */
	unsigned k;                  /* samples */
	uint64_t seen;               /* distinct private ids in any sample */
	uint64_t recaptures;         /* sum of sample sizes - seen */
	uint64_t both;               /* two samples: in both */
	double n_hat, se, lo, hi;    /* 95% interval [lo, hi] */
	const char *why_none;        /* method NONE: why */
};

/* read = used + bad + other_kind + outside_window + no_id + other_network
 * + crawl_unknown; used = inbound + crawl_peer + crawl_start. */
struct census_lines {
	uint64_t read, used;
	uint64_t inbound, crawl_peer, crawl_start;   /* used, by kind */
	uint64_t bad;                /* not a JSON object, too long, no ts */
	uint64_t other_kind;         /* announce, other crawl lines, foreign */
	uint64_t outside_window, other_network;
	uint64_t no_id;              /* no peer_id (no Version) or not 32 hex */
	uint64_t crawl_unknown;      /* crawl_id without a crawl_start before */
	uint64_t sensor_over_cap;    /* inbound lines used whose sensor_id
	                              * came after CENSUS_SENSORS_MAX others */
};

/* The member names a line is read for, by hash (census.c). */
#define CENSUS_KEYS_MAX 32
#define CENSUS_KEY_SLOTS 128
struct census_keys {
	int8_t slot[CENSUS_KEY_SLOTS];   /* key + 1, 0 empty */
	size_t size[CENSUS_KEYS_MAX];    /* each name's length */
};

struct census {
	struct census_keys keys;     /* built by census_init */
	/* options */
	char network[65];
	int64_t since_ms, until_ms;  /* CENSUS_NO_TIME: open */

	struct census_lines lines;
	int64_t first_ms, last_ms;   /* ts of the lines used */
	int64_t inbound_first_ms, inbound_last_ms;

	/* nodes: dense array, open-addressing index over it */
	struct census_node *node;
	size_t node_cap;
	uint32_t n_nodes, *node_slot, node_mask;
	uint64_t nodes_refused;      /* ids past CENSUS_NODES_MAX */
	uint64_t seed;               /* hash key, random per run */

	struct census_names sensors, user_agents, forks, crawls, ips;
	uint8_t *crawl_same_network; /* per crawl name */
	uint32_t *ip_ids;            /* distinct ids per IP */
	size_t ip_ids_cap;
	uint64_t *pair, pair_mask;   /* (ip + 1) << 32 | node, 0 empty */
	uint32_t n_pairs;
	uint64_t pairs_refused;
};

/* One row of a breakdown. */
struct census_row {
	uint64_t key;                /* name index or value; CENSUS_NONE: none */
	struct census_counts c;
	const char *name;            /* a name index's name (in struct
	                              * census), else NULL */
};

/* The totals, computed by census_finish. */
struct census_result {
	struct census_counts all;
	uint8_t *class_of;                    /* per node: enum census_class */
	struct census_counts *per_sensor;     /* per sensor index */
	uint32_t *sensor_order;               /* sensor indexes, by name */
	uint64_t *overlap;                    /* private ids both sensors a < b
	                                       * saw: [a * sensors + b] */
	struct census_row *user_agents, *protocols, *forks;   /* by nodes */
	size_t n_user_agents, n_protocols, n_forks;
	struct census_counts service_bit[64], services_none, services_unknown;
	struct census_counts forks_all;       /* nodes with any unknown field */
	uint64_t crawls;                      /* of the census network */
	uint64_t crawl_reached, crawl_reached_dialed, public_not_reached;
	uint64_t ips, *ips_by_ids;            /* [k]: IPs with k ids */
	uint32_t max_ids_per_ip;
	struct census_estimate est;
	uint64_t sample[CENSUS_SENSORS_MAX];  /* private ids per sample */
	int64_t mid_ms;                       /* halves: where they meet */
	bool exact;                           /* no cap was reached */
};

/* network: lines of other networks are skipped.  since/until: Unix ms or
 * CENSUS_NO_TIME.  -1 if out of memory. */
int census_init(struct census *c, const char *network, int64_t since_ms,
    int64_t until_ms);
void census_free(struct census *c);

/* One line, with or without its '\n'. */
void census_line(struct census *c, const char *line, size_t len);
/* Every line of f.  -1 on a read error or out of memory (errno set). */
int census_file(struct census *c, FILE *f);

/* -1 if out of memory. */
int census_finish(const struct census *c, struct census_result *r);
void census_result_free(struct census_result *r);

/* The class of a node with these CENSUS_F_* flags (the rules above). */
enum census_class census_class_of(uint16_t flags);
const char *census_class_name(enum census_class k);

/* Name k of a table, or NULL. */
const char *census_name(const struct census_names *t, uint32_t k);

/* The estimators (sample sizes n, k of them; seen = distinct ids in any):
 * Chapman's form of Lincoln-Petersen for two, Darroch's M_t maximum
 * likelihood for more; 95% interval log-normal (Chao 1987).  Both set
 * method NONE with why_none when no id was caught twice. */
void census_chapman(uint64_t n1, uint64_t n2, uint64_t both,
    struct census_estimate *e);
void census_darroch(const uint64_t *n, unsigned k, uint64_t seen,
    struct census_estimate *e);

void census_print_table(const struct census *c, const struct census_result *r,
    FILE *f);
/* line: scratch for one JSON object at a time (16 KB: keep it off the
 * stack). */
void census_print_json(const struct census *c, const struct census_result *r,
    struct json_line *line, FILE *f);

/* argv[0] is "census".  Returns the process exit status. */
int census_main(int argc, char **argv);

#endif
