/* rundir: where the live, non-persistent files of a running casino live.
 * The runtime directory is $CASINO_RUNDIR when set and non-empty, else
 * $XDG_RUNTIME_DIR/casino when XDG_RUNTIME_DIR is set and non-empty, else
 * /tmp/casino-UID (UID the real user id). The default snapshot written by
 * casino-tee-agg and served by casino-http-handler is "materialized.json"
 * in it. These functions only compute names: they create and open nothing,
 * and never fail (memory exhaustion exits 71, as buf does). */
#ifndef CASINO_RUNDIR_H
#define CASINO_RUNDIR_H
#include "buf.h"

#define RUNDIR_SNAPSHOT_NAME "materialized.json"

/* Appends the runtime directory (no trailing slash) to out. */
void rundir_path(struct buf *out);
/* 1 when the runtime directory is the /tmp fallback, a place everybody can
 * write: whoever creates it there must check that it is their own. */
int rundir_is_shared(void);
/* Appends the default snapshot path, rundir_path + "/materialized.json". */
void rundir_snapshot_path(struct buf *out);

#endif
