/* syncack: what is acknowledged is on disk first, for the writers of a log
 * with --sync (CASINO_SYNC): casino-append (casino-pub's file log) and
 * casino-tee-agg (doc/design.md, "Delivery"). After a write the acks wait
 * for one fdatasync of the log that covers every line written in the last
 * SYNCACK_MS at most (one after the other when the disk is slower); without
 * --sync they go at once.
 *
 * The fdatasync (and the hooks' persist, casino-tee-agg's checkpoint) runs
 * in a thread of its own while the writer goes on: what it covers is fixed
 * when it starts (the acks noted so far go in flight, prepare formats what
 * persist writes), and its acks go once the writer sees it ended. A failed
 * fdatasync ends the tool with 74: what it wrote may not be on disk. */
#ifndef CASINO_SYNCACK_H
#define CASINO_SYNCACK_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "opt.h"
#include "transport/ack.h"

#define SYNCACK_MS 50
#define SYNCACK_SHARE 15 /* inline, a group waits 15 times its sync's time */

/* What a writer does around each sync (all optional). */
struct syncack_hooks {
	/* The writer, as a sync starts: 1 when persist has something to
	 * write, 0 when not, -1 to keep this sync's acks back. */
	int (*prepare)(void *arg);
	/* The sync's thread, after the fdatasync: 0, or -1 with errno. */
	int (*persist)(void *arg);
	/* The writer, after persist failed with err: its acks are dropped. */
	void (*failed)(void *arg, int err);
};

struct syncack {
	int fd, sync;
	const char *path;       /* for messages */
	struct ack_sink *acks;  /* NULL: nothing to acknowledge, sync only */
	int unsynced;           /* written since the last sync started */
	int64_t due_ms;         /* the next sync may start from then */
	const struct syncack_hooks *hooks;
	void *hooks_arg;
	/* The sync under way. */
	int in_flight, persisting, hold_acks, sync_errno, persist_errno;
	int64_t started_ms, ended_ms;
	pthread_t thread;
	atomic_int done;
};

/* The option, declared once for both writers (lib/opt). */
#define OPT_SYNC { 's', "sync", NULL, "CASINO_SYNC", .kind = OPT_FLAG, \
	.help = "fdatasync what was written before acknowledging it (every 50 ms at most)" }

/* With sync and acks, acks is deferred (ack.h): notes wait for a sync. */
void syncack_init(struct syncack *s, int fd, const char *path, int sync, struct ack_sink *acks);
void syncack_on_sync(struct syncack *s, const struct syncack_hooks *hooks, void *arg);
/* Lines were written: acknowledge them now, or at the sync when due. */
void syncack_written(struct syncack *s);
/* 1 while something waits for a sync or its end: the writer must come
 * back (syncack_wait_ms) even when its input is idle. */
int syncack_pending(const struct syncack *s);
/* The longest a wait for input may last, at most timeout_ms (-1: none). */
int syncack_wait_ms(const struct syncack *s, int timeout_ms);
/* The acks of a sync that ended, and the sync that is due; with now set,
 * whatever the time, and waiting for the one under way (the last call). */
void syncack_due(struct syncack *s, int now);
/* Waits for a sync under way without starting one (a writer that failed). */
void syncack_close(struct syncack *s);

#endif
