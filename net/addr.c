/* addr.c - see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

bool addr_is_v4(const struct ip_key *k)
{
	return memcmp(k->b, v4_mapped_prefix, 12) == 0;
}

uint16_t addr_from_sockaddr(struct ip_key *k, const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		addr_from_bytes(k, (const uint8_t *)&v4->sin_addr, 4);
		return ntohs(v4->sin_port);
	}
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
	memcpy(k->b, &v6->sin6_addr, 16);
	return ntohs(v6->sin6_port);
}

int addr_from_bytes(struct ip_key *k, const uint8_t *ip, size_t len)
{
	if (len == 16) {
		memcpy(k->b, ip, 16);
		return 0;
	}
	if (len != 4)
		return -1;
	memcpy(k->b, v4_mapped_prefix, 12);
	memcpy(k->b + 12, ip, 4);
	return 0;
}

socklen_t addr_to_sockaddr(const struct ip_key *k, uint16_t port,
    struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof *sa);
	if (addr_is_v4(k)) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		memcpy(&v4->sin_addr, k->b + 12, 4);
		return sizeof *v4;
	}
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(port);
	memcpy(&v6->sin6_addr, k->b, 16);
	return sizeof *v6;
}

void addr_ip_text(const struct ip_key *k, char *out, size_t cap)
{
	bool v4 = addr_is_v4(k);
	if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? k->b + 12 : k->b, out,
	    (socklen_t)cap) == NULL)
		snprintf(out, cap, "?");
}

void addr_text(const struct ip_key *k, uint32_t port, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	addr_ip_text(k, ip, sizeof ip);
	snprintf(out, cap, addr_is_v4(k) ? "%s:%u" : "[%s]:%u", ip,
	    (unsigned)port);
}

/* IPv6 only inside brackets, IPv4 only without: "::1:80" is ambiguous. */
int parse_host_port(const char *s, struct listen_addr *out)
{
	char host[64];
	const char *colon;
	const char *host_start = s;
	size_t host_len;
	uint64_t port;
	bool v6_host = s[0] == '[';

	if (v6_host) {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host_start = s + 1;
		host_len = (size_t)(close - host_start);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		host_len = (size_t)(colon - s);
	}
	if (host_len == 0 || host_len >= sizeof host ||
	    decimal_parse(colon + 1, strlen(colon + 1), 0, 65535, &port) != 0)
		return -1;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';

	memset(out, 0, sizeof *out);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
	if (!v6_host && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof *v4;
	} else if (v6_host && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof *v6;
	} else {
		return -1;
	}
	snprintf(out->text, sizeof out->text, "%s", s);
	return 0;
}

int addr_parse(const char *text, struct ip_key *ip, uint16_t *port)
{
	struct listen_addr a;

	if (parse_host_port(text, &a) != 0)
		return -1;
	*port = addr_from_sockaddr(ip, &a.sa);
	return 0;
}

struct prefix {
	uint8_t b[16];
	unsigned bits;
};

static bool in_prefix(const uint8_t *ip, const struct prefix *p)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;
	if (memcmp(ip, p->b, full) != 0)
		return false;
	return rest == 0 ||
	    ((ip[full] ^ p->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool in_any(const uint8_t *ip, const struct prefix *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (in_prefix(ip, &list[i]))
			return true;
	return false;
}

/* IANA special-purpose IPv4 blocks (RFC 6890 and successors). */
static const struct prefix v4_bogons[] = {
	{ { 0 }, 8 },                  /* "this network" */
	{ { 10 }, 8 },                 /* private */
	{ { 100, 64 }, 10 },           /* CGNAT */
	{ { 127 }, 8 },                /* loopback */
	{ { 169, 254 }, 16 },          /* link-local */
	{ { 172, 16 }, 12 },           /* private */
	{ { 192, 0, 0 }, 24 },         /* IETF protocol assignments */
	{ { 192, 0, 2 }, 24 },         /* documentation */
	{ { 192, 88, 99 }, 24 },       /* 6to4 relay anycast */
	{ { 192, 168 }, 16 },          /* private */
	{ { 198, 18 }, 15 },           /* benchmarking */
	{ { 198, 51, 100 }, 24 },      /* documentation */
	{ { 203, 0, 113 }, 24 },       /* documentation */
	{ { 224 }, 4 },                /* multicast */
	{ { 240 }, 4 },                /* reserved, broadcast */
};

/* Inside 2000::/3, the blocks that are not ordinary global unicast. */
static const struct prefix v6_bogons[] = {
	{ { 0x20, 0x01, 0x00 }, 23 },       /* IETF protocols, Teredo */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 }, /* documentation */
	{ { 0x3f, 0xff }, 20 },             /* documentation (RFC 9637) */
};

bool addr_is_routable(const struct ip_key *k)
{
	static const struct prefix global_unicast = { { 0x20 }, 3 };

	if (addr_is_v4(k))
		return !in_any(k->b + 12, v4_bogons,
		    sizeof v4_bogons / sizeof v4_bogons[0]);
	return in_prefix(k->b, &global_unicast) &&
	    !in_any(k->b, v6_bogons, sizeof v6_bogons / sizeof v6_bogons[0]);
}

uint16_t network_default_port(const char *network)
{
	static const struct {
		const char *name;
		uint16_t port;
	} ports[] = {
		{ "kaspa-mainnet", 16111 }, { "kaspa-testnet-10", 16211 },
		{ "kaspa-testnet-12", 16311 }, { "kaspa-simnet", 16511 },
		{ "kaspa-devnet", 16611 },
	};

	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
		if (strcmp(network, ports[i].name) == 0)
			return ports[i].port;
	/* Other testnets share one port; their suffix is a number. */
	static const char testnet[] = "kaspa-testnet-";
	if (strncmp(network, testnet, sizeof testnet - 1) != 0)
		return 0;
	const char *suffix = network + sizeof testnet - 1;
	size_t digits = strspn(suffix, "0123456789");
	return digits > 0 && digits <= 10 && suffix[digits] == '\0' ? 16411 : 0;
}
