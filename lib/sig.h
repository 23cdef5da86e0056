/* sig: the signal rules every tool shares. SIGPIPE is ignored (a write to a
 * closed pipe fails with EPIPE instead); SIGINT and SIGTERM set a flag and,
 * installed without SA_RESTART, interrupt a blocking read, poll or sleep,
 * so a tool can stop reading and finish what it holds. The waits that a
 * stop must end go through sig_wait_fd, which closes the gap between
 * checking the flag and going to sleep. */
#ifndef CASINO_SIG_H
#define CASINO_SIG_H
#include <stdint.h>

void sig_init(void);
/* 1 once SIGINT or SIGTERM arrived. */
int sig_stop_requested(void);
/* Wait until fd is readable (or at its end, or in error), for at most
 * timeout_ms (-1: no limit), or until a stop request, with no window in
 * which a stop can slip in unseen between the check and the sleep.
 * 1 readable, 0 timed out, -1 stopped. fd -1 waits for the time only. */
int sig_wait_fd(int fd, int64_t timeout_ms);
/* Sleep ms milliseconds, cut short by a stop request: 0 after the full
 * time, -1 when stopped. */
int sig_sleep_ms(int64_t ms);

#endif
