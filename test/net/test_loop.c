/* test_loop.c - the poll() loop: fd events on socketpairs, deadlines in
 * order with revents 0, callbacks that add and delete slots (including a
 * slot whose revents are pending in the same turn), slot reuse, stop, and
 * the timeout handed to poll().  poll() is wrapped at link time
 * (-Wl,--wrap=poll) to record that timeout and to inject failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"

/* ---- poll() wrapper ---- */

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);

static struct {
	int calls;
	int last_timeout;
	int fail_errno;      /* next call fails with this, once; 0 = real */
} wrap;

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	wrap.calls++;
	wrap.last_timeout = timeout;
	if (wrap.fail_errno != 0) {
		/* What the kernel leaves in revents on failure is unspecified:
		 * put junk there so a loop that dispatches anyway is caught. */
		for (nfds_t i = 0; i < n; i++)
			fds[i].revents = POLLIN;
		errno = wrap.fail_errno;
		wrap.fail_errno = 0;
		return -1;
	}
	return __real_poll(fds, n, timeout);
}

/* ---- fixture: a loop, socketpairs, a call log and a watchdog ---- */

#define PAIRS 4
#define LOG_MAX 64
#define WATCHDOG_MS 3000

struct call {
	int slot;
	short revents;
	int tag;
	int turn;            /* wrap.calls when the callback ran */
	int64_t at_ms;
};

struct fx {
	struct loop l;
	int sv[PAIRS][2];
	struct call log[LOG_MAX];
	int n_log;
	int watchdog;
	bool timed_out;
	/* Per-test wiring for the callbacks. */
	int stop_after;      /* loop_stop once this many calls are logged */
	int del_slot;        /* on_del_other deletes this slot */
	int add_fd;          /* ... and adds this fd (-1: a timer) */
	int added_slot;
};

static struct fx *F;

static void record(int slot, short revents, int tag)
{
	assert_true(F->n_log < LOG_MAX);
	F->log[F->n_log++] = (struct call){ slot, revents, tag, wrap.calls,
		now_ms() };
	if (F->stop_after != 0 && F->n_log >= F->stop_after)
		loop_stop(&F->l);
}

static void on_watchdog(struct loop *l, int slot, short revents, void *ud)
{
	(void)slot;
	(void)revents;
	(void)ud;
	F->timed_out = true;
	loop_stop(l);
}

static int setup(void **state)
{
	static struct fx fx;
	memset(&fx, 0, sizeof fx);
	F = &fx;
	memset(&wrap, 0, sizeof wrap);
	if (loop_init(&fx.l, 16) != 0)
		return -1;
	for (int i = 0; i < PAIRS; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
		    fx.sv[i]) != 0)
			return -1;
	fx.add_fd = -1;
	fx.watchdog = -1;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	for (int i = 0; i < PAIRS; i++) {
		close(fx->sv[i][0]);
		close(fx->sv[i][1]);
	}
	loop_free(&fx->l);
	return 0;
}

/* A timer that ends a test that would otherwise hang. */
static void arm_watchdog(void)
{
	F->watchdog = loop_add(&F->l, -1, 0, on_watchdog, NULL);
	assert_true(F->watchdog >= 0);
	loop_set_deadline(&F->l, F->watchdog, now_ms() + WATCHDOG_MS);
}

static void run_loop(void)
{
	assert_int_equal(loop_run(&F->l), 0);
	assert_false(F->timed_out);
}

/* Run until `calls` callbacks in all have been logged. */
static void run_until(int calls)
{
	F->l.stop = false;
	F->stop_after = calls;
	run_loop();
}

/* A slot reading the near end of socketpair `pair`. */
static int add_pair(int pair, loop_fn fn, int tag)
{
	int s = loop_add(&F->l, F->sv[pair][0], POLLIN, fn,
	    (void *)(intptr_t)tag);
	assert_true(s >= 0);
	return s;
}

static void make_readable(int pair)
{
	assert_int_equal(write(F->sv[pair][1], "x", 1), 1);
}

/* ---- callbacks; ud carries a tag ---- */

static int tag_of(void *ud)
{
	return (int)(intptr_t)ud;
}

static void on_record(struct loop *l, int slot, short revents, void *ud)
{
	(void)l;
	record(slot, revents, tag_of(ud));
}

/* Read what is there so the fd goes quiet, then record. */
static void on_drain(struct loop *l, int slot, short revents, void *ud)
{
	char buf[16];
	(void)!read(l->pfd[slot].fd, buf, sizeof buf);
	record(slot, revents, tag_of(ud));
}

static void on_del_self(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_del(l, slot);
}

/* Delete F->del_slot, then add a slot for F->add_fd (which may reuse it). */
static void on_del_other(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_del(l, F->del_slot);
	F->added_slot = loop_add(l, F->add_fd, POLLIN, on_drain,
	    (void *)(intptr_t)99);
}

static void on_rearm(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	if (F->n_log < 3)
		loop_set_deadline(l, slot, now_ms() + 5);
}

/* ---- tests ---- */

static void test_fd_event(void **state)
{
	(void)state;
	arm_watchdog();
	int s = add_pair(0, on_drain, 1);
	make_readable(0);
	run_until(1);
	assert_int_equal(F->n_log, 1);
	assert_int_equal(F->log[0].slot, s);
	assert_true(F->log[0].revents & POLLIN);
	assert_int_equal(F->log[0].tag, 1);
}

/* POLLOUT on a writable socket, then POLLHUP once the peer closes. */
static void test_fd_out_and_hangup(void **state)
{
	(void)state;
	arm_watchdog();
	int s = loop_add(&F->l, F->sv[1][0], POLLOUT, on_record, NULL);
	run_until(1);
	assert_true(F->log[0].revents & POLLOUT);

	loop_set_events(&F->l, s, POLLIN);
	close(F->sv[1][1]);
	F->sv[1][1] = -1;
	run_until(2);
	assert_true(F->log[1].revents & (POLLHUP | POLLIN));
}

/* Three timers added in reverse deadline order fire earliest first, each
 * with revents 0, none before its deadline, each once. */
static void test_deadlines_in_order(void **state)
{
	(void)state;
	arm_watchdog();
	int64_t t0 = now_ms();
	int64_t when[3] = { t0 + 150, t0 + 100, t0 + 50 };
	int slot[3];
	for (int i = 0; i < 3; i++) {
		slot[i] = loop_add(&F->l, -1, 0, on_record, (void *)(intptr_t)i);
		loop_set_deadline(&F->l, slot[i], when[i]);
	}
	run_until(3);
	assert_int_equal(F->n_log, 3);
	for (int k = 0; k < 3; k++) {
		int i = 2 - k;
		assert_int_equal(F->log[k].slot, slot[i]);
		assert_int_equal(F->log[k].revents, 0);
		assert_true(F->log[k].at_ms >= when[i]);
	}
	/* One-shot: cleared before the callback ran. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(F->l.ent[slot[i]].deadline_ms, 0);
}

/* A deadline set again from its own callback fires again. */
static void test_deadline_rearm(void **state)
{
	(void)state;
	arm_watchdog();
	int s = loop_add(&F->l, -1, 0, on_rearm, NULL);
	loop_set_deadline(&F->l, s, now_ms() + 5);
	run_until(3);
	assert_int_equal(F->n_log, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(F->log[i].slot, s);
	assert_true(F->log[2].at_ms >= F->log[0].at_ms + 10);
}

/* An fd with both data and a passed deadline: the event is delivered;
 * the deadline is kept and fires on the next turn. */
static void test_event_and_deadline_same_turn(void **state)
{
	(void)state;
	arm_watchdog();
	int s = add_pair(0, on_drain, 0);
	loop_set_deadline(&F->l, s, now_ms() - 1);
	make_readable(0);
	run_until(2);
	assert_true(F->log[0].revents & POLLIN);
	assert_int_equal(F->log[1].revents, 0);
	assert_true(F->log[1].turn > F->log[0].turn);
}

/* An fd that stays readable every turn (a flooding peer) must not starve
 * its passed deadline: the event wins one turn, the deadline the next. */
static void test_deadline_not_starved_by_events(void **state)
{
	(void)state;
	arm_watchdog();
	int s = add_pair(0, on_record, 0);    /* never drained */
	loop_set_deadline(&F->l, s, now_ms() - 1);
	make_readable(0);
	run_until(2);
	assert_true(F->log[0].revents & POLLIN);
	assert_int_equal(F->log[1].slot, s);
	assert_int_equal(F->log[1].revents, 0);
	assert_int_equal(F->log[1].turn, F->log[0].turn + 1);
	/* One-shot: afterwards the fd's events come through again. */
	run_until(3);
	assert_true(F->log[2].revents & POLLIN);
}

/* poll() gets 0 when a deadline already passed, the time to the earliest
 * deadline otherwise (at most 60 s), and -1 when there is none; deleted
 * slots' deadlines do not count. */
static void test_poll_timeout(void **state)
{
	(void)state;
	int fd_slot = add_pair(0, on_drain, 0);
	make_readable(0);
	run_until(1);
	assert_int_equal(wrap.last_timeout, -1);

	int t = loop_add(&F->l, -1, 0, on_record, NULL);
	loop_set_deadline(&F->l, t, now_ms() + 3600 * 1000);
	make_readable(0);
	run_until(2);
	assert_int_equal(wrap.last_timeout, 60000);

	int u = loop_add(&F->l, -1, 0, on_record, NULL);
	loop_set_deadline(&F->l, u, now_ms() + 500);
	make_readable(0);
	run_until(3);
	assert_true(wrap.last_timeout > 400 && wrap.last_timeout <= 500);

	loop_del(&F->l, u);
	loop_set_deadline(&F->l, t, now_ms() - 5);
	run_until(4);
	assert_int_equal(wrap.last_timeout, 0);
	assert_int_equal(F->log[3].slot, t);
	assert_int_equal(F->log[3].revents, 0);

	/* Only the deleted slot had a deadline: back to no timeout. */
	loop_set_deadline(&F->l, t, now_ms() + 100000);
	loop_del(&F->l, t);
	make_readable(0);
	run_until(5);
	assert_int_equal(wrap.last_timeout, -1);
	assert_int_equal(F->log[4].slot, fd_slot);
}

/* The first callback of a turn deletes a later slot whose revents are
 * pending: that slot's callback must not run, in this turn or later. */
static void test_delete_pending_slot(void **state)
{
	(void)state;
	arm_watchdog();
	int a = add_pair(0, on_del_other, 1);
	int b = add_pair(1, on_drain, 2);
	int c = add_pair(2, on_drain, 3);
	assert_true(a < b && b < c);
	F->del_slot = b;
	F->add_fd = F->sv[3][0];    /* quiet: must not inherit b's event */
	make_readable(0);
	make_readable(1);
	make_readable(2);
	run_until(2);
	assert_int_equal(F->n_log, 2);
	assert_int_equal(F->log[0].tag, 1);
	assert_int_equal(F->log[1].tag, 3);       /* c ran, b did not */
	assert_int_equal(F->log[1].turn, F->log[0].turn);
	assert_int_equal(F->added_slot, b);       /* b's number reused */

	/* The new slot reports its own fd's events, on a later turn. */
	loop_set_events(&F->l, a, 0);
	make_readable(3);
	run_until(3);
	assert_int_equal(F->log[2].tag, 99);
	assert_int_equal(F->log[2].slot, b);
	assert_true(F->log[2].turn > F->log[1].turn);
}

/* Same, but the deleted slot's number goes to a timer whose deadline
 * has passed: it fires as a timer (revents 0), never with b's POLLIN. */
static void on_del_add_timer(struct loop *l, int slot, short revents,
    void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_del(l, F->del_slot);
	F->added_slot = loop_add(l, -1, 0, on_record, (void *)(intptr_t)77);
	loop_set_deadline(l, F->added_slot, now_ms() - 1);
}

static void test_delete_pending_slot_reused_by_timer(void **state)
{
	(void)state;
	arm_watchdog();
	int a = add_pair(0, on_del_add_timer, 1);
	int b = add_pair(1, on_drain, 2);
	F->del_slot = b;
	make_readable(0);
	make_readable(1);
	run_until(2);
	assert_int_equal(F->added_slot, b);
	assert_int_equal(F->log[0].slot, a);
	assert_int_equal(F->log[1].tag, 77);
	assert_int_equal(F->log[1].revents, 0);
}

/* Two timers expire in the same turn; the first deletes the second,
 * which must not run (its entry has no callback any more). */
static void on_del_timer(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_del(l, F->del_slot);
}

static void test_delete_expired_timer(void **state)
{
	(void)state;
	int a = loop_add(&F->l, -1, 0, on_del_timer, (void *)(intptr_t)1);
	int b = loop_add(&F->l, -1, 0, on_record, (void *)(intptr_t)2);
	int c = loop_add(&F->l, -1, 0, on_record, (void *)(intptr_t)3);
	int64_t past = now_ms() - 1;
	loop_set_deadline(&F->l, a, past);
	loop_set_deadline(&F->l, b, past);
	loop_set_deadline(&F->l, c, past + 40);
	F->del_slot = b;
	run_until(2);
	assert_int_equal(F->n_log, 2);
	assert_int_equal(F->log[0].tag, 1);
	assert_int_equal(F->log[1].tag, 3);
	assert_true(F->log[1].turn > F->log[0].turn);
}

/* A callback deletes its own slot: never called again, even though the
 * fd stays readable. */
static void test_delete_self(void **state)
{
	(void)state;
	int s = add_pair(0, on_del_self, 0);
	int t = loop_add(&F->l, -1, 0, on_record, (void *)(intptr_t)5);
	loop_set_deadline(&F->l, t, now_ms() + 50);
	make_readable(0);
	run_until(2);
	assert_int_equal(F->n_log, 2);
	assert_int_equal(F->log[0].slot, s);
	assert_int_equal(F->log[1].tag, 5);
}

/* A slot added from a callback above the turn's range is not visited in
 * that turn, and gets its events on the next one. */
static void on_add_new(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_set_events(l, slot, 0);
	F->added_slot = loop_add(l, F->add_fd, POLLIN, on_drain,
	    (void *)(intptr_t)42);
}

static void test_add_in_callback(void **state)
{
	(void)state;
	arm_watchdog();
	int a = add_pair(0, on_add_new, 0);
	F->add_fd = F->sv[1][0];
	make_readable(0);
	make_readable(1);
	run_until(2);
	assert_true(F->added_slot > a);
	assert_int_equal(F->log[1].tag, 42);
	assert_true(F->log[1].turn > F->log[0].turn);
}

/* Freed numbers are handed out again; a full loop says -1 until a slot
 * is freed. */
static void test_slot_reuse_and_full(void **state)
{
	(void)state;
	int s[16];
	for (int i = 0; i < 16; i++) {
		s[i] = loop_add(&F->l, -1, 0, on_record, NULL);
		assert_int_equal(s[i], i);
	}
	assert_int_equal(loop_add(&F->l, -1, 0, on_record, NULL), -1);
	loop_del(&F->l, s[3]);
	loop_del(&F->l, s[9]);
	int x = loop_add(&F->l, -1, 0, on_record, NULL);
	int y = loop_add(&F->l, -1, 0, on_record, NULL);
	assert_true((x == 3 && y == 9) || (x == 9 && y == 3));
	assert_int_equal(loop_add(&F->l, -1, 0, on_record, NULL), -1);
	/* A reused slot starts clean: no deadline left from before. */
	loop_set_deadline(&F->l, x, now_ms() + 1000);
	loop_del(&F->l, x);
	x = add_pair(0, on_record, 0);
	assert_int_equal(F->l.ent[x].deadline_ms, 0);
	assert_int_equal(F->l.pfd[x].fd, F->sv[0][0]);
}

/* loop_stop from a callback: the turn completes, loop_run returns 0. */
static void on_stop(struct loop *l, int slot, short revents, void *ud)
{
	record(slot, revents, tag_of(ud));
	loop_stop(l);
}

static void test_stop_finishes_turn(void **state)
{
	(void)state;
	arm_watchdog();
	add_pair(0, on_stop, 1);
	add_pair(1, on_drain, 2);
	make_readable(0);
	make_readable(1);
	run_loop();
	assert_int_equal(F->n_log, 2);
	assert_int_equal(F->log[0].turn, F->log[1].turn);
	assert_int_equal(wrap.calls, 1);
}

/* EINTR: nothing dispatched from that turn (revents are junk), the loop
 * goes on.  Any other poll() error ends loop_run with -1. */
static void test_poll_errors(void **state)
{
	(void)state;
	arm_watchdog();
	int s = add_pair(0, on_drain, 0);
	wrap.fail_errno = EINTR;
	make_readable(0);
	run_until(1);
	assert_int_equal(wrap.calls, 2);
	assert_int_equal(F->n_log, 1);
	assert_int_equal(F->log[0].turn, 2);
	assert_int_equal(F->log[0].slot, s);

	F->l.stop = false;
	wrap.fail_errno = ENOMEM;
	assert_int_equal(loop_run(&F->l), -1);
	assert_int_equal(F->n_log, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_fd_event),
		T(test_fd_out_and_hangup),
		T(test_deadlines_in_order),
		T(test_deadline_rearm),
		T(test_event_and_deadline_same_turn),
		T(test_deadline_not_starved_by_events),
		T(test_poll_timeout),
		T(test_delete_pending_slot),
		T(test_delete_pending_slot_reused_by_timer),
		T(test_delete_expired_timer),
		T(test_delete_self),
		T(test_add_in_callback),
		T(test_slot_reuse_and_full),
		T(test_stop_finishes_turn),
		T(test_poll_errors),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
