/* loop.h - the event loop: poll() over file descriptors, each with an
 * optional deadline.  Single-threaded; callbacks run on the loop.
 *
 * An entry is a slot: an fd (or -1 for a pure timer), the events wanted,
 * a deadline (0 = none) and a callback.  The callback gets the poll
 * revents, or 0 when the deadline passed.  Slots are stable handles.
 */
#ifndef LOOP_H
#define LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fn)(struct loop *l, int slot, short revents, void *ud);

struct loop_entry {
	loop_fn fn;
	void *ud;
	int64_t deadline_ms;   /* monotonic; 0 = none */
	bool overdue;          /* an event beat the passed deadline last turn */
};

struct loop {
	struct pollfd *pfd;        /* pfd[i] belongs to ent[i] */
	struct loop_entry *ent;
	int *free_slots;           /* stack of free slot numbers */
	int n_free;
	int cap;
	int high;                  /* slots in use are below this */
	bool stop;
};

int loop_init(struct loop *l, int cap);
void loop_free(struct loop *l);

/* Register fd (or -1) for events; returns the slot or -1 when full. */
int loop_add(struct loop *l, int fd, short events, loop_fn fn, void *ud);
void loop_del(struct loop *l, int slot);
void loop_set_events(struct loop *l, int slot, short events);
void loop_set_deadline(struct loop *l, int slot, int64_t deadline_ms);

/* Run until loop_stop(); returns 0, or -1 if poll() failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

int64_t now_ms(void);          /* CLOCK_MONOTONIC */
int64_t now_us(void);

#endif
