/* fuzz_jsonr.c - the JSON reader on hostile bytes: jsonr_skip stays inside
 * the input and agrees with itself on a prefix; a decoded string fits its
 * buffer and is no longer than its escaped form; in a valid object a
 * member lookup points at a value that skips cleanly; walking a valid
 * object or array member by member ends where skipping it ends.
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
	long s = jsonr_string(p, size, i, out, sizeof out, &len);
	if (s > 0) {
		CHECK(len < sizeof out && out[len] == '\0');
		CHECK(len <= (size_t)s - i);
		CHECK(strlen(out) == len);
	}
	struct jsonr_iter it;
	if (end > 0 && jsonr_iter_begin(&it, p, size, 0) == 0) {
		char key[16];
		size_t at;
		int r;
		while ((r = jsonr_iter_next(&it, p, size, key, sizeof key,
		    &at)) == 1) {
			long next = jsonr_skip(p, size, at);
			CHECK(next > (long)at && it.key_len < sizeof key);
			it.next = (size_t)next;
		}
		CHECK(r == 0 && (long)it.next == end);
	}
	long v = jsonr_member(p, size, 0, "event_id");
	if (v >= 0) {   /* the value itself is the caller's to check ... */
		CHECK((size_t)v <= size);
		if (end > 0)   /* ... but in a valid object it is valid */
			CHECK(jsonr_skip(p, size, (size_t)v) > v);
	}
	return 0;
}
