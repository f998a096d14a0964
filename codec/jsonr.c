/* jsonr.c - small JSON reader (see jsonr.h). */
#include "jsonr.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "hex.h"

size_t jsonr_ws(const char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
	    p[i] == '\r'))
		i++;
	return i;
}

static int hex4(const char *p, size_t n, size_t i, uint32_t *v)
{
	*v = 0;
	if (n - i < 4)
		return -1;
	for (size_t k = i; k < i + 4; k++) {
		int d = hex_digit_value(p[k]);
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* UTF-8 of code point cp into out at *o, if it fits. */
static bool put_utf8(char *out, size_t cap, size_t *o, uint32_t cp)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (out == NULL)
		return true;
	if (cap - *o <= k)
		return false;
	memcpy(out + *o, b, k);
	*o += k;
	return true;
}

/* \uXXXX, with a surrogate pair as one code point; index after it. */
static long unicode_escape(const char *p, size_t n, size_t i, uint32_t *cp)
{
	uint32_t lo;

	if (hex4(p, n, i, cp) != 0)
		return -1;
	i += 4;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -1;
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (n - i < 6 || p[i] != '\\' || p[i + 1] != 'u' ||
		    hex4(p, n, i + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	}
	return *cp == 0 ? -1 : (long)i;
}

/* Bytes a string holds as they are: not '"', '\\' or a control byte. */
static const bool plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,    /* !"... */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* 0-? */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* @-O */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,             /* P-_ */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,             /* 0x80- */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

long jsonr_string(const char *p, size_t n, size_t i, char *out, size_t cap,
    size_t *len)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;

	if (i >= n || p[i] != '"' || (out != NULL && cap == 0))
		return -1;
	for (i++; i < n; i++) {
		uint32_t cp = (unsigned char)p[i];
		size_t run = i;      /* bytes that need nothing, a run at once */
		while (run < n && plain[(unsigned char)p[run]])
			run++;
		if (run > i) {
			if (out != NULL) {
				if (cap - o <= run - i)
					return -1;
				memcpy(out + o, p + i, run - i);
				o += run - i;
			}
			i = run - 1;
			continue;
		}
		if (p[i] == '"') {
			if (out != NULL) {
				out[o] = '\0';
				*len = o;
			}
			return (long)i + 1;
		}
		if (cp < 0x20)
			return -1;
		if (p[i] == '\\') {
			const char *e;
			if (++i == n)
				return -1;
			if (p[i] == 'u') {
				long next = unicode_escape(p, n, i + 1, &cp);
				if (next < 0 || !put_utf8(out, cap, &o, cp))
					return -1;
				i = (size_t)next - 1;
				continue;
			}
			if (p[i] == '\0' || (e = strchr(esc_in, p[i])) == NULL)
				return -1;
			cp = (unsigned char)esc_out[e - esc_in];
		}
		if (out != NULL) {   /* raw bytes copied as they are */
			if (cap - o <= 1)
				return -1;
			out[o++] = (char)cp;
		}
	}
	return -1;
}

static size_t skip_digits(const char *p, size_t n, size_t i)
{
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static long skip_number(const char *p, size_t n, size_t i)
{
	size_t d;

	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if ((d = skip_digits(p, n, i)) > i)
		i = d;
	else
		return -1;
	if (i < n && p[i] == '.') {
		if ((d = skip_digits(p, n, i + 1)) == i + 1)
			return -1;
		i = d;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if ((d = skip_digits(p, n, i)) == i)
			return -1;
		i = d;
	}
	return (long)i;
}

static long skip_literal(const char *p, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);

	return n - i >= k && memcmp(p + i, lit, k) == 0 ? (long)(i + k) : -1;
}

static long skip_at(const char *p, size_t n, size_t i, int depth);

/* next: the index after a member's key (negative: a bad key); the index
 * after the ':' that must follow it, or -1. */
static long after_colon(const char *p, size_t n, long next)
{
	size_t i;

	if (next < 0)
		return -1;
	i = jsonr_ws(p, n, (size_t)next);
	return i < n && p[i] == ':' ? (long)i + 1 : -1;
}

/* Members or elements up to the closing bracket; index after it. */
static long skip_container(const char *p, size_t n, size_t i, int depth,
    bool object)
{
	char close = object ? '}' : ']';

	i = jsonr_ws(p, n, i + 1);
	if (i < n && p[i] == close)
		return (long)i + 1;
	for (;;) {
		long next;
		if (object) {
			next = after_colon(p, n, jsonr_string(p, n,
			    jsonr_ws(p, n, i), NULL, 0, NULL));
			if (next < 0)
				return -1;
			i = (size_t)next;
		}
		next = skip_at(p, n, i, depth + 1);
		if (next < 0)
			return -1;
		i = jsonr_ws(p, n, (size_t)next);
		if (i < n && p[i] == close)
			return (long)i + 1;
		if (i >= n || p[i] != ',')
			return -1;
		i++;
	}
}

static long skip_at(const char *p, size_t n, size_t i, int depth)
{
	i = jsonr_ws(p, n, i);
	if (i >= n || depth > JSONR_DEPTH_MAX)
		return -1;
	switch (p[i]) {
	case '"':
		return jsonr_string(p, n, i, NULL, 0, NULL);
	case '{':
		return skip_container(p, n, i, depth, true);
	case '[':
		return skip_container(p, n, i, depth, false);
	case 't':
		return skip_literal(p, n, i, "true");
	case 'f':
		return skip_literal(p, n, i, "false");
	case 'n':
		return skip_literal(p, n, i, "null");
	default:
		return skip_number(p, n, i);
	}
}

long jsonr_skip(const char *p, size_t n, size_t i)
{
	return skip_at(p, n, i, 0);
}

int jsonr_iter_begin(struct jsonr_iter *it, const char *p, size_t n,
    size_t i)
{
	i = jsonr_ws(p, n, i);
	if (i >= n || (p[i] != '{' && p[i] != '['))
		return -1;
	it->close = p[i] == '{' ? '}' : ']';
	it->next = i + 1;
	it->started = false;
	return 0;
}

int jsonr_iter_next(struct jsonr_iter *it, const char *p, size_t n,
    char *key, size_t cap, size_t *value)
{
	size_t i = jsonr_ws(p, n, it->next), len;

	if (i < n && p[i] == it->close) {
		it->next = i + 1;
		return 0;
	}
	if (it->started) {
		if (i >= n || p[i] != ',')
			return -1;
		i = jsonr_ws(p, n, i + 1);
	}
	it->started = true;
	it->key_len = 0;
	if (it->close == '}') {
		long next = jsonr_string(p, n, i, key, cap, &len);
		if (next < 0) {   /* malformed, or a key longer than cap */
			next = jsonr_string(p, n, i, NULL, 0, NULL);
			key[0] = '\0';
			len = 0;
		}
		it->key_len = len;
		next = after_colon(p, n, next);
		if (next < 0)
			return -1;
		i = (size_t)next;
	}
	i = jsonr_ws(p, n, i);
	if (i >= n)
		return -1;
	*value = i;
	return 1;
}

long jsonr_member(const char *p, size_t n, size_t i, const char *key)
{
	char name[256];
	struct jsonr_iter it;
	size_t value;

	if (jsonr_iter_begin(&it, p, n, i) != 0 || it.close != '}')
		return -1;
	while (jsonr_iter_next(&it, p, n, name, sizeof name, &value) == 1) {
		if (strcmp(name, key) == 0)
			return (long)value;
		long next = jsonr_skip(p, n, value);
		if (next < 0)
			return -1;
		it.next = (size_t)next;
	}
	return -1;
}

long jsonr_u64(const char *p, size_t n, size_t i, uint64_t *v)
{
	size_t end = i;

	*v = 0;
	while (end < n && p[end] >= '0' && p[end] <= '9')
		end++;
	/* JSON has no leading zeros; a fraction or exponent is no integer. */
	if ((end < n && (p[end] == '.' || p[end] == 'e' || p[end] == 'E')) ||
	    (end - i > 1 && p[i] == '0') ||
	    decimal_parse(p + i, end - i, 0, UINT64_MAX, v) != 0)
		return -1;
	return (long)end;
}
