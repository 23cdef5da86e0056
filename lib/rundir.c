#include <pwd.h>
#include <unistd.h>

#include "buf.h"
#include "opt.h"
#include "rundir.h"

void
rundir_path(struct buf *out)
{
	const char *dir = opt_env("CASINO_RUNDIR", NULL);
	const char *xdg = opt_env("XDG_RUNTIME_DIR", NULL);

	if (dir != NULL)
		buf_puts(out, dir);
	else if (xdg != NULL)
		buf_printf(out, "%s/casino", xdg);
	else
		buf_printf(out, "/tmp/casino-%lu", (unsigned long)getuid());
}

int
rundir_is_shared(void)
{
	return opt_env("CASINO_RUNDIR", NULL) == NULL && opt_env("XDG_RUNTIME_DIR", NULL) == NULL;
}

void
rundir_snapshot_path(struct buf *out)
{
	rundir_path(out);
	buf_puts(out, "/" RUNDIR_SNAPSHOT_NAME);
}

void
statedir_path(struct buf *out)
{
	const char *state = opt_env("CASINO_STATE_DIR", NULL), *xdg = opt_env("XDG_STATE_HOME", NULL);
	const char *home = opt_env("HOME", NULL);
	struct passwd *pw;
	size_t start = out->len;
	char cwd[4096];

	if (state == NULL && xdg == NULL && getuid() != 0 && home == NULL)
		home = (pw = getpwuid(getuid())) != NULL && pw->pw_dir[0] != '\0' ? pw->pw_dir : "/";
	if (state != NULL)
		buf_puts(out, state);
	else if (xdg != NULL)
		buf_printf(out, "%s/casino", xdg);
	else if (getuid() == 0)
		buf_puts(out, "/var/lib/casino");
	else
		buf_printf(out, "%s/.local/state/casino", home);
	/* Relative: from here, as the shell's $PWD/DIR; cursors and the
	 * database must not move with a later chdir. */
	if (out->data[start] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		struct buf rel = { 0 };
		buf_puts(&rel, out->data + start);
		out->len = start;
		buf_printf(out, "%s/%s", cwd, rel.data);
		buf_free(&rel);
	}
}
