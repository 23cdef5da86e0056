#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
timefmt_civil(int64_t sec, struct civil_time *c)
{
	int64_t days = sec / 86400, rem = sec % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = (int)(yoe + era * 400 + (c->month <= 2));
	c->hour = (int)(rem / 3600);
	c->minute = (int)(rem / 60 % 60);
	c->second = (int)(rem % 60);
}

static int
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int
timefmt_parse(const char *s, size_t n, struct utc_time *t)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	int32_t nsec = 0;
	size_t i = 19;

	if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	if (s[i] == '.') {
		int scale = 100000000, any = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = 1) {
			nsec += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (!any)
			return -1;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		sign = 0;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		size_t rest = n - i - 1;
		const char *o = s + i + 1;
		if (!(rest == 2 && !digits(o, 2, &oh)) &&
		    !(rest == 4 && !digits(o, 2, &oh) && !digits(o + 2, 2, &om)) &&
		    !(rest == 5 && !digits(o, 2, &oh) && o[2] == ':' &&
		        !digits(o + 3, 2, &om)))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	t->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	t->nsec = nsec;
	return t->sec < TIMEFMT_MIN_SEC || t->sec > TIMEFMT_MAX_SEC ? -1 : 0;
}

/* v as exactly width digits (v >= 0 and below 10^width). */
static char *
put_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/* Hand-written: it runs once per player casino-player looks up, where
 * snprintf took a tenth of the tool's time. */
size_t
timefmt_utc(char *out, struct utc_time t)
{
	struct civil_time c;
	char *p = out;

	timefmt_civil(t.sec, &c);
	if (c.year < 0 || c.year > 9999) /* outside RFC 3339: as printf writes it */
		p += snprintf(out, TIMEFMT_MAX, "%04d", c.year);
	else
		p = put_digits(p, c.year, 4);
	*p++ = '-';
	p = put_digits(p, c.month, 2);
	*p++ = '-';
	p = put_digits(p, c.day, 2);
	*p++ = 'T';
	p = put_digits(p, c.hour, 2);
	*p++ = ':';
	p = put_digits(p, c.minute, 2);
	*p++ = ':';
	p = put_digits(p, c.second, 2);
	if (t.nsec > 0) {
		int32_t f = t.nsec, w = 9;
		while (f % 10 == 0) {
			f /= 10;
			w--;
		}
		*p++ = '.';
		p = put_digits(p, (int)f, w);
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - out);
}

struct utc_time
timefmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct utc_time){ ts.tv_sec, (int32_t)ts.tv_nsec };
}

int64_t
timefmt_wall_ms(void)
{
	struct utc_time t = timefmt_now();

	return (int64_t)t.sec * 1000 + t.nsec / 1000000;
}

int64_t
timefmt_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
