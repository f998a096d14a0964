/* conn.c - see conn.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* After our GOAWAY, how long we wait for the peer's EOF before closing,
 * as each side always did: an inbound connection a second (SECURITY.md
 * counts it in a connection's longest life), our own dials (crawl,
 * announce) half of one; a probe does not wait (client.h no_drain). */
static const uint64_t drain_ms[] = {
	[H2_SERVER] = 1000,
	[H2_CLIENT] = 500,
};

/* The engine's outcomes as each side names them: the inbound line's
 * `outcome` (README), and client_result.outcome (client.h) that probe,
 * crawl and announce log. */
static const char *const outcome_names[][2] = {
	/*                               HS_ACCEPT              HS_DIAL */
	[HS_OK] =                       { "ok",                  "ok" },
	[HS_STOPPED] =                  { "stopped",             "stopped" },
	[HS_TIMEOUT_BEFORE_VERSION] =   { "timeout",             "not_kaspa" },
	[HS_TIMEOUT] =                  { "timeout",             "timeout" },
	[HS_REJECTED] =                 { "peer_reject",         "reject" },
	[HS_BAD_VERSION] =              { "bad_version_message", "bad_version" },
	[HS_WRONG_NETWORK] =            { "wrong_network",       "wrong_network" },
	[HS_BAD_MESSAGE_BEFORE_VERSION] = { "bad_version_message", "not_kaspa" },
	[HS_BAD_MESSAGE] =              { "bad_message",         "bad_message" },
};

_Static_assert(HS_ACCEPT == 0 && HS_DIAL == 1, "the columns above");

void conn_shared_init(struct conn_shared *w)
{
	h2_ctx_init(&w->h2);
}

const char *conn_outcome_name(const struct hs *h)
{
	return outcome_names[h->outcome][h->cfg->role];
}

uint16_t conn_local_port(const struct conn *c)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (getsockname(c->fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	return ntohs(sa.ss_family == AF_INET ?
	    ((struct sockaddr_in *)&sa)->sin_port :
	    ((struct sockaddr_in6 *)&sa)->sin6_port);
}

ssize_t conn_read(struct conn *c, const uint8_t **data)
{
	uint8_t *buf = c->shared->read_buf;
	ssize_t n = read(c->fd, buf, sizeof c->shared->read_buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	*data = buf;
	return n;
}

size_t conn_flush(struct conn *c, bool draining)
{
	size_t len, written = 0;
	const uint8_t *out;

	while (!c->half_closed && (out = h2_out(&c->h2, &len)) != NULL &&
	    len > 0) {
		ssize_t n = write(c->fd, out, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->half_closed = true;   /* peer gone */
			break;
		}
		h2_out_done(&c->h2, (size_t)n);
		written += (size_t)n;
	}
	out = h2_out(&c->h2, &len);
	bool pending = out != NULL && len > 0 && !c->half_closed;
	loop_set_events(c->loop, c->slot,
	    (short)(POLLIN | (pending ? POLLOUT : 0)));
	if (draining && !pending && !c->half_closed) {
		shutdown(c->fd, SHUT_WR);
		c->half_closed = true;
	}
	return written;
}

const struct kaspa_msg *conn_decode(struct conn *c, const uint8_t *msg,
    size_t len, const char **err)
{
	struct conn_shared *w = c->shared;

	return kaspa_decode(&w->pb, msg, len, &w->rx, err) == 0 ? &w->rx : NULL;
}

int conn_send_outputs(struct conn *c, struct hs *h)
{
	struct conn_shared *w = c->shared;
	struct timespec wall;

	clock_gettime(CLOCK_REALTIME, &wall);
	while (hs_next_output(h, (int64_t)wall.tv_sec * 1000 +
	    wall.tv_nsec / 1000000, &w->tx)) {
		int n = kaspa_encode(&w->pb, &w->tx, w->send_buf,
		    sizeof w->send_buf);
		if (n < 0 ||
		    h2_send_message(&c->h2, w->send_buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

int conn_verdict(int sent, unsigned ev)
{
	return sent != 0 || (ev & HS_EV_ABORTED) ? -1 : 0;
}

uint64_t conn_goodbye(struct conn *c, bool call_started)
{
	/* A server still owes its trailers after the client's END_STREAM; a
	 * client whose server ended the call has nothing to add. */
	bool ours_open = c->h2.stream == H2_STREAM_OPEN ||
	    (c->h2.role == H2_SERVER &&
	     c->h2.stream == H2_STREAM_HALF_CLOSED_REMOTE);

	if (call_started && ours_open)
		h2_end_call(&c->h2, 0, NULL);
	if (c->h2.state != H2_CLOSING)
		h2_goaway(&c->h2, 0, NULL);
	return drain_ms[c->h2.role];
}
