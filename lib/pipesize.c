#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "pipesize.h"

/* /proc/sys/fs/pipe-max-size, or 0 when unreadable. */
static long
pipe_max_size(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	long max = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &max) != 1)
		max = 0;
	fclose(f);
	return max;
}

/* Grow the pipe on fd to want bytes (or as near as allowed). */
static void
pipe_grow(int fd, long want)
{
	long have = fcntl(fd, F_GETPIPE_SZ);

	if (have < 0 || have >= want) /* not a pipe, or big enough */
		return;
	if (fcntl(fd, F_SETPIPE_SZ, (int)want) >= 0)
		return;
	if (errno == EPERM) {
		long max = pipe_max_size();
		if (max > have && max < want && fcntl(fd, F_SETPIPE_SZ, (int)max) >= 0)
			return;
	}
	log_debug("pipe size kept", LOG_INT("fd", fd), LOG_INT("bytes", have),
	    LOG_INT("wanted", want));
}

void
pipe_size_setup(void)
{
	const char *v = opt_env("CASINO_PIPE_SIZE", NULL);
	long long want = v ? opt_number("CASINO_PIPE_SIZE", v, 0, 1LL << 30) : PIPE_SIZE_DEFAULT;

	if (want == 0)
		return;
	if (want < 4096) /* below one page: the kernel's minimum */
		die(EX_USAGE, "bad option value", LOG_STR("option", "CASINO_PIPE_SIZE"),
		    LOG_STR("value", v), LOG_STR("allowed", "0, or 4096 to 1073741824"));
	pipe_grow(STDIN_FILENO, (long)want);
	pipe_grow(STDOUT_FILENO, (long)want);
}
