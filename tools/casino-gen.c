/* casino-gen: random casino events, one JSON object per line, like the
 * original challenge's generator. */
#include <getopt.h>
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

static const char usage_text[] =
    "casino-gen [-n count] [-t seconds] [-r rate] [-s seed] [-T time] [-g gap]";

static const char *const currencies[] = { "EUR", "USD", "GBP", "NZD", "BTC" };
static const char *const types[] = { "game_start", "bet", "deposit", "game_stop" };

static _Noreturn void
usage(void)
{
	printf("usage: %s\n"
	    "  -n, --count N       stop after N events (CASINO_GEN_COUNT)\n"
	    "  -t, --duration S    stop after S seconds of the event clock (CASINO_GEN_DURATION)\n"
	    "  -r, --rate EPS      events per second, 0 = as fast as possible (CASINO_GEN_RATE)\n"
	    "  -s, --seed N        seed; the same seed gives the same events (CASINO_GEN_SEED)\n"
	    "  -T, --start TIME    synthetic clock starting at TIME, no sleeping (CASINO_GEN_START)\n"
	    "  -g, --gap MS|MIN-MAX  the random gap between events, ms; default 0-100 (CASINO_GEN_GAP)\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n", usage_text);
	exit(0);
}

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
gap_parse(const char *src, const char *v, long long *min, long long *max)
{
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
	die(EX_USAGE, "bad option value", LOG_STR("option", src), LOG_STR("value", v),
	    LOG_STR("allowed", "MS or MIN-MAX, 0 to 86400000, MIN <= MAX"));
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
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, 'T' },
		{ "gap", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *count_arg = NULL, *duration_arg = NULL, *rate_arg = NULL;
	const char *seed_arg = NULL, *start_arg = NULL, *gap_arg = NULL, *v, *src;
	long long count = LLONG_MAX, duration_ms = LLONG_MAX;
	long long gap_min = 0, gap_max = 100; /* the original's 0-100 ms */
	double rate = -1; /* -1: the original's random gaps in real time */
	uint64_t rng;
	struct utc_time clock;
	int synthetic = 0, past_end = 0, c;

	/* First: a stop that comes during start-up must not take the default
	 * action (exit by SIGTERM, 143) but end the run cleanly. */
	sig_init();
	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "n:t:r:s:T:g:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': count_arg = optarg; break;
		case 't': duration_arg = optarg; break;
		case 'r': rate_arg = optarg; break;
		case 's': seed_arg = optarg; break;
		case 'T': start_arg = optarg; break;
		case 'g': gap_arg = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	opt_done(argc, argv, 0, usage_text);
	if ((v = opt_pick("--count", count_arg, "CASINO_GEN_COUNT", NULL, &src)))
		count = opt_number(src, v, 0, LLONG_MAX);
	if ((v = opt_pick("--duration", duration_arg, "CASINO_GEN_DURATION", NULL, &src)))
		duration_ms = opt_number(src, v, 0, LLONG_MAX / 1000) * 1000;
	if ((v = opt_pick("--rate", rate_arg, "CASINO_GEN_RATE", NULL, &src)))
		rate = opt_real(src, v, 0, 1e9);
	if ((v = opt_pick("--seed", seed_arg, "CASINO_GEN_SEED", NULL, &src)))
		rng = (uint64_t)opt_number(src, v, 0, LLONG_MAX);
	else
		rng = (uint64_t)timefmt_now().nsec ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)timefmt_now().sec;
	if ((v = opt_pick("--gap", gap_arg, "CASINO_GEN_GAP", NULL, &src)))
		gap_parse(src, v, &gap_min, &gap_max);
	clock = timefmt_now();
	if ((v = opt_pick("--start", start_arg, "CASINO_GEN_START", NULL, &src))) {
		if (timefmt_parse(v, strlen(v), &clock))
			die(EX_USAGE, "bad option value", LOG_STR("option", src),
			    LOG_STR("value", v),
			    LOG_STR("allowed", "RFC 3339, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"));
		synthetic = 1;
	}
	pipe_size_setup();

	struct buf line = { 0 };
	struct utc_time start = clock;
	int64_t wall_start = timefmt_monotonic_ms();
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
		if (sig_stop_requested())
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
