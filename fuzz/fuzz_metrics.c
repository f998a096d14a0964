/* fuzz_metrics.c - libFuzzer target for the metrics HTTP request parser
 * and the exposition.
 *
 * Input: the bytes a client sent.  The parser must never read past len
 * (the input is copied to a heap buffer of its exact size), never answer
 * INCOMPLETE at or past the size cap, and give the same answer however
 * many bytes follow the end of the head and however the input was split
 * into reads (every shorter prefix of a complete head is incomplete).
 * A routed request must really name its path and method.  The input also
 * serves as label values: the rendered exposition must fit, and hold only
 * printable ASCII and newlines.
 *
 *   clang -std=c11 -D_DEFAULT_SOURCE -g -O1 \
 *       -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_metrics.c \
 *       metrics.c config.c loop.c -o build/fuzz/fuzz_metrics
 */
#define _GNU_SOURCE        /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); \
	abort(); } } while (0)

static enum metrics_route parse_copy(const uint8_t *data, size_t len,
    bool *head)
{
	char *buf = malloc(len ? len : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, len);
	enum metrics_route r = metrics_parse_request(buf, len, head);
	free(buf);
	return r;
}

/* Offset just past the first CRLF CRLF, or 0 (independent of metrics.c).
 * memmem, not a loop of memcmp: the harness's own compares are traced by
 * the fuzzer and cost more than the parser they check. */
static size_t find_end(const uint8_t *d, size_t len)
{
	const uint8_t *p = memmem(d, len, "\r\n\r\n", 4);
	return p == NULL ? 0 : (size_t)(p - d) + 4;
}

static bool first_line_has(const uint8_t *d, size_t len, const char *s)
{
	const uint8_t *cr = memchr(d, '\r', len);
	return memmem(d, cr == NULL ? len : (size_t)(cr - d), s,
	    strlen(s)) != NULL;
}

static void check_parser(const uint8_t *data, size_t size)
{
	bool head, head2;
	enum metrics_route r = parse_copy(data, size, &head);
	size_t end = find_end(data, size);

	if (end == 0 || end > METRICS_REQ_MAX) {
		CHECK(r == (size >= METRICS_REQ_MAX ? ROUTE_TOO_LARGE :
		    ROUTE_INCOMPLETE));
		return;
	}
	CHECK(r != ROUTE_INCOMPLETE && r != ROUTE_TOO_LARGE);
	/* Bytes after the head change nothing; shorter reads are incomplete. */
	CHECK(parse_copy(data, end, &head2) == r && head2 == head);
	CHECK(parse_copy(data, end - 1, &head2) == ROUTE_INCOMPLETE);
	CHECK(parse_copy(data, end / 2, &head2) == ROUTE_INCOMPLETE);
	if (head)
		CHECK(size >= 5 && memcmp(data, "HEAD ", 5) == 0);
	if (r == ROUTE_METRICS)
		CHECK(first_line_has(data, end, "/metrics"));
	if (r == ROUTE_HEALTHZ)
		CHECK(first_line_has(data, end, "/healthz"));
	if (r == ROUTE_METRICS || r == ROUTE_HEALTHZ)
		CHECK(head || memcmp(data, "GET ", 4) == 0);
}

/* The bytes an exposition may hold: newline and printable ASCII, for one
 * strspn over the body (set up once, in LLVMFuzzerInitialize). */
static char printable[1 + 0x7f - 0x20 + 1] = "\n";

/* Pieces of the input as label values, cut at NUL bytes. */
static void check_exposition(const uint8_t *data, size_t size)
{
	static struct metrics m;
	static char body[METRICS_BODY_MAX];
	char label[3][METRICS_LABEL_MAX * 2];

	for (int i = 0; i < 3; i++) {
		size_t off = size * (size_t)i / 3, n = size / 3;
		if (n >= sizeof label[i])
			n = sizeof label[i] - 1;
		memcpy(label[i], data + off, n);
		label[i][n] = '\0';
	}
	metrics_init(&m, label[0], label[1], label[2]);
	/* Twice METRICS_SERIES connections reach every state a family can
	 * be in (full, and more sent to "other"); more would only raise the
	 * counts, at a cost that halved this target's speed. */
	for (size_t i = 0; i < size && i < 2 * METRICS_SERIES; i++) {
		label[0][0] = (char)data[i];
		struct metrics_conn c = { label[0], data[i] % 2 ? -1 :
		    (int64_t)data[i] << 24, label[1], label[2],
		    (int64_t)data[i] * 99991 - 1 };
		metrics_count_conn(&m, &c);
	}
	size_t n = metrics_render(&m, body, sizeof body);
	CHECK(n > 0 && n == strlen(body) && body[n - 1] == '\n');
	CHECK(strspn(body, printable) == n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int c = 0x20; c < 0x7f; c++)
		printable[1 + c - 0x20] = (char)c;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parser(data, size);
	check_exposition(data, size);
	return 0;
}
