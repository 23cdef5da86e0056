#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "fdwrite.h"
#include "timefmt.h"

static const char *tool = "casino";
static enum log_level threshold = LOG_INFO;
static int as_text;
static const char *bad_level, *bad_format; /* for log_env_error */

static const char *const level_json[] = { "debug", "info", "warn", "error" };
static const char *const level_text[] = { "debug", "info", "warning", "error" };

int
log_level_rank(const char *name)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
		if (strcmp(name, level_json[i]) == 0 || strcmp(name, level_text[i]) == 0)
			return i;
	return -1;
}

void
log_init(const char *name)
{
	const char *level = getenv("CASINO_LOG_LEVEL");
	const char *format = getenv("CASINO_LOG_FORMAT");
	const char *slash = strrchr(name, '/');

	tool = slash ? slash + 1 : name;
	threshold = LOG_INFO;
	bad_level = bad_format = NULL;
	if (level != NULL && *level != '\0') {
		int rank = log_level_rank(level);
		if (rank < 0)
			bad_level = level;
		else
			threshold = (enum log_level)rank;
	}
	as_text = isatty(STDERR_FILENO);
	if (format != NULL && strcmp(format, "json") == 0)
		as_text = 0;
	else if (format != NULL && strcmp(format, "text") == 0)
		as_text = 1;
	else if (format != NULL && *format != '\0')
		bad_format = format;
}

int
log_env_error(void)
{
	if (bad_level != NULL)
		log_error("bad environment value", LOG_STR("variable", "CASINO_LOG_LEVEL"),
		    LOG_STR("value", bad_level), LOG_STR("allowed", "debug info warn error"));
	if (bad_format != NULL)
		log_error("bad environment value", LOG_STR("variable", "CASINO_LOG_FORMAT"),
		    LOG_STR("value", bad_format), LOG_STR("allowed", "json text"));
	return bad_level != NULL || bad_format != NULL ? -1 : 0;
}

const char *
log_tool(void)
{
	return tool;
}

static void
field_value(struct buf *b, const struct log_field *f, int text)
{
	switch (f->kind) {
	case 'i':
		buf_printf(b, "%lld", f->num);
		break;
	case 'd':
		buf_printf(b, "%.17g", f->real);
		break;
	default:
		if (f->str == NULL)
			buf_puts(b, text ? "(null)" : "null");
		else if (text)
			buf_puts(b, f->str);
		else
			buf_json_string(b, f->str, strlen(f->str));
	}
}

/* The fields of a record: the variadic arguments of a call, or an array
 * ending with LOG_END (log_record_fields). */
struct fields {
	va_list *ap;
	const struct log_field *array;
};

static struct log_field
next_field(struct fields *fs)
{
	if (fs->array == NULL)
		return va_arg(*fs->ap, struct log_field);
	return fs->array->key != NULL ? *fs->array++ : *fs->array;
}

/* One record into b, as text for people or as JSON. */
static void
record_format(struct buf *b, int text, enum log_level level, const char *msg, struct fields *fs)
{
	struct log_field f;
	struct civil_time c;
	int n = 0;

	if (text) {
		buf_printf(b, "%s: %s: %s", tool, level_text[level], msg);
		while ((f = next_field(fs)).key != NULL) {
			buf_puts(b, n++ ? ", " : " (");
			buf_printf(b, "%s ", f.key);
			field_value(b, &f, 1);
		}
		buf_puts(b, n ? ")\n" : "\n");
	} else {
		struct utc_time now = timefmt_now();

		/* Always milliseconds: records of several tools sort as text. */
		timefmt_civil(now.sec, &c);
		buf_printf(b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\","
		    "\"tool\":", c.year, c.month, c.day, c.hour, c.minute, c.second,
		    (int)(now.nsec / 1000000), level_json[level]);
		buf_json_string(b, tool, strlen(tool));
		buf_puts(b, ",\"msg\":");
		buf_json_string(b, msg, strlen(msg));
		while ((f = next_field(fs)).key != NULL) {
			buf_putc(b, ',');
			buf_json_string(b, f.key, strlen(f.key));
			buf_putc(b, ':');
			field_value(b, &f, 0);
		}
		buf_puts(b, "}\n");
	}
}

static void
record_write(enum log_level level, const char *msg, struct fields *fs)
{
	struct buf b = { 0 };

	record_format(&b, as_text, level, msg, fs);
	/* One write per record keeps records whole when stages share stderr;
	 * a failing stderr has nowhere to be reported. */
	(void)fd_write_all(STDERR_FILENO, b.data, b.len);
	buf_free(&b);
}

int
log_enabled(enum log_level level)
{
	return level >= threshold;
}

void
log_record(enum log_level level, const char *msg, ...)
{
	va_list ap;
	struct fields fs = { &ap, NULL };

	if (level < threshold)
		return;
	va_start(ap, msg);
	record_write(level, msg, &fs);
	va_end(ap);
}

void
log_record_fields(enum log_level level, const char *msg, const struct log_field *fields)
{
	struct fields fs = { NULL, fields };

	if (level >= threshold)
		record_write(level, msg, &fs);
}

size_t
log_prepare_record(char *out, size_t size, enum log_level level, const char *msg, ...)
{
	struct buf b = { 0 };
	size_t n = 0;
	va_list ap;
	struct fields fs = { &ap, NULL };

	if (level < threshold || size == 0)
		return 0;
	va_start(ap, msg);
	record_format(&b, as_text, level, msg, &fs);
	va_end(ap);
	if (b.len <= size) {
		memcpy(out, b.data, b.len);
		n = b.len;
	}
	buf_free(&b);
	return n;
}

void
log_final_record(enum log_level level, const char *msg, ...)
{
	const char *path = getenv("CASINO_COUNTS");
	struct buf b = { 0 };
	va_list ap;
	struct fields fs = { &ap, NULL };
	int fd;

	va_start(ap, msg);
	if (level >= threshold) {
		record_format(&b, as_text, level, msg, &fs);
		(void)fd_write_all(STDERR_FILENO, b.data, b.len);
	}
	va_end(ap);
	if (path == NULL || *path == '\0') {
		buf_free(&b);
		return;
	}
	/* The wrapper's copy: JSON whatever the level and form, appended with
	 * one write so the records of a pipeline's tools never interleave. */
	b.len = 0;
	va_start(ap, msg);
	record_format(&b, 0, level, msg, &fs);
	va_end(ap);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fd_write_all(fd, b.data, b.len) < 0)
		log_warn("cannot write the final counts (CASINO_COUNTS)", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
	if (fd >= 0)
		close(fd);
	buf_free(&b);
}
