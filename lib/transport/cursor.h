/* cursor: the position of a group reading a file log (casino-consume
 * --group with --log): the byte offset it has finished, one decimal line in
 * STATE/file-groups/GROUP (STATE the state directory of lib/rundir, casino-db's
 * too), replaced whole by write +
 * rename (atomicfile), so a crash leaves the old position or the new one.
 * Functions return 0, or -1 with errno set; none logs. */
#ifndef CASINO_CURSOR_H
#define CASINO_CURSOR_H
#include <stdint.h>

struct cursor {
	char *path;
	int64_t saved; /* the offset in the file, -1 when there is none */
};

/* Names and creates the folder and reads the position: c->saved is -1 for
 * a new group. EINVAL: a bad group name (letters, digits, '.', '_', '-',
 * not starting with '.'); EBADMSG: a damaged cursor file. */
int cursor_open(struct cursor *c, const char *group);
/* Replaces the file unless it holds offset already. */
int cursor_write(struct cursor *c, int64_t offset);
void cursor_free(struct cursor *c);

#endif
