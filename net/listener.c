/* listener.c - see listener.h. */
#define _GNU_SOURCE        /* accept4 */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <unistd.h>

static bool out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

static bool transient(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR ||
	    err == ECONNABORTED;
}

static void accept_failed(struct listener *ls, int err)
{
	int pause_ms = 0;

	if (transient(err))
		return;
	if (out_of_resources(err)) {
		pause_ms = ls->cfg.pause_ms;
		loop_set_events(ls->loop, ls->slot, 0);
		loop_set_deadline(ls->loop, ls->slot, now_ms() + pause_ms);
	}
	if (ls->cfg.on_error != NULL)
		ls->cfg.on_error(ls->cfg.ud, err, pause_ms);
}

static void on_readable(struct loop *l, int slot, short revents, void *ud)
{
	struct listener *ls = ud;
	(void)l;
	(void)slot;

	if (revents == 0) {           /* a pause is over */
		listener_resume(ls);
		return;
	}
	for (int i = 0; i < ls->cfg.burst; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		if (ls->cfg.has_room != NULL && !ls->cfg.has_room(ls->cfg.ud)) {
			listener_hold(ls);
			return;
		}
		int fd = accept4(ls->fd, (struct sockaddr *)&peer, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			accept_failed(ls, errno);
			return;
		}
		ls->cfg.on_conn(ls->cfg.ud, fd, &peer);
	}
}

static int open_socket(const struct listen_addr *a, const struct
    listener_config *cfg)
{
	int one = 1;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (cfg->v6only && a->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) != 0 ||
	    listen(fd, cfg->backlog) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int listener_open(struct listener *ls, struct loop *l,
    const struct listen_addr *a, const struct listener_config *cfg)
{
	ls->cfg = *cfg;
	ls->loop = l;
	ls->fd = open_socket(a, cfg);
	if (ls->fd < 0)
		return -1;
	ls->slot = loop_add(l, ls->fd, POLLIN, on_readable, ls);
	if (ls->slot < 0) {
		close(ls->fd);
		ls->fd = -1;
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

void listener_close(struct listener *ls)
{
	loop_del(ls->loop, ls->slot);
	close(ls->fd);
	ls->fd = -1;
}

void listener_hold(struct listener *ls)
{
	loop_set_events(ls->loop, ls->slot, 0);
}

void listener_resume(struct listener *ls)
{
	loop_set_events(ls->loop, ls->slot, POLLIN);
}
