/* decimal.h - the one rule for a number written out in text: every
 * command line number, duration and port, and the integers the offline
 * readers take from a log.
 *
 * Strict: one or more ASCII digits and nothing else.  No sign, no blank
 * before or after, no "0x", no fraction, exponent or unit suffix (a
 * duration's unit is in its option name: -ms, -s).  Leading zeros are
 * fine ("0080" is 80).  A value past UINT64_MAX or outside [min, max] is
 * refused, never wrapped or clamped.
 */
#ifndef DECIMAL_H
#define DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* s[0..len) (NUL bytes in it are not digits) into *v, which is left
 * alone on failure.  0 on success, -1 if it breaks the rule above. */
int decimal_parse(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *v);

#endif
