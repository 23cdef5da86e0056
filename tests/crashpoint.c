/* crashpoint.so: LD_PRELOAD it to kill the process at a chosen point, for
 * the tests of what a crash leaves. CRASHPOINT_RENAME="PATH N" sends
 * SIGKILL to the process at its Nth rename(2) onto PATH, before that
 * rename is done: casino-tee-agg --checkpoint=PATH then dies with its log
 * written and synced and the checkpoint not yet replaced (doc/design.md,
 * "Every event counted once"). Every other call goes to the C library's. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);
	static char path[4096];
	static long count = -1, seen;

	if (real == NULL)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	if (count < 0) {
		const char *spec = getenv("CRASHPOINT_RENAME");
		count = 0;
		if (spec == NULL || sscanf(spec, "%4095s %ld", path, &count) != 2)
			count = 0;
	}
	if (count > 0 && strcmp(to, path) == 0 && ++seen == count)
		kill(getpid(), SIGKILL);
	return real(from, to);
}
