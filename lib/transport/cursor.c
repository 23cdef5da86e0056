#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "transport/cursor.h"
#include "rundir.h"

static const char group_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

/* Takes the group's lock, .GROUP.lock in dir, and writes our pid in it. */
static int
lock_group(struct cursor *c, const char *dir, const char *group, pid_t *holder)
{
	struct buf path = { 0 };
	char text[24];
	int saved;

	buf_printf(&path, "%s/.%s.lock", dir, group);
	c->lock_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	buf_free(&path);
	if (c->lock_fd < 0)
		return -1;
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		ssize_t n = pread(c->lock_fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		*holder = (pid_t)atol(text);
		close(c->lock_fd);
		c->lock_fd = -1;
		errno = saved == EAGAIN ? EWOULDBLOCK : saved;
		return -1;
	}
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(c->lock_fd, 0) < 0 || pwrite(c->lock_fd, text, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/* Parses "file:DEV:INO:FP/OFFSET" or the old bare "OFFSET". */
static int
parse(struct cursor *c, const char *text, size_t n)
{
	struct src s;
	char with_token[160];

	/* src_parse wants a token: lend it one. */
	if (n + 2 > sizeof(with_token))
		return -1;
	with_token[0] = 'c';
	with_token[1] = '@';
	memcpy(with_token + 2, text, n);
	if (src_parse(with_token, n + 2, &s) == 0 &&
	    src_file_parse(s.stream, s.stream_len, &c->file) == 0) {
		c->known_file = 1;
		c->offset = s.offset;
		return 0;
	}
	char digits[24], *end;
	if (n == 0 || n >= sizeof(digits) || text[0] < '0' || text[0] > '9')
		return -1;
	memcpy(digits, text, n);
	digits[n] = '\0';
	c->offset = strtoll(digits, &end, 10);
	return *end == '\0' ? 0 : -1;
}

int
cursor_open(struct cursor *c, const char *group, pid_t *holder)
{
	struct buf path = { 0 };
	char text[160];
	int fd, saved;

	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	*holder = 0;
	if (group[0] == '\0' || group[0] == '.' || group[strspn(group, group_chars)] != '\0') {
		errno = EINVAL;
		return -1;
	}
	statedir_path(&path);
	buf_puts(&path, "/file-groups");
	c->path = path.data;
	if (dir_make(path.data, 0) < 0 || lock_group(c, path.data, group, holder) < 0)
		return -1;
	buf_printf(&path, "/%s", group);
	c->path = path.data;
	if ((fd = open(path.data, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	if (n <= 1 || text[n - 1] != '\n' || parse(c, text, (size_t)n - 1) < 0) {
		errno = EBADMSG;
		return -1;
	}
	c->saved = 1;
	return 0;
}

int
cursor_write(struct cursor *c, const struct src_file *file, int64_t offset)
{
	struct buf text = { 0 };
	int r = 0;

	if (c->saved && c->known_file && c->offset == offset && c->file.dev == file->dev &&
	    c->file.ino == file->ino && c->file.fp == file->fp)
		return 0;
	src_file_put(&text, file);
	buf_printf(&text, "/%" PRId64 "\n", offset);
	if (atomicfile_write(c->path, text.data, text.len, 0600) < 0) {
		r = -1;
	} else {
		c->saved = c->known_file = 1;
		c->file = *file;
		c->offset = offset;
	}
	buf_free(&text);
	return r;
}

void
cursor_free(struct cursor *c)
{
	free(c->path);
	c->path = NULL;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}
