/* event: parse and validate one event line (doc/design.md, "The event") with the
 * strict scanner of json.h, and write it back with one owned key added or
 * replaced while every other byte of the line stays as it was. */
#ifndef CASINO_EVENT_H
#define CASINO_EVENT_H
#include <stddef.h>
#include "buf.h"
#include "json.h"
#include "timefmt.h"

enum event_type { EVENT_GAME_START, EVENT_BET, EVENT_DEPOSIT, EVENT_GAME_STOP };

struct event {
	const char *raw; /* the line as read, not NUL-terminated */
	size_t raw_len;
	unsigned long lineno;
	enum event_type type;
	long long id, player_id, game_id, amount, amount_eur;
	int has_game_id, has_amount, has_amount_eur, has_won;
	char currency[9];         /* "" unless bet/deposit */
	struct utc_time created_at;
	const char *player;       /* raw text of the "player" object, or NULL */
	size_t player_len;
	struct json_members members; /* top-level keys, spans into raw */
	char *owned;              /* raw's copy after event_detach */
};

/* 0 on success; -1 with a short reason in why (e.g. "missing key: amount"). */
int event_parse(struct event *ev, const char *line, size_t len, char *why, size_t whylen);
void event_free(struct event *ev);
/* Copy raw out of the reader's buffer so the event outlives stage_next
 * (for tools that hold a batch); event_free releases the copy. */
void event_detach(struct event *ev);
/* Writes ev->raw with "key":value (value is JSON text) added after the last
 * member, or replacing the value in place when key exists; then '\n'. */
void event_write_key(struct buf *out, const struct event *ev, const char *key,
	const char *value, size_t value_len);
/* Writes ev->raw without the member key (it and the comma that separated it
 * from its neighbour), or unchanged when there is none; then '\n'. For a
 * stage whose key must go, e.g. casino-player's "player" of an unknown
 * player. */
void event_write_without_key(struct buf *out, const struct event *ev, const char *key);
/* The same without every member named in keys[0..nkeys), nkeys <= 8. */
void event_write_without_keys(struct buf *out, const struct event *ev, const char *const *keys,
	size_t nkeys);
/* Writes ev with member from renamed to, moved to the end (an old member
 * to is dropped), or ev without to when from is absent; then '\n'. For a
 * worker that keeps the position a line came with under another name. */
void event_write_moved_key(struct buf *out, const struct event *ev, const char *from,
	const char *to);

#endif
