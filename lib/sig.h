/* sig: the signal rules every tool shares. SIGPIPE is ignored (a write to a
 * closed pipe fails with EPIPE instead); SIGINT and SIGTERM set a flag and,
 * installed without SA_RESTART, interrupt a blocking read, poll or sleep,
 * so a tool can stop reading and finish what it holds. */
#ifndef CASINO_SIG_H
#define CASINO_SIG_H
#include <stdint.h>

void sig_init(void);
/* 1 once SIGINT or SIGTERM arrived. */
int sig_stop_requested(void);
/* Sleep ms milliseconds, cut short by a stop request: 0 after the full
 * time, -1 when stopped. */
int sig_sleep_ms(int64_t ms);

#endif
