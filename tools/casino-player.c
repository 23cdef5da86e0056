/* casino-player: add "player" to every event from the PostgreSQL table
 * players(id, email, last_signed_in_at). The events that are readable
 * together form a batch and share one query, sent after they were read;
 * nothing is kept from one query to the next. Up to FLIGHT_DEPTH batches'
 * queries are in flight at once (libpq pipeline mode): the next batch is
 * read and sent while the database answers the previous one, and batches
 * are written in input order. While the database is away the batches are
 * held (no more input is read) and the oldest query is retried with
 * backoff, so no event is lost, reordered or written without its lookup. */
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <poll.h>
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
#include "stage.h"

static const char usage_text[] =
    "casino-player [-d conninfo] [-b events] [-w seconds] [-r file]";

/* Binary results: int8 id, text email, timestamptz as microseconds since
 * 2000-01-01 UTC, so no timestamp text has to be parsed. The casts pin
 * the wire types whatever the column types are. */
#define STATEMENT "casino_player_lookup"
#define QUERY "SELECT id::int8, email::text, last_signed_in_at::timestamptz " \
	"FROM players WHERE id = ANY($1::int8[])"
#define PG_EPOCH 946684800LL          /* 2000-01-01T00:00:00Z */

/* Stage health counters (doc/design.md, "Stage health"). */
static long long *queries_ok, *queries_failed, *reconnects, *unknown_players;

static _Noreturn void
usage(void)
{
	printf("usage: %s\n"
	    "  -d, --db CONNINFO   libpq connection string or URI (CASINO_DB; else PG* variables)\n"
	    "  -b, --batch N       at most N events per query, default 256 (CASINO_PLAYER_BATCH)\n"
	    "  -w, --wait S        give up after S seconds if the database is down at startup,\n"
	    "                      exit 69; default 0 waits for ever (CASINO_PLAYER_WAIT)\n"
	    "  -r, --reject FILE   append rejected lines to FILE (CASINO_REJECT)\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n", usage_text);
	exit(0);
}

struct db {
	const char *conninfo; /* NULL: libpq's PG* variables */
	PGconn *conn;
	int prepared, connected_once;
	enum { DB_DOWN, DB_BAD_OPTIONS, DB_REFUSED } failure; /* see db_ready */
	char error[512];
};

/* libpq messages end in a newline and may span lines; logs want one line. */
static void
set_error(struct db *db, const char *what, const char *msg)
{
	char *p;

	snprintf(db->error, sizeof(db->error), "%s: %s", what, msg);
	for (p = db->error; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	while (p > db->error && p[-1] == ' ')
		*--p = '\0';
}

static void
db_close(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
	db->prepared = 0;
}

/* A server notice (e.g. "terminating connection due to administrator
 * command") as a log record: libpq would print it raw on stderr. */
static void
notice_to_log(void *arg, const char *msg)
{
	int len = (int)strcspn(msg, "\n");
	char text[512];

	(void)arg;
	snprintf(text, sizeof(text), "%.*s", len, msg);
	log_warn("database notice", LOG_STR("notice", text));
}

/* Why the first connection failed. libpq checks some option values
 * (sslmode=bogus) before it connects and integers (connect_timeout=abc)
 * only while connecting, then fails as if the server were down; a server
 * that answers and refuses (no such database or role) will not change its
 * mind while we wait. Only a server that does not answer is waited for. */
static int
connect_failure(const PGconn *conn, PGPing ping)
{
	if (ping == PQPING_NO_ATTEMPT ||
	    strstr(PQerrorMessage(conn), "invalid integer value") != NULL)
		return DB_BAD_OPTIONS;
	return ping == PQPING_OK ? DB_REFUSED : DB_DOWN;
}

/* Connect if needed and prepare the statement; 0 when ready to query. */
static int
db_ready(struct db *db)
{
	/* Defaults first: the connection string and PG* variables override. */
	const char *keys[] = { "connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "fallback_application_name",
		"dbname", "client_encoding", NULL };
	const char *values[] = { getenv("PGCONNECT_TIMEOUT") ? NULL : "10", "10",
		"5", "3", "casino-player", db->conninfo, "UTF8", NULL };
	PGresult *res;

	if (db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		db_close(db);
	if (db->conn == NULL) {
		db->conn = PQconnectdbParams(keys, values, 1);
		if (db->conn == NULL) {
			set_error(db, "connect", "out of memory");
			return -1;
		}
		if (PQstatus(db->conn) != CONNECTION_OK) {
			set_error(db, "connect", PQerrorMessage(db->conn));
			if (!db->connected_once)
				db->failure = connect_failure(db->conn, PQpingParams(keys, values, 1));
			db_close(db);
			return -1;
		}
		PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
		if (db->connected_once)
			(*reconnects)++;
		db->connected_once = 1;
		const char *idt = PQparameterStatus(db->conn, "integer_datetimes");
		if (idt == NULL || strcmp(idt, "on") != 0)
			die(EX_UNAVAILABLE, "server stores timestamps as floats, not supported");
	}
	if (!db->prepared) {
		res = PQprepare(db->conn, STATEMENT, QUERY, 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_error(db, "prepare", PQerrorMessage(db->conn));
			PQclear(res);
			return -1;
		}
		PQclear(res);
		db->prepared = 1;
	}
	return 0;
}

/* At startup: wait for the database (for ever when wait_s is 0); -1 when
 * it gave up or was stopped, with the events still to be saved. */
static int
db_wait_startup(struct db *db, long long wait_s)
{
	int64_t deadline = timefmt_monotonic_ms() + wait_s * 1000;
	struct backoff retry = { 0 };
	int waited = 0;

	while (db_ready(db) != 0) {
		if (db->failure == DB_BAD_OPTIONS) {
			log_error("bad connection parameters (--db, CASINO_DB or PG* variables)",
			    LOG_STR("error", db->error));
			opt_usage_error(usage_text);
		}
		if (db->failure == DB_REFUSED) {
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
		waited = 1;
		if (sig_sleep_ms(delay) != 0)
			return -1;
	}
	if (waited)
		log_info("database connected");
	return 0;
}

/* The players of ids[0..n) (sorted, distinct), as one query; retried with
 * backoff until it works. failed: the query has failed once already (sent
 * in a pipeline; db->error says why). NULL only after a stop request. */
static PGresult *
db_lookup(struct db *db, const char *id_array, size_t held, int failed)
{
	const char *params[1] = { id_array };
	struct backoff retry = { 0 };
	int failures = 0;
	PGresult *res;

	for (;; failed = 0) {
		if (!failed && db_ready(db) == 0) {
			res = PQexecPrepared(db->conn, STATEMENT, 1, params, NULL, NULL, 1);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 3) {
				(*queries_ok)++;
				health_hold(0);
				if (failures > 0)
					log_info("database back, sending held events",
					    LOG_INT("held", held), LOG_INT("failures", failures));
				return res;
			}
			set_error(db, "query", PQerrorMessage(db->conn));
			PQclear(res);
			(*queries_failed)++;
			/* Start afresh whatever went wrong: a dead session fails every
			 * later query, and a live one may hold a statement prepared
			 * against a table that has since been dropped and recreated. */
			db_close(db);
		}
		failures++;
		int64_t delay = backoff_next(&retry);
		health_hold(held);
		log_warn("database unavailable, holding events", LOG_STR("error", db->error),
		    LOG_INT("held", held), LOG_INT("retry_ms", delay));
		if (sig_sleep_ms(delay) != 0)
			return NULL;
	}
}

static int64_t
be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return (int64_t)v;
}

static int
compare_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* One batch's lookup: distinct player ids, each with its "player" JSON. */
struct lookup {
	long long *ids;
	size_t n, cap;
	size_t *start, *len; /* span in json; len 0 = not found */
	struct buf json, id_array;
};

static void
player_json(struct lookup *lk, const PGresult *res, int row)
{
	struct buf *b = &lk->json;
	long long id = be64(PQgetvalue(res, row, 0));
	long long *slot = bsearch(&id, lk->ids, lk->n, sizeof(*lk->ids), compare_ll);

	if (slot == NULL)
		return; /* cannot happen: the query asked for these ids only */
	size_t i = (size_t)(slot - lk->ids);
	lk->start[i] = b->len;
	buf_puts(b, "{\"id\":");
	buf_put_int(b, id);
	buf_puts(b, ",\"email\":");
	buf_json_string(b, PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1));
	if (!PQgetisnull(res, row, 2)) {
		int64_t us = be64(PQgetvalue(res, row, 2));
		int64_t rem = us % 1000000, sec = us / 1000000 + PG_EPOCH;
		if (rem < 0) {
			rem += 1000000;
			sec--;
		}
		if (sec >= TIMEFMT_MIN_SEC && sec <= TIMEFMT_MAX_SEC) {
			char text[TIMEFMT_MAX];
			struct utc_time t = { sec, (int32_t)(rem * 1000) };
			buf_puts(b, ",\"last_signed_in_at\":\"");
			buf_append(b, text, timefmt_utc(text, t));
			buf_putc(b, '"');
		} else { /* infinity or beyond RFC 3339's years */
			log_warn("last_signed_in_at not representable, left out",
			    LOG_INT("player_id", id));
		}
	}
	buf_putc(b, '}');
	lk->len[i] = b->len - lk->start[i];
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
	    bsearch(&player_id, ms->v, ms->n, sizeof(*ms->v), compare_ll);

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

	if (!at_exit && now - ms->swept_ms < 1000)
		return;
	ms->swept_ms = now;
	for (size_t i = 0; i < ms->n; i++)
		if (at_exit || now - ms->v[i].logged_ms >= ms->every_ms)
			miss_log(&ms->v[i], 0, now);
	if (at_exit || now - ms->others.logged_ms >= ms->every_ms)
		miss_log(&ms->others, 1, now);
}

/* The distinct player ids of ev[0..n), sorted, and the query's array. */
static void
lookup_ids(struct lookup *lk, const struct event *ev, size_t n)
{
	size_t i;

	if (lk->cap < n) {
		lk->cap = n;
		lk->ids = xrealloc(lk->ids, n * sizeof(*lk->ids));
		lk->start = xrealloc(lk->start, n * sizeof(*lk->start));
		lk->len = xrealloc(lk->len, n * sizeof(*lk->len));
	}
	for (i = 0; i < n; i++)
		lk->ids[i] = ev[i].player_id;
	qsort(lk->ids, n, sizeof(*lk->ids), compare_ll);
	lk->n = 0;
	lk->id_array.len = 0;
	buf_putc(&lk->id_array, '{');
	for (i = 0; i < n; i++) {
		if (lk->n > 0 && lk->ids[lk->n - 1] == lk->ids[i])
			continue;
		if (lk->n > 0)
			buf_putc(&lk->id_array, ',');
		buf_put_int(&lk->id_array, lk->ids[i]);
		lk->len[lk->n] = 0;
		lk->ids[lk->n++] = lk->ids[i];
	}
	buf_putc(&lk->id_array, '}');
	buf_putc(&lk->id_array, '\0');
}

/* Write every event of ev[0..n) in order with its player from res. */
static void
enrich(struct stage *st, const struct event *ev, size_t n, struct lookup *lk,
    const PGresult *res, struct misses *ms)
{
	lk->json.len = 0;
	for (int row = 0; row < PQntuples(res); row++)
		player_json(lk, res, row);
	for (size_t i = 0; i < n; i++) {
		long long *slot = bsearch(&ev[i].player_id, lk->ids, lk->n, sizeof(*lk->ids), compare_ll);
		size_t k = (size_t)(slot - lk->ids);
		if (lk->len[k] > 0) {
			stage_emit_key(st, &ev[i], "player", lk->json.data + lk->start[k], lk->len[k]);
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
 * one after the other in ev[start..end), the oldest batch's first. */
#define FLIGHT_DEPTH 4

struct batch {
	size_t first, n; /* its events: ev[first..first + n) */
	int sent;        /* its query is in the pipeline */
	struct lookup lk;
};

struct flight {
	struct event *ev;
	size_t cap, start, end;
	struct batch b[FLIGHT_DEPTH];
	size_t head, count; /* b[head] is the oldest */
};

static struct batch *
flight_batch(struct flight *fl, size_t i)
{
	return &fl->b[(fl->head + i) % FLIGHT_DEPTH];
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
	for (n = 1; n < max_batch && stage_ready(st) && stage_next(st, &ev[n]); n++)
		event_detach(&ev[n]);
	struct batch *b = flight_batch(fl, fl->count++);
	*b = (struct batch){ fl->end, n, 0, b->lk };
	fl->end += n;
	lookup_ids(&b->lk, ev, n);
	return 1;
}

/* The connection and every query in it are gone: all batches to be sent again. */
static void
flight_lost(struct db *db, struct flight *fl, const char *error)
{
	set_error(db, "query", error);
	(*queries_failed)++;
	db_close(db);
	for (size_t i = 0; i < fl->count; i++)
		flight_batch(fl, i)->sent = 0;
}

/* Send the query of every batch not yet sent, in order, each with its own
 * sync point; does not wait. */
static void
flight_send(struct db *db, struct flight *fl)
{
	for (size_t i = 0; i < fl->count && db->conn != NULL; i++) {
		struct batch *b = flight_batch(fl, i);
		const char *params[1] = { b->lk.id_array.data };
		if (b->sent)
			continue;
		if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF &&
		    (PQsetnonblocking(db->conn, 1) != 0 || PQenterPipelineMode(db->conn) == 0)) {
			flight_lost(db, fl, PQerrorMessage(db->conn));
			return;
		}
		if (PQsendQueryPrepared(db->conn, STATEMENT, 1, params, NULL, NULL, 1) == 0 ||
		    PQpipelineSync(db->conn) == 0 || PQflush(db->conn) < 0) {
			flight_lost(db, fl, PQerrorMessage(db->conn));
			return;
		}
		b->sent = 1;
	}
}

/* The next result of the pipeline in *res (NULL ends a query's results),
 * waiting for it while sending what is still queued; -1 when the
 * connection failed. What is written goes out before the wait. */
static int
db_next_result(struct db *db, PGresult **res)
{
	for (;;) {
		int queued = PQflush(db->conn);
		if (queued < 0 || PQconsumeInput(db->conn) == 0)
			return -1;
		if (!PQisBusy(db->conn)) {
			*res = PQgetResult(db->conn);
			return 0;
		}
		struct pollfd p = { PQsocket(db->conn), POLLIN | (queued ? POLLOUT : 0), 0 };
		out_flush();
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* The oldest batch's answer (its rows, then the end of its results, then
 * its sync point); NULL when the query or the connection failed. */
static PGresult *
flight_receive(struct db *db, struct flight *fl)
{
	PGresult *res = NULL, *next = NULL;
	int ok = db_next_result(db, &res) == 0 && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQnfields(res) == 3 && db_next_result(db, &next) == 0 && next == NULL &&
	    db_next_result(db, &next) == 0 && PQresultStatus(next) == PGRES_PIPELINE_SYNC;

	PQclear(next);
	if (ok) {
		(*queries_ok)++;
		return res;
	}
	flight_lost(db, fl, res != NULL && PQresultErrorMessage(res)[0] != '\0' ?
	    PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	PQclear(res);
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "wait", required_argument, NULL, 'w' },
		{ "reject", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db_arg = NULL, *batch_arg = NULL, *wait_arg = NULL, *reject_arg = NULL;
	const char *reject, *v, *src;
	struct db db = { 0 };
	struct misses ms = { .others.logged_ms = NEVER_MS };
	struct stage st;
	int c, stopped;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "d:b:w:r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': db_arg = optarg; break;
		case 'b': batch_arg = optarg; break;
		case 'w': wait_arg = optarg; break;
		case 'r': reject_arg = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	opt_done(argc, argv, 0, usage_text);
	v = opt_pick("--batch", batch_arg, "CASINO_PLAYER_BATCH", "256", &src);
	size_t max_batch = (size_t)opt_number(src, v, 1, 1000000);
	v = opt_pick("--wait", wait_arg, "CASINO_PLAYER_WAIT", "0", &src);
	long long wait_s = opt_number(src, v, 0, 1000000000);
	reject = opt_pick("--reject", reject_arg, "CASINO_REJECT", NULL, &src);
	db.conninfo = opt_pick("--db", db_arg, "CASINO_DB", NULL, &src);
	v = opt_pick(NULL, NULL, "CASINO_PLAYER_UNKNOWN_EVERY", "60", &src);
	ms.every_ms = 1000 * opt_number(src, v, 1, 86400);
	if (db.conninfo != NULL) {
		char *err = NULL;
		PQconninfoOption *parsed = PQconninfoParse(db.conninfo, &err);
		if (parsed == NULL) {
			set_error(&db, "conninfo", err ? err : "out of memory");
			PQfreemem(err);
			log_error("bad connection string", LOG_STR("option", src),
			    LOG_STR("error", db.error));
			opt_usage_error(usage_text);
		}
		PQconninfoFree(parsed);
	}

	queries_ok = health_counter("queries_ok");
	queries_failed = health_counter("queries_error");
	reconnects = health_counter("reconnects");
	unknown_players = health_counter("unknown");
	stage_open(&st, reject);
	/* No database at all: what comes is saved as if held. */
	if ((stopped = db_wait_startup(&db, wait_s) != 0))
		stage_stop_holding(&st, NULL, 0);
	struct flight fl = { .cap = FLIGHT_DEPTH * max_batch };
	fl.ev = xmalloc(fl.cap * sizeof(*fl.ev));
	int ended = stopped;
	for (;;) {
		/* Read and send while there is room: block for input only when
		 * nothing is in flight, never wait for more than is readable. */
		while (!ended && fl.count < FLIGHT_DEPTH && (fl.count == 0 || stage_ready(&st))) {
			ended = !flight_read(&fl, &st, max_batch);
			flight_send(&db, &fl);
		}
		if (fl.count == 0)
			break;
		flight_send(&db, &fl); /* again, after a reconnection */
		struct batch *oldest = flight_batch(&fl, 0);
		/* Not sent, or no answer: the connection failed (db.error). */
		PGresult *res = oldest->sent ? flight_receive(&db, &fl) : NULL;
		if (res == NULL)
			res = db_lookup(&db, oldest->lk.id_array.data, fl.end - fl.start, 1);
		if (res == NULL) {
			/* Stopped while the database was down: save the batches and all behind them. */
			stage_stop_holding(&st, fl.ev + fl.start, fl.end - fl.start);
			stopped = 1;
			break;
		}
		enrich(&st, fl.ev + oldest->first, oldest->n, &oldest->lk, res, &ms);
		PQclear(res);
		for (size_t i = 0; i < oldest->n; i++)
			event_free(&fl.ev[oldest->first + i]);
		fl.start += oldest->n;
		fl.head = (fl.head + 1) % FLIGHT_DEPTH;
		fl.count--;
		misses_sweep(&ms, 0);
	}
	for (size_t i = fl.start; i < fl.end; i++)
		event_free(&fl.ev[i]);
	misses_sweep(&ms, 1);
	free(ms.v);
	free(fl.ev);
	for (size_t i = 0; i < FLIGHT_DEPTH; i++) {
		free(fl.b[i].lk.ids);
		free(fl.b[i].lk.start);
		free(fl.b[i].lk.len);
		buf_free(&fl.b[i].lk.json);
		buf_free(&fl.b[i].lk.id_array);
	}
	db_close(&db);
	return stage_finish(&st);
}
