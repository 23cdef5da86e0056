/* casino-env: what the C side knows, for the scripts (scripts/casino-lib.sh
 * asks it instead of keeping a copy of each rule): the runtime and state
 * directories (lib/rundir), log records (lib/log), the ranking of exit
 * statuses (lib/stage) and a stage's health file (lib/healthread); and
 * the port a process listens on, which a shell cannot find out. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "healthread.h"
#include "log.h"
#include "opt.h"
#include "rundir.h"
#include "stage.h"

static _Noreturn void
usage_error(const char *why, const char *word)
{
	log_error(why, LOG_STR("operand", word));
	opt_usage_error();
}

static int
status_of(const char *word)
{
	return (int)opt_number("status", word, 0, 255);
}

/* "123" or "-4" (no leading zeros, no sign on 0): written as a number. */
static int
is_integer(const char *s, long long *v)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;

	if (d[0] < '0' || d[0] > '9' || (d[0] == '0' && (d[1] != '\0' || d != s)) ||
	    d[strspn(d, "0123456789")] != '\0' || strlen(d) > 18)
		return 0;
	*v = strtoll(s, &end, 10);
	return 1;
}

static int
do_log(int n, char **words)
{
	struct log_field *fields;
	int level;

	if (n < 3 || (n - 3) % 2 != 0)
		usage_error("log wants TOOL LEVEL MESSAGE and KEY VALUE pairs", n > 0 ? words[0] : "log");
	if ((level = log_level_rank(words[1])) < 0)
		usage_error("not a log level", words[1]);
	fields = xcalloc((size_t)(n - 3) / 2 + 1, sizeof(*fields));
	for (int i = 3, k = 0; i < n; i += 2, k++) {
		long long v;
		fields[k] = is_integer(words[i + 1], &v) ? LOG_INT(words[i], v) : LOG_STR(words[i], words[i + 1]);
	}
	fields[(n - 3) / 2] = LOG_END;
	log_init(words[0]);
	log_record_fields((enum log_level)level, words[2], fields);
	free(fields);
	return 0;
}

static int
do_health(int n, char **words)
{
	static const char *const names[] = { "in", "out", "rejected", "held", "pending",
		"held_since_ms", "updated_ms", "out_rate_milli" };
	struct health_stage s;
	long pid;

	if (n < 3)
		usage_error("health wants STAGE PID KEY...", n > 0 ? words[0] : "health");
	pid = (long)opt_number("pid", words[1], 1, 4194304);
	if (health_read_one(words[0], pid, &s) != 0)
		return 1;
	const long long values[] = { s.in, s.out, s.rejected, s.held, s.pending,
		s.held_since_ms, s.updated_ms, s.out_rate_milli };
	for (int i = 2; i < n; i++) {
		long long v = -1;
		size_t k;
		for (k = 0; k < sizeof(names) / sizeof(*names); k++)
			if (strcmp(words[i], names[k]) == 0)
				break;
		v = k < sizeof(names) / sizeof(*names) ? values[k] : health_stage_counter(&s, words[i]);
		printf("%s%lld", i > 2 ? " " : "", v);
	}
	printf("\n");
	return 0;
}

/* The local port of a listening TCP socket of pid's in one of its
 * /proc/PID/net files whose inode is among pid's descriptors; 0 if none. */
static long
listening_port(long pid)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	char path[64], link[64], line[512], local[128], state[8];
	unsigned long inodes[256], inode;
	size_t n = 0;
	struct dirent *e;
	DIR *d;
	long port = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < sizeof inodes / sizeof *inodes) {
		char fd[sizeof path + 256];
		ssize_t len;
		snprintf(fd, sizeof fd, "%s/%s", path, e->d_name);
		if ((len = readlink(fd, link, sizeof link - 1)) > 0) {
			link[len] = '\0';
			if (sscanf(link, "socket:[%lu]", &inode) == 1)
				inodes[n++] = inode;
		}
	}
	closedir(d);
	for (size_t t = 0; t < 2 && port == 0; t++) {
		FILE *f;
		snprintf(path, sizeof path, "/proc/%ld/net/%s", pid, tables[t]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (port == 0 && fgets(line, sizeof line, f) != NULL) {
			const char *colon;
			if (sscanf(line, "%*s %127s %*s %7s %*s %*s %*s %*s %*s %lu", local, state, &inode) != 3 ||
			    strcmp(state, "0A") != 0 || (colon = strrchr(local, ':')) == NULL)
				continue; /* 0A: TCP_LISTEN */
			for (size_t i = 0; i < n; i++)
				if (inodes[i] == inode)
					port = strtol(colon + 1, NULL, 16);
		}
		fclose(f);
	}
	return port;
}

/* Polls every 10 ms for up to 10 s: 1 when pid ends or never listens. */
static int
do_listen_port(int n, char **words)
{
	const struct timespec tick = { 0, 10 * 1000000L };
	long pid, port;

	if (n != 1)
		usage_error("listen-port wants the PID", n > 0 ? words[0] : "listen-port");
	pid = (long)opt_number("pid", words[0], 1, 4194304);
	for (int i = 0; i < 1000; i++) {
		if ((port = listening_port(pid)) > 0) {
			printf("%ld\n", port);
			return 0;
		}
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			break;
		nanosleep(&tick, NULL);
	}
	log_error("no listening socket", LOG_INT("pid", pid));
	return 1;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	struct buf b = { 0 };
	int n;
	char **w;

	log_init(argv[0]);
	/* Before opt_parse, which would refuse the variables as casino-env's own
	 * usage error: log-check reports them as TOOL's. */
	if (argc == 3 && strcmp(argv[1], "log-check") == 0) {
		log_init(argv[2]);
		return log_env_error() != 0 ? EX_USAGE : 0;
	}
	/* No options of its own: -h, -V, and after "--" a value such as -1. */
	opt_parse(argc, argv, NULL, 0, "command [argument ...]", INT_MAX);
	opt_checked();
	if (optind >= argc) {
		log_error("no command");
		opt_usage_error();
	}
	cmd = argv[optind];
	w = argv + optind + 1;
	n = argc - optind - 1;
	if (strcmp(cmd, "log") == 0)
		return do_log(n, w);
	if (strcmp(cmd, "health") == 0)
		return do_health(n, w);
	if (strcmp(cmd, "listen-port") == 0)
		return do_listen_port(n, w);
	if (strcmp(cmd, "log-check") == 0)
		usage_error("log-check wants the TOOL", cmd);
	if (strcmp(cmd, "worst") == 0 && n > 0) {
		int worst = status_of(w[0]);
		for (int i = 1; i < n; i++)
			worst = exit_worst(worst, status_of(w[i]));
		printf("%d\n", worst);
	} else if (strcmp(cmd, "exit-rank") == 0) {
		for (int s = 0; n == 0 && s <= 255; s++)
			printf("%d %d\n", s, exit_rank(s));
		for (int i = 0; i < n; i++)
			printf("%d %d\n", status_of(w[i]), exit_rank(status_of(w[i])));
	} else if (strcmp(cmd, "level-rank") == 0 && n > 0) {
		for (int i = 0; i < n; i++)
			printf("%s %d\n", w[i], log_level_rank(w[i]));
	} else if ((strcmp(cmd, "rundir") == 0 || strcmp(cmd, "state-dir") == 0) && n == 0) {
		if (cmd[0] == 'r')
			rundir_path(&b);
		else
			statedir_path(&b);
		printf("%s\n", b.data);
		buf_free(&b);
	} else {
		usage_error("unknown command or wrong operands", cmd);
	}
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}
