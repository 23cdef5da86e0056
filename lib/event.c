#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

static const char *const type_names[] = { "game_start", "bet", "deposit", "game_stop" };

/* Parsing dominates every stage's cost, and most of jansson's time is
 * malloc/free of small nodes. While an event is parsed, its nodes come from
 * an arena that is emptied whenever no parsed event is alive any more;
 * other jansson use (rate bodies, snapshots) keeps plain malloc. */
#define ARENA_SIZE (1024 * 1024)
static struct {
	char *base;
	size_t used;
	int parsing;
	unsigned long live;
} arena;

static void *
arena_malloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (arena.parsing && arena.base != NULL && ARENA_SIZE - arena.used >= n) {
		void *p = arena.base + arena.used;
		arena.used += n;
		return p;
	}
	return malloc(n);
}

static void
arena_free(void *p)
{
	if (arena.base == NULL || (char *)p < arena.base || (char *)p >= arena.base + ARENA_SIZE)
		free(p);
}

static void
arena_begin(void)
{
	if (arena.base == NULL) {
		arena.base = xmalloc(ARENA_SIZE);
		json_set_alloc_funcs(arena_malloc, arena_free);
	}
	if (arena.live == 0)
		arena.used = 0;
	arena.parsing = 1;
}

const char *
event_type_name(enum event_type t)
{
	return type_names[t];
}

static int
fail(char *why, size_t whylen, const char *what, const char *key)
{
	snprintf(why, whylen, "%s: %s", what, key);
	return -1;
}

/* An integer >= min, or absent (*present = 0) when optional. */
static int
get_int(json_t *root, const char *key, long long min, long long *v, int *present,
    char *why, size_t whylen)
{
	json_t *j = json_object_get(root, key);

	if (present != NULL)
		*present = j != NULL;
	if (j == NULL)
		return present != NULL ? 0 : fail(why, whylen, "missing key", key);
	if (!json_is_integer(j))
		return fail(why, whylen, "not an integer", key);
	*v = json_integer_value(j);
	if (*v < min)
		return fail(why, whylen, "out of range", key);
	return 0;
}

int
event_parse(struct event *ev, const char *line, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *j;
	const char *type;
	int present;

	memset(ev, 0, sizeof(*ev));
	ev->raw = line;
	ev->raw_len = len;
	arena_begin();
	ev->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	arena.parsing = 0;
	if (ev->root == NULL) {
		snprintf(why, whylen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(ev->root)) {
		snprintf(why, whylen, "not a JSON object");
		goto bad;
	}
	if (get_int(ev->root, "id", 0, &ev->id, NULL, why, whylen) ||
	    get_int(ev->root, "player_id", 0, &ev->player_id, NULL, why, whylen))
		goto bad;
	j = json_object_get(ev->root, "type");
	if (j == NULL || !json_is_string(j)) {
		fail(why, whylen, j ? "not a string" : "missing key", "type");
		goto bad;
	}
	type = json_string_value(j);
	for (ev->type = EVENT_GAME_START; ev->type <= EVENT_GAME_STOP; ev->type++)
		if (strcmp(type, type_names[ev->type]) == 0)
			break;
	if (ev->type > EVENT_GAME_STOP) {
		snprintf(why, whylen, "unknown type: %.40s", type);
		goto bad;
	}
	if (get_int(ev->root, "game_id", -0x7fffffffffffffffLL, &ev->game_id,
	        ev->type == EVENT_DEPOSIT ? &ev->has_game_id : NULL, why, whylen))
		goto bad;
	ev->has_game_id = ev->has_game_id || ev->type != EVENT_DEPOSIT;
	if (ev->type == EVENT_BET || ev->type == EVENT_DEPOSIT) {
		if (get_int(ev->root, "amount", 0, &ev->amount, NULL, why, whylen))
			goto bad;
		ev->has_amount = 1;
		j = json_object_get(ev->root, "currency");
		if (j == NULL || !json_is_string(j) || json_string_length(j) == 0 ||
		    json_string_length(j) > 8) {
			fail(why, whylen, j ? "not a currency code" : "missing key", "currency");
			goto bad;
		}
		ev->currency = json_string_value(j);
	}
	j = json_object_get(ev->root, "has_won");
	if (j != NULL && !json_is_boolean(j)) {
		fail(why, whylen, "not a boolean", "has_won");
		goto bad;
	}
	ev->has_won = json_is_true(j);
	j = json_object_get(ev->root, "created_at");
	if (j == NULL || !json_is_string(j)) {
		fail(why, whylen, j ? "not a string" : "missing key", "created_at");
		goto bad;
	}
	if (timefmt_parse(json_string_value(j), json_string_length(j), &ev->created_at)) {
		fail(why, whylen, "bad timestamp", "created_at");
		goto bad;
	}
	if (get_int(ev->root, "amount_eur", -0x7fffffffffffffffLL, &ev->amount_eur,
	        &present, why, whylen))
		goto bad;
	ev->has_amount_eur = present;
	j = json_object_get(ev->root, "player");
	if (j != NULL && !json_is_object(j)) {
		fail(why, whylen, "not an object", "player");
		goto bad;
	}
	ev->player = j;
	arena.live++;
	return 0;
bad:
	json_decref(ev->root);
	ev->root = NULL;
	return -1;
}

void
event_free(struct event *ev)
{
	if (ev->root != NULL && --arena.live == 0)
		arena.used = 0; /* nodes are freed below; arena_free skips them */
	json_decref(ev->root);
	ev->root = NULL;
	free(ev->owned);
	ev->owned = NULL;
}

void
event_detach(struct event *ev)
{
	if (ev->owned != NULL)
		return;
	ev->owned = xstrndup(ev->raw, ev->raw_len);
	ev->raw = ev->owned;
}

/* Skip one JSON value starting at s[i] (the text is known to be valid). */
static size_t
skip_value(const char *s, size_t i, size_t n)
{
	int depth = 0;

	for (; i < n; i++) {
		char c = s[i];
		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (depth == 0)
				return i + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth-- == 0)
				return i;
			if (depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' ||
		    c == '\r' || c == '\n')) {
			return i;
		}
	}
	return i;
}

static size_t
skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* Does the raw key text (between its quotes) spell key? Escapes are rare:
 * only then is the text decoded. */
static int
key_equals(const char *raw, size_t n, const char *key, size_t klen)
{
	json_t *decoded;
	int same;

	if (memchr(raw, '\\', n) == NULL)
		return n == klen && memcmp(raw, key, klen) == 0;
	decoded = json_loadb(raw - 1, n + 2, JSON_DECODE_ANY, NULL);
	same = json_is_string(decoded) && json_string_length(decoded) == klen &&
	    memcmp(json_string_value(decoded), key, klen) == 0;
	json_decref(decoded);
	return same;
}

/* Find the byte span of a top-level key's value; 0 if absent. */
static int
find_value(const char *s, size_t n, const char *key, size_t *vs, size_t *ve)
{
	size_t klen = strlen(key), i = skip_space(s, 0, n) + 1;

	while (i < n) {
		i = skip_space(s, i, n);
		if (i >= n || s[i] != '"')
			return 0;
		size_t ks = i + 1, ke = skip_value(s, i, n) - 1;
		i = skip_space(s, ke + 1, n) + 1; /* past ':' */
		i = skip_space(s, i, n);
		size_t end = skip_value(s, i, n);
		if (key_equals(s + ks, ke - ks, key, klen)) {
			*vs = i;
			*ve = end;
			return 1;
		}
		i = skip_space(s, end, n) + 1; /* past ',' */
	}
	return 0;
}

void
event_write_key(struct buf *out, const struct event *ev, const char *key,
    const char *value, size_t value_len)
{
	const char *s = ev->raw;
	size_t n = ev->raw_len, vs, ve;

	if (json_object_get(ev->root, key) != NULL && find_value(s, n, key, &vs, &ve)) {
		buf_append(out, s, vs);
		buf_append(out, value, value_len);
		buf_append(out, s + ve, n - ve);
	} else {
		size_t close = n;
		while (close > 0 && s[close - 1] != '}')
			close--;
		close--; /* the object's closing brace */
		while (close > 0 && strchr(" \t\r\n", s[close - 1]) != NULL)
			close--;
		buf_append(out, s, close);
		buf_putc(out, ',');
		buf_json_string(out, key, strlen(key));
		buf_putc(out, ':');
		buf_append(out, value, value_len);
		buf_append(out, s + close, n - close);
	}
	buf_putc(out, '\n');
}
