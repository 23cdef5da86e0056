#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "transport/logfile.h"

int
logfile_identity(int fd, struct src_file *id, int64_t *size)
{
	struct stat sb;
	char head[SRC_FP_BYTES];
	ssize_t n;

	if (fstat(fd, &sb) < 0 || (n = pread(fd, head, sizeof(head), 0)) < 0)
		return -1;
	id->dev = (uint64_t)sb.st_dev;
	id->ino = (uint64_t)sb.st_ino;
	char *nl = memchr(head, '\n', (size_t)n);
	if (nl != NULL)
		id->fp = src_fingerprint(head, (size_t)(nl - head));
	else
		id->fp = n == (ssize_t)sizeof(head) ? src_fingerprint(head, sizeof(head)) : 0;
	*size = (int64_t)sb.st_size;
	return 0;
}

int
logfile_same(const struct src_file *a, const struct src_file *b)
{
	return a->dev == b->dev && a->ino == b->ino && (a->fp == 0 || b->fp == 0 || a->fp == b->fp);
}

int
logfile_line_start(int fd, int64_t offset)
{
	char c;

	if (offset == 0)
		return 1;
	ssize_t n = pread(fd, &c, 1, offset - 1);
	if (n < 0)
		return -1;
	return n == 1 && c == '\n';
}

int64_t
logfile_line_back(int fd, int64_t offset)
{
	char chunk[4096];

	while (offset > 0) {
		int64_t from = offset > (int64_t)sizeof(chunk) ? offset - (int64_t)sizeof(chunk) : 0;
		ssize_t n = pread(fd, chunk, (size_t)(offset - from), from);
		if (n <= 0)
			return -1;
		for (ssize_t i = n; i > 0; i--)
			if (chunk[i - 1] == '\n')
				return from + i;
		offset = from;
	}
	return 0;
}

/* Opens path when it is the file id: 1 (*fd set), else 0. */
static int
try_path(const char *path, const struct src_file *id, int *fd)
{
	struct src_file here;
	int64_t size;
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (f < 0)
		return 0;
	if (logfile_identity(f, &here, &size) == 0 && logfile_same(&here, id)) {
		*fd = f;
		return 1;
	}
	close(f);
	return 0;
}

int
logfile_find(const char *path, const struct src_file *id, int *fd)
{
	struct buf name = { 0 };
	const char *slash = strrchr(path, '/');
	int found;

	buf_printf(&name, "%s.1", path);
	found = try_path(path, id, fd) || try_path(name.data, id, fd);
	name.len = 0;
	if (slash != NULL)
		buf_append(&name, path, (size_t)(slash - path) + 1);
	else
		buf_puts(&name, "./");
	DIR *d = found ? NULL : opendir(name.data);
	size_t dir_len = name.len;
	struct dirent *e;
	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		struct stat sb;
		/* The inode first (by stat: readdir's d_ino is not st_ino on
		 * every file system), so only a likely file is opened. */
		if (fstatat(dirfd(d), e->d_name, &sb, 0) < 0 || (uint64_t)sb.st_ino != id->ino ||
		    (uint64_t)sb.st_dev != id->dev || !S_ISREG(sb.st_mode))
			continue;
		name.len = dir_len;
		buf_puts(&name, e->d_name);
		found = try_path(name.data, id, fd);
	}
	if (d != NULL)
		closedir(d);
	buf_free(&name);
	return found;
}
