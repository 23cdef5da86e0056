/* describe: the human sentence of doc/design.md for a parsed event, e.g.
 *   Player #11 (jane@example.com) placed a bet of 5 USD (4.68 EUR) on a game
 *   "It's bananas!" on February 2nd, 2022 at 23:45 UTC.
 * Appends the plain text to b, or with json the JSON string literal of it
 * (quotes included, escaped exactly as buf_json_string would) written in one
 * pass. player is scratch space for reading the event's player object,
 * reused across calls; free it with json_members_free. Never fails. */
#ifndef CASINO_DESCRIBE_H
#define CASINO_DESCRIBE_H
#include "buf.h"
#include "event.h"

void describe_event(struct buf *b, const struct event *ev, int json,
	struct json_members *player);

#endif
