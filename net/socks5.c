/* socks5.c - see socks5.h. */
#include "socks5.h"

#include <string.h>

#define SOCKS5_VERSION 0x05
#define AUTH_VERSION 0x01          /* RFC 1929 subnegotiation */
#define CMD_CONNECT 0x01
#define ATYP_IPV4 0x01
#define ATYP_NAME 0x03
#define ATYP_IPV6 0x04

size_t socks5_greeting(uint8_t out[SOCKS5_GREETING_MAX], bool with_auth)
{
	size_t n = 0;

	out[n++] = SOCKS5_VERSION;
	out[n++] = with_auth ? 2 : 1;
	out[n++] = SOCKS5_METHOD_NONE;
	if (with_auth)
		out[n++] = SOCKS5_METHOD_USERPASS;
	return n;
}

/* One length octet and the bytes; -1 when empty or too long. */
static int put_counted(uint8_t *out, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return -1;
	out[0] = (uint8_t)len;
	memcpy(out + 1, s, len);
	return (int)len + 1;
}

int socks5_auth_request(uint8_t out[SOCKS5_AUTH_MAX], const char *user,
    const char *password)
{
	int u, p;

	out[0] = AUTH_VERSION;
	if ((u = put_counted(out + 1, user, SOCKS5_CRED_MAX)) < 0 ||
	    (p = put_counted(out + 1 + u, password, SOCKS5_CRED_MAX)) < 0)
		return -1;
	return 1 + u + p;
}

static size_t put_head(uint8_t *out, uint8_t atyp)
{
	out[0] = SOCKS5_VERSION;
	out[1] = CMD_CONNECT;
	out[2] = 0;                /* reserved */
	out[3] = atyp;
	return 4;
}

static size_t put_port(uint8_t *out, uint16_t port)
{
	out[0] = (uint8_t)(port >> 8);
	out[1] = (uint8_t)port;
	return 2;
}

size_t socks5_connect_ip(uint8_t out[SOCKS5_REQUEST_MAX],
    const struct ip_key *ip, uint16_t port)
{
	bool v4 = addr_is_v4(ip);
	size_t n = put_head(out, v4 ? ATYP_IPV4 : ATYP_IPV6);
	size_t len = v4 ? 4 : 16;

	memcpy(out + n, ip->b + (v4 ? 12 : 0), len);
	n += len;
	return n + put_port(out + n, port);
}

int socks5_connect_name(uint8_t out[SOCKS5_REQUEST_MAX], const char *name,
    uint16_t port)
{
	size_t n = put_head(out, ATYP_NAME);
	int len = put_counted(out + n, name, SOCKS5_NAME_MAX);

	if (len < 0)
		return -1;
	n += (size_t)len;
	return (int)(n + put_port(out + n, port));
}

int socks5_parse_method(const uint8_t *p, size_t n, bool offered_auth,
    uint8_t *method)
{
	if (n < 2)
		return n == 1 && p[0] != SOCKS5_VERSION ? -1 : 0;
	if (p[0] != SOCKS5_VERSION)
		return -1;
	*method = p[1];
	if (p[1] == SOCKS5_METHOD_NONE || p[1] == SOCKS5_METHOD_REFUSED ||
	    (p[1] == SOCKS5_METHOD_USERPASS && offered_auth))
		return 1;
	return -1;
}

int socks5_parse_auth(const uint8_t *p, size_t n, bool *ok)
{
	if (n < 2)
		return n == 1 && p[0] != AUTH_VERSION ? -1 : 0;
	if (p[0] != AUTH_VERSION)
		return -1;
	*ok = p[1] == 0;
	return 1;
}

/* Bytes of the bound address for an address type and its first octet;
 * 0 for an unknown type. */
static size_t bound_addr_len(uint8_t atyp, uint8_t first)
{
	switch (atyp) {
	case ATYP_IPV4:
		return 4;
	case ATYP_IPV6:
		return 16;
	case ATYP_NAME:
		return 1 + (size_t)first;
	default:
		return 0;
	}
}

int socks5_parse_reply(const uint8_t *p, size_t n, size_t *need,
    struct socks5_reply *r)
{
	size_t addr_len;

	*need = SOCKS5_REPLY_MIN;
	if (n >= 1 && p[0] != SOCKS5_VERSION)
		return -1;
	if (n < SOCKS5_REPLY_MIN)
		return 0;
	if ((addr_len = bound_addr_len(p[3], p[4])) == 0)
		return -1;
	*need = 4 + addr_len + 2;          /* <= SOCKS5_REPLY_MAX */
	if (n < *need)
		return 0;
	r->rep = p[1];
	r->atyp = p[3];
	r->bound_port = (uint16_t)(p[*need - 2] << 8 | p[*need - 1]);
	return 1;
}
