/* rundir: where a casino keeps its files: the live, non-persistent ones in
 * the runtime directory, what outlives a run in the state directory.
 * The runtime directory is $CASINO_RUNDIR when set and non-empty, else
 * $XDG_RUNTIME_DIR/casino when XDG_RUNTIME_DIR is set and non-empty, else
 * /tmp/casino-UID (UID the real user id). The default snapshot written by
 * casino-tee-agg and served by casino-http-handler is "materialized.json"
 * in it. The state directory (the private database, file-log cursors,
 * reject folders) is $CASINO_STATE_DIR, else $XDG_STATE_HOME/casino, else
 * for root /var/lib/casino (a server run as postgres may not enter /root),
 * else $HOME/.local/state/casino (HOME from the password file when unset),
 * made absolute from the working directory when relative. scripts ask
 * casino-env(1) for both. These functions only compute names: they create and open nothing,
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
/* Appends the state directory (absolute, no trailing slash) to out. */
void statedir_path(struct buf *out);

#endif
