#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "http/peercap.h"
#include "rundir.h"

_Static_assert(PEERCAP_HOST_MAX >= INET6_ADDRSTRLEN, "room for an IPv6 address");

int
peercap_take(const char *address, long max)
{
	struct buf path = { 0 };
	int fd, err;
	long start = (long)getpid() % (max > 0 ? max : 1);

	if (max <= 0)
		return 1;
	if (strchr(address, '/') != NULL || address[0] == '.') {
		errno = EINVAL;
		return -1;
	}
	rundir_path(&path);
	buf_puts(&path, "/http-peers");
	if (dir_make(path.data, rundir_is_shared()) != 0) {
		err = errno;
		buf_free(&path);
		errno = err;
		return -1;
	}
	buf_printf(&path, "/%s", address);
	fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	err = errno;
	buf_free(&path);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	/* Start at a slot of our own, so the first try usually wins. The fd
	 * stays open: closing it would drop the lock. */
	for (long i = 0; i < max; i++) {
		struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			.l_start = (start + i) % max, .l_len = 1 };
		if (fcntl(fd, F_SETLK, &lock) == 0)
			return 1;
		if (errno != EACCES && errno != EAGAIN) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
	}
	close(fd);
	return 0;
}

void
peercap_name(int fd, char *out, size_t size, char *host)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	const char *lbracket = "", *rbracket = "";
	int port = 0;

	snprintf(out, size, "-");
	host[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &in->sin_addr, host, PEERCAP_HOST_MAX);
		port = ntohs(in->sin_port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, PEERCAP_HOST_MAX);
		port = ntohs(in6->sin6_port);
		lbracket = "[";
		rbracket = "]";
	} else
		return;
	snprintf(out, size, "%s%s%s:%d", lbracket, host, rbracket, port);
}
