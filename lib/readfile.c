#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "readfile.h"

int
file_read_all(const char *path, size_t max, struct buf *b, struct stat *st)
{
	struct stat own;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), saved;
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
