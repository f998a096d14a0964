/* options.c - see options.h. */
#include "options.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "decimal.h"

void options_defaults(const struct option_table *t, void *obj)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct option_def *o = &t->rows[i];
		if (o->kind == OPT_LIST)
			continue;              /* starts empty: obj is zeroed */
		char *field = (char *)obj + o->offset;
		if (o->kind == OPT_UINT)
			*(uint64_t *)(void *)field = o->def;
		else if (o->kind == OPT_FLAG)
			*(bool *)(void *)field = o->def != 0;
		else if (o->kind == OPT_STR && o->def_text != NULL && !o->note)
			snprintf(field, o->max, "%s", o->def_text);
	}
}

const struct option_def *options_find(const struct option_table *t,
    const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->rows[i].name) == len &&
		    memcmp(t->rows[i].name, name, len) == 0)
			return &t->rows[i];
	return NULL;
}

static int apply_value(const struct option_def *o, void *obj,
    const char *value)
{
	if (o->kind == OPT_LIST)
		return o->add(obj, value);

	char *field = (char *)obj + o->offset;
	switch (o->kind) {
	case OPT_STR:
	case OPT_SECRET:
		if (strlen(value) >= o->max || value[0] == '\0')
			return -1;
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case OPT_UINT:
		return decimal_parse(value, strlen(value), o->min, o->max,
		    (uint64_t *)(void *)field);
	case OPT_FLAG:
		if (strcmp(value, "1") != 0 && strcmp(value, "true") != 0 &&
		    strcmp(value, "yes") != 0)
			return -1;
		*(bool *)(void *)field = o->min != 0;
		return 0;
	case OPT_LIST:
		break;
	}
	return -1;
}

int options_apply(const struct option_def *o, void *obj, const char *value,
    const char *from, char *why, size_t why_cap)
{
	if (apply_value(o, obj, value) == 0)
		return 0;
	if (o->kind == OPT_SECRET)
		snprintf(why, why_cap, "invalid value for %s", from);
	else
		snprintf(why, why_cap, "invalid value for %s: '%s'", from,
		    value);
	return -1;
}

void options_env_name(const char *prefix, const char *name, char *out,
    size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "%s", prefix);
	for (; *name != '\0' && n + 1 < cap; name++)
		out[n++] = *name == '-' ? '_' :
		    (char)toupper((unsigned char)*name);
	out[n] = '\0';
}

/* " (default ...)" from the row itself, or nothing. */
static void print_default(const struct option_def *o, FILE *f)
{
	if (o->note)
		fprintf(f, " (default: %s)", o->def_text);
	else if (o->kind == OPT_UINT)
		fprintf(f, " (default %llu)", (unsigned long long)o->def);
	else if (o->kind == OPT_STR && o->def_text != NULL)
		fprintf(f, " (default %s)", o->def_text);
	else if (o->kind == OPT_FLAG && o->min == o->def)
		fprintf(f, " (default)");
}

void options_usage(const struct option_table *t, FILE *f)
{
	static const char *const value_names[] = {
		[OPT_STR] = "STR", [OPT_SECRET] = "STR", [OPT_UINT] = "N",
		[OPT_FLAG] = "", [OPT_LIST] = "IP:PORT",
	};

	for (size_t i = 0; i < t->n; i++) {
		const struct option_def *o = &t->rows[i];
		const char *value = value_names[o->kind];
		fprintf(f, "  --%s", o->name);
		if (t->env_prefix != NULL) {
			char env[64];
			options_env_name(t->env_prefix, o->name, env, sizeof env);
			fprintf(f, " %s  (env %s%s)", value, env,
			    o->kind == OPT_FLAG ? "=1" : "");
		} else if (value[0] != '\0') {
			fprintf(f, " %s", value);
		}
		fprintf(f, "\n      %s", o->help);
		print_default(o, f);
		fprintf(f, "\n");
	}
}
