/* config.h - sensor options from the command line and SENSOR_* variables. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define CONFIG_LISTEN_MAX 8
#define CONFIG_STR_MAX 256

struct config {
	struct listen_addr listen[CONFIG_LISTEN_MAX];
	unsigned n_listen;
	char network[65];                 /* as KASPA_NETWORK_MAX + 1 */
	char sensor_id[CONFIG_STR_MAX];
	char log_path[CONFIG_STR_MAX];
	char user_agent[CONFIG_STR_MAX];
	uint64_t log_max_bytes;
	uint64_t log_keep;
	uint64_t protocol_version;
	uint64_t version_wait_ms;
	uint64_t stage_timeout_ms;
	uint64_t ready_timeout_ms;
	uint64_t linger_ms;
	uint64_t max_conns;
	uint64_t max_conns_per_ip;
	char metrics_addr[64];            /* "" = no metrics listener */
	/* probe.c */
	bool probe_enabled;
	bool probe_verify;
	bool probe_allow_private;
	bool probe_advertised_any;
	uint64_t probe_timeout_ms;
	uint64_t probe_budget_ms;
	uint64_t probe_max;
	uint64_t probe_cache_ttl_s;
	/* announce.c */
	bool announce;
	bool announce_allow_private;
	char external_address[64];
	char announce_peers[CONFIG_STR_MAX];
	uint64_t announce_interval_s;
	uint64_t announce_per_round;
	uint64_t announce_linger_ms;
	uint64_t announce_redial_s;
	/* export.c */
	char export_url[1024];
	char export_format[16];           /* ndjson | firestore */
	char export_ca[CONFIG_STR_MAX];
	char export_header_file[CONFIG_STR_MAX];
	char export_credentials[CONFIG_STR_MAX];
	char export_cursor[CONFIG_STR_MAX];
	char export_dead_letter[CONFIG_STR_MAX];
	bool export_allow_http;
	uint64_t export_batch_lines;
	uint64_t export_batch_bytes;
	uint64_t export_batch_ms;
	uint64_t export_disk_cap_bytes;
	uint64_t export_timeout_ms;
	uint64_t export_retry_max_ms;
	/* dial.c: outbound through a SOCKS5 proxy */
	char socks5[CONFIG_STR_MAX];
	char socks5_user[CONFIG_STR_MAX];
	char socks5_password_file[CONFIG_STR_MAX];
	char socks5_for[64];
	char why[256];    /* CONFIG_EXIT_USAGE: the reason, for the caller */
};

enum config_result { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_EXIT_USAGE };

/* Defaults, then SENSOR_* environment, then argv (flags win).  --help
 * and --version print their text to stdout.  A bad input returns
 * CONFIG_EXIT_USAGE with the reason in c->why (one line, no newline) and
 * prints nothing: the caller does. */
enum config_result config_load(struct config *c, int argc, char **argv);

#endif
