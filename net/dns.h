/* dns.h - host name to addresses without blocking the loop: numeric
 * addresses and /etc/hosts first, then A and AAAA queries over UDP to the
 * name servers of /etc/resolv.conf (RFC 1035), one server at a time.
 *
 * The packet functions are pure (and fuzzed); the query runs on the
 * caller's loop: wait for POLLIN on q->fd, call dns_on_readable, and
 * dns_next_server when the per-server deadline passed.
 */
#ifndef DNS_H
#define DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_NAME_MAX 253
#define DNS_PACKET_MAX 512      /* classic UDP size; longer replies are cut */
#define DNS_ADDRS_MAX 8
#define DNS_SERVERS_MAX 3
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28

struct dns_addrs {
	struct sockaddr_storage sa[DNS_ADDRS_MAX];   /* port 0 */
	socklen_t len[DNS_ADDRS_MAX];
	unsigned n;
};

/* A recursive query for name/qtype with the given id into out.  Returns
 * the length, or -1 if the name is not a valid host name or cap is too
 * small. */
int dns_build_query(uint8_t *out, size_t cap, uint16_t id, const char *name,
    uint16_t qtype);

enum dns_result { DNS_OK, DNS_NOT_FOUND, DNS_BAD };

/* Checks that p[0..n) answers our query (id, one question equal to
 * name/qtype) and appends its qtype addresses to out (up to
 * DNS_ADDRS_MAX).  DNS_NOT_FOUND for NXDOMAIN (another error rcode is DNS_OK with
 * nothing added), DNS_BAD
 * for anything malformed or not ours.  n above DNS_PACKET_MAX is
 * DNS_BAD. */
enum dns_result dns_parse_response(const uint8_t *p, size_t n, uint16_t id,
    const char *name, uint16_t qtype, struct dns_addrs *out);

/* Numeric address, or a name in the hosts file (NULL: /etc/hosts).
 * true when out got at least one address. */
bool dns_lookup_local(const char *name, const char *hosts_path,
    struct dns_addrs *out);

struct dns_query {
	int fd;                         /* -1 when idle */
	char name[DNS_NAME_MAX + 1];
	struct sockaddr_storage server[DNS_SERVERS_MAX];
	socklen_t server_len[DNS_SERVERS_MAX];
	unsigned n_servers, next_server;
	uint16_t id[2];                 /* A, AAAA */
	bool answered[2];
	struct dns_addrs result;
};

/* Reads the name servers (NULL: /etc/resolv.conf; none listed: 127.0.0.1)
 * and sends both queries to the first.  0, or -1 with errno. */
int dns_start(struct dns_query *q, const char *name, const char *resolv_path);

/* 1 when both answers are in (q->result holds the addresses, maybe none),
 * 0 to keep waiting, -1 when the server said the name does not exist. */
int dns_on_readable(struct dns_query *q);

/* The server's deadline passed: 1 when one of the two answers is in with
 * addresses (q->result; the silent half is not waited for: some servers
 * drop AAAA queries), else 0 when the next server was asked, -1 when
 * none is left. */
int dns_next_server(struct dns_query *q);

void dns_stop(struct dns_query *q);

#endif
