#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sig.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
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
sig_stop_requested(void)
{
	return stop_requested;
}

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The flag is checked with SIGINT and SIGTERM blocked and ppoll unblocks
 * them only while it sleeps: a stop that comes after the check ends the
 * sleep instead of waiting for it (the check-then-block race). */
int
sig_wait_fd(int fd, int64_t timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	sigset_t stops, old;
	int64_t deadline = timeout_ms >= 0 ? monotonic_ms() + timeout_ms : 0;
	int ready = 0;

	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &old);
	for (;;) {
		struct timespec ts, *tp = NULL;
		if (stop_requested) {
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
		ready = ppoll(&p, fd >= 0 ? 1 : 0, tp, &old);
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
sig_sleep_ms(int64_t ms)
{
	return sig_wait_fd(-1, ms < 0 ? 0 : ms) < 0 ? -1 : 0;
}
