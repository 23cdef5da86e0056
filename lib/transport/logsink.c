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

/* Around each sync (syncack.h): the checkpoint of what it covers is
 * formatted as it starts and written by the sync's thread after the
 * fdatasync; once it could not be written nothing more is acknowledged. */
static void
checkpoint_failed(void *arg, int err)
{
	struct log_sink *k = arg;

	if (!k->failed)
		log_error("cannot write the checkpoint; nothing more is acknowledged",
		    LOG_STR("path", k->cp.path), LOG_STR("error", strerror(err)));
	k->failed = 1;
}

static int
checkpoint_prepared(void *arg)
{
	struct log_sink *k = arg;
	int r;

	if (k->failed)
		return -1;
	if ((r = checkpoint_prepare(&k->cp, STDOUT_FILENO)) < 0)
		checkpoint_failed(k, errno);
	return r;
}

static int
checkpoint_persist(void *arg)
{
	return checkpoint_write(&((struct log_sink *)arg)->cp);
}

static const struct syncack_hooks checkpoint_hooks = {
	checkpoint_prepared, checkpoint_persist, checkpoint_failed,
};

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
	syncack_on_sync(&k->sync, &checkpoint_hooks, k);
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

/* The src (as ack_event_src takes it) and the origin (a plain string,
 * else NULL) of ev, in one pass over its keys: every line of a
 * checkpointing sink asks for both. 0, or -1 when ev has no src. */
static int
sink_keys_find(const struct event *ev, const char **src, size_t *n,
    const struct json_member **origin)
{
	const struct json_member *s = NULL, *o = NULL;

	for (size_t i = 0; i < ev->members.count; i++) {
		const struct json_member *m = &ev->members.m[i];
		if (m->key_escaped) { /* a key spelt with escapes: the long way */
			o = json_member_find(&ev->members, ACK_ORIGIN_KEY);
			*origin = o != NULL && o->kind == JSON_KIND_STRING && !o->value_escaped ? o : NULL;
			return ack_event_src(ev, src, n);
		}
		if (s == NULL && m->key_len == 3 && memcmp(m->key, ACK_KEY, 3) == 0)
			s = m;
		else if (o == NULL && m->key_len == 6 && memcmp(m->key, ACK_ORIGIN_KEY, 6) == 0)
			o = m;
	}
	*origin = o != NULL && o->kind == JSON_KIND_STRING && !o->value_escaped ? o : NULL;
	return ack_member_src(s, src, n);
}

int
log_sink_admit(struct log_sink *k, const struct event *ev)
{
	const struct json_member *o;
	const char *src;
	size_t n;

	k->admitted = NULL;
	if (!k->checkpointing || sink_keys_find(ev, &src, &n, &o) < 0)
		return 1;
	k->admitted = ev;
	k->admitted_src = src;
	k->admitted_n = n;
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
	if (k->admitted == ev)
		ack_sink_note(&k->acks, k->admitted_src, k->admitted_n);
	else
		ack_sink_line(&k->acks, ev);
	k->admitted = NULL;
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
	if (!k->active || !k->sync.sync)
		return;
	if (k->sync.in_flight)
		syncack_due(&k->sync, 0); /* the acks of a sync that ended */
	if (k->sync.unsynced && syncack_wait_ms(&k->sync, -1) == 0)
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
	if (k->failed) { /* what was noted is not durable: not acknowledged */
		ack_sink_forget(&k->acks);
		for (size_t i = 0; i < k->acks.nstreams; i++)
			k->acks.streams[i].src.len = 0;
	}
	if (k->acks.path != NULL)
		ack_sink_close(&k->acks);
	return status;
}
