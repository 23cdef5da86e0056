/* logsink: the acknowledging end of a pipeline that writes its log on
 * stdout (casino-tee-agg; doc/design.md, "Delivery" and "Every event
 * counted once"). Lines go out through lib/stage without "src" and
 * "origin"; once written (with sync, once on disk: syncack.h) their
 * positions are acknowledged (ack.h). With a checkpoint (checkpoint.h) the
 * log must be a regular file opened for appending; after each fdatasync the
 * checkpoint is replaced before the acks, a longer log is cut back at
 * start, and a line the log already has is dropped (counted in
 * health.dropped). Errors at open exit (64 usage, 65 a damaged checkpoint,
 * 74 I/O); a checkpoint that cannot be written later stops the acks and
 * makes log_sink_close return 74. */
#ifndef CASINO_LOGSINK_H
#define CASINO_LOGSINK_H

#include "event.h"
#include "stage.h"
#include "transport/ack.h"
#include "transport/checkpoint.h"
#include "transport/syncack.h"

struct log_sink {
	struct ack_sink acks;
	struct syncack sync;
	int active;        /* acks or sync: out's flushes come here */
	int checkpointing;
	int failed;        /* the checkpoint could not be written */
	struct checkpoint cp;
	/* The src log_sink_admit found, for log_sink_emit of the same event. */
	const struct event *admitted;
	const char *admitted_src;
	size_t admitted_n;
};

/* ack_path (may be NULL) named by ack_src, sync wanted (stdout checked a
 * file by the caller), checkpoint (may be NULL) named by checkpoint_src. */
void log_sink_open(struct log_sink *k, const char *ack_path, const char *ack_src, int sync,
	const char *checkpoint, const char *checkpoint_src);
/* 1 when ev is to be written, 0 when the log has it already. */
int log_sink_admit(struct log_sink *k, const struct event *ev);
/* Writes ev (admitted) and notes its position. */
void log_sink_emit(struct log_sink *k, struct stage *st, const struct event *ev);
/* A wait for input lasts at most this (a sync is due), at most timeout_ms. */
int log_sink_wait_ms(const struct log_sink *k, int timeout_ms);
/* The sync, checkpoint and acks that are due. */
void log_sink_due(struct log_sink *k);
/* After stage_finish: the last sync, checkpoint and acks; 0 or 74. */
int log_sink_close(struct log_sink *k);

#endif
