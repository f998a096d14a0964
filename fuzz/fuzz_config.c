/* fuzz_config.c - libFuzzer target for config_load (argv and SENSOR_*).
 *
 * Input: NUL-separated tokens.  A token that starts with "SENSOR_" and
 * holds a '=' becomes an environment entry (environ points at exactly
 * these: setenv would keep a copy of every value for good); every other
 * token is an argv element, after argv[0].  Each token
 * is copied to a heap buffer of its exact size so ASan sees any overread.
 * Whatever config_load accepts must be a usable config: strings
 * terminated and non-empty, 1..CONFIG_LISTEN_MAX listen addresses of a
 * known family, numbers inside the ranges the option table declares for
 * the limits the sensor sizes its tables with.
 *
 * A refused input leaves a reason in c->why for the caller to print.
 * config.c prints --help to stdout: run with -close_fd_mask=3 (make fuzz
 * does) to keep the fuzzer's output readable.
 *
 *   clang -std=c11 -D_DEFAULT_SOURCE -g -O1 \
 *       -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_config.c config.c \
 *       -o build/fuzz/fuzz_config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define TOKENS_MAX 64
#define ENV_PREFIX "SENSOR_"

extern char **environ;

static void check(int ok)
{
	if (!ok)
		abort();
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL && s[0] != '\0';
}

static void check_config(const struct config *c)
{
	check(c->n_listen >= 1 && c->n_listen <= CONFIG_LISTEN_MAX);
	for (unsigned i = 0; i < c->n_listen; i++) {
		const struct listen_addr *a = &c->listen[i];
		check(a->sa.ss_family == AF_INET || a->sa.ss_family == AF_INET6);
		check(a->len > 0 && a->len <= sizeof a->sa);
		check(terminated(a->text, sizeof a->text));
	}
	check(terminated(c->network, sizeof c->network));
	check(terminated(c->sensor_id, sizeof c->sensor_id));
	check(terminated(c->log_path, sizeof c->log_path));
	check(terminated(c->user_agent, sizeof c->user_agent));
	check(c->log_max_bytes >= 4096);
	check(c->log_keep >= 1 && c->log_keep <= 1000);
	check(c->protocol_version >= 1 && c->protocol_version <= UINT32_MAX);
	check(c->max_conns >= 1 && c->max_conns <= 100000);
	check(c->max_conns_per_ip >= 1 && c->max_conns_per_ip <= 100000);
	check(c->probe_max >= 1 && c->probe_max <= 100000);
	check(c->stage_timeout_ms >= 10 && c->ready_timeout_ms >= 10);
}

static char *copy_token(const uint8_t *p, size_t n)
{
	char *t = malloc(n + 1);
	check(t != NULL);
	memcpy(t, p, n);
	t[n] = '\0';
	return t;
}

static int is_env_entry(const char *t)
{
	return strncmp(t, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 &&
	    strchr(t, '=') != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char *tokens[TOKENS_MAX];
	char *argv[TOKENS_MAX + 2], *env[TOKENS_MAX + 1];
	int n_tokens = 0, argc = 0, n_env = 0;
	size_t start = 0;

	argv[argc++] = copy_token((const uint8_t *)"kaspa-sensor", 12);
	tokens[n_tokens++] = argv[0];
	while (start < size && n_tokens < TOKENS_MAX) {
		const uint8_t *nul = memchr(data + start, 0, size - start);
		size_t end = nul ? (size_t)(nul - data) : size;
		char *t = copy_token(data + start, end - start);
		tokens[n_tokens++] = t;
		if (is_env_entry(t))
			env[n_env++] = t;
		else
			argv[argc++] = t;
		start = end + 1;
	}
	argv[argc] = NULL;
	env[n_env] = NULL;
	environ = env;

	enum config_result r = config_load(&c, argc, argv);
	if (r == CONFIG_RUN)
		check_config(&c);
	else if (r == CONFIG_EXIT_USAGE)
		check(c.why[0] != '\0');

	environ = NULL;
	for (int i = 0; i < n_tokens; i++)
		free(tokens[i]);
	return 0;
}
