#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/ack.h"
#include "transport/src.h"
#include "log.h"
#include "timefmt.h"

/* How often a sink without a reader tries to open the FIFO again. */
#define ACK_RETRY_MS 200

int
ack_member_src(const struct json_member *m, const char **src, size_t *n)
{
	if (m == NULL || m->kind != JSON_KIND_STRING || m->value_escaped || m->value_len == 0)
		return -1;
	*src = m->value;
	*n = m->value_len;
	return 0;
}

int
ack_event_src(const struct event *ev, const char **src, size_t *n)
{
	return ack_member_src(json_member_find(&ev->members, ACK_KEY), src, n);
}

/* Creates the FIFO unless it exists; a path that exists as anything else
 * is EINVAL. */
static int
fifo_make(const char *path)
{
	struct stat sb;

	if (mkfifo(path, 0600) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &sb) < 0)
		return -1;
	if (!S_ISFIFO(sb.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
ack_source_open(struct ack_source *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->fd = s->keep_fd = -1;
	if (fifo_make(path) < 0)
		return -1;
	/* Read end first: opening a write end without a reader fails. */
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0)
		return -1;
	s->keep_fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->keep_fd < 0) {
		int saved = errno;
		close(s->fd);
		errno = saved;
		return -1;
	}
	return 0;
}

int
ack_source_read(struct ack_source *s, void (*fn)(void *arg, const char *src, size_t n),
    void *arg)
{
	char chunk[4096];

	for (;;) {
		ssize_t got = read(s->fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) /* EAGAIN: nothing more now */
			return 1;
		if (got == 0) { /* no writer now: gone, or not come yet */
			s->no_writer = 1;
			return s->keep_fd >= 0 || !s->heard;
		}
		s->heard = 1;
		s->no_writer = 0;
		buf_append(&s->pending, chunk, (size_t)got);
		size_t start = 0;
		for (;;) {
			char *nl = memchr(s->pending.data + start, '\n', s->pending.len - start);
			if (nl == NULL)
				break;
			size_t len = (size_t)(nl - (s->pending.data + start));
			if (len > 0)
				fn(arg, s->pending.data + start, len);
			start += len + 1;
		}
		memmove(s->pending.data, s->pending.data + start, s->pending.len - start);
		s->pending.len -= start;
	}
}

int
ack_source_wait(struct ack_source *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };

	/* Without a writer poll reports a hang-up at once: just wait. */
	return poll(&p, s->no_writer ? 0 : 1, timeout_ms) > 0;
}

void
ack_source_last_call(struct ack_source *s)
{
	if (s->keep_fd >= 0)
		close(s->keep_fd);
	s->keep_fd = -1;
}

void
ack_source_close(struct ack_source *s)
{
	ack_source_last_call(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	buf_free(&s->pending);
}

int
ack_sink_open(struct ack_sink *k, const char *path)
{
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	if (fifo_make(path) < 0)
		return -1;
	k->path = xstrndup(path, strlen(path));
	return 0;
}

/* The length of src's TOKEN@STREAM (src.h): acks of other tokens are
 * other streams. What is not a src shares the stream "". */
static size_t
stream_len(const char *src, size_t n)
{
	struct src s;

	return src_parse(src, n, &s) == 0 ? (size_t)(s.stream + s.stream_len - src) : 0;
}

/* Whether src is a position of stream st: st's bytes, then the one '/'
 * before the offset (what stream_len would find, without parsing). */
static int
of_stream(const struct ack_stream *st, const char *src, size_t n)
{
	size_t len = st->stream_len;

	return len > 0 && n > len + 1 && src[len] == '/' && memcmp(st->stream, src, len) == 0 &&
	    memchr(src + len + 1, '/', n - len - 1) == NULL;
}

void
ack_sink_note(struct ack_sink *k, const char *src, size_t n)
{
	size_t len, i;

	/* A run of lines of one stream, the common case, is not parsed. */
	if (k->last < k->nstreams && of_stream(&k->streams[k->last], src, n)) {
		struct buf *b = k->deferred ? &k->streams[k->last].noted : &k->streams[k->last].src;
		b->len = 0;
		buf_append(b, src, n);
		return;
	}
	len = stream_len(src, n);
	for (i = 0; i < k->nstreams; i++)
		if (k->streams[i].stream_len == len && memcmp(k->streams[i].stream, src, len) == 0)
			break;
	if (i == k->nstreams) {
		k->streams = xrealloc(k->streams, (k->nstreams + 1) * sizeof(*k->streams));
		k->streams[i] = (struct ack_stream){ xstrndup(src, len), len, { 0 }, { 0 }, { 0 } };
		k->nstreams++;
	}
	struct buf *b = k->deferred ? &k->streams[i].noted : &k->streams[i].src;
	b->len = 0;
	buf_append(b, src, n);
	k->last = i;
}

void
ack_sink_line(struct ack_sink *k, const struct event *ev)
{
	const char *src;
	size_t n;

	if (ack_event_src(ev, &src, &n) == 0) {
		ack_sink_note(k, src, n);
		return;
	}
	k->unsent_lines++;
	if (!k->warned)
		log_warn("a line without src was written but cannot be acknowledged "
		    "(is the subscriber run with --group?)", LOG_INT("event_id", ev->id));
	k->warned = 1;
}

/* The FIFO's write end, opened when a reader is there (tried at most every
 * ACK_RETRY_MS); 0 when open. */
static int
sink_connect(struct ack_sink *k)
{
	int64_t now;

	if (k->fd >= 0)
		return 0;
	now = timefmt_monotonic_ms();
	if (now < k->retry_ms)
		return -1;
	k->retry_ms = now + ACK_RETRY_MS;
	k->fd = open(k->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return k->fd >= 0 ? 0 : -1;
}

void
ack_sink_send(struct ack_sink *k)
{
	for (size_t i = 0; i < k->nstreams; i++) {
		struct buf *src = &k->streams[i].src;
		if (src->len == 0)
			continue;
		if (sink_connect(k) < 0)
			return;
		buf_putc(src, '\n');
		/* At most PIPE_BUF bytes: written whole or not at all. */
		ssize_t w = src->len <= 4096 ? write(k->fd, src->data, src->len) : (ssize_t)src->len;
		if (w < 0 && errno == EAGAIN) { /* a full pipe: next time */
			src->len--;
			return;
		}
		if (w < 0) { /* the reader is gone: reconnect later */
			src->len--;
			close(k->fd);
			k->fd = -1;
			return;
		}
		src->len = 0;
		k->sent++;
	}
}

void
ack_sink_flushed(void *arg)
{
	ack_sink_send(arg);
}

void
ack_sink_forget(struct ack_sink *k)
{
	for (size_t i = 0; i < k->nstreams; i++) {
		if (k->deferred)
			k->streams[i].noted.len = 0;
		else
			k->streams[i].src.len = 0;
	}
}

/* a's bytes into b (b emptied), a emptied: the newer replaces the older. */
static void
buf_move(struct buf *b, struct buf *a)
{
	if (a->len == 0)
		return;
	b->len = 0;
	buf_append(b, a->data, a->len);
	a->len = 0;
}

void
ack_sink_take_off(struct ack_sink *k)
{
	for (size_t i = 0; i < k->nstreams; i++)
		buf_move(&k->streams[i].flight, &k->streams[i].noted);
}

void
ack_sink_land(struct ack_sink *k)
{
	for (size_t i = 0; i < k->nstreams; i++)
		buf_move(&k->streams[i].src, &k->streams[i].flight);
}

void
ack_sink_abort(struct ack_sink *k)
{
	for (size_t i = 0; i < k->nstreams; i++)
		k->streams[i].flight.len = 0;
}

void
ack_sink_close(struct ack_sink *k)
{
	k->retry_ms = 0; /* the last acks: try the FIFO now whatever the pace */
	ack_sink_send(k);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	for (size_t i = 0; i < k->nstreams; i++) {
		free(k->streams[i].stream);
		buf_free(&k->streams[i].src);
		buf_free(&k->streams[i].noted);
		buf_free(&k->streams[i].flight);
	}
	free(k->streams);
	free(k->path);
	k->streams = NULL;
	k->nstreams = 0;
}

struct ack_entry {
	struct ack_entry *next;
	int done;
	size_t n;
	char src[];
};

/* One stream's lines in flight, oldest first. */
struct ack_queue {
	char *stream;
	size_t stream_len;
	struct ack_entry *head, *tail;
};

struct ack_entry *
ack_order_add(struct ack_order *o, const char *src, size_t n)
{
	size_t len = stream_len(src, n), i;
	struct ack_entry *e = xmalloc(sizeof(*e) + n);
	struct ack_queue *q;

	for (i = 0; i < o->nqueues; i++)
		if (o->queues[i].stream_len == len && memcmp(o->queues[i].stream, src, len) == 0)
			break;
	if (i == o->nqueues) {
		o->queues = xrealloc(o->queues, (o->nqueues + 1) * sizeof(*o->queues));
		o->queues[i] = (struct ack_queue){ xstrndup(src, len), len, NULL, NULL };
		o->nqueues++;
	}
	q = &o->queues[i];
	*e = (struct ack_entry){ NULL, 0, n };
	memcpy(e->src, src, n);
	if (q->tail != NULL)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	o->in_flight++;
	return e;
}

void
ack_order_done(struct ack_order *o, struct ack_entry *e, struct ack_sink *k)
{
	e->done = 1;
	for (size_t i = 0; i < o->nqueues; i++) {
		struct ack_queue *q = &o->queues[i];
		struct ack_entry *last = NULL;
		if (q->head == NULL || !q->head->done)
			continue;
		while (q->head != NULL && q->head->done) {
			free(last);
			last = q->head;
			q->head = last->next;
			o->in_flight--;
		}
		if (q->head == NULL)
			q->tail = NULL;
		ack_sink_note(k, last->src, last->n);
		free(last);
	}
}

void
ack_order_free(struct ack_order *o)
{
	for (size_t i = 0; i < o->nqueues; i++) {
		struct ack_entry *e = o->queues[i].head, *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		free(o->queues[i].stream);
	}
	free(o->queues);
	o->queues = NULL;
	o->nqueues = 0;
}
