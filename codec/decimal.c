/* decimal.c - strict decimal numbers (see decimal.h). */
#include "decimal.h"

int decimal_parse(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *v)
{
	uint64_t n = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (n < min || n > max)
		return -1;
	*v = n;
	return 0;
}
