/* peercap: the client's address, and at most N connections at once from one client address, across
 * the handler processes socat runs (one per connection), so one client
 * cannot take every handler slot. Each address has a file in
 * RUNDIR/http-peers/; a connection holds a write lock on one byte of it
 * (fcntl, slots 0..N-1), which the kernel drops when the process ends,
 * however it ends: no count to repair after a crash. */
#ifndef CASINO_PEERCAP_H
#define CASINO_PEERCAP_H
#include <stddef.h>

#define PEERCAP_HOST_MAX 46 /* INET6_ADDRSTRLEN */
#define PEERCAP_NAME_MAX (PEERCAP_HOST_MAX + 10)

/* "address:port" of the peer of socket fd into out, or "-" when fd is no
 * socket; host gets the address alone, or "" (PEERCAP_HOST_MAX bytes). */
void peercap_name(int fd, char *out, size_t size, char *host);

/* Take a slot for address (text, no '/'); max 0 means no cap. 1: taken
 * (held until exit), 0: all max slots are held, -1: the folder or file
 * cannot be used (errno set; the caller serves uncapped). */
int peercap_take(const char *address, long max);

#endif
