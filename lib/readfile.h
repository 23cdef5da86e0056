/* readfile: one whole regular file into memory, for the readers of files
 * other programs write (snapshots, stage health files, rate files). A file
 * larger than max is refused, never cut: callers either have all of it or
 * an error. Reads are retried on EINTR. */
#ifndef CASINO_READFILE_H
#define CASINO_READFILE_H
#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"

/* The file at path into b (replacing its contents, NUL-terminated); st, when
 * not NULL, gets its status. 0, or -1 with errno set: the open or read
 * error, or EFBIG when it is not a regular file or holds more than max
 * bytes. Writers that rename complete files into place make the file
 * opened whole to its end. */
int file_read_all(const char *path, size_t max, struct buf *b, struct stat *st);

#endif
