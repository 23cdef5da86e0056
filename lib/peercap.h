/* peercap: at most N connections at once from one client address, across
 * the handler processes socat runs (one per connection), so one client
 * cannot take every handler slot. Each address has a file in
 * RUNDIR/http-peers/; a connection holds a write lock on one byte of it
 * (fcntl, slots 0..N-1), which the kernel drops when the process ends,
 * however it ends: no count to repair after a crash. */
#ifndef CASINO_PEERCAP_H
#define CASINO_PEERCAP_H

/* Take a slot for address (text, no '/'); max 0 means no cap. 1: taken
 * (held until exit), 0: all max slots are held, -1: the folder or file
 * cannot be used (errno set; the caller serves uncapped). */
int peercap_take(const char *address, long max);

#endif
