/* ndjson.c - NDJSON line builder and rotating log file (see ndjson.h). */
#include "ndjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>  /* rename */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- line builder ---- */

static const char hex_digit[] = "0123456789abcdef";

/* Appends n bytes, keeping one byte for the terminating NUL. */
static void put(struct json_line *j, const void *p, size_t n)
{
	if (j->overflow)
		return;
	if (n > JSON_LINE_MAX - 1 - j->len) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static void put_char(struct json_line *j, char c)
{
	put(j, &c, 1);
}

static void put_cstr(struct json_line *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Decimal digits of v, zero-padded to at least width (<= 20); returns the
 * count written to out (no NUL). */
static size_t format_decimal(char out[20], uint64_t v, size_t width)
{
	char digits[20];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v || sizeof digits - i < width);
	memcpy(out, digits + i, sizeof digits - i);
	return sizeof digits - i;
}

static void put_u64(struct json_line *j, uint64_t v)
{
	char digits[20];

	put(j, digits, format_decimal(digits, v, 1));
}

/* |v| without the undefined -INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Length of the UTF-8 sequence at p[0..n) if it is well-formed (RFC 3629
 * section 4: the second byte's range is what excludes overlong forms,
 * surrogates and code points above U+10FFFF), with *valid = true.  If it
 * is ill-formed, *valid = false and the result is the length of its
 * maximal subpart (>= 1), which becomes one U+FFFD. */
static size_t utf8_sequence(const uint8_t *p, size_t n, bool *valid)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	*valid = false;
	if (b < 0x80)
		need = 1;
	else if (b >= 0xC2 && b <= 0xDF)
		need = 2;
	else if (b >= 0xE0 && b <= 0xEF)
		need = 3;
	else if (b >= 0xF0 && b <= 0xF4)
		need = 4;
	else
		return 1;  /* continuation byte, C0, C1 or F5..FF */

	if (b == 0xE0)
		lo = 0xA0;
	else if (b == 0xED)
		hi = 0x9F;
	else if (b == 0xF0)
		lo = 0x90;
	else if (b == 0xF4)
		hi = 0x8F;
	for (i = 1; i < need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xBF;
	}
	*valid = true;
	return need;
}

static void put_escaped_ascii(struct json_line *j, uint8_t c)
{
	char u[6] = { '\\', 'u', '0', '0', hex_digit[c >> 4], hex_digit[c & 15] };

	switch (c) {
	case '"':  put(j, "\\\"", 2); break;
	case '\\': put(j, "\\\\", 2); break;
	case '\b': put(j, "\\b", 2); break;
	case '\f': put(j, "\\f", 2); break;
	case '\n': put(j, "\\n", 2); break;
	case '\r': put(j, "\\r", 2); break;
	case '\t': put(j, "\\t", 2); break;
	default:
		if (c < 0x20)
			put(j, u, sizeof u);
		else
			put_char(j, (char)c);
	}
}

static bool plain_ascii(uint8_t c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static void put_string(struct json_line *j, const uint8_t *s, size_t n)
{
	size_t i = 0, len;
	bool valid;

	put_char(j, '"');
	while (i < n && !j->overflow) {
		/* Most bytes need nothing: copy them a run at a time. */
		for (len = 0; i + len < n && plain_ascii(s[i + len]); len++)
			;
		if (len > 0) {
			put(j, s + i, len);
			i += len;
			continue;
		}
		len = utf8_sequence(s + i, n - i, &valid);
		if (!valid)
			put(j, "\xEF\xBF\xBD", 3);  /* U+FFFD */
		else if (len == 1)
			put_escaped_ascii(j, s[i]);
		else
			put(j, s + i, len);
		i += len;
	}
	put_char(j, '"');
}

/* "," unless first, then "key":. */
static void put_key(struct json_line *j, const char *key)
{
	if (!j->first)
		put_char(j, ',');
	j->first = false;
	put_string(j, (const uint8_t *)key, strlen(key));
	put_char(j, ':');
}

void json_begin(struct json_line *j)
{
	j->len = 0;
	j->overflow = false;
	j->first = true;
	put_char(j, '{');
}

void json_strn(struct json_line *j, const char *key, const void *s, size_t n)
{
	put_key(j, key);
	put_string(j, s, n);
}

void json_str(struct json_line *j, const char *key, const char *s)
{
	if (!s)
		json_null(j, key);
	else
		json_strn(j, key, s, strlen(s));
}

void json_u64(struct json_line *j, const char *key, uint64_t v)
{
	put_key(j, key);
	put_u64(j, v);
}

void json_i64(struct json_line *j, const char *key, int64_t v)
{
	put_key(j, key);
	if (v < 0)
		put_char(j, '-');
	put_u64(j, magnitude(v));
}

void json_bool(struct json_line *j, const char *key, bool v)
{
	put_key(j, key);
	put_cstr(j, v ? "true" : "false");
}

void json_null(struct json_line *j, const char *key)
{
	put_key(j, key);
	put_cstr(j, "null");
}

void json_ms(struct json_line *j, const char *key, int64_t us)
{
	uint64_t m = magnitude(us);
	char frac[4] = {
		'.',
		(char)('0' + m / 100 % 10),
		(char)('0' + m / 10 % 10),
		(char)('0' + m % 10),
	};

	put_key(j, key);
	if (us < 0)
		put_char(j, '-');
	put_u64(j, m / 1000);
	put(j, frac, sizeof frac);
}

void json_hex(struct json_line *j, const char *key, const uint8_t *p, size_t n)
{
	size_t i;

	put_key(j, key);
	put_char(j, '"');
	for (i = 0; i < n && !j->overflow; i++) {
		char pair[2] = { hex_digit[p[i] >> 4], hex_digit[p[i] & 15] };

		put(j, pair, 2);
	}
	put_char(j, '"');
}

void hex_text(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digit[p[i] >> 4];
		out[2 * i + 1] = hex_digit[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void json_raw(struct json_line *j, const char *key, const char *raw)
{
	put_key(j, key);
	put_cstr(j, raw ? raw : "null");
}

int json_end(struct json_line *j)
{
	put(j, "}\n", 2);
	if (j->overflow)
		return -1;
	j->buf[j->len] = '\0';
	return 0;
}

void json_timestamp(char out[JSON_TIMESTAMP_LEN], const struct timespec *t)
{
	/* 9999-12-31T23:59:59Z keeps the year at four digits. */
	const time_t max_sec = (time_t)253402300799LL;
	time_t sec = t->tv_sec < 0 ? 0 : t->tv_sec > max_sec ? max_sec : t->tv_sec;
	long nsec = t->tv_nsec < 0 ? 0 : t->tv_nsec > 999999999 ? 999999999
	    : t->tv_nsec;
	struct tm tm;
	size_t i, len = 0;

	gmtime_r(&sec, &tm);
	const struct { int value; size_t width; char after; } field[] = {
		{ tm.tm_year + 1900, 4, '-' }, { tm.tm_mon + 1, 2, '-' },
		{ tm.tm_mday, 2, 'T' }, { tm.tm_hour, 2, ':' },
		{ tm.tm_min, 2, ':' }, { tm.tm_sec, 2, '.' },
		{ (int)(nsec / 1000), 6, 'Z' },
	};
	/* 4+1 + 5*(2+1) + 6+1 = 27 bytes plus the NUL. */
	for (i = 0; i < sizeof field / sizeof field[0]; i++) {
		len += format_decimal(out + len, (uint64_t)field[i].value,
		    field[i].width);
		out[len++] = field[i].after;
	}
	out[len] = '\0';
}

/* ---- rotating log file ---- */

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Switches the log to fd (closing the previous file) once fstat gave its
 * size; on failure fd is closed and the previous file stays. */
static int adopt_fd(struct ndjson_log *l, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->size = (uint64_t)st.st_size;
	l->torn = false;
	return 0;
}

int ndjson_open(struct ndjson_log *l, const char *path, uint64_t max_bytes,
    unsigned keep)
{
	size_t n = strlen(path);

	memset(l, 0, sizeof *l);
	l->fd = -1;
	if (keep > NDJSON_KEEP_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (n == 0 || n >= NDJSON_PATH_MAX - NDJSON_SUFFIX_MAX) {
		errno = n ? ENAMETOOLONG : ENOENT;
		return -1;
	}
	memcpy(l->path, path, n + 1);
	l->max_bytes = max_bytes;
	l->keep = keep;
	return ndjson_reopen(l);
}

int ndjson_reopen(struct ndjson_log *l)
{
	int fd = open_append(l->path);

	if (fd < 0)
		return -1;
	return adopt_fd(l, fd);
}

void ndjson_close(struct ndjson_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* PATH.k; fits because ndjson_open left NDJSON_SUFFIX_MAX bytes free. */
static void rotated_name(const struct ndjson_log *l, unsigned k,
    char out[NDJSON_PATH_MAX])
{
	size_t n = strlen(l->path);

	memcpy(out, l->path, n);
	out[n++] = '.';
	n += format_decimal(out + n, k, 1);
	out[n] = '\0';
}

void ndjson_file_name(const struct ndjson_log *l, unsigned k,
    char out[NDJSON_PATH_MAX])
{
	if (k == 0)
		memcpy(out, l->path, strlen(l->path) + 1);
	else
		rotated_name(l, k, out);
}

static bool needs_rotation(const struct ndjson_log *l, size_t len)
{
	return l->max_bytes && l->size > 0 && l->size + len > l->max_bytes;
}

/* PATH.(keep-1) -> PATH.keep ... PATH -> PATH.1, then a fresh PATH.  A gap
 * in the numbering (ENOENT) is not an error.  With keep == 0 the old file
 * is deleted.  Until the fresh PATH is open, lines keep going to the old
 * descriptor wherever its file now lives, so none is lost. */
static int rotate(struct ndjson_log *l)
{
	char from[NDJSON_PATH_MAX], to[NDJSON_PATH_MAX];
	unsigned k;
	int rc;

	for (k = l->keep; k >= 2; k--) {
		rotated_name(l, k - 1, from);
		rotated_name(l, k, to);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -1;
	}
	if (l->keep == 0) {
		rc = unlink(l->path);
	} else {
		rotated_name(l, 1, to);
		rc = rename(l->path, to);
	}
	if (rc < 0 && errno != ENOENT)
		return -1;
	if (ndjson_reopen(l) < 0)
		return -1;
	l->rotations++;
	return 0;
}

/* True when may_delete vetoes deleting the file a rotation would drop. */
static bool rotation_held(struct ndjson_log *l)
{
	char victim[NDJSON_PATH_MAX];

	if (l->may_delete == NULL)
		return false;
	ndjson_file_name(l, l->keep, victim);
	if (l->may_delete(l->may_delete_ud, victim))
		return false;
	l->rotations_held++;
	return true;
}

static ssize_t write_once(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = write(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Removes the n bytes a short write appended.  With O_APPEND the file
 * offset is the end of what we just wrote. */
static void cut_short_write(struct ndjson_log *l, size_t n)
{
	off_t end = lseek(l->fd, 0, SEEK_CUR);

	if (end >= (off_t)n && ftruncate(l->fd, end - (off_t)n) == 0) {
		l->size = (uint64_t)(end - (off_t)n);
		return;
	}
	l->torn = true;
}

/* After a torn fragment that could not be cut off: end it so that the
 * next line starts on a line of its own. */
static int end_torn_fragment(struct ndjson_log *l)
{
	if (write_once(l->fd, "\n", 1) != 1)
		return -1;
	l->size++;
	l->torn = false;
	return 0;
}

int ndjson_write(struct ndjson_log *l, const char *line, size_t len)
{
	ssize_t n;

	if (len == 0 || line[len - 1] != '\n') {
		errno = EINVAL;
		return -1;
	}
	if (l->fd < 0) {
		l->errors++;
		errno = EBADF;
		return -1;
	}
	if (needs_rotation(l, len) && !rotation_held(l) && rotate(l) < 0)
		l->rotate_errors++;
	if (l->torn && end_torn_fragment(l) < 0) {
		l->errors++;
		return -1;
	}
	n = write_once(l->fd, line, len);
	if (n == (ssize_t)len) {
		l->size += len;
		l->lines++;
		return 0;
	}
	if (n > 0) {
		cut_short_write(l, (size_t)n);
		errno = ENOSPC;
	} else if (n == 0) {
		errno = ENOSPC;
	}
	l->errors++;
	return -1;
}

void ndjson_event_id(struct ndjson_log *l, char out[NDJSON_EVENT_ID_MAX])
{
	snprintf(out, NDJSON_EVENT_ID_MAX, "%s-%llu", l->event_prefix,
	    (unsigned long long)l->next_event++);
}
