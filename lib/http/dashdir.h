/* dashdir: where the HTTP handler finds the dashboard's files when no
 * folder is given: share/casino/dashboard beside the bin folder of the
 * running program once installed, else share/dashboard (the source tree,
 * build/casino-http-handler); "." when the program's path is unknown. */
#ifndef CASINO_DASHDIR_H
#define CASINO_DASHDIR_H
#include "buf.h"

/* The folder, without a trailing '/', into out (emptied first). */
void dashdir_default(struct buf *out);

#endif
