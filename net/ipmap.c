/* ipmap.c - see ipmap.h. */
#include "ipmap.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: keys come from the network, but the table is bounded and a
 * collision chain only costs time linear in the number of live keys. */
static uint32_t hash_key(const struct ip_key *k)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ k->b[i]) * 16777619u;
	return h;
}

int ipmap_init(struct ipmap *m, uint32_t entries)
{
	uint32_t cap = 16;
	while (cap / 2 < entries && cap < (1u << 30))
		cap <<= 1;
	m->slot = calloc(cap, sizeof *m->slot);
	m->mask = cap - 1;
	m->used = 0;
	return m->slot == NULL ? -1 : 0;
}

void ipmap_free(struct ipmap *m)
{
	free(m->slot);
	m->slot = NULL;
}

/* The slot holding k, or the empty slot where it would go. */
static uint32_t find(const struct ipmap *m, const struct ip_key *k)
{
	uint32_t i = hash_key(k) & m->mask;
	while (m->slot[i].count != 0 &&
	    memcmp(&m->slot[i].key, k, sizeof *k) != 0)
		i = (i + 1) & m->mask;
	return i;
}

uint32_t ipmap_inc(struct ipmap *m, const struct ip_key *k)
{
	uint32_t i = find(m, k);
	if (m->slot[i].count == 0) {
		/* At most half the slots in use keeps probes short. */
		if (m->used >= (m->mask + 1) / 2)
			return 0;
		m->slot[i].key = *k;
		m->used++;
	}
	return ++m->slot[i].count;
}

uint32_t ipmap_get(const struct ipmap *m, const struct ip_key *k)
{
	return m->slot[find(m, k)].count;
}

void ipmap_dec(struct ipmap *m, const struct ip_key *k)
{
	uint32_t i = find(m, k);
	if (m->slot[i].count == 0 || --m->slot[i].count > 0)
		return;
	m->used--;
	/* Backward-shift: pull later members of the chain into the hole. */
	for (uint32_t j = (i + 1) & m->mask; m->slot[j].count != 0;
	    j = (j + 1) & m->mask) {
		uint32_t home = hash_key(&m->slot[j].key) & m->mask;
		/* j may move to i if its home is not in (i, j] cyclically. */
		bool movable = i <= j ? (home <= i || home > j)
		    : (home <= i && home > j);
		if (movable) {
			m->slot[i] = m->slot[j];
			m->slot[j].count = 0;
			i = j;
		}
	}
}
