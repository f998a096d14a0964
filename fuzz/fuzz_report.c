/* fuzz_report.c - the crawl-file reader: arbitrary bytes, cut into lines,
 * through report_line, then the totals and both outputs. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const watch[] = { "203.0.113.7:16111",
	    "[2001:db8::7]:16111" };
	static char out[1 << 16];
	struct report r;
	size_t start = 0;

	if (report_init(&r, watch, 2, 0) != 0)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			report_line(&r, (const char *)data + start, i - start);
			start = i + 1;
		}
	}
	report_finish(&r);
	FILE *f = fmemopen(out, sizeof out, "w");
	if (f != NULL) {
		report_print_json(&r, f);
		report_print_table(&r, f);
		fclose(f);
	}
	report_free(&r);
	return 0;
}
