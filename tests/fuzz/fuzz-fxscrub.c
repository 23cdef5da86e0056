/* libFuzzer: casino-fx's key scrubbing (lib/fx/fxsource), security code. The
 * first byte sets the key's length, the key follows, the rest is the text.
 * After key_scrub no copy of the key is left in any form key_at knows (when
 * the key holds no '*', which "***" could make up); a text without the key
 * comes through unchanged. The text is also read as a file:// URL: its
 * path must be what a plain %XX decoder of two hex digits makes of it. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fx/fxsource.h"

/* The path the way RFC 3986 spells percent-encoding, %00 kept as is. */
static void
decode_path(struct buf *out, const char *p)
{
	buf_puts(out, "");
	for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = { p[1], p[2], '\0' };
			long v = strtol(hex, NULL, 16);
			if (v != 0) {
				buf_putc(out, (char)v);
				p += 2;
				continue;
			}
		}
		buf_putc(out, *p);
	}
}

static int
has_key(const char *s, const char *key)
{
	for (; *s != '\0'; s++)
		if (key_at(s, key) > 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = { 0 }, expected = { 0 };
	size_t keylen;
	char *key, *msg, *path;

	if (size < 1)
		return 0;
	keylen = data[0] % 32 < size - 1 ? data[0] % 32 : size - 1;
	key = xstrndup((const char *)data + 1, keylen);
	msg = xstrndup((const char *)data + 1 + keylen, size - 1 - keylen);

	buf_puts(&out, "");
	key_scrub(&out, msg, key);
	if (*key != '\0' && strchr(key, '*') == NULL && has_key(out.data, key))
		abort();
	if ((*key == '\0' || !has_key(msg, key)) && strcmp(out.data, msg) != 0)
		abort();
	if (strlen(out.data) != out.len)
		abort();

	switch (file_url_path(msg, &path)) {
	case 1:
		decode_path(&expected, msg + (strncasecmp(msg + 7, "localhost/", 10) == 0 ? 16 : 7));
		if (strcmp(path, expected.data) != 0)
			abort();
		break;
	case 0:
		if (strncasecmp(msg, "file://", 7) == 0 || path != NULL)
			abort();
		break;
	default:
		if (path != NULL)
			abort();
	}
	free(path);
	buf_free(&out);
	buf_free(&expected);
	free(key);
	free(msg);
	return 0;
}
