/* checkpoint: what an exactly-once sink has written to its log, kept in a
 * file beside it (doc/design.md, "Every event counted once").
 *
 * It names the log by identity (device, inode) and length, and holds, per
 * stream of lib/transport/src, the offset of the last line written; and
 * per arrival stream and origin stream (the position a line had before a
 * worker republished it, in key "origin"), the last origin offset written.
 * A line at or below either is one the log has already: dropped. Positions
 * only grow within a stream, and a worker writes an origin stream in order
 * into each stream it publishes to, so "at or below" is exact.
 *
 * The file is JSON, replaced whole (temporary file, fsync, rename):
 *   {"log":{"dev":D,"ino":I,"length":L},"streams":{"t/0":41,...},
 *    "origins":{"enriched/1":{"t/0":40,...},...}}
 * Functions return 0, or -1 with errno (EBADMSG: a damaged file); none logs. */
#ifndef CASINO_CHECKPOINT_H
#define CASINO_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "transport/src.h"

struct checkpoint_pos {
	char *stream;
	size_t stream_len;
	char *origin; /* NULL for an arrival stream's own position */
	size_t origin_len;
	int64_t offset;
};

struct checkpoint {
	char *path;
	int has_log;  /* the file names a log */
	uint64_t dev, ino;
	int64_t length;
	struct checkpoint_pos *pos;
	size_t npos;
	int changed;  /* a position moved since the last save */
	size_t last;  /* the arrival position of the last line admitted */
	struct src_cache arrivals, origins; /* lib/transport/src */
	struct buf text;
};

/* Reads path; a file that is not there is an empty checkpoint. */
int checkpoint_open(struct checkpoint *c, const char *path);
/* A line with src[0..n) and origin[0..on) (on == 0: none) is to be
 * written: 1 when it is new (its positions are taken), 0 when the log has
 * it (its arrival position is still taken: the ack may cover it). A src
 * that is not one cannot be told: 1. */
int checkpoint_admit(struct checkpoint *c, const char *src, size_t n, const char *origin,
	size_t on);
/* The log log_fd (every admitted line written and durable) and the
 * positions, saved; nothing is done when nothing moved and the log is the
 * same file of the same length. */
int checkpoint_save(struct checkpoint *c, int log_fd);
/* checkpoint_save in two: prepare (what the file will say, now) returns 1
 * when there is something to write, 0 when not, -1 with errno; write
 * replaces the file with it, and touches nothing else of c, so it may run
 * in another thread while the positions move on. */
int checkpoint_prepare(struct checkpoint *c, int log_fd);
int checkpoint_write(const struct checkpoint *c);

/* At start: the log log_fd against the checkpoint. */
enum checkpoint_log {
	CHECKPOINT_LOG_NEW,     /* no log named yet */
	CHECKPOINT_LOG_SAME,    /* the same file, as long as saved */
	CHECKPOINT_LOG_CUT,     /* longer: cut back to the saved length */
	CHECKPOINT_LOG_SHORTER, /* shorter than saved: lines are gone (truncated by hand) */
	CHECKPOINT_LOG_OTHER,   /* another file (rotated): left as it is */
};
/* Cuts a longer log back to the saved length; *bytes and *lines say how
 * much was cut (lines: newlines in it, -1 when it cannot be read) or, for
 * SHORTER, how many bytes are missing. Returns the case, or -1. */
int checkpoint_cut_log(struct checkpoint *c, int log_fd, int64_t *bytes, int64_t *lines);
void checkpoint_free(struct checkpoint *c);

#endif
