/* libFuzzer: lib/json.c's two ways of skipping plain string bytes, SSE2
 * (the build's default on x86-64) and the portable one (-DJSON_PORTABLE),
 * must scan every input alike: the same verdict, the same reason and byte
 * position when they reject it, the same members when they accept it. The
 * portable scanner is compiled here a second time under other names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int portable_scan_object(struct json_members *out, const char *s, size_t n,
	char *why, size_t whylen);
void portable_members_free(struct json_members *o);
const struct json_member *portable_member_find(const struct json_members *o, const char *key);
void portable_string_decode(struct buf *b, const char *raw, size_t n);
int portable_member_integer(const struct json_member *m, long long *v);

#define JSON_PORTABLE
#define json_scan_object portable_scan_object
#define json_members_free portable_members_free
#define json_member_find portable_member_find
#define json_string_decode portable_string_decode
#define json_member_integer portable_member_integer
#include "json.c"
#undef json_scan_object
#undef json_members_free
#undef json_member_find
#undef json_string_decode
#undef json_member_integer

static int
same_members(const struct json_members *a, const struct json_members *b)
{
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		const struct json_member *x = &a->m[i], *y = &b->m[i];
		if (x->key != y->key || x->key_len != y->key_len || x->value != y->value ||
		    x->value_len != y->value_len || x->kind != y->kind ||
		    x->key_escaped != y->key_escaped || x->value_escaped != y->value_escaped)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_members fast = { 0 }, portable = { 0 };
	char why_fast[256] = "", why_portable[256] = "";
	const char *s = (const char *)data;
	int a = json_scan_object(&fast, s, size, why_fast, sizeof(why_fast));
	int b = portable_scan_object(&portable, s, size, why_portable, sizeof(why_portable));
	if (a != b || strcmp(why_fast, why_portable) != 0)
		abort();
	if (a == 0 && !same_members(&fast, &portable))
		abort();
	json_members_free(&fast);
	portable_members_free(&portable);
	return 0;
}
