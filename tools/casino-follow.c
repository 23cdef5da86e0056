/* casino-follow: print the lines of a file log on stdout and follow it,
 * alone or for a group; casino-sub's reader of file: URLs (doc/design.md,
 * "Delivery" and "The file log over time").
 *
 * A file is known by its identity, not its name (lib/transport/logfile.h):
 * when the path names another file (rotated: mv and a new file), the one
 * being read is finished first, then the new one is read from its start;
 * a file that shrank or was rewritten under the reader, or a cursor that
 * is not at a line start, is said in a warning with the offsets concerned
 * and read again from its start. It never starts mid-line.
 *
 * With --group each line gets its src (lib/transport/reader.h) and the
 * group's position is a cursor file (lib/transport/cursor.h, locked: one
 * reader per group) naming the file and the offset; without --ack it
 * moves when a line is handed to stdout, with --ack only past what the
 * last stage acknowledged. It is rewritten at most every second and at the
 * end; at a stop (or with --exit at the end) the acks of what was written
 * are waited for up to 10 s first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "opt.h"
#include "out.h"
#include "sig.h"
#include "timefmt.h"
#include "transport/cursor.h"
#include "transport/logfile.h"
#include "transport/reader.h"

#define POLL_MS 100
#define COMMIT_MS 1000
#define READ_CHUNK 65536

/* The options (doc/design.md, "One declaration per option"). */
enum { EXIT, ACK, FROM, GROUP };
static struct opt opts[] = {
	[EXIT] = { 'e', "exit", NULL, "CASINO_SUB_EXIT", .kind = OPT_FLAG,
	    .help = "stop at the end instead of following; the variable: 1" },
	[ACK] = { 'a', "ack", "fifo", "CASINO_SUB_ACK",
	    .help = "move the group only past positions acknowledged there" },
	[FROM] = { 'f', "from", "start|end", "CASINO_SUB_FROM", "start", .kind = OPT_CHOICE,
	    .choices = "start end", .help = "where a new group or a lone reader begins" },
	[GROUP] = { 'g', "group", "group", "CASINO_SUB_GROUP",
	    .help = "read as the one reader of this group" },
};

/* One file read; a rotation appends the next. Offsets are just past a line. */
struct file {
	struct src_file id;
	struct buf stream;  /* "file:DEV:INO:FP", once its first line is known */
	int64_t emitted;    /* the last line handed to stdout */
	int64_t acked;      /* the last line acknowledged */
	int64_t end;        /* its size when left for the next file, -1 while read */
};

struct follow {
	struct reader r;
	const char *path;
	int grouped, stop_at_end;
	struct cursor cursor;
	struct file *files; /* files[nfiles - 1] is being read */
	size_t nfiles;
	size_t done;        /* with --ack, the newest file acknowledged in */
	int fd;
	int64_t pos;        /* lines emitted up to here in the file being read */
	struct buf in;      /* bytes read past pos: a line not whole yet */
};

static struct file *
current(struct follow *f)
{
	return &f->files[f->nfiles - 1];
}

static void
set_stream(struct file *file)
{
	file->stream.len = 0;
	src_file_put(&file->stream, &file->id);
}

/* Reading goes on in file fd (identity id) at offset. */
static void
file_push(struct follow *f, int fd, const struct src_file *id, int64_t offset)
{
	f->files = xrealloc(f->files, (f->nfiles + 1) * sizeof(*f->files));
	f->files[f->nfiles++] = (struct file){ *id, { 0 }, offset, offset, -1 };
	if (id->fp != 0)
		set_stream(current(f));
	f->fd = fd;
	f->pos = offset;
	f->in.len = 0;
}

static void
files_drop(struct follow *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_free(&f->files[i].stream);
	memmove(f->files, f->files + n, (f->nfiles - n) * sizeof(*f->files));
	f->nfiles -= n;
	f->done = f->done > n ? f->done - n : 0;
}

/* The group's finished position: a file and an offset in it. */
static struct file *
finished(struct follow *f, int64_t *offset)
{
	size_t i = f->r.acking ? f->done : f->nfiles - 1;

	/* A file done to its end stands for the start of the next. */
	while (i + 1 < f->nfiles && f->files[i].end >= 0 &&
	    (f->r.acking ? f->files[i].acked : f->files[i].emitted) >= f->files[i].end)
		i++;
	*offset = f->r.acking ? f->files[i].acked : f->files[i].emitted;
	return &f->files[i];
}

static void
cursor_save(struct follow *f)
{
	int64_t offset;
	struct file *file = finished(f, &offset);

	if (cursor_write(&f->cursor, &file->id, offset) < 0)
		log_error("cannot write the group's cursor", LOG_STR("path", f->cursor.path),
		    LOG_STR("error", strerror(errno)));
	files_drop(f, (size_t)(file - f->files));
}

static void
on_ack(void *arg, const char *stream, size_t n, int64_t offset)
{
	struct follow *f = arg;

	for (size_t i = f->nfiles; i-- > 0;) {
		struct file *file = &f->files[i];
		if (file->stream.len != n || memcmp(file->stream.data, stream, n) != 0)
			continue;
		/* Never past what was written: a position only moves on. */
		if (offset > file->emitted)
			return;
		if (offset > file->acked)
			file->acked = offset;
		if (i > f->done)
			f->done = i;
		return;
	}
}

static int
all_acked(void *arg)
{
	struct follow *f = arg;

	for (size_t i = f->done; i < f->nfiles; i++)
		if (f->files[i].emitted > f->files[i].acked)
			return 0;
	return 1;
}

/* Opens the path, waiting for it to appear; -1 at a stop. */
static int
open_path(const char *path)
{
	int fd, said = 0;

	while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (!said)
			log_info("cannot open the log yet; waiting for it", LOG_STR("path", path),
			    LOG_STR("error", strerror(errno)));
		said = 1;
		if (sig_sleep_ms(POLL_MS) < 0)
			return -1;
	}
	return fd;
}

/* Emits the whole lines read, keeping a last partial one. */
static void
emit_lines(struct follow *f)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(f->in.data + start, '\n', f->in.len - start)) != NULL) {
		struct file *file = current(f);
		const char *line = f->in.data + start;
		size_t len = (size_t)(nl - line);
		if (file->id.fp == 0 && f->pos == 0) {
			file->id.fp = src_fingerprint(line, len);
			set_stream(file);
		}
		f->pos += (int64_t)len + 1;
		reader_emit(&f->r, file->stream.data, file->stream.len, f->pos, line, len);
		file->emitted = f->pos;
		start += len + 1;
	}
	memmove(f->in.data, f->in.data + start, f->in.len - start);
	f->in.len -= start;
}

/* The file was rewritten under us: read it again from its start, under a
 * new token (the acks of what it held then mean nothing now). */
static void
restart(struct follow *f, const char *why, const struct src_file *id, int64_t size)
{
	log_warn(why, LOG_STR("path", f->path), LOG_INT("offset", f->pos),
	    LOG_INT("size", size), LOG_INT("partial_line_bytes", (long long)f->in.len));
	reader_new_token(&f->r);
	files_drop(f, f->nfiles);
	file_push(f, f->fd, id, 0);
}

/* At the end of what could be read (at_end), or now and then while
 * busy: is the file still the one we read, still as long? A rotation
 * (another file at the path) is followed only at the end of the old.
 * 1 when reading goes on elsewhere, 0 not, -1 at a stop. */
static int
check(struct follow *f, int at_end)
{
	struct file *file = current(f);
	struct src_file id, there;
	struct stat sb;
	int64_t size;

	if (logfile_identity(f->fd, &id, &size) < 0)
		die(EX_IOERR, "cannot read the log", LOG_STR("path", f->path), LOG_STR("error", strerror(errno)));
	if (size < f->pos + (int64_t)f->in.len) {
		restart(f, "the log was truncated; reading it again from its start", &id, size);
		return 1;
	}
	if ((file->id.fp != 0 && id.fp != file->id.fp) || logfile_line_start(f->fd, f->pos) == 0) {
		restart(f, "the log was rewritten in place; reading it again from its start", &id, size);
		return 1;
	}
	if (!at_end || stat(f->path, &sb) < 0 ||
	    ((uint64_t)sb.st_dev == file->id.dev && (uint64_t)sb.st_ino == file->id.ino))
		return 0;
	/* Rotated, and the old file read to its end. A torn last line goes
	 * on as a line, for the next stage to reject and count. */
	if (f->in.len > 0) {
		log_warn("the rotated file ends in a partial line; passed on as it is",
		    LOG_STR("path", f->path), LOG_INT("offset", f->pos),
		    LOG_INT("partial_line_bytes", (long long)f->in.len));
		buf_putc(&f->in, '\n');
		emit_lines(f);
	}
	file->end = f->pos;
	int fd = open_path(f->path);
	if (fd < 0)
		return -1;
	if (logfile_identity(fd, &there, &size) < 0)
		die(EX_IOERR, "cannot read the log", LOG_STR("path", f->path), LOG_STR("error", strerror(errno)));
	log_info("the log was rotated; the old file is read to its end, the new one from its start",
	    LOG_STR("path", f->path), LOG_INT("old_size", file->end));
	close(f->fd);
	file_push(f, fd, &there, 0);
	return 1;
}

/* Where a run begins: the group's cursor, found by its file's identity,
 * else --from. Never mid-line. */
static int
begin(struct follow *f, int from_end)
{
	struct cursor *c = &f->cursor;
	struct src_file id;
	int64_t size, offset = 0;
	int fd = -1, found = 0;

	if (c->saved && c->known_file)
		found = logfile_find(f->path, &c->file, &fd);
	if (fd < 0 && (fd = open_path(f->path)) < 0)
		return -1;
	if (logfile_identity(fd, &id, &size) < 0)
		die(EX_IOERR, "cannot read the log", LOG_STR("path", f->path), LOG_STR("error", strerror(errno)));
	if (!c->saved) {
		offset = from_end ? logfile_line_back(fd, size) : 0;
	} else if (c->known_file && !found) {
		log_warn(id.dev == c->file.dev && id.ino == c->file.ino ?
		    "the log was rewritten since the group's cursor; reading it from its start" :
		    "the group's file is neither at the path nor beside it; reading the file at the "
		    "path from its start", LOG_STR("path", f->path), LOG_INT("cursor", c->offset),
		    LOG_INT("size", size));
	} else if (c->offset > size) {
		log_warn("the log is shorter than the group's cursor (truncated); reading it from its start",
		    LOG_STR("path", f->path), LOG_INT("cursor", c->offset), LOG_INT("size", size));
	} else if (logfile_line_start(fd, c->offset) != 1) {
		log_warn("the group's cursor is not at a line start; reading the file from its start",
		    LOG_STR("path", f->path), LOG_INT("cursor", c->offset),
		    LOG_INT("line_start_before", logfile_line_back(fd, c->offset)));
	} else {
		offset = c->offset;
	}
	file_push(f, fd, &id, offset);
	return 0;
}

static void
run(struct follow *f, int from_end)
{
	int64_t next_commit = 0, next_check = 0;
	int idle = 0;

	if (begin(f, from_end) < 0)
		return;
	while (!sig_stopping() && out_status() == 0) {
		buf_reserve(&f->in, READ_CHUNK);
		ssize_t n = pread(f->fd, f->in.data + f->in.len, READ_CHUNK, f->pos + (int64_t)f->in.len);
		if (n < 0 && errno != EINTR)
			die(EX_IOERR, "cannot read the log", LOG_STR("path", f->path), LOG_STR("error", strerror(errno)));
		int64_t now = timefmt_monotonic_ms();
		if (n > 0) {
			f->in.len += (size_t)n;
			/* New bytes after a wait: the file may have been rewritten
			 * meanwhile, so it is checked before a line goes out. */
			if (idle || now >= next_check) {
				next_check = now + POLL_MS;
				idle = 0;
				if (check(f, 0) != 0)
					continue;
			}
			emit_lines(f);
		} else if (n == 0) {
			next_check = now + POLL_MS;
			int moved = check(f, 1);
			if (moved < 0)
				break;
			if (!moved) {
				if (f->stop_at_end)
					break;
				out_flush();
				reader_wait(&f->r, POLL_MS);
				idle = 1;
			}
		}
		reader_read_acks(&f->r);
		if (f->grouped && now >= next_commit) {
			cursor_save(f);
			next_commit = now + COMMIT_MS;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *ack_path, *group;
	static struct follow f;
	int status;
	pid_t holder;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), "file", 1);
	if (optind != argc - 1) {
		log_error("no log file given");
		opt_usage_error();
	}
	f.path = argv[optind];
	ack_path = opts[ACK].value;
	group = opts[GROUP].value;
	f.stop_at_end = opts[EXIT].on;
	if (ack_path != NULL && group == NULL) {
		log_error("--ack needs --group: only a group keeps a position to move");
		opt_usage_error();
	}
	opt_checked();
	f.grouped = group != NULL;
	reader_init(&f.r, f.grouped);
	f.r.on_ack = on_ack;
	f.r.all_acked = all_acked;
	f.r.arg = &f;
	if (f.grouped && cursor_open(&f.cursor, group, &holder) < 0) {
		if (errno == EWOULDBLOCK)
			die(EX_UNAVAILABLE, "another reader holds the group; one reader per group",
			    LOG_STR("group", group), LOG_INT("holder_pid", holder),
			    LOG_STR("path", f.cursor.path));
		die(errno == EINVAL ? EX_USAGE : errno == EBADMSG ? EX_DATAERR : EX_IOERR,
		    errno == EINVAL ? "bad group name (want letters, digits, '.', '_', '-')" :
		    "cannot use the group's cursor file", LOG_STR("group", group),
		    LOG_STR("path", f.cursor.path ? f.cursor.path : ""), LOG_STR("error", strerror(errno)));
	}
	/* After the lock: a second reader must not take the group's acks. */
	if (ack_path != NULL && reader_open_acks(&f.r, ack_path) < 0)
		die(errno == EINVAL ? EX_USAGE : EX_IOERR, "cannot use the acknowledgement FIFO",
		    LOG_STR("option", opts[ACK].source), LOG_STR("path", ack_path), LOG_STR("error", strerror(errno)));
	f.fd = -1;
	sig_init();
	run(&f, opts[FROM].choice == 1);
	out_flush();
	status = out_status() > 0 ? out_status() : 0;
	/* The stages after us see the end of their input and finish. */
	close(STDOUT_FILENO);
	reader_finish(&f.r);
	if (f.grouped && f.nfiles > 0)
		cursor_save(&f);
	if (f.fd >= 0)
		close(f.fd);
	cursor_free(&f.cursor);
	files_drop(&f, f.nfiles);
	free(f.files);
	buf_free(&f.in);
	reader_free(&f.r);
	return status;
}
