/* atomicfile: files that readers must see whole. atomicfile_write writes a
 * temporary file beside path and renames it over path, so a reader opens the
 * old content or the new, never a part (doc/design.md, casino-tee-agg).
 * dir_make is mkdir -p with new folders 0700; with check_owner the folder
 * must also belong to us (for the /tmp fallback everybody can write to).
 * Both return 0, or -1 with errno set; neither logs. */
#ifndef CASINO_ATOMICFILE_H
#define CASINO_ATOMICFILE_H
#include <stddef.h>
#include <sys/types.h>

int atomicfile_write(const char *path, const void *data, size_t n, mode_t mode);
/* The same, durable when it returns: the file fsync'd before the rename,
 * its folder after (a checkpoint that must survive a power loss). */
int atomicfile_write_synced(const char *path, const void *data, size_t n, mode_t mode);
int dir_make(const char *dir, int check_owner);

#endif
