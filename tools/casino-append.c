/* casino-append: append stdin to an NDJSON log file, whole lines only.
 *
 * The file log of casino-pub. Several publishers may append to one file at
 * once; each write(2) on the O_APPEND descriptor carries whole lines only,
 * and on a local file system Linux serialises writes to one file, so lines
 * of different publishers never interleave. (`cat >>` cannot promise this:
 * it writes whatever each read returned, often a part of a long line.)
 * Lines that arrive together go out in one write; the batch is written as
 * soon as stdin has nothing more ready, so no line waits for more input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "out.h"

/* A batch grows past this only to hold one long line whole. */
#define BATCH_BYTES (64 * 1024)

/* One write(2) for the whole batch: that is what keeps lines whole. A short
 * write only happens when the disk is full or the file too big, and the
 * rest then fails with the reason. */
static void
write_batch(int fd, struct buf *batch, const char *path)
{
	if (fd_write_all(fd, batch->data, batch->len) < 0)
		die(EX_IOERR, "cannot append to the log", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	batch->len = 0;
}

int
main(int argc, char **argv)
{
	struct line_reader in;
	struct buf batch = { 0 };
	unsigned long too_long = 0;
	int fd;

	log_init(argv[0]);
	/* No options of its own: -h, -V and the operand. */
	opt_parse(argc, argv, NULL, 0, "file", 1);
	if (optind != argc - 1) {
		log_error("no log file given");
		opt_usage_error();
	}
	const char *path = argv[optind];
	opt_checked();

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die(EX_IOERR, "cannot open the log", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	sig_init();
	line_reader_init(&in, STDIN_FILENO, line_max_env());
	buf_reserve(&batch, BATCH_BYTES);

	for (;;) {
		const char *line;
		size_t len;
		enum line_status status = line_read(&in, &line, &len);

		if (status == LINE_END)
			break;
		if (status == LINE_TOO_LONG) {
			/* It cannot be held whole, so it cannot be appended whole. */
			too_long++;
			log_error("line too long, not appended", LOG_INT("line", in.lineno));
		} else {
			buf_append(&batch, line, len);
			buf_putc(&batch, '\n');
		}
		if (batch.len >= BATCH_BYTES || !line_ready(&in))
			write_batch(fd, &batch, path);
	}
	write_batch(fd, &batch, path);
	if (close(fd) != 0)
		die(EX_IOERR, "cannot close the log", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	buf_free(&batch);
	line_reader_free(&in);
	return too_long ? EX_DATAERR : 0;
}
