#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http/dashdir.h"

void
dashdir_default(struct buf *out)
{
	static const char *const tails[] = { "/../share/casino/dashboard", "/../share/dashboard" };
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *slash;
	size_t dir_len;

	out->len = 0;
	if (n <= 0) {
		buf_puts(out, ".");
		return;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	dir_len = slash != NULL ? (size_t)(slash - exe) : 0;
	/* The first with an index.html; the last one when none has. */
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		out->len = 0;
		buf_append(out, exe, dir_len);
		buf_puts(out, tails[i]);
		buf_puts(out, "/index.html");
		if (access(out->data, R_OK) == 0)
			break;
	}
	out->len -= strlen("/index.html");
	out->data[out->len] = '\0';
}
