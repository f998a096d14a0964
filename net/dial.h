/* dial.h - every outbound TCP connection of the sensor (probe, crawl,
 * announce, export) goes through here, as every outbound P2P connection
 * of the reference node goes through one connector.
 *
 * A dial runs on the caller's loop: a non-blocking connect() with one
 * deadline for the whole dial, either directly (a host name is resolved
 * without blocking by dns.c, each address tried in turn) or through a
 * SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 username/password; a host
 * name goes to the proxy as a name, so Tor resolves it).  Every way it
 * can end is one outcome of one vocabulary; a proxy's reply codes are
 * mapped onto it, and a proxy that cannot be used is kept apart from the
 * target's answer.
 */
#ifndef DIAL_H
#define DIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "dns.h"
#include "loop.h"
#include "socks5.h"

enum dial_outcome {
	DIAL_CONNECTED,
	DIAL_REFUSED,          /* RST, or SOCKS 0x05 */
	DIAL_TIMEOUT,          /* the deadline, or SOCKS 0x06 (TTL expired) */
	DIAL_UNREACHABLE,      /* ICMP, no such host, or SOCKS 0x03 / 0x04 */
	DIAL_RESET,
	DIAL_ERROR,            /* ours: no socket, firewall; other SOCKS codes */
	DIAL_PROXY_REFUSED,    /* the proxy itself refused the connection */
	DIAL_PROXY_ERROR,      /* proxy down, silent, broken or auth failed */
};

/* Which part of the sensor dials: --socks5-for picks from these. */
enum dial_kind { DIAL_PROBE, DIAL_CRAWL, DIAL_ANNOUNCE, DIAL_EXPORT,
	DIAL_KINDS };

struct dial_proxy {
	struct sockaddr_storage sa;
	socklen_t len;                        /* 0: no proxy */
	char text[ADDR_TEXT_MAX];             /* for operator lines */
	char user[SOCKS5_CRED_MAX + 1];       /* "": no authentication */
	char password[SOCKS5_CRED_MAX + 1];   /* secret: never printed */
	unsigned kinds;                       /* bit (1 << enum dial_kind) */
};

#define DIAL_PASSWORD_ENV "SENSOR_SOCKS5_PASSWORD"

/* From the options: addr "IP:PORT", "[IPv6]:PORT" or "NAME:PORT" with
 * NAME in /etc/hosts ("" = no proxy), user ("" = none), the password's
 * file (first line) or else $SENSOR_SOCKS5_PASSWORD, kinds
 * "probe,crawl,announce,export" ("" = all).  NULL when fine, else what is
 * wrong (never the password). */
const char *dial_proxy_load(struct dial_proxy *p, const char *addr,
    const char *user, const char *password_file, const char *kinds);

/* The proxy a kind of connection uses, or NULL to dial directly. */
const struct dial_proxy *dial_proxy_for(const struct dial_proxy *p,
    enum dial_kind kind);

struct dial_result {
	enum dial_outcome outcome;
	const char *detail;    /* static, e.g. "socks5_auth_failed"; or NULL */
	int err;               /* errno of a failed direct connect, or 0 */
	int fd;                /* DIAL_CONNECTED: now the caller's; else -1 */
	int64_t connect_us;    /* start to the target's answer (connected,
	                        * refused, unreachable, reset); else -1 */
};

typedef void (*dial_done_fn)(void *ctx, const struct dial_result *r);

enum dial_state { DIAL_IDLE, DIAL_RESOLVING, DIAL_CONNECTING,
	DIAL_SOCKS_METHOD, DIAL_SOCKS_AUTH, DIAL_SOCKS_CONNECT, DIAL_DECIDED };

/* Embed it in the caller's object; its fields are dial.c's. */
struct dial {
	struct loop *loop;
	const struct dial_proxy *proxy;
	dial_done_fn done;
	void *ctx;
	enum dial_state state;
	int fd, slot;
	int64_t started_us, deadline_ms;
	bool by_name;
	struct ip_key ip;
	char name[DNS_NAME_MAX + 1];
	uint16_t port;
	struct dns_query dns;            /* direct, by name */
	struct dns_addrs addrs;
	unsigned next_addr;
	struct dial_result result;       /* DIAL_DECIDED: delivered next turn */
	uint8_t buf[SOCKS5_AUTH_MAX];    /* a request out, then a reply in */
	size_t len, off;
	bool sending;                    /* a request is still going out */
};

/* Dial ip:port, or name:port (a name or an IP literal), within
 * timeout_ms; proxy NULL dials directly.  done runs once, from the loop
 * (never from inside dial_start), unless dial_cancel comes first.
 * -1 (nothing started, no callback) when the loop is full. */
int dial_start(struct dial *d, struct loop *l, const struct dial_proxy *proxy,
    const struct ip_key *ip, uint16_t port, uint64_t timeout_ms,
    dial_done_fn done, void *ctx);
int dial_start_name(struct dial *d, struct loop *l,
    const struct dial_proxy *proxy, const char *name, uint16_t port,
    uint64_t timeout_ms, dial_done_fn done, void *ctx);

/* Stop a running dial (no callback); harmless on one that ended. */
void dial_cancel(struct dial *d);

/* "connected", "refused", "timeout", "unreachable", "reset", "error",
 * "proxy_refused", "proxy_error". */
const char *dial_outcome_name(enum dial_outcome o);

/* The outcome says nothing about the target: ours or the proxy's. */
bool dial_outcome_is_local(enum dial_outcome o);

/* A SOCKS5 reply code as an outcome, and its detail name. */
enum dial_outcome dial_socks5_outcome(uint8_t rep, const char **detail);

#endif
