#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

/* file_read_all, opening with the extra flags (O_NOFOLLOW). */
static int
read_all(const char *path, int flags, size_t max, struct buf *b, struct stat *st)
{
	struct stat own;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags), saved;
	ssize_t n = 0;

	if (st == NULL)
		st = &own;
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st->st_mode) || (size_t)st->st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	b->len = 0;
	for (;;) {
		/* The size may have grown since fstat: read until the end, past
		 * max by one chunk at most, to tell "too big" from "exactly max". */
		buf_reserve(b, (size_t)st->st_size + 4096);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t)n;
		if (b->len > max) {
			n = -1;
			errno = EFBIG;
			break;
		}
	}
	saved = errno;
	close(fd);
	b->data[b->len] = '\0';
	errno = saved;
	return n < 0 ? -1 : 0;
}

int
file_read_all(const char *path, size_t max, struct buf *b, struct stat *st)
{
	return read_all(path, 0, max, b, st);
}

static int
same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
file_read_cached(const char *path, size_t max, struct file_cache *c)
{
	struct stat now;
	int valid = c->valid;

	c->valid = 0;
	if (lstat(path, &now) != 0)
		return -1;
	if (!S_ISREG(now.st_mode)) {
		errno = S_ISLNK(now.st_mode) ? ELOOP : EFBIG;
		return -1;
	}
	if (valid && same_version(&now, &c->st))
		return 0;
	/* The version read is the one fstat saw on the open file, which may be
	 * newer than what stat saw a moment ago: c->st describes the text. */
	c->valid = read_all(path, O_NOFOLLOW, max, &c->text, &c->st) == 0;
	return c->valid ? 0 : -1;
}

void
file_cache_free(struct file_cache *c)
{
	buf_free(&c->text);
	c->valid = 0;
}

const char *
file_read_why(int err)
{
	if (err == ELOOP)
		return "a symbolic link, not followed";
	if (err == EFBIG)
		return "not a regular file, or too big";
	return strerror(err);
}
