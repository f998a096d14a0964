/* test_dial.c - the dialer on a real loop over loopback: direct connects
 * (IP, name from /etc/hosts, refused), and SOCKS5 through a scripted proxy
 * on the same loop: every reply code, the request bytes (ATYP 1 and 3),
 * username/password accepted and refused, bad versions, truncated
 * replies, a proxy that is down, silent or closes; the target's first
 * bytes are never eaten; the options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"

#define SAFETY_MS 5000

/* What the fake proxy answers to one message: bytes, then maybe close;
 * no bytes and no close is silence. */
struct step {
	const char *bytes;
	size_t len;
	bool close;
};

struct fake {
	int lfd, lslot, cfd, cslot;
	uint16_t port;
	int stage;                       /* 0 greeting, 1 auth, 2 request */
	uint8_t in[1024];
	size_t in_len;
	struct step method, auth, reply;
	uint8_t auth_got[600], request[300];
	size_t auth_got_len, request_len;
};

static struct loop L;
static struct fake F;
static struct dial D;
static struct dial_result R;
static int n_done;

static void on_done(void *ctx, const struct dial_result *r)
{
	(void)ctx;
	R = *r;
	n_done++;
	loop_stop(&L);
}

static void on_safety(struct loop *l, int slot, short revents, void *ud)
{
	(void)l; (void)slot; (void)revents; (void)ud;
	fail_msg("the dial never ended");
}

/* Length of the complete message at the start of in[], or 0. */
static size_t message_len(const struct fake *f)
{
	const uint8_t *p = f->in;
	size_t n = f->in_len;

	if (f->stage == 0)
		return n >= 2 && n >= 2u + p[1] ? 2u + p[1] : 0;
	if (f->stage == 1) {
		if (n < 2 || n < 3u + p[1])
			return 0;
		size_t total = 3u + p[1] + p[2 + p[1]];
		return n >= total ? total : 0;
	}
	if (n < 5)
		return 0;
	size_t total = p[3] == 1 ? 10 : p[3] == 4 ? 22 : 7u + p[4];
	return n >= total ? total : 0;
}

static void fake_answer(struct fake *f, const struct step *s)
{
	if (s->len > 0)
		assert_int_equal(write(f->cfd, s->bytes, s->len), (ssize_t)s->len);
	if (s->close) {
		loop_del(&L, f->cslot);
		close(f->cfd);
		f->cfd = -1;
	}
}

static void on_fake_conn(struct loop *l, int slot, short revents, void *ud)
{
	struct fake *f = ud;
	size_t m;
	(void)l; (void)slot; (void)revents;

	ssize_t n = read(f->cfd, f->in + f->in_len, sizeof f->in - f->in_len);
	if (n <= 0) {
		loop_del(&L, f->cslot);
		close(f->cfd);
		f->cfd = -1;
		return;
	}
	f->in_len += (size_t)n;
	while (f->cfd >= 0 && (m = message_len(f)) > 0) {
		const struct step *s = f->stage == 0 ? &f->method :
		    f->stage == 1 ? &f->auth : &f->reply;
		if (f->stage == 1)
			memcpy(f->auth_got, f->in, f->auth_got_len = m);
		if (f->stage == 2)
			memcpy(f->request, f->in, f->request_len = m);
		memmove(f->in, f->in + m, f->in_len - m);
		f->in_len -= m;
		f->stage = f->stage == 0 && f->method.len == 2 &&
		    f->method.bytes[1] == 2 ? 1 : 2;
		fake_answer(f, s);
	}
}

static void on_fake_accept(struct loop *l, int slot, short revents, void *ud)
{
	struct fake *f = ud;
	(void)slot; (void)revents;

	f->cfd = accept(f->lfd, NULL, NULL);
	assert_true(f->cfd >= 0);
	f->cslot = loop_add(l, f->cfd, POLLIN, on_fake_conn, f);
}

static int listen_on(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port nothing listens on. */
static uint16_t closed_port(void)
{
	uint16_t port;
	close(listen_on(&port));
	return port;
}

static struct ip_key loopback(void)
{
	struct ip_key k;
	addr_from_bytes(&k, (const uint8_t *)"\x7f\x00\x00\x01", 4);
	return k;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(loop_init(&L, 16), 0);
	memset(&F, 0, sizeof F);
	memset(&R, 0, sizeof R);
	n_done = 0;
	F.cfd = -1;
	F.lfd = listen_on(&F.port);
	F.lslot = loop_add(&L, F.lfd, POLLIN, on_fake_accept, &F);
	F.method = (struct step){ "\x05\x00", 2, false };
	F.reply = (struct step){ "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\xd2", 10,
	    false };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dial_cancel(&D);
	if (R.fd > 0)
		close(R.fd);
	if (F.cfd >= 0)
		close(F.cfd);
	close(F.lfd);
	loop_free(&L);
	return 0;
}

static struct dial_proxy proxy_at(uint16_t port, const char *user,
    const char *password)
{
	struct dial_proxy p;
	char addr[32];

	snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	setenv(DIAL_PASSWORD_ENV, password, 1);
	assert_null(dial_proxy_load(&p, addr, user, "", ""));
	unsetenv(DIAL_PASSWORD_ENV);
	return p;
}

/* Runs the loop until the dial ends; its result is in R. */
static void run(void)
{
	int safety = loop_add(&L, -1, 0, on_safety, NULL);
	loop_set_deadline(&L, safety, now_ms() + SAFETY_MS);
	L.stop = false;
	assert_int_equal(loop_run(&L), 0);
	loop_del(&L, safety);
	assert_int_equal(n_done, 1);
}

static void dial_via(const struct dial_proxy *p, uint16_t target_port,
    uint64_t timeout_ms)
{
	struct ip_key k = loopback();
	assert_int_equal(dial_start(&D, &L, p, &k, target_port, timeout_ms,
	    on_done, NULL), 0);
	assert_int_equal(n_done, 0);        /* never from inside dial_start */
	run();
}

static void assert_result(enum dial_outcome o, const char *detail)
{
	assert_string_equal(dial_outcome_name(R.outcome), dial_outcome_name(o));
	if (detail == NULL)
		assert_null(R.detail);
	else
		assert_string_equal(R.detail, detail);
	assert_true(o == DIAL_CONNECTED ? R.fd >= 0 : R.fd == -1);
}

/* ---- direct ---- */

static void test_direct_connected_and_refused(void **state)
{
	uint16_t port;
	int lfd = listen_on(&port);
	(void)state;

	dial_via(NULL, port, 1000);
	assert_result(DIAL_CONNECTED, NULL);
	assert_true(R.connect_us >= 0);
	close(R.fd);
	close(lfd);
	n_done = 0;
	dial_via(NULL, closed_port(), 1000);
	assert_result(DIAL_REFUSED, NULL);
	assert_int_equal(R.err, ECONNREFUSED);
	assert_true(R.connect_us >= 0);
}

/* "localhost" from /etc/hosts: every address in turn (::1 may come
 * first and be refused; the listener is on 127.0.0.1). */
static void test_direct_by_name(void **state)
{
	uint16_t port;
	int lfd = listen_on(&port);
	(void)state;

	assert_int_equal(dial_start_name(&D, &L, NULL, "localhost", port, 1000,
	    on_done, NULL), 0);
	run();
	assert_result(DIAL_CONNECTED, NULL);
	close(R.fd);
	close(lfd);
	n_done = 0;
	assert_int_equal(dial_start_name(&D, &L, NULL, "127.0.0.1", closed_port(),
	    1000, on_done, NULL), 0);
	run();
	assert_result(DIAL_REFUSED, NULL);
}

static void test_cancel(void **state)
{
	struct ip_key k = loopback();
	(void)state;

	assert_int_equal(dial_start(&D, &L, NULL, &k, closed_port(), 1000,
	    on_done, NULL), 0);
	dial_cancel(&D);
	dial_cancel(&D);                    /* harmless twice */
	int t = loop_add(&L, -1, 0, on_safety, NULL);
	loop_del(&L, t);
	assert_int_equal(n_done, 0);
	assert_int_equal(D.fd, -1);
}

/* ---- through the proxy ---- */

static void test_every_reply_code(void **state)
{
	static const struct {
		uint8_t rep;
		enum dial_outcome o;
		const char *detail;
	} cases[] = {
		{ 0x00, DIAL_CONNECTED, NULL },
		{ 0x01, DIAL_ERROR, "socks5_general_failure" },
		{ 0x02, DIAL_ERROR, "socks5_not_allowed" },
		{ 0x03, DIAL_UNREACHABLE, "socks5_net_unreachable" },
		{ 0x04, DIAL_UNREACHABLE, "socks5_host_unreachable" },
		{ 0x05, DIAL_REFUSED, "socks5_refused" },
		{ 0x06, DIAL_TIMEOUT, "socks5_ttl_expired" },
		{ 0x07, DIAL_ERROR, "socks5_command_not_supported" },
		{ 0x08, DIAL_ERROR, "socks5_address_type_not_supported" },
		{ 0x09, DIAL_ERROR, "socks5_unknown_reply" },
		{ 0xff, DIAL_ERROR, "socks5_unknown_reply" },
	};
	char reply[10];
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dial_proxy p = proxy_at(F.port, "", "");
		memcpy(reply, "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\xd2", 10);
		reply[1] = (char)cases[i].rep;
		F.reply = (struct step){ reply, 10, false };
		F.stage = 0;
		F.in_len = 0;
		n_done = 0;
		dial_via(&p, 16111, 1000);
		assert_result(cases[i].o, cases[i].detail);
		assert_true(cases[i].o == DIAL_ERROR || cases[i].o == DIAL_TIMEOUT ?
		    R.connect_us == -1 : R.connect_us >= 0);
		assert_int_equal(F.request_len, 10);
		assert_memory_equal(F.request,
		    "\x05\x01\x00\x01\x7f\x00\x00\x01\x3e\xef", 10);
		if (R.fd >= 0)
			close(R.fd);
		R.fd = -1;
		if (F.cfd >= 0) {
			loop_del(&L, F.cslot);
			close(F.cfd);
			F.cfd = -1;
		}
	}
}

/* The reply and the target's first bytes arrive together: the caller
 * reads the target's from the descriptor. */
static void test_target_bytes_not_eaten(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "", "");
	char got[8] = { 0 };
	(void)state;

	F.reply = (struct step){ "\x05\x00\x00\x03\x04host\x00\x50PRI *", 16,
	    false };
	dial_via(&p, 80, 1000);
	assert_result(DIAL_CONNECTED, NULL);
	assert_int_equal(read(R.fd, got, sizeof got), 5);
	assert_string_equal(got, "PRI *");
}

static void test_name_goes_to_the_proxy(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "", "");
	(void)state;

	assert_int_equal(dial_start_name(&D, &L, &p, "seeder1.kaspad.net", 16111,
	    1000, on_done, NULL), 0);
	run();
	assert_result(DIAL_CONNECTED, NULL);
	assert_int_equal(F.request_len, 25);
	assert_memory_equal(F.request, "\x05\x01\x00\x03\x12"
	    "seeder1.kaspad.net\x3e\xef", 25);
}

static void test_auth_accepted(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "alice", "s3cret");
	(void)state;

	F.method = (struct step){ "\x05\x02", 2, false };
	F.auth = (struct step){ "\x01\x00", 2, false };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_CONNECTED, NULL);
	assert_int_equal(F.auth_got_len, 14);
	assert_memory_equal(F.auth_got, "\x01\x05" "alice" "\x06" "s3cret", 14);
	assert_int_equal(F.request_len, 10);
}

static void test_auth_refused(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "alice", "wrong");
	(void)state;

	F.method = (struct step){ "\x05\x02", 2, false };
	F.auth = (struct step){ "\x01\x01", 2, true };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_auth_failed");
	assert_int_equal(F.request_len, 0);      /* no CONNECT was sent */
}

static void test_proxy_wants_auth_we_have_none(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "", "");
	(void)state;

	F.method = (struct step){ "\x05\xff", 2, true };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_no_acceptable_method");
	n_done = 0;
	F.stage = 0;
	F.method = (struct step){ "\x05\x02", 2, false };   /* not offered */
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_bad_reply");
}

static void test_bad_versions(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "", "");
	(void)state;

	F.method = (struct step){ "\x04\x00", 2, false };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_bad_reply");
	n_done = 0;
	F.stage = 0;
	F.method = (struct step){ "\x05\x00", 2, false };
	F.reply = (struct step){ "\x00\x5a\x00\x00\x00\x00\x00\x00", 8, false };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_bad_reply");
	n_done = 0;
	F.stage = 0;
	F.reply = (struct step){ "\x05\x00\x00\x07\x00\x00\x00\x00", 8, false };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "socks5_bad_reply");
}

static void test_truncated_replies(void **state)
{
	struct dial_proxy p = proxy_at(F.port, "", "");
	(void)state;

	F.method = (struct step){ "\x05", 1, true };
	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_ERROR, "proxy_closed");
	for (size_t cut = 0; cut < 10; cut++) {
		n_done = 0;
		F.stage = 0;
		F.method = (struct step){ "\x05\x00", 2, false };
		F.reply = (struct step){ "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\xd2",
		    cut, true };
		dial_via(&p, 16111, 1000);
		assert_result(DIAL_PROXY_ERROR, "proxy_closed");
	}
}

static void test_proxy_down_or_silent(void **state)
{
	struct dial_proxy p = proxy_at(closed_port(), "", "");
	(void)state;

	dial_via(&p, 16111, 1000);
	assert_result(DIAL_PROXY_REFUSED, "proxy_unreachable");
	assert_int_equal(R.connect_us, -1);
	/* no method choice: the proxy's fault */
	n_done = 0;
	p = proxy_at(F.port, "", "");
	F.method = (struct step){ NULL, 0, false };
	int64_t t0 = now_ms();
	dial_via(&p, 16111, 200);
	assert_result(DIAL_PROXY_ERROR, "proxy_timeout");
	assert_true(now_ms() - t0 >= 190 && now_ms() - t0 < 1000);
	/* no CONNECT reply: the target did not answer in time */
	n_done = 0;
	close(F.cfd);
	loop_del(&L, F.cslot);
	F.cfd = -1;
	F.stage = 0;
	F.method = (struct step){ "\x05\x00", 2, false };
	F.reply = (struct step){ NULL, 0, false };
	dial_via(&p, 16111, 200);
	assert_result(DIAL_TIMEOUT, "socks5_no_reply");
}

/* ---- options ---- */

static void test_proxy_options(void **state)
{
	struct dial_proxy p;
	char path[] = "/tmp/test_dial_pw_XXXXXX";
	int fd = mkstemp(path);
	(void)state;

	assert_null(dial_proxy_load(&p, "", "", "", ""));
	assert_null(dial_proxy_for(&p, DIAL_PROBE));
	assert_null(dial_proxy_load(&p, "127.0.0.1:9050", "", "", ""));
	for (int k = 0; k < DIAL_KINDS; k++)
		assert_ptr_equal(dial_proxy_for(&p, (enum dial_kind)k), &p);
	assert_null(dial_proxy_load(&p, "[::1]:9050", "", "", "probe,export"));
	assert_non_null(dial_proxy_for(&p, DIAL_PROBE));
	assert_null(dial_proxy_for(&p, DIAL_CRAWL));
	assert_null(dial_proxy_for(&p, DIAL_ANNOUNCE));
	assert_non_null(dial_proxy_for(&p, DIAL_EXPORT));
	assert_null(dial_proxy_load(&p, "localhost:9050", "", "", "crawl"));
	assert_int_equal(ntohs(((struct sockaddr_in *)&p.sa)->sin_port), 9050);
	assert_non_null(dial_proxy_load(&p, "9050", "", "", ""));
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:", "", "", ""));
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:70000", "", "", ""));
	assert_non_null(dial_proxy_load(&p, "no-such-host.invalid:9050", "", "",
	    ""));
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:9050", "", "", "probe,x"));
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:9050", "", "", ","));
	/* a user needs a password and the other way round */
	unsetenv(DIAL_PASSWORD_ENV);
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:9050", "u", "", ""));
	setenv(DIAL_PASSWORD_ENV, "from-env", 1);
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:9050", "", "", ""));
	assert_null(dial_proxy_load(&p, "127.0.0.1:9050", "u", "", ""));
	assert_string_equal(p.password, "from-env");
	/* the file wins over the environment; its first line only */
	assert_int_equal(write(fd, "from-file\nsecond\n", 17), 17);
	assert_null(dial_proxy_load(&p, "127.0.0.1:9050", "u", path, ""));
	assert_string_equal(p.password, "from-file");
	unsetenv(DIAL_PASSWORD_ENV);
	assert_non_null(dial_proxy_load(&p, "127.0.0.1:9050", "u",
	    "/nonexistent/pw", ""));
	/* longer than RFC 1929 allows */
	assert_int_equal(ftruncate(fd, 0), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(pwrite(fd, "x", 1, i), 1);
	const char *why = dial_proxy_load(&p, "127.0.0.1:9050", "u", path, "");
	assert_non_null(why);
	assert_null(strstr(why, "xxx"));
	close(fd);
	unlink(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_direct_connected_and_refused),
		T(test_direct_by_name),
		T(test_cancel),
		T(test_every_reply_code),
		T(test_target_bytes_not_eaten),
		T(test_name_goes_to_the_proxy),
		T(test_auth_accepted),
		T(test_auth_refused),
		T(test_proxy_wants_auth_we_have_none),
		T(test_bad_versions),
		T(test_truncated_replies),
		T(test_proxy_down_or_silent),
		T(test_proxy_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
