/* ndjson.h - the NDJSON log file: complete lines (json_write.h builds
 * them) appended to a size-rotated file.
 *
 * ndjson_write issues exactly one write(2) per line, so lines never
 * interleave; a short write is cut back off with ftruncate so a later
 * line never glues onto a torn one (disk full, EFBIG).  Rotation happens
 * before the write that would take a non-empty file past max_bytes:
 * PATH.(keep-1) -> PATH.keep, ..., PATH -> PATH.1, then a fresh PATH.
 */
#ifndef NDJSON_H
#define NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for ".4294967295" after the path. */
#define NDJSON_PATH_MAX 4096
#define NDJSON_SUFFIX_MAX 12

/* Asked before a rotation would delete `path` (PATH.keep, or PATH itself
 * with keep == 0); false keeps the file: the rotation is skipped, counted
 * in rotations_held, and the current file keeps growing (export.c uses
 * this so that a file not yet shipped is never deleted). */
typedef bool (*ndjson_may_delete_fn)(void *ud, const char *path);

struct ndjson_log {
	int fd;                      /* -1 when closed */
	char path[NDJSON_PATH_MAX];
	uint64_t size;               /* current file size, as we wrote it */
	uint64_t max_bytes;          /* 0: never rotate */
	unsigned keep;               /* rotated files kept; 0: old file deleted */
	uint64_t lines;              /* lines written */
	uint64_t errors;             /* failed writes (line dropped) */
	uint64_t rotations;          /* rotations done */
	uint64_t rotate_errors;      /* rotations that failed (kept writing) */
	uint64_t rotations_held;     /* rotations skipped by may_delete */
	ndjson_may_delete_fn may_delete;  /* NULL: always delete */
	void *may_delete_ud;
	bool torn;                   /* a short write could not be cut off */
	/* event_id of every line: "<prefix>-<sequence>", the prefix unique
	 * per process (the caller sets it after ndjson_open). */
	char event_prefix[40];
	uint64_t next_event;
};

#define NDJSON_KEEP_MAX 1000

/* Opens (creating, mode 0644) PATH for appending; the directory must
 * exist.  -1 with errno on failure (ENAMETOOLONG if the path leaves no
 * room for the rotation suffix, EINVAL if keep > NDJSON_KEEP_MAX). */
int ndjson_open(struct ndjson_log *l, const char *path, uint64_t max_bytes,
    unsigned keep);

/* Appends one complete line (must end in '\n', else EINVAL), rotating
 * first if needed.  0 on success; -1 with errno when the line was dropped
 * (ENOSPC for a short write, for which the kernel gives no errno); the
 * file is left as it was and the next call tries again.  Should cutting a
 * short write off fail too (append-only file), the next line starts with
 * a '\n' so only the torn fragment is lost.  A failed rotation is counted
 * in rotate_errors and the line goes to the current file: better a big
 * file than a lost line. */
int ndjson_write(struct ndjson_log *l, const char *line, size_t len);

/* SIGHUP (logrotate moved the file away): open PATH again.  On failure the
 * old file stays in use and -1 is returned with errno. */
int ndjson_reopen(struct ndjson_log *l);

void ndjson_close(struct ndjson_log *l);

/* The next event_id for a line of this log. */
#define NDJSON_EVENT_ID_MAX 64
void ndjson_event_id(struct ndjson_log *l, char out[NDJSON_EVENT_ID_MAX]);

/* The name of file k of the log: PATH for 0, else PATH.k. */
void ndjson_file_name(const struct ndjson_log *l, unsigned k,
    char out[NDJSON_PATH_MAX]);

#endif
