/* outbuf.c - see outbuf.h. */
#include "outbuf.h"

#include <string.h>

void outbuf_put(struct outbuf *b, const void *src, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}
