/* metrics.c - counters, the Prometheus text exposition and a small
 * HTTP/1.1 server for it on the poll loop (see metrics.h). */
#define _GNU_SOURCE        /* accept4 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define OTHER "other"
#define ACCEPT_BURST 16
#define ACCEPT_PAUSE_MS 1000
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

/* key="value": backslash, quote and newline escaped as the format asks;
 * other bytes outside printable ASCII become '_' so the exposition is
 * plain ASCII whatever the configuration holds. */
static void put_label(struct out *o, const char *sep, const char *key,
    const char *value)
{
	put(o, "%s%s=\"", sep, key);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '\\' || *p == '"')
			put(o, "\\%c", *p);
		else if (*p == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *p >= 0x20 && *p < 0x7f ? *p : '_');
	}
	put(o, "\"");
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

/* ---- HTTP request head ---- */

/* RFC 9110 token characters. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* Field value bytes: visible ASCII, SP, HTAB, obs-text. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Offset just past the first CRLF CRLF in buf[0..len), or 0. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Length of the run at buf[pos..end) whose bytes satisfy ok(). */
static size_t span(const char *buf, size_t pos, size_t end,
    bool (*ok)(unsigned char))
{
	size_t n = 0;
	while (pos + n < end && ok((unsigned char)buf[pos + n]))
		n++;
	return n;
}

static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool expect(const char *buf, size_t *pos, size_t end, const char *s)
{
	size_t n = strlen(s);
	if (end - *pos < n || memcmp(buf + *pos, s, n) != 0)
		return false;
	*pos += n;
	return true;
}

struct request_line {
	size_t method, method_len;
	size_t target, target_len;
	size_t path, path_len;    /* inside the target, without the query */
	bool http11;              /* HTTP/1.1 or a later 1.x */
};

/* Origin form "/p?q", or absolute form "http://host/p?q" (RFC 9112 3.2.2:
 * servers must accept it); false for anything else. */
static bool target_path(const char *buf, struct request_line *rl)
{
	const char *t = buf + rl->target;
	size_t n = rl->target_len, skip = 0;

	if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else if (n == 0 || t[0] != '/')
		return false;
	if (skip > 0) {
		const char *slash = memchr(t + skip, '/', n - skip);
		skip = slash ? (size_t)(slash - t) : n;
	}
	const char *q = memchr(t + skip, '?', n - skip);
	rl->path = rl->target + skip;
	rl->path_len = (q ? (size_t)(q - t) : n) - skip;
	return true;
}

static bool parse_request_line(const char *buf, size_t *pos, size_t end,
    struct request_line *rl)
{
	rl->method = *pos;
	rl->method_len = span(buf, *pos, end, is_tchar);
	*pos += rl->method_len;
	if (rl->method_len == 0 || !expect(buf, pos, end, " "))
		return false;
	rl->target = *pos;
	rl->target_len = span(buf, *pos, end, is_target_char);
	*pos += rl->target_len;
	if (!target_path(buf, rl) ||
	    !expect(buf, pos, end, " ") || !expect(buf, pos, end, "HTTP/1.") ||
	    *pos >= end || buf[*pos] < '0' || buf[*pos] > '9')
		return false;
	rl->http11 = buf[(*pos)++] != '0';
	return expect(buf, pos, end, "\r\n");
}

/* Header lines up to the empty one; counts Host fields. */
static bool parse_headers(const char *buf, size_t *pos, size_t end,
    unsigned *hosts)
{
	while (!expect(buf, pos, end, "\r\n")) {
		size_t name = *pos, name_len = span(buf, *pos, end, is_tchar);
		*pos += name_len;
		if (name_len == 0 || !expect(buf, pos, end, ":"))
			return false;
		*pos += span(buf, *pos, end, is_value_char);
		if (!expect(buf, pos, end, "\r\n"))
			return false;
		if (name_len == 4 && strncasecmp(buf + name, "host", 4) == 0)
			(*hosts)++;
	}
	return true;
}

static bool path_is(const char *buf, const struct request_line *rl,
    const char *path)
{
	return rl->path_len == strlen(path) &&
	    memcmp(buf + rl->path, path, rl->path_len) == 0;
}

static bool method_is(const char *buf, const struct request_line *rl,
    const char *m)
{
	return rl->method_len == strlen(m) &&
	    memcmp(buf + rl->method, m, rl->method_len) == 0;
}

enum metrics_route metrics_parse_request(const char *buf, size_t len,
    bool *head)
{
	struct request_line rl;
	unsigned hosts = 0;
	size_t pos = 0;
	size_t end = head_end(buf, len < METRICS_REQ_MAX ? len :
	    METRICS_REQ_MAX);

	*head = false;
	if (end == 0)
		return len >= METRICS_REQ_MAX ? ROUTE_TOO_LARGE :
		    ROUTE_INCOMPLETE;
	if (!parse_request_line(buf, &pos, end, &rl) ||
	    !parse_headers(buf, &pos, end, &hosts) || hosts > 1 ||
	    (rl.http11 && hosts == 0))
		return ROUTE_BAD_REQUEST;
	enum metrics_route r = path_is(buf, &rl, "/metrics") ? ROUTE_METRICS :
	    path_is(buf, &rl, "/healthz") ? ROUTE_HEALTHZ : ROUTE_NOT_FOUND;
	*head = method_is(buf, &rl, "HEAD");
	if (r != ROUTE_NOT_FOUND && !*head && !method_is(buf, &rl, "GET"))
		return ROUTE_BAD_METHOD;
	return r;
}

/* ---- HTTP server ---- */

enum client_state { CLIENT_FREE, CLIENT_READING, CLIENT_WRITING };

struct metrics_client {
	struct metrics_server *srv;
	enum client_state state;
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
	int fd, slot;
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
	c->state = CLIENT_FREE;
	loop_set_events(c->srv->l, c->srv->slot, POLLIN);   /* a place is free */
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
	c->state = CLIENT_WRITING;
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
		if (c->state == CLIENT_READING)
			try_send(c->fd, &reply_slow);
		client_close(c);
		return;
	}
	if (c->state == CLIENT_READING && !client_read(c))
		return;
	if (c->state == CLIENT_WRITING)
		client_write(c);
}

static struct metrics_client *free_client(struct metrics_server *srv)
{
	for (unsigned i = 0; i < METRICS_CLIENTS; i++)
		if (srv->c[i].state == CLIENT_FREE)
			return &srv->c[i];
	return NULL;
}

static void on_metrics_accept(struct loop *l, int slot, short revents, void *ud)
{
	struct metrics_server *srv = ud;

	if (revents == 0) {           /* the pause below is over */
		loop_set_events(l, slot, POLLIN);
		return;
	}
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct metrics_client *c = free_client(srv);
		if (c == NULL) {
			/* Every place taken: newcomers wait in the listen
			 * backlog (client_close resumes).  Accepting them only
			 * to close them would reset them before they read. */
			loop_set_events(l, slot, 0);
			return;
		}
		int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
		    errno == ENOBUFS || errno == ENOMEM)) {
			/* The listener stays readable: polling it would spin. */
			fprintf(stderr, "kaspa-sensor: %s: %s: metrics paused"
			    " for %d ms\n", __func__, strerror(errno),
			    ACCEPT_PAUSE_MS);
			loop_set_events(l, slot, 0);
			loop_set_deadline(l, slot, now_ms() + ACCEPT_PAUSE_MS);
		}
		if (fd < 0)
			return;
		int cs = loop_add(l, fd, POLLIN, on_client, c);
		if (cs < 0) {          /* the loop is full */
			try_send(fd, &reply_busy);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->slot = cs;
		c->req_len = 0;
		c->state = CLIENT_READING;
		loop_set_deadline(l, cs, now_ms() + METRICS_CLIENT_MS);
	}
}

static int open_listener(const struct listen_addr *a)
{
	int one = 1;
	int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) != 0 ||
	    listen(fd, 64) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct metrics_server *metrics_server_start(const char *addr,
    struct metrics *m, struct loop *l, metrics_refresh_fn refresh, void *ud)
{
	struct listen_addr a;
	struct metrics_server *srv;

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
	for (unsigned i = 0; i < METRICS_CLIENTS; i++)
		srv->c[i].srv = srv;
	srv->fd = open_listener(&a);
	if (srv->fd >= 0) {
		srv->slot = loop_add(l, srv->fd, POLLIN, on_metrics_accept, srv);
		if (srv->slot >= 0)
			return srv;
		close(srv->fd);
		errno = ENOSPC;
	}
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
		if (srv->c[i].state != CLIENT_FREE)
			client_close(&srv->c[i]);
	loop_del(srv->l, srv->slot);
	close(srv->fd);
	free(srv);
}
