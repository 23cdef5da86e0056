#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "out.h"
#include "transport/logsink.h"

static const char *const sink_keys[] = { ACK_KEY, ACK_ORIGIN_KEY };

static void
flushed(void *arg)
{
	syncack_written(&((struct log_sink *)arg)->sync);
}

/* After the fdatasync: the checkpoint; non-zero keeps the acks back. */
static int
synced(void *arg)
{
	struct log_sink *k = arg;

	if (!k->failed && checkpoint_save(&k->cp, STDOUT_FILENO) == 0)
		return 0;
	if (!k->failed)
		log_error("cannot write the checkpoint; nothing more is acknowledged",
		    LOG_STR("path", k->cp.path), LOG_STR("error", strerror(errno)));
	k->failed = 1;
	return -1;
}

/* Reads the checkpoint and cuts the log back to it. */
static void
checkpoint_start(struct log_sink *k, const char *path, const char *src)
{
	struct stat sb;
	int64_t bytes, lines;
	int flags = fcntl(STDOUT_FILENO, F_GETFL);

	if (k->acks.path == NULL)
		die(EX_USAGE, "--checkpoint needs --ack: positions come with the lines",
		    LOG_STR("option", src));
	if (fstat(STDOUT_FILENO, &sb) < 0 || !S_ISREG(sb.st_mode) || flags < 0 || !(flags & O_APPEND))
		die(EX_USAGE, "with a checkpoint the log on stdout must be a regular file opened "
		    "for appending (>>)", LOG_STR("option", src));
	if (checkpoint_open(&k->cp, path) < 0)
		die(errno == EBADMSG ? EX_DATAERR : EX_IOERR, "cannot read the checkpoint",
		    LOG_STR("path", path), LOG_STR("error", strerror(errno)));
	switch (checkpoint_cut_log(&k->cp, STDOUT_FILENO, &bytes, &lines)) {
	case -1:
		die(EX_IOERR, "cannot cut the log back to its checkpoint", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	case CHECKPOINT_LOG_CUT:
		log_info("log cut back to its checkpoint; those lines come again",
		    LOG_INT("bytes", bytes), LOG_INT("lines", lines), LOG_INT("length", k->cp.length));
		break;
	case CHECKPOINT_LOG_SHORTER:
		log_warn("the log is shorter than its checkpoint says; the lines gone are not "
		    "written again", LOG_INT("bytes_missing", bytes), LOG_INT("length", k->cp.length));
		break;
	case CHECKPOINT_LOG_OTHER:
		log_info("the log is another file than the checkpoint's (rotated); nothing cut",
		    LOG_STR("path", path));
		break;
	}
	/* Named at once, so a crash before the first lines' checkpoint cuts
	 * them too. */
	if (checkpoint_save(&k->cp, STDOUT_FILENO) < 0)
		die(EX_IOERR, "cannot write the checkpoint", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	k->checkpointing = 1;
	syncack_on_synced(&k->sync, synced, k);
}

void
log_sink_open(struct log_sink *k, const char *ack_path, const char *ack_src, int sync,
    const char *checkpoint, const char *checkpoint_src)
{
	memset(k, 0, sizeof(*k));
	if (ack_path != NULL && ack_sink_open(&k->acks, ack_path) < 0)
		die(errno == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", ack_src), LOG_STR("path", ack_path),
		    LOG_STR("error", strerror(errno)));
	/* A checkpoint is worth only what is on disk: it syncs. */
	sync = sync || checkpoint != NULL;
	/* A line is acknowledged once written (with sync, once on disk). */
	syncack_init(&k->sync, STDOUT_FILENO, "standard output", sync, &k->acks);
	if (checkpoint != NULL)
		checkpoint_start(k, checkpoint, checkpoint_src);
	k->active = k->acks.path != NULL || sync;
	if (k->active)
		out_on_flush(flushed, k);
}

int
log_sink_admit(struct log_sink *k, const struct event *ev)
{
	const struct json_member *o;
	const char *src;
	size_t n;

	if (!k->checkpointing || ack_event_src(ev, &src, &n) < 0)
		return 1;
	o = json_member_find(&ev->members, ACK_ORIGIN_KEY);
	if (o != NULL && (o->kind != JSON_KIND_STRING || o->value_escaped))
		o = NULL;
	if (checkpoint_admit(&k->cp, src, n, o ? o->value : NULL, o ? o->value_len : 0))
		return 1;
	/* Its ack still goes: it covers what came before it. */
	health.dropped++;
	ack_sink_line(&k->acks, ev);
	return 0;
}

void
log_sink_emit(struct log_sink *k, struct stage *st, const struct event *ev)
{
	if (k->acks.path == NULL) {
		stage_emit(st, ev);
		return;
	}
	stage_emit_without_keys(st, ev, sink_keys, 2);
	ack_sink_line(&k->acks, ev);
}

int
log_sink_wait_ms(const struct log_sink *k, int timeout_ms)
{
	return syncack_wait_ms(&k->sync, timeout_ms);
}

void
log_sink_due(struct log_sink *k)
{
	/* Without a sync the acks go from the flush itself. With one, what
	 * was admitted since is written first: the flush's hook then syncs,
	 * saves the checkpoint and acknowledges, all of it on disk. */
	if (k->active && k->sync.sync && k->sync.unsynced && syncack_wait_ms(&k->sync, -1) == 0)
		out_flush();
}

int
log_sink_close(struct log_sink *k)
{
	int status = 0;

	if (k->active)
		syncack_due(&k->sync, 1);
	if (k->checkpointing) {
		status = k->failed ? EX_IOERR : 0;
		checkpoint_free(&k->cp);
		if (health.dropped > 0)
			log_info("lines the log had already were dropped",
			    LOG_INT("duplicates_dropped", health.dropped));
	}
	if (k->failed) /* what was noted is not durable: not acknowledged */
		for (size_t i = 0; i < k->acks.nstreams; i++)
			k->acks.streams[i].src.len = 0;
	if (k->acks.path != NULL)
		ack_sink_close(&k->acks);
	return status;
}
