/* addr.h - IP addresses as 16-byte keys (IPv4 mapped into IPv6), their
 * text form both ways, and which of them may be dialed.  No sockets are
 * opened here: the offline readers (report) link it alone. */
#ifndef ADDR_H
#define ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ipmap.h"

#define ADDR_TEXT_MAX 56   /* "[ffff:...:ffff]:4294967295" and a NUL */

/* From a socket address; returns the port. */
uint16_t addr_from_sockaddr(struct ip_key *k, const struct sockaddr_storage *sa);
/* From a protobuf NetAddress ip (4 or 16 bytes); -1 for other lengths. */
int addr_from_bytes(struct ip_key *k, const uint8_t *ip, size_t len);
/* To a socket address for connect(). */
socklen_t addr_to_sockaddr(const struct ip_key *k, uint16_t port,
    struct sockaddr_storage *sa);

bool addr_is_v4(const struct ip_key *k);
/* "1.2.3.4" or "2001:db8::1". */
void addr_ip_text(const struct ip_key *k, char *out, size_t cap);
/* "1.2.3.4:16111" or "[2001:db8::1]:16111".  The port is wider than a
 * TCP port so a peer's out-of-range NetAddress port is logged as sent. */
void addr_text(const struct ip_key *k, uint32_t port, char *out, size_t cap);

/* An address to listen on or dial, parsed from "IP:PORT" text. */
struct listen_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];             /* as given */
};

/* "1.2.3.4:16111", "[::1]:16111" or "[::]:16111": IP literals only, IPv6
 * only inside brackets, the port by decimal.h's rule (0..65535).  -1 if
 * it is not one. */
int parse_host_port(const char *s, struct listen_addr *out);
/* The same text to an IP key (an IPv4-mapped IPv6 address becomes IPv4)
 * and port. */
int addr_parse(const char *text, struct ip_key *ip, uint16_t *port);

/* Globally routable unicast: not loopback, private, CGNAT, link-local,
 * multicast, documentation, benchmarking, reserved or unspecified. */
bool addr_is_routable(const struct ip_key *k);

/* Default P2P port of a network name ("kaspa-mainnet" -> 16111), 0 if
 * the name is not a Kaspa network. */
uint16_t network_default_port(const char *network);

#endif
