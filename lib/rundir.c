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

void
rundir_snapshot_path(struct buf *out)
{
	rundir_path(out);
	buf_puts(out, "/" RUNDIR_SNAPSHOT_NAME);
}

int
rundir_shared(void)
{
	return opt_env("CASINO_RUNDIR", NULL) == NULL && opt_env("XDG_RUNTIME_DIR", NULL) == NULL;
}
