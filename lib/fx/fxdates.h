/* fxdates: the rates of casino-fx --rates-date event, one table per UTC
 * date, kept in a small LRU (FXDATES_SLOTS dates) so memory stays flat over
 * any length of replay. A date without rates (a weekend, a holiday) takes
 * the nearest earlier date that has them, at most FXDATES_BACK days back;
 * every date looked at is entered, so no date is fetched twice while it
 * stays in the cache.
 *
 *   struct fxdates c = { 0 };
 *   t = fxdates_resolve(&c, day, fetch_day, arg, &used, &result);
 *   ... fxdates_free(&c);
 *
 * fetch(arg, day, &table) returns FX_FETCH_OK with a table the cache takes
 * over, FX_FETCH_NO_DATA when the source has no rates for that day (HTTP
 * 404, a missing file, an API error saying so), or FX_FETCH_FAILED for
 * anything that may pass (a refused connection, a timeout, a 5xx, a bad
 * body): then the walk stops and the caller retries later; the days found
 * empty so far stay known. */
#ifndef CASINO_FXDATES_H
#define CASINO_FXDATES_H
#include <stdint.h>

#include "fx/fxrates.h"
#include "timefmt.h"

#define FXDATES_SLOTS 16 /* dates kept; more than FXDATES_BACK + 1 */
#define FXDATES_BACK 7   /* days walked back from a date without rates */

enum fx_fetch { FX_FETCH_OK, FX_FETCH_NO_DATA, FX_FETCH_FAILED };

struct fxdate {
	int64_t day;             /* days since 1970-01-01 */
	int64_t used_day;        /* the day whose rates these are */
	int has_rates;           /* 0: the source has no rates for day itself */
	struct fxrates table;
	unsigned long long used; /* LRU stamp */
};

struct fxdates {
	struct fxdate slot[FXDATES_SLOTS];
	size_t n;
	unsigned long long tick;
};

typedef enum fx_fetch (*fxdates_fetch)(void *arg, int64_t day, struct fxrates *out);

/* The rates for day, from the cache or fetched now (walking back); NULL
 * with *result FX_FETCH_FAILED (fetch failed, retry later) or
 * FX_FETCH_NO_DATA (no rates within FXDATES_BACK days). *used_day is the
 * day the rates are of; *fetched is 1 when this call resolved day (not a
 * cache hit). The table stays valid until the next call. */
const struct fxrates *fxdates_resolve(struct fxdates *c, int64_t day,
	fxdates_fetch fetch, void *arg, int64_t *used_day, int *fetched,
	enum fx_fetch *result);
/* Drop the rates day resolved to, and every day that shares them, so the
 * next fxdates_resolve fetches them again (a table that turned out
 * unusable); the days known to be empty stay known. */
void fxdates_forget(struct fxdates *c, int64_t day);
/* The cached rates for day, or NULL: the fast path, no fetch. */
const struct fxrates *fxdates_cached(struct fxdates *c, int64_t day);
void fxdates_free(struct fxdates *c);

/* The UTC day of t, and a day's name "YYYY-MM-DD" (out: 16 bytes). */
int64_t fxdates_day(struct utc_time t);
void fxdates_name(int64_t day, char *out);
/* s with every "{date}" replaced by date; NULL when s has none. */
char *fxdates_fill(const char *s, const char *date);

#endif
