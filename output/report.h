/* report.h - `kaspa-sensor report`: how widely watched addresses are
 * gossiped, from one or many crawl files (crawl.h has their format).
 *
 * Per watched address and per crawl (ordered by start time, which makes
 * the trend): Addresses replies that could be checked for it (the crawl
 * watched it, or logged full address lists), replies containing it, their
 * share, unique peers that returned it at least once, and the first time
 * it was seen, also relative to --since.  Totals over all crawls.
 *
 * Input lines are capped at REPORT_LINE_MAX and read with jsonr.h, which
 * checks each line whole (RFC 8259, nesting at most JSONR_DEPTH_MAX) before
 * the members its type needs are taken; lines it cannot use are counted
 * and skipped.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define REPORT_LINE_MAX 65536
#define REPORT_WATCH_MAX 16
#define REPORT_CRAWLS_MAX 1024
#define REPORT_SET_MAX (1u << 21)   /* slots for unique (crawl, peer) pairs */
#define REPORT_NO_TIME INT64_MIN

struct report_cell {
	uint64_t checked;          /* replies that could contain it */
	uint64_t with;             /* replies that did */
	uint32_t advertisers;      /* unique peers that returned it */
	int64_t first_seen_ms;     /* Unix ms, or REPORT_NO_TIME */
};

struct report_crawl {
	char id[ADDR_TEXT_MAX];
	int64_t start_ms;          /* crawl_start ts, else its first line */
	uint64_t visited, reachable, replies;
	uint32_t peers_replying;   /* unique peers with >= 1 reply */
	bool watch_listed[REPORT_WATCH_MAX];
	struct report_cell cell[REPORT_WATCH_MAX];
};

struct report_set_entry {
	uint32_t tag;              /* 0 = empty */
	char s[ADDR_TEXT_MAX];
};

struct report_set {
	struct report_set_entry *e;
	uint32_t cap, used;
	bool full;                 /* REPORT_SET_MAX reached: counts are low */
};

struct report_reply {          /* the reply being read (it may span parts) */
	bool open;
	unsigned crawl;
	char from[ADDR_TEXT_MAX];
	uint64_t seq;
	bool checked[REPORT_WATCH_MAX];
	bool present[REPORT_WATCH_MAX];
	int64_t ts_ms;
};

struct report {
	char line_buf[REPORT_LINE_MAX + 2];            /* report_file's */
	char watch[REPORT_WATCH_MAX][ADDR_TEXT_MAX];   /* canonical text */
	unsigned n_watch;
	int64_t since_ms;                              /* or REPORT_NO_TIME */
	struct report_crawl *crawls;     /* grows to REPORT_CRAWLS_MAX */
	unsigned n_crawls, crawls_cap;
	struct report_cell total[REPORT_WATCH_MAX];
	unsigned crawls_seen[REPORT_WATCH_MAX];        /* crawls with >= 1 */
	uint64_t lines, skipped;
	struct report_set set;
	struct report_reply reply;
};

/* Watched addresses as IP:PORT text; -1 if one is not an IP:PORT. */
int report_init(struct report *r, const char *const *watch, unsigned n,
    int64_t since_ms);
void report_free(struct report *r);
/* One line, without or with its '\n'.  0 if used, -1 if skipped. */
int report_line(struct report *r, const char *line, size_t len);
/* Every line of f; long lines are skipped whole. */
void report_file(struct report *r, FILE *f);
/* Close the last reply, order crawls by start, compute the totals. */
void report_finish(struct report *r);

void report_print_table(const struct report *r, FILE *f);
void report_print_json(const struct report *r, FILE *f);

/* "2026-11-23T16:20:01.123456Z" (fraction optional) or Unix seconds, to
 * Unix ms; -1 if it is neither. */
int report_parse_time(const char *s, size_t len, int64_t *ms);

/* argv[0] is "report".  Returns the process exit status. */
int report_main(int argc, char **argv);

#endif
