/* syncack: what is acknowledged is on disk first, for the writers of a log
 * with --sync (CASINO_SYNC): casino-append (casino-pub's file log) and
 * casino-tee-agg (doc/design.md, "Delivery"). After a write the acks wait
 * for one fdatasync of the log that covers every line written in the last
 * SYNCACK_MS at most; without --sync they go at once. A failed fdatasync
 * ends the tool with 74: what it wrote may not be on disk. */
#ifndef CASINO_SYNCACK_H
#define CASINO_SYNCACK_H
#include <stdint.h>

#include "opt.h"
#include "transport/ack.h"

#define SYNCACK_MS 50

struct syncack {
	int fd, sync;
	const char *path;       /* for messages */
	struct ack_sink *acks;  /* NULL: nothing to acknowledge, sync only */
	int unsynced;           /* written since the last fdatasync */
	int64_t due_ms;         /* the next fdatasync may run from then */
	int (*synced)(void *arg); /* between the fdatasync and the acks */
	void *synced_arg;
};

/* The option, declared once for both writers (lib/opt). */
#define OPT_SYNC { 's', "sync", NULL, "CASINO_SYNC", .kind = OPT_FLAG, \
	.help = "fdatasync what was written before acknowledging it (every 50 ms at most)" }

void syncack_init(struct syncack *s, int fd, const char *path, int sync, struct ack_sink *acks);
/* fn(arg) runs after each fdatasync, before the acks (casino-tee-agg's
 * checkpoint); a non-zero return keeps the acks back. */
void syncack_on_synced(struct syncack *s, int (*fn)(void *arg), void *arg);
/* Lines were written: acknowledge them now, or at the fdatasync when due. */
void syncack_written(struct syncack *s);
/* The longest a wait for input may last, at most timeout_ms (-1: none). */
int syncack_wait_ms(const struct syncack *s, int timeout_ms);
/* The fdatasync and the acks that are due; with now set, whatever the time. */
void syncack_due(struct syncack *s, int now);

#endif
