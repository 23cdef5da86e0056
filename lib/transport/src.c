#define _GNU_SOURCE /* memrchr */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/src.h"

void
src_put(struct buf *b, const char *token, const char *stream, size_t stream_len, int64_t offset)
{
	buf_puts(b, token);
	buf_putc(b, '@');
	buf_append(b, stream, stream_len);
	buf_putc(b, '/');
	buf_put_int(b, offset);
}

/* A decimal number in s[0..n), at most 18 digits: 0 or -1. */
static int
decimal(const char *s, size_t n, int64_t *v)
{
	if (n == 0 || n > 18)
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
src_parse(const char *s, size_t n, struct src *out)
{
	const char *at = memchr(s, '@', n), *slash = memrchr(s, '/', n);

	if (at == NULL || at == s || (size_t)(at - s) > SRC_TOKEN_MAX ||
	    slash == NULL || slash <= at + 1)
		return -1;
	for (const char *p = s; p < at; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return -1;
	if (decimal(slash + 1, (size_t)(s + n - slash - 1), &out->offset) < 0)
		return -1;
	out->token = s;
	out->token_len = (size_t)(at - s);
	out->stream = at + 1;
	out->stream_len = (size_t)(slash - at - 1);
	return 0;
}

int
src_parse_cached(struct src_cache *c, const char *s, size_t n, struct src *out)
{
	size_t k = c->prefix.len;

	if (k > 0 && n > k && memcmp(s, c->prefix.data, k) == 0 &&
	    decimal(s + k, n - k, &out->offset) == 0) {
		out->token = s;
		out->token_len = c->token_len;
		out->stream = s + c->token_len + 1;
		out->stream_len = c->stream_len;
		return 1;
	}
	if (src_parse(s, n, out) < 0)
		return -1;
	c->prefix.len = 0;
	buf_append(&c->prefix, s, (size_t)(out->stream + out->stream_len + 1 - s));
	c->token_len = out->token_len;
	c->stream_len = out->stream_len;
	return 0;
}

void
src_cache_free(struct src_cache *c)
{
	buf_free(&c->prefix);
	memset(c, 0, sizeof(*c));
}

int
src_kafka_stream(const char *stream, size_t n, char *topic, size_t cap, int32_t *partition)
{
	const char *slash = memrchr(stream, '/', n);
	int64_t p;

	if (slash == NULL || slash == stream || (size_t)(slash - stream) >= cap ||
	    decimal(slash + 1, (size_t)(stream + n - slash - 1), &p) < 0 || p > INT32_MAX)
		return -1;
	memcpy(topic, stream, (size_t)(slash - stream));
	topic[slash - stream] = '\0';
	*partition = (int32_t)p;
	return 0;
}

void
src_file_put(struct buf *b, const struct src_file *f)
{
	buf_printf(b, "file:%" PRIu64 ":%" PRIu64 ":%016" PRIx64, f->dev, f->ino, f->fp);
}

/* A number in base 10 or 16 in s[0..n), up to the end or stop: its end, or NULL. */
static const char *
number(const char *s, const char *end, int base, uint64_t *v)
{
	char text[24], *stop;

	if (end - s <= 0 || end - s >= (ptrdiff_t)sizeof(text))
		return NULL;
	memcpy(text, s, (size_t)(end - s));
	text[end - s] = '\0';
	if (!((text[0] >= '0' && text[0] <= '9') || (base == 16 && strchr("abcdef", text[0]))))
		return NULL;
	*v = strtoull(text, &stop, base);
	return *stop == '\0' ? end : NULL;
}

int
src_file_parse(const char *stream, size_t n, struct src_file *f)
{
	const char *end = stream + n, *a, *b;

	if (n < 5 || memcmp(stream, "file:", 5) != 0 ||
	    (a = memchr(stream + 5, ':', n - 5)) == NULL ||
	    (b = memchr(a + 1, ':', (size_t)(end - a - 1))) == NULL ||
	    number(stream + 5, a, 10, &f->dev) == NULL || number(a + 1, b, 10, &f->ino) == NULL ||
	    end - b - 1 != 16 || number(b + 1, end, 16, &f->fp) == NULL)
		return -1;
	return 0;
}

uint64_t
src_fingerprint(const char *line, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	if (n > SRC_FP_BYTES)
		n = SRC_FP_BYTES;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)line[i]) * 0x100000001b3u;
	return h ? h : 1;
}
