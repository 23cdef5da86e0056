/* reader: what casino-sub's two readers share, casino-follow (a file log)
 * and casino-consume (Kafka); doc/design.md, "Delivery".
 *
 * A token of its own, drawn at each start; each line written to stdout
 * with its position as "src" (src.h: TOKEN@STREAM/OFFSET) when read for a
 * group; and the acks read back from the FIFO (ack.h). An ack with our
 * token goes to on_ack with its stream and offset; one with another token
 * (a FIFO shared by mistake, an old pipeline) or that is no src at all is
 * ignored, counted, said in one warning, and never moves a position.
 * At the end reader_finish waits up to 10 s for the acks of what was
 * written (or for every sink to close the FIFO) and says how many foreign
 * acks it ignored. */
#ifndef CASINO_READER_H
#define CASINO_READER_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "transport/ack.h"
#include "transport/src.h"

struct reader {
	char token[SRC_TOKEN_MAX + 1];
	char retired[SRC_TOKEN_MAX + 1]; /* the token before reader_new_token */
	int grouped, acking;
	struct ack_source acks;
	/* Set by the tool: an ack of ours; after each batch of acks; whether
	 * everything written is acknowledged (for the wait at the end). */
	void (*on_ack)(void *arg, const char *stream, size_t n, int64_t offset);
	void (*acks_read)(void *arg);
	int (*all_acked)(void *arg);
	void *arg;
	unsigned long foreign;
	struct buf line, src;
	struct event scan;
};

/* grouped: lines get their src. Draws the token. */
void reader_init(struct reader *r, int grouped);
/* A new token: acks of the old one are ignored from now on, quietly (a
 * file rewritten under the reader: what they acknowledge is gone). */
void reader_new_token(struct reader *r);
/* The FIFO (ack.h's ack_source_open): 0, or -1 with errno. */
int reader_open_acks(struct reader *r, const char *path);
/* Writes the line (out.h), with src TOKEN@STREAM/OFFSET when grouped; a
 * line that is not a JSON object goes as it is (the next stage rejects it). */
void reader_emit(struct reader *r, const char *stream, size_t stream_len, int64_t offset,
	const char *line, size_t len);
/* Reads the acks that came (when acking). */
void reader_read_acks(struct reader *r);
/* Waits up to timeout_ms for an ack (when acking) or for the time; 0, or
 * -1 at a stop request. */
int reader_wait(struct reader *r, int timeout_ms);
/* With stdout closed: the acks of what was written, then the count of
 * foreign ones. */
void reader_finish(struct reader *r);
void reader_free(struct reader *r);

#endif
