/* src: a position as it travels in a line (doc/design.md, "Delivery"), the
 * one home of its format:
 *
 *     TOKEN "@" STREAM "/" OFFSET
 *
 * TOKEN is the reader's own (casino-sub draws one at each start), so an
 * ack that comes back can be told from one of another pipeline. STREAM is
 * "TOPIC/PARTITION" for Kafka, or "file:DEV:INO:FP" for one file of a file
 * log (device and inode in decimal, FP a fingerprint of the file's first
 * line, 16 hex digits), so a rotated file is another stream. OFFSET is Kafka's
 * message offset, or the byte offset just past the line in the file.
 * Within a stream positions only grow: an ack of one covers all before it.
 * A stream never contains '@'; TOKEN is letters and digits. */
#ifndef CASINO_SRC_H
#define CASINO_SRC_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SRC_TOKEN_MAX 32

struct src {
	const char *token;  /* into the parsed text, not NUL-terminated */
	size_t token_len;
	const char *stream;
	size_t stream_len;
	int64_t offset;
};

/* Appends TOKEN@STREAM/OFFSET. */
void src_put(struct buf *b, const char *token, const char *stream, size_t stream_len,
	int64_t offset);
/* Splits s[0..n): 0, or -1 when it is not a src (no token, an empty
 * stream, an offset that is not decimal or over 18 digits). */
int src_parse(const char *s, size_t n, struct src *out);
/* src_parse for a run of positions of one reader and stream (a sink's
 * lines, mostly): a src with the last one's TOKEN@STREAM/ is split with
 * one comparison (1); any other is parsed and its prefix kept (0). */
struct src_cache {
	struct buf prefix;
	size_t token_len, stream_len;
};
int src_parse_cached(struct src_cache *c, const char *s, size_t n, struct src *out);
void src_cache_free(struct src_cache *c);
/* A Kafka stream "TOPIC/PARTITION": 0 with topic NUL-terminated into
 * topic[0..cap), or -1. */
int src_kafka_stream(const char *stream, size_t n, char *topic, size_t cap,
	int32_t *partition);

/* One file of a file log, by identity (its name may change: a rotation). */
struct src_file {
	uint64_t dev, ino;
	uint64_t fp; /* src_fingerprint of its first line; 0: none yet */
};

/* Appends the stream "file:DEV:INO:FP". */
void src_file_put(struct buf *b, const struct src_file *f);
/* A file stream as src_file_put writes it: 0, or -1. */
int src_file_parse(const char *stream, size_t n, struct src_file *f);
/* The fingerprint of a file whose first line is line[0..n) (without its
 * newline): FNV-1a 64 over at most its first SRC_FP_BYTES bytes, never 0. */
#define SRC_FP_BYTES 4096
uint64_t src_fingerprint(const char *line, size_t n);

#endif
