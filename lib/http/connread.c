#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/connread.h"
#include "timefmt.h"

int
connread_wait(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left;
	int r;

	do {
		left = deadline - timefmt_monotonic_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
	} while (r < 0 && errno == EINTR);
	return r != 0;
}

/* 1 when the socket's receive timeout is now ms; 0 (poll from now on) when
 * fd takes none. */
static int
arm(struct connread *r, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	r->armed_ms = setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 ? ms : 0;
	return r->armed_ms != 0;
}

void
connread_init(struct connread *r, int fd, int64_t timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);

	r->fd = fd;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	r->armed_ms = 0;
	if (flags >= 0 && !(flags & O_NONBLOCK))
		arm(r, r->timeout_ms);
}

/* 1 when a read may start: with a timeout that ends at most 10 ms after
 * deadline, or after poll saw input; 0 when the deadline passed. The usual
 * wait sets nothing: the timeout is set again only when it would outlast
 * the deadline (a slow head), or is far shorter than the time left. */
static int
ready(struct connread *r, int64_t deadline)
{
	int64_t left = deadline - timefmt_monotonic_ms();

	if (r->armed_ms == 0)
		return connread_wait(r->fd, deadline);
	if (left <= 0)
		return 0;
	if ((r->armed_ms > left + 10 || r->armed_ms < left / 2) && !arm(r, left))
		return connread_wait(r->fd, deadline);
	return 1;
}

ssize_t
connread_read(struct connread *r, void *p, size_t n, int64_t deadline)
{
	ssize_t got;

	for (;;) {
		if (!ready(r, deadline))
			return -2;
		got = read(r->fd, p, n);
		/* EAGAIN: the socket's timeout ran out; ready sees if the deadline did. */
		if (got < 0 && (errno == EINTR ||
		    (r->armed_ms != 0 && (errno == EAGAIN || errno == EWOULDBLOCK))))
			continue;
		return got;
	}
}

void
connread_linger(int in_fd, int out_fd, int64_t linger_ms)
{
	int64_t deadline = timefmt_monotonic_ms() + linger_ms;
	char sink[4096];
	ssize_t n;

	if (shutdown(out_fd, SHUT_WR) != 0)
		close(out_fd); /* a pipe, not a socket: EOF it all the same */
	while (connread_wait(in_fd, deadline) &&
	    ((n = read(in_fd, sink, sizeof sink)) > 0 || (n < 0 && errno == EINTR)))
		;
}
