#include <string.h>

#include "describe.h"
#include "money.h"

static const char *const game_titles[] = {
	"Rocket Dice", "It's bananas!", "Wild Spin", "Book of Dead",
	"Pirate Jackpots", "Western Gold 2", "Super Rainbow Megaways",
	"#BarsAndBells", "Fortune Three", "ChilliPop",
};

static const char *const months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

static const char *
ordinal_suffix(int day)
{
	if (day >= 11 && day <= 13)
		return "th";
	switch (day % 10) {
	case 1: return "st";
	case 2: return "nd";
	case 3: return "rd";
	default: return "th";
	}
}

static void
describe_game(struct buf *b, const struct event *ev)
{
	if (ev->game_id >= 100 && ev->game_id <= 109) {
		buf_puts(b, "a game \"");
		buf_puts(b, game_titles[ev->game_id - 100]);
		buf_putc(b, '"');
	} else {
		buf_puts(b, "a game #");
		buf_put_int(b, ev->game_id);
	}
}

static void
describe_amount(struct buf *b, const struct event *ev)
{
	char money[MONEY_MAX];

	buf_append(b, money, money_format(money, ev->amount, money_decimals(ev->currency)));
	buf_putc(b, ' ');
	buf_puts(b, ev->currency);
	if (ev->has_amount_eur && strcmp(ev->currency, "EUR") != 0) {
		buf_puts(b, " (");
		buf_append(b, money, money_format(money, ev->amount_eur, 2));
		buf_puts(b, " EUR)");
	}
}

void
describe_event(struct buf *b, const struct event *ev)
{
	struct json_members player = { 0 };
	const struct json_member *email = NULL;
	struct civil_time t;
	char why[128];

	buf_puts(b, "Player #");
	buf_put_int(b, ev->player_id);
	if (ev->player != NULL &&
	    json_scan_object(&player, ev->player, ev->player_len, why, sizeof(why)) == 0)
		email = json_member_find(&player, "email");
	if (email != NULL && email->kind == JSON_KIND_STRING && email->value_len > 0) {
		buf_puts(b, " (");
		if (email->value_escaped)
			json_string_decode(b, email->value, email->value_len);
		else
			buf_append(b, email->value, email->value_len);
		buf_putc(b, ')');
	}
	json_members_free(&player);
	switch (ev->type) {
	case EVENT_GAME_START:
		buf_puts(b, " started playing ");
		describe_game(b, ev);
		break;
	case EVENT_BET:
		buf_puts(b, ev->has_won ? " placed a winning bet of " : " placed a bet of ");
		describe_amount(b, ev);
		buf_puts(b, " on ");
		describe_game(b, ev);
		break;
	case EVENT_DEPOSIT:
		buf_puts(b, " made a deposit of ");
		describe_amount(b, ev);
		break;
	case EVENT_GAME_STOP:
		buf_puts(b, " stopped playing ");
		describe_game(b, ev);
		break;
	}
	timefmt_civil(ev->created_at.sec, &t);
	buf_puts(b, " on ");
	buf_puts(b, months[t.month - 1]);
	buf_putc(b, ' ');
	buf_put_int(b, t.day);
	buf_puts(b, ordinal_suffix(t.day));
	buf_puts(b, ", ");
	buf_put_int(b, t.year);
	char hhmm[] = { ' ', 'a', 't', ' ', (char)('0' + t.hour / 10), (char)('0' + t.hour % 10),
		':', (char)('0' + t.minute / 10), (char)('0' + t.minute % 10) };
	buf_append(b, hhmm, sizeof(hhmm));
	buf_puts(b, " UTC.");
}

