/* fuzz_inflate.c - differential libFuzzer target: inflate.c against zlib.
 *
 * Input: one control byte, then the compressed bytes.  Control bit 0
 * picks gzip (zlib windowBits 16+15) or raw DEFLATE (windowBits -15);
 * bits 1..7, when not zero, pick a small output cap (61-byte steps) to
 * exercise INFLATE_E_TOO_BIG.  Both decoders get the same cap, and must
 * both accept with the same output (and, raw, the same input used) or
 * both reject.  zlib stops after one gzip member and leaves the rest
 * unread, where we must say INFLATE_E_TRAILING.  Error kinds are not
 * compared: when several problems coincide (short input and a full
 * output, a bad CRC before a short ISIZE) the two report different ones.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       fuzz/fuzz_inflate.c inflate.c -lz -o build/fuzz_inflate
 *
 * Seeds: zlib-made members behind a control byte, e.g. with Python's zlib:
 *   c = zlib.compressobj(6, zlib.DEFLATED, 31); b'\x01' + c.compress(d) + c.flush()
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "inflate.h"

enum { OUT_MAX = 1 << 20 };

static uint8_t ours[OUT_MAX], theirs[OUT_MAX];

struct zlib_result {
	int ok;           /* a whole stream decoded within the cap */
	size_t out_len, in_used;
};

static struct zlib_result zlib_decode(int gzip, const uint8_t *in, size_t n, size_t cap)
{
	struct zlib_result r = {0, 0, 0};
	z_stream z;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, gzip ? 16 + 15 : -15) != Z_OK)
		abort();
	z.next_in = in;
	z.avail_in = (uInt)n;
	z.next_out = theirs;
	z.avail_out = (uInt)cap;
	r.ok = inflate(&z, Z_FINISH) == Z_STREAM_END;
	r.out_len = z.total_out;
	r.in_used = z.total_in;
	inflateEnd(&z);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int gzip = data[0] & 1;
	size_t cap = data[0] >> 1 ? (size_t)(data[0] >> 1) * 61 : OUT_MAX;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	size_t used = 0, out_len = 0;

	int err = gzip ? inflate_gzip(in, n, ours, cap, &out_len)
	    : inflate_raw(in, n, &used, ours, cap, &out_len);
	struct zlib_result z = zlib_decode(gzip, in, n, cap);

	if (out_len > cap)
		abort();
	if (gzip && z.ok && z.in_used < n) {
		if (err != INFLATE_E_TRAILING)
			abort();
		return 0;
	}
	if (z.ok != (err == INFLATE_OK))
		abort();
	if (z.ok && (out_len != z.out_len || memcmp(ours, theirs, out_len) != 0))
		abort();
	if (z.ok && !gzip && used != z.in_used)
		abort();
	return 0;
}
