#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "timefmt.h"

static const char *tool = "casino";
static enum log_level threshold = LOG_INFO;
static int as_text;

static const char *const level_json[] = { "debug", "info", "warn", "error" };
static const char *const level_text[] = { "debug", "info", "warning", "error" };

void
log_init(const char *name)
{
	const char *level = getenv("CASINO_LOG_LEVEL");
	const char *format = getenv("CASINO_LOG_FORMAT");
	const char *slash = strrchr(name, '/');

	tool = slash ? slash + 1 : name;
	threshold = LOG_INFO;
	for (int i = LOG_DEBUG; level != NULL && i <= LOG_ERROR; i++)
		if (strcmp(level, level_json[i]) == 0 ||
		    strcmp(level, level_text[i]) == 0)
			threshold = (enum log_level)i;
	if (format != NULL && strcmp(format, "json") == 0)
		as_text = 0;
	else if (format != NULL && strcmp(format, "text") == 0)
		as_text = 1;
	else
		as_text = isatty(STDERR_FILENO);
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

void
log_record(enum log_level level, const char *msg, ...)
{
	struct buf b = { 0 };
	struct log_field f;
	char ts[TIMEFMT_MAX];
	va_list ap;
	int n = 0;

	if (level < threshold)
		return;
	va_start(ap, msg);
	if (as_text) {
		buf_printf(&b, "%s: %s: %s", tool, level_text[level], msg);
		while ((f = va_arg(ap, struct log_field)).key != NULL) {
			buf_puts(&b, n++ ? ", " : " (");
			buf_printf(&b, "%s ", f.key);
			field_value(&b, &f, 1);
		}
		buf_puts(&b, n ? ")\n" : "\n");
	} else {
		struct utc_time now = timefmt_now();

		now.nsec -= now.nsec % 1000000;
		timefmt_utc(ts, now);
		buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"tool\":", ts,
		    level_json[level]);
		buf_json_string(&b, tool, strlen(tool));
		buf_puts(&b, ",\"msg\":");
		buf_json_string(&b, msg, strlen(msg));
		while ((f = va_arg(ap, struct log_field)).key != NULL) {
			buf_putc(&b, ',');
			buf_json_string(&b, f.key, strlen(f.key));
			buf_putc(&b, ':');
			field_value(&b, &f, 0);
		}
		buf_puts(&b, "}\n");
	}
	va_end(ap);
	/* One write per record keeps records whole when stages share stderr. */
	for (size_t off = 0; off < b.len;) {
		ssize_t w = write(STDERR_FILENO, b.data + off, b.len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	buf_free(&b);
}
