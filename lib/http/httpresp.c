#include <stdio.h>
#include <string.h>

#include "http/httpresp.h"
#include "timefmt.h"

void
httpresp_status(struct httpresp *r, int status, const char *reason)
{
	r->status = status;
	r->reason = reason;
}

void
httpresp_error(struct httpresp *r, int status, const char *reason, const char *error)
{
	httpresp_status(r, status, reason);
	r->type = "application/json";
	r->etag[0] = '\0';
	r->modified = 0;
	r->body.len = 0;
	buf_puts(&r->body, "{\"error\":");
	buf_json_string(&r->body, error, strlen(error));
	buf_puts(&r->body, "}\n");
}

void
httpresp_validators(struct httpresp *r, const struct stat *st, const char *kind, long long extra)
{
	snprintf(r->etag, sizeof r->etag, "\"%s%llx-%llx-%llx.%lx-%llx\"", kind,
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec,
	    (unsigned long long)extra);
	r->modified = st->st_mtim.tv_sec;
}

int
httpresp_etag_matches(const char *v, size_t len, const char *tag)
{
	size_t tag_len = strlen(tag), i = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i < len && v[i] == '*')
			return 1;
		if (len - i > 2 && v[i] == 'W' && v[i + 1] == '/')
			i += 2;
		if (len - i >= tag_len && memcmp(v + i, tag, tag_len) == 0 &&
		    (len - i == tag_len || v[i + tag_len] == ',' || v[i + tag_len] == ' '))
			return 1;
		while (i < len && v[i] != ',')
			i++;
	}
	return 0;
}

/* By hand: strftime would read /etc/localtime, and the handler opens
 * nothing it does not serve. */
void
httpresp_date(char *out, size_t size, int64_t sec)
{
	static const char days[][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct civil_time c;

	timefmt_civil(sec, &c);
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[((sec / 86400) % 7 + 7) % 7], c.day, months[c.month - 1], c.year,
	    c.hour, c.minute, c.second);
}

void
httpresp_put(struct buf *out, const struct httpresp *r, int head_only, const char *date,
    const char *connection)
{
	char modified[64];

	buf_puts(out, "HTTP/1.1 ");
	buf_put_int(out, r->status);
	buf_putc(out, ' ');
	buf_puts(out, r->reason);
	buf_puts(out, "\r\nDate: ");
	buf_puts(out, date);
	buf_puts(out, "\r\nContent-Type: ");
	buf_puts(out, r->type);
	buf_puts(out, "\r\nContent-Length: ");
	buf_put_int(out, (long long)r->body.len);
	if (r->etag[0] != '\0') {
		buf_puts(out, "\r\nETag: ");
		buf_puts(out, r->etag);
	}
	if (r->modified != 0) {
		httpresp_date(modified, sizeof modified, r->modified);
		buf_puts(out, "\r\nLast-Modified: ");
		buf_puts(out, modified);
	}
	/* Cache, but ask every time: the snapshot changes several times a second. */
	buf_puts(out, "\r\nCache-Control: no-cache\r\n");
	if (r->extra != NULL)
		buf_puts(out, r->extra);
	if (connection != NULL) {
		buf_puts(out, "Connection: ");
		buf_puts(out, connection);
		buf_puts(out, "\r\n");
	}
	buf_puts(out, "\r\n");
	if (!head_only)
		buf_append(out, r->body.data, r->body.len);
}
