/* logfile: one file of a file log, known by its identity (src.h's struct
 * src_file: device, inode, fingerprint of the first line) rather than by
 * its name, as casino-follow reads it through rotations and truncations
 * (doc/design.md, "The file log over time"). Functions return 0 or 1 as
 * said, or -1 with errno; none logs. */
#ifndef CASINO_LOGFILE_H
#define CASINO_LOGFILE_H
#include <stdint.h>

#include "transport/src.h"

/* The identity of the open file fd, and its size; fp 0 while the file has
 * no whole first line (nor SRC_FP_BYTES bytes). */
int logfile_identity(int fd, struct src_file *id, int64_t *size);
/* 1 when a and b can be one file: device and inode, and the fingerprints
 * where both are known. */
int logfile_same(const struct src_file *a, const struct src_file *b);
/* 1 when offset is a line start of fd (0, or just past a newline). */
int logfile_line_start(int fd, int64_t offset);
/* The start of the last line of fd that ends at or before offset's line:
 * offset itself at a line start, else just past the newline before it. */
int64_t logfile_line_back(int fd, int64_t offset);
/* Finds the file id near path: path itself, path.1, then any file of
 * path's folder; opens it (read only) into *fd. 1 found, 0 not. */
int logfile_find(const char *path, const struct src_file *id, int *fd);

#endif
