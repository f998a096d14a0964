/* config.c - one table of options, read from SENSOR_* and then from argv. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"
#include "json_write.h"
#include "version.h"

#define DEFAULT_LISTEN_V6 "[::]:" VERSION_TEXT(DEFAULT_P2P_PORT)
#define DEFAULT_LISTEN_V4 "0.0.0.0:" VERSION_TEXT(DEFAULT_P2P_PORT)

/* OPT_FLAG takes no value: it stores `min` in a bool.  OPT_SECRET is a
 * string whose value is never echoed (a URL may hold a key). */
enum opt_type { OPT_STR, OPT_UINT, OPT_LISTEN, OPT_FLAG, OPT_SECRET };

struct option_def {
	const char *name;     /* without the leading "--" */
	enum opt_type type;
	size_t offset;        /* into struct config */
	uint64_t min, max;    /* OPT_UINT range; OPT_STR: max = field size */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct option_def options[] = {
	{ "listen", OPT_LISTEN, OFF(listen), 0, 0,
	  "ADDR:PORT to accept peers on, repeatable (default " DEFAULT_LISTEN_V6
	  " and " DEFAULT_LISTEN_V4 ")" },
	{ "network", OPT_STR, OFF(network), 0, sizeof ((struct config *)0)->network,
	  "network name peers must match (default " DEFAULT_NETWORK ")" },
	{ "sensor-id", OPT_STR, OFF(sensor_id), 0, CONFIG_STR_MAX,
	  "this sensor's name in every log line (default: host name)" },
	{ "log", OPT_STR, OFF(log_path), 0, CONFIG_STR_MAX,
	  "NDJSON output file (default ./data/sensor.ndjson)" },
	{ "log-max-bytes", OPT_UINT, OFF(log_max_bytes), 4096, UINT64_MAX,
	  "rotate the log before it grows past this (default 67108864)" },
	{ "log-keep", OPT_UINT, OFF(log_keep), 1, 1000,
	  "rotated files kept as LOG.1 .. LOG.N (default 10)" },
	{ "user-agent", OPT_STR, OFF(user_agent), 0, CONFIG_STR_MAX,
	  "user agent in our Version (default " SENSOR_USER_AGENT ")" },
	{ "protocol-version", OPT_UINT, OFF(protocol_version), 1, UINT32_MAX,
	  "protocolVersion sent to a peer that waits for ours (default "
	  VERSION_TEXT(DEFAULT_PROTOCOL_VERSION) ");"
	  " otherwise we echo the peer's" },
	{ "version-wait-ms", OPT_UINT, OFF(version_wait_ms), 0, 60000,
	  "wait this long for the peer's Version before sending ours (default 300)" },
	{ "stage-timeout-ms", OPT_UINT, OFF(stage_timeout_ms), 10, 600000,
	  "limit for each handshake stage (default 4000)" },
	{ "ready-timeout-ms", OPT_UINT, OFF(ready_timeout_ms), 10, 600000,
	  "limit for the peer's Ready (default 8000)" },
	{ "linger-ms", OPT_UINT, OFF(linger_ms), 0, 3600000,
	  "stay this long after Ready answering RequestAddresses and Ping (default 5000)" },
	{ "max-conns", OPT_UINT, OFF(max_conns), 1, 100000,
	  "connections open at once; more are closed at accept (default 1024)" },
	{ "max-conns-per-ip", OPT_UINT, OFF(max_conns_per_ip), 1, 100000,
	  "connections open at once from one IP (default 8)" },
	{ "no-probe", OPT_FLAG, OFF(probe_enabled), false, 0,
	  "do not dial peers back (classification: unknown, probe_disabled)" },
	{ "probe-verify", OPT_FLAG, OFF(probe_verify), true, 0,
	  "on an open port, read the node's Version and compare ids (default)" },
	{ "no-probe-verify", OPT_FLAG, OFF(probe_verify), false, 0,
	  "an open port is enough to call a peer public" },
	{ "probe-allow-private", OPT_FLAG, OFF(probe_allow_private), true, 0,
	  "also dial loopback, private and other non-routable addresses" },
	{ "probe-advertised-any", OPT_FLAG, OFF(probe_advertised_any), true, 0,
	  "dial an advertised address even on another IP than the peer's" },
	{ "probe-timeout-ms", OPT_UINT, OFF(probe_timeout_ms), 10, 60000,
	  "connect timeout per probe target (default 800)" },
	{ "probe-budget-ms", OPT_UINT, OFF(probe_budget_ms), 10, 60000,
	  "limit for a whole probe, all targets (default 2000)" },
	{ "probe-max", OPT_UINT, OFF(probe_max), 1, 100000,
	  "probes running at once; more are skipped as rate_limited (default 256)" },
	{ "probe-cache-ttl-s", OPT_UINT, OFF(probe_cache_ttl_s), 0, 604800,
	  "reuse a node's verdict (per IP and id) this long (default 3600)" },
	{ "announce", OPT_FLAG, OFF(announce), true, 0,
	  "dial a few peers now and then with --external-address in our Version (off by default)" },
	{ "external-address", OPT_STR, OFF(external_address), 0, 64,
	  "IP:PORT others can reach this sensor at (required by --announce)" },
	{ "announce-peers", OPT_STR, OFF(announce_peers), 0, CONFIG_STR_MAX,
	  "IP:PORT,IP:PORT to announce to first; more are learned from their Addresses" },
	{ "announce-allow-private", OPT_FLAG, OFF(announce_allow_private), true, 0,
	  "also announce to loopback, private and other non-routable addresses" },
	{ "announce-interval-s", OPT_UINT, OFF(announce_interval_s), 1, 86400,
	  "seconds between announce rounds (default 300)" },
	{ "announce-per-round", OPT_UINT, OFF(announce_per_round), 1, 64,
	  "peers dialed per round, at most (default 4)" },
	{ "announce-linger-ms", OPT_UINT, OFF(announce_linger_ms), 0, 3600000,
	  "stay this long after Ready and their Addresses (default 30000)" },
	{ "announce-redial-s", OPT_UINT, OFF(announce_redial_s), 1, 604800,
	  "dial one peer at most once per this period (default 21600)" },
	{ "metrics", OPT_STR, OFF(metrics_addr), 0,
	  sizeof ((struct config *)0)->metrics_addr,
	  "serve Prometheus /metrics and /healthz on ADDR:PORT (default off)" },
	{ "export-url", OPT_SECRET, OFF(export_url), 0,
	  sizeof ((struct config *)0)->export_url,
	  "ship the log to this https:// URL (default: export off)" },
	{ "export-format", OPT_STR, OFF(export_format), 0,
	  sizeof ((struct config *)0)->export_format,
	  "ndjson (POST the lines) or firestore (documents:commit) (default ndjson)" },
	{ "export-ca", OPT_STR, OFF(export_ca), 0, CONFIG_STR_MAX,
	  "CA bundle (PEM) for the store's certificate"
	  " (default /etc/ssl/certs/ca-certificates.crt)" },
	{ "export-header-file", OPT_STR, OFF(export_header_file), 0,
	  CONFIG_STR_MAX, "extra request headers, 'Name: value' per line"
	  " (e.g. Authorization); never logged" },
	{ "export-credentials", OPT_STR, OFF(export_credentials), 0,
	  CONFIG_STR_MAX, "firestore: Google service-account JSON key file" },
	{ "export-allow-http", OPT_FLAG, OFF(export_allow_http), true, 0,
	  "allow a plain http:// export URL (no TLS)" },
	{ "export-batch-lines", OPT_UINT, OFF(export_batch_lines), 1, 100000,
	  "lines per request, at most (default 500)" },
	/* At least one whole line of the log per batch. */
	{ "export-batch-bytes", OPT_UINT, OFF(export_batch_bytes), JSON_LINE_MAX,
	  64u << 20, "bytes of log per request, at most (default 1048576)" },
	{ "export-batch-ms", OPT_UINT, OFF(export_batch_ms), 0, 3600000,
	  "send a partial batch once its first line waited this long (default 1000)" },
	{ "export-cursor", OPT_STR, OFF(export_cursor), 0, CONFIG_STR_MAX,
	  "file with the shipped position (default LOG.cursor)" },
	{ "export-dead-letter", OPT_STR, OFF(export_dead_letter), 0,
	  CONFIG_STR_MAX,
	  "lines refused with a 4xx, reasons in PATH.why (default LOG.dead)" },
	{ "export-disk-cap-bytes", OPT_UINT, OFF(export_disk_cap_bytes), 4096,
	  UINT64_MAX, "log files may exceed the rotation plan while not shipped,"
	  " up to this total; then the oldest goes (default 2147483648)" },
	{ "export-timeout-ms", OPT_UINT, OFF(export_timeout_ms), 100, 600000,
	  "limit for one request, DNS to response (default 10000)" },
	{ "export-retry-max-ms", OPT_UINT, OFF(export_retry_max_ms), 100,
	  3600000, "longest wait between retries (default 30000)" },
	{ "socks5", OPT_STR, OFF(socks5), 0, CONFIG_STR_MAX,
	  "dial out through this SOCKS5 proxy, IP:PORT or NAME:PORT from"
	  " /etc/hosts (Tor: 127.0.0.1:9050; default: direct)" },
	{ "socks5-user", OPT_STR, OFF(socks5_user), 0, CONFIG_STR_MAX,
	  "SOCKS5 username (RFC 1929); the password comes from"
	  " --socks5-password-file or SENSOR_SOCKS5_PASSWORD" },
	{ "socks5-password-file", OPT_STR, OFF(socks5_password_file), 0,
	  CONFIG_STR_MAX, "file whose first line is the SOCKS5 password;"
	  " never logged" },
	{ "socks5-for", OPT_STR, OFF(socks5_for), 0,
	  sizeof ((struct config *)0)->socks5_for,
	  "connections that use the proxy: probe,crawl,announce,export"
	  " (default all)" },
};

#define N_OPTIONS (sizeof options / sizeof options[0])

static void set_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->network, sizeof c->network, DEFAULT_NETWORK);
	if (gethostname(c->sensor_id, sizeof c->sensor_id - 1) != 0 ||
	    c->sensor_id[0] == '\0')
		snprintf(c->sensor_id, sizeof c->sensor_id, "sensor");
	snprintf(c->log_path, sizeof c->log_path, "./data/sensor.ndjson");
	snprintf(c->user_agent, sizeof c->user_agent, SENSOR_USER_AGENT);
	c->log_max_bytes = 64u << 20;
	c->log_keep = 10;
	c->protocol_version = DEFAULT_PROTOCOL_VERSION;
	c->version_wait_ms = 300;
	c->stage_timeout_ms = 4000;
	c->ready_timeout_ms = 8000;
	c->linger_ms = 5000;
	c->max_conns = 1024;
	c->max_conns_per_ip = 8;
	c->probe_enabled = true;
	c->probe_verify = true;
	c->probe_timeout_ms = 800;
	c->probe_budget_ms = 2000;
	c->probe_max = 256;
	c->probe_cache_ttl_s = 3600;
	c->announce_interval_s = 300;
	c->announce_per_round = 4;
	c->announce_linger_ms = 30000;
	c->announce_redial_s = 21600;
	snprintf(c->export_format, sizeof c->export_format, "ndjson");
	snprintf(c->export_ca, sizeof c->export_ca,
	    "/etc/ssl/certs/ca-certificates.crt");
	c->export_batch_lines = 500;
	c->export_batch_bytes = 1u << 20;
	c->export_batch_ms = 1000;
	c->export_disk_cap_bytes = 2ull << 30;
	c->export_timeout_ms = 10000;
	c->export_retry_max_ms = 30000;
}

/* Apply one value; `from` names its source for the error line. */
static int apply(struct config *c, const struct option_def *o,
    const char *value, const char *from)
{
	char *field = (char *)c + o->offset;

	switch (o->type) {
	case OPT_STR:
	case OPT_SECRET:
		if (strlen(value) >= o->max || value[0] == '\0')
			goto bad;
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case OPT_UINT:
		if (decimal_parse(value, strlen(value), o->min, o->max,
		    (uint64_t *)(void *)field) != 0)
			goto bad;
		return 0;
	case OPT_FLAG:
		if (strcmp(value, "1") != 0 && strcmp(value, "true") != 0 &&
		    strcmp(value, "yes") != 0)
			goto bad;
		*(bool *)(void *)field = o->min != 0;
		return 0;
	case OPT_LISTEN:
		if (c->n_listen == CONFIG_LISTEN_MAX ||
		    parse_host_port(value, &c->listen[c->n_listen]) != 0)
			goto bad;
		c->n_listen++;
		return 0;
	}
bad:
	if (o->type == OPT_SECRET)
		snprintf(c->why, sizeof c->why, "invalid value for %s", from);
	else
		snprintf(c->why, sizeof c->why, "invalid value for %s: '%s'",
		    from, value);
	return -1;
}

/* "log-max-bytes" -> "SENSOR_LOG_MAX_BYTES" */
static void env_name(const char *opt, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "SENSOR_");
	for (; *opt != '\0' && n + 1 < cap; opt++)
		out[n++] = *opt == '-' ? '_' : (char)toupper((unsigned char)*opt);
	out[n] = '\0';
}

static int load_env(struct config *c)
{
	char name[64];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		env_name(options[i].name, name, sizeof name);
		const char *v = getenv(name);
		if (v == NULL)
			continue;
		if (options[i].type != OPT_LISTEN) {
			if (apply(c, &options[i], v, name) != 0)
				return -1;
			continue;
		}
		/* SENSOR_LISTEN takes a comma-separated list. */
		char list[512];
		if (strlen(v) >= sizeof list)
			return apply(c, &options[i], "", name);
		snprintf(list, sizeof list, "%s", v);
		for (char *save, *t = strtok_r(list, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			if (apply(c, &options[i], t, name) != 0)
				return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kaspa-sensor [options]\n"
	    "Accept Kaspa P2P peers, complete the handshake, log each as NDJSON.\n\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char env[64];
		env_name(options[i].name, env, sizeof env);
		static const char *const value_names[] = {
			[OPT_STR] = "STR", [OPT_SECRET] = "STR", [OPT_UINT] = "N",
			[OPT_LISTEN] = "ADDR:PORT", [OPT_FLAG] = "",
		};
		fprintf(f, "  --%s %s  (env %s%s)\n      %s\n", options[i].name,
		    value_names[options[i].type], env,
		    options[i].type == OPT_FLAG ? "=1" : "", options[i].help);
	}
	fprintf(f, "  --help\n      this text\n  --version\n      print the version\n");
}

static const struct option_def *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len &&
		    memcmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

/* Flags: "--name value" or "--name=value". */
static enum config_result load_argv(struct config *c, int argc, char **argv)
{
	bool listen_from_argv = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			printf("kaspa-sensor " SENSOR_VERSION "\n");
			return CONFIG_EXIT_OK;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(c->why, sizeof c->why, "unexpected argument"
			    " '%s' (see --help)", a);
			return CONFIG_EXIT_USAGE;
		}
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		const struct option_def *o = find_option(a + 2, len);
		if (o == NULL) {
			snprintf(c->why, sizeof c->why, "unknown option '%s'"
			    " (see --help)", a);
			return CONFIG_EXIT_USAGE;
		}
		const char *value = o->type == OPT_FLAG && eq == NULL ? "1" :
		    eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (value == NULL) {
			snprintf(c->why, sizeof c->why, "%s needs a value", a);
			return CONFIG_EXIT_USAGE;
		}
		/* Flags replace, not extend, a listen list from the env. */
		if (o->type == OPT_LISTEN && !listen_from_argv) {
			c->n_listen = 0;
			listen_from_argv = true;
		}
		if (apply(c, o, value, o->name) != 0)
			return CONFIG_EXIT_USAGE;
	}
	return CONFIG_RUN;
}

enum config_result config_load(struct config *c, int argc, char **argv)
{
	set_defaults(c);
	if (load_env(c) != 0)
		return CONFIG_EXIT_USAGE;
	enum config_result r = load_argv(c, argc, argv);
	if (r != CONFIG_RUN)
		return r;
	if (strcmp(c->export_format, "ndjson") != 0 &&
	    strcmp(c->export_format, "firestore") != 0) {
		snprintf(c->why, sizeof c->why, "--export-format: ndjson or"
		    " firestore, not '%s'", c->export_format);
		return CONFIG_EXIT_USAGE;
	}
	if (c->n_listen == 0) {
		parse_host_port(DEFAULT_LISTEN_V6, &c->listen[c->n_listen++]);
		parse_host_port(DEFAULT_LISTEN_V4, &c->listen[c->n_listen++]);
	}
	return CONFIG_RUN;
}
