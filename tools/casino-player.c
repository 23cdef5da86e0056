/* casino-player: add "player" to every event from the PostgreSQL table
 * players(id, email, last_signed_in_at). The events that are readable
 * together form a batch and share one query, sent after they were read;
 * nothing is kept from one query to the next. While the database is away
 * the batch is held (no more input is read) and the query is retried with
 * backoff, so no event is lost, reordered or written without its lookup. */
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
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

static void
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
	int options_checked, options_bad; /* see db_ready */
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
			db_close(db);
			/* libpq checks option values (sslmode=bogus) only here and then
			 * fails as if the server were down; a ping tells them apart. */
			if (!db->options_checked) {
				db->options_checked = 1;
				db->options_bad = PQpingParams(keys, values, 1) == PQPING_NO_ATTEMPT;
			}
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

/* At startup: wait for the database (for ever when wait_s is 0). */
static void
db_wait_startup(struct db *db, long long wait_s)
{
	int64_t deadline = timefmt_monotonic_ms() + wait_s * 1000;
	struct backoff retry = { 0 };
	int waited = 0;

	while (db_ready(db) != 0) {
		if (db->options_bad) {
			log_error("bad connection parameters (--db, CASINO_DB or PG* variables)",
			    LOG_STR("error", db->error));
			opt_usage_error(usage_text);
		}
		if (wait_s > 0 && timefmt_monotonic_ms() >= deadline)
			die(EX_UNAVAILABLE, "database unavailable, giving up",
			    LOG_STR("error", db->error), LOG_INT("waited_s", wait_s));
		int64_t delay = backoff_next(&retry);
		log_warn("waiting for the database", LOG_STR("error", db->error),
		    LOG_INT("retry_ms", delay));
		waited = 1;
		if (sig_sleep_ms(delay) != 0)
			die(EX_UNAVAILABLE, "stopped while waiting for the database");
	}
	if (waited)
		log_info("database connected");
}

/* The players of ids[0..n) (sorted, distinct), as one query; retried with
 * backoff until it works. NULL only after a stop request. */
static PGresult *
db_lookup(struct db *db, const char *id_array, size_t held)
{
	const char *params[1] = { id_array };
	struct backoff retry = { 0 };
	int failures = 0;
	PGresult *res;

	for (;;) {
		if (db_ready(db) == 0) {
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

/* Look up the batch's players and write every event, in order. -1 when a
 * stop request ended the wait for the database. */
static int
enrich(struct db *db, struct stage *st, struct event *batch, size_t n, struct lookup *lk,
    struct misses *ms)
{
	size_t i;

	if (lk->cap < n) {
		lk->cap = n;
		lk->ids = xrealloc(lk->ids, n * sizeof(*lk->ids));
		lk->start = xrealloc(lk->start, n * sizeof(*lk->start));
		lk->len = xrealloc(lk->len, n * sizeof(*lk->len));
	}
	for (i = 0; i < n; i++)
		lk->ids[i] = batch[i].player_id;
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

	PGresult *res = db_lookup(db, lk->id_array.data, n);
	if (res == NULL)
		return -1;
	lk->json.len = 0;
	for (int row = 0; row < PQntuples(res); row++)
		player_json(lk, res, row);
	PQclear(res);

	for (i = 0; i < n; i++) {
		const struct event *ev = &batch[i];
		long long *slot = bsearch(&ev->player_id, lk->ids, lk->n, sizeof(*lk->ids), compare_ll);
		size_t k = (size_t)(slot - lk->ids);
		if (lk->len[k] > 0) {
			stage_emit_key(st, ev, "player", lk->json.data + lk->start[k], lk->len[k]);
		} else {
			miss_note(ms, ev->player_id, ev->id);
			(*unknown_players)++;
			if (ev->player == NULL)
				stage_emit(st, ev);
			else /* a player from upstream is not this query's answer */
				stage_emit_without_key(st, ev, "player");
		}
	}
	return 0;
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
	struct lookup lk = { 0 };
	struct misses ms = { .others.logged_ms = NEVER_MS };
	struct stage st;
	int c, stopped = 0;

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
	db_wait_startup(&db, wait_s);
	struct event *batch = xmalloc(max_batch * sizeof(*batch));
	size_t n = 0;
	while (stage_next(&st, &batch[0])) {
		/* Whatever else is readable now joins the batch; never wait for more. */
		event_detach(&batch[0]);
		for (n = 1; n < max_batch && stage_ready(&st) && stage_next(&st, &batch[n]); n++)
			event_detach(&batch[n]);
		if (enrich(&db, &st, batch, n, &lk, &ms) != 0) {
			/* Stopped while the database was down: save the batch and all behind it. */
			stage_hold_rest(&st, batch, n);
			stopped = 1;
		}
		for (size_t i = 0; i < n; i++)
			event_free(&batch[i]);
		if (stopped)
			break;
		misses_sweep(&ms, 0);
	}
	misses_sweep(&ms, 1);
	free(ms.v);
	free(batch);
	free(lk.ids);
	free(lk.start);
	free(lk.len);
	buf_free(&lk.json);
	buf_free(&lk.id_array);
	db_close(&db);
	c = stage_finish(&st);
	return stopped ? exit_worst(c, EX_UNAVAILABLE) : c;
}
