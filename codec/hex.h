/* hex.h - bytes as lowercase hex text (node ids, crawl ids, raw bytes in
 * log lines), and hex digits read back (chunk sizes, \u escapes). */
#ifndef HEX_H
#define HEX_H

#include <stddef.h>
#include <stdint.h>

/* 2 * n hex digits of p[0..n) into out, then a NUL: out has room for
 * 2 * n + 1 bytes. */
void hex_text(char *out, const uint8_t *p, size_t n);

/* 0..15 for 0-9, a-f, A-F; -1 for any other byte. */
int hex_digit_value(char c);

#endif
