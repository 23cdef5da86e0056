#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "timefmt.h"

/* A log record (lib/log's shape) built on the stack and written with one
 * write(2): reporting must not need the memory that ran out. snprintf of
 * numbers and short strings into a given buffer does not allocate. */
_Noreturn void
buf_out_of_memory(void)
{
	char rec[256];
	struct utc_time now = timefmt_now();
	struct civil_time c;
	int n;

	timefmt_civil(now.sec, &c);
	n = snprintf(rec, sizeof(rec), "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\","
	    "\"level\":\"error\",\"tool\":\"%.64s\",\"msg\":\"out of memory\"}\n",
	    c.year, c.month, c.day, c.hour, c.minute, c.second, (int)(now.nsec / 1000000),
	    program_invocation_short_name);
	if (n > 0)
		(void)!write(STDERR_FILENO, rec, (size_t)n < sizeof(rec) ? (size_t)n : sizeof(rec));
	_exit(EX_OSERR);
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		buf_out_of_memory();
	return q;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		buf_out_of_memory();
	return p;
}

void *
xmalloc(size_t n)
{
	return xrealloc(NULL, n);
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
buf_reserve(struct buf *b, size_t extra)
{
	if (extra >= SIZE_MAX - b->len)
		buf_out_of_memory(); /* no size_t can hold it: doubling would wrap */
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_put_int(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	buf_reserve(b, 64);
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) { /* rare: format again with room enough */
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_json_escape(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_reserve(b, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];

		if (c > '\\' || (c >= 0x20 && c != '"' && c != '\\'))
			continue; /* lowercase letters take the first test */
		buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			u[6] = '\0';
			esc = u;
		}
		buf_puts(b, esc);
	}
	buf_append(b, s + run, n - run);
}

void
buf_json_string(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	buf_json_escape(b, s, n);
	buf_putc(b, '"');
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
