/* inflate.h - DEFLATE (RFC 1951) and gzip (RFC 1952) decoder.
 *
 * One-shot: the whole compressed input is in memory (one gRPC message), the
 * output goes to a caller buffer that is also the LZ77 window, so there is
 * no state to keep between calls, no malloc and no I/O.  The output cap is
 * the defence against decompression bombs.
 */
#ifndef INFLATE_H
#define INFLATE_H

#include <stddef.h>
#include <stdint.h>

enum inflate_err {
	INFLATE_OK = 0,
	INFLATE_E_TRUNCATED = -1,  /* input ended early */
	INFLATE_E_DATA = -2,       /* invalid block type, code, distance... */
	INFLATE_E_TOO_BIG = -3,    /* output would exceed out_cap */
	INFLATE_E_HEADER = -4,     /* bad gzip magic, method or flags */
	INFLATE_E_CHECKSUM = -5,   /* gzip CRC-32 or ISIZE mismatch */
	INFLATE_E_TRAILING = -6,   /* bytes after the gzip member */
};

/* Raw DEFLATE stream.  On success *out_len is the decoded size and
 * *in_used the number of input bytes the stream took. */
int inflate_raw(const uint8_t *in, size_t in_len, size_t *in_used,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* Exactly one gzip member (what gRPC's gzip codec produces), checked
 * against its CRC-32 and ISIZE. */
int inflate_gzip(const uint8_t *in, size_t in_len,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* CRC-32 (IEEE 802.3), as gzip uses it; crc starts at 0. */
uint32_t inflate_crc32(uint32_t crc, const uint8_t *p, size_t n);

const char *inflate_strerror(int err);

#endif
