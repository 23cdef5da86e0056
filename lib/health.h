/* health: a running stage's counters, published for /metrics and /healthz
 * (doc/design.md, "Stage health"). lib/stage counts lines in, out and
 * rejected; a tool adds what it holds and its own counters. The file
 * RUNDIR/stages/TOOL.PID.json is replaced whole (atomicfile) at most every
 * 250 ms while something changed, and removed by health_close. Counting
 * costs no system call: the file is written from health_tick (every few
 * thousand lines), health_due (timers, waits) and health_idle (before a
 * blocking read).
 * A folder that cannot be written only disables publishing (one warning).
 *
 *   {"stage":"casino-fx","pid":42,"in":10,"out":9,"rejected":1,"pending":0,"held":0,
 *    "held_since_ms":0,"fetches_ok":3,"fetches_error":0,...}
 *
 * pending is in - out - rejected - dropped: lines read and not yet
 * written, rejected or dropped (held, or being worked on), so in = out +
 * rejected + dropped + pending in every file; "dropped" (duplicates an
 * exactly-once sink did not write) appears once it is not 0. Events saved to the reject file at a stop count as rejected.
 * held_since_ms is the wall clock (ms since the epoch) when the oldest held
 * event was read, 0 when none is held; readers derive its age.
 * out_rate_milli is lines written per 1000 s over the stage's last
 * HEALTH_RATE_WINDOW_MS of reports, by its own clock, so a reader shows a
 * true rate from one file whatever its own clock does (a throttled or
 * virtual-time browser); absent until a second report. The reading side is
 * lib/healthread. */
#ifndef CASINO_HEALTH_H
#define CASINO_HEALTH_H

#define HEALTH_INTERVAL_MS 250
#define HEALTH_MAX_COUNTERS 8
#define HEALTH_RATE_WINDOW_MS 10000

struct health {
	unsigned long long in, out, rejected, held;
	unsigned long long dropped; /* read and dropped on purpose (a sink's duplicates) */
	long long held_since_ms;
	int ncounters;
	struct { const char *name; long long value; } counter[HEALTH_MAX_COUNTERS];
};

/* The process's counters; tools change them directly. */
extern struct health health;

/* Start publishing for tool (called by stage_open). */
void health_open(const char *tool);
/* A tool's own counter, written as "name" in the file; the slot lives as
 * long as the process. At most HEALTH_MAX_COUNTERS. */
long long *health_counter(const char *name);
/* n events held from now (0: none). The first hold stamps held_since_ms. */
void health_hold(unsigned long long n);
/* Publish if due and changed: cheap enough to call per event (it looks at
 * the clock once every 1024 calls). */
void health_tick(void);
/* The same, looking at the clock now: for timers and waits. */
void health_due(void);
/* Before a blocking read of fd: publish now if due, else wait on fd up to
 * the rest of the interval and publish if it stayed idle. */
void health_idle(int fd);
/* Lines read and not yet written or rejected. */
unsigned long long health_pending(void);
/* Remove the file (also run at exit). */
void health_close(void);

#endif
