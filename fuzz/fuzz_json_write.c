/* fuzz_json_write.c - any bytes in a string member (plus numbers from the
 * first input bytes) must give one line that is valid UTF-8 JSON (checked
 * by the small independent validator below), whose "s" member decodes
 * back to the input when the input was valid UTF-8.  A line may only fail
 * to build when its worst-case escaped size really exceeds JSON_LINE_MAX.
 *
 * clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. fuzz/fuzz_json_write.c json_write.c hex.c \
 *     -o build/fuzz/fuzz_json_write
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

/* ---- independent UTF-8 check: decode the code point, then test it ---- */

/* Length of the well-formed sequence at p, or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0)
		len = 2, cp = p[0] & 0x1F;
	else if ((p[0] & 0xF0) == 0xE0)
		len = 3, cp = p[0] & 0x0F;
	else if ((p[0] & 0xF8) == 0xF0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static int utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		len = utf8_len(p + i, n - i);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

/* ---- minimal JSON validator (RFC 8259 grammar, no depth beyond 8) ---- */

struct cursor {
	const uint8_t *p;
	size_t n, i;
	uint8_t out[JSON_LINE_MAX];  /* last decoded string */
	size_t out_len;
};

static int peek(const struct cursor *c)
{
	return c->i < c->n ? c->p[c->i] : -1;
}

static int eat(struct cursor *c, const char *lit)
{
	size_t k = strlen(lit);

	if (c->n - c->i < k || memcmp(c->p + c->i, lit, k))
		return 0;
	c->i += k;
	return 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A string; its content (only \u00XX escapes are decoded exactly, which
 * is all the builder emits) lands in c->out. */
static int parse_string(struct cursor *c)
{
	static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
	size_t len;
	int ch, k;
	uint32_t u;

	c->out_len = 0;
	if (!eat(c, "\""))
		return 0;
	for (;;) {
		ch = peek(c);
		if (ch < 0x20)   /* end of input or raw control char */
			return 0;
		if (ch == '"') {
			c->i++;
			return 1;
		}
		if (ch == '\\') {
			c->i++;
			ch = peek(c);
			if (ch > 0 && strchr(simple, ch)) {
				c->out[c->out_len++] = (uint8_t)value[strchr(simple, ch) - simple];
				c->i++;
				continue;
			}
			if (ch != 'u')
				return 0;
			c->i++;
			for (u = 0, k = 0; k < 4; k++) {
				int h = hexval(peek(c));

				if (h < 0)
					return 0;
				u = u << 4 | (uint32_t)h;
				c->i++;
			}
			CHECK(u < 0x20);  /* the builder escapes nothing else this way */
			c->out[c->out_len++] = (uint8_t)u;
			continue;
		}
		len = utf8_len(c->p + c->i, c->n - c->i);
		if (!len)
			return 0;
		memcpy(c->out + c->out_len, c->p + c->i, len);
		c->out_len += len;
		c->i += len;
	}
}

static int parse_digits(struct cursor *c)
{
	size_t start = c->i;

	while (peek(c) >= '0' && peek(c) <= '9')
		c->i++;
	return c->i > start;
}

static int parse_number(struct cursor *c)
{
	eat(c, "-");
	if (eat(c, "0")) {
		if (peek(c) >= '0' && peek(c) <= '9')
			return 0;  /* no leading zeros */
	} else if (!parse_digits(c)) {
		return 0;
	}
	if (eat(c, ".") && !parse_digits(c))
		return 0;
	if (peek(c) == 'e' || peek(c) == 'E') {
		c->i++;
		if (!eat(c, "+"))
			eat(c, "-");
		if (!parse_digits(c))
			return 0;
	}
	return 1;
}

static int parse_value(struct cursor *c, int depth);

/* Object or array: open, members separated by ',', close. */
static int parse_container(struct cursor *c, int depth, int is_object)
{
	c->i++;
	if (eat(c, is_object ? "}" : "]"))
		return 1;
	do {
		if (is_object && !(parse_string(c) && eat(c, ":")))
			return 0;
		if (!parse_value(c, depth + 1))
			return 0;
	} while (eat(c, ","));
	return eat(c, is_object ? "}" : "]");
}

static int parse_value(struct cursor *c, int depth)
{
	int ch = peek(c);

	if (depth > 8)
		return 0;
	if (ch == '{' || ch == '[')
		return parse_container(c, depth, ch == '{');
	if (ch == '"')
		return parse_string(c);
	if (ch == '-' || (ch >= '0' && ch <= '9'))
		return parse_number(c);
	return eat(c, "true") || eat(c, "false") || eat(c, "null");
}

/* ---- the target ---- */

static void check_line(const struct json_line *j, const uint8_t *s, size_t n,
    int64_t v)
{
	struct cursor c = { .p = (const uint8_t *)j->buf, .n = j->len - 1 };
	char want[48];
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	CHECK(j->len >= 3 && j->buf[j->len - 1] == '\n' && j->buf[j->len] == '\0');
	CHECK(memchr(j->buf, '\n', j->len - 1) == NULL);
	CHECK(utf8_valid(c.p, c.n));
	CHECK(peek(&c) == '{' && parse_value(&c, 0) && c.i == c.n);

	/* the "s" member round-trips */
	c.i = 5;
	CHECK(memcmp(j->buf, "{\"s\":", 5) == 0 && parse_string(&c));
	if (utf8_valid(s, n))
		CHECK(c.out_len == n && memcmp(c.out, s, n) == 0);
	else
		CHECK(c.out_len <= 3 * n);

	/* "ms" member: the same digits printf gives */
	snprintf(want, sizeof want, ",\"ms\":%s%" PRIu64 ".%03u,", v < 0 ? "-" : "",
	    m / 1000, (unsigned)(m % 1000));
	CHECK(memcmp(j->buf + c.i, want, strlen(want)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_line j;
	int64_t v = 0;
	size_t head = size < 8 ? size : 8;
	const uint8_t *s = data + head;
	size_t n = size - head;

	memcpy(&v, data, head);
	json_begin(&j);
	json_strn(&j, "s", s, n);
	json_ms(&j, "ms", v);
	json_i64(&j, "i", v);
	json_u64(&j, "u", (uint64_t)v);
	json_hex(&j, "h", data, head);
	json_bool(&j, "b", v & 1);
	json_null(&j, "z");
	json_raw(&j, "r", "[1,{\"x\":[]}]");
	if (json_end(&j) == 0)
		check_line(&j, s, n, v);
	else  /* everything but "s" takes < 200 bytes; escaping is <= 6x */
		CHECK(6 * n + 200 > JSON_LINE_MAX - 1);
	return 0;
}
