/* libFuzzer: any bytes as an RFC 3339 timestamp. What timefmt_parse accepts
 * must format to UTC and parse back to the same instant, and the formatted
 * text must be in the canonical form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct utc_time t, again;
	char text[TIMEFMT_MAX];
	size_t n;

	if (timefmt_parse((const char *)data, size, &t) != 0)
		return 0;
	if (t.nsec < 0 || t.nsec > 999999999)
		abort();
	n = timefmt_utc(text, t);
	if (n != strlen(text) || n < 20 || text[n - 1] != 'Z' || text[10] != 'T')
		abort();
	if (timefmt_parse(text, n, &again) != 0 || again.sec != t.sec || again.nsec != t.nsec)
		abort();
	return 0;
}
