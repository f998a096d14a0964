/* ipmap.h - fixed-capacity hash map from an IP address to a counter.
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, no malloc after init. */
#ifndef IPMAP_H
#define IPMAP_H

#include <stdbool.h>
#include <stdint.h>

/* IPv4 is stored as an IPv4-mapped IPv6 address. */
struct ip_key {
	uint8_t b[16];
};

struct ipmap_slot {
	struct ip_key key;
	uint32_t count;           /* 0 = empty slot */
};

struct ipmap {
	struct ipmap_slot *slot;
	uint32_t mask;            /* capacity - 1, capacity a power of two */
	uint32_t used;
};

/* Room for at least `entries` keys at <= 50% load. */
int ipmap_init(struct ipmap *m, uint32_t entries);
void ipmap_free(struct ipmap *m);
/* Add one to the key's counter; returns the new count, 0 if full. */
uint32_t ipmap_inc(struct ipmap *m, const struct ip_key *k);
/* Take one off; the key goes when it reaches 0. */
void ipmap_dec(struct ipmap *m, const struct ip_key *k);
uint32_t ipmap_get(const struct ipmap *m, const struct ip_key *k);

#endif
