/* casino-tee-agg: copy every event to stdout unchanged (the final log) and
 * keep live aggregates in memory, written as a JSON snapshot file every
 * --interval ms and at exit (doc/design.md, "casino-tee-agg"). Memory: one dense
 * entry per player (lib/agg/players) and 60 one-second buckets, never anything
 * per event; the top players are kept as events arrive, not found by a scan. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "transport/logsink.h"
#include "atomicfile.h"
#include "buf.h"
#include "health.h"
#include "history.h"
#include "log.h"
#include "agg/logfile.h"
#include "opt.h"
#include "agg/players.h"
#include "rundir.h"
#include "stage.h"

#define WINDOW_SECONDS 60

/* The options (doc/design.md, "One declaration per option"). */
enum { ACK, CHECKPOINT, CLOCK, INTERVAL, LOG, SNAPSHOT, REJECT, SYNC, OLD_SNAPSHOT };
static struct opt opts[] = {
	[ACK] = { 'a', "ack", "fifo", "CASINO_AGG_ACK", .synopsis = "[-a fifo [-k file]]",
	    .help = "acknowledge each written line's src there, src not written" },
	[CHECKPOINT] = { 'k', "checkpoint", "file", "CASINO_AGG_CHECKPOINT", .synopsis = "",
	    .help = "with -a: each line once in the log, its positions kept in file" },
	[CLOCK] = { 'c', "clock", "event|wall", "CASINO_AGG_CLOCK", "event", .kind = OPT_CHOICE,
	    .choices = "event wall", .help = "time by created_at or the system clock" },
	[INTERVAL] = { 'i', "interval", "ms", "CASINO_AGG_INTERVAL", "250", .kind = OPT_NUMBER,
	    .min = 1, .max = 86400000, .help = "write the snapshot every ms milliseconds" },
	[LOG] = { 'l', "log", "file", "CASINO_AGG_LOG",
	    .help = "append the log to file, reopened on SIGUSR1, instead of stdout" },
	[SNAPSHOT] = { 'o', "snapshot", "file", "CASINO_SNAPSHOT",
	    .help = "the snapshot file, kept at exit" },
	[REJECT] = OPT_REJECT,
	[SYNC] = OPT_SYNC,
	[OLD_SNAPSHOT] = { 0, NULL, "file", "CASINO_AGG_SNAPSHOT",
	    .help = "the writer's old name of CASINO_SNAPSHOT, read until 1.0" },
};

struct bucket {
	int64_t second;
	unsigned long long events;
};

struct agg {
	int wall;                   /* --clock wall */
	unsigned long long total;
	struct utc_time first, last; /* event clock: earliest and newest created_at */
	int64_t first_ms;           /* wall clock: monotonic ms of the first arrival */
	struct bucket window[WINDOW_SECONDS];
	struct players players;
};

static double
time_diff(struct utc_time a, struct utc_time b)
{
	return (double)(a.sec - b.sec) + (a.nsec - b.nsec) / 1e9;
}

static int
time_before(struct utc_time a, struct utc_time b)
{
	return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

/* Count one event in the bucket of its second, unless that second is
 * already out of the window ending at now_second (then: total only). An
 * older occupant of the same bucket is from a second that left the window. */
static void
window_count(struct agg *a, int64_t second, int64_t now_second)
{
	struct bucket *b = &a->window[((second % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS];

	if (second <= now_second - WINDOW_SECONDS)
		return;
	if (b->second != second)
		*b = (struct bucket){ second, 0 };
	b->events++;
}

static void
agg_add(struct agg *a, const struct event *ev, int64_t arrival_ms)
{
	long long bets = 0, wins = 0, deposits = 0;

	if (a->wall) {
		if (a->total == 0)
			a->first_ms = arrival_ms;
		window_count(a, arrival_ms / 1000, arrival_ms / 1000);
	} else {
		if (a->total == 0 || time_before(ev->created_at, a->first))
			a->first = ev->created_at;
		if (a->total == 0 || time_before(a->last, ev->created_at))
			a->last = ev->created_at;
		window_count(a, ev->created_at.sec, a->last.sec);
	}
	a->total++;
	if (ev->type == EVENT_BET) {
		bets = 1;
		wins = ev->has_won;
	} else if (ev->type == EVENT_DEPOSIT) {
		if (ev->has_amount_eur)
			deposits = ev->amount_eur;
		else if (strcmp(ev->currency, "EUR") == 0)
			deposits = ev->amount;
	}
	players_count(&a->players, ev->player_id, bets, wins, deposits);
}

/* x rounded half away from zero to 2 decimals, as JSON text. */
static void
put_rate(struct buf *b, const char *key, double x)
{
	long long hundredths = llround(x * 100);

	buf_printf(b, "  \"%s\": %lld.%02lld,\n", key, hundredths / 100, hundredths % 100);
}

/* The snapshot in the shape of the challenge's GET /materialized. */
static void
agg_format(struct agg *a, struct buf *b, int64_t now_ms)
{
	static const char *const top_keys[TOPS] = {
		"top_player_bets", "top_player_wins", "top_player_deposits",
	};
	double elapsed = 0, in_window = 0;
	int64_t now_second = 0;

	if (a->total > 0 && a->wall) {
		elapsed = (now_ms - a->first_ms) / 1000.0;
		now_second = now_ms / 1000;
	} else if (a->total > 0) {
		elapsed = time_diff(a->last, a->first);
		now_second = a->last.sec;
	}
	for (int i = 0; i < WINDOW_SECONDS; i++)
		if (a->window[i].second > now_second - WINDOW_SECONDS &&
		    a->window[i].second <= now_second)
			in_window += a->window[i].events;
	buf_printf(b, "{\n  \"events_total\": %llu,\n", a->total);
	put_rate(b, "events_per_minute", a->total / fmax(1, elapsed / 60));
	put_rate(b, "events_per_second_moving_average",
	    in_window / fmin(WINDOW_SECONDS, fmax(1, elapsed)));
	for (int k = 0; k < TOPS; k++) {
		struct top top = players_top(&a->players, k);
		buf_printf(b, "  \"%s\": {\n    \"id\": %lld,\n    \"count\": %lld\n  }%s\n",
		    top_keys[k], top.id, top.count, k + 1 < TOPS ? "," : "");
	}
	buf_puts(b, "}\n");
}

/* Stage health counters (doc/design.md, "Stage health"). */
static long long *snapshots_ok, *snapshots_failed;

struct snapshot {
	const char *path;
	char *owned_path;  /* the default path, built here */
	char *rundir;      /* the default's directory, created on demand */
	int check_owner;   /* rundir is in a shared place: must be ours */
	mode_t mode;
	int failing;       /* the last write failed; log once per failure streak */
	struct buf text;
	struct buf history_path; /* GET /history's file, beside the snapshot */
	struct history history;
};

static void
snapshot_init(struct snapshot *s, const char *path)
{
	struct buf b = { 0 };
	mode_t mask = umask(0);

	umask(mask);
	memset(s, 0, sizeof(*s));
	s->mode = 0666 & ~mask;
	s->path = path;
	if (path == NULL) {
		s->check_owner = rundir_is_shared();
		rundir_path(&b);
		s->rundir = xstrndup(b.data, b.len);
		b.len = 0;
		rundir_snapshot_path(&b);
		s->path = s->owned_path = b.data;
	}
	history_path(s->path, &s->history_path);
}

/* Now on the aggregator's clock, in whole seconds (the history's end),
 * wall_second being the system clock's. */
static int64_t
clock_second(const struct agg *a, int64_t wall_second)
{
	return a->wall || a->total == 0 ? wall_second : a->last.sec;
}

/* Replace the snapshot whole (atomicfile): readers see the old or the new
 * file, never a part; then the history beside it, the same way. On failure
 * the last good files stay; 0 or -1. */
static int
snapshot_write(struct snapshot *s, struct agg *a, int64_t now_ms)
{
	const char *what = "cannot create the runtime directory";

	s->text.len = 0;
	agg_format(a, &s->text, now_ms);
	if (s->rundir == NULL || dir_make(s->rundir, s->check_owner) == 0) {
		what = "cannot write the snapshot";
		size_t snapshot_len = s->text.len;
		history_format(&s->history, clock_second(a, timefmt_now().sec), &s->text);
		if (atomicfile_write(s->path, s->text.data, snapshot_len, s->mode) == 0 &&
		    atomicfile_write(s->history_path.data, s->text.data + snapshot_len,
		    s->text.len - snapshot_len, s->mode) == 0) {
			if (s->failing)
				log_info("snapshot written again", LOG_STR("path", s->path));
			s->failing = 0;
			(*snapshots_ok)++;
			return 0;
		}
	}
	if (!s->failing)
		log_error(what, LOG_STR("path", s->path), LOG_STR("error", strerror(errno)));
	s->failing = 1;
	(*snapshots_failed)++;
	return -1;
}

static void
snapshot_free(struct snapshot *s)
{
	free(s->owned_path);
	free(s->rundir);
	buf_free(&s->text);
	buf_free(&s->history_path);
}

int
main(int argc, char **argv)
{
	const char *snapshot_path, *src;
	static struct log_sink sink;
	struct stat sb;
	static struct agg agg;
	struct snapshot snap;
	struct stage st;
	struct event ev;
	long long interval;
	int status;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	interval = opts[INTERVAL].number;
	agg.wall = opts[CLOCK].choice == 1;
	snapshot_path = opts[SNAPSHOT].value;
	src = opts[SNAPSHOT].source;
	if (snapshot_path == NULL && (snapshot_path = opts[OLD_SNAPSHOT].value) != NULL) {
		src = opts[OLD_SNAPSHOT].source;
		log_warn("deprecated variable; use CASINO_SNAPSHOT, the name the server reads too",
		    LOG_STR("variable", src));
	}
	if (snapshot_path != NULL && *snapshot_path == '\0')
		die(EX_USAGE, "bad option value", LOG_STR("option", src), LOG_STR("value", ""));
	if (opts[SYNC].on && (fstat(STDOUT_FILENO, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		log_error("--sync wants the log, standard output, to be a file (>> log)");
		opt_usage_error();
	}
	opt_checked();
	logfile_open(opts[LOG].value); /* first: with -l, the log is stdout from here */
	log_sink_open(&sink, opts[ACK].value, opts[ACK].source, opts[SYNC].on,
	    opts[CHECKPOINT].value, opts[CHECKPOINT].source);
	snapshot_init(&snap, snapshot_path);

	snapshots_ok = health_counter("snapshots_ok");
	snapshots_failed = health_counter("snapshots_error");
	stage_open(&st, opts[REJECT].value);
	/* The clock is read after each wait, not per event: the lines already
	 * buffered then (up to 64) share that reading as their arrival time. */
	int64_t now = timefmt_monotonic_ms(), next_write = now, wall_second;
	for (;;) {
		logfile_reopen_due();
		if (now >= next_write) {
			snapshot_write(&snap, &agg, now);
			health_due();
			next_write = now + interval;
		}
		int ready = stage_wait(&st, log_sink_wait_ms(&sink, (int)(next_write - now)));
		log_sink_due(&sink);
		now = timefmt_monotonic_ms();
		if (!ready)
			continue;
		wall_second = timefmt_now().sec;
		for (int batch = 0; batch < 64; batch++) {
			if (!stage_next(&st, &ev))
				goto end;
			if (log_sink_admit(&sink, &ev)) {
				agg_add(&agg, &ev, now);
				history_count(&snap.history, agg.wall ? wall_second : ev.created_at.sec,
				    clock_second(&agg, wall_second));
				log_sink_emit(&sink, &st, &ev);
			}
			event_free(&ev);
			logfile_reopen_due(); /* between two whole lines */
			if (!stage_wait(&st, 0))
				break;
		}
	}
end:
	status = stage_finish(&st);
	status = exit_worst(status, log_sink_close(&sink));
	if (snap.owned_path != NULL) {
		/* The aggregates are not persisted: the default snapshot goes. */
		const char *const files[] = { snap.path, snap.history_path.data };
		for (int i = 0; i < 2; i++)
			if (unlink(files[i]) < 0 && errno != ENOENT)
				log_warn("cannot remove the snapshot", LOG_STR("path", files[i]),
				    LOG_STR("error", strerror(errno)));
	} else if (snapshot_write(&snap, &agg, timefmt_monotonic_ms()) < 0) {
		status = exit_worst(status, EX_IOERR);
	}
	snapshot_free(&snap);
	players_free(&agg.players);
	return status;
}
