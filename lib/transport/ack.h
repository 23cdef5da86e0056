/* ack: acknowledgements from the last stage of a pipeline back to the
 * casino-sub at its head (doc/design.md, "Delivery").
 *
 * A position ("src") travels in each line, in the format of src.h
 * (TOKEN@STREAM/OFFSET). Here its stream is everything before the last
 * '/', the reader's token included; within a stream an acknowledgement
 * covers every earlier position. An ack is the src and a
 * newline, written to a FIFO that the source and the sink name alike and
 * that whichever opens it first creates (0600).
 *
 * The sink never blocks and never fails on the FIFO: with no reader, a
 * full pipe or a reader gone, acks wait (only the newest per stream is kept)
 * and are tried again; the lines then simply come again after a restart.
 * The open functions return 0, or -1 with errno (EINVAL: the path exists and
 * is not a FIFO); nothing here logs but ack_sink_line's one warning. */
#ifndef CASINO_ACK_H
#define CASINO_ACK_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

#define ACK_KEY "src"
/* A worker that republishes keeps the src a line came with under this key
 * (casino-produce --ack), for the exactly-once sink (checkpoint.h). */
#define ACK_ORIGIN_KEY "origin"

/* The src of an event line (a string member "src"); 0, or -1 when absent.
 * ack_member_src: the same of a member already found (m may be NULL). */
int ack_event_src(const struct event *ev, const char **src, size_t *n);
int ack_member_src(const struct json_member *m, const char **src, size_t *n);

/* The source's end: reads acks from the FIFO. */
struct ack_source {
	int fd;      /* read end, non-blocking */
	int keep_fd; /* our own write end: no EOF while sinks come and go */
	int heard;     /* an ack came: a sink has had the FIFO open */
	int no_writer; /* the last read found no writer */
	struct buf pending;
};

int ack_source_open(struct ack_source *s, const char *path);
/* Calls fn for each whole ack that can be read now. Returns 1, or 0 once
 * every sink that sent an ack has closed the FIFO, after
 * ack_source_last_call (a sink that has not opened it yet is waited for). */
int ack_source_read(struct ack_source *s, void (*fn)(void *arg, const char *src, size_t n),
	void *arg);
/* Wait up to timeout_ms for an ack or the end; 1 when something came. */
int ack_source_wait(struct ack_source *s, int timeout_ms);
/* Drops our own write end, so ack_source_read sees the end when the sinks
 * have closed theirs: for the last acks at a stop. */
void ack_source_last_call(struct ack_source *s);
void ack_source_close(struct ack_source *s);

/* The sink's end: the newest position per stream, sent after a write. */
struct ack_stream {
	char *stream;
	size_t stream_len;
	struct buf src;    /* newest position to send; len 0 when none */
	struct buf noted;  /* deferred: newest noted, not yet on disk */
	struct buf flight; /* deferred: newest whose sync is under way */
};

struct ack_sink {
	char *path;
	int fd;          /* -1 while no reader is there */
	int64_t retry_ms;  /* monotonic time of the next open attempt */
	int warned;      /* a line without src was seen */
	struct ack_stream *streams;
	size_t nstreams;
	size_t last;     /* the stream noted last: the next line's, mostly */
	int deferred;    /* notes wait for a sync (syncack): noted, flight, src */
	unsigned long sent, unsent_lines;
};

int ack_sink_open(struct ack_sink *k, const char *path);
/* The line at src is done: remember it for the next ack_sink_send. */
void ack_sink_note(struct ack_sink *k, const char *src, size_t n);
/* ack_sink_note with the src of an event written by the sink; an event
 * without one is written but not acknowledged, with one warning per run. */
void ack_sink_line(struct ack_sink *k, const struct event *ev);
/* Sends what was noted, without blocking; keeps what cannot go now. */
void ack_sink_send(struct ack_sink *k);
/* For out_on_flush: arg is the struct ack_sink. */
void ack_sink_flushed(void *arg);
/* Drops what was noted and not yet sent: those lines were not written
 * after all (a failed append), so they must come again, never be acked.
 * (Deferred: what is noted and waits for a sync; what is in flight stays.) */
void ack_sink_forget(struct ack_sink *k);
/* Deferred acks (syncack): a sync starts, so what was noted is now in
 * flight; it ended on disk (land: sendable) or not (abort: dropped, those
 * lines come again). */
void ack_sink_take_off(struct ack_sink *k);
void ack_sink_land(struct ack_sink *k);
void ack_sink_abort(struct ack_sink *k);
void ack_sink_close(struct ack_sink *k);

/* In-order acknowledgement for a sink whose writes finish out of order
 * (casino-produce: delivery reports of different partitions). A position
 * is noted only once every earlier one of its stream is done. */
struct ack_entry;
struct ack_order {
	struct ack_queue *queues;
	size_t nqueues;
	unsigned long in_flight;
};

/* A line was handed over; returns its entry for ack_order_done. */
struct ack_entry *ack_order_add(struct ack_order *o, const char *src, size_t n);
/* The line of e is done (delivered): note what became contiguous. */
void ack_order_done(struct ack_order *o, struct ack_entry *e, struct ack_sink *k);
void ack_order_free(struct ack_order *o);

#endif
