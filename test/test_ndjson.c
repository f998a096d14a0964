/* test_ndjson.c - line builder (escaping, UTF-8 repair, numbers, overflow,
 * timestamps) and the rotating log (rotation, reopen, short-write repair).
 * Files live in a mkdtemp directory; every file the log produced is also
 * checked line by line by Python's json module. */
#define _XOPEN_SOURCE 700  /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ci_skip.h"
#include "ndjson.h"

#define PYTHON "/usr/bin/python3"
/* Paths in the temp dir, and names derived from them (PATH.1...). */
#define TMP_PATH 256
#define TMP_NAME (TMP_PATH + 32)

static char tmpdir[64];

/* ---- helpers ---- */

/* The line {"s":<s escaped>}\n for n raw bytes. */
static const char *line_of(struct json_line *j, const void *s, size_t n)
{
	json_begin(j);
	json_strn(j, "s", s, n);
	assert_int_equal(json_end(j), 0);
	assert_int_equal(strlen(j->buf), j->len);
	return j->buf;
}

static void assert_escapes(const void *raw, size_t n, const char *escaped)
{
	struct json_line j;
	char want[256];

	snprintf(want, sizeof want, "{\"s\":\"%s\"}\n", escaped);
	assert_string_equal(line_of(&j, raw, n), want);
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Whole file into buf (NUL-terminated); returns its size or -1. */
static long slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (long)n;
}

static void assert_python_ok(const char *script, const char *path)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "%s -c '%s' '%s'", PYTHON, script, path);
	assert_int_equal(system(cmd), 0);
}

/* Every line of the file is one JSON object (and the file is UTF-8). */
static void assert_all_lines_json(const char *path)
{
	assert_python_ok("import json,sys\n"
	    "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
	    "  assert l.endswith(\"\\n\") and isinstance(json.loads(l), dict)",
	    path);
}

static void write_seq_line(struct ndjson_log *l, unsigned seq)
{
	struct json_line j;

	json_begin(&j);
	json_u64(&j, "seq", seq);
	json_str(&j, "pad", "0123456789012345678901234567890123456789");
	assert_int_equal(json_end(&j), 0);
	assert_int_equal(ndjson_write(l, j.buf, j.len), 0);
}

/* Parses the "seq" numbers of a file's lines, checking each line is
 * complete; returns how many were appended to seq[]. */
static size_t read_seqs(const char *path, unsigned *seq, size_t cap)
{
	static char buf[1 << 16];
	char *p = buf, *nl;
	size_t n = 0;

	assert_true(slurp(path, buf, sizeof buf) >= 0);
	while ((nl = strchr(p, '\n'))) {
		assert_int_equal(strncmp(p, "{\"seq\":", 7), 0);
		assert_true(n < cap);
		seq[n++] = (unsigned)strtoul(p + 7, NULL, 10);
		assert_memory_equal(nl - 2, "\"}", 2);
		p = nl + 1;
	}
	assert_int_equal(*p, '\0');  /* no torn tail */
	return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_ndjson.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- escaping ---- */

static void test_control_chars_escaped(void **state)
{
	static const char *const short_form[32] = {
		['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n",
		['\f'] = "\\f", ['\r'] = "\\r",
	};
	char want[8];
	uint8_t c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		if (short_form[c])
			snprintf(want, sizeof want, "%s", short_form[c]);
		else
			snprintf(want, sizeof want, "\\u%04x", c);
		assert_escapes(&c, 1, want);
	}
	assert_escapes("\x7f", 1, "\x7f");  /* DEL needs no escape */
}

static void test_quote_backslash_escaped(void **state)
{
	(void)state;
	assert_escapes("a\"b\\c/d", 7, "a\\\"b\\\\c/d");
	assert_escapes("", 0, "");
	assert_escapes("\"\"", 2, "\\\"\\\"");
}

static void test_valid_utf8_kept(void **state)
{
	static const char *const ok[] = {
		"\xc2\x80", "\xc3\xa9", "\xdf\xbf",        /* U+0080 e-acute U+07FF */
		"\xe0\xa0\x80", "\xe2\x82\xac",            /* U+0800, euro */
		"\xed\x9f\xbf", "\xee\x80\x80",            /* U+D7FF, U+E000 */
		"\xef\xbf\xbd", "\xef\xbf\xbf",            /* U+FFFD, U+FFFF */
		"\xf0\x90\x80\x80", "\xf0\x9d\x84\x9e",    /* U+10000, G clef */
		"\xf4\x8f\xbf\xbf",                        /* U+10FFFF */
		"/kaspad:1.0.1(\xd0\xba\xd0\xb0\xd1\x81)/",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_escapes(ok[i], strlen(ok[i]), ok[i]);
}

static void test_invalid_utf8_replaced(void **state)
{
#define R "\xef\xbf\xbd"
	static const struct { const char *in; const char *out; } cases[] = {
		{ "\x80", R },                         /* stray continuation */
		{ "\xbf" "a", R "a" },
		{ "\xc0\xaf", R R },                   /* overlong '/' */
		{ "\xc1\xbf", R R },
		{ "\xe0\x80\xaf", R R R },             /* overlong 3-byte */
		{ "\xe0\x9f\xbf", R R R },
		{ "\xed\xa0\x80", R R R },             /* surrogate D800 */
		{ "\xed\xbf\xbf", R R R },             /* surrogate DFFF */
		{ "\xf0\x8f\xbf\xbf", R R R R },       /* overlong 4-byte */
		{ "\xf4\x90\x80\x80", R R R R },       /* U+110000 */
		{ "\xf5\x80\x80\x80", R R R R },
		{ "\xf8\x88\x80\x80\x80", R R R R R },
		{ "\xfe\xff", R R },
		{ "\xc2", R },                         /* truncated at end */
		{ "\xe2\x82", R },
		{ "\xf0\x9f\x98", R },
		{ "\xe2\x82" "A", R "A" },             /* truncated mid-string */
		{ "\xf0\x9f\x98x", R "x" },
		{ "\xf0\x9f\x98\x80\x80", "\xf0\x9f\x98\x80" R },
		{ "a\xc3\x28z", "a" R "(z" },
	};
#undef R
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_escapes(cases[i].in, strlen(cases[i].in), cases[i].out);
}

static void test_nul_byte_in_strn(void **state)
{
	(void)state;
	assert_escapes("a\0b", 3, "a\\u0000b");
}

/* ---- values ---- */

static void test_all_value_kinds(void **state)
{
	static const uint8_t id[4] = { 0x00, 0xab, 0x7f, 0xff };
	struct json_line j;

	(void)state;
	json_begin(&j);
	json_str(&j, "a", "x");
	json_str(&j, "b", NULL);
	json_u64(&j, "c", UINT64_MAX);
	json_i64(&j, "d", INT64_MIN);
	json_i64(&j, "e", 0);
	json_bool(&j, "f", true);
	json_bool(&j, "g", false);
	json_null(&j, "h");
	json_hex(&j, "i", id, sizeof id);
	json_hex(&j, "k", id, 0);
	json_raw(&j, "l", "[1,{\"x\":2}]");
	json_raw(&j, "m", NULL);
	assert_int_equal(json_end(&j), 0);
	assert_string_equal(j.buf, "{\"a\":\"x\",\"b\":null,"
	    "\"c\":18446744073709551615,\"d\":-9223372036854775808,\"e\":0,"
	    "\"f\":true,\"g\":false,\"h\":null,\"i\":\"00ab7fff\",\"k\":\"\","
	    "\"l\":[1,{\"x\":2}],\"m\":null}\n");
}

static void test_empty_object(void **state)
{
	struct json_line j;

	(void)state;
	json_begin(&j);
	assert_int_equal(json_end(&j), 0);
	assert_string_equal(j.buf, "{}\n");
}

static void assert_ms(int64_t us, const char *want)
{
	struct json_line j;
	char line[64];

	json_begin(&j);
	json_ms(&j, "t", us);
	assert_int_equal(json_end(&j), 0);
	snprintf(line, sizeof line, "{\"t\":%s}\n", want);
	assert_string_equal(j.buf, line);
}

static void test_ms_exact(void **state)
{
	(void)state;
	assert_ms(0, "0.000");
	assert_ms(1, "0.001");
	assert_ms(10, "0.010");
	assert_ms(999, "0.999");
	assert_ms(1000, "1.000");
	assert_ms(12345, "12.345");
	assert_ms(5012345, "5012.345");
	assert_ms(-1, "-0.001");
	assert_ms(-1500, "-1.500");
	assert_ms(INT64_MAX, "9223372036854775.807");
	assert_ms(INT64_MIN, "-9223372036854775.808");
}

/* ---- overflow ---- */

static void test_overflow_fails_line(void **state)
{
	static char big[JSON_LINE_MAX];
	struct json_line j;
	/* {"s":" + n + "}\n must leave one byte for the NUL. */
	const size_t fits = JSON_LINE_MAX - 1 - 9;

	(void)state;
	memset(big, 'a', sizeof big);
	json_begin(&j);
	json_strn(&j, "s", big, fits);
	assert_int_equal(json_end(&j), 0);
	assert_int_equal(j.len, JSON_LINE_MAX - 1);

	json_begin(&j);
	json_strn(&j, "s", big, fits + 1);
	assert_int_equal(json_end(&j), -1);
	assert_true(j.overflow);

	/* Control bytes escape to 6 bytes each: a sixth of the line is
	 * enough to overflow it. */
	const size_t ctrl = JSON_LINE_MAX / 6 + 1;
	memset(big, 1, ctrl);
	json_begin(&j);
	json_strn(&j, "s", big, ctrl);
	json_u64(&j, "after", 1);  /* later members do not clear the flag */
	assert_int_equal(json_end(&j), -1);
	assert_true(j.len < JSON_LINE_MAX);

	/* The builder is reusable after an overflow. */
	line_of(&j, "ok", 2);
}

/* ---- timestamps ---- */

static void assert_timestamp(time_t sec, long nsec, const char *want)
{
	struct timespec t = { .tv_sec = sec, .tv_nsec = nsec };
	char out[JSON_TIMESTAMP_LEN];

	json_timestamp(out, &t);
	assert_string_equal(out, want);
}

/* Every line of a log gets "<prefix>-<n>", n counting from 0 per process. */
static void test_event_ids(void **state)
{
	struct ndjson_log l = { .event_prefix = "0123abcd" };
	char id[NDJSON_EVENT_ID_MAX];

	(void)state;
	ndjson_event_id(&l, id);
	assert_string_equal(id, "0123abcd-0");
	ndjson_event_id(&l, id);
	assert_string_equal(id, "0123abcd-1");
	l.next_event = UINT64_MAX;
	ndjson_event_id(&l, id);
	assert_string_equal(id, "0123abcd-18446744073709551615");
}

static void test_timestamp_format(void **state)
{
	(void)state;
	assert_timestamp(0, 0, "1970-01-01T00:00:00.000000Z");
	assert_timestamp(1795450801, 123456789, "2026-11-23T16:20:01.123456Z");
	assert_timestamp(1709251199, 999999999, "2024-02-29T23:59:59.999999Z");
	assert_timestamp(1709251199, 1000, "2024-02-29T23:59:59.000001Z");
	/* out of range: clamped */
	assert_timestamp(-5, -1, "1970-01-01T00:00:00.000000Z");
	assert_timestamp((time_t)1 << 40, 2000000000,
	    "9999-12-31T23:59:59.999999Z");
}

/* ---- Python agrees: escaping of random bytes == decode("utf-8", "replace") */

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_random_bytes_match_python(void **state)
{
	static const uint8_t pool[] = {
		0x00, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
	};
	char path[TMP_PATH];
	uint8_t raw[600];
	struct json_line j;
	struct ndjson_log l;
	uint32_t seed = 12345;
	size_t i, n;
	int k;

	(void)state;
	path_in_tmp(path, sizeof path, "random.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	for (k = 0; k < 2000; k++) {
		n = xorshift(&seed) % sizeof raw;
		for (i = 0; i < n; i++) {
			uint32_t r = xorshift(&seed);

			/* half the bytes from the tricky pool */
			raw[i] = r & 1 ? pool[(r >> 1) % sizeof pool]
			    : (uint8_t)(r >> 8);
		}
		json_begin(&j);
		json_strn(&j, "s", raw, n);
		json_hex(&j, "raw", raw, n);
		assert_int_equal(json_end(&j), 0);
		assert_int_equal(ndjson_write(&l, j.buf, j.len), 0);
	}
	ndjson_close(&l);
	assert_python_ok("import json,sys\n"
	    "n = 0\n"
	    "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
	    "  o = json.loads(l)\n"
	    "  assert o[\"s\"] == bytes.fromhex(o[\"raw\"]).decode(\"utf-8\", \"replace\"), l\n"
	    "  n += 1\n"
	    "assert n == 2000", path);
}

/* ---- log file ---- */

static void test_open_rejects_bad_arguments(void **state)
{
	static char long_path[NDJSON_PATH_MAX];
	struct ndjson_log l;
	char path[TMP_PATH];

	(void)state;
	memset(long_path, 'x', sizeof long_path - 1);
	errno = 0;
	assert_int_equal(ndjson_open(&l, long_path, 0, 1), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(l.fd, -1);

	path_in_tmp(path, sizeof path, "x.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, NDJSON_KEEP_MAX + 1), -1);
	assert_int_equal(errno, EINVAL);

	path_in_tmp(path, sizeof path, "no/such/dir.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_write_rejects_unterminated_line(void **state)
{
	struct ndjson_log l;
	char path[TMP_PATH];
	struct stat st;

	(void)state;
	path_in_tmp(path, sizeof path, "unterminated.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	assert_int_equal(ndjson_write(&l, "{}", 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ndjson_write(&l, "", 0), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	ndjson_close(&l);
	assert_int_equal(ndjson_write(&l, "{}\n", 3), -1);
	assert_int_equal(errno, EBADF);
}

static void test_open_appends_to_existing(void **state)
{
	struct ndjson_log l;
	char path[TMP_PATH], buf[256];

	(void)state;
	path_in_tmp(path, sizeof path, "append.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	assert_int_equal(ndjson_write(&l, "{\"a\":1}\n", 8), 0);
	ndjson_close(&l);
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	assert_int_equal(l.size, 8);
	assert_int_equal(ndjson_write(&l, "{\"a\":2}\n", 8), 0);
	ndjson_close(&l);
	assert_int_equal(slurp(path, buf, sizeof buf), 16);
	assert_string_equal(buf, "{\"a\":1}\n{\"a\":2}\n");
}

static void test_rotation_keep3(void **state)
{
	enum { LINES = 300, MAX_BYTES = 1000 };
	static unsigned seq[LINES];
	char path[TMP_PATH], name[TMP_NAME];
	struct ndjson_log l;
	struct stat st;
	size_t n = 0;
	unsigned i;
	int k;

	(void)state;
	path_in_tmp(path, sizeof path, "rot.ndjson");
	assert_int_equal(ndjson_open(&l, path, MAX_BYTES, 3), 0);
	for (i = 0; i < LINES; i++)
		write_seq_line(&l, i);
	ndjson_close(&l);
	assert_int_equal(l.lines, LINES);
	assert_int_equal(l.errors, 0);
	assert_int_equal(l.rotate_errors, 0);
	assert_true(l.rotations > 3);

	/* PATH.3 (oldest) .. PATH.1, PATH: consecutive, newest last. */
	for (k = 3; k >= 0; k--) {
		if (k)
			snprintf(name, sizeof name, "%s.%d", path, k);
		else
			snprintf(name, sizeof name, "%s", path);
		assert_int_equal(stat(name, &st), 0);
		assert_true(st.st_size > 0 && st.st_size <= MAX_BYTES);
		n += read_seqs(name, seq + n, LINES - n);
		assert_all_lines_json(name);
	}
	snprintf(name, sizeof name, "%s.4", path);
	assert_int_equal(stat(name, &st), -1);
	assert_int_equal(seq[n - 1], LINES - 1);
	for (i = 1; i < n; i++)
		assert_int_equal(seq[i], seq[i - 1] + 1);
	/* Each full file holds as many lines as fit: 4 files' worth kept. */
	assert_true(n >= 3 * (MAX_BYTES / 64));
}

/* may_delete vetoes: nothing is deleted, the current file grows; once
 * it allows, rotation resumes and only the allowed file goes. */
struct veto { bool allow; unsigned asked; char last[TMP_NAME]; };

static bool veto_delete(void *ud, const char *path)
{
	struct veto *v = ud;

	v->asked++;
	snprintf(v->last, sizeof v->last, "%s", path);
	return v->allow;
}

static void test_rotation_held_by_may_delete(void **state)
{
	static unsigned seq[200];
	char path[TMP_PATH], name[TMP_NAME];
	struct veto v = { .allow = true };
	struct ndjson_log l;
	struct stat st;
	unsigned i;

	(void)state;
	path_in_tmp(path, sizeof path, "held.ndjson");
	assert_int_equal(ndjson_open(&l, path, 200, 1), 0);
	l.may_delete = veto_delete;
	l.may_delete_ud = &v;
	for (i = 0; i < 4; i++)   /* ~60-byte lines: one rotation so far */
		write_seq_line(&l, i);
	snprintf(name, sizeof name, "%s.1", path);
	assert_string_equal(v.last, name);
	assert_int_equal(l.rotations, 1);
	v.allow = false;
	for (; i < 40; i++)
		write_seq_line(&l, i);
	assert_int_equal(l.rotations, 1);
	assert_true(l.rotations_held > 0);
	assert_int_equal(l.rotate_errors, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 200);
	/* Every line is still on disk, in order, across PATH.1 and PATH. */
	i = (unsigned)read_seqs(name, seq, 200);
	i += (unsigned)read_seqs(path, seq + i, 200 - i);
	assert_int_equal(i, 40);
	for (i = 1; i < 40; i++)
		assert_int_equal(seq[i], seq[i - 1] + 1);
	v.allow = true;
	write_seq_line(&l, 40);
	assert_int_equal(l.rotations, 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 60);  /* just line 40 */
	ndjson_close(&l);
}

static void test_rotation_keep0_and_oversized_line(void **state)
{
	static char big[3000];
	char path[TMP_PATH], name[TMP_NAME], buf[4096];
	struct ndjson_log l;
	struct stat st;

	(void)state;
	path_in_tmp(path, sizeof path, "keep0.ndjson");
	assert_int_equal(ndjson_open(&l, path, 100, 0), 0);
	write_seq_line(&l, 1);
	write_seq_line(&l, 2);  /* 2 x 64 > 100: the first file is deleted */
	snprintf(name, sizeof name, "%s.1", path);
	assert_int_equal(stat(name, &st), -1);
	assert_true(slurp(path, buf, sizeof buf) > 0);
	assert_int_equal(strncmp(buf, "{\"seq\":2,", 9), 0);
	assert_int_equal(strchr(buf, '\n')[1], '\0');  /* one line only */

	/* A line longer than max_bytes gets a file of its own. */
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\n';
	assert_int_equal(ndjson_write(&l, big, sizeof big), 0);
	assert_int_equal(l.size, sizeof big);
	write_seq_line(&l, 3);
	assert_true(slurp(path, buf, sizeof buf) > 0);
	assert_int_equal(strncmp(buf, "{\"seq\":3,", 9), 0);
	ndjson_close(&l);
}

static void test_reopen_after_move(void **state)
{
	static unsigned seq[8];
	char path[TMP_PATH], moved[TMP_PATH];
	struct ndjson_log l;

	(void)state;
	path_in_tmp(path, sizeof path, "hup.ndjson");
	path_in_tmp(moved, sizeof moved, "hup.ndjson.moved");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	write_seq_line(&l, 1);
	assert_int_equal(rename(path, moved), 0);
	write_seq_line(&l, 2);  /* still the moved file until SIGHUP */
	assert_int_equal(ndjson_reopen(&l), 0);
	assert_int_equal(l.size, 0);
	write_seq_line(&l, 3);
	ndjson_close(&l);

	assert_int_equal(read_seqs(moved, seq, 8), 2);
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 2);
	assert_int_equal(read_seqs(path, seq, 8), 1);
	assert_int_equal(seq[0], 3);
}

static void test_reopen_failure_keeps_old_file(void **state)
{
	static unsigned seq[8];
	char dir[TMP_PATH], path[TMP_NAME];
	struct ndjson_log l;

	(void)state;
	path_in_tmp(dir, sizeof dir, "gone");
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/x.ndjson", dir);
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	write_seq_line(&l, 1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(ndjson_reopen(&l), -1);
	assert_int_equal(errno, ENOENT);
	assert_true(l.fd >= 0);
	write_seq_line(&l, 2);  /* goes to the old (unlinked) file */
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(ndjson_reopen(&l), 0);
	write_seq_line(&l, 3);
	ndjson_close(&l);
	assert_int_equal(read_seqs(path, seq, 8), 1);
	assert_int_equal(seq[0], 3);
}

/* RLIMIT_FSIZE with SIGXFSZ ignored makes write(2) stop at the limit. */
static void limit_file_size(rlim_t bytes)
{
	struct rlimit r;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &r), 0);
	r.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

static void test_short_write_cut_off(void **state)
{
	static const char cut[] = "{\"seq\":2,\"pad\":\"this line will be cut\"}\n";
	static unsigned seq[8];
	char path[TMP_PATH];
	struct ndjson_log l;
	struct stat st;
	uint64_t before;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_in_tmp(path, sizeof path, "full.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	write_seq_line(&l, 1);
	before = l.size;

	limit_file_size(before + 20);  /* room for a fragment only */
	errno = 0;
	assert_int_equal(ndjson_write(&l, cut, strlen(cut)), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, before);
	assert_int_equal(l.size, before);
	limit_file_size(before);  /* no room at all: write fails outright */
	assert_int_equal(ndjson_write(&l, "{\"seq\":2}\n", 10), -1);
	assert_int_equal(errno, EFBIG);
	limit_file_size(RLIM_INFINITY);
	assert_int_equal(l.errors, 2);

	write_seq_line(&l, 3);  /* disk "freed": logging resumes */
	ndjson_close(&l);
	assert_int_equal(read_seqs(path, seq, 8), 2);
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 3);
	assert_all_lines_json(path);
}

/* If even ftruncate fails (append-only file), the fragment gets its own
 * line and the next line is intact. */
static void test_uncuttable_fragment_ends_own_line(void **state)
{
	char path[TMP_PATH], buf[512];
	struct ndjson_log l;
	int flags = FS_APPEND_FL, fd;
	char *second;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	path_in_tmp(path, sizeof path, "appendonly.ndjson");
	assert_int_equal(ndjson_open(&l, path, 0, 1), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) {
		close(fd);
		ndjson_close(&l);
		skip_or_fail_in_ci("chattr +a needs CAP_LINUX_IMMUTABLE"
		    " and a filesystem that has it");
	}
	write_seq_line(&l, 1);
	limit_file_size(l.size + 5);
	assert_int_equal(ndjson_write(&l, "{\"seq\":2}\n", 10), -1);
	limit_file_size(RLIM_INFINITY);
	assert_true(l.torn);
	write_seq_line(&l, 3);
	assert_false(l.torn);
	ndjson_close(&l);
	flags = 0;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
	close(fd);

	assert_true(slurp(path, buf, sizeof buf) > 0);
	second = strchr(buf, '\n') + 1;
	assert_memory_equal(second, "{\"seq\n{\"seq\":3,", 15);
	assert_int_equal(buf[strlen(buf) - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_chars_escaped),
		cmocka_unit_test(test_quote_backslash_escaped),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_nul_byte_in_strn),
		cmocka_unit_test(test_all_value_kinds),
		cmocka_unit_test(test_empty_object),
		cmocka_unit_test(test_ms_exact),
		cmocka_unit_test(test_overflow_fails_line),
		cmocka_unit_test(test_timestamp_format),
		cmocka_unit_test(test_random_bytes_match_python),
		cmocka_unit_test(test_open_rejects_bad_arguments),
		cmocka_unit_test(test_write_rejects_unterminated_line),
		cmocka_unit_test(test_open_appends_to_existing),
		cmocka_unit_test(test_rotation_keep3),
		cmocka_unit_test(test_rotation_keep0_and_oversized_line),
		cmocka_unit_test(test_rotation_held_by_may_delete),
		cmocka_unit_test(test_reopen_after_move),
		cmocka_unit_test(test_reopen_failure_keeps_old_file),
		cmocka_unit_test(test_short_write_cut_off),
		cmocka_unit_test(test_uncuttable_fragment_ends_own_line),
		cmocka_unit_test(test_event_ids),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
