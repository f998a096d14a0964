/* ci_skip.h - a cmocka test that cannot run here (a capability or a
 * package is missing) skips, except under CI=true (root, every package
 * installed): CI must prove every test every time, so there it fails and
 * says why.  Include after <cmocka.h>. */
#ifndef CI_SKIP_H
#define CI_SKIP_H

#include <stdlib.h>
#include <string.h>

#define skip_or_fail_in_ci(why)                                         \
	do {                                                            \
		const char *ci_ = getenv("CI");                         \
		if (ci_ != NULL && strcmp(ci_, "true") == 0)            \
			fail_msg("CI=true and this test cannot run: %s", \
			    (why));                                     \
		print_message("skipped: %s\n", (why));                  \
		skip();                                                 \
	} while (0)

#endif
