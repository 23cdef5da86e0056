/* httpresp: the answer half of HTTP/1.1 (RFC 9110, 9112) beside httpreq:
 * a response held as status, type, validators and body, written out as a
 * head and body into a buffer. Pure: no I/O and no clock (the caller gives
 * the Date), safe on any bytes (a fuzz target links it).
 * Validators: a strong ETag from a file's inode, size and mtime (writers
 * rename new files into place, so all three change), and Last-Modified. */
#ifndef CASINO_HTTPRESP_H
#define CASINO_HTTPRESP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"

struct httpresp {
	int status;
	const char *reason, *type, *extra; /* extra: header lines, each ending CRLF */
	char etag[96];                     /* with quotes; empty: none */
	time_t modified;                   /* Last-Modified; 0: none */
	struct buf body;                   /* kept across requests: no allocation */
};

void httpresp_status(struct httpresp *r, int status, const char *reason);
/* An error answer: status and {"error":"..."} as JSON, no validators. */
void httpresp_error(struct httpresp *r, int status, const char *reason, const char *error);
/* ETag and Last-Modified for one representation of the file st describes;
 * kind and extra tell representations of one file apart. */
void httpresp_validators(struct httpresp *r, const struct stat *st, const char *kind,
	long long extra);
/* 1 when If-None-Match's value v[0..len) (entity tags or "*") names tag,
 * by weak comparison (RFC 9110 13.1.2). */
int httpresp_etag_matches(const char *v, size_t len, const char *tag);
/* IMF-fixdate of sec, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", into out. */
void httpresp_date(char *out, size_t size, int64_t sec);
/* Append the head (and the body unless head_only) to out. date: the Date
 * value; connection: the Connection value, or NULL for none. */
void httpresp_put(struct buf *out, const struct httpresp *r, int head_only,
	const char *date, const char *connection);

#endif
