/* logfile: casino-tee-agg's events log (its stdout, not the diagnostics)
 * appended to a named file and reopened on SIGUSR1, so logrotate's usual
 * "create" + "postrotate kill -USR1" moves it without losing, splitting or
 * misplacing a line (doc/design.md, "The events log over months").
 *   logfile_open(path);                      path NULL: stdout as it is
 *   ... between two whole records:  logfile_reopen_due();
 * logfile_open makes path (O_APPEND, created 0644 less the umask) the
 * process's stdout, or exits 74 naming it. SIGUSR1 only sets a flag;
 * logfile_reopen_due, called where no record is half written, then flushes
 * what is buffered to the old file, opens path anew (creating it) and puts
 * it in place of stdout. When it cannot, the old file stays stdout (one
 * error record) and the next SIGUSR1 tries again. Without a path, SIGUSR1
 * is logged and ignored. */
#ifndef CASINO_LOGFILE_H
#define CASINO_LOGFILE_H

void logfile_open(const char *path);
void logfile_reopen_due(void);

#endif
