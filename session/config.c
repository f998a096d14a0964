/* config.c - one table of options, read from SENSOR_* and then from argv. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_write.h"
#include "options.h"
#include "version.h"

#define DEFAULT_LISTEN_V6 "[::]:" VERSION_TEXT(DEFAULT_P2P_PORT)
#define DEFAULT_LISTEN_V4 "0.0.0.0:" VERSION_TEXT(DEFAULT_P2P_PORT)

static int add_listen(void *obj, const char *value)
{
	struct config *c = obj;

	if (c->n_listen == CONFIG_LISTEN_MAX ||
	    parse_host_port(value, &c->listen[c->n_listen]) != 0)
		return -1;
	c->n_listen++;
	return 0;
}

#define UINT(...) OPTION_UINT(struct config, __VA_ARGS__)
#define STR(...) OPTION_STR(struct config, __VA_ARGS__)
#define FLAG(...) OPTION_FLAG(struct config, __VA_ARGS__)

/* Defaults live in the rows: --help prints them from here. */
static const struct option_def options[] = {
	OPTION_LIST("listen", add_listen,
	  "IP:PORT to accept peers on, repeatable",
	  NOTE(DEFAULT_LISTEN_V6 " and " DEFAULT_LISTEN_V4)),
	STR("network", network,
	  "network name peers must match",
	  VALUE(DEFAULT_NETWORK)),
	STR("sensor-id", sensor_id,
	  "this sensor's name in every log line",
	  NOTE("host name")),
	STR("log", log_path, "NDJSON output file",
	  VALUE("./data/sensor.ndjson")),
	UINT("log-max-bytes", log_max_bytes, 4096, UINT64_MAX, 64u << 20,
	  "rotate the log before it grows past this"),
	UINT("log-keep", log_keep, 1, 1000, 10,
	  "rotated files kept as LOG.1 .. LOG.N"),
	STR("user-agent", user_agent,
	  "user agent in our Version",
	  VALUE(SENSOR_USER_AGENT)),
	UINT("protocol-version", protocol_version, 1, UINT32_MAX,
	  DEFAULT_PROTOCOL_VERSION, "protocolVersion sent to a peer that waits"
	  " for ours; a peer that speaks first is echoed"),
	UINT("version-wait-ms", version_wait_ms, 0, 60000, 300,
	  "wait this long for the peer's Version before sending ours"),
	UINT("stage-timeout-ms", stage_timeout_ms, 10, 600000, 4000,
	  "limit for each handshake stage"),
	UINT("ready-timeout-ms", ready_timeout_ms, 10, 600000, 8000,
	  "limit for the peer's Ready"),
	UINT("linger-ms", linger_ms, 0, 3600000, 5000,
	  "stay this long after Ready answering RequestAddresses and Ping"),
	UINT("max-conns", max_conns, 1, 100000, 1024,
	  "connections open at once; more are closed at accept"),
	UINT("max-conns-per-ip", max_conns_per_ip, 1, 100000, 8,
	  "connections open at once from one IP"),
	FLAG("no-probe", probe_enabled, false, true,
	  "do not dial peers back (classification: unknown, probe_disabled)"),
	FLAG("probe-verify", probe_verify, true, true,
	  "on an open port, read the node's Version and compare ids"),
	FLAG("no-probe-verify", probe_verify, false, true,
	  "an open port is enough to call a peer public"),
	FLAG("probe-allow-private", probe_allow_private, true, false,
	  "also dial loopback, private and other non-routable addresses"),
	FLAG("probe-advertised-any", probe_advertised_any, true, false,
	  "dial an advertised address even on another IP than the peer's"),
	UINT("probe-timeout-ms", probe_timeout_ms, 10, 60000, 800,
	  "connect timeout per probe target"),
	UINT("probe-budget-ms", probe_budget_ms, 10, 60000, 2000,
	  "limit for a whole probe, all targets"),
	UINT("probe-max", probe_max, 1, 100000, 256,
	  "probes running at once; more are skipped as rate_limited"),
	UINT("probe-cache-ttl-s", probe_cache_ttl_s, 0, 604800, 3600,
	  "reuse a node's verdict (per IP and id) this long"),
	FLAG("announce", announce, true, false,
	  "dial a few peers now and then with --external-address in our Version"),
	STR("external-address", external_address,
	  "IP:PORT others can reach this sensor at (required by --announce)"),
	STR("announce-peers", announce_peers,
	  "IP:PORT,IP:PORT to announce to first; more are learned from their Addresses"),
	FLAG("announce-allow-private", announce_allow_private, true, false,
	  "also announce to loopback, private and other non-routable addresses"),
	UINT("announce-interval-s", announce_interval_s, 1, 86400, 300,
	  "seconds between announce rounds"),
	UINT("announce-per-round", announce_per_round, 1, 64, 4,
	  "peers dialed per round, at most"),
	UINT("announce-linger-ms", announce_linger_ms, 0, 3600000, 30000,
	  "stay this long after Ready and their Addresses"),
	UINT("announce-redial-s", announce_redial_s, 1, 604800, 21600,
	  "dial one peer at most once per this period"),
	STR("metrics", metrics_addr,
	  "serve Prometheus /metrics and /healthz on ADDR:PORT",
	  NOTE("off")),
	OPTION_SECRET(struct config, "export-url", export_url,
	  "ship the log to this https:// URL",
	  NOTE("export off")),
	STR("export-format", export_format,
	  "ndjson (POST the lines) or firestore (documents:commit)",
	  VALUE("ndjson")),
	STR("export-ca", export_ca,
	  "CA bundle (PEM) for the store's certificate",
	  VALUE("/etc/ssl/certs/ca-certificates.crt")),
	STR("export-header-file", export_header_file,
	  "extra request headers, 'Name: value' per line (e.g. Authorization);"
	  " never logged"),
	STR("export-credentials", export_credentials,
	  "firestore: Google service-account JSON key file"),
	FLAG("export-allow-http", export_allow_http, true, false,
	  "allow a plain http:// export URL (no TLS)"),
	UINT("export-batch-lines", export_batch_lines, 1, 100000, 500,
	  "lines per request, at most"),
	/* At least one whole line of the log per batch. */
	UINT("export-batch-bytes", export_batch_bytes, JSON_LINE_MAX, 64u << 20,
	  1u << 20, "bytes of log per request, at most"),
	UINT("export-batch-ms", export_batch_ms, 0, 3600000, 1000,
	  "send a partial batch once its first line waited this long"),
	STR("export-cursor", export_cursor,
	  "file with the shipped position",
	  NOTE("LOG.cursor")),
	STR("export-dead-letter", export_dead_letter,
	  "lines refused with a 4xx, reasons in PATH.why",
	  NOTE("LOG.dead")),
	UINT("export-disk-cap-bytes", export_disk_cap_bytes, 4096, UINT64_MAX,
	  2ull << 30, "log files may exceed the rotation plan while not"
	  " shipped, up to this total; then the oldest goes"),
	UINT("export-timeout-ms", export_timeout_ms, 100, 600000, 10000,
	  "limit for one request, DNS to response"),
	UINT("export-retry-max-ms", export_retry_max_ms, 100, 3600000, 30000,
	  "longest wait between retries"),
	STR("socks5", socks5, "dial out through this SOCKS5"
	  " proxy, IP:PORT or NAME:PORT from /etc/hosts (Tor: 127.0.0.1:9050)",
	  NOTE("direct")),
	STR("socks5-user", socks5_user, "SOCKS5 username (RFC 1929);"
	  " the password comes from --socks5-password-file or"
	  " SENSOR_SOCKS5_PASSWORD"),
	STR("socks5-password-file", socks5_password_file,
	  "file whose first line is the SOCKS5 password; never logged"),
	STR("socks5-for", socks5_for,
	  "connections that use the proxy: probe,crawl,announce,export",
	  NOTE("all")),
};

static const struct option_table table = {
	options, sizeof options / sizeof options[0], "SENSOR_"
};

static void set_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	options_defaults(&table, c);
	if (gethostname(c->sensor_id, sizeof c->sensor_id - 1) != 0 ||
	    c->sensor_id[0] == '\0')
		snprintf(c->sensor_id, sizeof c->sensor_id, "sensor");
}

/* Apply one value; `from` names its source for the error line. */
static int apply(struct config *c, const struct option_def *o,
    const char *value, const char *from)
{
	return options_apply(o, c, value, from, c->why, sizeof c->why);
}

static int load_env(struct config *c)
{
	char name[64];

	for (size_t i = 0; i < table.n; i++) {
		const struct option_def *o = &table.rows[i];
		options_env_name(table.env_prefix, o->name, name, sizeof name);
		const char *v = getenv(name);
		if (v == NULL)
			continue;
		if (o->kind != OPT_LIST) {
			if (apply(c, o, v, name) != 0)
				return -1;
			continue;
		}
		/* SENSOR_LISTEN takes a comma-separated list. */
		char list[512];
		if (strlen(v) >= sizeof list)
			return apply(c, o, "", name);
		snprintf(list, sizeof list, "%s", v);
		for (char *save, *t = strtok_r(list, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			if (apply(c, o, t, name) != 0)
				return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kaspa-sensor [options]\n"
	    "Accept Kaspa P2P peers, complete the handshake, log each as NDJSON.\n\n");
	options_usage(&table, f);
	fprintf(f, "  --help\n      this text\n  --version\n      print the version\n");
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
		const struct option_def *o = options_find(&table, a + 2, len);
		if (o == NULL) {
			snprintf(c->why, sizeof c->why, "unknown option '%s'"
			    " (see --help)", a);
			return CONFIG_EXIT_USAGE;
		}
		const char *value = o->kind == OPT_FLAG && eq == NULL ? "1" :
		    eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (value == NULL) {
			snprintf(c->why, sizeof c->why, "%s needs a value", a);
			return CONFIG_EXIT_USAGE;
		}
		/* Flags replace, not extend, a listen list from the env. */
		if (o->kind == OPT_LIST && !listen_from_argv) {
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
