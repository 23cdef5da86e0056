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

/* A file kept in memory for a reader that serves it again and again (the
 * HTTP handler), and only a regular file at path itself: a symbolic link is
 * never followed (ELOOP; opened with O_NOFOLLOW, so one swapped in between
 * the look and the open fails too) and a FIFO never opened (EFBIG). One
 * lstat(2) per use, and a new read only when the path
 * names another file or another version (device, inode, size, mtime or
 * ctime differ: all that a rename-into-place writer changes, and what the
 * ETag is made of). text is always one whole read of one file, never parts
 * of two versions. */
struct file_cache {
	struct buf text;
	struct stat st; /* the file text was read from */
	int valid;
};

/* 0 with c->text and c->st current; -1 with errno set as file_read_all
 * sets it (the cache is then empty). */
int file_read_cached(const char *path, size_t max, struct file_cache *c);
/* The reason for a reader's log record, from file_read_cached's errno: a
 * link not followed, no regular file, or strerror's text. */
const char *file_read_why(int err);
void file_cache_free(struct file_cache *c);

#endif
