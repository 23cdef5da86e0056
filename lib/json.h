/* json: a strict, allocation-light JSON scanner for event lines.
 * json_scan_object validates s[0..n) as one JSON text (RFC 8259: UTF-8 only,
 * no raw control bytes or NUL in strings, no lone surrogates (\u0000 is
 * valid JSON: decoded, a string may hold a NUL byte, so callers compare
 * decoded text by length),
 * nesting up to JSON_MAX_DEPTH, no duplicate keys in any object) whose value
 * is an object, and records each top-level member's raw key and value span.
 * Integers of any size are valid JSON here; range is the caller's business.
 * Runs of plain string bytes are skipped 16 at a time with SSE2 on x86-64,
 * else (or built with -DJSON_PORTABLE) 8 at a time in a 64-bit word. It is
 * many times faster than building a jansson tree, which is why every stage
 * parses with it; tests/fuzz/fuzz-json checks it against jansson, and
 * tests/fuzz/fuzz-json-paths the SSE2 path against the portable one. Not
 * thread-safe: json_members_free keeps the last array for the next scan. */
#ifndef CASINO_JSON_H
#define CASINO_JSON_H
#include <stddef.h>
#include "buf.h"

#define JSON_MAX_DEPTH 512

enum json_kind {
	JSON_KIND_STRING = 's', JSON_KIND_INTEGER = 'i', JSON_KIND_REAL = 'r', JSON_KIND_OBJECT = 'o',
	JSON_KIND_ARRAY = 'a', JSON_KIND_TRUE = 't', JSON_KIND_FALSE = 'f', JSON_KIND_NULL = 'n',
};

struct json_member {
	const char *key;   /* between the quotes, raw */
	size_t key_len;
	const char *value; /* the value's text; for strings between the quotes */
	size_t value_len;
	char kind;         /* enum json_kind */
	char key_escaped, value_escaped; /* the raw text holds a backslash */
};

struct json_members {
	struct json_member *m; /* top-level members, in order */
	size_t count, cap;
	size_t scratch;        /* internal */
};

/* 0 on success; -1 with a reason in why ("invalid JSON at byte 7: ...",
 * "not a JSON object", "duplicate key: id"). out is reused across calls;
 * free it with json_members_free. */
int json_scan_object(struct json_members *out, const char *s, size_t n,
	char *why, size_t whylen);
void json_members_free(struct json_members *o);
/* The top-level member named key (escapes in keys decoded), or NULL. */
const struct json_member *json_member_find(const struct json_members *o, const char *key);
/* Append the decoded text of a raw string span (valid, as scanned) to b. */
void json_string_decode(struct buf *b, const char *raw, size_t n);
/* Parse an integer member's text; 0, or -1 when it does not fit. */
int json_member_integer(const struct json_member *m, long long *v);

#endif
