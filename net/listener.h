/* listener.h - a listening TCP socket on the poll loop, and the one
 * accept loop the P2P port (sensor.c) and the metrics port (metrics.c)
 * share.
 *
 * Each wake-up accepts up to `burst` connections, so other slots get a
 * turn.  Accepted sockets are non-blocking and close-on-exec; the
 * listening socket is too, with SO_REUSEADDR.  When accept(2) fails for
 * lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the
 * connection stays queued and the socket stays readable, so polling it
 * would spin: the listener stops polling for `pause_ms`, then resumes.
 * Transient failures (EAGAIN, EINTR, ECONNABORTED) end the burst
 * silently; anything else ends it too and is handed to on_error.  The
 * module prints nothing.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdbool.h>
#include <sys/socket.h>

#include "addr.h"
#include "loop.h"

/* Asked before each accept (NULL: always yes).  No: the listener holds
 * (stops polling; newcomers wait in the backlog, where accepting them
 * only to close them would reset them) until listener_resume. */
typedef bool (*listener_room_fn)(void *ud);
/* A new connection: fd is the caller's from now on. */
typedef void (*listener_conn_fn)(void *ud, int fd,
    const struct sockaddr_storage *peer);
/* accept(2) failed with errno err; pause_ms > 0 if accepts now pause
 * that long (out of descriptors or memory), 0 if only this burst ends. */
typedef void (*listener_error_fn)(void *ud, int err, int pause_ms);

struct listener_config {
	int backlog;              /* listen(2) */
	bool v6only;              /* an IPv6 address takes IPv6 only */
	int burst;                /* accepts per wake-up */
	int pause_ms;             /* after EMFILE and the like */
	listener_room_fn has_room;
	listener_conn_fn on_conn;
	listener_error_fn on_error;
	void *ud;
};

struct listener {
	struct listener_config cfg;
	struct loop *loop;
	int fd, slot;
};

/* Bind and listen on a, watched on loop l.  0, or -1 with errno (ENOSPC:
 * the loop is full); nothing is left open on failure.  cfg is copied. */
int listener_open(struct listener *ls, struct loop *l,
    const struct listen_addr *a, const struct listener_config *cfg);
void listener_close(struct listener *ls);

/* Stop taking connections until listener_resume (has_room saying no
 * does this too); resuming also ends an EMFILE pause early. */
void listener_hold(struct listener *ls);
void listener_resume(struct listener *ls);

#endif
