/* fuzz_census.c - the census line reader: arbitrary bytes, cut into lines,
 * through census_line; then the totals, both outputs, and the line counts
 * must add up (every line counted exactly once). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "json_write.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 16];
	static struct census c;
	static struct census_result r;
	static struct json_line line;
	size_t start = 0, lines = 0;

	if (census_init(&c, "kaspa-mainnet", CENSUS_NO_TIME,
	    CENSUS_NO_TIME) != 0)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			census_line(&c, (const char *)data + start, i - start);
			lines++;
			start = i + 1;
		}
	}
	const struct census_lines *l = &c.lines;
	CHECK(l->read == lines);
	CHECK(l->read == l->used + l->bad + l->other_kind +
	    l->outside_window + l->no_id + l->other_network + l->crawl_unknown);
	CHECK(l->used == l->inbound + l->crawl_peer + l->crawl_start);
	if (census_finish(&c, &r) == 0) {
		CHECK(r.all.nodes == c.n_nodes);
		FILE *f = fmemopen(out, sizeof out, "w");
		if (f != NULL) {
			census_print_json(&c, &r, &line, f);
			census_print_table(&c, &r, f);
			fclose(f);
		}
		census_result_free(&r);
	}
	census_free(&c);
	return 0;
}
