/* playerdb: see playerdb.h. */
#include "player/playerdb.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "out.h"
#include "timefmt.h"

/* Binary results: int8 id, text email, timestamptz as microseconds since
 * 2000-01-01 UTC. The casts pin the wire types whatever the column types
 * are; the parameter's binary form is int8[]. */
#define STATEMENT "casino_player_lookup"
#define QUERY "SELECT id::int8, email::text, last_signed_in_at::timestamptz " \
	"FROM players WHERE id = ANY($1::int8[])"
#define PG_EPOCH 946684800LL /* 2000-01-01T00:00:00Z */
#define INT8_OID 20

/* libpq messages end in a newline and may span lines; logs want one line. */
void
playerdb_error(struct playerdb *db, const char *what, const char *msg)
{
	char *p;

	snprintf(db->error, sizeof(db->error), "%s: %s", what, msg);
	for (p = db->error; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	while (p > db->error && p[-1] == ' ')
		*--p = '\0';
}

void
playerdb_close(struct playerdb *db)
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
static enum playerdb_failure
connect_failure(const PGconn *conn, PGPing ping)
{
	if (ping == PQPING_NO_ATTEMPT ||
	    strstr(PQerrorMessage(conn), "invalid integer value") != NULL)
		return PLAYERDB_BAD_OPTIONS;
	return ping == PQPING_OK ? PLAYERDB_REFUSED : PLAYERDB_DOWN;
}

int
playerdb_ready(struct playerdb *db)
{
	/* Defaults first: the connection string and PG* variables override. */
	const char *keys[] = { "connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "fallback_application_name",
		"dbname", "client_encoding", NULL };
	const char *values[] = { getenv("PGCONNECT_TIMEOUT") ? NULL : "10", "10",
		"5", "3", "casino-player", db->conninfo, "UTF8", NULL };
	PGresult *res;

	if (db->conn != NULL && PQstatus(db->conn) != CONNECTION_OK)
		playerdb_close(db);
	if (db->conn == NULL) {
		db->conn = PQconnectdbParams(keys, values, 1);
		if (db->conn == NULL) {
			playerdb_error(db, "connect", "out of memory");
			return -1;
		}
		if (PQstatus(db->conn) != CONNECTION_OK) {
			playerdb_error(db, "connect", PQerrorMessage(db->conn));
			if (!db->connected_once)
				db->failure = connect_failure(db->conn, PQpingParams(keys, values, 1));
			playerdb_close(db);
			return -1;
		}
		PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
		const char *idt = PQparameterStatus(db->conn, "integer_datetimes");
		if (idt == NULL || strcmp(idt, "on") != 0) {
			playerdb_error(db, "connect", "the server stores timestamps as floats, not supported");
			db->failure = PLAYERDB_FLOAT_TIMES;
			playerdb_close(db);
			return -1;
		}
		if (db->connected_once && db->reconnects != NULL)
			(*db->reconnects)++;
		db->connected_once = 1;
	}
	if (!db->prepared) {
		res = PQprepare(db->conn, STATEMENT, QUERY, 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			playerdb_error(db, "prepare", PQerrorMessage(db->conn));
			PQclear(res);
			return -1;
		}
		PQclear(res);
		db->prepared = 1;
	}
	return 0;
}

static int64_t
get_be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return (int64_t)v;
}

static void
put_be32(char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static int
compare_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The parameter in int8[]'s binary form: one dimension, no NULLs,
 * element type int8, n elements from index 1, each length 8 and its value
 * big-endian. */
void
lookup_set(struct player_lookup *lk, const long long *player_ids, size_t n)
{
	if (lk->cap < n) {
		lk->cap = n;
		lk->ids = xrealloc(lk->ids, n * sizeof(*lk->ids));
		lk->start = xrealloc(lk->start, n * sizeof(*lk->start));
		lk->len = xrealloc(lk->len, n * sizeof(*lk->len));
	}
	memcpy(lk->ids, player_ids, n * sizeof(*lk->ids));
	qsort(lk->ids, n, sizeof(*lk->ids), compare_id);
	lk->n = 0;
	for (size_t i = 0; i < n; i++)
		if (lk->n == 0 || lk->ids[lk->n - 1] != lk->ids[i])
			lk->ids[lk->n++] = lk->ids[i];
	lk->param.len = 0;
	buf_reserve(&lk->param, 20 + 12 * lk->n);
	char *p = lk->param.data;
	const uint32_t head[5] = { 1, 0, INT8_OID, (uint32_t)lk->n, 1 };
	for (size_t i = 0; i < 5; i++, p += 4)
		put_be32(p, head[i]);
	for (size_t i = 0; i < lk->n; i++, p += 12) {
		put_be32(p, 8);
		put_be32(p + 4, (uint32_t)((unsigned long long)lk->ids[i] >> 32));
		put_be32(p + 8, (uint32_t)lk->ids[i]);
	}
	lk->param.len = (size_t)(p - lk->param.data);
}

/* id's place in lk->ids, or lk->n. A binary search of its own: bsearch's
 * call per comparison was most of a lookup's client time. */
static size_t
lookup_index(const struct player_lookup *lk, long long id)
{
	size_t lo = 0, n = lk->n;

	while (n > 1) {
		size_t half = n / 2;
		if (lk->ids[lo + half] <= id)
			lo += half;
		n -= half;
	}
	return n == 1 && lk->ids[lo] == id ? lo : lk->n;
}

const char *
lookup_player(const struct player_lookup *lk, long long id, size_t *len)
{
	size_t i = lookup_index(lk, id);

	if (i == lk->n || lk->len[i] == 0)
		return NULL;
	*len = lk->len[i];
	return lk->json.data + lk->start[i];
}

void
lookup_free(struct player_lookup *lk)
{
	free(lk->ids);
	free(lk->start);
	free(lk->len);
	buf_free(&lk->json);
	buf_free(&lk->param);
}

/* Row row of res as {"id":…,"email":…,"last_signed_in_at":…} in lk->json;
 * the time in RFC 3339 UTC as timefmt writes it, left out when NULL or
 * beyond RFC 3339's years (infinity). */
static void
player_json(struct player_lookup *lk, const PGresult *res, int row)
{
	struct buf *b = &lk->json;
	long long id = get_be64(PQgetvalue(res, row, 0));
	size_t i = lookup_index(lk, id);

	if (i == lk->n)
		return; /* cannot happen: the query asked for these ids only */
	lk->start[i] = b->len;
	buf_puts(b, "{\"id\":");
	buf_put_int(b, id);
	buf_puts(b, ",\"email\":");
	buf_json_string(b, PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1));
	if (!PQgetisnull(res, row, 2)) {
		int64_t us = get_be64(PQgetvalue(res, row, 2));
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
		} else {
			log_warn("last_signed_in_at not representable, left out",
			    LOG_INT("player_id", id));
		}
	}
	buf_putc(b, '}');
	lk->len[i] = b->len - lk->start[i];
}

/* res's rows as lk's answer; -1 (res cleared) when res is not one. */
static int
lookup_answer(struct playerdb *db, struct player_lookup *lk, PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 3) {
		const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
		playerdb_error(db, "query", msg[0] != '\0' ? msg : PQerrorMessage(db->conn));
		PQclear(res);
		return -1;
	}
	lk->json.len = 0;
	memset(lk->len, 0, lk->n * sizeof(*lk->len));
	for (int row = 0; row < PQntuples(res); row++)
		player_json(lk, res, row);
	PQclear(res);
	return 0;
}

/* The statement's execution with lk's ids, queued (pipeline) or sent. */
static int
send_lookup(struct playerdb *db, const struct player_lookup *lk)
{
	const char *values[1] = { lk->param.data };
	const int lengths[1] = { (int)lk->param.len }, formats[1] = { 1 };

	return PQsendQueryPrepared(db->conn, STATEMENT, 1, values, lengths, formats, 1);
}

int
playerdb_send(struct playerdb *db, const struct player_lookup *lk)
{
	if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF &&
	    (PQsetnonblocking(db->conn, 1) != 0 || PQenterPipelineMode(db->conn) == 0))
		goto lost;
	if (send_lookup(db, lk) == 0 || PQpipelineSync(db->conn) == 0 || PQflush(db->conn) < 0)
		goto lost;
	return 0;
lost:
	playerdb_error(db, "query", PQerrorMessage(db->conn));
	playerdb_close(db);
	return -1;
}

/* The next result of the pipeline in *res (NULL ends a query's results),
 * waiting for it while sending what is still queued; -1 when the
 * connection failed. What is written goes out before the wait. */
static int
next_result(struct playerdb *db, PGresult **res)
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

/* The oldest query's answer: its rows, then the end of its results, then
 * its sync point. */
int
playerdb_receive(struct playerdb *db, struct player_lookup *lk)
{
	PGresult *res = NULL, *next = NULL;

	if (next_result(db, &res) != 0) {
		playerdb_error(db, "query", PQerrorMessage(db->conn));
	} else if (lookup_answer(db, lk, res) == 0) {
		int ok = next_result(db, &next) == 0 && next == NULL &&
		    next_result(db, &next) == 0 && PQresultStatus(next) == PGRES_PIPELINE_SYNC;
		PQclear(next);
		if (ok)
			return 0;
		playerdb_error(db, "query", PQerrorMessage(db->conn));
	}
	/* Start afresh whatever went wrong: a dead session fails every later
	 * query, and a live one may hold a statement prepared against a table
	 * that has since been dropped and recreated. */
	playerdb_close(db);
	return -1;
}

int
playerdb_query(struct playerdb *db, struct player_lookup *lk)
{
	if (send_lookup(db, lk) == 0) {
		playerdb_error(db, "query", PQerrorMessage(db->conn));
		playerdb_close(db);
		return -1;
	}
	PGresult *res = PQgetResult(db->conn), *next;
	int failed = lookup_answer(db, lk, res);
	while ((next = PQgetResult(db->conn)) != NULL)
		PQclear(next);
	if (failed)
		playerdb_close(db);
	return failed ? -1 : 0;
}
