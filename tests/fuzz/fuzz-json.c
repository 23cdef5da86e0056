/* libFuzzer: the strict scanner of lib/json.c against jansson as the oracle.
 * Both must agree on every input (accept as an object, or reject), except
 * where jansson refuses numbers it cannot store, skips a raw NUL byte or
 * refuses a key holding \u0000 (its keys are C strings); \u0000 in values
 * is JSON_ALLOW_NUL's. An accepted object's members must be jansson's,
 * with the same keys, kinds and string values (by length). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char
kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return 'o';
	case JSON_ARRAY: return 'a';
	case JSON_STRING: return 's';
	case JSON_INTEGER: return 'i';
	case JSON_REAL: return 'r';
	case JSON_TRUE: return 't';
	case JSON_FALSE: return 'f';
	default: return 'n';
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_members o = { 0 };
	struct buf key = { 0 }, text = { 0 };
	json_error_t jerr;
	char why[256];
	int ours = json_scan_object(&o, (const char *)data, size, why, sizeof(why)) == 0;
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	int theirs = root != NULL && json_is_object(root);

	if (root == NULL && (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow") ||
	        strstr(jerr.text, "depth") || strstr(jerr.text, "NUL byte in object key")))
		goto out; /* numbers, nesting or keys jansson cannot hold: valid JSON to us */
	if (memchr(data, '\0', size) != NULL) {
		/* A raw NUL is never valid JSON; jansson skips it between tokens. */
		if (ours)
			abort();
		goto out;
	}
	if (ours != theirs)
		abort();
	if (!ours)
		goto out;
	if (o.count != json_object_size(root))
		abort();
	for (size_t i = 0; i < o.count; i++) {
		const struct json_member *m = &o.m[i];
		key.len = 0;
		json_string_decode(&key, m->key, m->key_len);
		json_t *v = json_object_getn(root, key.data, key.len);
		if (v == NULL || kind_of(v) != m->kind ||
		    (memchr(key.data, '\0', key.len) == NULL && json_member_find(&o, key.data) != m))
			abort();
		if (m->kind == 's') {
			text.len = 0;
			json_string_decode(&text, m->value, m->value_len);
			if (text.len != json_string_length(v) ||
			    memcmp(text.data, json_string_value(v), text.len) != 0)
				abort();
		}
	}
out:
	json_decref(root);
	json_members_free(&o);
	buf_free(&key);
	buf_free(&text);
	return 0;
}
