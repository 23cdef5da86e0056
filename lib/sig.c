#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "opt.h"
#include "sig.h"

#define LIFELINE_CHECK_MS 100 /* how often a tool that never waits looks */

static volatile sig_atomic_t stop_requested;

static struct {
	int fd;            /* -1: none, or lost (then closed) */
	int stops_reading; /* mode stop */
	int lost;
	int64_t checked_ms; /* CLOCK_MONOTONIC_COARSE */
} lifeline = { -1, 0, 0, 0 };

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static void
lifeline_lose(void)
{
	log_warn("lifeline lost: the supervisor is gone; stopping as at its stop",
	    LOG_INT("lifeline", lifeline.fd),
	    LOG_STR("mode", lifeline.stops_reading ? "stop" : "drain"));
	close(lifeline.fd);
	lifeline.fd = -1;
	lifeline.lost = 1;
}

/* Readable means lost: the end (no writer left), or a byte the supervisor
 * was never to write. Nothing is read, so every stage on the pipe sees it. */
static void
lifeline_seen(short revents)
{
	if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		lifeline_lose();
}

/* A look without waiting, at most every LIFELINE_CHECK_MS: for loops that
 * never sleep (casino-gen at full speed, a reader that always has input). */
static void
lifeline_check(void)
{
	struct pollfd p = { .fd = lifeline.fd, .events = POLLIN };
	int64_t now;

	if (lifeline.fd < 0)
		return;
	now = clock_ms(CLOCK_MONOTONIC_COARSE);
	if (now - lifeline.checked_ms < LIFELINE_CHECK_MS)
		return;
	lifeline.checked_ms = now;
	if (poll(&p, 1, 0) > 0)
		lifeline_seen(p.revents);
}

/* CASINO_LIFELINE=FD[:drain|stop]: an open pipe or FIFO, else exit 64. */
static void
lifeline_open(void)
{
	const char *v = opt_env("CASINO_LIFELINE", NULL), *colon;
	char number[24];
	struct stat sb;
	size_t n;
	int fd;

	if (v == NULL)
		return;
	colon = strchr(v, ':');
	n = colon ? (size_t)(colon - v) : strlen(v);
	snprintf(number, sizeof(number), "%.*s", (int)n, v);
	/* Too long for a descriptor: the whole value fails the check, named. */
	fd = (int)opt_number("CASINO_LIFELINE", n < sizeof(number) ? number : v, 3, 1 << 20);
	if (colon != NULL)
		lifeline.stops_reading = opt_choice("CASINO_LIFELINE", colon + 1, "drain stop") == 1;
	if (fstat(fd, &sb) < 0)
		die(EX_USAGE, "CASINO_LIFELINE names no open descriptor", LOG_STR("value", v),
		    LOG_STR("error", strerror(errno)));
	if (!(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)) ||
	    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY)
		die(EX_USAGE, "CASINO_LIFELINE names no read end of a pipe", LOG_STR("value", v));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	lifeline.fd = fd;
	lifeline.checked_ms = clock_ms(CLOCK_MONOTONIC_COARSE) - LIFELINE_CHECK_MS;
}

/* The lifeline is opened at the first question about a stop, not in
 * sig_init: casino-gen installs the handlers before its options are
 * parsed, and no variable may break -h or -V. Every tool that asks about
 * stops honours it, with no call to forget. */
static void
lifeline_ready(void)
{
	static int opened;

	if (opened)
		return;
	opened = 1;
	lifeline_open();
	lifeline_check(); /* already gone before we started */
}

void
sig_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: a blocked read returns EINTR and the loop ends. */
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
sig_lifeline_lost(void)
{
	lifeline_ready();
	lifeline_check();
	return lifeline.lost;
}

int
sig_stop_requested(void)
{
	lifeline_ready();
	if (lifeline.stops_reading)
		lifeline_check();
	return stop_requested || (lifeline.lost && lifeline.stops_reading);
}

int
sig_stopping(void)
{
	return sig_lifeline_lost() || stop_requested;
}

int
sig_first_stage(void)
{
	lifeline_ready();
	return lifeline.stops_reading;
}

/* The wait of sig_wait_fd (lifeline_ends 0) and sig_sleep_ms (1). The flag
 * is checked with SIGINT and SIGTERM blocked and ppoll unblocks them only
 * while it sleeps: a stop that comes after the check ends the sleep instead
 * of waiting for it (the check-then-block race). The lifeline is one more
 * descriptor of the same ppoll. */
static int
wait_for(int fd, int64_t timeout_ms, int lifeline_ends)
{
	struct pollfd p[2];
	sigset_t stops, old;
	int64_t deadline = timeout_ms >= 0 ? monotonic_ms() + timeout_ms : 0;
	int ready = 0;

	lifeline_ready();
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &old);
	for (;;) {
		struct timespec ts, *tp = NULL;
		nfds_t n = 0;
		if (stop_requested || (lifeline.lost && (lifeline_ends || lifeline.stops_reading))) {
			ready = -1;
			break;
		}
		if (timeout_ms >= 0) {
			int64_t left = deadline - monotonic_ms();
			if (left < 0)
				left = 0;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			tp = &ts;
		}
		if (fd >= 0)
			p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (lifeline.fd >= 0)
			p[n++] = (struct pollfd){ .fd = lifeline.fd, .events = POLLIN };
		ready = ppoll(p, n, tp, &old);
		if (ready > 0 && lifeline.fd >= 0 && p[n - 1].revents != 0) {
			lifeline_seen(p[n - 1].revents);
			if (fd < 0 || p[0].revents == 0)
				continue; /* the loop's check says whether it ends the wait */
		}
		if (ready > 0 || (ready == 0 && timeout_ms >= 0 && monotonic_ms() >= deadline))
			break;
		if (ready < 0 && errno != EINTR) {
			ready = 1; /* let the caller's read report the error */
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ready > 0 ? 1 : ready;
}

int
sig_wait_fd(int fd, int64_t timeout_ms)
{
	return wait_for(fd, timeout_ms, 0);
}

int
sig_sleep_ms(int64_t ms)
{
	return wait_for(-1, ms < 0 ? 0 : ms, 1) < 0 ? -1 : 0;
}
