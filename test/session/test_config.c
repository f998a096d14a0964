/* test_config.c - options: defaults, SENSOR_* environment, flags winning
 * over it, both flag spellings, listen lists, boolean flags, every kind of
 * bad input (CONFIG_EXIT_USAGE with a one-line reason in cfg.why, and
 * nothing printed: the caller prints it), --help / --version, and the one
 * number rule of every command line (decimal_parse) on hostile text.
 * `crawl`'s command line (crawl_opts.c) shares the option module
 * (options.c): its defaults, bad input and number rule are checked here
 * too, and for both, each default --help shows is the value parsed with no
 * flag.  config.c and crawl_opts.c print --help / --version to stdout:
 * each call runs with fds 1 and 2 pointed at temp files, whose text the
 * tests check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crawl_opts.h"
#include "decimal.h"
#include "version.h"

#define ARGS_MAX 32
#define OUT_MAX 65536

extern char **environ;

static struct config cfg;
static struct crawl_opts copts;
static char out_text[OUT_MAX], err_text[4096];

/* ---- running config_load with captured output ---- */

static void read_back(FILE *f, char *buf, size_t cap)
{
	rewind(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

enum cli { SENSOR, CRAWL };

/* config_load or crawl_opts_parse (argv0 + the NULL-terminated args),
 * stdout and stderr caught into out_text / err_text. */
static int run_cli(enum cli which, const char *const *args)
{
	char *argv[ARGS_MAX + 2] = { which == SENSOR ? "kaspa-sensor" : "crawl" };
	int argc = 1;
	for (; args[argc - 1] != NULL; argc++) {
		assert_true(argc <= ARGS_MAX);
		argv[argc] = (char *)args[argc - 1];
	}

	FILE *o = tmpfile(), *e = tmpfile();
	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	assert_true(saved_out >= 0 && saved_err >= 0);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	int r = which == SENSOR ? (int)config_load(&cfg, argc, argv) :
	    crawl_opts_parse(&copts, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	read_back(o, out_text, sizeof out_text);
	read_back(e, err_text, sizeof err_text);
	return r;
}

static enum config_result load_args(const char *const *args)
{
	return (enum config_result)run_cli(SENSOR, args);
}

#define LOAD(...) load_args((const char *const[]){ __VA_ARGS__, NULL })
/* crawl_opts_parse: 0 run, 1 help printed, 2 usage error printed. */
#define CRAWL(...) run_cli(CRAWL, (const char *const[]){ __VA_ARGS__, NULL })

/* Accepted, silently. */
static void expect_run(enum config_result r)
{
	if (r != CONFIG_RUN || err_text[0] != '\0' || out_text[0] != '\0')
		fail_msg("result %d, stderr '%s', stdout '%.80s'", r, err_text,
		    out_text);
}

/* Refused with a one-line reason naming `needle`, printed by nobody:
 * the caller prints cfg.why. */
static void expect_usage(enum config_result r, const char *needle)
{
	if (r != CONFIG_EXIT_USAGE)
		fail_msg("result %d for a bad input (want usage error)", r);
	assert_string_equal(out_text, "");
	assert_string_equal(err_text, "");
	if (cfg.why[0] == '\0' || strchr(cfg.why, '\n') != NULL)
		fail_msg("reason not one line: '%s'", cfg.why);
	if (needle != NULL && strstr(cfg.why, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", cfg.why, needle);
}

/* Every SENSOR_* variable goes before each test. */
static int clear_env(void **state)
{
	(void)state;
	for (;;) {
		char name[128];
		char **e = environ;
		while (*e != NULL && strncmp(*e, "SENSOR_", 7) != 0)
			e++;
		if (*e == NULL)
			return 0;
		size_t n = strcspn(*e, "=");
		if (n >= sizeof name)
			return -1;
		memcpy(name, *e, n);
		name[n] = '\0';
		if (unsetenv(name) != 0)
			return -1;
	}
}

static void check_listen(unsigned i, int family, const char *ip,
    uint16_t port)
{
	const struct listen_addr *a = &cfg.listen[i];
	char text[INET6_ADDRSTRLEN];
	assert_int_equal(a->sa.ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)&a->sa;
		assert_int_equal(a->len, sizeof *v4);
		assert_int_equal(ntohs(v4->sin_port), port);
		inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
	} else {
		const struct sockaddr_in6 *v6 = (const void *)&a->sa;
		assert_int_equal(a->len, sizeof *v6);
		assert_int_equal(ntohs(v6->sin6_port), port);
		inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
	}
	assert_string_equal(text, ip);
}

/* ---- defaults, env, flags ---- */

static void test_defaults(void **state)
{
	(void)state;
	expect_run(load_args((const char *const[]){ NULL }));
	assert_string_equal(cfg.network, "kaspa-mainnet");
	assert_string_equal(cfg.log_path, "./data/sensor.ndjson");
	assert_string_equal(cfg.user_agent, "/kaspa-sensor:" SENSOR_VERSION "/");
	char host[CONFIG_STR_MAX] = "";
	if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
		strcpy(host, "sensor");
	assert_string_equal(cfg.sensor_id, host);
	assert_int_equal(cfg.log_max_bytes, 64u << 20);
	assert_int_equal(cfg.log_keep, 10);
	assert_int_equal(cfg.protocol_version, 10);
	assert_int_equal(cfg.version_wait_ms, 300);
	assert_int_equal(cfg.stage_timeout_ms, 4000);
	assert_int_equal(cfg.ready_timeout_ms, 8000);
	assert_int_equal(cfg.linger_ms, 5000);
	assert_int_equal(cfg.max_conns, 1024);
	assert_int_equal(cfg.max_conns_per_ip, 8);
	assert_true(cfg.probe_enabled);
	assert_true(cfg.probe_verify);
	assert_false(cfg.probe_allow_private);
	assert_false(cfg.probe_advertised_any);
	assert_int_equal(cfg.probe_timeout_ms, 800);
	assert_int_equal(cfg.probe_budget_ms, 2000);
	assert_int_equal(cfg.probe_max, 256);
	assert_int_equal(cfg.probe_cache_ttl_s, 3600);
	assert_string_equal(cfg.metrics_addr, "");
	assert_string_equal(cfg.export_url, "");
	assert_string_equal(cfg.export_format, "ndjson");
	/* Both stacks on the mainnet port. */
	assert_int_equal(cfg.n_listen, 2);
	check_listen(0, AF_INET6, "::", 16111);
	check_listen(1, AF_INET, "0.0.0.0", 16111);
	assert_string_equal(cfg.listen[0].text, "[::]:16111");
	assert_string_equal(cfg.listen[1].text, "0.0.0.0:16111");
	/* version.h's default port is its default network's. */
	assert_int_equal(network_default_port(DEFAULT_NETWORK),
	    DEFAULT_P2P_PORT);
}

static void test_env_then_flags(void **state)
{
	(void)state;
	setenv("SENSOR_NETWORK", "kaspa-testnet-10", 1);
	setenv("SENSOR_LOG_KEEP", "5", 1);
	setenv("SENSOR_MAX_CONNS_PER_IP", "3", 1);
	setenv("SENSOR_LOG", "/tmp/x.ndjson", 1);
	expect_run(LOAD("--log-keep=7", "--sensor-id", "s1"));
	assert_string_equal(cfg.network, "kaspa-testnet-10");   /* env */
	assert_int_equal(cfg.log_keep, 7);                      /* flag wins */
	assert_int_equal(cfg.max_conns_per_ip, 3);
	assert_string_equal(cfg.log_path, "/tmp/x.ndjson");
	assert_string_equal(cfg.sensor_id, "s1");

	/* A later flag beats an earlier one. */
	expect_run(LOAD("--network", "kaspa-simnet", "--network=kaspa-devnet"));
	assert_string_equal(cfg.network, "kaspa-devnet");
	/* Flags do not stick from one load to the next; env does. */
	expect_run(load_args((const char *const[]){ NULL }));
	assert_string_equal(cfg.network, "kaspa-testnet-10");
	assert_int_equal(cfg.log_keep, 5);
}

/* "--name=value" and "--name value" mean the same; the value may hold
 * '=' and may start with "--" when it follows as its own word. */
static void test_both_spellings(void **state)
{
	(void)state;
	expect_run(LOAD("--user-agent=/a=b/", "--log", "--weird",
	    "--probe-timeout-ms", "10", "--probe-budget-ms=60000"));
	assert_string_equal(cfg.user_agent, "/a=b/");
	assert_string_equal(cfg.log_path, "--weird");
	assert_int_equal(cfg.probe_timeout_ms, 10);
	assert_int_equal(cfg.probe_budget_ms, 60000);
	/* Range edges are inclusive; UINT64_MAX where allowed. */
	expect_run(LOAD("--log-keep", "1000", "--log-max-bytes",
	    "18446744073709551615", "--protocol-version=4294967295"));
	assert_int_equal(cfg.log_keep, 1000);
	assert_true(cfg.log_max_bytes == UINT64_MAX);
	assert_int_equal(cfg.protocol_version, 4294967295u);
}

static void test_listen_lists(void **state)
{
	(void)state;
	setenv("SENSOR_LISTEN", "127.0.0.1:16111,[::1]:16112,,127.0.0.2:0", 1);
	expect_run(load_args((const char *const[]){ NULL }));
	assert_int_equal(cfg.n_listen, 3);
	check_listen(0, AF_INET, "127.0.0.1", 16111);
	check_listen(1, AF_INET6, "::1", 16112);
	check_listen(2, AF_INET, "127.0.0.2", 0);
	assert_string_equal(cfg.listen[1].text, "[::1]:16112");

	/* Flags replace the env list, and add up among themselves. */
	expect_run(LOAD("--listen", "127.0.0.9:1", "--listen=[::1]:2"));
	assert_int_equal(cfg.n_listen, 2);
	check_listen(0, AF_INET, "127.0.0.9", 1);
	check_listen(1, AF_INET6, "::1", 2);

	/* CONFIG_LISTEN_MAX addresses fit, one more does not. */
	const char *args[2 * CONFIG_LISTEN_MAX + 3];
	char addr[CONFIG_LISTEN_MAX + 1][32];
	int n = 0;
	for (int i = 0; i <= CONFIG_LISTEN_MAX; i++) {
		snprintf(addr[i], sizeof addr[i], "127.0.0.1:%d", 1000 + i);
		args[n++] = "--listen";
		args[n++] = addr[i];
		if (i == CONFIG_LISTEN_MAX - 1) {
			args[n] = NULL;
			expect_run(load_args(args));
			assert_int_equal(cfg.n_listen, CONFIG_LISTEN_MAX);
		}
	}
	args[n] = NULL;
	expect_usage(load_args(args), "127.0.0.1:1008");

	/* The same limit for the env list, and its length cap. */
	char list[1024] = "";
	for (int i = 0; i <= CONFIG_LISTEN_MAX; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list),
		    "%s127.0.0.1:%d", i ? "," : "", 2000 + i);
	setenv("SENSOR_LISTEN", list, 1);
	expect_usage(load_args((const char *const[]){ NULL }),
	    "SENSOR_LISTEN");
	memset(list, 0, sizeof list);
	for (size_t i = 0; strlen(list) < 600; i++)
		strcat(list, "127.0.0.1:1,");
	setenv("SENSOR_LISTEN", list, 1);
	expect_usage(load_args((const char *const[]){ NULL }),
	    "SENSOR_LISTEN");
}

static void test_boolean_flags(void **state)
{
	(void)state;
	expect_run(LOAD("--no-probe", "--probe-allow-private",
	    "--no-probe-verify"));
	assert_false(cfg.probe_enabled);
	assert_true(cfg.probe_allow_private);
	assert_false(cfg.probe_verify);
	/* The later of a pair wins. */
	expect_run(LOAD("--no-probe-verify", "--probe-verify"));
	assert_true(cfg.probe_verify);
	expect_run(LOAD("--no-probe=yes", "--probe-advertised-any=true"));
	assert_false(cfg.probe_enabled);
	assert_true(cfg.probe_advertised_any);

	setenv("SENSOR_NO_PROBE", "1", 1);
	expect_run(load_args((const char *const[]){ NULL }));
	assert_false(cfg.probe_enabled);
	unsetenv("SENSOR_NO_PROBE");

	/* A flag never eats the next word as its value. */
	expect_run(LOAD("--no-probe", "--log-keep", "3"));
	assert_false(cfg.probe_enabled);
	assert_int_equal(cfg.log_keep, 3);

	/* Anything but 1/true/yes is refused, not read as "off". */
	expect_usage(LOAD("--no-probe=0"), "no-probe");
	expect_usage(LOAD("--no-probe=no"), "no-probe");
	expect_usage(LOAD("--no-probe="), "no-probe");
	setenv("SENSOR_NO_PROBE", "0", 1);
	expect_usage(load_args((const char *const[]){ NULL }),
	    "SENSOR_NO_PROBE");
}

/* ---- bad input: one line, CONFIG_EXIT_USAGE ---- */

static void test_bad_numbers(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--log-keep=abc", "--log-keep=", "--log-keep=0",
		"--log-keep=1001", "--log-keep=-1", "--log-keep= 5",
		"--log-keep=+5", "--log-keep=5 ", "--log-keep=0x10",
		"--log-keep=1e3", "--log-keep=5.0",
		"--log-max-bytes=4095", "--log-max-bytes= -1",
		"--log-max-bytes=18446744073709551616",
		"--log-max-bytes=99999999999999999999999999",
		"--protocol-version=0", "--protocol-version=4294967296",
		"--stage-timeout-ms=9", "--max-conns=100001",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *name = bad[i] + 2;
		char want[64];
		snprintf(want, sizeof want, "%.*s", (int)strcspn(name, "="),
		    name);
		expect_usage(LOAD(bad[i]), want);
	}
	setenv("SENSOR_LOG_KEEP", "-3", 1);
	expect_usage(load_args((const char *const[]){ NULL }),
	    "SENSOR_LOG_KEEP");
	/* An env error stops before argv is read: even --help. */
	expect_usage(LOAD("--help"), "SENSOR_LOG_KEEP");
}

static void test_bad_strings(void **state)
{
	(void)state;
	char long_net[80];
	memset(long_net, 'n', sizeof long_net - 1);
	long_net[sizeof long_net - 1] = '\0';
	expect_usage(LOAD("--network", long_net), "network");
	/* 64 characters still fit network[65]. */
	long_net[64] = '\0';
	expect_run(LOAD("--network", long_net));
	assert_string_equal(cfg.network, long_net);
	expect_usage(LOAD("--network="), "network");
	expect_usage(LOAD("--export-format=xml"), "export-format");
	char long_path[CONFIG_STR_MAX + 1];
	memset(long_path, 'p', sizeof long_path - 1);
	long_path[CONFIG_STR_MAX] = '\0';
	expect_usage(LOAD("--log", long_path), "log");
	long_path[CONFIG_STR_MAX - 1] = '\0';
	expect_run(LOAD("--log", long_path));
	/* A rejected export URL is named, never echoed: it may hold a key. */
	char url[2048];
	snprintf(url, sizeof url, "https://store.example/%01200d?key=SECRET", 0);
	expect_usage(LOAD("--export-url", url), "export-url");
	assert_null(strstr(cfg.why, "SECRET"));
}

static void test_bad_words(void **state)
{
	(void)state;
	expect_usage(LOAD("--nope"), "--nope");
	expect_usage(LOAD("--nope=1"), "--nope=1");
	expect_usage(LOAD("--"), "'--'");
	expect_usage(LOAD("--=x"), "--=x");
	expect_usage(LOAD("-x"), "-x");
	expect_usage(LOAD("listen"), "listen");
	expect_usage(LOAD("--log"), "needs a value");
	expect_usage(LOAD("--log-keep", "3", "--network"), "needs a value");
	expect_usage(LOAD("--listen", "nonsense"), "nonsense");
	expect_usage(LOAD("--listen=::1:16111"), "::1:16111");
	/* Option names match whole: no prefixes, no case folding. */
	expect_usage(LOAD("--net=kaspa-mainnet"), "--net");
	expect_usage(LOAD("--NETWORK=kaspa-mainnet"), "--NETWORK");
	/* The first error stops the scan: no second line. */
	expect_usage(LOAD("--nope", "--log-keep=x"), "--nope");
}

/* ---- help and version ---- */

/* "log-max-bytes" -> "SENSOR_LOG_MAX_BYTES", written out here again. */
static void env_of(const char *name, size_t len, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "SENSOR_");
	for (size_t i = 0; i < len && n + 1 < cap; i++)
		out[n++] = name[i] == '-' ? '_' : (char)toupper(
		    (unsigned char)name[i]);
	out[n] = '\0';
}

/* Each "  --name ..." line of --help names an option config_load knows,
 * and its env variable. */
static void check_help_lists_options(const char *help)
{
	unsigned options = 0;
	for (const char *p = help; (p = strstr(p, "\n  --")) != NULL; p++) {
		const char *name = p + 5;
		size_t len = strcspn(name, " \n=");
		char opt[80], env[80];
		snprintf(opt, sizeof opt, "--%.*s", (int)len, name);
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "--version") == 0)
			continue;
		options++;
		env_of(name, len, env, sizeof env);
		const char *line_end = strchr(name, '\n');
		const char *env_at = strstr(name, env);
		if (env_at == NULL || env_at > line_end)
			fail_msg("help line for %s lacks %s", opt, env);
		/* The option exists: at worst its value is refused. */
		enum config_result r = LOAD(opt, "1");
		if (r != CONFIG_RUN && strstr(cfg.why, "unknown") != NULL)
			fail_msg("help lists %s, config_load does not know it",
			    opt);
	}
	assert_true(options >= 20);
}

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(LOAD("--help"), CONFIG_EXIT_OK);
	assert_string_equal(err_text, "");
	assert_int_equal(strncmp(out_text, "usage: kaspa-sensor", 19), 0);
	char help[OUT_MAX];
	memcpy(help, out_text, sizeof help);
	assert_non_null(strstr(help, "--listen"));
	assert_non_null(strstr(help, "SENSOR_NO_PROBE=1"));
	check_help_lists_options(help);

	assert_int_equal(LOAD("-h"), CONFIG_EXIT_OK);
	assert_string_equal(out_text, help);
	/* --help wins over what follows it, not over what precedes it. */
	assert_int_equal(LOAD("--log-keep=3", "--help", "--nope"),
	    CONFIG_EXIT_OK);
	expect_usage(LOAD("--nope", "--help"), "--nope");

	assert_int_equal(LOAD("--version"), CONFIG_EXIT_OK);
	assert_string_equal(out_text, "kaspa-sensor " SENSOR_VERSION "\n");
	assert_string_equal(err_text, "");
}

/* ---- the defaults --help shows are the defaults ---- */

struct shown_default {
	char name[64];      /* "--log-keep" */
	char value[256];    /* "10"; "" for a flag's "(default)" */
	bool number;        /* "--name N" */
};

/* The options of a --help text whose help line ends in "(default X)"
 * (a value) or "(default)" (a flag); a note, "(default: host name)", is
 * not a value and is left out.  Fails if a number option ("--name N")
 * shows no default. */
static unsigned shown_defaults(const char *help, struct shown_default *out,
    unsigned cap)
{
	unsigned n = 0;
	for (const char *p = help; (p = strstr(p, "\n  --")) != NULL; p++) {
		const char *name = p + 3, *name_end = name + strcspn(name, " \n");
		const char *help_line = strchr(name, '\n') + 1;
		const char *end = strchr(help_line, '\n');
		const char *open = NULL;
		for (const char *q = help_line; q < end &&
		    (q = strstr(q, " (default")) != NULL && q < end; q++)
			open = q;
		bool number = strncmp(name_end, " N", 2) == 0 &&
		    (name_end[2] == ' ' || name_end[2] == '\n');
		if (number && (open == NULL || open[9] == ':'))
			fail_msg("%.*s shows no default", (int)(name_end - name),
			    name);
		if (open == NULL || open[9] == ':')
			continue;
		assert_true(n < cap && end[-1] == ')');
		snprintf(out[n].name, sizeof out[n].name, "%.*s",
		    (int)(name_end - name), name);
		const char *v = open[9] == ' ' ? open + 10 : end - 1;
		snprintf(out[n].value, sizeof out[n].value, "%.*s",
		    (int)(end - 1 - v), v);
		out[n++].number = number;
	}
	return n;
}

static void test_sensor_help_shows_the_defaults(void **state)
{
	struct shown_default shown[80];
	static struct config plain;
	(void)state;

	expect_run(load_args((const char *const[]){ NULL }));
	plain = cfg;
	assert_int_equal(LOAD("--help"), CONFIG_EXIT_OK);
	unsigned n = shown_defaults(out_text, shown, 80);
	assert_true(n >= 29);
	for (unsigned i = 0; i < n; i++) {
		enum config_result r = shown[i].value[0] == '\0' ?
		    LOAD(shown[i].name) : LOAD(shown[i].name, shown[i].value);
		expect_run(r);
		if (memcmp(&cfg, &plain, sizeof cfg) != 0)
			fail_msg("%s %s (its default in --help) is not what no"
			    " flag gives", shown[i].name, shown[i].value);
	}
}

static void test_crawl_help_shows_the_defaults(void **state)
{
	struct shown_default shown[40];
	static struct crawl_opts plain;
	(void)state;

	assert_int_equal(CRAWL("--out", "c.ndjson"), 0);
	plain = copts;
	assert_int_equal(CRAWL("--help"), 1);
	assert_string_equal(err_text, "");
	assert_int_equal(strncmp(out_text, "usage: kaspa-sensor crawl", 25), 0);
	unsigned n = shown_defaults(out_text, shown, 40);
	assert_true(n >= 11);
	for (unsigned i = 0; i < n; i++) {
		assert_true(shown[i].value[0] != '\0');   /* no flag is on */
		assert_int_equal(CRAWL("--out", "c.ndjson", shown[i].name,
		    shown[i].value), 0);
		if (memcmp(&copts, &plain, sizeof copts) != 0)
			fail_msg("%s %s (its default in --help) is not what no"
			    " flag gives", shown[i].name, shown[i].value);
	}
	assert_string_equal(plain.network, DEFAULT_NETWORK);
	assert_string_equal(plain.user_agent, CRAWLER_USER_AGENT);
	assert_int_equal(plain.concurrency, 256);
}

/* ---- crawl's command line ---- */

/* Refused with exit status 2 and one line on stderr holding `needle`. */
static void expect_crawl_usage(int r, const char *needle)
{
	if (r != 2)
		fail_msg("result %d for a bad input (want 2)", r);
	assert_string_equal(out_text, "");
	const char *nl = strchr(err_text, '\n');
	if (nl == NULL || nl[1] != '\0' || strstr(err_text, needle) == NULL)
		fail_msg("stderr '%s' is not one line with '%s'", err_text,
		    needle);
}

static void test_crawl_options(void **state)
{
	(void)state;
	assert_int_equal(CRAWL("--out", "c.ndjson", "--seed", "127.0.0.1:1",
	    "--seed", "[::1]:2", "--watch", "10.0.0.1:16111",
	    "--crawl-allow-private", "--crawl-requests", "0",
	    "--socks5-for", "crawl"), 0);
	assert_string_equal(err_text, "");
	assert_int_equal(copts.n_seeds, 2);
	assert_string_equal(copts.seeds[1].text, "[::1]:2");
	assert_int_equal(copts.n_watch, 1);
	assert_true(copts.allow_private);
	assert_false(copts.log_addresses);
	assert_int_equal(copts.requests, 0);
	assert_string_equal(copts.socks5_for, "crawl");
	assert_string_equal(copts.out, "c.ndjson");

	expect_crawl_usage(CRAWL("--seed", "127.0.0.1:1"),
	    "--out is required");
	expect_crawl_usage(CRAWL("--out", "c", "--nope"),
	    "unknown argument '--nope'");
	expect_crawl_usage(CRAWL("--out", "c", "seed"),
	    "unknown argument 'seed'");
	/* Only the sensor takes "--name=value". */
	expect_crawl_usage(CRAWL("--out=c"), "unknown argument '--out=c'");
	expect_crawl_usage(CRAWL("--out", "c", "--crawl-requests"),
	    "invalid value for --crawl-requests: ''");
	expect_crawl_usage(CRAWL("--out", "c", "--seed", "host:1"),
	    "invalid value for --seed: 'host:1'");
	expect_crawl_usage(CRAWL("--out", ""), "invalid value for --out: ''");
	static char long_path[CRAWL_STR_MAX + 1];
	memset(long_path, 'a', CRAWL_STR_MAX);
	expect_crawl_usage(CRAWL("--out", long_path), "invalid value for --out");
}

/* Both command lines read numbers by one rule: what the sensor's
 * --protocol-version takes, crawl's takes as the same number, and what
 * one refuses the other refuses; hostile text is refused by every number
 * option of crawl, naming it. */
static void test_crawl_numbers_follow_the_sensors_rule(void **state)
{
	static const char *const values[] = {
		"1", "10", "0010", "4294967295",   /* taken */
		"0", "4294967296",                 /* out of range */
		"+5", " 5", "5 ", "-0", "0x5", "5ms", "", "5.0", "1e3",
		"99999999999999999999999",
	};
	const size_t n_taken = 4, first_hostile = 6;
	const size_t n_values = sizeof values / sizeof values[0];
	struct shown_default shown[40];
	(void)state;

	for (size_t i = 0; i < n_values; i++) {
		bool sensor = LOAD("--protocol-version", values[i]) ==
		    CONFIG_RUN;
		bool crawl = CRAWL("--out", "c", "--protocol-version",
		    values[i]) == 0;
		if (sensor != crawl || sensor != (i < n_taken))
			fail_msg("'%s': sensor %d, crawl %d", values[i], sensor,
			    crawl);
		if (crawl)
			assert_int_equal(copts.protocol_version,
			    cfg.protocol_version);
	}
	assert_int_equal(CRAWL("--help"), 1);
	unsigned n = shown_defaults(out_text, shown, 40), numbers = 0;
	for (unsigned k = 0; k < n; k++) {
		if (!shown[k].number)
			continue;
		numbers++;
		for (size_t i = first_hostile; i < n_values; i++) {
			char want[320];
			snprintf(want, sizeof want, "invalid value for %s: '%s'",
			    shown[k].name, values[i]);
			expect_crawl_usage(CRAWL("--out", "c", shown[k].name,
			    values[i]), want);
		}
	}
	assert_true(numbers >= 8);
}

/* ---- decimal_parse: the number rule of every command line ---- */

static int parse_text(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	return decimal_parse(s, strlen(s), min, max, v);
}

static void test_decimal_good(void **state)
{
	static const struct {
		const char *in;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "7", 7 }, { "0080", 80 }, { "00000000000000000000001", 1 },
		{ "4294967296", 4294967296ull },
		{ "18446744073709551615", UINT64_MAX },
	};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint64_t v = 12345;
		if (parse_text(good[i].in, 0, UINT64_MAX, &v) != 0)
			fail_msg("refused '%s'", good[i].in);
		assert_int_equal(v, good[i].v);
	}
}

static void test_decimal_hostile(void **state)
{
	static const char *const bad[] = {
		"", " ", "1 ", " 1", "\t1", "1\n", "+1", "-1", "-0", "+0", " -1",
		"0x10", "0X10", "1e3", "1E3", "1.0", "1.", ".5", "1,000", "1_000",
		"10ms", "10s", "5k", "1K", "inf", "nan", "one",
		"\xd9\xa1",                 /* ARABIC-INDIC DIGIT ONE */
		"\xef\xbc\x95",             /* FULLWIDTH DIGIT FIVE */
		"18446744073709551616",     /* UINT64_MAX + 1 */
		"18446744073709551620", "99999999999999999999999999",
		"184467440737095516150",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 12345;
		if (parse_text(bad[i], 0, UINT64_MAX, &v) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(v, 12345);     /* left alone */
	}
	/* A NUL inside the counted bytes is no digit; len bounds the read. */
	uint64_t v = 0;
	assert_int_equal(decimal_parse("12\0003", 4, 0, UINT64_MAX, &v), -1);
	assert_int_equal(decimal_parse("12345", 2, 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 12);
}

static void test_decimal_range(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(parse_text("10", 10, 20, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_text("20", 10, 20, &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(parse_text("9", 10, 20, &v), -1);
	assert_int_equal(parse_text("21", 10, 20, &v), -1);
	assert_int_equal(parse_text("0000021", 10, 20, &v), -1);
	assert_int_equal(v, 20);
	assert_int_equal(parse_text("65535", 1, 65535, &v), 0);
	assert_int_equal(parse_text("65536", 1, 65535, &v), -1);
	assert_int_equal(parse_text("0", 1, 65535, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup(name, clear_env)
		T(test_defaults),
		T(test_env_then_flags),
		T(test_both_spellings),
		T(test_listen_lists),
		T(test_boolean_flags),
		T(test_bad_numbers),
		T(test_bad_strings),
		T(test_bad_words),
		T(test_help_and_version),
		T(test_sensor_help_shows_the_defaults),
		T(test_crawl_help_shows_the_defaults),
		T(test_crawl_options),
		T(test_crawl_numbers_follow_the_sensors_rule),
		T(test_decimal_good),
		T(test_decimal_hostile),
		T(test_decimal_range),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
