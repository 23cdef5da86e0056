#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "out.h"

/* The rename made durable: fsync of the folder that holds path. */
static int
dir_sync(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? xstrndup(".", 1) :
	    xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -1, saved;

	if (fd >= 0) {
		r = fsync(fd);
		saved = errno;
		close(fd);
		errno = saved;
	}
	saved = errno;
	free(dir);
	errno = saved;
	return r;
}

static int
replace(const char *path, const void *data, size_t n, mode_t mode, int synced)
{
	struct buf tmp = { 0 };
	int fd, saved;

	buf_printf(&tmp, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp.data)) < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || fd_write_all(fd, data, n) < 0 || (synced && fsync(fd) < 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		goto unlink;
	}
	if (close(fd) < 0 || rename(tmp.data, path) < 0)
		goto unlink;
	buf_free(&tmp);
	return synced ? dir_sync(path) : 0;
unlink:
	saved = errno;
	unlink(tmp.data);
	errno = saved;
fail:
	saved = errno;
	buf_free(&tmp);
	errno = saved;
	return -1;
}

int
atomicfile_write(const char *path, const void *data, size_t n, mode_t mode)
{
	return replace(path, data, n, mode, 0);
}

int
atomicfile_write_synced(const char *path, const void *data, size_t n, mode_t mode)
{
	return replace(path, data, n, mode, 1);
}

int
dir_make(const char *dir, int check_owner)
{
	char *path = xstrndup(dir, strlen(dir));
	struct stat sb;
	int r = 0, saved;

	for (char *slash = path + 1; r == 0; slash++) {
		if (*slash != '/' && *slash != '\0')
			continue;
		char c = *slash;
		*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			r = -1;
		*slash = c;
		if (c == '\0')
			break;
	}
	if (r == 0 && lstat(path, &sb) < 0)
		r = -1;
	else if (r == 0 && (!S_ISDIR(sb.st_mode) || (check_owner && sb.st_uid != geteuid()))) {
		errno = EPERM;
		r = -1;
	}
	saved = errno;
	free(path);
	errno = saved;
	return r;
}
