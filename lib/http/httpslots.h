/* httpslots: how full casino-serve's handler slots are, and which of them
 * have been held longest, shared by the handlers socat runs on one port
 * (doc/design.md, "Under pressure the server degrades"). RUNDIR/http-slots/PORT is
 * a table of max entries, each the monotonic millisecond its connection
 * began, 0 when free. A handler owns entry i while it holds a write lock on
 * that entry's first byte (fcntl: the kernel drops it when the process
 * ends, however it ends) and writes the entry through a shared mapping;
 * counting is a scan of memory, no system call. The table is reset by the
 * first handler of a new socat (the header names the socat it belongs
 * to). An entry left by a handler that was killed (SIGKILL) counts as
 * taken until a new handler takes it, which it does once no free entry is
 * left. One connection per process: the state is this unit's own. */
#ifndef CASINO_HTTPSLOTS_H
#define CASINO_HTTPSLOTS_H
#include <stdint.h>

/* Crowded: at least high = max - max / HTTPSLOTS_RESERVE_PART entries
 * taken (1,066 of 1,100). Then the taken - high + 1 oldest yield (35 when
 * all 1,100 are taken). */
#define HTTPSLOTS_RESERVE_PART 32
/* A handler looks at the table at most this often (ms), and an idle
 * kept-alive connection wakes this often to look. */
#define HTTPSLOTS_CHECK_MS 100
#define HTTPSLOTS_IDLE_MS 200

/* Take an entry, for this process's connection on socket fd, in the table
 * of the port fd was accepted on, for a server of max handlers (0: none);
 * freed at exit. Without a socket nothing is taken; when the table cannot
 * be used, a warning, and the handler serves without it. */
void httpslots_take(int fd, long max);
/* 1 when this connection should end after the answer in progress, or now
 * when it is idle: the table is crowded and this connection is among the
 * oldest that yield. Looks at most every HTTPSLOTS_CHECK_MS; 0 in between
 * and without a table. */
int httpslots_should_yield(void);
/* When a connection waiting until deadline (timefmt_monotonic_ms) should
 * wake to ask httpslots_should_yield: HTTPSLOTS_IDLE_MS from now when idle
 * (a kept-alive connection between requests: its client asks again on a
 * new one if closed) and there is a table, else deadline. */
int64_t httpslots_wake(int64_t deadline, int idle);

#endif
