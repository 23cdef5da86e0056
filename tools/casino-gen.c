/* casino-gen: random casino events, one JSON object per line, like the
 * original challenge's generator. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "out.h"
#include "opt.h"
#include "pipesize.h"
#include "sig.h"
#include "stage.h"
#include "timefmt.h"

/* The options (doc/design.md, "One declaration per option"). */
enum { COUNT, DURATION, RATE, SEED, START, GAP };
static struct opt opts[] = {
	[COUNT] = { 'n', "count", "count", "CASINO_GEN_COUNT", .kind = OPT_NUMBER,
	    .max = LLONG_MAX, .help = "stop after count events" },
	[DURATION] = { 't', "duration", "seconds", "CASINO_GEN_DURATION", .kind = OPT_NUMBER,
	    .max = LLONG_MAX / 1000, .help = "stop after seconds of the event clock" },
	[RATE] = { 'r', "rate", "rate", "CASINO_GEN_RATE", .kind = OPT_REAL, .rmax = 1e9,
	    .help = "events per second, 0 = as fast as possible" },
	[SEED] = { 's', "seed", "seed", "CASINO_GEN_SEED", .kind = OPT_NUMBER, .max = LLONG_MAX,
	    .help = "seed; the same seed gives the same events" },
	[START] = { 'T', "start", "time", "CASINO_GEN_START",
	    .help = "synthetic clock starting at time, no sleeping" },
	[GAP] = { 'g', "gap", "gap", "CASINO_GEN_GAP", "0-100",
	    .help = "the random gap between events, ms or min-max ms" },
};

static const char *const currencies[] = { "EUR", "USD", "GBP", "NZD", "BTC" };
static const char *const types[] = { "game_start", "bet", "deposit", "game_stop" };

/* splitmix64: tiny, and the same sequence on every platform. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long long
random_below(uint64_t *state, long long n)
{
	return (long long)(next_random(state) % (uint64_t)n);
}

/* The longest gap -g takes: a day, in milliseconds. */
#define GAP_MAX_MS 86400000LL

/* -g's "MS" or "MIN-MAX" into *min and *max (milliseconds, MIN <= MAX,
 * each at most a day); anything else is a usage error naming the value. */
static void
gap_parse(const struct opt *o, long long *min, long long *max)
{
	const char *src = o->source, *v = o->value;
	static const char digits[] = "0123456789";
	char lo[24];
	const char *dash = strchr(v, '-');
	size_t n = dash ? (size_t)(dash - v) : 0;

	if (!dash) {
		*min = *max = opt_number(src, v, 0, GAP_MAX_MS);
		return;
	}
	if (n > 0 && n < sizeof lo && strspn(v, digits) == n && dash[1] != '\0' &&
	    dash[1 + strspn(dash + 1, digits)] == '\0') {
		memcpy(lo, v, n);
		lo[n] = '\0';
		*min = opt_number(src, lo, 0, GAP_MAX_MS);
		*max = opt_number(src, dash + 1, 0, GAP_MAX_MS);
		if (*min <= *max)
			return;
	}
	opt_bad_value(o, "MS or MIN-MAX, 0 to 86400000, MIN <= MAX");
}

static void
event_write(struct buf *b, uint64_t *rng, long long id, struct utc_time at)
{
	char ts[TIMEFMT_MAX];
	long long player = 10 + random_below(rng, 10);
	int type = (int)random_below(rng, 4);

	buf_printf(b, "{\"id\":%lld,\"player_id\":%lld", id, player);
	if (type != 2)
		buf_printf(b, ",\"game_id\":%lld", 100 + random_below(rng, 10));
	buf_printf(b, ",\"type\":\"%s\"", types[type]);
	if (type == 1 || type == 2) {
		const char *cur = currencies[random_below(rng, 5)];
		long long amount = random_below(rng, cur[0] == 'B' ? 100000 : 2000);
		buf_printf(b, ",\"amount\":%lld,\"currency\":\"%s\"", amount, cur);
		if (type == 1 && random_below(rng, 100) < 5)
			buf_puts(b, ",\"has_won\":true");
	}
	timefmt_utc(ts, at);
	buf_printf(b, ",\"created_at\":\"%s\"}\n", ts);
}

int
main(int argc, char **argv)
{
	long long count = LLONG_MAX, duration_ms = LLONG_MAX;
	long long gap_min, gap_max;
	double rate = -1; /* -1: the original's random gaps in real time */
	uint64_t rng;
	struct utc_time clock;
	const char *v;
	int synthetic = 0, past_end = 0;

	/* First: a stop that comes during start-up must not take the default
	 * action (exit by SIGTERM, 143) but end the run cleanly. */
	sig_init();
	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	if (opts[COUNT].value != NULL)
		count = opts[COUNT].number;
	if (opts[DURATION].value != NULL)
		duration_ms = opts[DURATION].number * 1000;
	if (opts[RATE].value != NULL)
		rate = opts[RATE].real;
	if (opts[SEED].value != NULL)
		rng = (uint64_t)opts[SEED].number;
	else
		rng = (uint64_t)timefmt_now().nsec ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)timefmt_now().sec;
	gap_parse(&opts[GAP], &gap_min, &gap_max);
	clock = timefmt_now();
	if ((v = opts[START].value) != NULL) {
		if (timefmt_parse(v, strlen(v), &clock))
			opt_bad_value(&opts[START],
			    "RFC 3339, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z");
		synthetic = 1;
	}
	pipe_size_setup();
	opt_checked();

	struct buf line = { 0 };
	struct utc_time start = clock;
	int64_t wall_start = timefmt_monotonic_ms();
	/* One look at the lifeline per event (sig_stopping, below), not two. */
	for (long long id = 1; id <= count && !sig_stop_requested(); id++) {
		int64_t gap_ms = gap_min + random_below(&rng, gap_max - gap_min + 1);
		if (id > 1) {
			if (rate > 0) {
				/* Pace against the start, so sleeps do not drift. */
				int64_t due = wall_start + (int64_t)((double)(id - 1) * 1000.0 / rate);
				int64_t now = timefmt_monotonic_ms();
				if (due > now) {
					out_flush();
					sig_sleep_ms(due - now);
				}
			} else if (rate < 0 && !synthetic) {
				out_flush();
				sig_sleep_ms(gap_ms);
			}
			if (synthetic) {
				clock.sec += (clock.nsec / 1000000 + gap_ms) / 1000;
				clock.nsec = (int32_t)((clock.nsec / 1000000 + gap_ms) % 1000 * 1000000 +
				    clock.nsec % 1000000);
			}
		}
		if (!synthetic) {
			clock = timefmt_now();
			clock.nsec -= clock.nsec % 1000; /* microseconds are plenty */
		}
		if (sig_stopping()) /* a stop, or the lifeline lost: a source stops */
			break;
		int64_t elapsed = synthetic ?
		    (clock.sec - start.sec) * 1000 + (clock.nsec - start.nsec) / 1000000 :
		    timefmt_monotonic_ms() - wall_start;
		if (elapsed >= duration_ms)
			break;
		if (clock.sec > TIMEFMT_MAX_SEC) {
			/* An event past it would be rejected by every stage. */
			past_end = 1;
			break;
		}
		line.len = 0;
		event_write(&line, &rng, id, clock);
		out_write(line.data, line.len);
		out_record_end();
		if (out_status() != 0)
			break;
	}
	buf_free(&line);
	out_flush();
	int status = out_status() > 0 ? out_status() : 0;
	if (past_end) {
		log_error("the clock passed 9999-12-31T23:59:59Z, the last valid time; stopping");
		status = exit_worst(status, EX_DATAERR);
	}
	/* At any exit, so a run can be accounted: ids are 1..events. */
	long long events = (long long)out_records_written();
	log_final(LOG_INFO, "end of run", LOG_INT("events", events), LOG_INT("last_id", events),
	    LOG_INT("status", status));
	return status;
}
