/* http1.c - HTTP/1.1 messages, both ways (see http1.h). */
#include "http1.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "hex.h"

#define CHUNK_SIZE_DIGITS_MAX 15      /* < 2^60, no overflow */

/* ---- URL ---- */

static bool copy_span(char *out, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static int parse_port(const char *p, size_t n, uint16_t *port)
{
	uint64_t v;

	if (decimal_parse(p, n, 1, 65535, &v) != 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Bytes allowed in a host name or address: no user info, no spaces. */
static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' ||
	    c == '_';
}

int url_parse(const char *s, struct url *u)
{
	const char *host, *end, *port = NULL;
	size_t host_len;

	memset(u, 0, sizeof *u);
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = true;
		u->port = 443;
		host = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		u->port = 80;
		host = s + 7;
	} else {
		return -1;
	}
	end = host + strcspn(host, "/?#");
	if (*end == '#' || strchr(end, '#') != NULL)
		return -1;
	if (host[0] == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (close == NULL || (close + 1 != end && close[1] != ':'))
			return -1;
		host_len = (size_t)(close - host - 1);
		if (close + 1 != end)
			port = close + 2;
		host++;
	} else {
		port = memchr(host, ':', (size_t)(end - host));
		host_len = (size_t)((port ? port : end) - host);
		if (port)
			port++;
	}
	if (host_len == 0 || !copy_span(u->host, sizeof u->host, host, host_len))
		return -1;
	for (size_t i = 0; i < host_len; i++)
		if (!host_char_ok(u->host[i]))
			return -1;
	if (port && parse_port(port, (size_t)(end - port), &u->port) != 0)
		return -1;
	if (*end == '\0')
		return copy_span(u->path, sizeof u->path, "/", 1) ? 0 : -1;
	for (const char *p = end; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return -1;
	if (*end == '?') {   /* "host?q" means "/?q" */
		u->path[0] = '/';
		return copy_span(u->path + 1, sizeof u->path - 1, end,
		    strlen(end)) ? 0 : -1;
	}
	return copy_span(u->path, sizeof u->path, end, strlen(end)) ? 0 : -1;
}

/* ---- request ---- */

int http1_post_head(char *out, size_t cap, const struct url *u,
    const char *content_type, size_t body_len, const char *extra)
{
	bool v6 = strchr(u->host, ':') != NULL;
	bool default_port = u->port == (u->tls ? 443 : 80);
	char port[8] = "";
	int n;

	if (!default_port)
		snprintf(port, sizeof port, ":%u", (unsigned)u->port);
	n = snprintf(out, cap, "POST %s HTTP/1.1\r\nHost: %s%s%s%s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s\r\n", u->path, v6 ? "[" : "", u->host,
	    v6 ? "]" : "", port, content_type, body_len, extra ? extra : "");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* RFC 9110 tchar */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* A field value byte: visible, space, tab or obs-text. */
static bool is_value_char(char c)
{
	unsigned char b = (unsigned char)c;

	return b == '\t' || (b >= ' ' && b != 0x7f);
}

/* Length of the "Name: value\r\n" line at p, or 0 if it is not one. */
static size_t header_line_len(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ':')
		return 0;
	while (++i < len && p[i] != '\r')
		if (!is_value_char(p[i]))
			return 0;
	if (i + 1 >= len || p[i + 1] != '\n')
		return 0;
	return i + 2;
}

int http1_check_headers(const char *block, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = header_line_len(block + i, len - i);
		if (n == 0)
			return -1;
		i += n;
	}
	return 0;
}

/* ---- heads, both ways ---- */

/* Offset just past the first CRLF CRLF in buf[0..len), or 0. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

static bool name_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* ---- response ---- */

/* "HTTP/1.x SSS[ reason]" */
static int parse_status_line(const char *p, size_t n, int *status)
{
	uint64_t v = 0;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    decimal_parse(p + 9, 3, 100, 999, &v) != 0 ||
	    (n > 12 && p[12] != ' '))
		return -1;
	for (size_t i = 12; i < n; i++)
		if (!is_value_char(p[i]))
			return -1;
	*status = (int)v;
	return 0;
}

/* The value of a header line without surrounding blanks. */
static void header_value(const char *line, size_t n, const char **v,
    size_t *vn)
{
	const char *colon = memchr(line, ':', n);
	const char *b = colon + 1, *e = line + n;

	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*v = b;
	*vn = (size_t)(e - b);
}

/* Content-Length / Transfer-Encoding; other headers are skipped. */
static int apply_header(const char *line, size_t n, struct http1_response *r)
{
	const char *v;
	size_t vn;

	header_value(line, n, &v, &vn);
	if (name_is(line, "content-length")) {
		uint64_t cl;
		if (decimal_parse(v, vn, 0, HTTP1_CONTENT_LENGTH_MAX, &cl) != 0 ||
		    (r->content_length >= 0 && (uint64_t)r->content_length != cl))
			return -1;
		r->content_length = (int64_t)cl;
	} else if (name_is(line, "transfer-encoding")) {
		r->chunked = vn >= 7 && strncasecmp(v + vn - 7, "chunked", 7) == 0 &&
		    (vn == 7 || v[vn - 8] == ' ' || v[vn - 8] == ',');
		if (!r->chunked)   /* gzip etc.: we asked for none */
			return -1;
	}
	return 0;
}

int http1_parse_response(const char *buf, size_t len,
    struct http1_response *r)
{
	size_t head = head_end(buf, len < HTTP1_HEAD_MAX ? len : HTTP1_HEAD_MAX);
	const char *end = buf + head;

	if (head == 0)
		return len >= HTTP1_HEAD_MAX ? -1 : -2;
	r->status = 0;
	r->content_length = -1;
	r->chunked = false;

	const char *eol = memchr(buf, '\r', (size_t)(end - buf));
	if (parse_status_line(buf, (size_t)(eol - buf), &r->status) != 0)
		return -1;
	for (const char *p = eol + 2; p < end - 2;) {
		size_t n = header_line_len(p, (size_t)(end - 2 - p));
		if (n == 0 || apply_header(p, n - 2, r) != 0)
			return -1;
		p += n;
	}
	/* Both framings at once is a smuggling pattern (RFC 9112 6.3). */
	if (r->chunked && r->content_length >= 0)
		return -1;
	return (int)(end - buf);
}

/* ---- request ---- */

/* Request-target bytes: visible ASCII. */
static bool is_target_char(char c)
{
	return c > ' ' && c < 0x7f;
}

static size_t span(const char *p, size_t n, bool (*ok)(char))
{
	size_t i = 0;

	while (i < n && ok(p[i]))
		i++;
	return i;
}

/* The path of an origin-form ("/p?q") or absolute-form ("http://h/p?q",
 * which servers must accept: RFC 9112 3.2.2) target; false for any
 * other form. */
static bool target_path(const char *t, size_t n, struct http1_request *r)
{
	size_t skip = 0;

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
	r->path = t + skip;
	r->path_len = (q ? (size_t)(q - t) : n) - skip;
	return true;
}

/* "METHOD SP target SP HTTP/1.d CRLF" at p[0..n): its length, or 0. */
static size_t request_line(const char *p, size_t n, struct http1_request *r)
{
	size_t i = span(p, n, is_tchar), target_len;

	r->method = p;
	r->method_len = i;
	if (i == 0 || i == n || p[i++] != ' ')
		return 0;
	target_len = span(p + i, n - i, is_target_char);
	if (!target_path(p + i, target_len, r))
		return 0;
	i += target_len;
	if (n - i < 11 || memcmp(p + i, " HTTP/1.", 8) != 0 ||
	    p[i + 8] < '0' || p[i + 8] > '9' || memcmp(p + i + 9, "\r\n", 2))
		return 0;
	r->minor = p[i + 8] - '0';
	return i + 11;
}

int http1_parse_request(const char *buf, size_t len, struct http1_request *r)
{
	size_t end = head_end(buf, len), i;
	unsigned hosts = 0;

	if (end == 0)
		return -2;
	if ((i = request_line(buf, end, r)) == 0)
		return -1;
	while (i < end - 2) {
		size_t n = header_line_len(buf + i, end - 2 - i);
		if (n == 0)
			return -1;
		hosts += name_is(buf + i, "host");
		i += n;
	}
	if (hosts > 1 || (r->minor > 0 && hosts == 0) || end > INT_MAX)
		return -1;
	return (int)end;
}

/* ---- chunked body ---- */

/* Position after the CRLF ending the line at i, or -2 / -1. */
static long line_end(const char *buf, size_t len, size_t i)
{
	const char *cr = memchr(buf + i, '\r', len - i);

	if (memchr(buf + i, '\n', (size_t)((cr ? cr : buf + len) - buf) - i))
		return -1;   /* a bare LF */
	if (cr == NULL)
		return len - i > HTTP1_HEAD_MAX ? -1 : -2;
	if ((size_t)(cr - buf) + 1 >= len)
		return -2;
	return cr[1] == '\n' ? (long)(cr - buf) + 2 : -1;
}

/* One pass over the chunks; with `copy` the data is also moved down. */
static long walk_chunks(char *buf, size_t len, bool copy, size_t *body_len)
{
	size_t i = 0, out = 0;

	for (;;) {
		uint64_t size = 0;
		size_t digits = 0;
		int h;

		while (i + digits < len && (h = hex_digit_value(buf[i + digits])) >= 0) {
			if (++digits > CHUNK_SIZE_DIGITS_MAX)
				return -1;
			size = size * 16 + (uint64_t)h;
		}
		if (i + digits == len)
			return -2;
		if (digits == 0 || (buf[i + digits] != '\r' &&
		    buf[i + digits] != ';'))
			return -1;
		long next = line_end(buf, len, i + digits);  /* skips extensions */
		if (next < 0)
			return next;
		i = (size_t)next;
		if (size == 0)
			break;
		if (size > len - i || len - i - size < 2)
			return -2;
		if (buf[i + size] != '\r' || buf[i + size + 1] != '\n')
			return -1;
		if (copy)
			memmove(buf + out, buf + i, size);
		out += size;
		i += size + 2;
	}
	for (;;) {   /* trailers, then the blank line */
		long next = line_end(buf, len, i);
		if (next < 0)
			return next;
		if ((size_t)next == i + 2) {
			*body_len = out;
			return next;
		}
		i = (size_t)next;
	}
}

long http1_dechunk(char *buf, size_t len, size_t *body_len)
{
	long r = walk_chunks(buf, len, false, body_len);

	return r < 0 ? r : walk_chunks(buf, len, true, body_len);
}
