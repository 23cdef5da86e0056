/* casino-append: append stdin to an NDJSON log file, whole lines only.
 *
 * The file log of casino-pub. Several publishers may append to one file at
 * once; each write(2) on the O_APPEND descriptor carries whole lines only,
 * under an flock of the file that every casino-append takes, so lines of
 * different publishers never interleave. (`cat >>` cannot promise this: it
 * writes whatever each read returned, often a part of a long line.) Lines
 * that arrive together go out in one write; the batch is written as soon
 * as stdin has nothing more ready, so no line waits for more input.
 *
 * A write that fails (a full disk, a file too big) leaves no part of a
 * line: the file is cut back to where the write began, still under the
 * lock, so the next publisher's first line starts a line of its own. The
 * lines not appended (that batch and the rest of stdin) are counted, with
 * their first and last id, and the exit is 74.
 *
 * With --ack each line's src (doc/design.md, "Delivery") is acknowledged
 * once the line is written, and not written itself; with --sync once it is
 * on disk: one fdatasync for what was written in the last 50 ms at most,
 * then the acks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "event.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "out.h"
#include "transport/ack.h"
#include "transport/syncack.h"

/* A batch grows past this only to hold one long line whole. */
#define BATCH_BYTES (64 * 1024)

/* The options (doc/design.md, "One declaration per option"). */
enum { ACK, SYNC };
static struct opt opts[] = {
	[ACK] = { 'a', "ack", "fifo", "CASINO_PUB_ACK",
	    .help = "acknowledge each appended line's src there, src not written" },
	[SYNC] = OPT_SYNC,
};

struct appender {
	const char *path;
	int fd;
	struct ack_sink acks;
	struct syncack synced;
	struct buf batch;
	struct event scan;             /* a line's members, for its src or id */
	/* After a failed write: what was not appended. */
	unsigned long long not_appended;
	long long first_id, last_id;
};

/* The id of an event line, -1 when it has none. */
static long long
line_id(struct appender *a, const char *line, size_t len)
{
	char why[64];
	long long id;
	const struct json_member *m;

	if (json_scan_object(&a->scan.members, line, len, why, sizeof(why)) != 0 ||
	    (m = json_member_find(&a->scan.members, "id")) == NULL || json_member_integer(m, &id) != 0)
		return -1;
	return id;
}

static void
count_not_appended(struct appender *a, const char *line, size_t len)
{
	long long id = line_id(a, line, len);

	if (a->not_appended++ == 0)
		a->first_id = id;
	a->last_id = id;
}

/* The write failed: the file is cut back to `begin` (a partial line must
 * not stay), and the batch's lines are counted as not appended. */
static void
write_failed(struct appender *a, off_t begin)
{
	int saved = errno;
	const char *data = a->batch.data;

	log_error("cannot append to the log; the lines from here on are not appended",
	    LOG_STR("path", a->path), LOG_STR("error", strerror(saved)));
	if (ftruncate(a->fd, begin) < 0)
		log_error("cannot cut the log back to its last whole line", LOG_STR("path", a->path),
		    LOG_INT("offset", (long long)begin), LOG_STR("error", strerror(errno)));
	for (size_t at = 0; at < a->batch.len;) {
		const char *nl = memchr(data + at, '\n', a->batch.len - at);
		count_not_appended(a, data + at, (size_t)(nl - (data + at)));
		at = (size_t)(nl - data) + 1;
	}
	a->batch.len = 0;
	/* The batch's positions were noted as it was built: none of it is
	 * in the log, so none may be acknowledged. (With --sync, what was
	 * written before it and waits for its fdatasync is dropped too: it
	 * comes again, a duplicate, never a loss.) */
	ack_sink_forget(&a->acks);
}

/* One write(2) for the whole batch, under the file's lock: that is what
 * keeps lines whole. A short write only happens when the disk is full or
 * the file too big, and the rest then fails with the reason. */
static void
write_batch(struct appender *a)
{
	struct stat sb;
	off_t begin;

	if (a->batch.len == 0 || a->not_appended > 0)
		return;
	if (flock(a->fd, LOCK_EX) < 0 || fstat(a->fd, &sb) < 0)
		die(EX_IOERR, "cannot lock the log", LOG_STR("path", a->path), LOG_STR("error", strerror(errno)));
	begin = sb.st_size;
	if (fd_write_all(a->fd, a->batch.data, a->batch.len) < 0) {
		write_failed(a, begin);
	} else {
		a->batch.len = 0;
	}
	flock(a->fd, LOCK_UN);
	if (a->not_appended == 0)
		syncack_written(&a->synced);
}

/* Adds a line to the batch; with --ack without its src, noted for the ack. */
static void
add_line(struct appender *a, const char *line, size_t len)
{
	struct event *ev = &a->scan;
	char why[64];
	const char *src;
	size_t src_len;

	if (a->not_appended > 0) {
		count_not_appended(a, line, len);
		return;
	}
	if (a->acks.path != NULL && json_scan_object(&ev->members, line, len, why, sizeof(why)) == 0) {
		ev->raw = line;
		ev->raw_len = len;
		if (ack_event_src(ev, &src, &src_len) == 0) {
			ack_sink_note(&a->acks, src, src_len);
			/* Its position here, for an exactly-once sink further on. */
			event_write_moved_key(&a->batch, ev, ACK_KEY, ACK_ORIGIN_KEY);
			return;
		}
	}
	buf_append(&a->batch, line, len);
	buf_putc(&a->batch, '\n');
}

int
main(int argc, char **argv)
{
	static struct appender a;
	struct line_reader in;
	unsigned long too_long = 0;
	const char *ack_path;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), "file", 1);
	if (optind != argc - 1) {
		log_error("no log file given");
		opt_usage_error();
	}
	a.path = argv[optind];
	ack_path = opts[ACK].value;
	opt_checked();
	if (ack_path != NULL && ack_sink_open(&a.acks, ack_path) < 0)
		die(errno == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", opts[ACK].source), LOG_STR("path", ack_path),
		    LOG_STR("error", strerror(errno)));
	a.fd = open(a.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (a.fd < 0)
		die(EX_IOERR, "cannot open the log", LOG_STR("path", a.path),
		    LOG_STR("error", strerror(errno)));
	syncack_init(&a.synced, a.fd, a.path, opts[SYNC].on, &a.acks);
	sig_init();
	line_reader_init(&in, STDIN_FILENO, line_max_env());
	buf_reserve(&a.batch, BATCH_BYTES);

	for (;;) {
		const char *line;
		size_t len;
		/* Written but not yet synced: wait for input only until the
		 * sync is due, then sync and acknowledge. */
		if (syncack_pending(&a.synced) && !line_ready(&in) &&
		    !line_wait(&in, syncack_wait_ms(&a.synced, -1)))
			syncack_due(&a.synced, 0);
		enum line_status status = line_read(&in, &line, &len);
		if (status == LINE_END)
			break;
		if (status == LINE_TOO_LONG) {
			/* It cannot be held whole, so it cannot be appended whole. */
			too_long++;
			log_error("line too long, not appended", LOG_INT("line", in.lineno));
		} else {
			add_line(&a, line, len);
		}
		if (a.batch.len >= BATCH_BYTES || !line_ready(&in))
			write_batch(&a);
	}
	write_batch(&a);
	if (a.not_appended == 0)
		syncack_due(&a.synced, 1);
	syncack_close(&a.synced);
	if (close(a.fd) != 0 && a.not_appended == 0)
		die(EX_IOERR, "cannot close the log", LOG_STR("path", a.path),
		    LOG_STR("error", strerror(errno)));
	if (a.acks.path != NULL)
		ack_sink_close(&a.acks);
	buf_free(&a.batch);
	line_reader_free(&in);
	json_members_free(&a.scan.members);
	if (a.not_appended > 0) {
		log_error("lines not appended", LOG_STR("path", a.path),
		    LOG_INT("not_appended", (long long)a.not_appended),
		    LOG_INT("first_id", a.first_id), LOG_INT("last_id", a.last_id));
		return EX_IOERR;
	}
	return too_long ? EX_DATAERR : 0;
}
