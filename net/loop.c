/* loop.c - poll() with per-slot deadlines.  Everything is O(slots) per
 * turn, which is what poll() costs anyway. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void)
{
	return now_us() / 1000;
}

int loop_init(struct loop *l, int cap)
{
	l->pfd = calloc((size_t)cap, sizeof *l->pfd);
	l->ent = calloc((size_t)cap, sizeof *l->ent);
	l->free_slots = calloc((size_t)cap, sizeof *l->free_slots);
	l->cap = cap;
	l->high = 0;
	l->stop = false;
	l->n_free = 0;
	if (l->pfd == NULL || l->ent == NULL || l->free_slots == NULL) {
		loop_free(l);
		return -1;
	}
	return 0;
}

void loop_free(struct loop *l)
{
	free(l->pfd);
	free(l->ent);
	free(l->free_slots);
	l->pfd = NULL;
	l->ent = NULL;
	l->free_slots = NULL;
}

int loop_add(struct loop *l, int fd, short events, loop_fn fn, void *ud)
{
	int slot;

	if (l->n_free > 0)
		slot = l->free_slots[--l->n_free];
	else if (l->high < l->cap)
		slot = l->high++;
	else
		return -1;
	l->pfd[slot] = (struct pollfd){ .fd = fd, .events = events };
	l->ent[slot] = (struct loop_entry){ .fn = fn, .ud = ud };
	return slot;
}

void loop_del(struct loop *l, int slot)
{
	l->pfd[slot].fd = -1;
	l->pfd[slot].revents = 0;
	l->ent[slot].fn = NULL;
	l->free_slots[l->n_free++] = slot;
}

void loop_set_events(struct loop *l, int slot, short events)
{
	l->pfd[slot].events = events;
}

void loop_set_deadline(struct loop *l, int slot, int64_t deadline_ms)
{
	l->ent[slot].deadline_ms = deadline_ms;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

/* Milliseconds until the earliest deadline, or -1 for none. */
static int next_timeout(const struct loop *l, int64_t now)
{
	int64_t first = 0;

	for (int i = 0; i < l->high; i++) {
		int64_t d = l->ent[i].deadline_ms;
		if (l->ent[i].fn != NULL && d != 0 && (first == 0 || d < first))
			first = d;
	}
	if (first == 0)
		return -1;
	return first <= now ? 0 : (int)(first - now < 60000 ? first - now : 60000);
}

/* Callbacks may add or delete any slot, so each is re-checked before use.
 * An event goes first, but a passed deadline gets the next turn even if
 * the fd is ready again: a peer that keeps it readable cannot starve it
 * (poll() is level-triggered, so the event comes back the turn after). */
static void dispatch(struct loop *l, int64_t now)
{
	int high = l->high;

	for (int i = 0; i < high; i++) {
		struct loop_entry *e = &l->ent[i];
		short re = l->pfd[i].revents;
		l->pfd[i].revents = 0;
		if (e->fn == NULL)
			continue;
		bool due = e->deadline_ms != 0 && e->deadline_ms <= now;
		if (re != 0 && !(due && e->overdue)) {
			e->overdue = due;
			e->fn(l, i, re, e->ud);
		} else if (due) {
			e->deadline_ms = 0;
			e->overdue = false;
			e->fn(l, i, 0, e->ud);
		}
	}
}

int loop_run(struct loop *l)
{
	while (!l->stop) {
		int timeout = next_timeout(l, now_ms());
		int n = poll(l->pfd, (nfds_t)l->high, timeout);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n < 0) {
			/* A signal: its handler set a flag the caller polls
			 * through a timer or self-pipe; nothing to dispatch. */
			for (int i = 0; i < l->high; i++)
				l->pfd[i].revents = 0;
			continue;
		}
		dispatch(l, now_ms());
	}
	return 0;
}
