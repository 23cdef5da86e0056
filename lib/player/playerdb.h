/* playerdb: casino-player's side of PostgreSQL. A struct playerdb is one
 * connection that runs one prepared statement: the rows of players(id,
 * email, last_signed_in_at) whose ids are in a set, the set sent as one
 * binary int8[] parameter and the rows answered in binary (no array or
 * timestamp text on either side). Queries go out in libpq pipeline mode,
 * each with its own sync point, without waiting, and are answered in the
 * order sent. A struct player_lookup is one batch's distinct ids, sorted
 * (index order for the server), and once answered each one's "player"
 * JSON; nothing is kept from one answer to the next. No function exits;
 * failures leave a one-line reason in db->error. Linked into casino-player
 * only (it needs libpq). */
#ifndef CASINO_PLAYERDB_H
#define CASINO_PLAYERDB_H
#include <libpq-fe.h>
#include <stddef.h>

#include "buf.h"

enum playerdb_failure {
	PLAYERDB_DOWN,        /* no answer: worth waiting for */
	PLAYERDB_BAD_OPTIONS, /* libpq refused the connection parameters */
	PLAYERDB_REFUSED,     /* the server answered and refused (no such role) */
	PLAYERDB_FLOAT_TIMES, /* the server keeps timestamps as floats */
};

struct playerdb {
	const char *conninfo;  /* NULL: libpq's PG* variables */
	long long *reconnects; /* counted when a lost connection is made again */
	PGconn *conn;
	int prepared, connected_once;
	enum playerdb_failure failure; /* why the first connection failed */
	char error[512];
};

/* Connect if needed and prepare the statement; 0 when ready, else -1 with
 * db->error (and db->failure before the first connection). */
int playerdb_ready(struct playerdb *db);
void playerdb_close(struct playerdb *db);
/* Set db->error to "what: msg" on one line. */
void playerdb_error(struct playerdb *db, const char *what, const char *msg);

struct player_lookup {
	long long *ids; /* n distinct ids, ascending */
	size_t n, cap;
	size_t *start, *len; /* each id's span in json; len 0: not found */
	struct buf json, param;
};

/* Take the distinct ids of player_ids[0..n) (n >= 1) as the lookup's set. */
void lookup_set(struct player_lookup *lk, const long long *player_ids, size_t n);
/* The player JSON of id from the last answer; NULL when it had no row. */
const char *lookup_player(const struct player_lookup *lk, long long id, size_t *len);
void lookup_free(struct player_lookup *lk);

/* Queue the lookup's query in the pipeline (entering pipeline mode on a
 * fresh connection) and send what the socket takes; -1 when the
 * connection failed (closed, db->error set). */
int playerdb_send(struct playerdb *db, const struct player_lookup *lk);
/* The answer of the oldest query queued: waits for it (flushing stdout
 * first, and sending what is still queued), fills lk's JSON; 0 on success,
 * -1 when the query or the connection failed (closed, db->error set). */
int playerdb_receive(struct playerdb *db, struct player_lookup *lk);
/* One query outside the pipeline (a connection just made), answered into
 * lk; 0 or -1 as playerdb_receive. */
int playerdb_query(struct playerdb *db, struct player_lookup *lk);

#endif
