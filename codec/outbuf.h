/* outbuf.h - appending to a caller's fixed buffer.  A write that does not
 * fit sets `overflow` and writes nothing; every later write is dropped,
 * so a builder checks once, at the end. */
#ifndef OUTBUF_H
#define OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	unsigned char *p;
	size_t cap;
	size_t len;
	bool overflow;
};

void outbuf_put(struct outbuf *b, const void *src, size_t n);

#endif
