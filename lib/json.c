#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct scanner {
	const char *s, *end;
	struct json_members *out;
	const char *error;
};

static int
fail(struct scanner *sc, const char *error)
{
	if (sc->error == NULL)
		sc->error = error;
	return -1;
}

static void
skip_space(struct scanner *sc)
{
	while (sc->s < sc->end && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r'))
		sc->s++;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (p < end, *p >= 0x80), or 0. */
static size_t
utf8_length(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned min, cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* At the opening quote; leaves s after the closing one. */
static int
scan_string(struct scanner *sc, const char **text, size_t *len, char *escaped)
{
	const char *p = ++sc->s;

	*escaped = 0;
	while (p < sc->end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*text = sc->s;
			*len = (size_t)(p - sc->s);
			sc->s = p + 1;
			return 0;
		}
		if (c < 0x20) {
			sc->s = p;
			return fail(sc, c == 0 ? "NUL byte in string" : "control character in string");
		}
		if (c == '\\') {
			unsigned u, lo;
			*escaped = 1;
			if (p + 1 >= sc->end)
				break;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (sc->end - p < 6 || hex4(p + 2, &u)) {
					sc->s = p;
					return fail(sc, "bad \\u escape");
				}
				p += 6;
				if (u == 0) {
					sc->s = p;
					return fail(sc, "\\u0000 is not allowed");
				}
				if (u >= 0xdc00 && u <= 0xdfff) {
					sc->s = p;
					return fail(sc, "lone surrogate escape");
				}
				if (u >= 0xd800 && u <= 0xdbff) {
					if (sc->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
						sc->s = p;
						return fail(sc, "lone surrogate escape");
					}
					p += 6;
				}
				continue;
			default:
				sc->s = p;
				return fail(sc, "bad escape");
			}
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n = utf8_length((const unsigned char *)p, (const unsigned char *)sc->end);
		if (n == 0) {
			sc->s = p;
			return fail(sc, "invalid UTF-8");
		}
		p += n;
	}
	sc->s = sc->end;
	return fail(sc, "unterminated string");
}

static int
digits(struct scanner *sc)
{
	const char *p = sc->s;

	while (sc->s < sc->end && *sc->s >= '0' && *sc->s <= '9')
		sc->s++;
	return sc->s > p ? 0 : fail(sc, "bad number");
}

static int
scan_number(struct scanner *sc, char *kind)
{
	*kind = JSON_KIND_INTEGER;
	if (*sc->s == '-')
		sc->s++;
	if (sc->s < sc->end && *sc->s == '0')
		sc->s++;
	else if (digits(sc))
		return -1;
	if (sc->s < sc->end && *sc->s == '.') {
		*kind = JSON_KIND_REAL;
		sc->s++;
		if (digits(sc))
			return -1;
	}
	if (sc->s < sc->end && (*sc->s == 'e' || *sc->s == 'E')) {
		*kind = JSON_KIND_REAL;
		sc->s++;
		if (sc->s < sc->end && (*sc->s == '+' || *sc->s == '-'))
			sc->s++;
		if (digits(sc))
			return -1;
	}
	return 0;
}

static int
literal(struct scanner *sc, const char *word, size_t n)
{
	if ((size_t)(sc->end - sc->s) < n || memcmp(sc->s, word, n) != 0)
		return fail(sc, "invalid literal");
	sc->s += n;
	return 0;
}

static void
decoded_key(struct buf *b, const struct json_member *m)
{
	b->len = 0;
	if (m->key_escaped)
		json_string_decode(b, m->key, m->key_len);
	else
		buf_append(b, m->key, m->key_len);
}

static int
compare_keys(const void *a, const void *b)
{
	const struct buf *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->data, y->data, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Members [from, to) of one object: any two keys the same? */
static int
has_duplicate(const struct json_member *m, size_t from, size_t to)
{
	size_t n = to - from;
	int any_escaped = 0, dup = 0;

	for (size_t i = from; i < to; i++)
		any_escaped |= m[i].key_escaped;
	if (n <= 16 && !any_escaped) {
		for (size_t i = from; i < to; i++)
			for (size_t j = i + 1; j < to; j++)
				if (m[i].key_len == m[j].key_len &&
				    memcmp(m[i].key, m[j].key, m[i].key_len) == 0)
					return 1;
		return 0;
	}
	struct buf *keys = calloc(n, sizeof(*keys));
	if (keys == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		decoded_key(&keys[i], &m[from + i]);
	qsort(keys, n, sizeof(*keys), compare_keys);
	for (size_t i = 1; i < n && !dup; i++)
		dup = compare_keys(&keys[i - 1], &keys[i]) == 0;
	for (size_t i = 0; i < n; i++)
		buf_free(&keys[i]);
	free(keys);
	return dup;
}

static int scan_value(struct scanner *sc, int depth, char *kind);

static struct json_member *
push_member(struct json_members *o)
{
	if (o->scratch == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->m = xrealloc(o->m, o->cap * sizeof(*o->m));
	}
	return &o->m[o->scratch++];
}

/* At '{'. Members go on the scratch stack from its current top. */
static int
scan_object(struct scanner *sc, int depth)
{
	size_t first = sc->out->scratch;

	sc->s++;
	skip_space(sc);
	if (sc->s < sc->end && *sc->s == '}') {
		sc->s++;
		return 0;
	}
	for (;;) {
		size_t index;
		struct json_member *m;
		const char *key;
		size_t key_len;
		char key_escaped, kind;

		skip_space(sc);
		if (sc->s >= sc->end || *sc->s != '"')
			return fail(sc, "object key expected");
		if (scan_string(sc, &key, &key_len, &key_escaped))
			return -1;
		skip_space(sc);
		if (sc->s >= sc->end || *sc->s != ':')
			return fail(sc, "':' expected");
		sc->s++;
		skip_space(sc);
		index = sc->out->scratch;
		m = push_member(sc->out);
		m->key = key;
		m->key_len = key_len;
		m->key_escaped = key_escaped;
		const char *value = sc->s;
		if (scan_value(sc, depth + 1, &kind))
			return -1;
		sc->out->scratch = index + 1; /* drop nested members */
		m = &sc->out->m[index];
		m->kind = kind;
		m->value_escaped = 0;
		if (kind == JSON_KIND_STRING) {
			m->value = value + 1;
			m->value_len = (size_t)(sc->s - value) - 2;
			m->value_escaped = memchr(m->value, '\\', m->value_len) != NULL;
		} else {
			m->value = value;
			m->value_len = (size_t)(sc->s - value);
		}
		skip_space(sc);
		if (sc->s < sc->end && *sc->s == ',') {
			sc->s++;
			continue;
		}
		if (sc->s < sc->end && *sc->s == '}') {
			sc->s++;
			break;
		}
		return fail(sc, "',' or '}' expected");
	}
	if (has_duplicate(sc->out->m, first, sc->out->scratch))
		return fail(sc, "duplicate key");
	return 0;
}

static int
scan_array(struct scanner *sc, int depth)
{
	char kind;

	sc->s++;
	skip_space(sc);
	if (sc->s < sc->end && *sc->s == ']') {
		sc->s++;
		return 0;
	}
	for (;;) {
		skip_space(sc);
		if (scan_value(sc, depth + 1, &kind))
			return -1;
		skip_space(sc);
		if (sc->s < sc->end && *sc->s == ',') {
			sc->s++;
			continue;
		}
		if (sc->s < sc->end && *sc->s == ']') {
			sc->s++;
			return 0;
		}
		return fail(sc, "',' or ']' expected");
	}
}

static int
scan_value(struct scanner *sc, int depth, char *kind)
{
	const char *text;
	size_t len;
	char escaped;

	if (depth > JSON_MAX_DEPTH)
		return fail(sc, "nested too deep");
	if (sc->s >= sc->end)
		return fail(sc, "value expected");
	switch (*sc->s) {
	case '{':
		*kind = JSON_KIND_OBJECT;
		return scan_object(sc, depth);
	case '[':
		*kind = JSON_KIND_ARRAY;
		return scan_array(sc, depth);
	case '"':
		*kind = JSON_KIND_STRING;
		return scan_string(sc, &text, &len, &escaped);
	case 't':
		*kind = JSON_KIND_TRUE;
		return literal(sc, "true", 4);
	case 'f':
		*kind = JSON_KIND_FALSE;
		return literal(sc, "false", 5);
	case 'n':
		*kind = JSON_KIND_NULL;
		return literal(sc, "null", 4);
	default:
		if (*sc->s == '-' || (*sc->s >= '0' && *sc->s <= '9'))
			return scan_number(sc, kind);
		return fail(sc, "value expected");
	}
}

int
json_scan_object(struct json_members *out, const char *s, size_t n, char *why, size_t whylen)
{
	struct scanner sc = { s, s + n, out, NULL };
	char kind = 0;

	out->scratch = 0;
	out->count = 0;
	skip_space(&sc);
	if (scan_value(&sc, 0, &kind) == 0) {
		skip_space(&sc);
		if (sc.s < sc.end)
			fail(&sc, "trailing garbage");
	}
	if (sc.error != NULL && strcmp(sc.error, "duplicate key") == 0) {
		snprintf(why, whylen, "duplicate key in object ending at byte %zu", (size_t)(sc.s - s));
		return -1;
	}
	if (sc.error != NULL) {
		snprintf(why, whylen, "invalid JSON at byte %zu: %s", (size_t)(sc.s - s) + 1, sc.error);
		return -1;
	}
	if (kind != JSON_KIND_OBJECT) {
		snprintf(why, whylen, "not a JSON object");
		return -1;
	}
	out->count = out->scratch;
	return 0;
}

void
json_members_free(struct json_members *o)
{
	free(o->m);
	memset(o, 0, sizeof(*o));
}

const struct json_member *
json_member_find(const struct json_members *o, const char *key)
{
	size_t klen = strlen(key);
	struct buf b = { 0 };
	const struct json_member *found = NULL;

	for (size_t i = 0; i < o->count && found == NULL; i++) {
		const struct json_member *m = &o->m[i];
		if (!m->key_escaped) {
			if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
				found = m;
			continue;
		}
		decoded_key(&b, m);
		if (b.len == klen && memcmp(b.data, key, klen) == 0)
			found = m;
	}
	buf_free(&b);
	return found;
}

static void
put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp; n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
	}
	buf_append(b, u, n);
}

void
json_string_decode(struct buf *b, const char *raw, size_t n)
{
	size_t i = 0, run = 0;

	while (i < n) {
		if (raw[i] != '\\') {
			i++;
			continue;
		}
		buf_append(b, raw + run, i - run);
		char c = raw[i + 1];
		unsigned cp, lo;
		i += 2;
		switch (c) {
		case 'b': buf_putc(b, '\b'); break;
		case 'f': buf_putc(b, '\f'); break;
		case 'n': buf_putc(b, '\n'); break;
		case 'r': buf_putc(b, '\r'); break;
		case 't': buf_putc(b, '\t'); break;
		case 'u':
			hex4(raw + i, &cp);
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n) {
				hex4(raw + i + 2, &lo);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			put_utf8(b, cp);
			break;
		default: buf_putc(b, c); break;
		}
		run = i;
	}
	buf_append(b, raw + run, n - run);
}

int
json_member_integer(const struct json_member *m, long long *v)
{
	char tmp[32], *end;

	if (m->value_len >= sizeof(tmp))
		return -1;
	memcpy(tmp, m->value, m->value_len);
	tmp[m->value_len] = '\0';
	errno = 0;
	*v = strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}
