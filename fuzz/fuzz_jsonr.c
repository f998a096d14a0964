/* fuzz_jsonr.c - the JSON reader on hostile bytes: jsonr_skip stays inside
 * the input and agrees with itself on a prefix; a decoded string fits its
 * buffer and is no longer than its escaped form; in a valid object a
 * member lookup points at a value that skips cleanly; walking an array
 * moves forward, inside it, and ends cleanly exactly when it is valid.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_jsonr.c jsonr.c -o build/fuzz/fuzz_jsonr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

/* The elements of the array at i: each starts after the last and
 * skips; the walk ends with 0 (at its ']') if the array is valid. */
static void walk_array(const char *p, size_t size, size_t i, long end)
{
	long prev = (long)i, e;

	for (e = jsonr_array_first(p, size, i); e > 0;
	    e = jsonr_array_next(p, size, (size_t)e)) {
		CHECK(e > prev && (size_t)e < size);
		prev = e;
	}
	CHECK(e == -1 || e == 0);
	if (end > 0)
		CHECK(e == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *p = (const char *)data;
	char out[256];
	size_t len = 0;
	long end = jsonr_skip(p, size, 0);

	CHECK(end >= -1 && end <= (long)size);
	if (end > 0) /* the same value is complete in the prefix that holds it */
		CHECK(jsonr_skip(p, (size_t)end, 0) == end);
	size_t i = jsonr_ws(p, size, 0);
	if (i < size && p[i] == '[')
		walk_array(p, size, i, end);
	long s = jsonr_string(p, size, i, out, sizeof out, &len);
	if (s > 0) {
		CHECK(len < sizeof out && out[len] == '\0');
		CHECK(len <= (size_t)s - i);
		CHECK(strlen(out) == len);
	}
	long v = jsonr_member(p, size, 0, "event_id");
	if (v >= 0) {   /* the value itself is the caller's to check ... */
		CHECK((size_t)v <= size);
		if (end > 0)   /* ... but in a valid object it is valid */
			CHECK(jsonr_skip(p, size, (size_t)v) > v);
	}
	return 0;
}
