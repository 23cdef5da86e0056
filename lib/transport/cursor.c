#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/ack.h"
#include "atomicfile.h"
#include "buf.h"
#include "transport/cursor.h"
#include "rundir.h"

static const char group_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

int
cursor_open(struct cursor *c, const char *group)
{
	struct buf path = { 0 };
	char text[32];
	int fd, saved;

	c->path = NULL;
	c->saved = -1;
	if (group[0] == '\0' || group[0] == '.' || group[strspn(group, group_chars)] != '\0') {
		errno = EINVAL;
		return -1;
	}
	statedir_path(&path);
	buf_puts(&path, "/file-groups");
	c->path = path.data;
	if (dir_make(path.data, 0) < 0)
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
	if (n <= 1 || text[n - 1] != '\n' || ack_parse_file_src(text, (size_t)n - 1, &c->saved) < 0) {
		c->saved = -1;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
cursor_write(struct cursor *c, int64_t offset)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%" PRId64 "\n", offset);

	if (offset == c->saved)
		return 0;
	if (atomicfile_write(c->path, text, (size_t)n, 0600) < 0)
		return -1;
	c->saved = offset;
	return 0;
}

void
cursor_free(struct cursor *c)
{
	free(c->path);
	c->path = NULL;
}
