/* cursor: the position of a group reading a file log (casino-follow
 * --group): which file (src.h's identity: device, inode, fingerprint of
 * its first line) and the offset of a line start in it that the group has
 * finished, one line "file:DEV:INO:FP/OFFSET" in
 * STATE/file-groups/GROUP (STATE the state directory of lib/rundir,
 * casino-db's too), replaced whole by write + rename (atomicfile), so
 * a crash leaves the old position or the new one. A cursor of the old form
 * (a bare offset) names no file: the one at the log's path.
 *
 * One reader per group: cursor_open takes an flock on .GROUP.lock beside
 * it, held until the process ends, with the holder's pid written in it.
 * Functions return 0, or -1 with errno set; none logs. */
#ifndef CASINO_CURSOR_H
#define CASINO_CURSOR_H
#include <stdint.h>
#include <sys/types.h>

#include "transport/src.h"

struct cursor {
	char *path;
	int lock_fd;
	int saved;            /* a position is there */
	int known_file;       /* it names its file (not the old form) */
	struct src_file file;
	int64_t offset;
};

/* Names and creates the folder, locks the group and reads the position
 * (c->saved 0 for a new group). EINVAL: a bad group name (letters, digits,
 * '.', '_', '-', not starting with '.'); EBADMSG: a damaged cursor file;
 * EWOULDBLOCK: another process holds the group, *holder its pid (0 when it
 * has not written it yet). */
int cursor_open(struct cursor *c, const char *group, pid_t *holder);
/* Replaces the file unless it holds this position already. */
int cursor_write(struct cursor *c, const struct src_file *file, int64_t offset);
void cursor_free(struct cursor *c);

#endif
