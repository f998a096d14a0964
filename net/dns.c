/* dns.c - non-blocking A/AAAA lookups (see dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define HEADER_LEN 12
#define LABEL_MAX 63
#define FLAG_QR 0x8000
#define FLAG_RD 0x0100
#define FLAG_TC 0x0200
#define RCODE_MASK 0x000f
#define RCODE_NXDOMAIN 3
#define CLASS_IN 1
#define LOCAL_LINE_MAX 1024
#define DNS_PORT 53

/* ---- packets ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* "a.b.c" (an optional final dot) -> 1a1b1c0; -1 if not a host name. */
static int encode_name(uint8_t *out, size_t cap, const char *name)
{
	size_t n = strlen(name), pos = 0;
	const char *p = name;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || cap < n + 2)
		return -1;
	while (p < name + n) {
		const char *dot = memchr(p, '.', (size_t)(name + n - p));
		size_t len = (size_t)((dot ? dot : name + n) - p);
		if (len == 0 || len > LABEL_MAX)
			return -1;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-' &&
			    p[i] != '_')
				return -1;
		out[pos++] = (uint8_t)len;
		memcpy(out + pos, p, len);
		pos += len;
		p += len + (dot != NULL);
	}
	out[pos++] = 0;
	return (int)pos;
}

int dns_build_query(uint8_t *out, size_t cap, uint16_t id, const char *name,
    uint16_t qtype)
{
	int n;

	if (cap < HEADER_LEN + 4)
		return -1;
	memset(out, 0, HEADER_LEN);
	put16(out, id);
	put16(out + 2, FLAG_RD);
	put16(out + 4, 1);
	n = encode_name(out + HEADER_LEN, cap - HEADER_LEN - 4, name);
	if (n < 0)
		return -1;
	put16(out + HEADER_LEN + n, qtype);
	put16(out + HEADER_LEN + n + 2, CLASS_IN);
	return HEADER_LEN + n + 4;
}

/* Offset after the (possibly compressed) name at off, or 0 if it runs
 * past n or a label is malformed.  Pointers end a name; they are not
 * followed, so no loop is possible. */
static size_t skip_name(const uint8_t *p, size_t n, size_t off)
{
	for (unsigned hops = 0; off < n && hops < 128; hops++) {
		uint8_t b = p[off];
		if (b == 0)
			return off + 1;
		if ((b & 0xc0) == 0xc0)
			return off + 2 <= n ? off + 2 : 0;
		if (b > LABEL_MAX)
			return 0;
		off += 1u + b;
	}
	return 0;
}

/* Names compare without regard to ASCII case (RFC 4343); length bytes
 * are below 64 and unaffected by the folding. */
static bool same_name(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tolower(a[i]) != tolower(b[i]))
			return false;
	return true;
}

static bool question_matches(const uint8_t *p, size_t n, const char *name,
    uint16_t qtype, size_t *end)
{
	uint8_t want[DNS_NAME_MAX + 2];
	int wn = encode_name(want, sizeof want, name);

	if (wn < 0 || HEADER_LEN + (size_t)wn + 4 > n ||
	    !same_name(p + HEADER_LEN, want, (size_t)wn))
		return false;
	*end = HEADER_LEN + (size_t)wn;
	if (get16(p + *end) != qtype || get16(p + *end + 2) != CLASS_IN)
		return false;
	*end += 4;
	return true;
}

static void add_address(struct dns_addrs *out, uint16_t type,
    const uint8_t *rdata)
{
	struct sockaddr_storage *ss = &out->sa[out->n];

	if (out->n == DNS_ADDRS_MAX)
		return;
	memset(ss, 0, sizeof *ss);
	if (type == DNS_TYPE_A) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, rdata, 4);
		out->len[out->n++] = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, rdata, 16);
		out->len[out->n++] = sizeof *a;
	}
}

/* dns_parse_response, adding to a scratch copy of out. */
static enum dns_result parse_into(const uint8_t *p, size_t n, uint16_t id,
    const char *name, uint16_t qtype, struct dns_addrs *out)
{
	size_t off;
	uint16_t flags, ancount;
	size_t want_len = qtype == DNS_TYPE_A ? 4 : 16;

	if (n < HEADER_LEN || n > DNS_PACKET_MAX || get16(p) != id)
		return DNS_BAD;
	flags = get16(p + 2);
	if (!(flags & FLAG_QR) || get16(p + 4) != 1 ||
	    !question_matches(p, n, name, qtype, &off))
		return DNS_BAD;
	if ((flags & RCODE_MASK) == RCODE_NXDOMAIN)
		return DNS_NOT_FOUND;
	if ((flags & RCODE_MASK) != 0)   /* SERVFAIL etc.: no answer here */
		return DNS_OK;
	ancount = get16(p + 6);
	/* A truncated (TC) reply still carries whole records up to its end. */
	for (unsigned i = 0; i < ancount; i++) {
		off = skip_name(p, n, off);
		if (off == 0 || n - off < 10)
			return flags & FLAG_TC ? DNS_OK : DNS_BAD;
		uint16_t type = get16(p + off), cls = get16(p + off + 2);
		size_t rdlen = get16(p + off + 8);
		off += 10;
		if (rdlen > n - off)
			return flags & FLAG_TC ? DNS_OK : DNS_BAD;
		if (type == qtype && cls == CLASS_IN && rdlen == want_len)
			add_address(out, type, p + off);
		off += rdlen;
	}
	return DNS_OK;
}

enum dns_result dns_parse_response(const uint8_t *p, size_t n, uint16_t id,
    const char *name, uint16_t qtype, struct dns_addrs *out)
{
	/* Only a whole, well-formed answer may add addresses. */
	struct dns_addrs scratch = *out;
	enum dns_result r = parse_into(p, n, id, name, qtype, &scratch);

	if (r == DNS_OK)
		*out = scratch;
	return r;
}

/* ---- local ---- */

static bool parse_numeric(const char *s, struct dns_addrs *out)
{
	uint8_t buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		add_address(out, DNS_TYPE_A, buf);
	else if (inet_pton(AF_INET6, s, buf) == 1)
		add_address(out, DNS_TYPE_AAAA, buf);
	else
		return false;
	return true;
}

/* "ADDR name alias... # comment": does the line name `name`? */
static bool hosts_line_names(char *line, const char *name, char **addr)
{
	char *save, *tok;

	line[strcspn(line, "#\n")] = '\0';
	*addr = strtok_r(line, " \t", &save);
	if (*addr == NULL)
		return false;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
		if (strcasecmp(tok, name) == 0)
			return true;
	return false;
}

bool dns_lookup_local(const char *name, const char *hosts_path,
    struct dns_addrs *out)
{
	char line[LOCAL_LINE_MAX], *addr;
	FILE *f;

	out->n = 0;
	if (parse_numeric(name, out))
		return true;
	f = fopen(hosts_path ? hosts_path : "/etc/hosts", "re");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL)
		if (hosts_line_names(line, name, &addr))
			parse_numeric(addr, out);
	fclose(f);
	return out->n > 0;
}

/* ---- queries ---- */

static void read_servers(struct dns_query *q, const char *path)
{
	char line[LOCAL_LINE_MAX];
	FILE *f = fopen(path ? path : "/etc/resolv.conf", "re");
	struct dns_addrs a = { .n = 0 };

	while (f && fgets(line, sizeof line, f) && a.n < DNS_SERVERS_MAX) {
		char *save, *key = strtok_r(line, " \t\n", &save);
		char *val = key ? strtok_r(NULL, " \t\n", &save) : NULL;
		if (val && strcmp(key, "nameserver") == 0)
			parse_numeric(val, &a);
	}
	if (f)
		fclose(f);
	if (a.n == 0)
		parse_numeric("127.0.0.1", &a);
	for (unsigned i = 0; i < a.n && i < DNS_SERVERS_MAX; i++) {
		q->server[i] = a.sa[i];
		q->server_len[i] = a.len[i];
		/* Same offset of the port in sockaddr_in and sockaddr_in6. */
		((struct sockaddr_in *)&q->server[i])->sin_port = htons(DNS_PORT);
	}
	q->n_servers = a.n < DNS_SERVERS_MAX ? a.n : DNS_SERVERS_MAX;
}

static int send_queries(struct dns_query *q)
{
	static const uint16_t types[2] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	unsigned k = q->next_server++;
	uint8_t pkt[DNS_PACKET_MAX];

	dns_stop(q);
	q->fd = socket(q->server[k].ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&q->server[k],
	    q->server_len[k]) != 0 ||
	    getrandom(q->id, sizeof q->id, 0) != (ssize_t)sizeof q->id)
		return -1;
	for (int i = 0; i < 2; i++) {
		int n = dns_build_query(pkt, sizeof pkt, q->id[i], q->name,
		    types[i]);
		if (n < 0) {
			errno = EINVAL;
			return -1;
		}
		if (send(q->fd, pkt, (size_t)n, 0) != n)
			return -1;
		q->answered[i] = false;
	}
	q->result.n = 0;
	return 0;
}

int dns_start(struct dns_query *q, const char *name, const char *resolv_path)
{
	q->fd = -1;
	if (strlen(name) > DNS_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(q->name, sizeof q->name, "%s", name);
	read_servers(q, resolv_path);
	q->next_server = 0;
	return send_queries(q);
}

int dns_on_readable(struct dns_query *q)
{
	static const uint16_t types[2] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	uint8_t pkt[DNS_PACKET_MAX];
	ssize_t n;

	while ((n = recv(q->fd, pkt, sizeof pkt, MSG_TRUNC)) >= 0) {
		size_t len = (size_t)n < sizeof pkt ? (size_t)n : sizeof pkt;
		for (int i = 0; i < 2; i++) {
			if (q->answered[i] || len < 2 || get16(pkt) != q->id[i])
				continue;
			enum dns_result r = dns_parse_response(pkt, len, q->id[i],
			    q->name, types[i], &q->result);
			if (r == DNS_NOT_FOUND)
				return -1;
			q->answered[i] = r == DNS_OK;
		}
		if (q->answered[0] && q->answered[1])
			return 1;
	}
	return 0;
}

int dns_next_server(struct dns_query *q)
{
	if ((q->answered[0] || q->answered[1]) && q->result.n > 0)
		return 1;
	if (q->next_server >= q->n_servers)
		return -1;
	return send_queries(q);
}

void dns_stop(struct dns_query *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}
