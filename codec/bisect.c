/* bisect.c - the bisecting planner for refused batches (see bisect.h). */
#include "bisect.h"

unsigned bisect_levels(uint64_t n)
{
	unsigned d = 0;

	while (d < 64 && (UINT64_C(1) << d) < n)
		d++;
	return d;
}

void bisect_start(struct bisect *b, uint64_t lines)
{
	b->depth = 0;
	b->splits = 0;
	b->max_splits = BISECT_MAX_REFUSED * (uint64_t)bisect_levels(lines);
	if (lines > 0)
		b->todo[b->depth++] = (struct line_range){ 0, lines };
}

bool bisect_next(const struct bisect *b, struct line_range *r)
{
	if (b->depth == 0)
		return false;
	*r = b->todo[b->depth - 1];
	return true;
}

enum bisect_action bisect_answer(struct bisect *b, enum bisect_verdict v)
{
	struct line_range r = b->todo[--b->depth];
	uint64_t left = r.count / 2;

	if (v == BISECT_ACCEPTED)
		return BISECT_SHIP;
	if (r.count < 2 || b->splits >= b->max_splits)
		return BISECT_PARK;
	/* The halves go on top, left last so it goes out first. */
	b->todo[b->depth++] = (struct line_range){ r.first + left,
	    r.count - left };
	b->todo[b->depth++] = (struct line_range){ r.first, left };
	b->splits++;
	return BISECT_SPLIT;
}

void bisect_unpark(struct bisect *b, struct line_range r)
{
	b->todo[b->depth++] = r;     /* the slot bisect_answer emptied */
}
