/* sensor.c - kaspa-sensor: main, listeners, signals and the poll() loop.
 *
 * Listens for Kaspa P2P peers, completes the handshake with each (peer.c)
 * and logs one NDJSON line per connection.  Single-threaded: everything
 * runs from loop_run().
 */
#define _GNU_SOURCE        /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "announce.h"
#include "census.h"
#include "export.h"
#include "client.h"
#include "config.h"
#include "crawl.h"
#include "hex.h"
#include "peer.h"
#include "probe.h"
#include "report.h"
#include "sensor.h"
#include "version.h"

#define ACCEPT_BURST 64     /* accepts per wake-up, so peers get a turn */
#define EXTRA_SLOTS 64      /* listeners, the signal pipe, refused accepts */
#define EXPORT_DRAIN_MS 2000  /* last batch at shutdown, at most */
#define ACCEPT_PAUSE_MS 100 /* out of fds or memory: let some close first */
#define LISTEN_BACKLOG 1024

static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	(void)!write(signal_pipe[1], &b, 1);
	errno = saved;
}

static void stop_listening(struct sensor *s)
{
	for (int i = 0; i < s->n_listeners; i++)
		listener_close(&s->listeners[i]);
	s->n_listeners = 0;
}

/* First signal: take no more work and write every pending line (peers,
 * probes in flight), then give the exporter EXPORT_DRAIN_MS for what it
 * has not shipped.  A second one while it drains stops now: the cursor
 * keeps the place of what is left.  Later ones change nothing. */
static void shut_down(struct sensor *s, int sig)
{
	switch (s->shutdown) {
	case SHUTDOWN_NONE:
		fprintf(stderr, "kaspa-sensor: signal %d: shutting down,"
		    " %u connections open\n", sig, s->n_peers);
		stop_listening(s);
		peer_close_all(s);
		prober_free(s->prober);   /* lines still waiting get written */
		s->prober = NULL;
		announce_free(s->announcer);
		s->announcer = NULL;
		metrics_server_free(s->metrics_srv);
		s->metrics_srv = NULL;
		if (s->exporter != NULL) {
			s->shutdown = SHUTDOWN_DRAINING;
			exporter_drain(s->exporter, EXPORT_DRAIN_MS);  /* then stops */
			return;
		}
		break;
	case SHUTDOWN_DRAINING:
		fprintf(stderr, "kaspa-sensor: signal %d again: stopping now,"
		    " %" PRIu64 " log bytes not exported (the next start"
		    " ships them)\n", sig,
		    exporter_status(s->exporter)->lag_bytes);
		break;
	case SHUTDOWN_STOPPING:
		return;
	}
	s->shutdown = SHUTDOWN_STOPPING;
	loop_stop(&s->loop);
}

/* Every byte is one signal: two read at once count as two. */
static void on_signal_pipe(struct loop *l, int slot, short revents, void *ud)
{
	struct sensor *s = ud;
	unsigned char sigs[16];
	ssize_t n = read(s->signal_fd, sigs, sizeof sigs);
	(void)l;
	(void)slot;
	(void)revents;

	for (ssize_t i = 0; i < n; i++) {
		if (sigs[i] != SIGHUP)
			shut_down(s, sigs[i]);
		else if (ndjson_reopen(&s->log) != 0)
			fprintf(stderr, "kaspa-sensor: reopen %s: %s\n",
			    s->log.path, strerror(errno));
	}
}

static void on_accept(void *ud, int fd, const struct sockaddr_storage *sa)
{
	struct sensor *s = ud;

	peer_accept(s, fd, sa, s->n_peers >= s->cfg->max_conns ?
	    "conn_limit" : NULL);
}

static void on_accept_failed(void *ud, int err, int pause_ms)
{
	const struct sensor *s = ud;

	if (pause_ms > 0)
		fprintf(stderr, "kaspa-sensor: %s: %s, %u connections open:"
		    " pausing accepts for %d ms\n", __func__, strerror(err),
		    s->n_peers, pause_ms);
	else
		fprintf(stderr, "kaspa-sensor: %s: %s\n", __func__,
		    strerror(err));
}

/* Bind every configured address; failing ones are reported and skipped. */
static int start_listeners(struct sensor *s)
{
	const struct listener_config lc = {
		.backlog = LISTEN_BACKLOG,
		.v6only = true,     /* [::] and 0.0.0.0 on one port, both */
		.burst = ACCEPT_BURST,
		.pause_ms = ACCEPT_PAUSE_MS,
		.on_conn = on_accept,
		.on_error = on_accept_failed,
		.ud = s,
	};

	for (unsigned i = 0; i < s->cfg->n_listen; i++) {
		const struct listen_addr *a = &s->cfg->listen[i];
		if (listener_open(&s->listeners[s->n_listeners], &s->loop, a,
		    &lc) != 0) {
			fprintf(stderr, "kaspa-sensor: listen %s: %s\n", a->text,
			    strerror(errno));
			continue;
		}
		s->n_listeners++;
		fprintf(stderr, "kaspa-sensor: listening on %s\n", a->text);
	}
	return s->n_listeners > 0 ? 0 : -1;
}

static int start_signals(struct sensor *s)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	s->signal_fd = signal_pipe[0];
	s->signal_slot = loop_add(&s->loop, s->signal_fd, POLLIN,
	    on_signal_pipe, s);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static struct prober *start_prober(const struct config *c, struct loop *l,
    const struct dial_proxy *proxy, struct conn_shared *shared)
{
	struct probe_config pc = {
		.shared = shared,
		.enabled = c->probe_enabled,
		.verify = c->probe_verify,
		.allow_private = c->probe_allow_private,
		.advertised_any_ip = c->probe_advertised_any,
		.connect_timeout_ms = c->probe_timeout_ms,
		.budget_ms = c->probe_budget_ms,
		.max_concurrent = c->probe_max,
		.cache_ttl_ms = c->probe_cache_ttl_s * 1000,
		.default_port = network_default_port(c->network),
		.network = c->network,
		.user_agent = c->user_agent,
		.proxy = dial_proxy_for(proxy, DIAL_PROBE),
	};
	return prober_new(&pc, l);
}

/* Gauges for a scrape: metrics.c calls this right before rendering. */
static void refresh_metrics(void *ud, struct metrics *m)
{
	const struct sensor *s = ud;

	m->open_connections = s->n_peers;
	m->log_file_bytes = s->log.size;
	m->log_rotations = s->log.rotations;
	if (s->exporter != NULL)
		metrics_export_set(m, exporter_status(s->exporter));
}

/* --export-url: NULL when it is off or starts; otherwise the reason, in
 * s->why. */
static const char *start_exporter(struct sensor *s)
{
	const struct config *c = s->cfg;
	struct export_config ec = {
		.url = c->export_url,
		.format = strcmp(c->export_format, "firestore") == 0 ?
		    EXPORT_FIRESTORE : EXPORT_NDJSON,
		.ca_file = c->export_ca,
		.header_file = c->export_header_file[0] ?
		    c->export_header_file : NULL,
		.credentials_file = c->export_credentials[0] ?
		    c->export_credentials : NULL,
		.allow_http = c->export_allow_http,
		.batch_lines = c->export_batch_lines,
		.batch_bytes = c->export_batch_bytes,
		.batch_ms = c->export_batch_ms,
		.cursor_path = c->export_cursor[0] ? c->export_cursor : NULL,
		.dead_letter_path = c->export_dead_letter[0] ?
		    c->export_dead_letter : NULL,
		.disk_cap_bytes = c->export_disk_cap_bytes,
		.timeout_ms = c->export_timeout_ms,
		.retry_max_ms = c->export_retry_max_ms,
		.proxy = dial_proxy_for(&s->proxy, DIAL_EXPORT),
	};

	if (c->export_url[0] == '\0')
		return NULL;
	s->exporter = exporter_new(&ec, &s->loop, &s->log, s->why,
	    sizeof s->why);
	return s->exporter == NULL ? s->why : NULL;
}

/* --announce: NULL when it is off or starts; otherwise the reason. */
static const char *start_announcer(struct sensor *s)
{
	const struct config *c = s->cfg;
	struct announce_config ac = {
		.shared = &s->shared,
		.peers = c->announce_peers,
		.allow_private = c->announce_allow_private,
		.interval_ms = c->announce_interval_s * 1000,
		.per_round = c->announce_per_round,
		.linger_ms = c->announce_linger_ms,
		.redial_ms = c->announce_redial_s * 1000,
		.network = c->network,
		.user_agent = c->user_agent,
		.sensor_id = c->sensor_id,
		.protocol_version = (uint32_t)c->protocol_version,
		.proxy = dial_proxy_for(&s->proxy, DIAL_ANNOUNCE),
	};

	if (!c->announce)
		return NULL;
	if (addr_parse(c->external_address, &ac.external,
	    &ac.external_port) != 0)
		return "--announce needs --external-address IP:PORT";
	memcpy(ac.node_id, s->node_id, sizeof ac.node_id);
	s->announcer = announce_start(&ac, &s->loop, &s->log, s->why,
	    sizeof s->why);
	return s->announcer == NULL ? s->why : NULL;
}

static int make_node_id(struct sensor *s)
{
	if (getrandom(s->node_id, sizeof s->node_id, 0) !=
	    (ssize_t)sizeof s->node_id)
		return -1;
	hex_text(s->node_hex, s->node_id, sizeof s->node_id);
	return 0;
}

/* Everything main() sets up after the configuration.  NULL when all of it
 * runs; otherwise what failed, with *sys_err the errno of the system call
 * that failed, or 0 when the text is the whole reason (a configuration
 * error: errno then says nothing about it). */
static const char *start_sensor(struct sensor *s, int *sys_err)
{
	const struct config *c = s->cfg;
	const char *fail = NULL;

	*sys_err = 0;
	if (make_node_id(s) != 0)
		fail = "getrandom";
	else if (loop_init(&s->loop, (int)(c->max_conns + c->probe_max +
	    c->announce_per_round) + EXTRA_SLOTS) != 0 ||
	    ipmap_init(&s->per_ip, (uint32_t)c->max_conns) != 0 ||
	    (s->prober = start_prober(c, &s->loop, &s->proxy,
	    &s->shared)) == NULL)
		return "out of memory";
	else if (ndjson_open(&s->log, c->log_path, c->log_max_bytes,
	    (unsigned)c->log_keep) != 0)
		fail = c->log_path;
	else if (snprintf(s->log.event_prefix, sizeof s->log.event_prefix, "%s",
	    s->node_hex) < 0)
		return "event id";
	else if ((fail = start_exporter(s)) != NULL)
		return fail;
	else if (start_signals(s) != 0)
		fail = "signal pipe";
	else if (start_listeners(s) != 0)
		return "no address to listen on";
	else if ((fail = start_announcer(s)) != NULL)
		return fail;
	else if (c->metrics_addr[0] != '\0' && (s->metrics_srv =
	    metrics_server_start(c->metrics_addr, &s->metrics, &s->loop,
	    refresh_metrics, s)) == NULL)
		fail = c->metrics_addr;
	if (fail != NULL)
		*sys_err = errno;
	return fail;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	static struct sensor s;
	const char *fail = NULL;
	int sys_err = 0;

	if (argc > 1 && strcmp(argv[1], "crawl") == 0)
		return crawl_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "census") == 0)
		return census_main(argc - 1, argv + 1);
	switch (config_load(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_EXIT_USAGE:
		fprintf(stderr, "kaspa-sensor: %s\n", cfg.why);
		return 2;
	case CONFIG_RUN:
		break;
	}
	s.cfg = &cfg;
	conn_shared_init(&s.shared);
	peer_setup(&s);
	if ((fail = dial_proxy_load(&s.proxy, cfg.socks5, cfg.socks5_user,
	    cfg.socks5_password_file, cfg.socks5_for)) != NULL) {
		fprintf(stderr, "kaspa-sensor: %s\n", fail);
		return 2;
	}
	metrics_init(&s.metrics, SENSOR_VERSION, cfg.sensor_id, cfg.network);
	if ((fail = start_sensor(&s, &sys_err)) != NULL) {
		if (sys_err != 0)
			fprintf(stderr, "kaspa-sensor: %s: %s\n", fail,
			    strerror(sys_err));
		else
			fprintf(stderr, "kaspa-sensor: %s\n", fail);
		return 1;
	}
	fprintf(stderr, "kaspa-sensor: sensor_id %s, network %s, node id %s,"
	    " log %s\n", cfg.sensor_id, cfg.network, s.node_hex, cfg.log_path);
	if (s.metrics_srv != NULL)
		fprintf(stderr, "kaspa-sensor: metrics on %s\n", cfg.metrics_addr);
	if (s.proxy.len > 0)
		fprintf(stderr, "kaspa-sensor: SOCKS5 proxy %s%s for %s\n",
		    s.proxy.text, s.proxy.user[0] ? " (username/password)" : "",
		    cfg.socks5_for[0] ? cfg.socks5_for : "all outbound"
		    " connections");
	if (loop_run(&s.loop) != 0) {
		fprintf(stderr, "kaspa-sensor: poll: %s\n", strerror(errno));
		return 1;
	}
	exporter_free(s.exporter);
	ndjson_close(&s.log);
	return 0;
}
