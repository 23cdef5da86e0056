/* stage: the read-validate-write loop every filter shares (doc/design.md,
 * "Stage behaviour"). stage_next returns valid events only; a bad line is
 * logged (level error, its line number in "line", the reason in "msg"),
 * appended byte for byte to the --reject file, and counted. stage_finish
 * flushes and returns the exit code: 74 when stdout or the reject file
 * could not be written, 69 after stage_stop_holding, 65 if any line was
 * rejected, else 0 (also after SIGPIPE, SIGINT or SIGTERM). Its final
 * record, "end of run" (log_final: level debug, and always in the
 * CASINO_COUNTS file that casino-run and casino-replay read), gives the
 * lines in, out, rejected (bad), saved (at a stop), duplicates_dropped (a
 * sink's duplicates, health.dropped), pending (read and not finished:
 * lost), input_end (1 when stdin was read to its end) and the exit status.
 *
 *   struct stage st; struct event ev;
 *   stage_open(&st, reject_path);
 *   while (stage_next(&st, &ev)) { ...; stage_emit_key(&st, &ev, "k", v, n); event_free(&ev); }
 *   return stage_finish(&st);
 */
#ifndef CASINO_STAGE_H
#define CASINO_STAGE_H
#include "event.h"
#include "ndjson.h"
#include "out.h" /* a stage writes to stdout through out */

/* The --reject option every filter has, for its option table (lib/opt). */
#define OPT_REJECT { 'r', "reject", "file", "CASINO_REJECT", \
	.help = "append rejected lines to file" }

struct stage {
	struct line_reader in;
	int reject_fd;
	int reject_failed; /* a write to the reject file failed: exit 74 */
	const char *reject_path;
	int stopped_holding; /* stage_stop_holding or stage_save ran: exit 69 */
	unsigned long long saved; /* events it saved to the reject file */
};

/* Reads stdin; reject_path may be NULL. Max line from CASINO_MAX_LINE
 * (bytes, default 1 MiB); stdin and stdout pipes grown to CASINO_PIPE_SIZE
 * (pipesize.h). Exits 74 if the reject file cannot be opened, 64 on a bad
 * variable. */
void stage_open(struct stage *st, const char *reject_path);
/* 1 with a valid event (valid until the next call), 0 at the end. */
int stage_next(struct stage *st, struct event *ev);
/* 1 when another line can be read without blocking. */
int stage_ready(struct stage *st);
/* Wait up to timeout_ms until stage_next would not block; 0 on timeout.
 * For tools that must act on a timer while the input is idle. */
int stage_wait(struct stage *st, int timeout_ms);
void stage_emit(struct stage *st, const struct event *ev);
void stage_emit_key(struct stage *st, const struct event *ev, const char *key,
	const char *value, size_t value_len);
/* ev without key (an upstream copy the stage must not pass on). */
void stage_emit_without_key(struct stage *st, const struct event *ev, const char *key);
void stage_emit_without_keys(struct stage *st, const struct event *ev, const char *const *keys,
	size_t nkeys);
int stage_finish(struct stage *st);
/* When the stage cannot finish what it holds — stopped (SIGINT/SIGTERM) or
 * giving up on a service — save it: held[0..n) (n may be 0), then every
 * line after them to the very end of the input (read on whatever the stop:
 * the stages before stop too and close the pipe), appended byte for byte
 * and in order to the --reject file; a bad line among them is rejected as
 * usual. One error record gives how many were saved, their first and last
 * id and line, and how many were not (no reject file, or one that failed:
 * that failure is logged once and makes the exit 74). Afterwards
 * stage_finish returns at least 69. A first stage (sig_first_stage) that
 * was asked to stop saves only what it holds and has read: the rest of
 * its input is its supervisor's to name. */
void stage_stop_holding(struct stage *st, const struct event *held, size_t n);
/* Give up on one event the stage can never finish (casino-fx: no rates for
 * its date) and go on: ev is appended byte for byte to the --reject file
 * and counted as saved; stage_finish returns at least 69. 0, or -1 when it
 * could not be saved (no reject file, or one that failed: 74). */
int stage_save(struct stage *st, const struct event *ev);

/* The exit status that says the most of a and b, so no failure is hidden
 * behind a lesser one: 74 (I/O error) > 69 (events held, service
 * unavailable) > 65 (input rejected) > 0; any other non-zero status (70)
 * ranks above them all. */
int exit_worst(int a, int b);
/* The order exit_worst keeps: 0, 65, 69, 74 rank 0 to 3, any other status
 * 4. The scripts ask casino-env(1) (casino-env worst). */
int exit_rank(int status);

#endif
