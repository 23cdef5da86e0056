#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "fx/curlapi.h"
#include "fx/fxdates.h"
#include "fx/fxsource.h"
#include "readfile.h"
#include "sig.h"

#define MAX_BODY (1024 * 1024)

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

long
key_at(const char *msg, const char *key)
{
	long n;

	if (*key == '\0')
		return 0;
	if (*msg == '%' && hex_digit(msg[1]) >= 0 && hex_digit(msg[2]) >= 0 &&
	    hex_digit(msg[1]) * 16 + hex_digit(msg[2]) == (unsigned char)*key &&
	    (n = key_at(msg + 3, key + 1)) >= 0)
		return n + 3;
	if (*msg != '\0' && (*msg == *key || (*msg == '+' && *key == ' ')) &&
	    (n = key_at(msg + 1, key + 1)) >= 0)
		return n + 1;
	return -1;
}

void
key_scrub(struct buf *out, const char *msg, const char *key)
{
	long n;

	buf_reserve(out, strlen(msg));
	while (*msg != '\0') {
		if (key != NULL && (n = key_at(msg, key)) > 0) {
			buf_puts(out, "***");
			msg += n;
		} else {
			buf_putc(out, *msg++);
		}
	}
}

const char *
fxsource_scrub(struct fxsource *s, const char *msg)
{
	s->scrubbed.len = 0;
	buf_puts(&s->scrubbed, "");
	key_scrub(&s->scrubbed, msg, s->key);
	return s->scrubbed.data;
}

int
file_url_path(const char *url, char **path)
{
	struct buf p = { 0 };

	*path = NULL;
	if (strncasecmp(url, "file://", 7) != 0)
		return 0;
	url += 7;
	if (strncasecmp(url, "localhost/", 10) == 0)
		url += 9;
	if (*url != '/')
		return -1;
	buf_puts(&p, "");
	for (; *url != '\0' && *url != '?' && *url != '#'; url++) {
		int hi = hex_digit(url[0] == '%' ? url[1] : 'x');
		int lo = hi >= 0 ? hex_digit(url[2]) : -1;
		if (lo >= 0 && hi * 16 + lo != 0) {
			buf_putc(&p, (char)(hi * 16 + lo));
			url += 2;
		} else {
			buf_putc(&p, *url);
		}
	}
	*path = p.data;
	return 1;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *body = arg;

	if (body->len + n > MAX_BODY)
		return 0; /* curl reports a write error */
	buf_append(body, p, n);
	return n * size;
}

/* libcurl calls it while a request runs, at least about once a second
 * even when nothing arrives: a stop (or the lifeline's loss) aborts the
 * request instead of waiting for its timeout. */
static int
request_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	(void)arg, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return sig_stopping();
}

/* libcurl's options for s and url; 0, or -1 with the reason in why. */
static int
curl_setup(struct fxsource *s, const char *url, long connect_ms, long total_ms,
    char *why, size_t whylen)
{
	CURLcode rc = CURLE_OK;
	CURL *c = s->curl;

#define SET(opt, v) if (rc == CURLE_OK) rc = curl_api.easy_setopt(c, opt, v)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_TIMEOUT_MS, total_ms);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, "casino-fx/" CASINO_VERSION);
	SET(CURLOPT_ERRORBUFFER, s->curl_error);
	SET(CURLOPT_WRITEFUNCTION, collect);
	SET(CURLOPT_WRITEDATA, &s->body);
	SET(CURLOPT_XFERINFOFUNCTION, request_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
	if (rc == CURLE_OK)
		return 0;
	snprintf(why, whylen, "libcurl refused an option: %s", curl_api.easy_strerror(rc));
	return -1;
}

/* The URL for libcurl: url with access_key=key added to its query, into
 * *full, and without query or credentials, into s->log_url. 0, or a
 * sysexits code with the reason in why. */
static int
curl_urls(struct fxsource *s, CURLU *u, const char *url, char **full, char *why, size_t whylen)
{
	char *scheme = NULL, *shown = NULL;
	int status = 0;

	/* The URL is not quoted when it cannot be parsed: it may hold a key. */
	if (curl_api.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_api.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(why, whylen, "bad rate URL");
		return EX_USAGE;
	}
	curl_api.free(scheme);
	if (s->key != NULL) {
		char *escaped = curl_api.easy_escape(s->curl, s->key, 0);
		struct buf q = { 0 };
		if (escaped != NULL)
			buf_printf(&q, "access_key=%s", escaped);
		if (escaped == NULL ||
		    curl_api.url_set(u, CURLUPART_QUERY, q.data, CURLU_APPENDQUERY) != CURLUE_OK)
			status = EX_SOFTWARE;
		curl_api.free(escaped);
		buf_free(&q);
		if (status != 0) {
			snprintf(why, whylen, "cannot add the key to the URL");
			return status;
		}
	}
	if (curl_api.url_get(u, CURLUPART_URL, full, 0) != CURLUE_OK ||
	    curl_api.url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_api.url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_api.url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_api.url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK) {
		snprintf(why, whylen, "cannot build the rate URL");
		return EX_SOFTWARE;
	}
	s->log_url = xstrndup(shown, strlen(shown));
	curl_api.free(shown);
	return 0;
}

int
fxsource_open(struct fxsource *s, const char *url, const char *key,
    long connect_timeout_ms, long timeout_ms, char *why, size_t whylen)
{
	CURLU *u;
	char *full = NULL;
	int status;

	memset(s, 0, sizeof(*s));
	s->key = key != NULL && *key != '\0' ? key : NULL;
	switch (file_url_path(url, &s->path)) {
	case 1:
		s->log_url = xstrndup(url, strcspn(url, "?#"));
		if (strstr(s->path, "{date}") != NULL)
			s->path_template = xstrndup(s->path, strlen(s->path));
		return 0;
	case -1:
		snprintf(why, whylen, "a file URL needs an absolute path (file:///path)");
		return EX_USAGE;
	}
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "rate URL must be http, https or file");
		return EX_USAGE;
	}
	if (curl_api_load(why, whylen) != 0)
		return EX_UNAVAILABLE;
	if (curl_api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s->curl = curl_api.easy_init()) == NULL) {
		snprintf(why, whylen, "cannot initialise libcurl");
		return EX_SOFTWARE;
	}
	if ((u = curl_api.url()) == NULL) {
		snprintf(why, whylen, "cannot initialise libcurl");
		return EX_SOFTWARE;
	}
	status = curl_urls(s, u, url, &full, why, whylen);
	curl_api.url_cleanup(u);
	if (status == 0 && strstr(full, "{date}") != NULL)
		s->url_template = xstrndup(full, strlen(full));
	if (status == 0 && curl_setup(s, full, connect_timeout_ms, timeout_ms, why, whylen) != 0)
		status = EX_SOFTWARE;
	curl_api.free(full); /* libcurl keeps its own copy of CURLOPT_URL */
	return status;
}

void
fxsource_close(struct fxsource *s)
{
	if (s->curl != NULL) {
		curl_api.easy_cleanup(s->curl);
		curl_api.global_cleanup();
	}
	free(s->path);
	free(s->path_template);
	free(s->url_template);
	free(s->log_url);
	buf_free(&s->body);
	buf_free(&s->scrubbed);
	memset(s, 0, sizeof(*s));
}

/* The whole file into s->body: 0, or -1 with the reason in why. */
static int
read_file(struct fxsource *s, long *status, char *why, size_t whylen)
{
	if (file_read_all(s->path, MAX_BODY, &s->body, NULL) == 0)
		return 0;
	if (errno == ENOENT)
		*status = 404;
	if (errno == EFBIG)
		snprintf(why, whylen, "%s is no regular file of at most 1 MiB", s->path);
	else
		snprintf(why, whylen, "cannot open %s: %s", s->path, strerror(errno));
	return -1;
}

int
fxsource_fetch(struct fxsource *s, const char *date, long *status, char *why, size_t whylen)
{
	CURLcode rc;

	*status = 0;
	s->body.len = 0;
	buf_puts(&s->body, "");
	if (s->curl == NULL) {
		if (date != NULL && s->path_template != NULL) {
			free(s->path);
			s->path = fxdates_fill(s->path_template, date);
		}
		return read_file(s, status, why, whylen);
	}
	if (date != NULL && s->url_template != NULL) {
		char *url = fxdates_fill(s->url_template, date);
		rc = curl_api.easy_setopt(s->curl, CURLOPT_URL, url);
		free(url);
		if (rc != CURLE_OK) {
			snprintf(why, whylen, "libcurl refused the URL: %s", curl_api.easy_strerror(rc));
			return -1;
		}
	}
	s->curl_error[0] = '\0';
	rc = curl_api.easy_perform(s->curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", rc == CURLE_WRITE_ERROR ? "answer larger than 1 MiB" :
		    rc == CURLE_ABORTED_BY_CALLBACK ? "request ended by a stop" :
		    s->curl_error[0] ? s->curl_error : curl_api.easy_strerror(rc));
		return -1;
	}
	if (curl_api.easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status) != CURLE_OK ||
	    *status < 200 || *status > 299) {
		snprintf(why, whylen, "HTTP status %ld", *status);
		return -1;
	}
	return 0;
}
