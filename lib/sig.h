/* sig: the signal rules every tool shares. SIGPIPE is ignored (a write to a
 * closed pipe fails with EPIPE instead); SIGINT and SIGTERM set a flag and,
 * installed without SA_RESTART, interrupt a blocking read, poll or sleep,
 * so a tool can stop reading and finish what it holds. The waits that a
 * stop must end go through sig_wait_fd, which closes the gap between
 * checking the flag and going to sleep.
 *
 * The lifeline (doc/design.md, "Lifeline"): CASINO_LIFELINE=FD[:MODE]
 * names an inherited read end (fd 3 or above) of a pipe or FIFO whose
 * write end only the supervisor holds and never writes to. When the pipe
 * becomes readable — every write end closed because the supervisor died,
 * or a byte written — the lifeline is lost and the stage acts as at its
 * supervisor's stop:
 *   - a source (casino-gen, casino-consume) stops as at SIGTERM;
 *   - a stage that holds events, or would start to (no rates, no
 *     database), stops waiting: it saves them and everything after them as
 *     at a stop (stage_stop_holding) and exits 69;
 *   - MODE drain (the default): the stage reads its input to the end, which
 *     comes as the stages before it stop, so nothing queued in a pipe is
 *     lost; MODE stop: it reads nothing more, exactly as at SIGTERM (for
 *     the first stage of a pipeline whose input is no stage of its own).
 * One warn record says so. It is opened (FD_CLOEXEC) at the first call
 * below, after sig_init and option parsing; a value that is no open read
 * end of a pipe or FIFO, or an unknown MODE, exits 64 naming the variable.
 * It is seen within about 100 ms by a tool that never waits (checks in
 * sig_stop_requested and sig_stopping), at once by one that waits. */
#ifndef CASINO_SIG_H
#define CASINO_SIG_H
#include <stdint.h>

void sig_init(void);
/* 1 once SIGINT or SIGTERM arrived, or the lifeline was lost in mode
 * stop: read nothing more. */
int sig_stop_requested(void);
/* 1 once the lifeline was lost (either mode). */
int sig_lifeline_lost(void);
/* sig_stop_requested() or sig_lifeline_lost(): a source stops, a stage
 * stops waiting for a service and saves what it holds. */
int sig_stopping(void);
/* 1 when CASINO_LIFELINE's mode is stop: the stage's input is no stage of
 * its own (a file its supervisor names what was not read of), so a stop
 * ends its reading even while it saves what it holds. */
int sig_first_stage(void);
/* Wait until fd is readable (or at its end, or in error), for at most
 * timeout_ms (-1: no limit), or until sig_stop_requested, with no window
 * in which a stop can slip in unseen between the check and the sleep.
 * 1 readable, 0 timed out, -1 stopped. fd -1 waits for the time only. */
int sig_wait_fd(int fd, int64_t timeout_ms);
/* Sleep ms milliseconds (a retry's backoff, a pace), cut short by
 * sig_stopping: 0 after the full time, -1 when stopping. */
int sig_sleep_ms(int64_t ms);

#endif
