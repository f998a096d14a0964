/* options.h - one table-driven option machinery for every command line
 * (the sensor's config.c, `crawl`'s crawl_opts.c).
 *
 * A table row names an option, where its value lives in the caller's
 * struct, its rule (range or field size) and its default.  The same row
 * sets the default (options_defaults), applies a value with the one
 * number rule of every command line (decimal_parse: plain decimal, no
 * sign, blank or suffix) and prints the default in --help
 * (options_usage), so the help text cannot disagree with the value.
 *
 * A default that is not a value of the field (the host name, "all",
 * LOG.cursor) is a `note`: the field starts empty, the caller fills it in
 * later, and --help shows "(default: NOTE)".  A default that is a value
 * shows as "(default VALUE)", exactly what the option takes. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* OPT_FLAG takes no value on a command line: it stores `set` in a bool
 * (a value given, as in an environment variable, must be 1, true or yes).
 * OPT_SECRET is a string whose value is never echoed (a URL may hold a
 * key).  OPT_LIST (IP:PORT) is repeatable: each value goes to the
 * row's `add`. */
enum option_kind { OPT_STR, OPT_SECRET, OPT_UINT, OPT_FLAG, OPT_LIST };

struct option_def {
	const char *name;        /* without the leading "--" */
	enum option_kind kind;
	bool note;               /* def_text is a note, not a value */
	union {
		size_t offset;   /* into the caller's struct */
		int (*add)(void *obj, const char *value);   /* OPT_LIST */
	};
	uint64_t min, max;       /* OPT_UINT: range; OPT_STR/SECRET: max is
	                          * the field's size; OPT_FLAG: min is what
	                          * it stores */
	union {
		uint64_t def;          /* OPT_UINT, OPT_FLAG: the default */
		const char *def_text;  /* OPT_STR: the default (NULL: empty);
		                        * a note for any kind but those two */
	};
	const char *help;
};

struct option_table {
	const struct option_def *rows;
	size_t n;
	const char *env_prefix;  /* "SENSOR_": --help names each variable;
	                          * NULL: no environment */
};

/* Rows, for a struct type T (designated, so each says what it sets).
 * A string's or a list's default, last, is VALUE(text) or NOTE(text) (a
 * default that is not a value), or absent: none. */
#define OPTION_UINT(T, nm, field, lo, hi, dflt, text) { .name = nm, \
	.kind = OPT_UINT, .offset = offsetof(T, field), .min = lo, \
	.max = hi, .def = dflt, .help = text }
#define OPTION_STR(T, nm, field, ...) { .name = nm, .kind = OPT_STR, \
	.offset = offsetof(T, field), .max = sizeof ((T *)0)->field, \
	.help = __VA_ARGS__ }
#define OPTION_SECRET(T, nm, field, ...) { .name = nm, \
	.kind = OPT_SECRET, .offset = offsetof(T, field), \
	.max = sizeof ((T *)0)->field, .help = __VA_ARGS__ }
#define OPTION_FLAG(T, nm, field, to, dflt, text) { .name = nm, \
	.kind = OPT_FLAG, .offset = offsetof(T, field), .min = to, \
	.def = dflt, .help = text }
#define OPTION_LIST(nm, fn, ...) { .name = nm, .kind = OPT_LIST, \
	.add = fn, .help = __VA_ARGS__ }
#define VALUE(text) .def_text = text
#define NOTE(text) .def_text = text, .note = true

/* Every row's default into obj (which the caller zeroed). */
void options_defaults(const struct option_table *t, void *obj);

/* The row named by name[0..len), or NULL. */
const struct option_def *options_find(const struct option_table *t,
    const char *name, size_t len);

/* Apply one value to obj.  On a bad value returns -1 with "invalid value
 * for FROM: 'VALUE'" in why (OPT_SECRET: without the value); `from`
 * names the source (an option or a variable). */
int options_apply(const struct option_def *o, void *obj, const char *value,
    const char *from, char *why, size_t why_cap);

/* "log-max-bytes" -> PREFIX "LOG_MAX_BYTES" */
void options_env_name(const char *prefix, const char *name, char *out,
    size_t cap);

/* One entry per row: "  --name VALUE" (and "  (env VAR)" with an
 * env_prefix), then the help and its default on the next line. */
void options_usage(const struct option_table *t, FILE *f);

#endif
