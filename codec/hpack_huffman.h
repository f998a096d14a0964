/* hpack_huffman.h - the HPACK Huffman code (RFC 7541 Appendix B) in
 * canonical form.
 *
 * The RFC code is canonical: codes of one length are consecutive, in symbol
 * order, and each length starts right after the last code of the previous
 * length, shifted left.  So the code lengths alone define it: the number of
 * codes of each length, and the symbols listed by (length, symbol).  The code
 * is also complete (every 30-bit string starts with a code), and EOS (256) is
 * the last code: the all-ones 30-bit string.
 *
 * Included by hpack.c only.
 */
#ifndef HPACK_HUFFMAN_H
#define HPACK_HUFFMAN_H

#include <stdint.h>

#define HUFFMAN_MAX_BITS 30
#define HUFFMAN_EOS 256

/* Number of codes of each length, EOS included (one of the four 30-bit). */
static const uint16_t huffman_count[HUFFMAN_MAX_BITS + 1] = {
	0, 0, 0, 0, 0, 10, 26, 32, 6, 0, 5, 3, 2, 6, 2, 3,
	0, 0, 0, 3, 8, 13, 26, 29, 12, 4, 15, 19, 29, 0, 4,
};

/* Symbols 0-255 by (code length, symbol); EOS would follow them. */
static const uint8_t huffman_symbol[256] = {
	/* 5 bits */
	48, 49, 50, 97, 99, 101, 105, 111, 115, 116,
	/* 6 bits */
	32, 37, 45, 46, 47, 51, 52, 53, 54, 55, 56, 57,
	61, 65, 95, 98, 100, 102, 103, 104, 108, 109, 110, 112,
	114, 117,
	/* 7 bits */
	58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
	77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89,
	106, 107, 113, 118, 119, 120, 121, 122,
	/* 8 bits */
	38, 42, 44, 59, 88, 90,
	/* 10 bits */
	33, 34, 40, 41, 63,
	/* 11 bits */
	39, 43, 124,
	/* 12 bits */
	35, 62,
	/* 13 bits */
	0, 36, 64, 91, 93, 126,
	/* 14 bits */
	94, 125,
	/* 15 bits */
	60, 96, 123,
	/* 19 bits */
	92, 195, 208,
	/* 20 bits */
	128, 130, 131, 162, 184, 194, 224, 226,
	/* 21 bits */
	153, 161, 167, 172, 176, 177, 179, 209, 216, 217, 227, 229,
	230,
	/* 22 bits */
	129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169,
	170, 173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228,
	232, 233,
	/* 23 bits */
	1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151,
	152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182, 183,
	188, 191, 197, 231, 239,
	/* 24 bits */
	9, 142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237,
	/* 25 bits */
	199, 207, 234, 235,
	/* 26 bits */
	192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240,
	242, 243, 255,
	/* 27 bits */
	203, 204, 211, 212, 214, 221, 222, 223, 241, 244, 245, 246,
	247, 248, 250, 251, 252, 253, 254,
	/* 28 bits */
	2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16,
	17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29,
	30, 31, 127, 220, 249,
	/* 30 bits */
	10, 13, 22,
};

#endif
