/* metrics.c - counters, the Prometheus text exposition and a small
 * HTTP/1.1 server for it on the poll loop (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "http1.h"
#include "listener.h"

#define OTHER "other"
#define ACCEPT_BURST 16
#define ACCEPT_PAUSE_MS 1000
#define LISTEN_BACKLOG 64
#define HEAD_MAX 256       /* our response head */

/* ---- counting ---- */

static void copy_label(char dst[METRICS_LABEL_MAX], const char *src)
{
	snprintf(dst, METRICS_LABEL_MAX, "%s", src ? src : "");
}

static struct metrics_series *vec_find(struct metrics_vec *v, const char *a,
    const char *b)
{
	for (unsigned i = 0; i < v->n; i++)
		if (strcmp(v->s[i].v1, a) == 0 && strcmp(v->s[i].v2, b) == 0)
			return &v->s[i];
	return NULL;
}

static struct metrics_series *vec_add(struct metrics_vec *v, const char *a,
    const char *b)
{
	struct metrics_series *s = &v->s[v->n++];
	copy_label(s->v1, a);
	copy_label(s->v2, b);
	return s;
}

/* b == NULL for a one-label family.  The last series is kept for
 * "other", so the family never outgrows METRICS_SERIES. */
static void vec_inc(struct metrics_vec *v, const char *a, const char *b)
{
	char ka[METRICS_LABEL_MAX], kb[METRICS_LABEL_MAX];
	const char *other_b = b ? OTHER : "";

	copy_label(ka, a);
	copy_label(kb, b);
	struct metrics_series *s = vec_find(v, ka, kb);
	if (s == NULL && v->n < METRICS_SERIES - 1)
		s = vec_add(v, ka, kb);
	if (s == NULL)
		s = vec_find(v, OTHER, other_b);
	if (s == NULL)
		s = vec_add(v, OTHER, other_b);
	s->count++;
}

/* Upper bounds of the probe duration buckets. */
static const struct {
	int64_t us;
	const char *le;
} buckets[METRICS_BUCKETS] = {
	{ 5000, "0.005" }, { 10000, "0.01" }, { 25000, "0.025" },
	{ 50000, "0.05" }, { 100000, "0.1" }, { 250000, "0.25" },
	{ 500000, "0.5" }, { 1000000, "1" }, { 2500000, "2.5" },
	{ 5000000, "5" }, { 10000000, "10" },
};

static void histogram_observe(struct metrics_histogram *h, int64_t us)
{
	if (us < 0)
		us = 0;
	for (unsigned i = 0; i < METRICS_BUCKETS; i++)
		if (us <= buckets[i].us) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum_us += (uint64_t)us;
}

void metrics_init(struct metrics *m, const char *version,
    const char *sensor_id, const char *network)
{
	memset(m, 0, sizeof *m);
	snprintf(m->version, sizeof m->version, "%s", version);
	snprintf(m->sensor_id, sizeof m->sensor_id, "%s", sensor_id);
	snprintf(m->network, sizeof m->network, "%s", network);
	m->start_time_s = (int64_t)time(NULL);
}

void metrics_count_conn(struct metrics *m, const struct metrics_conn *c)
{
	vec_inc(&m->outcomes, c->outcome, NULL);
	if (c->protocol_version >= 0) {
		char pv[METRICS_LABEL_MAX];
		snprintf(pv, sizeof pv, "%lld", (long long)c->protocol_version);
		vec_inc(&m->handshakes, pv, NULL);
	}
	if (c->classification != NULL)
		vec_inc(&m->classifications, c->classification, c->reason);
	if (c->probe_us >= 0)
		histogram_observe(&m->probe, c->probe_us);
}

void metrics_count_log(struct metrics *m, size_t len, bool ok)
{
	if (!ok) {
		m->log_errors++;
		return;
	}
	m->log_lines++;
	m->log_bytes += len;
}

void metrics_export_set(struct metrics *m, const struct export_status *e)
{
	m->exp = *e;
	m->exp_present = true;
}

/* ---- exposition ---- */

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

/* n bytes as they are: no format to parse for each byte of a label. */
static void put_bytes(struct out *o, const char *s, size_t n)
{
	if (o->overflow)
		return;
	if (n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* key="value": backslash, quote and newline escaped as the format asks;
 * other bytes outside printable ASCII become '_' so the exposition is
 * plain ASCII whatever the configuration holds. */
static void put_label(struct out *o, const char *sep, const char *key,
    const char *value)
{
	put(o, "%s%s=\"", sep, key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		char c = *p == '\n' ? 'n' : *p >= 0x20 && *p < 0x7f ?
		    (char)*p : '_';
		if (*p == '\\' || *p == '"' || *p == '\n')
			put_bytes(o, "\\", 1);
		put_bytes(o, &c, 1);
	}
	put_bytes(o, "\"", 1);
}

static void family(struct out *o, const char *name, const char *type,
    const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(struct out *o, const char *name, const char *type,
    const char *help, uint64_t v)
{
	family(o, name, type, help);
	put(o, "%s %llu\n", name, (unsigned long long)v);
}

/* Microseconds (or milliseconds with scale 1000) as seconds, exactly. */
static void put_seconds(struct out *o, uint64_t v, uint64_t per_second)
{
	put(o, "%llu.%06llu", (unsigned long long)(v / per_second),
	    (unsigned long long)(v % per_second * (1000000 / per_second)));
}

static void render_vec(struct out *o, const char *name, const char *help,
    const struct metrics_vec *v, const char *k1, const char *k2)
{
	family(o, name, "counter", help);
	for (unsigned i = 0; i < v->n; i++) {
		put(o, "%s", name);
		put_label(o, "{", k1, v->s[i].v1);
		if (k2 != NULL)
			put_label(o, ",", k2, v->s[i].v2);
		put(o, "} %llu\n", (unsigned long long)v->s[i].count);
	}
}

static void render_histogram(struct out *o, const char *name,
    const char *help, const struct metrics_histogram *h)
{
	uint64_t cumulative = 0;

	family(o, name, "histogram", help);
	for (unsigned i = 0; i < METRICS_BUCKETS; i++) {
		cumulative += h->bucket[i];
		put(o, "%s_bucket{le=\"%s\"} %llu\n", name, buckets[i].le,
		    (unsigned long long)cumulative);
	}
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)h->count);
	put(o, "%s_sum ", name);
	put_seconds(o, h->sum_us, 1000000);
	put(o, "\n%s_count %llu\n", name, (unsigned long long)h->count);
}

static void render_identity(struct out *o, const struct metrics *m)
{
	family(o, "kaspa_sensor_build_info", "gauge",
	    "Version of this sensor (value 1).");
	put(o, "kaspa_sensor_build_info");
	put_label(o, "{", "version", m->version);
	put(o, "} 1\n");
	family(o, "kaspa_sensor_info", "gauge",
	    "Sensor id and network of this sensor (value 1).");
	put(o, "kaspa_sensor_info");
	put_label(o, "{", "sensor_id", m->sensor_id);
	put_label(o, ",", "network", m->network);
	put(o, "} 1\n");
	scalar(o, "kaspa_sensor_start_time_seconds", "gauge",
	    "Unix time the sensor started.", (uint64_t)m->start_time_s);
}

/* Plain counters and gauges, each read from a uint64_t field. */
struct scalar_def {
	const char *name, *type, *help;
	size_t offset;
};

#define M(f) offsetof(struct metrics, f)
static const struct scalar_def sensor_scalars[] = {
	{ "kaspa_sensor_open_connections", "gauge",
	  "Inbound connections open now.", M(open_connections) },
	{ "kaspa_sensor_log_lines_total", "counter",
	  "NDJSON lines written.", M(log_lines) },
	{ "kaspa_sensor_log_written_bytes_total", "counter",
	  "NDJSON bytes written.", M(log_bytes) },
	{ "kaspa_sensor_log_errors_total", "counter",
	  "NDJSON lines dropped by a failed write.", M(log_errors) },
	{ "kaspa_sensor_log_rotations_total", "counter",
	  "Log file rotations.", M(log_rotations) },
	{ "kaspa_sensor_log_file_bytes", "gauge",
	  "Size of the current log file.", M(log_file_bytes) },
};
#undef M

#define E(f) offsetof(struct export_status, f)
static const struct scalar_def export_scalars[] = {
	{ "kaspa_sensor_export_lag_bytes", "gauge",
	  "Log bytes after the export cursor.", E(lag_bytes) },
	{ "kaspa_sensor_export_lag_lines", "gauge",
	  "Log lines read but not exported yet.", E(lag_lines) },
	{ "kaspa_sensor_export_lines_total", "counter",
	  "Log lines exported.", E(lines_ok) },
	{ "kaspa_sensor_export_batches_total", "counter",
	  "Batches (or parts of a refused one) the store accepted.", E(batches_ok) },
	{ "kaspa_sensor_export_retries_total", "counter",
	  "Failed export attempts that will be retried.", E(retries) },
	{ "kaspa_sensor_export_dead_lines_total", "counter",
	  "Lines parked in the dead-letter file.", E(dead_lines) },
	{ "kaspa_sensor_export_dropped_lines_total", "counter",
	  "Lines deleted unshipped under the disk cap.", E(dropped_lines) },
};
#undef E

static void render_scalars(struct out *o, const struct scalar_def *d,
    size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, (const char *)base + d[i].offset, sizeof v);
		scalar(o, d[i].name, d[i].type, d[i].help, v);
	}
}

static void render_export(struct out *o, const struct export_status *e)
{
	scalar(o, "kaspa_sensor_export_failing", "gauge",
	    "1 while the last export attempt failed.",
	    e->health == EXPORT_FAILING);
	family(o, "kaspa_sensor_export_last_success_timestamp_seconds", "gauge",
	    "Unix time of the last accepted batch (0: never).");
	put(o, "kaspa_sensor_export_last_success_timestamp_seconds ");
	put_seconds(o, e->last_success_ms > 0 ? (uint64_t)e->last_success_ms :
	    0, 1000);
	put(o, "\n");
	render_scalars(o, export_scalars, sizeof export_scalars /
	    sizeof *export_scalars, e);
}

size_t metrics_render(const struct metrics *m, char *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap };

	if (cap == 0)
		return 0;
	render_identity(&o, m);
	render_vec(&o, "kaspa_sensor_connections_total",
	    "Inbound connections ended, by outcome.", &m->outcomes,
	    "outcome", NULL);
	render_vec(&o, "kaspa_sensor_handshakes_total",
	    "Completed handshakes, by the peer's protocol version.",
	    &m->handshakes, "protocol_version", NULL);
	render_vec(&o, "kaspa_sensor_classifications_total",
	    "Peers classified, by classification and reason.",
	    &m->classifications, "classification", "reason");
	render_histogram(&o, "kaspa_sensor_probe_duration_seconds",
	    "Duration of dial-back probes that dialed.", &m->probe);
	render_scalars(&o, sensor_scalars, sizeof sensor_scalars /
	    sizeof *sensor_scalars, m);
	if (m->exp_present)
		render_export(&o, &m->exp);
	return o.overflow ? 0 : o.len;
}

/* ---- routing a request ---- */

static bool is(const char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

enum metrics_route metrics_parse_request(const char *buf, size_t len,
    bool *head)
{
	struct http1_request rq;
	int n = http1_parse_request(buf, len < METRICS_REQ_MAX ? len :
	    METRICS_REQ_MAX, &rq);

	*head = false;
	if (n == -2)
		return len >= METRICS_REQ_MAX ? ROUTE_TOO_LARGE :
		    ROUTE_INCOMPLETE;
	if (n < 0)
		return ROUTE_BAD_REQUEST;
	enum metrics_route r = is(rq.path, rq.path_len, "/metrics") ?
	    ROUTE_METRICS : is(rq.path, rq.path_len, "/healthz") ?
	    ROUTE_HEALTHZ : ROUTE_NOT_FOUND;
	*head = is(rq.method, rq.method_len, "HEAD");
	if (r != ROUTE_NOT_FOUND && !*head &&
	    !is(rq.method, rq.method_len, "GET"))
		return ROUTE_BAD_METHOD;
	return r;
}

/* ---- HTTP server ---- */

/* One scrape connection (a metrics_client place). */
enum scrape_state { SCRAPE_FREE, SCRAPE_READING, SCRAPE_WRITING };

struct metrics_client {
	struct metrics_server *srv;
	enum scrape_state state;
	int fd, slot;
	size_t req_len;
	size_t out_len, out_sent;
	char req[METRICS_REQ_MAX];
	char out[HEAD_MAX + METRICS_BODY_MAX];
};

struct metrics_server {
	struct metrics *m;
	struct loop *l;
	metrics_refresh_fn refresh;
	void *ud;
	struct listener listener;
	char body[METRICS_BODY_MAX];
	struct metrics_client c[METRICS_CLIENTS];
};

struct reply {
	int code;
	const char *text;
	const char *body;
};

static const struct reply replies[] = {
	[ROUTE_HEALTHZ] = { 200, "OK", "ok\n" },
	[ROUTE_NOT_FOUND] = { 404, "Not Found", "not found\n" },
	[ROUTE_BAD_METHOD] = { 405, "Method Not Allowed", "GET or HEAD\n" },
	[ROUTE_BAD_REQUEST] = { 400, "Bad Request", "bad request\n" },
	[ROUTE_TOO_LARGE] = { 431, "Request Header Fields Too Large",
	    "request too large\n" },
};
static const struct reply reply_busy = { 503, "Service Unavailable",
    "busy\n" };
static const struct reply reply_slow = { 408, "Request Timeout",
    "timeout\n" };
static const struct reply reply_too_big = { 500, "Internal Server Error",
    "exposition too large\n" };

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* Head plus (unless head_only) body into out; returns the length. */
static size_t format_response(char *out, size_t cap, int code,
    const char *text, const char *ctype, const char *body, size_t body_len,
    bool head_only)
{
	int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", code, text,
	    ctype, body_len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t len = n > 0 && (size_t)n < cap ? (size_t)n : 0;

	if (len == 0 || head_only || body_len > cap - len)
		return len;
	memcpy(out + len, body, body_len);
	return len + body_len;
}

static size_t format_reply(char *out, size_t cap, const struct reply *r)
{
	return format_response(out, cap, r->code, r->text, CT_TEXT, r->body,
	    strlen(r->body), false);
}

static void client_close(struct metrics_client *c)
{
	loop_del(c->srv->l, c->slot);
	close(c->fd);
	c->state = SCRAPE_FREE;
	listener_resume(&c->srv->listener);   /* a place is free */
}

/* A short reply to a client we give up on: one try, no waiting. */
static void try_send(int fd, const struct reply *r)
{
	char buf[HEAD_MAX];
	size_t len = format_reply(buf, sizeof buf, r);

	(void)!write(fd, buf, len);
}

static void client_respond(struct metrics_client *c, enum metrics_route r,
    bool head)
{
	struct metrics_server *srv = c->srv;
	size_t cap = sizeof c->out;

	if (r != ROUTE_METRICS) {
		c->out_len = format_response(c->out, cap, replies[r].code,
		    replies[r].text, CT_TEXT, replies[r].body,
		    strlen(replies[r].body), head);
	} else {
		if (srv->refresh != NULL)
			srv->refresh(srv->ud, srv->m);
		size_t n = metrics_render(srv->m, srv->body, sizeof srv->body);
		c->out_len = n > 0 ? format_response(c->out, cap, 200, "OK",
		    CT_PROM, srv->body, n, head) :
		    format_reply(c->out, cap, &reply_too_big);
	}
	c->out_sent = 0;
	c->state = SCRAPE_WRITING;
	loop_set_events(srv->l, c->slot, POLLOUT);
}

/* Returns false when the client is gone. */
static bool client_read(struct metrics_client *c)
{
	ssize_t n = read(c->fd, c->req + c->req_len,
	    sizeof c->req - c->req_len);
	bool head;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	if (n <= 0) {
		client_close(c);
		return false;
	}
	c->req_len += (size_t)n;
	enum metrics_route r = metrics_parse_request(c->req, c->req_len, &head);
	if (r != ROUTE_INCOMPLETE)
		client_respond(c, r, head);
	return true;
}

static void client_write(struct metrics_client *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_sent,
		    c->out_len - c->out_sent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		c->out_sent += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	client_close(c);
}

static void on_client(struct loop *l, int slot, short revents, void *ud)
{
	struct metrics_client *c = ud;
	(void)l;
	(void)slot;

	if (revents == 0) {          /* deadline: slow or stuck client */
		if (c->state == SCRAPE_READING)
			try_send(c->fd, &reply_slow);
		client_close(c);
		return;
	}
	if (c->state == SCRAPE_READING && !client_read(c))
		return;
	if (c->state == SCRAPE_WRITING)
		client_write(c);
}

static struct metrics_client *free_client(struct metrics_server *srv)
{
	for (unsigned i = 0; i < METRICS_CLIENTS; i++)
		if (srv->c[i].state == SCRAPE_FREE)
			return &srv->c[i];
	return NULL;
}

static bool has_room(void *ud)
{
	return free_client(ud) != NULL;
}

static void on_metrics_accept(void *ud, int fd,
    const struct sockaddr_storage *peer)
{
	struct metrics_server *srv = ud;
	struct metrics_client *c = free_client(srv);   /* has_room said so */
	int cs = loop_add(srv->l, fd, POLLIN, on_client, c);
	(void)peer;

	if (cs < 0) {          /* the loop is full */
		try_send(fd, &reply_busy);
		close(fd);
		return;
	}
	c->fd = fd;
	c->slot = cs;
	c->req_len = 0;
	c->state = SCRAPE_READING;
	loop_set_deadline(srv->l, cs, now_ms() + METRICS_CLIENT_MS);
}

static void on_metrics_accept_failed(void *ud, int err, int pause_ms)
{
	(void)ud;
	if (pause_ms > 0)
		fprintf(stderr, "kaspa-sensor: %s: %s: metrics paused for %d ms\n",
		    __func__, strerror(err), pause_ms);
}

struct metrics_server *metrics_server_start(const char *addr,
    struct metrics *m, struct loop *l, metrics_refresh_fn refresh, void *ud)
{
	struct listen_addr a;
	struct metrics_server *srv;
	struct listener_config lc = {
		.backlog = LISTEN_BACKLOG,
		.v6only = false,    /* [::]:PORT takes IPv4 too */
		.burst = ACCEPT_BURST,
		.pause_ms = ACCEPT_PAUSE_MS,
		.has_room = has_room,
		.on_conn = on_metrics_accept,
		.on_error = on_metrics_accept_failed,
	};

	if (parse_host_port(addr, &a) != 0) {
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof *srv);
	if (srv == NULL)
		return NULL;
	srv->m = m;
	srv->l = l;
	srv->refresh = refresh;
	srv->ud = ud;
	lc.ud = srv;
	for (unsigned i = 0; i < METRICS_CLIENTS; i++)
		srv->c[i].srv = srv;
	if (listener_open(&srv->listener, l, &a, &lc) == 0)
		return srv;
	int saved = errno;
	free(srv);
	errno = saved;
	return NULL;
}

void metrics_server_free(struct metrics_server *srv)
{
	if (srv == NULL)
		return;
	for (unsigned i = 0; i < METRICS_CLIENTS; i++)
		if (srv->c[i].state != SCRAPE_FREE)
			client_close(&srv->c[i]);
	listener_close(&srv->listener);
	free(srv);
}
