#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "opt.h"
#include "out.h"
#include "pipesize.h"
#include "stage.h"

/* After one failure nothing more is written: a gap would break the order
 * of what was saved, and one record says it all. */
static void
reject_bytes(struct stage *st, const char *p, size_t n)
{
	if (st->reject_fd < 0 || st->reject_failed || fd_write_all(st->reject_fd, p, n) == 0)
		return;
	log_error("cannot write reject file", LOG_STR("path", st->reject_path),
	    LOG_STR("error", strerror(errno)));
	st->reject_failed = 1;
}

static void
overflow_to_reject(void *arg, const char *chunk, size_t n, int first)
{
	struct stage *st = arg;

	(void)first;
	reject_bytes(st, chunk, n);
}

static void
reject_line(struct stage *st, unsigned long lineno, const char *line, size_t len,
    const char *why)
{
	health.rejected++;
	log_error(why, LOG_INT("line", lineno));
	reject_bytes(st, line, len);
	reject_bytes(st, "\n", 1);
}

/* The reader's idle callback: what is done goes out before the stage waits
 * for more, and the health file is brought up to date before a long wait. */
static int
stage_idle(void *arg, int blocking)
{
	struct stage *st = arg;

	if (out_flush() < 0)
		return -1;
	if (blocking)
		health_idle(st->in.fd);
	return 0;
}

void
stage_open(struct stage *st, const char *reject_path)
{
	size_t max = line_max_env();

	pipe_size_setup();
	memset(st, 0, sizeof(*st));
	st->reject_fd = -1;
	st->reject_path = reject_path;
	if (reject_path != NULL) {
		st->reject_fd = open(reject_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (st->reject_fd < 0)
			die(EX_IOERR, "cannot open reject file", LOG_STR("path", reject_path),
			    LOG_STR("error", strerror(errno)));
	}
	line_reader_init(&st->in, STDIN_FILENO, max);
	st->in.overflow = overflow_to_reject;
	st->in.overflow_arg = st;
	st->in.idle = stage_idle;
	st->in.idle_arg = st;
	sig_init();
	health_open(log_tool());
}

int
stage_next(struct stage *st, struct event *ev)
{
	const char *line;
	size_t len;
	char why[256];

	for (;;) {
		/* A failed stdout ends reading at once, but for a drain. */
		if (out_status() != 0 && !st->in.draining)
			return 0;
		switch (line_read(&st->in, &line, &len)) {
		case LINE_END:
			return 0;
		case LINE_TOO_LONG:
			health.in++;
			/* The bytes are in the reject file already. */
			reject_line(st, st->in.lineno, "", 0, "line too long");
			continue;
		case LINE_OK:
			health.in++;
			health_tick();
			break;
		}
		if (event_parse(ev, line, len, why, sizeof(why)) == 0) {
			ev->lineno = st->in.lineno;
			return 1;
		}
		reject_line(st, st->in.lineno, line, len, why);
	}
}

int
stage_ready(struct stage *st)
{
	return line_ready(&st->in);
}

int
stage_wait(struct stage *st, int timeout_ms)
{
	return out_status() != 0 || line_wait(&st->in, timeout_ms);
}

void
stage_emit(struct stage *st, const struct event *ev)
{
	(void)st;
	health.out++;
	out_write(ev->raw, ev->raw_len);
	out_write("\n", 1);
	out_record_end();
}

void
stage_emit_key(struct stage *st, const struct event *ev, const char *key,
    const char *value, size_t value_len)
{
	(void)st;
	health.out++;
	event_write_key(out_buf(), ev, key, value, value_len);
	out_commit();
	out_record_end();
}

void
stage_emit_without_key(struct stage *st, const struct event *ev, const char *key)
{
	stage_emit_without_keys(st, ev, &key, 1);
}

void
stage_emit_without_keys(struct stage *st, const struct event *ev, const char *const *keys,
    size_t nkeys)
{
	(void)st;
	health.out++;
	event_write_without_keys(out_buf(), ev, keys, nkeys);
	out_commit();
	out_record_end();
}

int
stage_finish(struct stage *st)
{
	unsigned long long bad = health.rejected - st->saved, out;
	int status;

	out_flush();
	status = out_status();
	/* What reached stdout: after a failed write, less than was emitted. */
	out = out_records_written();
	health.out = out < health.out ? out : health.out;
	health_close();
	line_reader_free(&st->in);
	if (st->reject_fd >= 0 && close(st->reject_fd) < 0 && !st->reject_failed) {
		log_error("cannot write reject file", LOG_STR("path", st->reject_path),
		    LOG_STR("error", strerror(errno)));
		st->reject_failed = 1;
	}
	if (status < 0) /* reader went away: quiet success */
		status = 0;
	if (bad > 0) {
		log_info("input had bad lines", LOG_INT("rejected", bad));
		status = exit_worst(status, EX_DATAERR);
	}
	if (st->stopped_holding)
		status = exit_worst(status, EX_UNAVAILABLE);
	if (st->reject_failed)
		status = exit_worst(status, EX_IOERR);
	log_final(LOG_DEBUG, "end of run", LOG_INT("in", health.in), LOG_INT("out", out),
	    LOG_INT("rejected", bad), LOG_INT("saved", st->saved),
	    LOG_INT("duplicates_dropped", health.dropped),
	    LOG_INT("pending", health_pending()), LOG_INT("input_end", st->in.eof),
	    LOG_INT("status", status));
	return status;
}

int
exit_rank(int status)
{
	switch (status) {
	case 0: return 0;
	case EX_DATAERR: return 1;
	case EX_UNAVAILABLE: return 2;
	case EX_IOERR: return 3;
	default: return 4;
	}
}

int
exit_worst(int a, int b)
{
	return exit_rank(b) > exit_rank(a) ? b : a;
}

struct held_span {
	unsigned long long saved, not_saved;
	unsigned long first_line, last_line;
	long long first_id, last_id;
};

static void
save_one(struct stage *st, struct held_span *h, const struct event *ev)
{
	reject_bytes(st, ev->raw, ev->raw_len);
	reject_bytes(st, "\n", 1);
	if (st->reject_fd >= 0 && !st->reject_failed) {
		h->saved++;
		health.rejected++; /* in the reject file now, no longer pending */
	} else {
		h->not_saved++;
	}
	if (h->saved + h->not_saved == 1) {
		h->first_id = ev->id;
		h->first_line = ev->lineno;
	}
	h->last_id = ev->id;
	h->last_line = ev->lineno;
}

void
stage_stop_holding(struct stage *st, const struct event *held, size_t n)
{
	struct held_span h = { 0 };
	struct event ev;
	size_t i;

	st->stopped_holding = 1;
	/* A first stage (lifeline mode stop) reads nothing more at a stop: it
	 * saves what it holds and the whole lines it has read, and its
	 * supervisor names what was not read. Any other reads to the end:
	 * what is queued in the pipe before it would be lost. */
	st->in.draining = !(sig_first_stage() && sig_stop_requested());
	health_hold(0);
	for (i = 0; i < n; i++)
		save_one(st, &h, &held[i]);
	while (stage_next(st, &ev)) {
		save_one(st, &h, &ev);
		event_free(&ev);
	}
	st->saved += h.saved;
	log_error(h.not_saved == 0 ? "stopped holding events; saved to the reject file" :
	    st->reject_fd < 0 ? "stopped holding events; not saved: no reject file" :
	    "stopped holding events; not saved: the reject file cannot be written",
	    LOG_INT("saved", h.saved), LOG_INT("not_saved", h.not_saved),
	    LOG_INT("first_event_id", h.first_id), LOG_INT("last_event_id", h.last_id),
	    LOG_INT("first_line", h.first_line), LOG_INT("last_line", h.last_line),
	    LOG_INT("input_end", st->in.eof), LOG_STR("reject", st->reject_path));
}

int
stage_save(struct stage *st, const struct event *ev)
{
	st->stopped_holding = 1;
	reject_bytes(st, ev->raw, ev->raw_len);
	reject_bytes(st, "\n", 1);
	if (st->reject_fd < 0 || st->reject_failed)
		return -1;
	st->saved++;
	health.rejected++; /* in the reject file now, no longer pending */
	return 0;
}
