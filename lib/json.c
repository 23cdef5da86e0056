#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct scanner {
	const char *s, *end;
	const char *begin;
	struct json_members *out;
	const char *error;
	char escaped; /* the last string value scanned held a backslash */
};

static int
fail(struct scanner *sc, const char *error)
{
	if (sc->error == NULL)
		sc->error = error;
	return -1;
}

/* Inlined: called around every token. */
static inline __attribute__((always_inline)) void
skip_space(struct scanner *sc)
{
	/* Compact lines have none: one comparison says so. */
	while (sc->s < sc->end && (unsigned char)*sc->s <= ' ' &&
	    (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\n' || *sc->s == '\r'))
		sc->s++;
}

/* skip_space from p, for scan_object's local position: p past the space,
 * with sc->s there too (for a failure's position). */
static inline const char *
space_from(struct scanner *sc, const char *p)
{
	sc->s = p;
	skip_space(sc);
	return sc->s;
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

/* Bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static int
plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* The first byte at or after p that is not plain, or end. Strings are most
 * of an event line, so this is the scanner's inner loop: 16 bytes at a time
 * with SSE2 (always there on x86-64), else 8 at a time in a 64-bit word
 * (build with -DJSON_PORTABLE to get that path on x86-64 too). */
#if defined(__SSE2__) && !defined(JSON_PORTABLE)
#include <emmintrin.h>

/* Bit i set: byte p[i] is not plain. */
static inline unsigned
special_bytes(const char *p)
{
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

	/* Signed compare: below 0x20, or at/above 0x80 (negative). */
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(v, space),
	    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
}

/* begin: the start of the text, so the last 16 bytes of a text that long
 * can be read at once for a string that ends near its end. */
static inline const char *
skip_plain(const char *p, const char *begin, const char *end)
{
	while (end - p >= 16) {
		unsigned mask = special_bytes(p);
		if (mask != 0)
			return p + __builtin_ctz(mask);
		p += 16;
	}
	if (p < end && end - begin >= 16) {
		unsigned mask = special_bytes(end - 16) >> (p - (end - 16));
		return mask != 0 ? p + __builtin_ctz(mask) : end;
	}
	while (p < end && plain_byte((unsigned char)*p))
		p++;
	return p;
}
#else

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* Bit 7 of each byte of w that is 0 (w's bytes at most 0x7f: no carries). */
static uint64_t
zero_bytes7(uint64_t w)
{
	return ~(w + 0x7f * ONES) & HIGH;
}

static inline const char *
skip_plain(const char *p, const char *begin, const char *end)
{
	(void)begin;
	while (end - p >= 8) {
		uint64_t w, low;
		memcpy(&w, p, 8);
		low = w & ~HIGH;
		uint64_t special = (w & HIGH) |            /* 0x80 and above */
		    (~(low + 0x60 * ONES) & HIGH) |          /* below 0x20 */
		    zero_bytes7(low ^ ('"' * ONES)) | zero_bytes7(low ^ ('\\' * ONES));
		if (special != 0)
			break;
		p += 8;
	}
	while (p < end && plain_byte((unsigned char)*p))
		p++;
	return p;
}
#endif

/* Past the run of well-formed UTF-8 sequences at p (*p >= 0x80), or NULL
 * with *bad at the first byte of the sequence that is not (RFC 3629 table:
 * no overlongs, surrogates or code points above U+10FFFF). */
static const unsigned char *
skip_utf8(const unsigned char *p, const unsigned char *end, const unsigned char **bad)
{
	while (p < end && *p >= 0x80) {
		unsigned c = p[0], lo = 0x80, hi = 0xbf;
		size_t n;

		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			break;
		}
		if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi ||
		    (n > 2 && (p[2] & 0xc0) != 0x80) || (n > 3 && (p[3] & 0xc0) != 0x80))
			break;
		p += n;
	}
	if (p < end && *p >= 0x80) {
		*bad = p;
		return NULL;
	}
	return p;
}

/* At the opening quote; leaves s after the closing one. */
static int
scan_string(struct scanner *sc, const char **text, size_t *len, char *escaped)
{
	const char *p = ++sc->s;

	*escaped = 0;
	for (;;) {
		p = skip_plain(p, sc->begin, sc->end);
		if (p >= sc->end)
			break;
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
		const unsigned char *bad;
		const unsigned char *q = skip_utf8((const unsigned char *)p,
		    (const unsigned char *)sc->end, &bad);
		if (q == NULL) {
			sc->s = (const char *)bad;
			return fail(sc, "invalid UTF-8");
		}
		p = (const char *)q;
	}
	sc->s = sc->end;
	return fail(sc, "unterminated string");
}

/* scan_string from the quote at p for scan_object's local position: past
 * the string, or NULL on failure. Strings of plain bytes take no call. */
static inline __attribute__((always_inline)) const char *
string_from(struct scanner *sc, const char *p, const char **text, size_t *len, char *escaped)
{
	const char *q = skip_plain(p + 1, sc->begin, sc->end);

	if (q < sc->end && *q == '"') {
		*text = p + 1;
		*len = (size_t)(q - p) - 1;
		*escaped = 0;
		return q + 1;
	}
	sc->s = p;
	return scan_string(sc, text, len, escaped) == 0 ? sc->s : NULL;
}

/* After the first digit (1-9) of a number: past its digits when it is a
 * plain integer, or NULL when a fraction or exponent follows. */
static inline const char *
plain_integer(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
		return NULL;
	return p;
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

/* Members [from, to) of one object: any two keys the same? Small objects
 * without escaped keys (every event) mark each key in a 256-bit set by its
 * length and last byte, and compare keys only when their marks meet. */
static int
has_duplicate(const struct json_member *m, size_t from, size_t to)
{
	size_t n = to - from, i;
	int dup = 0;

	if (n <= 16) {
		uint64_t seen[4] = { 0 };
		for (i = from; i < to && !m[i].key_escaped; i++) {
			size_t len = m[i].key_len;
			unsigned h = len == 0 ? 0 : (unsigned)(len * 8 + (unsigned char)m[i].key[len - 1]) & 255;
			uint64_t bit = 1ULL << (h & 63);
			if (seen[h >> 6] & bit) {
				for (size_t j = from; j < i; j++)
					if (m[j].key_len == len && memcmp(m[j].key, m[i].key, len) == 0)
						return 1;
			}
			seen[h >> 6] |= bit;
		}
		if (i == to)
			return 0;
	}
	struct buf *keys = xcalloc(n, sizeof(*keys)); /* never a false "duplicate key" */
	for (i = 0; i < n; i++)
		decoded_key(&keys[i], &m[from + i]);
	qsort(keys, n, sizeof(*keys), compare_keys);
	for (i = 1; i < n && !dup; i++)
		dup = compare_keys(&keys[i - 1], &keys[i]) == 0;
	for (i = 0; i < n; i++)
		buf_free(&keys[i]);
	free(keys);
	return dup;
}

static int scan_value(struct scanner *sc, int depth, char *kind);

/* The last array json_members_free let go, kept for the next scan: a stage
 * scans each line into fresh members and frees them, so this saves a malloc
 * and a free per line. */
static struct json_member *spare;
static size_t spare_cap;

static struct json_member *
push_member(struct json_members *o)
{
	if (o->cap == 0 && spare != NULL) {
		o->m = spare;
		o->cap = spare_cap;
		spare = NULL;
	}
	if (o->scratch == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->m = xrealloc(o->m, o->cap * sizeof(*o->m));
	}
	return &o->m[o->scratch++];
}

/* At '{'. Members go on the scratch stack from its current top. Not
 * inlined into scan_value, which stays small for its many calls. The
 * position lives in p, which stores into members cannot alias, and goes
 * back to sc->s around every call and failure. */
static __attribute__((noinline)) int
scan_object(struct scanner *sc, int depth)
{
	struct json_members *out = sc->out;
	const char *end = sc->end, *p, *q;
	size_t first = out->scratch;

	sc->s++;
	skip_space(sc);
	if (sc->s < end && *sc->s == '}') {
		sc->s++;
		return 0;
	}
	p = sc->s;
	for (;;) {
		const char *key, *value, *text;
		size_t key_len, len, index;
		char key_escaped, value_escaped = 0, kind;
		struct json_member *m;

		/* The expected byte first: space is skipped only where there is some. */
		if (p >= end || *p != '"') {
			p = space_from(sc, p);
			if (p >= end || *p != '"')
				return fail(sc, "object key expected");
		}
		if ((p = string_from(sc, p, &key, &key_len, &key_escaped)) == NULL)
			return -1;
		if (p >= end || *p != ':') {
			p = space_from(sc, p);
			if (p >= end || *p != ':')
				return fail(sc, "':' expected");
		}
		p++;
		if (p < end && (unsigned char)*p <= ' ') {
			p = space_from(sc, p);
		}
		index = out->scratch;
		push_member(out); /* before the value: nested members go after it */
		value = p;
		if (p < end && *p == '"' && depth < JSON_MAX_DEPTH) {
			/* Most values are strings: no dispatch for them. */
			kind = JSON_KIND_STRING;
			if ((p = string_from(sc, p, &text, &len, &value_escaped)) == NULL)
				return -1;
		} else if (p < end && *p >= '1' && *p <= '9' && depth < JSON_MAX_DEPTH &&
		    (q = plain_integer(p + 1, end)) != NULL) {
			kind = JSON_KIND_INTEGER; /* ids and amounts: no dispatch either */
			p = q;
		} else {
			sc->s = p;
			if (scan_value(sc, depth + 1, &kind))
				return -1;
			p = sc->s;
			out->scratch = index + 1; /* drop nested members */
			if (kind == JSON_KIND_STRING)
				value_escaped = sc->escaped;
		}
		m = &out->m[index];
		m->key = key;
		m->key_len = key_len;
		m->key_escaped = key_escaped;
		m->kind = kind;
		m->value_escaped = value_escaped;
		if (kind == JSON_KIND_STRING) {
			m->value = value + 1;
			m->value_len = (size_t)(p - value) - 2;
		} else {
			m->value = value;
			m->value_len = (size_t)(p - value);
		}
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		p = space_from(sc, p);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}') {
			p++;
			break;
		}
		return fail(sc, "',' or '}' expected");
	}
	sc->s = p;
	if (has_duplicate(out->m, first, out->scratch))
		return fail(sc, "duplicate key");
	return 0;
}

static __attribute__((noinline)) int
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
		return scan_string(sc, &text, &len, &sc->escaped);
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
	struct scanner sc = { s, s + n, s, out, NULL, 0 };
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
	if (spare == NULL && o->cap <= 64) {
		spare = o->m;
		spare_cap = o->cap;
	} else {
		free(o->m);
	}
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

	if (m->kind == JSON_KIND_INTEGER) {
		/* Scanned: -?(0|[1-9][0-9]*), so only the range is left to check. */
		const char *p = m->value, *e = m->value + m->value_len;
		int negative = *p == '-';
		unsigned long long u = 0;

		p += negative;
		if (e - p > 19)
			return -1;
		for (; p < e; p++)
			u = u * 10 + (unsigned)(*p - '0');
		if (u > (negative ? 1ULL << 63 : (1ULL << 63) - 1))
			return -1;
		*v = !negative ? (long long)u : u == 0 ? 0 : -(long long)(u - 1) - 1;
		return 0;
	}
	if (m->value_len >= sizeof(tmp))
		return -1;
	memcpy(tmp, m->value, m->value_len);
	tmp[m->value_len] = '\0';
	errno = 0;
	*v = strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}
