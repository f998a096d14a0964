/* ndjson.c - the rotating NDJSON log file (see ndjson.h). */
#include "ndjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>  /* rename, snprintf */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	snprintf(out, NDJSON_PATH_MAX, "%.*s.%u",
	    NDJSON_PATH_MAX - NDJSON_SUFFIX_MAX, l->path, k);
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
