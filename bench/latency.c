/* bench/latency: the consumer at the end of bench/pipeline. Reads NDJSON
 * lines on stdin, stamps each with the wall clock the moment it arrives and
 * takes "created_at" (RFC 3339, UTC "Z", any fraction) from the line; at the
 * end prints "count p50_ms p99_ms max_ms first_ms" of arrival minus
 * created_at (the first event also waits for every stage's start-up: rates
 * loaded, database connected).
 * Built by bench/pipeline with plain cc; not part of the programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.frac]Z"; -1 if not that. */
static double
parse_utc(const char *s)
{
	struct tm tm;
	double frac = 0, scale = 0.1;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	return *p == 'Z' ? (double)timegm(&tm) + frac : -1;
}

int
main(void)
{
	char *line = NULL, *at;
	size_t cap = 0, n = 0, size = 1024, bad = 0;
	double *ms = malloc(size * sizeof(*ms)), created, first = 0;
	struct timespec now;

	if (ms == NULL)
		return 70;
	while (getline(&line, &cap, stdin) > 0) {
		if (clock_gettime(CLOCK_REALTIME, &now) != 0)
			return 70;
		at = strstr(line, "\"created_at\":\"");
		created = at ? parse_utc(at + 14) : -1;
		if (created < 0) {
			bad++;
			continue;
		}
		if (n == size) {
			size *= 2;
			if ((ms = realloc(ms, size * sizeof(*ms))) == NULL)
				return 70;
		}
		ms[n] = ((double)now.tv_sec + now.tv_nsec / 1e9 - created) * 1000;
		if (n++ == 0)
			first = ms[0];
	}
	if (n == 0) {
		printf("0 - - - -\n");
		return bad ? 65 : 0;
	}
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("%zu %.3f %.3f %.3f %.3f\n", n, ms[(n - 1) / 2], ms[(n * 99 + 99) / 100 - 1],
	    ms[n - 1], first);
	free(ms);
	free(line);
	return bad ? 65 : 0;
}
