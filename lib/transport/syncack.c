#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"
#include "transport/syncack.h"

void
syncack_init(struct syncack *s, int fd, const char *path, int sync, struct ack_sink *acks)
{
	*s = (struct syncack){ fd, sync, path, acks, 0, 0, NULL, NULL };
}

void
syncack_on_synced(struct syncack *s, int (*fn)(void *arg), void *arg)
{
	s->synced = fn;
	s->synced_arg = arg;
}

void
syncack_due(struct syncack *s, int now)
{
	if (s->unsynced && s->sync) {
		int64_t t = timefmt_monotonic_ms();
		if (!now && t < s->due_ms)
			return;
		if (fdatasync(s->fd) < 0)
			die(EX_IOERR, "cannot sync the log; what was written is not acknowledged",
			    LOG_STR("path", s->path), LOG_STR("error", strerror(errno)));
		s->due_ms = t + SYNCACK_MS;
		if (s->synced != NULL && s->synced(s->synced_arg) != 0) {
			s->unsynced = 0;
			return;
		}
	}
	s->unsynced = 0;
	if (s->acks != NULL && s->acks->path != NULL)
		ack_sink_send(s->acks);
}

void
syncack_written(struct syncack *s)
{
	s->unsynced = 1;
	syncack_due(s, 0);
}

int
syncack_wait_ms(const struct syncack *s, int timeout_ms)
{
	if (!s->unsynced || !s->sync)
		return timeout_ms;
	int64_t left = s->due_ms - timefmt_monotonic_ms();
	if (left < 0)
		left = 0;
	return timeout_ms >= 0 && timeout_ms < left ? timeout_ms : (int)left;
}
