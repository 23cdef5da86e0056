/* casino-player: add "player" to every event from the PostgreSQL table
 * players(id, email, last_signed_in_at). The events that are readable
 * together form a batch and share one query, sent after they were read;
 * nothing is kept from one query to the next. Several batches' queries are
 * in flight at once (libpq pipeline mode, lib/player/playerdb), dealt in turn to
 * -c connections so that as many server processes answer them: the next
 * batch is read and sent while the database answers the previous ones,
 * and batches are written in input order. While the database is away the
 * batches are held (no more input is read) and the oldest query is
 * retried with backoff, so no event is lost, reordered or written without
 * its lookup. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "backoff.h"
#include "buf.h"
#include "health.h"
#include "log.h"
#include "opt.h"
#include "player/playerdb.h"
#include "stage.h"

/* At most this many connections (-c). */
#define MAX_CONNECTIONS 8

/* Stage health counters (doc/design.md, "Stage health"). */
static long long *queries_ok, *queries_failed, *reconnects, *unknown_players;

/* The options (doc/design.md, "One declaration per option"). */
enum { DB, BATCH, CONNECTIONS, WAIT, REJECT, UNKNOWN_EVERY };
static struct opt opts[] = {
	[DB] = { 'd', "db", "conninfo", "CASINO_DB",
	    .help = "libpq connection string or URI; else PG* variables" },
	[BATCH] = { 'b', "batch", "events", "CASINO_PLAYER_BATCH", "256", .kind = OPT_NUMBER,
	    .min = 1, .max = 1000000, .help = "at most events per query" },
	[CONNECTIONS] = { 'c', "connections", "connections", "CASINO_PLAYER_CONNECTIONS", "2",
	    .kind = OPT_NUMBER, .min = 1, .max = MAX_CONNECTIONS,
	    .help = "queries go out on this many connections in turn" },
	[WAIT] = { 'w', "wait", "seconds", "CASINO_PLAYER_WAIT", "0", .kind = OPT_NUMBER,
	    .max = 1000000000, .help = "give up after seconds if the database is down at\n"
	    "startup, exit 69; 0 waits for ever" },
	[REJECT] = OPT_REJECT,
	[UNKNOWN_EVERY] = { 0, NULL, "seconds", "CASINO_PLAYER_UNKNOWN_EVERY", "60",
	    .kind = OPT_REAL, .rmin = 0.001, .rmax = 86400,
	    .help = "log unknown players at most once in seconds" },
};

/* playerdb_ready, ending the run on a server casino-player cannot use. */
static int
db_ready(struct playerdb *db)
{
	int failed = playerdb_ready(db);

	if (failed && db->failure == PLAYERDB_FLOAT_TIMES)
		die(EX_UNAVAILABLE, "server stores timestamps as floats, not supported");
	return failed;
}

/* At startup: wait for the database (for ever when wait_s is 0); -1 when
 * it gave up or was stopped, with the events still to be saved. Events
 * already waiting in the pipe are held meanwhile (health: held 1), so a
 * supervisor sees a stage held by its service, not an idle one. */
static int
db_wait_startup(struct playerdb *db, struct stage *st, long long wait_s)
{
	int64_t deadline = timefmt_monotonic_ms() + wait_s * 1000;
	struct backoff retry = { 0 };
	int waited = 0;

	while (db_ready(db) != 0) {
		if (db->failure == PLAYERDB_BAD_OPTIONS) {
			log_error("bad connection parameters (--db, CASINO_DB or PG* variables)",
			    LOG_STR("error", db->error));
			opt_usage_error();
		}
		if (db->failure == PLAYERDB_REFUSED) {
			log_error("the database server refused the connection",
			    LOG_STR("error", db->error));
			return -1;
		}
		if (wait_s > 0 && timefmt_monotonic_ms() >= deadline) {
			log_error("database unavailable, giving up", LOG_STR("error", db->error),
			    LOG_INT("waited_s", wait_s));
			return -1;
		}
		int64_t delay = backoff_next(&retry);
		log_warn("waiting for the database", LOG_STR("error", db->error),
		    LOG_INT("retry_ms", delay));
		health_hold(stage_ready(st) ? 1 : 0);
		waited = 1;
		if (sig_sleep_ms(delay) != 0)
			return -1;
	}
	health_hold(0);
	if (waited)
		log_info("database connected");
	return 0;
}

/* The answer to lk after its query failed once (db->error says why),
 * retried with backoff on a new connection until it works; -1 only after
 * a stop request. */
static int
db_lookup(struct playerdb *db, struct player_lookup *lk, size_t held)
{
	struct backoff retry = { 0 };
	int failures = 0;

	for (;;) {
		failures++;
		int64_t delay = backoff_next(&retry);
		health_hold(held);
		log_warn("database unavailable, holding events", LOG_STR("error", db->error),
		    LOG_INT("held", held), LOG_INT("retry_ms", delay));
		if (sig_sleep_ms(delay) != 0)
			return -1;
		if (db_ready(db) != 0)
			continue;
		if (playerdb_query(db, lk) == 0) {
			(*queries_ok)++;
			health_hold(0);
			log_info("database back, sending held events",
			    LOG_INT("held", held), LOG_INT("failures", failures));
			return 0;
		}
		(*queries_failed)++;
	}
}

static int
compare_player_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Unknown players, so a stream full of them does not flood the log: each
 * player's first miss is logged at once, later ones at most once a minute
 * (CASINO_PLAYER_UNKNOWN_EVERY) per player as a count with the first and
 * last event id, and what is left at exit. The counts add up to the misses.
 * Players beyond the table are counted together in one more entry. */
#define MISS_TABLE_MAX 4096
#define NEVER_MS (INT64_MIN / 2)

struct miss {
	long long player_id; /* first: the key bsearch compares */
	unsigned long count; /* misses not yet logged */
	long long first_id, last_id;
	int64_t logged_ms;
};

struct misses {
	struct miss *v; /* sorted by player_id */
	size_t n;
	struct miss others;
	int64_t swept_ms, every_ms; /* every_ms: CASINO_PLAYER_UNKNOWN_EVERY */
};

static void
miss_log(struct miss *m, int is_other, int64_t now)
{
	if (m->count == 0)
		return;
	if (is_other)
		log_warn("player not found (one of more unknown players than are counted apart)",
		    LOG_INT("count", m->count), LOG_INT("first_event_id", m->first_id),
		    LOG_INT("last_event_id", m->last_id), LOG_INT("players_counted_apart", MISS_TABLE_MAX));
	else if (m->count == 1)
		log_warn("player not found", LOG_INT("event_id", m->first_id),
		    LOG_INT("player_id", m->player_id), LOG_INT("count", 1));
	else
		log_warn("player not found", LOG_INT("player_id", m->player_id),
		    LOG_INT("count", m->count), LOG_INT("first_event_id", m->first_id),
		    LOG_INT("last_event_id", m->last_id));
	m->count = 0;
	m->logged_ms = now;
}

static void
miss_note(struct misses *ms, long long player_id, long long event_id)
{
	int64_t now = timefmt_monotonic_ms();
	struct miss *m = ms->n == 0 ? NULL :
	    bsearch(&player_id, ms->v, ms->n, sizeof(*ms->v), compare_player_id);

	if (m == NULL && ms->n < MISS_TABLE_MAX) {
		size_t i = 0;
		if (ms->v == NULL)
			ms->v = xmalloc(MISS_TABLE_MAX * sizeof(*ms->v));
		while (i < ms->n && ms->v[i].player_id < player_id)
			i++;
		memmove(ms->v + i + 1, ms->v + i, (ms->n - i) * sizeof(*ms->v));
		ms->n++;
		m = &ms->v[i];
		*m = (struct miss){ .player_id = player_id, .logged_ms = NEVER_MS };
	}
	if (m == NULL)
		m = &ms->others;
	if (m->count++ == 0)
		m->first_id = event_id;
	m->last_id = event_id;
	if (now - m->logged_ms >= ms->every_ms)
		miss_log(m, m == &ms->others, now);
}

/* Log the counts whose minute is over (all of them when at_exit). */
static void
misses_sweep(struct misses *ms, int at_exit)
{
	int64_t now = timefmt_monotonic_ms();

	/* At most once a second, or once an interval when that is shorter. */
	if (!at_exit && now - ms->swept_ms < (ms->every_ms < 1000 ? ms->every_ms : 1000))
		return;
	ms->swept_ms = now;
	for (size_t i = 0; i < ms->n; i++)
		if (at_exit || now - ms->v[i].logged_ms >= ms->every_ms)
			miss_log(&ms->v[i], 0, now);
	if (at_exit || now - ms->others.logged_ms >= ms->every_ms)
		miss_log(&ms->others, 1, now);
}
/* Write every event of ev[0..n) in order with its player from lk. */
static void
enrich(struct stage *st, const struct event *ev, size_t n, const struct player_lookup *lk,
    struct misses *ms)
{
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *player = lookup_player(lk, ev[i].player_id, &len);
		if (player != NULL) {
			stage_emit_key(st, &ev[i], "player", player, len);
		} else {
			miss_note(ms, ev[i].player_id, ev[i].id);
			(*unknown_players)++;
			if (ev[i].player == NULL)
				stage_emit(st, &ev[i]);
			else /* a player from upstream is not this query's answer */
				stage_emit_without_key(st, &ev[i], "player");
		}
	}
}

/* The batches read and not yet written, oldest first: their events lie
 * one after the other in ev[start..end), the oldest batch's first. At most
 * BATCHES_PER_CONNECTION of them per connection. */
#define BATCHES_PER_CONNECTION 4
#define NOT_SENT (-1)

struct batch {
	size_t first, n; /* its events: ev[first..first + n) */
	int conn;        /* the connection its query is queued on, or NOT_SENT */
	struct player_lookup lk;
};

struct flight {
	struct event *ev;
	size_t cap, start, end;
	struct batch b[BATCHES_PER_CONNECTION * MAX_CONNECTIONS];
	size_t head, count, depth; /* b[head] is the oldest; depth: room for batches */
	long long *ids;            /* the newest batch's player ids */
	struct playerdb db[MAX_CONNECTIONS];
	int conns, next_conn;      /* next_conn: the one the next batch goes to */
	int64_t extra_retry_ms;    /* no new extra connection before this */
	struct backoff extra_backoff;
};

static struct batch *
flight_batch(struct flight *fl, size_t i)
{
	return &fl->b[(fl->head + i) % fl->depth];
}

/* Read the events readable now (at least one: blocks for it) as the newest
 * batch; 0 at the end of input. */
static int
flight_read(struct flight *fl, struct stage *st, size_t max_batch)
{
	if (fl->end + max_batch > fl->cap) {
		memmove(fl->ev, fl->ev + fl->start, (fl->end - fl->start) * sizeof(*fl->ev));
		for (size_t i = 0; i < fl->count; i++)
			flight_batch(fl, i)->first -= fl->start;
		fl->end -= fl->start;
		fl->start = 0;
	}
	struct event *ev = fl->ev + fl->end;
	size_t n;
	if (!stage_next(st, &ev[0]))
		return 0;
	event_detach(&ev[0]);
	fl->ids[0] = ev[0].player_id;
	for (n = 1; n < max_batch && stage_ready(st) && stage_next(st, &ev[n]); n++) {
		event_detach(&ev[n]);
		fl->ids[n] = ev[n].player_id;
	}
	struct batch *b = flight_batch(fl, fl->count++);
	b->first = fl->end;
	b->n = n;
	b->conn = NOT_SENT;
	fl->end += n;
	lookup_set(&b->lk, fl->ids, n);
	return 1;
}

/* A connection failed (the first's error in db[0]): every connection is
 * closed and every batch is to be sent again, so one outage is one hold. */
static void
flight_lost(struct flight *fl, int failed)
{
	(*queries_failed)++;
	if (failed != 0)
		memcpy(fl->db[0].error, fl->db[failed].error, sizeof(fl->db[0].error));
	for (int c = 0; c < fl->conns; c++)
		playerdb_close(&fl->db[c]);
	for (size_t i = 0; i < fl->count; i++)
		flight_batch(fl, i)->conn = NOT_SENT;
}

/* Connection c, open, or opened now while the first one is up; an extra
 * connection the server refuses is tried again after a backoff, its
 * batches going to the others meanwhile. */
static int
flight_conn_open(struct flight *fl, int c)
{
	if (fl->db[c].conn != NULL)
		return 1;
	if (c == 0 || fl->db[0].conn == NULL || timefmt_monotonic_ms() < fl->extra_retry_ms)
		return 0;
	if (db_ready(&fl->db[c]) == 0) {
		backoff_reset(&fl->extra_backoff);
		return 1;
	}
	int64_t delay = backoff_next(&fl->extra_backoff);
	fl->extra_retry_ms = timefmt_monotonic_ms() + delay;
	log_warn("extra connection failed, going on with fewer", LOG_STR("error", fl->db[c].error),
	    LOG_INT("retry_ms", delay));
	return 0;
}

/* Send the query of every batch not yet sent, in order, each to the next
 * open connection in turn; does not wait. */
static void
flight_send(struct flight *fl)
{
	for (size_t i = 0; i < fl->count; i++) {
		struct batch *b = flight_batch(fl, i);
		int c = fl->next_conn, tried = 0;
		if (b->conn != NOT_SENT)
			continue;
		while (tried++ < fl->conns && !flight_conn_open(fl, c))
			c = (c + 1) % fl->conns;
		if (tried > fl->conns)
			return; /* none open: the oldest goes through db_lookup */
		if (playerdb_send(&fl->db[c], &b->lk) != 0) {
			flight_lost(fl, c);
			return;
		}
		b->conn = c;
		fl->next_conn = (c + 1) % fl->conns;
	}
}

int
main(int argc, char **argv)
{
	const char *conninfo;
	struct flight fl = { 0 };
	struct misses ms = { .others.logged_ms = NEVER_MS };
	struct stage st;
	int c, stopped;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	size_t max_batch = (size_t)opts[BATCH].number;
	fl.conns = (int)opts[CONNECTIONS].number;
	long long wait_s = opts[WAIT].number;
	conninfo = opts[DB].value;
	ms.every_ms = (int64_t)(1000 * opts[UNKNOWN_EVERY].real + 0.5); /* to the ms */
	if (conninfo != NULL) {
		char *err = NULL;
		PQconninfoOption *parsed = PQconninfoParse(conninfo, &err);
		if (parsed == NULL) {
			playerdb_error(&fl.db[0], "conninfo", err ? err : "out of memory");
			PQfreemem(err);
			log_error("bad connection string", LOG_STR("option", opts[DB].source),
			    LOG_STR("error", fl.db[0].error));
			opt_usage_error();
		}
		PQconninfoFree(parsed);
	}
	opt_checked();

	queries_ok = health_counter("queries_ok");
	queries_failed = health_counter("queries_error");
	reconnects = health_counter("reconnects");
	unknown_players = health_counter("unknown");
	/* A lost connection closes them all, so the first one's counts the outages. */
	for (c = 0; c < fl.conns; c++)
		fl.db[c] = (struct playerdb){ .conninfo = conninfo, .reconnects = c == 0 ? reconnects : NULL };
	stage_open(&st, opts[REJECT].value);
	/* No database at all: what comes is saved as if held. */
	if ((stopped = db_wait_startup(&fl.db[0], &st, wait_s) != 0))
		stage_stop_holding(&st, NULL, 0);
	fl.depth = BATCHES_PER_CONNECTION * (size_t)fl.conns;
	fl.cap = fl.depth * max_batch;
	fl.ev = xmalloc(fl.cap * sizeof(*fl.ev));
	fl.ids = xmalloc(max_batch * sizeof(*fl.ids));
	int ended = stopped;
	for (;;) {
		/* Read and send while there is room: block for input only when
		 * nothing is in flight, never wait for more than is readable. */
		while (!ended && fl.count < fl.depth && (fl.count == 0 || stage_ready(&st))) {
			ended = !flight_read(&fl, &st, max_batch);
			flight_send(&fl);
		}
		if (fl.count == 0)
			break;
		flight_send(&fl); /* again, after a reconnection */
		struct batch *oldest = flight_batch(&fl, 0);
		/* Not sent, or no answer: a connection failed (db[0].error). */
		if (oldest->conn != NOT_SENT && playerdb_receive(&fl.db[oldest->conn], &oldest->lk) == 0)
			(*queries_ok)++;
		else if (oldest->conn != NOT_SENT)
			flight_lost(&fl, oldest->conn);
		if (oldest->conn == NOT_SENT &&
		    db_lookup(&fl.db[0], &oldest->lk, fl.end - fl.start) != 0) {
			/* Stopped while the database was down: save the batches and all behind them. */
			stage_stop_holding(&st, fl.ev + fl.start, fl.end - fl.start);
			stopped = 1;
			break;
		}
		enrich(&st, fl.ev + oldest->first, oldest->n, &oldest->lk, &ms);
		for (size_t i = 0; i < oldest->n; i++)
			event_free(&fl.ev[oldest->first + i]);
		fl.start += oldest->n;
		fl.head = (fl.head + 1) % fl.depth;
		fl.count--;
		misses_sweep(&ms, 0);
	}
	for (size_t i = fl.start; i < fl.end; i++)
		event_free(&fl.ev[i]);
	misses_sweep(&ms, 1);
	free(ms.v);
	free(fl.ev);
	free(fl.ids);
	for (size_t i = 0; i < fl.depth; i++)
		lookup_free(&fl.b[i].lk);
	for (c = 0; c < fl.conns; c++)
		playerdb_close(&fl.db[c]);
	return stage_finish(&st);
}
