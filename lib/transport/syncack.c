#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"
#include "transport/syncack.h"

/* While a sync is under way the writer looks for its end this often. */
#define SYNCACK_POLL_MS 2

void
syncack_init(struct syncack *s, int fd, const char *path, int sync, struct ack_sink *acks)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->sync = sync;
	s->path = path;
	s->acks = acks;
	if (sync && acks != NULL)
		acks->deferred = 1;
}

void
syncack_on_sync(struct syncack *s, const struct syncack_hooks *hooks, void *arg)
{
	s->hooks = hooks;
	s->hooks_arg = arg;
}

/* The sync itself, in its own thread (or in the writer's for the last). */
static void *
sync_run(void *arg)
{
	struct syncack *s = arg;

	if (fdatasync(s->fd) < 0)
		s->sync_errno = errno;
	else if (s->persisting && s->hooks->persist(s->hooks_arg) < 0)
		s->persist_errno = errno;
	s->ended_ms = timefmt_monotonic_ms();
	atomic_store(&s->done, 1);
	return NULL;
}

static int
acking(const struct syncack *s)
{
	return s->acks != NULL && s->acks->path != NULL;
}

/* The writer's side of a sync that ended: its acks, or the failure. */
static void
sync_end(struct syncack *s, int threaded)
{
	int64_t spent;

	if (threaded)
		pthread_join(s->thread, NULL);
	s->in_flight = 0;
	if (s->sync_errno != 0)
		die(EX_IOERR, "cannot sync the log; what was written is not acknowledged",
		    LOG_STR("path", s->path), LOG_STR("error", strerror(s->sync_errno)));
	if (s->persist_errno != 0 && s->hooks->failed != NULL)
		s->hooks->failed(s->hooks_arg, s->persist_errno);
	if (acking(s)) {
		if (s->persist_errno != 0 || s->hold_acks)
			ack_sink_abort(s->acks);
		else
			ack_sink_land(s->acks);
		ack_sink_send(s->acks);
	}
	/* Groups start SYNCACK_MS apart at most 20 a second, one after the
	 * other when the disk is slower: the writer does not wait for them,
	 * and what the last sync at the end must write stays small. Inline
	 * (no thread could start) it does wait: then the next group comes
	 * no sooner than SYNCACK_SHARE times this one took. */
	spent = s->ended_ms - s->started_ms;
	s->due_ms = s->started_ms + (threaded ? SYNCACK_MS :
	    spent + (spent * SYNCACK_SHARE > SYNCACK_MS ? spent * SYNCACK_SHARE : SYNCACK_MS));
}

/* Starts a sync of what was written so far; now: in this thread, ended
 * before it returns. */
static void
sync_start(struct syncack *s, int now)
{
	int p = s->hooks != NULL && s->hooks->prepare != NULL ? s->hooks->prepare(s->hooks_arg) : 0;
	sigset_t all, old;

	s->persisting = p > 0 && s->hooks->persist != NULL;
	s->hold_acks = p < 0;
	s->sync_errno = s->persist_errno = 0;
	if (acking(s))
		ack_sink_take_off(s->acks);
	s->unsynced = 0;
	s->started_ms = timefmt_monotonic_ms();
	s->in_flight = 1;
	atomic_store(&s->done, 0);
	if (!now) {
		/* Signals stay the writer's: its reads must see SIGTERM. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		int err = pthread_create(&s->thread, NULL, sync_run, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err == 0)
			return;
	}
	sync_run(s);
	sync_end(s, 0);
}

void
syncack_due(struct syncack *s, int now)
{
	if (s->in_flight && (now || atomic_load(&s->done)))
		sync_end(s, 1);
	if (!s->sync) {
		s->unsynced = 0;
		if (acking(s))
			ack_sink_send(s->acks);
		return;
	}
	if (!s->unsynced || s->in_flight) {
		if (acking(s))
			ack_sink_send(s->acks); /* what a full FIFO kept back */
		return;
	}
	if (!now && timefmt_monotonic_ms() < s->due_ms)
		return;
	sync_start(s, now);
}

void
syncack_written(struct syncack *s)
{
	s->unsynced = 1;
	syncack_due(s, 0);
}

int
syncack_pending(const struct syncack *s)
{
	return s->unsynced || s->in_flight;
}

int
syncack_wait_ms(const struct syncack *s, int timeout_ms)
{
	int64_t left;

	if (s->in_flight)
		left = SYNCACK_POLL_MS;
	else if (!s->unsynced || !s->sync)
		return timeout_ms;
	else
		left = s->due_ms - timefmt_monotonic_ms();
	if (left < 0)
		left = 0;
	return timeout_ms >= 0 && timeout_ms < left ? timeout_ms : (int)left;
}

void
syncack_close(struct syncack *s)
{
	if (s->in_flight)
		sync_end(s, 1);
}
