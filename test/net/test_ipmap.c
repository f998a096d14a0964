/* test_ipmap.c - the per-IP counter map against a reference model: random
 * inc/dec/get sequences over small, crowded tables (every key checked after
 * every step), chains that wrap around the end of the table, the 50% load
 * limit and the "room for `entries` keys" promise of ipmap_init. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ipmap.h"

#define UNIVERSE_MAX 256

/* The model: one count per key of the test's key universe. */
struct model {
	struct ip_key key[UNIVERSE_MAX];
	uint32_t count[UNIVERSE_MAX];
	unsigned n_keys;     /* size of the universe */
	uint32_t live;       /* keys with count > 0 */
	uint32_t limit;      /* most live keys the map must hold */
};

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic per seed, good enough for test input. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* Key number n: IPv4-mapped for even n, a 2001:db8:: address for odd. */
static struct ip_key key_n(unsigned n)
{
	struct ip_key k;
	memset(&k, 0, sizeof k);
	if (n % 2 == 0) {
		k.b[10] = 0xff;
		k.b[11] = 0xff;
		k.b[12] = 10;
		k.b[14] = (uint8_t)(n >> 8);
		k.b[15] = (uint8_t)n;
	} else {
		k.b[0] = 0x20;
		k.b[1] = 0x01;
		k.b[2] = 0x0d;
		k.b[3] = 0xb8;
		k.b[13] = (uint8_t)(n >> 16);
		k.b[14] = (uint8_t)(n >> 8);
		k.b[15] = (uint8_t)n;
	}
	return k;
}

static void model_init(struct model *md, const struct ip_key *keys,
    unsigned n, uint32_t limit)
{
	memset(md, 0, sizeof *md);
	memcpy(md->key, keys, n * sizeof keys[0]);
	md->n_keys = n;
	md->limit = limit;
}

/* Every key of the universe has the model's count, and nothing else is
 * stored: the number of occupied slots equals the live keys. */
static void check_all(const struct ipmap *m, const struct model *md,
    unsigned step)
{
	for (unsigned i = 0; i < md->n_keys; i++) {
		uint32_t got = ipmap_get(m, &md->key[i]);
		if (got != md->count[i])
			fail_msg("step %u: key %u count %u, model %u", step, i,
			    got, md->count[i]);
	}
	uint32_t occupied = 0;
	for (uint32_t i = 0; i <= m->mask; i++)
		occupied += m->slot[i].count != 0;
	assert_int_equal(occupied, md->live);
	assert_int_equal(m->used, md->live);
}

static void step_inc(struct ipmap *m, struct model *md, unsigned i)
{
	uint32_t got = ipmap_inc(m, &md->key[i]);
	if (md->count[i] == 0 && md->live >= md->limit) {
		assert_int_equal(got, 0);   /* full: refused, nothing stored */
		return;
	}
	if (md->count[i] == 0)
		md->live++;
	assert_int_equal(got, ++md->count[i]);
}

static void step_dec(struct ipmap *m, struct model *md, unsigned i)
{
	ipmap_dec(m, &md->key[i]);
	if (md->count[i] > 0 && --md->count[i] == 0)
		md->live--;
}

/* `steps` random operations; incs slightly favoured so the table fills. */
static void run_random(struct ipmap *m, struct model *md, unsigned steps)
{
	for (unsigned s = 0; s < steps; s++) {
		unsigned i = rng() % md->n_keys;
		unsigned op = rng() % 10;
		if (op < 5)
			step_inc(m, md, i);
		else if (op < 9)
			step_dec(m, md, i);
		check_all(m, md, s);
	}
}

/* ---- tests ---- */

static void test_random_small_table(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 1, 2, 3, 0x5eed, 0xdeadbeef };
	struct ip_key keys[40];
	for (unsigned n = 0; n < 40; n++)
		keys[n] = key_n(n);

	for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		struct ipmap m;
		struct model md;
		rng_state = seeds[s];
		assert_int_equal(ipmap_init(&m, 8), 0);   /* 16 slots */
		model_init(&md, keys, 40, (m.mask + 1) / 2);
		run_random(&m, &md, 20000);
		ipmap_free(&m);
	}
}

static void test_random_larger_table(void **state)
{
	(void)state;
	struct ip_key keys[UNIVERSE_MAX];
	for (unsigned n = 0; n < UNIVERSE_MAX; n++)
		keys[n] = key_n(n * 7919u);

	struct ipmap m;
	struct model md;
	rng_state = 42;
	assert_int_equal(ipmap_init(&m, 100), 0);     /* 256 slots */
	model_init(&md, keys, UNIVERSE_MAX, (m.mask + 1) / 2);
	run_random(&m, &md, 20000);
	ipmap_free(&m);
}

/* Keys whose home slot is `home` in an empty table of `entries`: found by
 * inserting each candidate alone and seeing where it lands. */
static unsigned keys_with_home(uint32_t entries, uint32_t home,
    struct ip_key *out, unsigned want)
{
	struct ipmap m;
	unsigned found = 0;
	assert_int_equal(ipmap_init(&m, entries), 0);
	for (unsigned n = 0; found < want && n < 200000; n++) {
		struct ip_key k = key_n(n);
		assert_int_equal(ipmap_inc(&m, &k), 1);
		if (m.slot[home].count != 0 &&
		    memcmp(&m.slot[home].key, &k, sizeof k) == 0)
			out[found++] = k;
		ipmap_dec(&m, &k);
		assert_int_equal(m.used, 0);
	}
	ipmap_free(&m);
	return found;
}

/* All keys share one of the last two home slots: every chain wraps past
 * the end of the table, and deletion must shift across the wrap. */
static void test_random_wrapping_chains(void **state)
{
	(void)state;
	struct ip_key keys[12];
	unsigned a = keys_with_home(8, 15, keys, 6);
	unsigned b = keys_with_home(8, 14, keys + a, 6);
	assert_int_equal(a + b, 12);

	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct ipmap m;
		struct model md;
		rng_state = seed;
		assert_int_equal(ipmap_init(&m, 8), 0);
		model_init(&md, keys, 12, (m.mask + 1) / 2);
		run_random(&m, &md, 10000);
		ipmap_free(&m);
	}
}

/* Fill a chain that wraps, then remove from its start: the rest must stay
 * reachable (backward shift from slot 15 into slot 0 and on). */
static void test_delete_across_wrap(void **state)
{
	(void)state;
	struct ip_key k[5];
	assert_int_equal(keys_with_home(8, 15, k, 5), 5);
	struct ipmap m;
	assert_int_equal(ipmap_init(&m, 8), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ipmap_inc(&m, &k[i]), 1);
	/* Slots 15, 0, 1, 2, 3 hold the chain. */
	assert_memory_equal(&m.slot[15].key, &k[0], sizeof k[0]);
	assert_memory_equal(&m.slot[3].key, &k[4], sizeof k[0]);
	for (int gone = 0; gone < 5; gone++) {
		ipmap_dec(&m, &k[gone]);
		for (int i = 0; i < 5; i++)
			assert_int_equal(ipmap_get(&m, &k[i]), i > gone);
		/* The chain start moves into the key's home slot. */
		if (gone < 4)
			assert_memory_equal(&m.slot[15].key, &k[gone + 1],
			    sizeof k[0]);
	}
	assert_int_equal(m.used, 0);
	ipmap_free(&m);
}

/* At 50% load a new key is refused (0) and nothing changes; existing keys
 * still count up; once a key goes, a new one fits. */
static void test_full_table(void **state)
{
	(void)state;
	struct ipmap m;
	assert_int_equal(ipmap_init(&m, 8), 0);
	uint32_t cap = m.mask + 1;
	assert_int_equal(cap, 16);
	for (unsigned n = 0; n < cap / 2; n++) {
		struct ip_key k = key_n(n);
		assert_int_equal(ipmap_inc(&m, &k), 1);
	}
	struct ip_key extra = key_n(1000);
	assert_int_equal(ipmap_inc(&m, &extra), 0);
	assert_int_equal(ipmap_get(&m, &extra), 0);
	assert_int_equal(m.used, cap / 2);

	struct ip_key k0 = key_n(0);
	assert_int_equal(ipmap_inc(&m, &k0), 2);
	ipmap_dec(&m, &k0);
	assert_int_equal(ipmap_inc(&m, &extra), 0);   /* k0 still there */
	ipmap_dec(&m, &k0);
	assert_int_equal(ipmap_get(&m, &k0), 0);
	assert_int_equal(ipmap_inc(&m, &extra), 1);
	assert_int_equal(ipmap_inc(&m, &k0), 0);
	ipmap_free(&m);
}

/* ipmap_init(entries) holds `entries` distinct keys, for sizes around the
 * powers of two, and never runs above 50% load. */
static void test_room_for_entries(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 1, 7, 8, 9, 15, 16, 17, 100, 1024,
		1025 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct ipmap m;
		assert_int_equal(ipmap_init(&m, sizes[s]), 0);
		uint32_t stored = 0;
		for (unsigned i = 0; i < 4 * sizes[s] + 64; i++) {
			struct ip_key k = key_n(i);
			stored += ipmap_inc(&m, &k) == 1;
		}
		if (stored < sizes[s])
			fail_msg("init(%u) holds only %u keys", sizes[s],
			    stored);
		assert_true(2 * m.used <= m.mask + 1);
		ipmap_free(&m);
	}
}

/* Taking one off an absent key changes nothing, in an empty map and in a
 * map whose chains the key's probe walks through. */
static void test_dec_absent(void **state)
{
	(void)state;
	struct ipmap m;
	assert_int_equal(ipmap_init(&m, 8), 0);
	struct ip_key absent = key_n(999);
	ipmap_dec(&m, &absent);
	assert_int_equal(m.used, 0);
	for (unsigned n = 0; n < 8; n++) {
		struct ip_key k = key_n(n);
		assert_int_equal(ipmap_inc(&m, &k), 1);
	}
	struct ipmap_slot before[16];
	memcpy(before, m.slot, sizeof before);
	ipmap_dec(&m, &absent);
	assert_memory_equal(before, m.slot, sizeof before);
	assert_int_equal(m.used, 8);
	assert_int_equal(ipmap_get(&m, &absent), 0);
	ipmap_free(&m);
}

/* The all-zero key (::) is a key like any other: an empty slot is marked
 * by its count, not by its key. */
static void test_zero_key(void **state)
{
	(void)state;
	struct ipmap m;
	assert_int_equal(ipmap_init(&m, 4), 0);
	struct ip_key zero = { { 0 } };
	assert_int_equal(ipmap_get(&m, &zero), 0);
	assert_int_equal(ipmap_inc(&m, &zero), 1);
	assert_int_equal(ipmap_inc(&m, &zero), 2);
	assert_int_equal(m.used, 1);
	ipmap_dec(&m, &zero);
	ipmap_dec(&m, &zero);
	assert_int_equal(ipmap_get(&m, &zero), 0);
	assert_int_equal(m.used, 0);
	ipmap_free(&m);
}

/* Counts are per key, v4-mapped and v6 keys differing in one byte are
 * different keys. */
static void test_counts_accumulate(void **state)
{
	(void)state;
	struct ipmap m;
	assert_int_equal(ipmap_init(&m, 4), 0);
	struct ip_key a = key_n(0), b = key_n(0);
	b.b[15] ^= 1;
	for (uint32_t i = 1; i <= 1000; i++)
		assert_int_equal(ipmap_inc(&m, &a), i);
	assert_int_equal(ipmap_get(&m, &b), 0);
	assert_int_equal(ipmap_inc(&m, &b), 1);
	for (uint32_t i = 999; i > 0; i--) {
		ipmap_dec(&m, &a);
		assert_int_equal(ipmap_get(&m, &a), i);
	}
	ipmap_dec(&m, &a);
	assert_int_equal(ipmap_get(&m, &a), 0);
	assert_int_equal(ipmap_get(&m, &b), 1);
	assert_int_equal(m.used, 1);
	ipmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_small_table),
		cmocka_unit_test(test_random_larger_table),
		cmocka_unit_test(test_random_wrapping_chains),
		cmocka_unit_test(test_delete_across_wrap),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_room_for_entries),
		cmocka_unit_test(test_dec_absent),
		cmocka_unit_test(test_zero_key),
		cmocka_unit_test(test_counts_accumulate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
