/* peer.h - one inbound Kaspa P2P connection: HTTP/2 + gRPC call + the
 * Version / Verack / Ready handshake, then a short linger, then one NDJSON
 * line. */
#ifndef PEER_H
#define PEER_H

#include <sys/socket.h>

#include "sensor.h"

/* The handshake every inbound connection runs (s->handshake), from
 * s->cfg and s->node_id. */
void peer_setup(struct sensor *s);

/* Take over an accepted, non-blocking socket.  `refuse` (e.g. "conn_limit")
 * closes it at once and logs that outcome.  Returns 0 or -1 (socket closed,
 * nothing logged: out of memory or loop slots). */
int peer_accept(struct sensor *s, int fd, const struct sockaddr_storage *sa,
    const char *refuse);

/* Shutdown: end every connection now (outcome "shutdown" unless done). */
void peer_close_all(struct sensor *s);

#endif
