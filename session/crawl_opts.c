/* crawl_opts.c - see crawl_opts.h. */
#include "crawl_opts.h"

#include <stdio.h>
#include <string.h>

#include "options.h"
#include "version.h"

static int add_address(struct watch *list, unsigned *n, unsigned cap,
    const char *value)
{
	if (*n >= cap || addr_parse(value, &list[*n].ip, &list[*n].port) != 0)
		return -1;
	addr_text(&list[*n].ip, list[*n].port, list[*n].text, ADDR_TEXT_MAX);
	(*n)++;
	return 0;
}

static int add_seed(void *obj, const char *value)
{
	struct crawl_opts *o = obj;
	return add_address(o->seeds, &o->n_seeds, CRAWL_SEEDS_MAX, value);
}

static int add_watch(void *obj, const char *value)
{
	struct crawl_opts *o = obj;
	return add_address(o->watch, &o->n_watch, CRAWL_WATCH_MAX, value);
}

#define UINT(...) OPTION_UINT(struct crawl_opts, __VA_ARGS__)
#define STR(...) OPTION_STR(struct crawl_opts, __VA_ARGS__)
#define FLAG(...) OPTION_FLAG(struct crawl_opts, __VA_ARGS__)

/* Defaults live in the rows: --help prints them from here. */
static const struct option_def rows[] = {
	OPTION_LIST("seed", add_seed,
	  "IP:PORT to start from, repeatable",
	  NOTE("the network's DNS seeders")),
	STR("resolv-conf", resolv_conf,
	  "name servers for the DNS seeders",
	  VALUE("/etc/resolv.conf")),
	STR("socks5", socks5, "dial peers through this SOCKS5"
	  " proxy, IP:PORT or NAME:PORT from /etc/hosts (Tor: 127.0.0.1:9050)",
	  NOTE("direct")),
	STR("socks5-user", socks5_user, "SOCKS5 username; the"
	  " password from --socks5-password-file or SENSOR_SOCKS5_PASSWORD"),
	STR("socks5-password-file", socks5_password_file,
	  "file whose first line is the SOCKS5 password"),
	STR("socks5-for", socks5_for, "use the proxy only if this"
	  " list (probe,crawl,announce,export) has crawl",
	  NOTE("all")),
	OPTION_LIST("watch", add_watch,
	  "IP:PORT to flag in every Addresses reply, repeatable"),
	STR("out", out, "NDJSON output file (appended to; required)"),
	STR("network", network, "network name",
	  VALUE(DEFAULT_NETWORK)),
	STR("user-agent", user_agent,
	  "user agent in our Version",
	  VALUE(CRAWLER_USER_AGENT)),
	UINT("protocol-version", protocol_version, 1, UINT32_MAX,
	  DEFAULT_PROTOCOL_VERSION, "protocolVersion we send"),
	FLAG("crawl-allow-private", allow_private, true, false,
	  "also dial loopback, private and other non-routable addresses"),
	FLAG("crawl-addresses", log_addresses, true, false,
	  "log every address of every reply, not only the --watch flags"),
	UINT("crawl-concurrency", concurrency, 1, 4096, 256,
	  "connections open at once"),
	UINT("crawl-max-peers", max_peers, 1, 10000000, 100000,
	  "frontier size limit"),
	UINT("crawl-requests", requests, 0, 100, 3,
	  "RequestAddresses per peer"),
	UINT("crawl-connect-timeout-ms", connect_timeout_ms, 10, 60000, 2000,
	  "connect timeout"),
	UINT("crawl-stage-timeout-ms", stage_timeout_ms, 10, 60000, 4000,
	  "Version, Verack and Ready timeout, each"),
	UINT("crawl-request-timeout-ms", request_timeout_ms, 10, 300000, 5000,
	  "wait for one Addresses reply"),
	UINT("crawl-max-seconds", max_seconds, 1, 86400, 900,
	  "stop the whole crawl after this"),
};

static const struct option_table table = {
	rows, sizeof rows / sizeof rows[0], NULL
};

static void crawl_usage(FILE *f)
{
	fprintf(f, "usage: kaspa-sensor crawl --out FILE [--seed IP:PORT...] [options]\n"
	    "Walk the Kaspa P2P network breadth first, log peers and Addresses"
	    " replies as NDJSON.\n\n");
	options_usage(&table, f);
}

int crawl_opts_parse(struct crawl_opts *o, int argc, char **argv)
{
	char why[256];

	memset(o, 0, sizeof *o);
	options_defaults(&table, o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			crawl_usage(stdout);
			return 1;
		}
		const struct option_def *d = strncmp(a, "--", 2) != 0 ? NULL :
		    options_find(&table, a + 2, strlen(a + 2));
		if (d == NULL) {
			fprintf(stderr, "kaspa-sensor crawl: unknown argument '%s'"
			    " (see crawl --help)\n", a);
			return 2;
		}
		/* A missing value is an empty one: refused by every kind. */
		const char *value = d->kind == OPT_FLAG ? "1" :
		    i + 1 < argc ? argv[++i] : "";
		if (options_apply(d, o, value, a, why, sizeof why) != 0) {
			fprintf(stderr, "kaspa-sensor crawl: %s\n", why);
			return 2;
		}
	}
	if (o->out[0] == '\0') {
		fprintf(stderr, "kaspa-sensor crawl: --out is required\n");
		return 2;
	}
	return 0;
}
