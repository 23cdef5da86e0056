#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "transport/checkpoint.h"
#include "transport/src.h"

static int
pos_is(const struct checkpoint_pos *p, const char *stream, size_t n, const char *origin, size_t on)
{
	return p->stream_len == n && memcmp(p->stream, stream, n) == 0 &&
	    (p->origin == NULL) == (origin == NULL) &&
	    (origin == NULL || (p->origin_len == on && memcmp(p->origin, origin, on) == 0));
}

static struct checkpoint_pos *
pos_find(struct checkpoint *c, const char *stream, size_t n, const char *origin, size_t on)
{
	/* Lines come in runs of one stream: the last one found first. */
	if (c->last < c->npos && pos_is(&c->pos[c->last], stream, n, origin, on))
		return &c->pos[c->last];
	for (size_t i = 0; i < c->npos; i++)
		if (pos_is(&c->pos[i], stream, n, origin, on)) {
			if (origin == NULL)
				c->last = i;
			return &c->pos[i];
		}
	return NULL;
}

static struct checkpoint_pos *
pos_add(struct checkpoint *c, const char *stream, size_t n, const char *origin, size_t on,
    int64_t offset)
{
	c->pos = xrealloc(c->pos, (c->npos + 1) * sizeof(*c->pos));
	c->pos[c->npos] = (struct checkpoint_pos){ xstrndup(stream, n), n,
		origin ? xstrndup(origin, on) : NULL, on, offset };
	return &c->pos[c->npos++];
}

/* Takes offset for the stream (and origin); 1 when it is past the one
 * held, 0 when at or below it. same: the stream is the last arrival
 * stream found (c->last), no search needed. */
static int
pos_take(struct checkpoint *c, const char *stream, size_t n, const char *origin, size_t on,
    int64_t offset, int same)
{
	struct checkpoint_pos *p = same && c->last < c->npos ? &c->pos[c->last] :
	    pos_find(c, stream, n, origin, on);

	if (p == NULL) {
		pos_add(c, stream, n, origin, on, offset);
		if (origin == NULL)
			c->last = c->npos - 1;
		c->changed = 1;
		return 1;
	}
	if (offset <= p->offset)
		return 0;
	p->offset = offset;
	c->changed = 1;
	return 1;
}

int
checkpoint_admit(struct checkpoint *c, const char *src, size_t n, const char *origin, size_t on)
{
	struct src arrival, from;

	int same = src_parse_cached(&c->arrivals, src, n, &arrival);

	if (same < 0)
		return 1;
	/* The same prefix as the last line's: its stream is c->last. */
	int is_new = pos_take(c, arrival.stream, arrival.stream_len, NULL, 0, arrival.offset,
	    same == 1);
	if (!is_new || on == 0 || src_parse_cached(&c->origins, origin, on, &from) < 0)
		return is_new;
	return pos_take(c, arrival.stream, arrival.stream_len, from.stream, from.stream_len,
	    from.offset, 0);
}

/* An offset as JSON gives it: a whole number >= 0. */
static int
json_offset(json_t *v, int64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int
load(struct checkpoint *c, json_t *root)
{
	json_t *log = json_object_get(root, "log"), *streams = json_object_get(root, "streams");
	json_t *origins = json_object_get(root, "origins"), *v, *inner;
	const char *key, *okey;
	int64_t dev, ino, off;

	if (!json_is_object(root) || !json_is_object(streams) ||
	    (origins != NULL && !json_is_object(origins)))
		return -1;
	if (log != NULL) {
		if (json_offset(json_object_get(log, "dev"), &dev) < 0 ||
		    json_offset(json_object_get(log, "ino"), &ino) < 0 ||
		    json_offset(json_object_get(log, "length"), &c->length) < 0)
			return -1;
		c->has_log = 1;
		c->dev = (uint64_t)dev;
		c->ino = (uint64_t)ino;
	}
	json_object_foreach(streams, key, v) {
		if (json_offset(v, &off) < 0)
			return -1;
		pos_add(c, key, strlen(key), NULL, 0, off);
	}
	if (origins == NULL)
		return 0;
	json_object_foreach(origins, key, inner) {
		if (!json_is_object(inner))
			return -1;
		json_object_foreach(inner, okey, v) {
			if (json_offset(v, &off) < 0)
				return -1;
			pos_add(c, key, strlen(key), okey, strlen(okey), off);
		}
	}
	return 0;
}

int
checkpoint_open(struct checkpoint *c, const char *path)
{
	json_error_t jerr;
	json_t *root;
	int r;

	memset(c, 0, sizeof(*c));
	c->path = xstrndup(path, strlen(path));
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		/* jansson says no more than its text: unreadable or damaged. */
		errno = access(path, R_OK) < 0 ? errno : EBADMSG;
		return -1;
	}
	r = load(c, root);
	json_decref(root);
	if (r < 0)
		errno = EBADMSG;
	return r;
}

/* The positions as JSON: arrival streams, then origins grouped by their
 * arrival stream. */
static void
format(struct checkpoint *c)
{
	struct buf *b = &c->text;
	int first = 1;

	b->len = 0;
	buf_printf(b, "{\"log\":{\"dev\":%llu,\"ino\":%llu,\"length\":%lld},\"streams\":{",
	    (unsigned long long)c->dev, (unsigned long long)c->ino, (long long)c->length);
	for (size_t i = 0; i < c->npos; i++) {
		if (c->pos[i].origin != NULL)
			continue;
		if (!first)
			buf_putc(b, ',');
		first = 0;
		buf_json_string(b, c->pos[i].stream, c->pos[i].stream_len);
		buf_printf(b, ":%lld", (long long)c->pos[i].offset);
	}
	buf_puts(b, "},\"origins\":{");
	first = 1;
	for (size_t i = 0; i < c->npos; i++) {
		struct checkpoint_pos *a = &c->pos[i];
		int inner = 1, seen = 0;
		if (a->origin == NULL)
			continue;
		/* Once per arrival stream: at its first origin entry. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = c->pos[j].origin != NULL && c->pos[j].stream_len == a->stream_len &&
			    memcmp(c->pos[j].stream, a->stream, a->stream_len) == 0;
		if (seen)
			continue;
		if (!first)
			buf_putc(b, ',');
		first = 0;
		buf_json_string(b, a->stream, a->stream_len);
		buf_putc(b, ':');
		buf_putc(b, '{');
		for (size_t j = i; j < c->npos; j++) {
			struct checkpoint_pos *o = &c->pos[j];
			if (o->origin == NULL || o->stream_len != a->stream_len ||
			    memcmp(o->stream, a->stream, a->stream_len) != 0)
				continue;
			if (!inner)
				buf_putc(b, ',');
			inner = 0;
			buf_json_string(b, o->origin, o->origin_len);
			buf_printf(b, ":%lld", (long long)o->offset);
		}
		buf_putc(b, '}');
	}
	buf_puts(b, "}}\n");
}

int
checkpoint_prepare(struct checkpoint *c, int log_fd)
{
	struct stat sb;

	if (fstat(log_fd, &sb) < 0)
		return -1;
	if (!c->changed && c->has_log && c->dev == (uint64_t)sb.st_dev &&
	    c->ino == (uint64_t)sb.st_ino && c->length == sb.st_size)
		return 0;
	c->has_log = 1;
	c->dev = (uint64_t)sb.st_dev;
	c->ino = (uint64_t)sb.st_ino;
	c->length = sb.st_size;
	format(c);
	c->changed = 0;
	return 1;
}

int
checkpoint_write(const struct checkpoint *c)
{
	return atomicfile_write_synced(c->path, c->text.data, c->text.len, 0600);
}

int
checkpoint_save(struct checkpoint *c, int log_fd)
{
	int r = checkpoint_prepare(c, log_fd);

	return r <= 0 ? r : checkpoint_write(c);
}

/* Newlines in fd's bytes from `from` to `to`, read through /proc (the log
 * is opened for writing only); -1 when they cannot be read. */
static int64_t
count_lines(int fd, int64_t from, int64_t to)
{
	char path[64], chunk[65536];
	int64_t lines = 0;
	int rfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (from < to) {
		size_t want = to - from < (int64_t)sizeof(chunk) ? (size_t)(to - from) : sizeof(chunk);
		ssize_t got = pread(rfd, chunk, want, from);
		if (got <= 0) {
			lines = -1;
			break;
		}
		for (ssize_t i = 0; i < got; i++)
			lines += chunk[i] == '\n';
		from += got;
	}
	close(rfd);
	return lines;
}

int
checkpoint_cut_log(struct checkpoint *c, int log_fd, int64_t *bytes, int64_t *lines)
{
	struct stat sb;

	*bytes = *lines = 0;
	if (fstat(log_fd, &sb) < 0)
		return -1;
	if (!c->has_log)
		return CHECKPOINT_LOG_NEW;
	if (c->dev != (uint64_t)sb.st_dev || c->ino != (uint64_t)sb.st_ino)
		return CHECKPOINT_LOG_OTHER;
	if (sb.st_size < c->length) {
		*bytes = c->length - sb.st_size;
		return CHECKPOINT_LOG_SHORTER;
	}
	if (sb.st_size == c->length)
		return CHECKPOINT_LOG_SAME;
	*bytes = sb.st_size - c->length;
	*lines = count_lines(log_fd, c->length, sb.st_size);
	if (ftruncate(log_fd, c->length) < 0 || fdatasync(log_fd) < 0)
		return -1;
	return CHECKPOINT_LOG_CUT;
}

void
checkpoint_free(struct checkpoint *c)
{
	for (size_t i = 0; i < c->npos; i++) {
		free(c->pos[i].stream);
		free(c->pos[i].origin);
	}
	free(c->pos);
	free(c->path);
	buf_free(&c->text);
	src_cache_free(&c->arrivals);
	src_cache_free(&c->origins);
	memset(c, 0, sizeof(*c));
}
