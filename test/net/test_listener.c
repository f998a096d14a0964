/* test_listener.c - the accept loop both ports share, on loopback: the
 * sockets it makes (non-blocking, close-on-exec), the burst limit, holding
 * while the owner has no room (connections wait in the backlog), the
 * pause on EMFILE, ENFILE, ENOBUFS and ENOMEM and its end, transient
 * errors ending a burst quietly, other errors reported, IPV6_V6ONLY, and
 * failures to open.  accept4() is wrapped at link time
 * (-Wl,--wrap=accept4) so a test can make the next call fail. */
#define _GNU_SOURCE        /* accept4 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"

#define PAUSE_MS 250

/* ---- accept4() wrapper ---- */

int __real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);

static int fail_errno;         /* the next accept4 fails with this, once */
static int accept_calls;

int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	accept_calls++;
	if (fail_errno != 0) {
		errno = fail_errno;
		fail_errno = 0;
		return -1;
	}
	return __real_accept4(fd, sa, len, flags);
}

/* ---- the owner's side ---- */

static struct {
	int fds[16];
	struct sockaddr_storage peer[16];
	int n;
	int room;              /* has_room says yes this many more times */
	int errors, last_err, last_pause;
} got;

static bool has_room(void *ud)
{
	(void)ud;
	return got.room-- > 0;
}

static void on_conn(void *ud, int fd, const struct sockaddr_storage *peer)
{
	(void)ud;
	assert_true(got.n < 16);
	got.peer[got.n] = *peer;
	got.fds[got.n++] = fd;
}

static void on_error(void *ud, int err, int pause_ms)
{
	(void)ud;
	got.errors++;
	got.last_err = err;
	got.last_pause = pause_ms;
}

static struct loop loop;
static struct listener ls;
static int clients[16];
static int n_clients;

static int setup(void **state)
{
	(void)state;
	memset(&got, 0, sizeof got);
	got.room = 1000;
	fail_errno = 0;
	accept_calls = 0;
	n_clients = 0;
	ls.fd = -1;
	return loop_init(&loop, 8);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < got.n; i++)
		close(got.fds[i]);
	for (int i = 0; i < n_clients; i++)
		close(clients[i]);
	if (ls.fd >= 0)
		listener_close(&ls);
	loop_free(&loop);
	return 0;
}

static struct listener_config config(int burst, bool with_room)
{
	struct listener_config c = {
		.backlog = 16, .burst = burst, .pause_ms = PAUSE_MS,
		.has_room = with_room ? has_room : NULL,
		.on_conn = on_conn, .on_error = on_error,
	};
	return c;
}

/* Listen on 127.0.0.1 with a port the kernel picks. */
static uint16_t open_loopback(const struct listener_config *c)
{
	struct listen_addr a;
	struct sockaddr_in bound;
	socklen_t len = sizeof bound;

	assert_int_equal(parse_host_port("127.0.0.1:0", &a), 0);
	assert_int_equal(listener_open(&ls, &loop, &a, c), 0);
	assert_int_equal(getsockname(ls.fd, (struct sockaddr *)&bound, &len),
	    0);
	return ntohs(bound.sin_port);
}

/* n connections, completed by the kernel and waiting in the backlog. */
static void connect_clients(uint16_t port, int n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd >= 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa),
		    0);
		clients[n_clients++] = fd;
	}
}

/* One wake-up of the listener's slot: readable, or its deadline. */
static void wake(short revents)
{
	loop.ent[ls.slot].fn(&loop, ls.slot, revents, loop.ent[ls.slot].ud);
}

static short events(void)
{
	return loop.pfd[ls.slot].events;
}

/* ---- tests ---- */

static void test_sockets_nonblocking_cloexec(void **state)
{
	(void)state;
	struct listener_config c = config(8, false);
	connect_clients(open_loopback(&c), 1);
	assert_true(fcntl(ls.fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(ls.fd, F_GETFD) & FD_CLOEXEC);
	wake(POLLIN);
	assert_int_equal(got.n, 1);
	assert_true(fcntl(got.fds[0], F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(got.fds[0], F_GETFD) & FD_CLOEXEC);
	/* The peer address is the client's. */
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	getsockname(clients[0], (struct sockaddr *)&local, &len);
	const struct sockaddr_in *peer = (const void *)&got.peer[0];
	assert_int_equal(peer->sin_family, AF_INET);
	assert_int_equal(peer->sin_port, local.sin_port);
	/* The backlog is empty now: EAGAIN ends the next burst quietly. */
	wake(POLLIN);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.errors, 0);
	assert_int_equal(events(), POLLIN);
}

static void test_burst_limit(void **state)
{
	(void)state;
	struct listener_config c = config(2, false);
	connect_clients(open_loopback(&c), 5);
	wake(POLLIN);
	assert_int_equal(got.n, 2);
	assert_int_equal(accept_calls, 2);   /* no third try this turn */
	wake(POLLIN);
	assert_int_equal(got.n, 4);
	wake(POLLIN);
	assert_int_equal(got.n, 5);
	assert_int_equal(got.errors, 0);
}

/* No room: the listener stops polling and accepts nothing more; the
 * newcomers stay queued until the owner resumes it. */
static void test_hold_until_resume(void **state)
{
	(void)state;
	struct listener_config c = config(8, true);
	connect_clients(open_loopback(&c), 3);
	got.room = 1;
	wake(POLLIN);
	assert_int_equal(got.n, 1);
	assert_int_equal(accept_calls, 1);
	assert_int_equal(events(), 0);
	got.room = 1000;
	listener_resume(&ls);
	assert_int_equal(events(), POLLIN);
	wake(POLLIN);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.errors, 0);
}

/* Out of descriptors or memory: reported once with the pause, no polling
 * until the deadline, whose wake-up resumes; the connection waited. */
static void test_pause_when_out_of_resources(void **state)
{
	static const int errs[] = { EMFILE, ENFILE, ENOBUFS, ENOMEM };
	(void)state;
	struct listener_config c = config(8, false);
	connect_clients(open_loopback(&c), 1);
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		int64_t before = now_ms();
		fail_errno = errs[i];
		wake(POLLIN);
		assert_int_equal(got.errors, (int)i + 1);
		assert_int_equal(got.last_err, errs[i]);
		assert_int_equal(got.last_pause, PAUSE_MS);
		assert_int_equal(got.n, 0);
		assert_int_equal(events(), 0);
		int64_t at = loop.ent[ls.slot].deadline_ms;
		assert_true(at >= before + PAUSE_MS && at <= now_ms() + PAUSE_MS);
		wake(0);                       /* the pause is over */
		assert_int_equal(events(), POLLIN);
	}
	wake(POLLIN);
	assert_int_equal(got.n, 1);
}

static void test_other_errors(void **state)
{
	static const int quiet[] = { EAGAIN, EINTR, ECONNABORTED };
	(void)state;
	struct listener_config c = config(8, false);
	connect_clients(open_loopback(&c), 1);
	for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
		fail_errno = quiet[i];
		wake(POLLIN);
		assert_int_equal(got.errors, 0);
		assert_int_equal(got.n, 0);         /* the burst ended */
		assert_int_equal(events(), POLLIN);
	}
	fail_errno = EPERM;                     /* e.g. a firewall hook */
	wake(POLLIN);
	assert_int_equal(got.errors, 1);
	assert_int_equal(got.last_err, EPERM);
	assert_int_equal(got.last_pause, 0);
	assert_int_equal(events(), POLLIN);      /* no pause */
	assert_int_equal(loop.ent[ls.slot].deadline_ms, 0);
	wake(POLLIN);
	assert_int_equal(got.n, 1);
}

static void test_v6only(void **state)
{
	struct listen_addr a;
	int v = -1;
	socklen_t len = sizeof v;
	(void)state;
	struct listener_config c = config(8, false);
	c.v6only = true;
	assert_int_equal(parse_host_port("[::1]:0", &a), 0);
	assert_int_equal(listener_open(&ls, &loop, &a, &c), 0);
	assert_int_equal(getsockopt(ls.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len),
	    0);
	assert_int_equal(v, 1);
}

static void test_open_failures(void **state)
{
	struct listener other;
	struct listen_addr a;
	char text[32];
	(void)state;
	struct listener_config c = config(8, false);
	uint16_t port = open_loopback(&c);
	int probe = dup(0);            /* the lowest free descriptor */
	close(probe);

	/* The port is taken: errno says so, nothing stays open. */
	snprintf(text, sizeof text, "127.0.0.1:%u", (unsigned)port);
	assert_int_equal(parse_host_port(text, &a), 0);
	assert_int_equal(listener_open(&other, &loop, &a, &c), -1);
	assert_int_equal(errno, EADDRINUSE);
	/* The loop is full: ENOSPC, the socket closed again. */
	assert_int_equal(parse_host_port("127.0.0.1:0", &a), 0);
	while (loop_add(&loop, -1, 0, NULL, NULL) >= 0)
		;
	assert_int_equal(listener_open(&other, &loop, &a, &c), -1);
	assert_int_equal(errno, ENOSPC);
	int after = dup(0);
	assert_int_equal(after, probe);
	close(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_sockets_nonblocking_cloexec),
		T(test_burst_limit),
		T(test_hold_until_resume),
		T(test_pause_when_out_of_resources),
		T(test_other_errors),
		T(test_v6only),
		T(test_open_failures),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
