/* libFuzzer: any bytes as an event line. A line event_parse accepts must
 * come back from event_write_key + describe_event as valid JSON whose keys
 * are the input's plus "description", every other value unchanged; the
 * sentence describe_event writes as JSON must be byte for byte the plain
 * one through buf_json_string. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "describe/describe.h"
#include "event.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	struct buf text = { 0 }, value = { 0 }, direct = { 0 }, out = { 0 };
	struct json_members player = { 0 };
	char why[256];
	json_error_t jerr;
	json_t *in, *back;
	const char *key;
	json_t *v;

	if (event_parse(&ev, (const char *)data, size, why, sizeof(why)) != 0)
		return 0;
	describe_event(&text, &ev, 0, &player);
	buf_json_string(&value, text.data, text.len);
	describe_event(&direct, &ev, 1, &player);
	if (direct.len != value.len || memcmp(direct.data, value.data, value.len) != 0 ||
	    direct.data[direct.len] != '\0')
		abort();
	event_write_key(&out, &ev, "description", value.data, value.len);
	/* \u0000 is valid JSON (jansson: JSON_ALLOW_NUL, not in keys). */
	back = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	in = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
	if (in == NULL && (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow") ||
	        strstr(jerr.text, "depth") || strstr(jerr.text, "NUL byte in object key")))
		goto out; /* numbers, nesting or keys jansson cannot hold: valid JSON to us */
	if (back == NULL || in == NULL || out.data[out.len - 1] != '\n')
		abort();
	v = json_object_get(back, "description");
	if (!json_is_string(v) || json_string_length(v) != text.len ||
	    memcmp(json_string_value(v), text.data, text.len) != 0)
		abort();
	json_object_del(back, "description");
	json_object_del(in, "description");
	json_object_foreach(in, key, v)
		if (!json_equal(v, json_object_get(back, key)))
			abort();
	if (json_object_size(in) != json_object_size(back))
		abort();
out:
	json_decref(in);
	json_decref(back);
	event_free(&ev);
	buf_free(&text);
	buf_free(&value);
	buf_free(&direct);
	buf_free(&out);
	json_members_free(&player);
	return 0;
}
