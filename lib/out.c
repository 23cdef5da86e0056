#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "out.h"

/* Flush stdout once this much is buffered. */
#define OUT_CHUNK 65536

static struct buf out;
static int out_error; /* 0, -1 after EPIPE, EX_IOERR */
static unsigned long long records_buffered, records_written;
static void (*flush_hook)(void *);
static void *flush_hook_arg;

void
out_on_flush(void (*fn)(void *arg), void *arg)
{
	flush_hook = fn;
	flush_hook_arg = arg;
}

int
out_flush(void)
{
	if (out_error == 0 && fd_write_all(STDOUT_FILENO, out.data, out.len) < 0) {
		if (errno == EPIPE) {
			out_error = -1;
		} else {
			out_error = EX_IOERR;
			log_error("cannot write to stdout", LOG_STR("error", strerror(errno)));
		}
	}
	if (out_error == 0)
		records_written += records_buffered;
	records_buffered = 0;
	out.len = 0;
	if (out_error == 0 && flush_hook != NULL)
		flush_hook(flush_hook_arg);
	return out_error == 0 ? 0 : -1;
}

void
out_write(const void *p, size_t n)
{
	if (out_error != 0)
		return;
	buf_append(&out, p, n);
	if (out.len >= OUT_CHUNK)
		out_flush();
}

struct buf *
out_buf(void)
{
	return &out;
}

void
out_commit(void)
{
	if (out_error != 0)
		out.len = 0;
	else if (out.len >= OUT_CHUNK)
		out_flush();
}

int
out_status(void)
{
	return out_error;
}

void
out_record_end(void)
{
	if (out_error == 0)
		records_buffered++;
}

unsigned long long
out_records_written(void)
{
	return records_written;
}
