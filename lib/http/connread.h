/* connread: a client's bytes on one descriptor, read with a deadline, for
 * the HTTP handler. On a blocking socket the read itself waits, bounded by
 * SO_RCVTIMEO (set once per connection, again only inside a slow request
 * head): one system call per kept-alive request where poll and read were
 * two. A pipe or a non-blocking socket is waited on with poll(2).
 * Deadlines are timefmt_monotonic_ms() values. */
#ifndef CASINO_CONNREAD_H
#define CASINO_CONNREAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct connread {
	int fd;
	int64_t timeout_ms; /* the usual wait, set on the socket at init */
	int64_t armed_ms;   /* SO_RCVTIMEO on the socket now; 0: poll instead */
};

/* Set up reading fd, whose usual wait is timeout_ms (1 or more). */
void connread_init(struct connread *r, int fd, int64_t timeout_ms);
/* Up to n bytes into p, waiting until deadline: the count read, 0 at end
 * of input, -1 on an error (errno set), -2 when the deadline passed. */
ssize_t connread_read(struct connread *r, void *p, size_t n, int64_t deadline);
/* 1 when fd has input (or end of input) before deadline, else 0. */
int connread_wait(int fd, int64_t deadline);
/* End a connection: shut out_fd's sending side (close it when it is no
 * socket), then read and drop what the client still sends on in_fd until
 * it closes or linger_ms pass: closing a socket with unread input makes the
 * kernel send a reset, which can destroy the answer before it is read. */
void connread_linger(int in_fd, int out_fd, int64_t linger_ms);

#endif
