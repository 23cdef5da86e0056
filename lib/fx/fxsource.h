/* fxsource: where casino-fx's rates come from. A file:// URL is read here,
 * whole (lib/readfile); an http(s) URL goes through libcurl, loaded on first
 * use (lib/fx/curlapi), with the key added to the query as access_key. The key
 * never reaches a message: fxsource_scrub removes every copy of it, in each
 * form an API may echo, from a text before the caller logs it. A "{date}"
 * in the URL is filled per request (--rates-date event). A request in
 * flight ends within about a second of a stop or of the lifeline's loss
 * (sig_stopping), as a failure. Nothing here logs or exits: functions
 * return a status and the reason in why. */
#ifndef CASINO_FXSOURCE_H
#define CASINO_FXSOURCE_H
#include <stddef.h>

#include "buf.h"

struct fxsource {
	void *curl;             /* the libcurl handle; NULL for a file:// URL */
	char *path;             /* file://: the file of the last request */
	char *path_template;    /* file://: the file with {date}, else NULL */
	char *url_template;     /* http(s): the full URL with {date}, else NULL */
	char *log_url;          /* the URL without query or credentials */
	const char *key;        /* NULL when none; never logged */
	struct buf body;        /* the last answer */
	struct buf scrubbed;    /* fxsource_scrub's result */
	char curl_error[256];   /* CURL_ERROR_SIZE */
};

/* Opens url (http, https or file) with key (NULL or "" for none) and the
 * timeouts of a request in milliseconds. 0, or a sysexits code with the
 * reason in why: 64 for a URL that is none of them or cannot be parsed (not
 * quoted in why: it may hold a key), 69 when libcurl cannot be loaded, 70
 * when libcurl refuses. */
int fxsource_open(struct fxsource *s, const char *url, const char *key,
	long connect_timeout_ms, long timeout_ms, char *why, size_t whylen);
void fxsource_close(struct fxsource *s);
/* One request into s->body: of the URL as given (date NULL), or with
 * {date} replaced by date. 0; or -1 with the reason in why (unscrubbed) and
 * *status the HTTP status of an answer that came, 404 for a file that does
 * not exist, else 0. */
int fxsource_fetch(struct fxsource *s, const char *date, long *status, char *why, size_t whylen);
/* msg with every copy of s's key replaced by "***" (see key_scrub); valid
 * until the next call. */
const char *fxsource_scrub(struct fxsource *s, const char *msg);

/* The path of a file://[localhost]/path URL, %XX decoded (a '%' not followed
 * by two hex digits, or %00, stays as it is); like libcurl, a query or
 * fragment is not part of it. 1 with *path (free it), 0 when url is not a
 * file URL, -1 when it has no absolute path. */
int file_url_path(const char *url, char **path);
/* The length of a copy of key at the start of msg, each byte as itself, as
 * %XX in either case, or a space as '+' (an API may echo the query it got);
 * 0 for an empty key, -1 when there is none. */
long key_at(const char *msg, const char *key);
/* msg appended to out with every copy of key in any form of key_at
 * replaced by "***"; key NULL or "" leaves msg as it is. When key holds no
 * '*', out then holds no copy of it in any of those forms. */
void key_scrub(struct buf *out, const char *msg, const char *key);

#endif
