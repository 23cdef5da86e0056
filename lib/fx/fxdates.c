#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fx/fxdates.h"

static struct fxdate *
find(struct fxdates *c, int64_t day)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->slot[i].day == day) {
			c->slot[i].used = ++c->tick;
			return &c->slot[i];
		}
	return NULL;
}

/* Enter day with a copy of rates (of used_day), or as a day without rates
 * (rates NULL); the least recently used date makes room. */
static void
put(struct fxdates *c, int64_t day, int64_t used_day, const struct fxrates *rates)
{
	struct fxdate *e = find(c, day);

	if (e == NULL && c->n < FXDATES_SLOTS) {
		e = &c->slot[c->n++];
	} else if (e == NULL) {
		e = &c->slot[0];
		for (size_t i = 1; i < c->n; i++)
			if (c->slot[i].used < e->used)
				e = &c->slot[i];
	}
	fxrates_free(&e->table);
	e->day = day;
	e->used_day = used_day;
	e->has_rates = rates != NULL;
	e->used = ++c->tick;
	if (rates != NULL) {
		e->table = *rates;
		e->table.rates = xmalloc((rates->count + 1) * sizeof(*rates->rates));
		memcpy(e->table.rates, rates->rates, rates->count * sizeof(*rates->rates));
	}
}

/* Forget the days found empty in [day - back, day]: a walk that found no
 * rates at all is retried whole. */
static void
forget_empty(struct fxdates *c, int64_t day, int back)
{
	for (size_t i = 0; i < c->n;) {
		struct fxdate *e = &c->slot[i];
		if (!e->has_rates && e->day <= day && e->day >= day - back) {
			*e = c->slot[--c->n];
			memset(&c->slot[c->n], 0, sizeof(c->slot[c->n]));
		} else {
			i++;
		}
	}
}

void
fxdates_forget(struct fxdates *c, int64_t day)
{
	struct fxdate *e = find(c, day);
	int64_t used;

	if (e == NULL || !e->has_rates)
		return;
	used = e->used_day;
	for (size_t i = 0; i < c->n;) {
		e = &c->slot[i];
		if (e->has_rates && e->used_day == used) {
			fxrates_free(&e->table);
			*e = c->slot[--c->n];
			memset(&c->slot[c->n], 0, sizeof(c->slot[c->n]));
		} else {
			i++;
		}
	}
}

const struct fxrates *
fxdates_cached(struct fxdates *c, int64_t day)
{
	struct fxdate *e = find(c, day);

	return e != NULL && e->has_rates ? &e->table : NULL;
}

const struct fxrates *
fxdates_resolve(struct fxdates *c, int64_t day, fxdates_fetch fetch, void *arg,
    int64_t *used_day, int *fetched, enum fx_fetch *result)
{
	struct fxdate *e;
	int k;

	*fetched = 0;
	e = find(c, day);
	if (e != NULL && e->has_rates) {
		*used_day = e->used_day;
		*result = FX_FETCH_OK;
		return &e->table;
	}
	for (k = 0; k <= FXDATES_BACK; k++) {
		struct fxrates table;
		e = find(c, day - k);
		if (e != NULL && !e->has_rates)
			continue;
		if (e != NULL && day - e->used_day > FXDATES_BACK)
			break;
		if (e == NULL) {
			memset(&table, 0, sizeof(table));
			*result = fetch(arg, day - k, &table);
			if (*result == FX_FETCH_FAILED)
				return NULL;
			put(c, day - k, day - k, *result == FX_FETCH_OK ? &table : NULL);
			fxrates_free(&table);
			if (*result == FX_FETCH_NO_DATA)
				continue;
			e = find(c, day - k);
		}
		/* The empty days in between resolve to the same rates. */
		*used_day = e->used_day;
		table = e->table;
		for (int j = k - 1; j >= 0; j--)
			put(c, day - j, *used_day, &table);
		*fetched = 1;
		*result = FX_FETCH_OK;
		return fxdates_cached(c, day);
	}
	forget_empty(c, day, FXDATES_BACK);
	*result = FX_FETCH_NO_DATA;
	return NULL;
}

void
fxdates_free(struct fxdates *c)
{
	for (size_t i = 0; i < c->n; i++)
		fxrates_free(&c->slot[i].table);
	memset(c, 0, sizeof(*c));
}

int64_t
fxdates_day(struct utc_time t)
{
	return t.sec >= 0 ? t.sec / 86400 : -((-t.sec + 86399) / 86400);
}

void
fxdates_name(int64_t day, char *out)
{
	struct civil_time ct;

	timefmt_civil(day * 86400, &ct);
	snprintf(out, 16, "%04d-%02d-%02d", ct.year, ct.month, ct.day);
}

char *
fxdates_fill(const char *s, const char *date)
{
	struct buf b = { 0 };
	const char *hit;

	if (strstr(s, "{date}") == NULL)
		return NULL;
	while ((hit = strstr(s, "{date}")) != NULL) {
		buf_append(&b, s, (size_t)(hit - s));
		buf_puts(&b, date);
		s = hit + 6;
	}
	buf_puts(&b, s);
	return b.data;
}
