#include <string.h>

#include "describe/describe.h"
#include "money.h"

/* Text with its length known at compile time. */
struct text {
	const char *s;
	size_t n;
};

#define TEXT(s) { s, sizeof(s) - 1 }

/* None of them holds a byte JSON escapes, so plain and JSON text agree
 * (tests/fuzz/fuzz-event checks that they do). */
static const struct text game_titles[] = {
	TEXT("Rocket Dice"), TEXT("It's bananas!"), TEXT("Wild Spin"), TEXT("Book of Dead"),
	TEXT("Pirate Jackpots"), TEXT("Western Gold 2"), TEXT("Super Rainbow Megaways"),
	TEXT("#BarsAndBells"), TEXT("Fortune Three"), TEXT("ChilliPop"),
};

static const struct text months[] = {
	TEXT("January"), TEXT("February"), TEXT("March"), TEXT("April"), TEXT("May"),
	TEXT("June"), TEXT("July"), TEXT("August"), TEXT("September"), TEXT("October"),
	TEXT("November"), TEXT("December"),
};

/* Room for the whole sentence but the email and an escaped currency, which
 * reserve their own and then this again (the longest sentence without them
 * is about 220 bytes). */
#define ROOM (256 + 2 * MONEY_MAX)

/* Appends to room reserved before: no bounds checks, no strlen. */
static void
put(struct buf *b, const char *s, size_t n)
{
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

#define PUT(b, lit) put(b, lit, sizeof(lit) - 1)

/* Text of variable length, escaped when json; then room for what follows. */
static void
put_text(struct buf *b, const char *s, size_t n, int json)
{
	if (json)
		buf_json_escape(b, s, n);
	else
		buf_append(b, s, n);
	buf_reserve(b, ROOM);
}

/* The currency: a few bytes, which JSON hardly ever escapes. */
static void
put_currency(struct buf *b, const char *s, int json)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\') {
			put_text(b, s, n, json);
			return;
		}
	put(b, s, n); /* at most 8 bytes: within the room */
}

static void
ordinal_suffix(struct buf *b, int day)
{
	if (day >= 11 && day <= 13) {
		PUT(b, "th");
		return;
	}
	switch (day % 10) {
	case 1: PUT(b, "st"); break;
	case 2: PUT(b, "nd"); break;
	case 3: PUT(b, "rd"); break;
	default: PUT(b, "th"); break;
	}
}

static void
describe_game(struct buf *b, const struct event *ev, int json)
{
	if (ev->game_id >= 100 && ev->game_id <= 109) {
		const struct text *t = &game_titles[ev->game_id - 100];
		if (json)
			PUT(b, "a game \\\"");
		else
			PUT(b, "a game \"");
		put(b, t->s, t->n);
		if (json)
			PUT(b, "\\\"");
		else
			PUT(b, "\"");
	} else {
		PUT(b, "a game #");
		buf_put_int(b, ev->game_id);
	}
}

static void
describe_amount(struct buf *b, const struct event *ev, int json)
{
	char money[MONEY_MAX];

	put(b, money, (size_t)money_format(money, ev->amount, money_decimals(ev->currency)));
	PUT(b, " ");
	put_currency(b, ev->currency, json);
	if (ev->has_amount_eur && strcmp(ev->currency, "EUR") != 0) {
		PUT(b, " (");
		put(b, money, (size_t)money_format(money, ev->amount_eur, 2));
		PUT(b, " EUR)");
	}
}

/* " (email)" when ev's player object has a non-empty string "email". */
static void
describe_email(struct buf *b, const struct event *ev, int json, struct json_members *player)
{
	const struct json_member *email = NULL;
	char why[128];

	if (ev->player != NULL &&
	    json_scan_object(player, ev->player, ev->player_len, why, sizeof(why)) == 0)
		email = json_member_find(player, "email");
	if (email == NULL || email->kind != JSON_KIND_STRING || email->value_len == 0)
		return;
	PUT(b, " (");
	if (!email->value_escaped) {
		/* Raw and unescaped: no byte in it that JSON escapes. */
		put_text(b, email->value, email->value_len, 0);
	} else if (!json) {
		json_string_decode(b, email->value, email->value_len);
		buf_reserve(b, ROOM);
	} else {
		/* Decode, then escape as buf_json_string does: the input's own
		 * escapes may differ (\u0041 for A). */
		struct buf text = { 0 };
		json_string_decode(&text, email->value, email->value_len);
		put_text(b, text.data, text.len, 1);
		buf_free(&text);
	}
	PUT(b, ")");
}

void
describe_event(struct buf *b, const struct event *ev, int json, struct json_members *player)
{
	struct civil_time t;

	buf_reserve(b, ROOM);
	if (json)
		PUT(b, "\"");
	PUT(b, "Player #");
	buf_put_int(b, ev->player_id);
	describe_email(b, ev, json, player);
	switch (ev->type) {
	case EVENT_GAME_START:
		PUT(b, " started playing ");
		describe_game(b, ev, json);
		break;
	case EVENT_BET:
		if (ev->has_won)
			PUT(b, " placed a winning bet of ");
		else
			PUT(b, " placed a bet of ");
		describe_amount(b, ev, json);
		PUT(b, " on ");
		describe_game(b, ev, json);
		break;
	case EVENT_DEPOSIT:
		PUT(b, " made a deposit of ");
		describe_amount(b, ev, json);
		break;
	case EVENT_GAME_STOP:
		PUT(b, " stopped playing ");
		describe_game(b, ev, json);
		break;
	}
	timefmt_civil(ev->created_at.sec, &t);
	PUT(b, " on ");
	put(b, months[t.month - 1].s, months[t.month - 1].n);
	PUT(b, " ");
	buf_put_int(b, t.day);
	ordinal_suffix(b, t.day);
	PUT(b, ", ");
	buf_put_int(b, t.year);
	char hhmm[] = { ' ', 'a', 't', ' ', (char)('0' + t.hour / 10), (char)('0' + t.hour % 10),
		':', (char)('0' + t.minute / 10), (char)('0' + t.minute % 10) };
	put(b, hhmm, sizeof(hhmm));
	PUT(b, " UTC.");
	if (json)
		PUT(b, "\"");
	b->data[b->len] = '\0';
}
