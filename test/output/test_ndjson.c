/* test_ndjson.c - the rotating log file: bad arguments, appending,
 * rotation (keep N, keep 0, held by may_delete), reopen after a move or
 * failing, short-write repair, event ids.  Files live in a mkdtemp
 * directory; every file the log produced is also checked line by line by
 * Python's json module. */
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
	char line[128];
	int n = snprintf(line, sizeof line, "{\"seq\":%u,\"pad\":"
	    "\"0123456789012345678901234567890123456789\"}\n", seq);

	assert_int_equal(ndjson_write(l, line, (size_t)n), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
