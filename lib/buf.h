/* buf: a growable byte buffer. Functions end the process only when memory
 * runs out (or a size would not fit in size_t): one fixed log record, "out
 * of memory", written without allocating, and exit 71 (EX_OSERR);
 * everything else never fails. data is always NUL-terminated after len
 * bytes. buf depends on no other unit but timefmt (no circle through log). */
#ifndef CASINO_BUF_H
#define CASINO_BUF_H
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
/* Decimal integer, without printf's cost on hot paths. */
void buf_put_int(struct buf *b, long long v);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal with quotes, escaping what JSON needs:
 * '"' '\\' \n \r \t as such, other bytes below 0x20 as \u00xx. */
void buf_json_string(struct buf *b, const char *s, size_t n);
/* The same without the quotes. */
void buf_json_escape(struct buf *b, const char *s, size_t n);
void buf_free(struct buf *b);

/* Allocation that cannot fail: on ENOMEM, buf_out_of_memory. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
/* calloc's, zeroed; n * size overflowing is out of memory too. */
void *xcalloc(size_t n, size_t size);
char *xstrndup(const char *s, size_t n);
/* The record on stderr, then _exit(71); allocates nothing. */
_Noreturn void buf_out_of_memory(void);

#endif
