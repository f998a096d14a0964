/* crawl_opts.h - `kaspa-sensor crawl`'s command line (options.h table):
 * its own unit so the rules and --help are testable without a socket. */
#ifndef CRAWL_OPTS_H
#define CRAWL_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define CRAWL_SEEDS_MAX 64
#define CRAWL_WATCH_MAX 16
#define CRAWL_STR_MAX 4096     /* a path, as PATH_MAX */

struct watch {
	struct ip_key ip;
	uint16_t port;
	char text[ADDR_TEXT_MAX];
};

struct crawl_opts {
	struct watch seeds[CRAWL_SEEDS_MAX];
	unsigned n_seeds;
	struct watch watch[CRAWL_WATCH_MAX];
	unsigned n_watch;
	char out[CRAWL_STR_MAX];
	char network[CRAWL_STR_MAX];
	char user_agent[CRAWL_STR_MAX];
	uint64_t protocol_version;
	bool allow_private;
	bool log_addresses;
	uint64_t concurrency;
	uint64_t max_peers;
	uint64_t requests;
	uint64_t connect_timeout_ms;
	uint64_t stage_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t max_seconds;
	char resolv_conf[CRAWL_STR_MAX];
	char socks5[CRAWL_STR_MAX];
	char socks5_user[CRAWL_STR_MAX];
	char socks5_password_file[CRAWL_STR_MAX];
	char socks5_for[CRAWL_STR_MAX];
};

/* argv[0] is "crawl".  Defaults, then the flags ("--name value"; a flag
 * takes none).  Returns 0 to run, 1 after printing --help to stdout, 2
 * after printing a usage error to stderr. */
int crawl_opts_parse(struct crawl_opts *o, int argc, char **argv);

#endif
