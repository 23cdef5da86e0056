#include <string.h>
#include <strings.h>

#include "http/httpreq.h"

/* RFC 9110 tchar: the bytes allowed in methods and field names. */
static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static enum httpreq_status
bad(struct httpreq *req, const char *why)
{
	req->error = why;
	return HTTPREQ_BAD;
}

/* The request line, line[0..n) without its line ending. */
static enum httpreq_status
parse_request_line(const char *line, size_t n, struct httpreq *req)
{
	size_t i = 0, start;

	while (i < n && is_tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == n || line[i] != ' ')
		return bad(req, "bad method");
	req->method = line;
	req->method_len = i++;
	start = i;
	while (i < n && is_vchar((unsigned char)line[i]))
		i++;
	if (i == start || i == n || line[i] != ' ')
		return bad(req, "bad request target");
	req->target = line + start;
	req->target_len = i - start;
	i++;
	if (n - i != 8 || memcmp(line + i, "HTTP/1.", 7) != 0 ||
	    line[i + 7] < '0' || line[i + 7] > '9')
		return bad(req, "bad HTTP version");
	req->version_minor = line[i + 7] - '0';
	return HTTPREQ_OK;
}

/* The path of the target: origin-form as is, absolute-form from the first
 * '/' after "scheme://host"; both cut at '?' or '#'. */
static void
split_path(struct httpreq *req)
{
	const char *t = req->target, *end = t + req->target_len, *p = t, *sep;

	sep = memchr(t, ':', req->target_len);
	if (t[0] != '/' && sep != NULL && end - sep >= 3 && sep[1] == '/' && sep[2] == '/') {
		p = sep + 3;
		while (p < end && *p != '/' && *p != '?' && *p != '#')
			p++;
	}
	req->path = p;
	while (p < end && *p != '?' && *p != '#')
		p++;
	req->path_len = (size_t)(p - req->path);
	if (req->path_len == 0 && req->path != t) {
		req->path = "/";
		req->path_len = 1;
	}
}

/* A Content-Length value, v[0..n): a comma-separated list of decimal
 * numbers (RFC 9110 8.6), all equal, and equal to one already seen. */
static enum httpreq_status
parse_content_length(const char *v, size_t n, struct httpreq *req)
{
	size_t i = 0;

	do {
		long long value = 0;
		size_t digits = 0;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
			if (__builtin_mul_overflow(value, 10, &value) ||
			    __builtin_add_overflow(value, v[i] - '0', &value))
				return bad(req, "Content-Length too large");
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (digits == 0 || (i < n && v[i] != ','))
			return bad(req, "bad Content-Length");
		if (req->content_length >= 0 && req->content_length != value)
			return bad(req, "conflicting Content-Length");
		req->content_length = value;
	} while (i++ < n);
	return HTTPREQ_OK;
}

/* One header field line, line[0..n) without its line ending. */
static enum httpreq_status
parse_field(const char *line, size_t n, struct httpreq *req, int *hosts)
{
	size_t i = 0, name_len;

	if (line[0] == ' ' || line[0] == '\t')
		return bad(req, "obsolete line folding");
	while (i < n && is_tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == n || line[i] != ':')
		return bad(req, "bad header field name");
	if (i == 4 && strncasecmp(line, "host", 4) == 0)
		(*hosts)++;
	name_len = i;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(req, "control byte in header field value");
	}
	if (name_len == 14 && strncasecmp(line, "content-length", 14) == 0)
		return parse_content_length(line + 15, n - 15, req);
	return HTTPREQ_OK;
}

enum httpreq_status
httpreq_parse(const char *buf, size_t len, struct httpreq *req)
{
	size_t pos = 0;
	int hosts = 0, have_request_line = 0;

	memset(req, 0, sizeof *req);
	req->content_length = -1;
	for (;;) {
		const char *line = buf + pos, *nl;
		size_t n, avail = len - pos;
		enum httpreq_status st;

		if (pos > HTTPREQ_MAX_HEAD)
			return bad(req, "request head over 8 KiB");
		nl = memchr(line, '\n', avail);
		if (nl == NULL) {
			if (len > HTTPREQ_MAX_HEAD)
				return bad(req, "request head over 8 KiB");
			/* A CR is fine only as the last byte: its LF may follow. */
			if (avail > 1 && memchr(line, '\r', avail - 1) != NULL)
				return bad(req, "bare CR");
			return HTTPREQ_INCOMPLETE;
		}
		n = (size_t)(nl - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\r', n) != NULL)
			return bad(req, "bare CR");
		if (!have_request_line) {
			if (n == 0)
				continue; /* RFC 9112 2.2: skip empty lines first */
			if ((st = parse_request_line(line, n, req)) != HTTPREQ_OK)
				return st;
			have_request_line = 1;
			continue;
		}
		if (n == 0)
			break;
		if ((st = parse_field(line, n, req, &hosts)) != HTTPREQ_OK)
			return st;
	}
	if (pos > HTTPREQ_MAX_HEAD)
		return bad(req, "request head over 8 KiB");
	if (hosts > 1 || (hosts == 0 && req->version_minor >= 1))
		return bad(req, hosts > 1 ? "more than one Host field" : "no Host field");
	req->head_len = pos;
	req->end = buf + pos;
	split_path(req);
	return HTTPREQ_OK;
}

int
httpreq_method_is(const struct httpreq *req, const char *m)
{
	return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

int
httpreq_path_is(const struct httpreq *req, const char *p)
{
	return req->path_len == strlen(p) && memcmp(req->path, p, req->path_len) == 0;
}

const char *
httpreq_field(const struct httpreq *req, const char *name, size_t *len)
{
	size_t name_len = strlen(name);
	/* The request line is whole and valid: fields start after its LF. */
	const char *line = memchr(req->method, '\n', (size_t)(req->end - req->method));

	while (line != NULL) {
		const char *start = line + 1, *end, *v;

		line = memchr(start, '\n', (size_t)(req->end - start));
		end = line != NULL ? line : req->end;
		if (end > start && end[-1] == '\r')
			end--;
		if (end == start)
			return NULL; /* the empty line that ends the head */
		if ((size_t)(end - start) > name_len && start[name_len] == ':' &&
		    strncasecmp(start, name, name_len) == 0) {
			v = start + name_len + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			*len = (size_t)(end - v);
			return v;
		}
	}
	return NULL;
}

int
httpreq_list_has(const char *v, size_t len, const char *token)
{
	size_t token_len = strlen(token), i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == token_len && strncasecmp(v + start, token, token_len) == 0)
			return 1;
	}
	return 0;
}

int
httpreq_keep_alive(const struct httpreq *req)
{
	size_t len;
	const char *conn;

	if (req->content_length > 0)
		return 0;
	if (httpreq_field(req, "transfer-encoding", &len) != NULL)
		return 0;
	conn = httpreq_field(req, "connection", &len);
	if (req->version_minor >= 1)
		return conn == NULL || !httpreq_list_has(conn, len, "close");
	return conn != NULL && httpreq_list_has(conn, len, "keep-alive");
}
