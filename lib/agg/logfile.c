#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "agg/logfile.h"
#include "out.h"

static volatile sig_atomic_t reopen_requested;
static const char *log_path;

static void
on_reopen(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

/* 0 with path in place of stdout, else -1 (errno set, stdout unchanged). */
static int
put_on_stdout(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644), saved;

	if (fd < 0)
		return -1;
	if (fd != STDOUT_FILENO && dup2(fd, STDOUT_FILENO) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (fd != STDOUT_FILENO)
		close(fd);
	return 0;
}

void
logfile_open(const char *path)
{
	struct sigaction sa;

	log_path = path;
	if (path != NULL && put_on_stdout(path) < 0)
		die(EX_IOERR, "cannot open the log", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	/* SA_RESTART: a read or write under way goes on; the wait for input
	 * (ppoll) returns and waits again, and the reopen comes after it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reopen;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

void
logfile_reopen_due(void)
{
	if (!reopen_requested)
		return;
	reopen_requested = 0;
	if (log_path == NULL) {
		log_warn("SIGUSR1 ignored: no --log file to reopen");
		return;
	}
	out_flush(); /* what was written before the signal stays in the old file */
	if (put_on_stdout(log_path) < 0)
		log_error("cannot reopen the log; writing on to the file already open",
		    LOG_STR("path", log_path), LOG_STR("error", strerror(errno)));
	else
		log_info("log reopened", LOG_STR("path", log_path));
}
