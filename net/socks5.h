/* socks5.h - the client side of SOCKS version 5 (RFC 1928) with
 * username/password authentication (RFC 1929), as pure byte functions:
 * requests are built into caller buffers, replies are parsed from what has
 * arrived so far.  The state machine that runs them is dial.c.
 *
 * Exchange: greeting -> method choice; if the proxy chose 0x02, the
 * username/password request -> status; CONNECT request -> reply.  The
 * reply's length depends on its address type, so socks5_parse_reply says
 * how many bytes it needs: the caller reads exactly that many and never
 * eats the first bytes of the target's own stream.
 */
#ifndef SOCKS5_H
#define SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_REFUSED 0xff
#define SOCKS5_CRED_MAX 255           /* RFC 1929: one length octet */
#define SOCKS5_NAME_MAX 255           /* ATYP 3: one length octet */
#define SOCKS5_GREETING_MAX 4
#define SOCKS5_AUTH_MAX (3 + 2 * SOCKS5_CRED_MAX)
#define SOCKS5_REQUEST_MAX (7 + SOCKS5_NAME_MAX)
#define SOCKS5_REPLY_MIN 5            /* enough to know the whole length */
#define SOCKS5_REPLY_MAX (6 + 1 + SOCKS5_NAME_MAX)

/* Reply codes (RFC 1928 section 6). */
enum socks5_rep {
	SOCKS5_SUCCEEDED = 0x00,
	SOCKS5_GENERAL_FAILURE = 0x01,
	SOCKS5_NOT_ALLOWED = 0x02,
	SOCKS5_NET_UNREACHABLE = 0x03,
	SOCKS5_HOST_UNREACHABLE = 0x04,
	SOCKS5_CONN_REFUSED = 0x05,
	SOCKS5_TTL_EXPIRED = 0x06,
	SOCKS5_CMD_UNSUPPORTED = 0x07,
	SOCKS5_ATYP_UNSUPPORTED = 0x08,
};

/* Offers "no authentication", plus username/password when with_auth. */
size_t socks5_greeting(uint8_t out[SOCKS5_GREETING_MAX], bool with_auth);

/* RFC 1929 request; -1 when user or password is empty or too long. */
int socks5_auth_request(uint8_t out[SOCKS5_AUTH_MAX], const char *user,
    const char *password);

/* CONNECT to an IP (ATYP 1 or 4). */
size_t socks5_connect_ip(uint8_t out[SOCKS5_REQUEST_MAX],
    const struct ip_key *ip, uint16_t port);

/* CONNECT to a host name (ATYP 3: the proxy resolves it); -1 when the
 * name is empty or longer than SOCKS5_NAME_MAX. */
int socks5_connect_name(uint8_t out[SOCKS5_REQUEST_MAX], const char *name,
    uint16_t port);

/* Parsers: 1 when p[0..n) starts with a complete valid message (bytes
 * after it are not looked at), 0 when more bytes are needed, -1 when it
 * is malformed (wrong version, unknown address type, a method we did not
 * offer). */
int socks5_parse_method(const uint8_t *p, size_t n, bool offered_auth,
    uint8_t *method);
int socks5_parse_auth(const uint8_t *p, size_t n, bool *ok);

struct socks5_reply {
	uint8_t rep;            /* enum socks5_rep, or another code */
	uint8_t atyp;
	uint16_t bound_port;
};

/* *need: the reply's total length once known (from its first
 * SOCKS5_REPLY_MIN bytes), else SOCKS5_REPLY_MIN. */
int socks5_parse_reply(const uint8_t *p, size_t n, size_t *need,
    struct socks5_reply *r);

#endif
