#define _GNU_SOURCE /* memrchr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

/* The type named by text[0..n), or EVENT_GAME_STOP + 1 for none: one
 * compare, picked by the length (every event has a type). */
static enum event_type
type_of(const char *text, size_t n)
{
	switch (n) {
	case 3: return memcmp(text, "bet", 3) == 0 ? EVENT_BET : EVENT_GAME_STOP + 1;
	case 7: return memcmp(text, "deposit", 7) == 0 ? EVENT_DEPOSIT : EVENT_GAME_STOP + 1;
	case 9: return memcmp(text, "game_stop", 9) == 0 ? EVENT_GAME_STOP : EVENT_GAME_STOP + 1;
	case 10: return memcmp(text, "game_start", 10) == 0 ? EVENT_GAME_START : EVENT_GAME_STOP + 1;
	default: return EVENT_GAME_STOP + 1;
	}
}

static int
fail(char *why, size_t whylen, const char *what, const char *key)
{
	snprintf(why, whylen, "%s: %s", what, key);
	return -1;
}

/* The members event_parse reads, found in one pass over the line's. */
enum field {
	F_ID, F_PLAYER_ID, F_GAME_ID, F_TYPE, F_AMOUNT, F_CURRENCY, F_HAS_WON,
	F_CREATED_AT, F_AMOUNT_EUR, F_PLAYER, FIELDS
};

static int
field_of(const char *k, size_t n)
{
	switch (n) {
	case 2: return memcmp(k, "id", 2) == 0 ? F_ID : -1;
	case 4: return memcmp(k, "type", 4) == 0 ? F_TYPE : -1;
	case 6: return memcmp(k, "amount", 6) == 0 ? F_AMOUNT :
	    memcmp(k, "player", 6) == 0 ? F_PLAYER : -1;
	case 7: return memcmp(k, "game_id", 7) == 0 ? F_GAME_ID :
	    memcmp(k, "has_won", 7) == 0 ? F_HAS_WON : -1;
	case 8: return memcmp(k, "currency", 8) == 0 ? F_CURRENCY : -1;
	case 9: return memcmp(k, "player_id", 9) == 0 ? F_PLAYER_ID : -1;
	case 10: return memcmp(k, "created_at", 10) == 0 ? F_CREATED_AT :
	    memcmp(k, "amount_eur", 10) == 0 ? F_AMOUNT_EUR : -1;
	default: return -1;
	}
}

/* found[f]: the member whose decoded key is field f, or NULL (the scanner
 * rejects duplicate keys, so there is at most one). */
static void
find_fields(const struct json_members *o, const struct json_member *found[FIELDS])
{
	struct buf key = { 0 };

	memset(found, 0, FIELDS * sizeof(*found));
	for (size_t i = 0; i < o->count; i++) {
		const struct json_member *m = &o->m[i];
		int f;
		if (!m->key_escaped) {
			f = field_of(m->key, m->key_len);
		} else {
			key.len = 0;
			json_string_decode(&key, m->key, m->key_len);
			f = field_of(key.data, key.len);
		}
		if (f >= 0)
			found[f] = m;
	}
	buf_free(&key);
}

/* Member m, named key, as an integer >= min, or absent (*present = 0) when
 * optional. */
static int
get_int(const struct json_member *m, const char *key, long long min, long long *v,
    int *present, char *why, size_t whylen)
{
	if (present != NULL)
		*present = m != NULL;
	if (m == NULL)
		return present != NULL ? 0 : fail(why, whylen, "missing key", key);
	if (m->kind != JSON_KIND_INTEGER)
		return fail(why, whylen, "not an integer", key);
	if (json_member_integer(m, v) != 0 || *v < min)
		return fail(why, whylen, "out of range", key);
	return 0;
}

/* A string member decoded into out (NUL-terminated, at most cap - 1 bytes,
 * *out_len of them). */
static int
get_string(const struct json_member *m, const char *key, char *out, size_t cap,
    size_t *out_len, char *why, size_t whylen)
{
	struct buf b = { 0 };
	const char *text;
	size_t len;
	int rc = 0;

	if (m == NULL)
		return fail(why, whylen, "missing key", key);
	if (m->kind != JSON_KIND_STRING)
		return fail(why, whylen, "not a string", key);
	text = m->value;
	len = m->value_len;
	if (m->value_escaped) {
		json_string_decode(&b, m->value, m->value_len);
		text = b.data;
		len = b.len;
	}
	/* Raw string bytes are never NUL (the scanner rejects them). */
	if (len == 0 || len >= cap || (m->value_escaped && memchr(text, '\0', len) != NULL)) {
		rc = fail(why, whylen, "bad value", key);
	} else {
		memcpy(out, text, len);
		out[len] = '\0';
		*out_len = len;
	}
	buf_free(&b);
	return rc;
}

int
event_parse(struct event *ev, const char *line, size_t len, char *why, size_t whylen)
{
	const struct json_member *f[FIELDS], *m;
	char text[64];
	size_t text_len;
	int present;

	memset(ev, 0, sizeof(*ev));
	ev->raw = line;
	ev->raw_len = len;
	if (json_scan_object(&ev->members, line, len, why, whylen) != 0)
		goto bad;
	find_fields(&ev->members, f);
	if (get_int(f[F_ID], "id", 0, &ev->id, NULL, why, whylen) ||
	    get_int(f[F_PLAYER_ID], "player_id", 0, &ev->player_id, NULL, why, whylen))
		goto bad;
	if (get_string(f[F_TYPE], "type", text, sizeof(text), &text_len, why, whylen))
		goto bad;
	if ((ev->type = type_of(text, text_len)) > EVENT_GAME_STOP) {
		snprintf(why, whylen, "unknown type: %.40s", text);
		goto bad;
	}
	if (get_int(f[F_GAME_ID], "game_id", -0x7fffffffffffffffLL, &ev->game_id,
	        ev->type == EVENT_DEPOSIT ? &ev->has_game_id : NULL, why, whylen))
		goto bad;
	ev->has_game_id = ev->has_game_id || ev->type != EVENT_DEPOSIT;
	if (ev->type == EVENT_BET || ev->type == EVENT_DEPOSIT) {
		if (get_int(f[F_AMOUNT], "amount", 0, &ev->amount, NULL, why, whylen))
			goto bad;
		ev->has_amount = 1;
		if (get_string(f[F_CURRENCY], "currency", ev->currency, sizeof(ev->currency),
		        &text_len, why, whylen))
			goto bad;
	}
	m = f[F_HAS_WON];
	if (m != NULL && m->kind != JSON_KIND_TRUE && m->kind != JSON_KIND_FALSE) {
		fail(why, whylen, "not a boolean", "has_won");
		goto bad;
	}
	ev->has_won = m != NULL && m->kind == JSON_KIND_TRUE;
	if (get_string(f[F_CREATED_AT], "created_at", text, sizeof(text), &text_len, why, whylen))
		goto bad;
	if (timefmt_parse(text, text_len, &ev->created_at)) {
		fail(why, whylen, "bad timestamp", "created_at");
		goto bad;
	}
	if (get_int(f[F_AMOUNT_EUR], "amount_eur", 0, &ev->amount_eur, &present, why, whylen))
		goto bad;
	ev->has_amount_eur = present;
	m = f[F_PLAYER];
	if (m != NULL && m->kind != JSON_KIND_OBJECT) {
		fail(why, whylen, "not an object", "player");
		goto bad;
	}
	if (m != NULL) {
		ev->player = m->value;
		ev->player_len = m->value_len;
	}
	return 0;
bad:
	json_members_free(&ev->members);
	return -1;
}

void
event_free(struct event *ev)
{
	json_members_free(&ev->members);
	free(ev->owned);
	ev->owned = NULL;
}

void
event_detach(struct event *ev)
{
	const char *old = ev->raw;

	if (ev->owned != NULL)
		return;
	ev->owned = xstrndup(ev->raw, ev->raw_len);
	ev->raw = ev->owned;
	/* The spans pointed into the reader's buffer: move them along. */
	for (size_t i = 0; i < ev->members.count; i++) {
		ev->members.m[i].key = ev->raw + (ev->members.m[i].key - old);
		ev->members.m[i].value = ev->raw + (ev->members.m[i].value - old);
	}
	if (ev->player != NULL)
		ev->player = ev->raw + (ev->player - old);
}

/* Offset just past member m's value (a string's closing quote included). */
static size_t
member_end(const struct event *ev, const struct json_member *m)
{
	return (size_t)(m->value - ev->raw) + m->value_len + (m->kind == JSON_KIND_STRING);
}

void
event_write_key(struct buf *out, const struct event *ev, const char *key,
    const char *value, size_t value_len)
{
	const struct json_member *m = json_member_find(&ev->members, key);
	const char *s = ev->raw;
	size_t n = ev->raw_len;

	buf_reserve(out, n + value_len + strlen(key) + 8);
	if (m != NULL) {
		/* A string's span excludes its quotes; replace them too. */
		int quoted = m->kind == JSON_KIND_STRING;
		size_t vs = (size_t)(m->value - s) - quoted;
		size_t ve = (size_t)(m->value - s) + m->value_len + quoted;
		buf_append(out, s, vs);
		buf_append(out, value, value_len);
		buf_append(out, s + ve, n - ve);
	} else {
		size_t after;
		if (ev->members.count > 0) {
			after = member_end(ev, &ev->members.m[ev->members.count - 1]);
		} else { /* no member: just after the brace */
			after = (size_t)((const char *)memchr(s, '{', n) - s) + 1;
		}
		buf_append(out, s, after);
		if (ev->members.count > 0)
			buf_putc(out, ',');
		buf_json_string(out, key, strlen(key));
		buf_putc(out, ':');
		buf_append(out, value, value_len);
		buf_append(out, s + after, n - after);
	}
	buf_putc(out, '\n');
}

/* 1 when m's key is one of keys[0..nkeys), whose lengths are lens. */
static int
key_among(const struct event *ev, const struct json_member *m, const char *const *keys,
    const size_t *lens, size_t nkeys)
{
	for (size_t k = 0; k < nkeys; k++)
		if (m->key_escaped ? json_member_find(&ev->members, keys[k]) == m :
		    m->key_len == lens[k] && memcmp(m->key, keys[k], lens[k]) == 0)
			return 1;
	return 0;
}

void
event_write_without_keys(struct buf *out, const struct event *ev, const char *const *keys,
    size_t nkeys)
{
	const struct json_member *m = ev->members.m;
	const char *s = ev->raw;
	size_t n = ev->raw_len, count = ev->members.count, pos = 0, i = 0, lens[8];

	/* Measured once, not per member: this runs for every line a sink writes. */
	if (nkeys > sizeof(lens) / sizeof(*lens))
		nkeys = sizeof(lens) / sizeof(*lens);
	for (size_t k = 0; k < nkeys; k++)
		lens[k] = strlen(keys[k]);
	buf_reserve(out, n + 1);
	/* A leading run of members to drop: from the first one's key to the
	 * key of the first kept one (or the end of the last one). */
	while (i < count && key_among(ev, &m[i], keys, lens, nkeys))
		i++;
	if (i > 0) {
		size_t from = (size_t)(m[0].key - s) - 1;
		buf_append(out, s, from);
		pos = i < count ? (size_t)(m[i].key - s) - 1 : member_end(ev, &m[count - 1]);
	}
	/* After a kept member: from the end of the one before, which drops
	 * ',' "key":value. */
	for (; i < count; i++) {
		if (!key_among(ev, &m[i], keys, lens, nkeys))
			continue;
		size_t from = member_end(ev, &m[i - 1]);
		buf_append(out, s + pos, from - pos);
		pos = member_end(ev, &m[i]);
	}
	buf_append(out, s + pos, n - pos);
	buf_putc(out, '\n');
}

void
event_write_without_key(struct buf *out, const struct event *ev, const char *key)
{
	event_write_without_keys(out, ev, &key, 1);
}

void
event_write_moved_key(struct buf *out, const struct event *ev, const char *from,
    const char *to)
{
	const struct json_member *m = json_member_find(&ev->members, from);
	const char *const keys[] = { from, to };
	size_t start = out->len, close;

	event_write_without_keys(out, ev, keys, 2);
	if (m == NULL)
		return;
	/* The object's closing brace, before the newline just written. */
	close = (size_t)((const char *)memrchr(out->data + start, '}', out->len - start) - out->data);
	struct buf tail = { 0 };
	buf_append(&tail, out->data + close, out->len - close);
	out->len = close;
	/* A member is left before the brace unless the object is now empty. */
	while (close > start && (out->data[close - 1] == ' ' || out->data[close - 1] == '\t'))
		close--;
	if (out->data[close - 1] != '{')
		buf_putc(out, ',');
	buf_json_string(out, to, strlen(to));
	buf_putc(out, ':');
	if (m->kind == JSON_KIND_STRING)
		buf_putc(out, '"');
	buf_append(out, m->value, m->value_len);
	if (m->kind == JSON_KIND_STRING)
		buf_putc(out, '"');
	buf_append(out, tail.data, tail.len);
	buf_free(&tail);
}
