#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "http/httpslots.h"
#include "log.h"
#include "rundir.h"
#include "timefmt.h"

/* The header is one entry: the pid of the socat the table belongs to. */
enum { HEADER = 1 };

static struct {
	int fd;                /* the table, open while the entry is held */
	long max, mine;        /* mine: -1 while no entry is held */
	int64_t since;         /* when this connection began */
	int64_t checked_ms;    /* the last look at the table */
	_Atomic int64_t *map;  /* header, then max entries */
	size_t map_len;
} slots = { -1, 0, -1, 0, 0, NULL, 0 };

/* A write lock (or unlock) on entry i's first byte (i = -1: the header),
 * waiting when wait; 0 or -1 (errno EACCES/EAGAIN when held). */
static int
lock_entry(long i, short type, int wait)
{
	struct flock l = { .l_type = type, .l_whence = SEEK_SET,
		.l_start = (off_t)((i + HEADER) * (long)sizeof(int64_t)), .l_len = 1 };
	int r;

	while ((r = fcntl(slots.fd, wait ? F_SETLKW : F_SETLK, &l)) != 0 && errno == EINTR)
		;
	return r;
}

/* The port fd's socket is bound to (the port socat listens on), or 0. */
static int
local_port(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return 0;
	if (sa.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&sa)->sin_port);
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return 0;
}

/* Open (creating) the table, big enough, mapped, and this socat's. */
static int
table_open(int port)
{
	struct buf path = { 0 };
	struct stat st;
	int64_t owner = (int64_t)getppid();
	int err;

	rundir_path(&path);
	buf_puts(&path, "/http-slots");
	if (dir_make(path.data, rundir_is_shared()) == 0) {
		buf_printf(&path, "/%d", port);
		slots.fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	err = errno;
	buf_free(&path);
	errno = err;
	slots.map_len = (size_t)(slots.max + HEADER) * sizeof(int64_t);
	if (slots.fd < 0 || fstat(slots.fd, &st) != 0)
		return -1;
	if ((size_t)st.st_size < slots.map_len) {
		/* Growing only: a shorter mapping in another handler stays valid. */
		if (lock_entry(-1, F_WRLCK, 1) != 0 ||
		    (fstat(slots.fd, &st) == 0 && (size_t)st.st_size < slots.map_len &&
		    ftruncate(slots.fd, (off_t)slots.map_len) != 0))
			return -1;
		lock_entry(-1, F_UNLCK, 0);
	}
	slots.map = mmap(NULL, slots.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, slots.fd, 0);
	if (slots.map == MAP_FAILED) {
		slots.map = NULL;
		return -1;
	}
	/* Left by an earlier casino-serve on this port: its handlers are gone
	 * (they end with it), and so is what its entries say. */
	if (atomic_load(&slots.map[0]) != owner) {
		if (lock_entry(-1, F_WRLCK, 1) != 0)
			return -1;
		if (atomic_load(&slots.map[0]) != owner) {
			for (long i = 0; i < slots.max; i++)
				atomic_store(&slots.map[HEADER + i], 0);
			atomic_store(&slots.map[0], owner);
		}
		lock_entry(-1, F_UNLCK, 0);
	}
	return 0;
}

static int
take_entry(long i)
{
	if (lock_entry(i, F_WRLCK, 0) != 0)
		return 0;
	slots.mine = i;
	atomic_store(&slots.map[HEADER + i], slots.since);
	return 1;
}

static void
release(void)
{
	if (slots.map != NULL) {
		if (slots.mine >= 0)
			atomic_store(&slots.map[HEADER + slots.mine], 0);
		munmap((void *)slots.map, slots.map_len);
		slots.map = NULL;
	}
	if (slots.fd >= 0)
		close(slots.fd);
	slots.fd = -1;
	slots.mine = -1;
}

void
httpslots_take(int fd, long max)
{
	long start;
	int port;

	slots.max = max;
	slots.since = timefmt_monotonic_ms();
	if (slots.since <= 0)
		slots.since = 1;
	if (max <= 0 || slots.map != NULL || (port = local_port(fd)) == 0)
		return;
	if (table_open(port) != 0) {
		log_warn("cannot count the handler slots; never closing early",
		    LOG_INT("port", port), LOG_STR("error", strerror(errno)));
		release();
		return;
	}
	atexit(release); /* every exit path frees the entry */
	/* Start at an entry of our own, so the first try usually wins; a free
	 * entry first, then one a killed handler left. */
	start = (long)getpid() % max;
	for (long n = 0; n < max; n++) {
		long i = (start + n) % max;
		if (atomic_load(&slots.map[HEADER + i]) == 0 && take_entry(i))
			return;
	}
	for (long n = 0; n < max; n++)
		if (take_entry((start + n) % max))
			return;
}

int
httpslots_should_yield(void)
{
	int64_t now_ms;
	long taken = 0, older = 0, high;

	if (slots.mine < 0 || (now_ms = timefmt_monotonic_ms()) - slots.checked_ms < HTTPSLOTS_CHECK_MS)
		return 0;
	slots.checked_ms = now_ms;
	for (long i = 0; i < slots.max; i++) {
		int64_t since = atomic_load_explicit(&slots.map[HEADER + i], memory_order_relaxed);
		if (since == 0)
			continue;
		taken++;
		if (since < slots.since || (since == slots.since && i < slots.mine))
			older++;
	}
	/* Crowded: as many of the oldest go as it takes to be just under. */
	high = slots.max - slots.max / HTTPSLOTS_RESERVE_PART;
	return taken >= high && older <= taken - high;
}

int64_t
httpslots_wake(int64_t deadline, int idle)
{
	int64_t wake;

	if (!idle || slots.mine < 0)
		return deadline;
	wake = timefmt_monotonic_ms() + HTTPSLOTS_IDLE_MS;
	return wake < deadline ? wake : deadline;
}
