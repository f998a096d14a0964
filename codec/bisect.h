/* bisect.h - which lines of a batch go out next when the store refuses
 * batches all or nothing (a ClickHouse INSERT, a Firestore commit).
 *
 * The whole batch goes first.  A refused range of two or more lines is
 * split in halves, left half first, depth first; a refused single line is
 * parked (dead-lettered); an accepted range is shipped.  Ranges are
 * settled left to right, so what is settled is always a prefix of the
 * batch, and the batch is done when no range is left.
 *
 * Cost: every request but the first is one of the two halves of a split.
 * A refused range holds a refused line, the ranges of one depth are
 * disjoint, and after D = ceil(log2 n) halvings a range is one line.  So
 * with k refused lines in n there are at most k * D splits: at most
 * 2 * k * D + 1 requests.  Hard limit: a batch gets at most
 * BISECT_MAX_REFUSED * D splits, then a refused range is parked whole; up
 * to BISECT_MAX_REFUSED refused lines are always isolated, and no batch
 * costs more than 2 * BISECT_MAX_REFUSED * D + 1 requests (a store that
 * refuses every line: a wrong table).
 *
 * Stack: it holds ranges of strictly growing depth (1 .. D) but for the
 * top two, which may be the halves of one split, so D + 1 <= 65 entries.
 */
#ifndef BISECT_H
#define BISECT_H

#include <stdbool.h>
#include <stdint.h>

#define BISECT_MAX_REFUSED 8
#define BISECT_STACK 65

/* Lines first .. first + count - 1 of the batch (0-based). */
struct line_range {
	uint64_t first, count;
};

enum bisect_verdict { BISECT_ACCEPTED, BISECT_REFUSED };

/* What the caller does with the range it sent. */
enum bisect_action {
	BISECT_SHIP,     /* accepted: its lines are shipped */
	BISECT_SPLIT,    /* refused: its halves go out next */
	BISECT_PARK      /* refused: park its lines (one, or the limit hit) */
};

struct bisect {
	struct line_range todo[BISECT_STACK];  /* todo[depth - 1] goes next */
	unsigned depth;
	uint64_t splits, max_splits;
};

/* ceil(log2 n): the halvings that take n lines down to one. */
unsigned bisect_levels(uint64_t n);

/* A fresh batch of `lines` lines (0: nothing to send). */
void bisect_start(struct bisect *b, uint64_t lines);

/* The range to send next; false when the batch is settled. */
bool bisect_next(const struct bisect *b, struct line_range *r);

/* Settles the range bisect_next gave (the batch must not be settled). */
enum bisect_action bisect_answer(struct bisect *b, enum bisect_verdict v);

/* Undoes a BISECT_PARK that could not be carried out (the dead-letter
 * file was not writable): range r, which bisect_answer just settled, goes
 * out next again. */
void bisect_unpark(struct bisect *b, struct line_range r);

#endif
