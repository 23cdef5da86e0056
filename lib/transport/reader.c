#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "out.h"
#include "sig.h"
#include "timefmt.h"
#include "transport/reader.h"

/* How long the end waits for the acks of what was written. */
#define FINISH_WAIT_MS 10000
#define WAIT_STEP_MS 100

static void
draw_token(char *token)
{
	uint64_t bits = 0;

	/* A clash of two pipelines' tokens is what a token guards against:
	 * without getrandom, time and pid make one unlikely still. */
	if (getrandom(&bits, sizeof(bits), 0) != (ssize_t)sizeof(bits))
		bits = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() ^ (uint64_t)timefmt_monotonic_ms() << 20;
	snprintf(token, SRC_TOKEN_MAX + 1, "%016llx", (unsigned long long)bits);
}

void
reader_init(struct reader *r, int grouped)
{
	memset(r, 0, sizeof(*r));
	r->grouped = grouped;
	r->acks.fd = r->acks.keep_fd = -1;
	draw_token(r->token);
}

void
reader_new_token(struct reader *r)
{
	memcpy(r->retired, r->token, sizeof(r->token));
	draw_token(r->token);
}

int
reader_open_acks(struct reader *r, const char *path)
{
	if (ack_source_open(&r->acks, path) < 0)
		return -1;
	r->acking = 1;
	return 0;
}

void
reader_emit(struct reader *r, const char *stream, size_t stream_len, int64_t offset,
    const char *line, size_t len)
{
	char why[128];

	if (r->grouped && json_scan_object(&r->scan.members, line, len, why, sizeof(why)) == 0) {
		r->scan.raw = line;
		r->scan.raw_len = len;
		r->src.len = r->line.len = 0;
		buf_putc(&r->src, '"');
		src_put(&r->src, r->token, stream, stream_len, offset);
		buf_putc(&r->src, '"');
		event_write_key(&r->line, &r->scan, ACK_KEY, r->src.data, r->src.len);
		out_write(r->line.data, r->line.len);
		return;
	}
	out_write(line, len);
	out_write("\n", 1);
}

static int
token_is(const struct src *s, const char *token)
{
	return s->token_len == strlen(token) && memcmp(s->token, token, s->token_len) == 0;
}

static void
on_ack(void *arg, const char *text, size_t n)
{
	struct reader *r = arg;
	struct src s;

	if (src_parse(text, n, &s) == 0 && token_is(&s, r->token)) {
		r->on_ack(r->arg, s.stream, s.stream_len, s.offset);
		return;
	}
	if (src_parse(text, n, &s) == 0 && r->retired[0] != '\0' && token_is(&s, r->retired))
		return;
	if (r->foreign++ == 0) {
		char *copy = xstrndup(text, n);
		log_warn("an acknowledgement of another pipeline (not this reader's token) "
		    "ignored; is the FIFO shared?", LOG_STR("ack", copy), LOG_STR("token", r->token));
		free(copy);
	}
}

void
reader_read_acks(struct reader *r)
{
	if (!r->acking)
		return;
	ack_source_read(&r->acks, on_ack, r);
	if (r->acks_read != NULL)
		r->acks_read(r->arg);
}

int
reader_wait(struct reader *r, int timeout_ms)
{
	if (!r->acking)
		return sig_sleep_ms(timeout_ms);
	ack_source_wait(&r->acks, timeout_ms);
	return sig_stopping() ? -1 : 0;
}

void
reader_finish(struct reader *r)
{
	if (r->acking) {
		int64_t until = timefmt_monotonic_ms() + FINISH_WAIT_MS;
		ack_source_last_call(&r->acks);
		for (;;) {
			int open = ack_source_read(&r->acks, on_ack, r);
			if (r->acks_read != NULL)
				r->acks_read(r->arg);
			if (!open || r->all_acked(r->arg))
				break;
			int64_t left = until - timefmt_monotonic_ms();
			if (left <= 0) {
				log_warn("stopped before every line emitted was acknowledged; "
				    "they come again to the next reader of the group");
				break;
			}
			ack_source_wait(&r->acks, left < WAIT_STEP_MS ? (int)left : WAIT_STEP_MS);
		}
	}
	if (r->foreign > 0)
		log_warn("acknowledgements of another pipeline ignored",
		    LOG_INT("foreign_acks", (long long)r->foreign), LOG_STR("token", r->token));
}

void
reader_free(struct reader *r)
{
	if (r->acking)
		ack_source_close(&r->acks);
	r->acking = 0;
	buf_free(&r->line);
	buf_free(&r->src);
	json_members_free(&r->scan.members);
}
