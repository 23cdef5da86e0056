#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "sig.h"
#include "timefmt.h"

#define READ_CHUNK 65536
#define DEFAULT_MAX_LINE (1024 * 1024)

size_t
line_max_env(void)
{
	const char *max = opt_env("CASINO_MAX_LINE", NULL);

	return max ? (size_t)opt_number("CASINO_MAX_LINE", max, 2, 1LL << 30) : DEFAULT_MAX_LINE;
}

void
line_reader_init(struct line_reader *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->cap = READ_CHUNK;
	r->buf = xmalloc(r->cap);
}

void
line_reader_free(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

static int
fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* Read more bytes; 1 if some arrived, 0 at EOF or on a stop request. */
static int
fill(struct line_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		r->cap *= 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	int readable = fd_readable(r->fd);
	/* Draining (a stop while holding) reads on even when stdout failed. */
	if (!readable && r->idle != NULL && r->idle(r->idle_arg, 1) != 0 && !r->draining)
		return 0;
	for (;;) {
		/* Block only inside sig_wait_fd, so a stop is never missed; a
		 * drain ignores stops and blocks in read() to the end. */
		if (!r->draining &&
		    (sig_stop_requested() || (!readable && sig_wait_fd(r->fd, -1) < 0)))
			return 0;
		readable = 0;
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n > 0) {
			r->end += (size_t)n;
			return 1;
		}
		if (n == 0) {
			r->eof = 1;
			return 0;
		}
		if (errno != EINTR) {
			log_error("cannot read stdin", LOG_STR("error", strerror(errno)));
			r->eof = 1;
			return 0;
		}
	}
}

enum line_status
line_read(struct line_reader *r, const char **line, size_t *len)
{
	size_t scanned = 0;

	/* After SIGINT/SIGTERM, whole lines already read are still handed out
	 * (nothing read is dropped); fill() reads no more. */
	for (;;) {
		char *begin = r->buf + r->start;
		size_t have = r->end - r->start;
		char *nl = memchr(begin + scanned, '\n', have - scanned);

		if (nl != NULL || (r->eof && have > 0)) {
			size_t n = nl ? (size_t)(nl - begin) : have;
			r->start += nl ? n + 1 : n;
			r->lineno++;
			if (r->skipping) {
				if (r->overflow)
					r->overflow(r->overflow_arg, begin, n, 0);
				r->skipping = 0;
				return LINE_TOO_LONG;
			}
			if (n > r->max) {
				if (r->overflow)
					r->overflow(r->overflow_arg, begin, n, 1);
				return LINE_TOO_LONG;
			}
			*line = begin;
			*len = n;
			return LINE_OK;
		}
		if (r->eof)
			return LINE_END;
		scanned = have;
		if (have > r->max) {
			/* Too long: hand the bytes on and keep only the tail state. */
			if (r->overflow)
				r->overflow(r->overflow_arg, begin, have, !r->skipping);
			r->skipping = 1;
			r->start = r->end;
			scanned = 0;
		}
		if (!fill(r)) {
			if (r->eof && r->skipping) {
				r->skipping = 0;
				r->lineno++;
				if (r->overflow)
					r->overflow(r->overflow_arg, "", 0, 0);
				return LINE_TOO_LONG;
			}
			if (!r->eof || r->end == r->start)
				return LINE_END;
		}
	}
}

int
line_ready(struct line_reader *r)
{
	if (sig_stop_requested())
		return 0;
	if (memchr(r->buf + r->start, '\n', r->end - r->start) != NULL)
		return 1;
	return !r->eof && fd_readable(r->fd);
}

int
line_wait(struct line_reader *r, int timeout_ms)
{
	int64_t deadline = 0;
	int timed = 0; /* the clock is read only before sleeping */

	for (;;) {
		size_t have = r->end - r->start;
		if (sig_stop_requested() || r->eof || have > r->max ||
		    memchr(r->buf + r->start, '\n', have) != NULL)
			return 1;
		if (!fd_readable(r->fd)) {
			int64_t now = timefmt_monotonic_ms();
			if (!timed)
				deadline = now + timeout_ms;
			timed = 1;
			if (r->idle != NULL && r->idle(r->idle_arg, 0) != 0)
				return 1;
			if (deadline - now <= 0 || sig_wait_fd(r->fd, deadline - now) == 0)
				return 0;
			continue; /* readable, or stopped: the loop sees which */
		}
		/* Bytes are there, so fill() does not block. */
		if (!fill(r))
			return 1;
	}
}
