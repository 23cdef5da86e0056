/* ndjson: the line reader, NDJSON from a file descriptor.
 * Lines end at '\n' (the last one may lack it); the '\n' is not part of the
 * line. A line longer than the limit is consumed in full but never held:
 * its bytes go to the overflow callback chunk by chunk and line_read
 * returns LINE_TOO_LONG. Before the reader waits on an empty pipe it calls
 * the idle callback (a stage flushes stdout there, so no event waits for
 * more input); a non-zero return ends reading. SIGINT/SIGTERM (see
 * sig_stop_requested) stop reading, also one that comes while the reader
 * waits: the whole lines already buffered are still returned, then
 * LINE_END. A draining reader (a stage saving what it holds at a stop)
 * ignores both and reads to the end of its input. */
#ifndef CASINO_NDJSON_H
#define CASINO_NDJSON_H
#include <stddef.h>

#include "sig.h" /* the reader stops at a stop request */

enum line_status { LINE_OK, LINE_TOO_LONG, LINE_END };

struct line_reader {
	int fd;
	char *buf;
	size_t cap, start, end, max;
	unsigned long lineno;
	int eof, skipping;
	int draining; /* read to the end: no stop request or stdout failure ends it */
	void (*overflow)(void *arg, const char *chunk, size_t n, int first);
	void *overflow_arg;
	/* Before a wait with nothing to read; blocking: 1 before a wait without
	 * end (line_read), 0 before a timed one (line_wait). NULL: none. */
	int (*idle)(void *arg, int blocking);
	void *idle_arg;
};

/* The longest line accepted: CASINO_MAX_LINE (bytes, 2 to 1 GiB), default
 * 1 MiB. A bad value exits 64 naming the variable: call it after option
 * parsing, like opt_number. */
size_t line_max_env(void);
/* max: the longest line accepted, in bytes. */
void line_reader_init(struct line_reader *r, int fd, size_t max);
void line_reader_free(struct line_reader *r);
/* The line stays valid until the next call. */
enum line_status line_read(struct line_reader *r, const char **line, size_t *len);
/* 1 when a further line is already buffered or the fd has bytes right now. */
int line_ready(struct line_reader *r);
/* Wait up to timeout_ms for line_read to have something to return without
 * blocking: a whole line, the end of input, a stop request, or the first
 * chunk of an over-long line. Reads what arrives into the buffer and calls
 * the idle callback before it sleeps. 1 when ready, 0 when the time ran out. */
int line_wait(struct line_reader *r, int timeout_ms);

#endif
