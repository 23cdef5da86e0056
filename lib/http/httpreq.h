/* httpreq: parse the head (request line and header fields) of one HTTP/1.x
 * request, RFC 9112, from a byte buffer. Pure: no I/O, no allocation, no
 * global state; every pointer in the result points into the buffer, which
 * need not be NUL-terminated. Safe on any bytes (a fuzz target links it).
 *
 * httpreq_parse(buf, len, &req) returns
 *   HTTPREQ_OK          the head ends within buf (req->head_len bytes,
 *                       blank line included); later bytes are not looked at;
 *   HTTPREQ_INCOMPLETE  no blank line yet and nothing wrong so far: read more;
 *   HTTPREQ_BAD         malformed, or no blank line within HTTPREQ_MAX_HEAD
 *                       bytes; req->error says why (a static string).
 * Accepted: lines ending in CRLF or a bare LF; empty lines before the
 * request line are skipped; method a token; exactly one SP on each side of
 * the target (visible ASCII only); version "HTTP/1." and one digit; header
 * fields "name:value" with a token name, no space before the colon, no
 * control bytes but HTAB in the value, no obsolete line folding. HTTP/1.1
 * needs exactly one Host field, HTTP/1.0 at most one. The path is the
 * target up to '?' (or '#'); for an absolute-form target
 * ("http://host/p?q") it is the part from the first '/' after the host, "/"
 * when there is none. Nothing is percent-decoded. Content-Length: every
 * such field a list of decimal numbers, all the same (else HTTPREQ_BAD: a
 * body of unknown length cannot be skipped, RFC 9112 6.3). */
#ifndef CASINO_HTTPREQ_H
#define CASINO_HTTPREQ_H
#include <stddef.h>

#define HTTPREQ_MAX_HEAD 8192

enum httpreq_status { HTTPREQ_OK, HTTPREQ_INCOMPLETE, HTTPREQ_BAD };

struct httpreq {
	const char *method, *target, *path;
	size_t method_len, target_len, path_len;
	int version_minor;  /* HTTP/1.<version_minor> */
	size_t head_len;    /* bytes of the head, final empty line included */
	long long content_length; /* the body's length; -1: no Content-Length */
	const char *end;    /* buf + head_len */
	const char *error;  /* why HTTPREQ_BAD, else NULL */
};

enum httpreq_status httpreq_parse(const char *buf, size_t len, struct httpreq *req);
/* 1 when the method is exactly m (methods are case-sensitive). */
int httpreq_method_is(const struct httpreq *req, const char *m);
/* 1 when the path is exactly p. */
int httpreq_path_is(const struct httpreq *req, const char *p);
/* The value of the first header field named name (case-insensitive),
 * without surrounding spaces, *len bytes long; NULL when there is none.
 * req must come from httpreq_parse returning HTTPREQ_OK. */
const char *httpreq_field(const struct httpreq *req, const char *name, size_t *len);
/* 1 when the comma-separated list v[0..len) holds token (case-insensitive),
 * as in "Connection: keep-alive, Upgrade". */
int httpreq_list_has(const char *v, size_t len, const char *token);
/* 1 when the connection stays open after the answer to req: HTTP/1.1
 * unless "Connection: close", HTTP/1.0 only with "keep-alive"; never after
 * a request with a body (it is not read). */
int httpreq_keep_alive(const struct httpreq *req);

#endif
