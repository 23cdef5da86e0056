#define _GNU_SOURCE /* memrchr */
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
