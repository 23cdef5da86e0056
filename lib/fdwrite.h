/* fdwrite: the one write-everything helper every writer uses (stdout, the
 * log, reject files, snapshots). A unit of its own so that lib/log and
 * lib/out, which both write, do not need each other for it. */
#ifndef CASINO_FDWRITE_H
#define CASINO_FDWRITE_H
#include <stddef.h>

/* Write all n bytes to fd, retrying after EINTR and short writes;
 * 0, or -1 with errno set. */
int fd_write_all(int fd, const void *p, size_t n);

#endif
