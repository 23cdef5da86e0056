/* healthread: the reading side of stage health (doc/design.md, "Stage
 * health"), for casino-http-handler: the files lib/health writes in
 * RUNDIR/stages/, read back, folded per stage. The files of stages that
 * died without removing theirs (SIGKILL) are removed by the reader that
 * finds them, and by health_sweep, which a starting stage calls: a read
 * costs the live stages, not every stage that ever ran. */
#ifndef CASINO_HEALTHREAD_H
#define CASINO_HEALTHREAD_H

#include "health.h"

/* One stage's file as read back. pending is what the stage read and has
 * not yet written or rejected (in = out + rejected + pending); a file
 * without it (older writers) counts held as pending. updated_ms: the
 * file's mtime, when the counters were true (ms since the epoch).
 * out_rate_milli: the stage's own rate (lines out per 1000 s over its last
 * window, lib/health) as of now: nothing was written since the file, so it
 * shrinks as the file ages past a report interval and is 0 a window later;
 * -1 while the stage has no rate yet. */
struct health_stage {
	char name[32];
	long pid;
	long long in, out, rejected, held, pending, held_since_ms, updated_ms, out_rate_milli;
	int ncounters;
	struct { char name[32]; long long value; } counter[HEALTH_MAX_COUNTERS];
};

/* The stages alive now, sorted by name then pid; at most max. A file whose
 * process is gone is removed; one that is not a stage file is skipped. */
int health_read_all(struct health_stage *out, int max);
/* The file of stage's process pid into out (whether that process still
 * runs or not; out_rate_milli as written); 0, or -1 when there is none
 * or it is not a stage file. */
int health_read_one(const char *stage, long pid, struct health_stage *out);
/* Several processes of one stage (a rerun, a second worker) as one, in
 * place: sums, the oldest hold, the newest update. Returns the new count. */
int health_fold(struct health_stage *st, int n);
/* A stage's own counter by name, or -1 when it has none. */
long long health_stage_counter(const struct health_stage *s, const char *name);
/* Remove the files of stages whose process is gone. */
void health_sweep(void);

#endif
