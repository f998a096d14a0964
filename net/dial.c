/* dial.c - see dial.h.  One state machine per dial, one loop slot that
 * follows the descriptor in use (name server, then target or proxy):
 *   direct:  [RESOLVING ->] CONNECTING (each address in turn) -> DECIDED
 *   proxy:   CONNECTING (to the proxy) -> SOCKS_METHOD [-> SOCKS_AUTH]
 *            -> SOCKS_CONNECT -> DECIDED
 * Each SOCKS state first sends its request, then reads exactly the
 * reply's bytes.  deliver() is the one way out. */
#include "dial.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "decimal.h"

#define DNS_TRY_MS 2000        /* per name server */

static const char *const outcome_names[] = {
	"connected", "refused", "timeout", "unreachable", "reset", "error",
	"proxy_refused", "proxy_error",
};

static const char *const kind_names[DIAL_KINDS] = {
	"probe", "crawl", "announce", "export",
};

/* RFC 1928 section 6; Tor maps its stream end reasons onto these too. */
static const struct {
	uint8_t rep;
	enum dial_outcome outcome;
	const char *detail;
} socks5_codes[] = {
	{ SOCKS5_GENERAL_FAILURE, DIAL_ERROR, "socks5_general_failure" },
	{ SOCKS5_NOT_ALLOWED, DIAL_ERROR, "socks5_not_allowed" },
	{ SOCKS5_NET_UNREACHABLE, DIAL_UNREACHABLE, "socks5_net_unreachable" },
	{ SOCKS5_HOST_UNREACHABLE, DIAL_UNREACHABLE, "socks5_host_unreachable" },
	{ SOCKS5_CONN_REFUSED, DIAL_REFUSED, "socks5_refused" },
	{ SOCKS5_TTL_EXPIRED, DIAL_TIMEOUT, "socks5_ttl_expired" },
	{ SOCKS5_CMD_UNSUPPORTED, DIAL_ERROR, "socks5_command_not_supported" },
	{ SOCKS5_ATYP_UNSUPPORTED, DIAL_ERROR,
	  "socks5_address_type_not_supported" },
};

const char *dial_outcome_name(enum dial_outcome o)
{
	return outcome_names[o];
}

bool dial_outcome_is_local(enum dial_outcome o)
{
	return o == DIAL_ERROR || o == DIAL_PROXY_REFUSED ||
	    o == DIAL_PROXY_ERROR;
}

enum dial_outcome dial_socks5_outcome(uint8_t rep, const char **detail)
{
	*detail = NULL;
	if (rep == SOCKS5_SUCCEEDED)
		return DIAL_CONNECTED;
	for (size_t i = 0; i < sizeof socks5_codes / sizeof socks5_codes[0]; i++)
		if (socks5_codes[i].rep == rep) {
			*detail = socks5_codes[i].detail;
			return socks5_codes[i].outcome;
		}
	*detail = "socks5_unknown_reply";
	return DIAL_ERROR;
}

static enum dial_outcome errno_outcome(int err)
{
	switch (err) {
	case 0:
		return DIAL_CONNECTED;
	case ECONNREFUSED:
		return DIAL_REFUSED;
	case ETIMEDOUT:
		return DIAL_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return DIAL_UNREACHABLE;
	case ECONNRESET:
		return DIAL_RESET;
	default:
		return DIAL_ERROR;
	}
}

/* ---- the proxy's configuration ---- */

static int parse_kinds(const char *list, unsigned *kinds)
{
	char copy[128];

	*kinds = 0;
	if (list[0] == '\0') {
		*kinds = (1u << DIAL_KINDS) - 1;
		return 0;
	}
	if (strlen(list) >= sizeof copy)
		return -1;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *save, *t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		unsigned k = 0;
		while (k < DIAL_KINDS && strcmp(t, kind_names[k]) != 0)
			k++;
		if (k == DIAL_KINDS)
			return -1;
		*kinds |= 1u << k;
	}
	return *kinds != 0 ? 0 : -1;
}

/* "IP:PORT", "[IPv6]:PORT", or "NAME:PORT" with NAME in /etc/hosts (read
 * once at start-up: "localhost", a container's service name). */
static int parse_proxy_addr(struct dial_proxy *p, const char *addr)
{
	struct listen_addr a;
	const char *colon = strrchr(addr, ':');
	char name[DNS_NAME_MAX + 1];
	struct dns_addrs found;
	size_t name_len = colon ? (size_t)(colon - addr) : 0;
	uint64_t port;

	snprintf(p->text, sizeof p->text, "%s", addr);
	if (parse_host_port(addr, &a) == 0) {
		p->sa = a.sa;
		p->len = a.len;
		return 0;
	}
	if (name_len == 0 || name_len >= sizeof name ||
	    decimal_parse(colon + 1, strlen(colon + 1), 1, 65535, &port) != 0)
		return -1;
	memcpy(name, addr, name_len);
	name[name_len] = '\0';
	if (!dns_lookup_local(name, NULL, &found))
		return -1;
	p->sa = found.sa[0];
	p->len = found.len[0];
	/* sin_port and sin6_port sit at the same offset */
	((struct sockaddr_in *)&p->sa)->sin_port = htons((uint16_t)port);
	return 0;
}

/* The first line of file, or else the environment; "" when neither. */
static int load_password(char *out, size_t cap, const char *file)
{
	const char *env = getenv(DIAL_PASSWORD_ENV);

	out[0] = '\0';
	if (file[0] != '\0') {
		FILE *f = fopen(file, "re");
		bool read = f != NULL && fgets(out, (int)cap, f) != NULL;
		if (f != NULL)
			fclose(f);
		size_t len = read ? strcspn(out, "\r\n") : 0;
		if (!read || (out[len] == '\0' && len == cap - 1))
			return -1;       /* unreadable, or longer than cap */
		out[len] = '\0';
		return 0;
	}
	if (env != NULL && strlen(env) >= cap)
		return -1;
	snprintf(out, cap, "%s", env ? env : "");
	return 0;
}

const char *dial_proxy_load(struct dial_proxy *p, const char *addr,
    const char *user, const char *password_file, const char *kinds)
{
	memset(p, 0, sizeof *p);
	if (addr[0] == '\0')
		return NULL;
	if (parse_proxy_addr(p, addr) != 0)
		return "--socks5: IP:PORT, [IPv6]:PORT or a name from /etc/hosts"
		    " with :PORT";
	if (parse_kinds(kinds, &p->kinds) != 0)
		return "--socks5-for: a list of probe, crawl, announce, export";
	if (strlen(user) > SOCKS5_CRED_MAX)
		return "--socks5-user: at most 255 bytes";
	snprintf(p->user, sizeof p->user, "%s", user);
	if (load_password(p->password, sizeof p->password, password_file) != 0)
		return "--socks5-password-file: unreadable, or longer than 255"
		    " bytes";
	if (p->user[0] != '\0' && p->password[0] == '\0')
		return "--socks5-user needs --socks5-password-file or "
		    DIAL_PASSWORD_ENV;
	if (p->user[0] == '\0' && p->password[0] != '\0')
		return "a SOCKS5 password needs --socks5-user";
	return NULL;
}

const struct dial_proxy *dial_proxy_for(const struct dial_proxy *p,
    enum dial_kind kind)
{
	return p != NULL && p->len > 0 && (p->kinds & 1u << kind) ? p : NULL;
}

/* ---- the state machine ---- */

static void on_event(struct loop *l, int slot, short revents, void *ud);

/* The slot follows fd (-1: a timer); the slot just freed is the one
 * loop_add hands out again, so this cannot fail. */
static void watch(struct dial *d, int fd, short events, int64_t deadline)
{
	loop_del(d->loop, d->slot);
	d->slot = loop_add(d->loop, fd, events, on_event, d);
	loop_set_deadline(d->loop, d->slot, deadline);
}

static void release(struct dial *d)
{
	loop_del(d->loop, d->slot);
	dns_stop(&d->dns);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->state = DIAL_IDLE;
}

/* The outcome is known; it is delivered from the loop. */
static void decide(struct dial *d, enum dial_outcome o, const char *detail,
    int err)
{
	bool answered = o == DIAL_CONNECTED || o == DIAL_REFUSED ||
	    o == DIAL_UNREACHABLE || o == DIAL_RESET;

	d->result = (struct dial_result){ .outcome = o, .detail = detail,
	    .err = err, .fd = -1, .connect_us = -1 };
	if (answered && d->state >= DIAL_CONNECTING)
		d->result.connect_us = now_us() - d->started_us;
	if (o != DIAL_CONNECTED && d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	dns_stop(&d->dns);
	d->state = DIAL_DECIDED;
	watch(d, -1, 0, now_ms());
}

static void deliver(struct dial *d)
{
	struct dial_result r = d->result;

	r.fd = d->fd;
	d->fd = -1;
	release(d);
	d->done(d->ctx, &r);     /* may free d */
}

/* 0 when the connect is under way (or done), else its errno. */
static int open_connect(struct dial *d, const struct sockaddr_storage *sa,
    socklen_t len)
{
	int err;

	d->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (d->fd < 0)
		return errno;
	if (connect(d->fd, (const struct sockaddr *)sa, len) != 0 &&
	    errno != EINPROGRESS) {
		err = errno;
		close(d->fd);
		d->fd = -1;
		return err;
	}
	d->state = DIAL_CONNECTING;
	watch(d, d->fd, POLLOUT, d->deadline_ms);
	return 0;
}

/* Direct: the next address, or the last failure when none is left. */
static void connect_next(struct dial *d, int last_err)
{
	while (d->next_addr < d->addrs.n) {
		struct sockaddr_storage sa = d->addrs.sa[d->next_addr];
		socklen_t len = d->addrs.len[d->next_addr++];
		((struct sockaddr_in *)&sa)->sin_port = htons(d->port);
		if ((last_err = open_connect(d, &sa, len)) == 0)
			return;
	}
	decide(d, errno_outcome(last_err), NULL, last_err);
}

static void connect_proxy(struct dial *d)
{
	int err = open_connect(d, &d->proxy->sa, d->proxy->len);

	if (err != 0)
		decide(d, err == ECONNREFUSED ? DIAL_PROXY_REFUSED :
		    DIAL_PROXY_ERROR, "proxy_unreachable", err);
}

static void resolve(struct dial *d)
{
	int64_t try_until = now_ms() + DNS_TRY_MS;

	if (dns_lookup_local(d->name, NULL, &d->addrs)) {
		connect_next(d, 0);
		return;
	}
	if (dns_start(&d->dns, d->name, NULL) != 0) {
		decide(d, DIAL_ERROR, "dns_error", errno);
		return;
	}
	d->state = DIAL_RESOLVING;
	watch(d, d->dns.fd, POLLIN,
	    try_until < d->deadline_ms ? try_until : d->deadline_ms);
}

static void on_resolve_event(struct dial *d, short revents)
{
	int r;

	if (revents == 0) {
		int64_t try_until = now_ms() + DNS_TRY_MS;
		r = now_ms() < d->deadline_ms ? dns_next_server(&d->dns) : -1;
		if (r == 0)
			watch(d, d->dns.fd, POLLIN, try_until < d->deadline_ms ?
			    try_until : d->deadline_ms);
		if (r < 0)
			decide(d, DIAL_ERROR, "dns_no_answer", 0);
		if (r <= 0)
			return;
	} else if ((r = dns_on_readable(&d->dns)) == 0) {
		return;
	}
	d->addrs = d->dns.result;
	dns_stop(&d->dns);
	if (r < 0 || d->addrs.n == 0)
		decide(d, DIAL_UNREACHABLE, "no_such_host", 0);
	else
		connect_next(d, 0);
}

/* ---- SOCKS5 ---- */

static bool with_auth(const struct dial *d)
{
	return d->proxy->user[0] != '\0';
}

/* Writes what is left of the request; then the reply is read. */
static void socks_flush(struct dial *d)
{
	while (d->off < d->len) {
		ssize_t n = send(d->fd, d->buf + d->off, d->len - d->off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			decide(d, DIAL_PROXY_ERROR, "proxy_closed", errno);
			return;
		}
		d->off += (size_t)n;
	}
	bool sent = d->off == d->len;
	if (sent)
		d->len = d->off = 0;
	d->sending = !sent;
	loop_set_events(d->loop, d->slot, sent ? POLLIN : POLLOUT);
}

static void socks_send(struct dial *d, enum dial_state st, size_t len)
{
	d->state = st;
	d->len = len;
	d->off = 0;
	socks_flush(d);
}

static void send_connect(struct dial *d)
{
	int n = d->by_name ? socks5_connect_name(d->buf, d->name, d->port) :
	    (int)socks5_connect_ip(d->buf, &d->ip, d->port);

	if (n < 0)
		decide(d, DIAL_ERROR, "name_too_long", 0);
	else
		socks_send(d, DIAL_SOCKS_CONNECT, (size_t)n);
}

static void on_method(struct dial *d)
{
	uint8_t method = 0;
	int r = socks5_parse_method(d->buf, d->len, with_auth(d), &method);

	if (r < 0) {
		decide(d, DIAL_PROXY_ERROR, "socks5_bad_reply", 0);
	} else if (r > 0 && method == SOCKS5_METHOD_REFUSED) {
		decide(d, DIAL_PROXY_ERROR, "socks5_no_acceptable_method", 0);
	} else if (r > 0 && method == SOCKS5_METHOD_USERPASS) {
		int n = socks5_auth_request(d->buf, d->proxy->user,
		    d->proxy->password);
		if (n < 0)
			decide(d, DIAL_PROXY_ERROR, "socks5_bad_credentials", 0);
		else
			socks_send(d, DIAL_SOCKS_AUTH, (size_t)n);
	} else if (r > 0) {
		send_connect(d);
	}
}

static void on_auth(struct dial *d)
{
	bool ok = false;
	int r = socks5_parse_auth(d->buf, d->len, &ok);

	if (r < 0)
		decide(d, DIAL_PROXY_ERROR, "socks5_bad_reply", 0);
	else if (r > 0 && !ok)
		decide(d, DIAL_PROXY_ERROR, "socks5_auth_failed", 0);
	else if (r > 0)
		send_connect(d);
}

/* Bytes of the current reply still to read; 0 when it is malformed. */
static size_t reply_need(const struct dial *d)
{
	struct socks5_reply rep;
	size_t need = 2;

	if (d->state == DIAL_SOCKS_CONNECT &&
	    socks5_parse_reply(d->buf, d->len, &need, &rep) < 0)
		return 0;
	return need - d->len;
}

static void on_connect_reply(struct dial *d)
{
	struct socks5_reply rep;
	size_t need;
	const char *detail;
	int r = socks5_parse_reply(d->buf, d->len, &need, &rep);

	if (r < 0) {
		decide(d, DIAL_PROXY_ERROR, "socks5_bad_reply", 0);
	} else if (r > 0) {
		enum dial_outcome o = dial_socks5_outcome(rep.rep, &detail);
		decide(d, o, detail, 0);
	}
}

static void on_socks_event(struct dial *d, short revents)
{
	if (revents == 0) {     /* a CONNECT reply is the target's to give */
		if (d->state == DIAL_SOCKS_CONNECT && !d->sending)
			decide(d, DIAL_TIMEOUT, "socks5_no_reply", 0);
		else
			decide(d, DIAL_PROXY_ERROR, "proxy_timeout", 0);
		return;
	}
	if (d->sending) {
		socks_flush(d);
		return;
	}
	size_t want = reply_need(d);
	if (want == 0) {
		decide(d, DIAL_PROXY_ERROR, "socks5_bad_reply", 0);
		return;
	}
	ssize_t n = recv(d->fd, d->buf + d->len, want, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		decide(d, DIAL_PROXY_ERROR, "proxy_closed", n < 0 ? errno : 0);
		return;
	}
	d->len += (size_t)n;
	if (d->state == DIAL_SOCKS_METHOD)
		on_method(d);
	else if (d->state == DIAL_SOCKS_AUTH)
		on_auth(d);
	else
		on_connect_reply(d);
}

/* ---- connected (to the target, or to the proxy) ---- */

static void on_connect_event(struct dial *d, short revents)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (revents == 0) {
		decide(d, d->proxy ? DIAL_PROXY_ERROR : DIAL_TIMEOUT,
		    d->proxy ? "proxy_timeout" : NULL, 0);
		return;
	}
	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (d->proxy != NULL && err != 0) {
		decide(d, err == ECONNREFUSED ? DIAL_PROXY_REFUSED :
		    DIAL_PROXY_ERROR, "proxy_unreachable", err);
	} else if (d->proxy != NULL) {
		socks_send(d, DIAL_SOCKS_METHOD, socks5_greeting(d->buf,
		    with_auth(d)));
	} else if (err != 0) {
		close(d->fd);
		d->fd = -1;
		connect_next(d, err);
	} else {
		decide(d, DIAL_CONNECTED, NULL, 0);
	}
}

static void on_event(struct loop *l, int slot, short revents, void *ud)
{
	struct dial *d = ud;
	(void)l;
	(void)slot;

	switch (d->state) {
	case DIAL_RESOLVING:
		on_resolve_event(d, revents);
		break;
	case DIAL_CONNECTING:
		on_connect_event(d, revents);
		break;
	case DIAL_SOCKS_METHOD:
	case DIAL_SOCKS_AUTH:
	case DIAL_SOCKS_CONNECT:
		on_socks_event(d, revents);
		break;
	default:
		break;
	}
	if (d->state == DIAL_DECIDED)
		deliver(d);
}

/* ---- API ---- */

static int begin(struct dial *d, struct loop *l, const struct dial_proxy *proxy,
    uint64_t timeout_ms, dial_done_fn done, void *ctx)
{
	d->loop = l;
	d->proxy = proxy;
	d->done = done;
	d->ctx = ctx;
	d->fd = -1;
	d->dns.fd = -1;
	d->started_us = now_us();
	d->deadline_ms = now_ms() + (int64_t)timeout_ms;
	d->slot = loop_add(l, -1, 0, on_event, d);
	if (d->slot < 0)
		return -1;
	if (d->by_name && d->name[0] == '\0')
		decide(d, DIAL_ERROR, "bad_name", 0);
	else if (proxy != NULL)
		connect_proxy(d);
	else if (d->by_name)
		resolve(d);
	else
		connect_next(d, 0);
	return 0;
}

int dial_start(struct dial *d, struct loop *l, const struct dial_proxy *proxy,
    const struct ip_key *ip, uint16_t port, uint64_t timeout_ms,
    dial_done_fn done, void *ctx)
{
	memset(d, 0, sizeof *d);
	d->ip = *ip;
	d->port = port;
	d->addrs.len[0] = addr_to_sockaddr(ip, port, &d->addrs.sa[0]);
	d->addrs.n = 1;
	return begin(d, l, proxy, timeout_ms, done, ctx);
}

int dial_start_name(struct dial *d, struct loop *l,
    const struct dial_proxy *proxy, const char *name, uint16_t port,
    uint64_t timeout_ms, dial_done_fn done, void *ctx)
{
	uint8_t raw[16];

	if (inet_pton(AF_INET, name, raw) == 1) {
		struct ip_key ip;
		addr_from_bytes(&ip, raw, 4);
		return dial_start(d, l, proxy, &ip, port, timeout_ms, done, ctx);
	}
	if (inet_pton(AF_INET6, name, raw) == 1) {
		struct ip_key ip;
		addr_from_bytes(&ip, raw, 16);
		return dial_start(d, l, proxy, &ip, port, timeout_ms, done, ctx);
	}
	memset(d, 0, sizeof *d);
	if (strlen(name) < sizeof d->name)    /* else "": a bad name */
		memcpy(d->name, name, strlen(name) + 1);
	d->by_name = true;
	d->port = port;
	return begin(d, l, proxy, timeout_ms, done, ctx);
}

void dial_cancel(struct dial *d)
{
	if (d->state != DIAL_IDLE)
		release(d);
}
