/* timefmt: RFC 3339 timestamps <-> seconds since the epoch (UTC).
 * Accepted: YYYY-MM-DD, 'T', 't' or ' ', hh:mm:ss (ss 00-60), optional
 * fraction of any length (kept to nanoseconds), offset Z/z, ±hh:mm, ±hhmm,
 * or ±hh. The whole string must match; dates are range-checked (leap years).
 * Output is always UTC with 'Z' and a fraction only when non-zero. */
#ifndef CASINO_TIMEFMT_H
#define CASINO_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

struct utc_time {
	int64_t sec; /* seconds since 1970-01-01T00:00:00Z */
	int32_t nsec;
};

struct civil_time {
	int year, month, day, hour, minute, second; /* month 1-12 */
};

/* The one valid range for every tool, in UTC: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999999999Z (four-digit years in RFC 3339). */
#define TIMEFMT_MIN_SEC (-62135596800LL)
#define TIMEFMT_MAX_SEC 253402300799LL

/* 0 on success, -1 when s[0..n) is not an accepted timestamp or its offset
 * moves it out of the valid range. */
int timefmt_parse(const char *s, size_t n, struct utc_time *t);
/* Writes "YYYY-MM-DDThh:mm:ss[.fff]Z" and a NUL; returns its length.
 * out needs TIMEFMT_MAX bytes. */
#define TIMEFMT_MAX 40
size_t timefmt_utc(char *out, struct utc_time t);
void timefmt_civil(int64_t sec, struct civil_time *c);
/* Now on the real-time clock. */
struct utc_time timefmt_now(void);
/* Now on the real-time clock, in milliseconds since the epoch. */
int64_t timefmt_wall_ms(void);
/* Now on the monotonic clock, in milliseconds, for intervals. */
int64_t timefmt_monotonic_ms(void);

#endif
