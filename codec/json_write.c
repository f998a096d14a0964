/* json_write.c - the NDJSON line builder (see json_write.h). */
#include "json_write.h"

#include <string.h>

#include "hex.h"

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
	char u[7] = "\\u00";      /* and two hex digits */

	switch (c) {
	case '"':  put(j, "\\\"", 2); break;
	case '\\': put(j, "\\\\", 2); break;
	case '\b': put(j, "\\b", 2); break;
	case '\f': put(j, "\\f", 2); break;
	case '\n': put(j, "\\n", 2); break;
	case '\r': put(j, "\\r", 2); break;
	case '\t': put(j, "\\t", 2); break;
	default:
		if (c >= 0x20) {
			put_char(j, (char)c);
			break;
		}
		hex_text(u + 4, &c, 1);
		put(j, u, 6);
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
	put_key(j, key);
	put_char(j, '"');
	/* put() keeps a byte for the NUL, which hex_text writes there. */
	if (!j->overflow && n <= (JSON_LINE_MAX - 1 - j->len) / 2) {
		hex_text(j->buf + j->len, p, n);
		j->len += 2 * n;
	} else {
		j->overflow = true;
	}
	put_char(j, '"');
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
