/* export.c - log shipping over HTTP(S) (see export.h). */
#include "export.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bisect.h"
#include "firestore.h"
#include "http1.h"
#include "json_write.h"
#include "jsonr.h"
#include "tls.h"

#define TICK_MAX_MS 1000
#define RESP_MAX (64u << 10)
#define HEADER_FILE_MAX 8192
#define AUTH_HEADER_MAX 4096
#define BACKOFF_BASE_MS 500
#define DEAD_EXCERPT 200
#define EVENT_ID_MAX 256

enum exp_state { ST_IDLE, ST_BACKOFF, ST_DIALING, ST_EXCHANGING };
enum req_kind { REQ_BATCH, REQ_TOKEN };

/* A place in the log: file identity and a byte offset in it. */
struct file_pos {
	bool valid;
	uint64_t dev, ino, off;
};

struct log_file {
	unsigned k;              /* 0: PATH, k: PATH.k */
	uint64_t dev, ino, size;
};

struct exporter {
	struct export_config cfg;
	char error_text[160];                /* xport_error's */
	char discard[4096];                  /* reply bytes past RESP_MAX */
	char cursor_path[NDJSON_PATH_MAX];
	char dead_path[NDJSON_PATH_MAX];
	char why_path[NDJSON_PATH_MAX];      /* dead_path + ".why" */
	struct loop *loop;
	struct ndjson_log *log;
	struct url url;
	struct tls_anchors anchors;
	struct tls_conn *tls;
	struct firestore *fs;
	char headers[HEADER_FILE_MAX + 1];   /* secret: never printed */
	struct export_status st;
	enum exp_state state;
	int timer_slot, io_slot, fd;
	unsigned failures;
	bool draining;
	int64_t drain_deadline;

	/* What is shipped: everything before the cursor. */
	struct file_pos cursor;
	uint64_t cursor_epoch;        /* bumped when the cursor is reset */
	struct log_file *files;       /* keep + 1 entries */

	/* The batch: raw lines from cursor up to batch_end. */
	char *batch;
	size_t batch_len;
	uint64_t batch_lines;
	struct file_pos batch_end;
	uint64_t batch_epoch;
	bool batch_full;
	int64_t pending_since;

	/* Which lines of the batch go out: all, or parts of a refused one. */
	struct bisect bisect;
	struct line_range range;      /* in the request being sent */
	size_t range_off, range_len;  /* its bytes in batch */

	/* The exchange in progress. */
	enum req_kind kind;
	const struct url *req_url;
	char *req;
	size_t req_cap, req_len, req_sent;
	char *resp;
	size_t resp_len, resp_dropped;
	int64_t req_deadline;
	struct dial dial;             /* ST_DIALING */
	uint64_t rng;
};

static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- status ---- */

static const char *health_name(enum export_health h)
{
	return h == EXPORT_OK ? "ok" : h == EXPORT_FAILING ? "failing" :
	    "starting";
}

static void set_health(struct exporter *e, enum export_health h)
{
	if (e->st.health == h)
		return;
	e->st.health = h;
	if (h == EXPORT_OK)
		fprintf(stderr, "kaspa-sensor: %s: export %s: %" PRIu64
		    " lines shipped, lag %" PRIu64 " bytes\n", __func__,
		    health_name(h), e->st.lines_ok, e->st.lag_bytes);
	else
		fprintf(stderr, "kaspa-sensor: %s: export %s\n", __func__,
		    health_name(h));
}

static void note_error(struct exporter *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->st.last_error, sizeof e->st.last_error, fmt, ap);
	va_end(ap);
	e->st.last_error_ms = wall_ms();
}

/* ---- log files ---- */

/* Existing log files, oldest first. */
static unsigned list_files(const struct exporter *e)
{
	char name[NDJSON_PATH_MAX];
	unsigned n = 0;
	struct stat st;

	for (unsigned k = e->log->keep + 1; k-- > 0;) {
		ndjson_file_name(e->log, k, name);
		if (stat(name, &st) != 0)
			continue;
		e->files[n] = (struct log_file){ k, (uint64_t)st.st_dev,
		    (uint64_t)st.st_ino, (uint64_t)st.st_size };
		n++;
	}
	return n;
}

static int find_file(const struct exporter *e, unsigned n,
    const struct file_pos *p)
{
	for (unsigned i = 0; p->valid && i < n; i++)
		if (e->files[i].dev == p->dev && e->files[i].ino == p->ino)
			return (int)i;
	return -1;
}

static struct file_pos pos_at(const struct log_file *f, uint64_t off)
{
	return (struct file_pos){ true, f->dev, f->ino, off };
}

/* ---- cursor ---- */

static void fsync_dir_of(const char *path)
{
	char dir[NDJSON_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* "DEV INO OFF\n" (or "none\n") to PATH.tmp, fsync, rename over PATH. */
static int save_cursor(struct exporter *e)
{
	char tmp[NDJSON_PATH_MAX + 8], text[96];
	int len, fd, rc = -1;

	if (e->cursor.valid)
		len = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 " %"
		    PRIu64 "\n", e->cursor.dev, e->cursor.ino, e->cursor.off);
	else
		len = snprintf(text, sizeof text, "none\n");
	snprintf(tmp, sizeof tmp, "%s.tmp", e->cursor_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0)
		rc = rename(tmp, e->cursor_path);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		fprintf(stderr, "kaspa-sensor: %s: %s: %s\n", __func__, tmp,
		    strerror(errno));
	else
		fsync_dir_of(e->cursor_path);
	return rc;
}

static int load_cursor(struct exporter *e)
{
	FILE *f = fopen(e->cursor_path, "re");
	char line[96];
	unsigned long long dev, ino, off;
	char extra;

	e->cursor.valid = false;
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	if (fgets(line, sizeof line, f) != NULL &&
	    sscanf(line, "%llu %llu %llu%c", &dev, &ino, &off, &extra) == 4 &&
	    extra == '\n')
		e->cursor = (struct file_pos){ true, dev, ino, off };
	fclose(f);
	return 0;
}

/* ---- batch ---- */

static void clear_batch(struct exporter *e)
{
	e->batch_len = 0;
	e->batch_lines = 0;
	e->batch_full = false;
	e->batch_end = e->cursor;
	e->batch_epoch = e->cursor_epoch;
}

enum read_result { READ_MORE, READ_END, READ_FULL, READ_STALE };

/* Appends whole lines of f from p->off: READ_MORE if the file may have
 * more, READ_END at its last newline, READ_FULL when the batch is,
 * READ_STALE if the file moved since it was listed. */
static enum read_result read_lines(struct exporter *e,
    const struct log_file *f, struct file_pos *p)
{
	char name[NDJSON_PATH_MAX];
	size_t room = e->cfg.batch_bytes - e->batch_len;
	char *dst = e->batch + e->batch_len;
	size_t keep = 0;
	struct stat st;
	ssize_t got;
	int fd;

	ndjson_file_name(e->log, f->k, name);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return READ_STALE;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_ino != f->ino) {
		close(fd);
		return READ_STALE;
	}
	got = pread(fd, dst, room, (off_t)p->off);
	close(fd);
	if (got <= 0)
		return got < 0 ? READ_STALE : READ_END;
	for (size_t i = 0; i < (size_t)got &&
	    e->batch_lines < e->cfg.batch_lines; i++)
		if (dst[i] == '\n') {
			keep = i + 1;
			e->batch_lines++;
		}
	if (keep == 0 && (size_t)got == room && e->batch_len == 0) {
		/* No newline in a whole batch: not one of our lines. */
		fprintf(stderr, "kaspa-sensor: %s: skipping %zd bytes without a"
		    " newline in %s\n", __func__, got, name);
		keep = (size_t)got;
		e->st.dropped_lines++;
		memset(dst, ' ', keep - 1);
		dst[keep - 1] = '\n';
		e->batch_lines++;
	}
	e->batch_len += keep;
	p->off += keep;
	if (e->batch_lines >= e->cfg.batch_lines || (size_t)got == room)
		return READ_FULL;
	return keep > 0 ? READ_MORE : READ_END;
}

/* Bytes in the files from p on. */
static uint64_t bytes_after(const struct exporter *e, unsigned n,
    const struct file_pos *p)
{
	int i = find_file(e, n, p);
	uint64_t sum = 0;

	for (unsigned k = i < 0 ? 0 : (unsigned)i; k < n; k++)
		sum += e->files[k].size;
	if (i >= 0)
		sum -= p->off < e->files[i].size ? p->off : e->files[i].size;
	return sum;
}

/* Extends the batch from batch_end, across files, oldest first. */
static void fill_batch(struct exporter *e)
{
	unsigned n = list_files(e);
	struct file_pos *p = &e->batch_end;
	int i = find_file(e, n, p);
	uint64_t before = e->batch_lines;
	enum read_result r = READ_MORE;

	if (n == 0)
		return;
	if (i < 0) {   /* no cursor yet, or its file is gone: from the oldest */
		i = 0;
		*p = pos_at(&e->files[0], 0);
	}
	while (!e->batch_full) {
		const struct log_file *f = &e->files[i];
		r = read_lines(e, f, p);
		if (r == READ_FULL)
			e->batch_full = true;
		if (r == READ_STALE)
			break;
		if (r != READ_END)
			continue;
		if ((unsigned)i + 1 >= n)
			break;
		/* A rotated file is complete: a tail without a newline is a
		 * torn line that nothing will finish. */
		if (p->off < f->size)
			fprintf(stderr, "kaspa-sensor: %s: skipping a torn line of"
			    " %" PRIu64 " bytes at the end of a rotated file\n",
			    __func__, f->size - p->off);
		*p = pos_at(&e->files[++i], 0);
	}
	if (before == 0 && e->batch_lines > 0)
		e->pending_since = now_ms();
	e->st.lag_bytes = bytes_after(e, n, &e->cursor);
	e->st.lag_lines = e->batch_lines;
}

/* ---- rotation hook ---- */

static uint64_t count_lines_from(const char *path, uint64_t off)
{
	char buf[8192];
	uint64_t lines = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = pread(fd, buf, sizeof buf, (off_t)off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		off += (uint64_t)n;
	}
	close(fd);
	return lines;
}

static bool same_file(const struct file_pos *p, const struct stat *st)
{
	return p->valid && p->dev == (uint64_t)st->st_dev &&
	    p->ino == (uint64_t)st->st_ino;
}

/* The victim is the oldest log file.  It is shipped when the cursor is
 * past its end or on a newer file that still exists. */
static bool victim_shipped(struct exporter *e, const struct stat *st)
{
	unsigned n = list_files(e);
	int i = find_file(e, n, &e->cursor);

	if (same_file(&e->cursor, st))
		return e->cursor.off >= (uint64_t)st->st_size;
	return i >= 0 || st->st_size == 0;
}

/* The cursor must not name a deleted file: its inode number may come
 * back for the next PATH.  From the oldest file instead.  A batch in
 * flight that ends in it must not move the cursor there either. */
static void forget_file(struct exporter *e, const struct stat *st)
{
	if (same_file(&e->cursor, st) || same_file(&e->batch_end, st)) {
		e->cursor.valid = false;
		e->cursor_epoch++;
		save_cursor(e);
	}
	if (same_file(&e->batch_end, st) && e->state == ST_IDLE)
		clear_batch(e);
}

static bool on_may_delete(void *ud, const char *path)
{
	struct exporter *e = ud;
	struct stat st;

	if (stat(path, &st) != 0)
		return true;
	if (!victim_shipped(e, &st)) {
		unsigned n = list_files(e);
		uint64_t total = 0;
		for (unsigned i = 0; i < n; i++)
			total += e->files[i].size;
		if (total <= e->cfg.disk_cap_bytes)
			return false;
		uint64_t lost = count_lines_from(path,
		    same_file(&e->cursor, &st) ? e->cursor.off : 0);
		e->st.dropped_lines += lost;
		fprintf(stderr, "kaspa-sensor: %s: log files hold %" PRIu64
		    " bytes, over the export disk cap: deleting %s with %"
		    PRIu64 " lines never shipped (%" PRIu64 " dropped so far)\n",
		    __func__, total, path, lost, e->st.dropped_lines);
	}
	forget_file(e, &st);
	return true;
}

/* ---- timers ---- */

/* The timer (0: off), clamped to the drain deadline while shutting
 * down. */
static void arm_timer(struct exporter *e, int64_t at)
{
	if (e->draining && (at == 0 || at > e->drain_deadline))
		at = e->drain_deadline;
	loop_set_deadline(e->loop, e->timer_slot, at);
}

static uint64_t next_random(struct exporter *e)
{
	/* xorshift64: jitter only, seeded from getrandom() */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return e->rng;
}

/* Exponential, capped, with "equal jitter": half fixed, half random. */
static uint64_t backoff_ms(struct exporter *e)
{
	uint64_t d = BACKOFF_BASE_MS;

	for (unsigned i = 1; i < e->failures && d < e->cfg.retry_max_ms; i++)
		d *= 2;
	if (d > e->cfg.retry_max_ms)
		d = e->cfg.retry_max_ms;
	return d / 2 + next_random(e) % (d / 2 + 1);
}

/* ---- connection ---- */

static void close_conn(struct exporter *e)
{
	if (e->io_slot >= 0)
		loop_del(e->loop, e->io_slot);
	e->io_slot = -1;
	dial_cancel(&e->dial);
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}

static void fail_retry(struct exporter *e, const char *fmt, ...)
{
	va_list ap;
	char what[sizeof e->st.last_error];

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	close_conn(e);
	note_error(e, "%s %s:%u: %s", e->kind == REQ_TOKEN ? "token" : "batch",
	    e->req_url->host, (unsigned)e->req_url->port, what);
	e->failures++;
	e->st.retries++;
	uint64_t wait = backoff_ms(e);
	set_health(e, EXPORT_FAILING);
	fprintf(stderr, "kaspa-sensor: %s: export attempt %u failed: %s; retry"
	    " in %" PRIu64 " ms\n", __func__, e->failures, e->st.last_error,
	    wait);
	e->state = ST_BACKOFF;
	arm_timer(e, now_ms() + (int64_t)wait);
}

static void on_io(struct loop *l, int slot, short revents, void *ud);
static void on_dialed(void *ctx, const struct dial_result *r);

/* The store's host (a name goes to the proxy as it is), within the
 * request's time. */
static void start_dial(struct exporter *e)
{
	int64_t left = e->req_deadline - now_ms();

	e->state = ST_DIALING;
	if (dial_start_name(&e->dial, e->loop, e->cfg.proxy, e->req_url->host,
	    e->req_url->port, left > 0 ? (uint64_t)left : 0, on_dialed, e) != 0)
		fail_retry(e, "connect: no loop slot");
}

/* ---- requests ---- */

static int build_batch_request(struct exporter *e)
{
	char extra[HEADER_FILE_MAX + AUTH_HEADER_MAX + 1];
	const char *type = "application/x-ndjson";
	const char *body = e->batch + e->range_off;
	long body_len = (long)e->range_len;
	size_t body_cap = e->req_cap - HTTP1_HEAD_MAX;
	int head;

	snprintf(extra, sizeof extra, "%s", e->headers);
	if (e->cfg.format == EXPORT_FIRESTORE) {
		size_t n = strlen(extra);
		if (firestore_auth_header(e->fs, extra + n, sizeof extra - n) != 0)
			return -1;
		type = "application/json";
		body_len = firestore_commit_body(e->fs, e->req + HTTP1_HEAD_MAX,
		    body_cap, body, e->range_len);
		body = e->req + HTTP1_HEAD_MAX;
		if (body_len < 0)
			return -1;
	}
	head = http1_post_head(e->req, HTTP1_HEAD_MAX, e->req_url, type,
	    (size_t)body_len, extra);
	if (head < 0)
		return -1;
	memmove(e->req + head, body, (size_t)body_len);
	e->req_len = (size_t)head + (size_t)body_len;
	return 0;
}

static int build_token_request(struct exporter *e)
{
	long body_len = firestore_token_body(e->fs, e->req + HTTP1_HEAD_MAX,
	    e->req_cap - HTTP1_HEAD_MAX, wall_ms() / 1000);
	int head;

	if (body_len < 0)
		return -1;
	head = http1_post_head(e->req, HTTP1_HEAD_MAX, e->req_url,
	    "application/x-www-form-urlencoded", (size_t)body_len, NULL);
	if (head < 0)
		return -1;
	memmove(e->req + head, e->req + HTTP1_HEAD_MAX, (size_t)body_len);
	e->req_len = (size_t)head + (size_t)body_len;
	return 0;
}

/* ---- settling ranges: shipped, parked in the dead-letter file ---- */

/* Byte offset of line `line` of the batch (batch_len for the end); the
 * batch is whole lines, each ending in '\n'. */
static size_t line_offset(const struct exporter *e, uint64_t line)
{
	size_t off = 0;

	for (uint64_t i = 0; i < line && off < e->batch_len; i++) {
		const char *nl = memchr(e->batch + off, '\n', e->batch_len - off);
		off = nl ? (size_t)(nl - e->batch) + 1 : e->batch_len;
	}
	return off;
}

/* Appends data to path and fsyncs; *at: the offset it starts at.  A
 * short write is cut off again, so the file stays whole lines. */
static int append_synced(const char *path, const char *data, size_t len,
    uint64_t *at)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	bool opened = fd >= 0 && fstat(fd, &st) == 0;
	bool ok = opened && write(fd, data, len) == (ssize_t)len &&
	    fsync(fd) == 0;

	if (opened && !ok)
		(void)!ftruncate(fd, st.st_size);
	if (fd >= 0)
		close(fd);
	*at = ok ? (uint64_t)st.st_size : 0;
	return ok ? 0 : -1;
}

/* The line's event_id, or NULL. */
static const char *line_event_id(const char *line, size_t n, char *out,
    size_t cap)
{
	long v = jsonr_member(line, n, 0, "event_id");
	size_t len;

	return v >= 0 && jsonr_string(line, n, (size_t)v, out, cap, &len) >= 0 ?
	    out : NULL;
}

/* DEAD.why: one JSON line per parked range, naming its bytes in DEAD
 * (offset, bytes, lines), its event_id when it is one line, and why. */
static int write_why(struct exporter *e, uint64_t dead_at, const char *why)
{
	const char *lines = e->batch + e->range_off;
	char ts[JSON_TIMESTAMP_LEN], id[EVENT_ID_MAX];
	struct json_line j;
	struct timespec now;
	uint64_t at;

	clock_gettime(CLOCK_REALTIME, &now);
	json_timestamp(ts, &now);
	json_begin(&j);
	json_str(&j, "ts", ts);
	json_u64(&j, "offset", dead_at);
	json_u64(&j, "bytes", e->range_len);
	json_u64(&j, "lines", e->range.count);
	json_str(&j, "event_id", e->range.count == 1 ?
	    line_event_id(lines, e->range_len, id, sizeof id) : NULL);
	json_str(&j, "reason", why);
	return json_end(&j) == 0 ? append_synced(e->why_path, j.buf, j.len,
	    &at) : -1;
}

/* The range's lines go to the dead-letter file as they are (replayable),
 * then the reason to DEAD.why; false if they could not be written. */
static bool dead_letter(struct exporter *e, const char *why)
{
	uint64_t at;
	bool parked = append_synced(e->dead_path, e->batch + e->range_off,
	    e->range_len, &at) == 0 && write_why(e, at, why) == 0;

	if (parked) {
		e->st.dead_batches++;
		e->st.dead_lines += e->range.count;
	}
	note_error(e, "%" PRIu64 " lines rejected: %s", e->range.count, why);
	fprintf(stderr, "kaspa-sensor: %s: EXPORT REJECTED %" PRIu64 " line%s"
	    " of a batch of %" PRIu64 " (%s); %s %s\n", __func__,
	    e->range.count, e->range.count == 1 ? "" : "s (split limit hit)",
	    e->batch_lines, why, parked ? "parked in" :
	    "COULD NOT WRITE the dead-letter file", e->dead_path);
	return parked;
}

/* Shipped or parked: no longer lag. */
static void range_settled(struct exporter *e)
{
	e->st.lag_bytes -= e->range_len < e->st.lag_bytes ? e->range_len :
	    e->st.lag_bytes;
	e->st.lag_lines -= e->range.count < e->st.lag_lines ? e->range.count :
	    e->st.lag_lines;
	e->failures = 0;
}

static void range_shipped(struct exporter *e)
{
	bisect_answer(&e->bisect, BISECT_ACCEPTED);
	e->st.batches_ok++;
	e->st.lines_ok += e->range.count;
	e->st.last_success_ms = wall_ms();
	range_settled(e);
	set_health(e, EXPORT_OK);
}

/* The store (or the request builder) refused the range: its halves go
 * next, or it is parked.  False if it could not be parked: it stays
 * unsettled (the cursor cannot pass it) and goes out again after a
 * backoff. */
static bool range_refused(struct exporter *e, const char *why)
{
	enum bisect_action a = bisect_answer(&e->bisect, BISECT_REFUSED);

	if (a == BISECT_SPLIT && e->bisect.splits == 1)
		fprintf(stderr, "kaspa-sensor: %s: a batch of %" PRIu64 " lines"
		    " was refused (%s); sending it in halves\n", __func__,
		    e->batch_lines, why);
	if (a != BISECT_PARK)
		return true;
	if (!dead_letter(e, why)) {
		bisect_unpark(&e->bisect, e->range);
		fail_retry(e, "refused lines not parked: cannot write %s",
		    e->dead_path);
		return false;
	}
	range_settled(e);
	return true;
}

/* Every line of the batch is shipped or parked: advance the cursor.
 * Before that a crash sends the whole batch again. */
static void batch_done(struct exporter *e)
{
	if (e->batch_epoch == e->cursor_epoch) {
		e->cursor = e->batch_end;
		save_cursor(e);
	}
	clear_batch(e);
	e->failures = 0;
	e->state = ST_IDLE;
	arm_timer(e, now_ms());
}

/* The next request, on a fresh connection: the token if one is due, else
 * the next range of the batch; the batch is done when none is left. */
static void start_exchange(struct exporter *e)
{
	e->req_sent = 0;
	e->resp_len = 0;
	e->resp_dropped = 0;
	e->req_deadline = now_ms() + (int64_t)e->cfg.timeout_ms;
	if (e->cfg.format == EXPORT_FIRESTORE &&
	    !firestore_token_valid(e->fs, wall_ms())) {
		e->kind = REQ_TOKEN;
		e->req_url = firestore_token_url(e->fs);
		if (build_token_request(e) == 0)
			start_dial(e);
		else
			fail_retry(e, "cannot build the token request");
		return;
	}
	e->kind = REQ_BATCH;
	e->req_url = e->fs ? firestore_commit_url(e->fs) : &e->url;
	while (bisect_next(&e->bisect, &e->range)) {
		e->range_off = line_offset(e, e->range.first);
		e->range_len = line_offset(e, e->range.first + e->range.count) -
		    e->range_off;
		if (build_batch_request(e) == 0) {
			start_dial(e);
			return;
		}
		if (!range_refused(e, e->fs ? "not sent: not a Firestore "
		    "document (an object with a usable string event_id)" :
		    "not sent: does not fit a request"))
			return;
	}
	batch_done(e);
}

/* ---- exchange ---- */

static ssize_t xport_send(struct exporter *e, const void *p, size_t n)
{
	ssize_t r;

	if (e->req_url->tls)
		return tls_send(e->tls, e->fd, p, n);
	r = send(e->fd, p, n, MSG_NOSIGNAL);
	return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : r;
}

static ssize_t xport_recv(struct exporter *e, void *p, size_t cap)
{
	if (e->req_url->tls)
		return tls_recv(e->tls, e->fd, p, cap);
	return recv(e->fd, p, cap, 0);
}

static short xport_events(const struct exporter *e)
{
	short ev = POLLIN;

	if (e->req_url->tls)
		ev |= tls_events(e->tls);
	else if (e->req_sent < e->req_len)
		ev |= POLLOUT;
	return ev;
}

/* Why the transport failed, without secrets. */
static const char *xport_error(struct exporter *e)
{
	if (e->req_url->tls && tls_error(e->tls) != 0) {
		snprintf(e->error_text, sizeof e->error_text,
		    "tls: %s (BearSSL error %d)", tls_error_text(e->tls),
		    tls_error(e->tls));
		return e->error_text;
	}
	return strerror(errno);
}

/* Printable excerpt of a server's reply, for operator lines. */
static void excerpt(char *out, size_t cap, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap && i < DEAD_EXCERPT; i++)
		out[i] = p[i] >= ' ' && p[i] < 0x7f ? p[i] : ' ';
	out[i] = '\0';
}

static bool retryable(int status)
{
	return status == 408 || status == 429 || status < 200 ||
	    (status >= 300 && status < 400) || status >= 500;
}

static void handle_response(struct exporter *e, int status, char *body,
    size_t len)
{
	char why[DEAD_EXCERPT + 32], text[DEAD_EXCERPT + 1];

	close_conn(e);
	if (e->kind == REQ_TOKEN) {
		if (status / 100 == 2 &&
		    firestore_token_parse(e->fs, body, len, wall_ms()) == 0)
			start_exchange(e);
		else
			fail_retry(e, "token endpoint answered HTTP %d%s", status,
			    status / 100 == 2 ? " without a usable token" : "");
		return;
	}
	if (status == 401 && e->fs != NULL)
		firestore_token_drop(e->fs);
	if (retryable(status) || (status == 401 && e->fs != NULL)) {
		fail_retry(e, "HTTP %d", status);
		return;
	}
	if (status / 100 == 2) {
		range_shipped(e);
	} else {
		excerpt(text, sizeof text, body, len);
		snprintf(why, sizeof why, "HTTP %d: %s", status, text);
		if (!range_refused(e, why))
			return;
	}
	start_exchange(e);
}

/* True once the response is settled (handled or failed). */
static bool response_complete(struct exporter *e, bool eof)
{
	struct http1_response r;
	int head = http1_parse_response(e->resp, e->resp_len, &r);
	size_t body_len, have;
	char *body;

	if (head == -2 && !eof)
		return false;
	if (head < 0) {
		fail_retry(e, head == -1 ? "malformed HTTP response" :
		    "connection closed before the response");
		return true;
	}
	if (r.status < 200) {   /* 100 Continue and friends: the next head */
		memmove(e->resp, e->resp + head, e->resp_len - (size_t)head);
		e->resp_len -= (size_t)head;
		return response_complete(e, eof);
	}
	body = e->resp + head;
	body_len = e->resp_len - (size_t)head;
	have = body_len + e->resp_dropped;
	if (r.chunked && e->resp_dropped == 0) {
		long used = http1_dechunk(body, body_len, &body_len);
		if (used == -2 && !eof)
			return false;
		if (used < 0) {
			fail_retry(e, "bad chunked body");
			return true;
		}
	} else if (r.content_length >= 0 && have < (uint64_t)r.content_length) {
		if (!eof)
			return false;
		fail_retry(e, "response body cut short");
		return true;
	} else if (r.content_length < 0 && !r.chunked && !eof) {
		return false;   /* delimited by the close */
	}
	handle_response(e, r.status, body, body_len);
	return true;
}

/* Sends what is left of the request; false if the exchange failed. */
static bool send_request(struct exporter *e)
{
	while (e->req_sent < e->req_len) {
		ssize_t n = xport_send(e, e->req + e->req_sent,
		    e->req_len - e->req_sent);
		if (n < 0) {
			fail_retry(e, "send: %s", xport_error(e));
			return false;
		}
		if (n == 0)
			break;
		e->req_sent += (size_t)n;
	}
	return true;
}

/* Reads what arrived; false once the exchange is over. */
static bool read_response(struct exporter *e)
{
	for (;;) {
		bool full = e->resp_len == RESP_MAX;
		ssize_t n = full ? xport_recv(e, e->discard, sizeof e->discard) :
		    xport_recv(e, e->resp + e->resp_len, RESP_MAX - e->resp_len);
		if (n > 0) {
			*(full ? &e->resp_dropped : &e->resp_len) += (size_t)n;
			if (response_complete(e, false))
				return false;
			continue;
		}
		if (n == 0) {
			response_complete(e, true);
			return false;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return true;
		fail_retry(e, "receive: %s", xport_error(e));
		return false;
	}
}

static void on_dialed(void *ctx, const struct dial_result *r)
{
	struct exporter *e = ctx;

	if (r->outcome != DIAL_CONNECTED) {
		fail_retry(e, "connect: %s%s%s", dial_outcome_name(r->outcome),
		    r->detail || r->err ? ": " : "",
		    r->detail ? r->detail : r->err ? strerror(r->err) : "");
		return;
	}
	e->fd = r->fd;
	e->io_slot = loop_add(e->loop, e->fd, POLLIN | POLLOUT, on_io, e);
	if (e->io_slot < 0) {
		fail_retry(e, "connect: no loop slot");
		return;
	}
	loop_set_deadline(e->loop, e->io_slot, e->req_deadline);
	if (e->req_url->tls && tls_start(e->tls, &e->anchors,
	    e->req_url->host) != 0) {
		fail_retry(e, "tls: cannot start (no entropy?)");
		return;
	}
	e->state = ST_EXCHANGING;
}

static void on_io(struct loop *l, int slot, short revents, void *ud)
{
	struct exporter *e = ud;

	(void)l;
	(void)slot;
	if (revents == 0) {
		fail_retry(e, "timed out after %" PRIu64 " ms", e->cfg.timeout_ms);
		return;
	}
	if (send_request(e) && read_response(e))
		loop_set_events(e->loop, e->io_slot, xport_events(e));
}

/* ---- the timer ---- */

static uint64_t tick_ms(const struct exporter *e)
{
	uint64_t t = e->cfg.batch_ms < TICK_MAX_MS ? e->cfg.batch_ms :
	    TICK_MAX_MS;
	return t < 10 ? 10 : t;
}

static void on_idle_tick(struct exporter *e)
{
	int64_t now = now_ms();

	if (!e->batch_full)
		fill_batch(e);
	if (e->batch_lines > 0 && (e->batch_full || e->draining ||
	    now - e->pending_since >= (int64_t)e->cfg.batch_ms)) {
		arm_timer(e, 0);
		bisect_start(&e->bisect, e->batch_lines);
		start_exchange(e);
		return;
	}
	if (e->draining) {   /* nothing left to ship */
		loop_stop(e->loop);
		return;
	}
	int64_t at = now + (int64_t)tick_ms(e);
	if (e->batch_lines > 0 && e->pending_since + (int64_t)e->cfg.batch_ms < at)
		at = e->pending_since + (int64_t)e->cfg.batch_ms;
	arm_timer(e, at);
}

static void on_timer(struct loop *l, int slot, short revents, void *ud)
{
	struct exporter *e = ud;

	(void)slot;
	(void)revents;
	if (e->draining && now_ms() >= e->drain_deadline) {
		fprintf(stderr, "kaspa-sensor: %s: export stops with %" PRIu64
		    " bytes not shipped (the cursor keeps the place)\n", __func__,
		    e->st.lag_bytes);
		loop_stop(l);
		return;
	}
	if (e->state == ST_IDLE) {
		on_idle_tick(e);
	} else if (e->state == ST_BACKOFF) {
		arm_timer(e, 0);
		start_exchange(e);
	}
}

/* ---- setup ---- */

/* "Name: value" lines; LF or CRLF; blank and '#' lines skipped. */
/* -1 with *why for bad content, or with *why NULL and errno. */
static int load_headers(struct exporter *e, const char *path,
    const char **why)
{
	char line[HEADER_FILE_MAX];
	size_t n = 0;
	FILE *f = fopen(path, "re");

	*why = NULL;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strcspn(line, "\r\n");
		if (len == 0 || line[0] == '#')
			continue;
		if (n + len + 2 > HEADER_FILE_MAX) {
			fclose(f);
			*why = "more than 8192 bytes of header lines";
			return -1;
		}
		memcpy(e->headers + n, line, len);
		memcpy(e->headers + n + len, "\r\n", 2);
		n += len + 2;
	}
	fclose(f);
	e->headers[n] = '\0';
	if (http1_check_headers(e->headers, n) != 0) {
		*why = "not valid HTTP header lines";   /* never echoed */
		return -1;
	}
	return 0;
}

static int setup_paths(struct exporter *e)
{
	const char *log = e->log->path;
	int a = snprintf(e->cursor_path, sizeof e->cursor_path, "%s",
	    e->cfg.cursor_path ? e->cfg.cursor_path : "");
	int b = snprintf(e->dead_path, sizeof e->dead_path, "%s",
	    e->cfg.dead_letter_path ? e->cfg.dead_letter_path : "");

	if (a == 0)
		a = snprintf(e->cursor_path, sizeof e->cursor_path, "%s.cursor",
		    log);
	if (b == 0)
		b = snprintf(e->dead_path, sizeof e->dead_path, "%s.dead", log);
	if (a >= (int)sizeof e->cursor_path - 4 ||
	    b >= (int)sizeof e->why_path - 4)
		return -1;
	memcpy(e->why_path, e->dead_path, (size_t)b);
	memcpy(e->why_path + b, ".why", sizeof ".why");
	return 0;
}

static bool needs_tls(const struct exporter *e)
{
	return e->url.tls || (e->fs != NULL && firestore_token_url(e->fs)->tls);
}

/* Writes "export: WHAT[: REASON]" into why; returns -1.  A NULL reason
 * after a file step means its system call failed: errno says why. */
static int setup_failed(char *why, size_t why_len, const char *what,
    const char *reason, bool file_step)
{
	if (reason == NULL && file_step)
		reason = strerror(errno);
	snprintf(why, why_len, "export: %s%s%s", what, reason ? ": " : "",
	    reason ? reason : "");
	return -1;
}

/* Everything exporter_new checks; -1 with the reason in why. */
static int setup(struct exporter *e, char *why, size_t why_len)
{
	size_t req_body = e->cfg.format == EXPORT_FIRESTORE ?
	    6 * e->cfg.batch_bytes + 512 * e->cfg.batch_lines + 8192 :
	    e->cfg.batch_bytes + 8192;
	const char *reason;
	char fs_why[160];

	if (url_parse(e->cfg.url, &e->url) != 0)
		return setup_failed(why, why_len,
		    "--export-url is not a valid http(s) URL", NULL, false);
	if (e->cfg.format == EXPORT_FIRESTORE && e->cfg.batch_lines > 500)
		return setup_failed(why, why_len, "Firestore commits take at"
		    " most 500 writes: --export-batch-lines 500 or less", NULL,
		    false);
	if (setup_paths(e) != 0)
		return setup_failed(why, why_len,
		    "cursor or dead-letter path too long", NULL, false);
	if (e->cfg.header_file &&
	    load_headers(e, e->cfg.header_file, &reason) != 0)
		return setup_failed(why, why_len, e->cfg.header_file, reason,
		    true);
	if (e->cfg.format == EXPORT_FIRESTORE &&
	    (e->fs = firestore_new(e->cfg.credentials_file, &e->url, fs_why,
	    sizeof fs_why)) == NULL)
		return setup_failed(why, why_len, fs_why, NULL, false);
	if (!e->cfg.allow_http && (!e->url.tls ||
	    (e->fs && !firestore_token_url(e->fs)->tls)))
		return setup_failed(why, why_len,
		    "http:// needs --export-allow-http", NULL, false);
	if (needs_tls(e) &&
	    tls_anchors_load(&e->anchors, e->cfg.ca_file, &reason) != 0)
		return setup_failed(why, why_len, e->cfg.ca_file, reason, true);
	if (load_cursor(e) != 0)
		return setup_failed(why, why_len, e->cursor_path, NULL, true);
	e->tls = needs_tls(e) ? malloc(sizeof *e->tls) : NULL;
	e->files = calloc(e->log->keep + 2u, sizeof *e->files);
	e->batch = malloc(e->cfg.batch_bytes);
	e->req_cap = HTTP1_HEAD_MAX + req_body;
	e->req = malloc(e->req_cap);
	e->resp = malloc(RESP_MAX);
	if ((needs_tls(e) && !e->tls) || !e->files || !e->batch || !e->req ||
	    !e->resp)
		return setup_failed(why, why_len, "out of memory", NULL, false);
	if (getrandom(&e->rng, sizeof e->rng, 0) != (ssize_t)sizeof e->rng)
		return setup_failed(why, why_len, "getrandom", NULL, true);
	e->rng |= 1;
	e->timer_slot = loop_add(e->loop, -1, 0, on_timer, e);
	if (e->timer_slot < 0)
		return setup_failed(why, why_len, "no loop slot", NULL, false);
	return 0;
}

struct exporter *exporter_new(const struct export_config *c, struct loop *l,
    struct ndjson_log *log, char *why, size_t why_len)
{
	struct exporter *e = calloc(1, sizeof *e);
	bool v6;

	if (e == NULL) {
		snprintf(why, why_len, "export: out of memory");
		return NULL;
	}
	e->cfg = *c;
	e->loop = l;
	e->log = log;
	e->fd = -1;
	e->io_slot = -1;
	e->timer_slot = -1;
	if (setup(e, why, why_len) != 0) {
		exporter_free(e);
		return NULL;
	}
	clear_batch(e);
	log->may_delete = on_may_delete;
	log->may_delete_ud = e;
	arm_timer(e, now_ms());
	/* The URL's path and query may hold credentials: host only, an IPv6
	 * address in brackets as the URL had it. */
	v6 = strchr(e->url.host, ':') != NULL;
	fprintf(stderr, "kaspa-sensor: export %s to %s://%s%s%s:%u, cursor %s\n",
	    c->format == EXPORT_FIRESTORE ? "firestore" : "ndjson",
	    e->url.tls ? "https" : "http", v6 ? "[" : "", e->url.host,
	    v6 ? "]" : "", (unsigned)e->url.port, e->cursor_path);
	return e;
}

const struct export_status *exporter_status(const struct exporter *e)
{
	return &e->st;
}

void exporter_drain(struct exporter *e, uint64_t within_ms)
{
	e->draining = true;
	e->drain_deadline = now_ms() + (int64_t)within_ms;
	arm_timer(e, e->state == ST_IDLE || e->state == ST_BACKOFF ?
	    now_ms() : 0);
}

void exporter_free(struct exporter *e)
{
	if (e == NULL)
		return;
	if (e->log->may_delete_ud == e)
		e->log->may_delete = NULL;
	close_conn(e);
	if (e->timer_slot >= 0)
		loop_del(e->loop, e->timer_slot);
	tls_anchors_free(&e->anchors);
	firestore_free(e->fs);
	free(e->tls);
	free(e->files);
	free(e->batch);
	free(e->req);
	free(e->resp);
	free(e);
}
