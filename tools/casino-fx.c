/* casino-fx: set "amount_eur" (EUR cents) on bets and deposits from rates
 * fetched with one request, reused for at most --max-age seconds. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "fxdates.h"
#include "fxrates.h"
#include "health.h"
#include "log.h"
#include "money.h"
#include "opt.h"
#include "readfile.h"
#include "stage.h"

static const char usage_text[] =
    "casino-fx [-a seconds] [-D latest|event] [-e hold|pass] [-k key] [-r file] [-u url]";

#define MAX_BODY (1024 * 1024)

/* libcurl and the TLS, Kerberos and LDAP libraries it pulls in make about
 * 7.5 MiB resident just by being loaded, four times what the rest of the
 * tool needs. A file:// URL needs none of it, so libcurl is loaded with
 * dlopen for http and https URLs only, and file:// URLs are read here. */
static struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*easy_cleanup)(CURL *);
	void (*global_cleanup)(void);
} curl;

#define CURL_SYMBOL(f) { "curl_" #f, offsetof(struct curl_api, f) }
static const struct { const char *name; size_t offset; } curl_symbols[] = {
	CURL_SYMBOL(global_init), CURL_SYMBOL(easy_init), CURL_SYMBOL(easy_setopt),
	CURL_SYMBOL(easy_perform), CURL_SYMBOL(easy_getinfo), CURL_SYMBOL(easy_strerror),
	CURL_SYMBOL(easy_escape), CURL_SYMBOL(free), CURL_SYMBOL(url), CURL_SYMBOL(url_set),
	CURL_SYMBOL(url_get), CURL_SYMBOL(url_cleanup), CURL_SYMBOL(easy_cleanup),
	CURL_SYMBOL(global_cleanup),
};

struct fx {
	CURL *curl;             /* NULL for a file:// URL */
	char *path;             /* the file of a file:// URL */
	char *log_url;          /* the URL without query or credentials */
	const char *key;        /* never logged; scrubbed from messages */
	struct buf body, why;
	struct fxrates table;
	int have_table, pass_on_error;
	int64_t fetched_ms, max_age_ms, retry_ms; /* monotonic */
	struct backoff backoff;
	char curl_error[CURL_ERROR_SIZE];
	int by_date;            /* --rates-date event */
	char *url_template;     /* the URL for libcurl, with {date} */
	char *path_template;    /* by_date: the file of a file:// URL, with {date} */
	char fetch_date[16];    /* by_date: the date of the last request */
	struct fxdates dates;
};

/* Stage health counters (doc/design.md, "Stage health"). */
static long long *fetches_ok, *fetches_failed, *rates_fetched_ms;

static void
usage(void)
{
	printf("usage: %s\n"
	    "  -u, --url URL        rate API or file:// URL (CASINO_FX_URL)\n"
	    "  -k, --key KEY        API key, sent as access_key (CASINO_FX_KEY)\n"
	    "  -a, --max-age S      reuse rates for at most S seconds, 0-60, default 60 (CASINO_FX_MAX_AGE)\n"
	    "  -D, --rates-date W   latest: the rates of now (default); event: of each event's\n"
	    "                       UTC date, {date} in the URL (CASINO_FX_RATES_DATE)\n"
	    "  -e, --on-error MODE  hold: wait for rates (default); pass: emit without amount_eur\n"
	    "                       (CASINO_FX_ON_ERROR)\n"
	    "  -r, --reject FILE    append rejected lines to FILE (CASINO_REJECT)\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version\n", usage_text);
	exit(0);
}

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The length of a copy of key at the start of msg, each byte as itself, as
 * %XX in either case, or a space as '+' (an API may echo the query it got);
 * -1 when there is none. */
static long
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

/* msg into fx->why with every copy of the key, in any of the forms of
 * key_at, replaced by "***". */
static const char *
scrubbed(struct fx *fx, const char *msg)
{
	long n;

	fx->why.len = 0;
	buf_puts(&fx->why, "");
	while (*msg != '\0') {
		if (fx->key != NULL && (n = key_at(msg, fx->key)) > 0) {
			buf_puts(&fx->why, "***");
			msg += n;
		} else {
			buf_putc(&fx->why, *msg++);
		}
	}
	return fx->why.data;
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

/* The whole file into fx->body; 0, or -1 with the reason in why. */
static int
read_file(struct fx *fx, char *why, size_t whylen)
{
	if (file_read_all(fx->path, MAX_BODY, &fx->body, NULL) == 0)
		return 0;
	if (errno == EFBIG)
		snprintf(why, whylen, "%s is no regular file of at most 1 MiB", fx->path);
	else
		snprintf(why, whylen, "cannot open %s: %s", fx->path, strerror(errno));
	return -1;
}

/* The answer's body into fx->body: 0, or -1 with the reason in why. */
static int
fetch_body(struct fx *fx, char *why, size_t whylen)
{
	long status = 0;
	CURLcode rc;

	fx->body.len = 0;
	if (fx->curl == NULL)
		return read_file(fx, why, whylen);
	fx->curl_error[0] = '\0';
	rc = curl.easy_perform(fx->curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", rc == CURLE_WRITE_ERROR ? "answer larger than 1 MiB" :
		    fx->curl_error[0] ? fx->curl_error : curl.easy_strerror(rc));
		return -1;
	}
	if (curl.easy_getinfo(fx->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
	    status < 200 || status > 299) {
		snprintf(why, whylen, "HTTP status %ld", status);
		return -1;
	}
	return 0;
}

/* One request. 0 with a new table, -1 with the reason in fx->why. */
static int
fetch(struct fx *fx)
{
	int64_t started = timefmt_monotonic_ms();
	struct fxrates table;
	char why[300];

	if (fetch_body(fx, why, sizeof(why)) != 0 ||
	    fxrates_parse(fx->body.data ? fx->body.data : "", fx->body.len, &table,
	        why, sizeof(why)) != 0) {
		scrubbed(fx, why);
		(*fetches_failed)++;
		return -1;
	}
	(*fetches_ok)++;
	*rates_fetched_ms = timefmt_now().sec * 1000;
	fxrates_free(&fx->table);
	fx->table = table;
	fx->have_table = 1;
	fx->fetched_ms = started; /* the age counts from the request */
	log_info("rates fetched", LOG_STR("url", fx->log_url), LOG_STR("date", table.date),
	    LOG_INT("currencies", table.count));
	return 0;
}

/* --on-error pass while backing off: no request yet, the event goes on. */
static int
backing_off(const struct fx *fx)
{
	return fx->pass_on_error && fx->backoff.delay_ms > 0 &&
	    timefmt_monotonic_ms() < fx->retry_ms;
}

/* After a failed fetch (logged by the caller): back off. 0: pass the event
 * on (--on-error pass); 1: try again; -1: stopped by a signal. */
static int
fetch_retry(struct fx *fx, int64_t delay)
{
	fx->retry_ms = timefmt_monotonic_ms() + delay;
	if (fx->pass_on_error)
		return 0;
	health_hold(1);
	return sig_sleep_ms(delay) != 0 ? -1 : 1;
}

/* 1: fresh rates in fx->table. 0: none, pass the event on (--on-error pass).
 * -1: stopped by a signal while holding. Holding means not returning: the
 * event waits here and the ones behind it wait in the pipe. */
static int
rates_ready(struct fx *fx)
{
	int again = 1;

	while (again == 1) {
		int64_t now = timefmt_monotonic_ms(), delay;
		/* --max-age 0: never reused, even within the same millisecond. */
		if (fx->have_table && fx->max_age_ms > 0 && now - fx->fetched_ms <= fx->max_age_ms) {
			health_hold(0);
			return 1;
		}
		if (backing_off(fx))
			return 0;
		out_flush(); /* what is done goes out before a slow request */
		if (fetch(fx) == 0) {
			health_hold(0);
			backoff_reset(&fx->backoff);
			return 1; /* fresh for this event even with --max-age 0 */
		}
		delay = backoff_next(&fx->backoff);
		log_warn("cannot fetch rates", LOG_STR("url", fx->log_url),
		    LOG_STR("error", fx->why.data), LOG_INT("retry_in_ms", delay));
		again = fetch_retry(fx, delay);
	}
	return again;
}

static void
setopt_ok(CURLcode rc)
{
	if (rc != CURLE_OK)
		die(EX_SOFTWARE, "libcurl refused an option", LOG_STR("error", curl.easy_strerror(rc)));
}

static void
load_curl(void)
{
	void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL)
		die(EX_UNAVAILABLE, "cannot load libcurl", LOG_STR("error", dlerror()));
	for (size_t i = 0; i < sizeof(curl_symbols) / sizeof(*curl_symbols); i++) {
		void *f = dlsym(lib, curl_symbols[i].name);
		if (f == NULL)
			die(EX_UNAVAILABLE, "libcurl lacks a function",
			    LOG_STR("name", curl_symbols[i].name));
		memcpy((char *)&curl + curl_symbols[i].offset, &f, sizeof(f));
	}
}

/* A file://[localhost]/path URL: the path, %XX decoded; NULL if url is not
 * one. Like libcurl, a query or fragment is not part of the path. */
static char *
file_url_path(const char *url)
{
	struct buf path = { 0 };
	unsigned int byte;

	if (strncasecmp(url, "file://", 7) != 0)
		return NULL;
	url += 7;
	if (strncasecmp(url, "localhost/", 10) == 0)
		url += 9;
	if (*url != '/')
		die(EX_USAGE, "a file URL needs an absolute path (file:///path)");
	for (; *url != '\0' && *url != '?' && *url != '#'; url++) {
		if (*url == '%' && sscanf(url + 1, "%2x", &byte) == 1 &&
		    url[1] != '\0' && url[2] != '\0' && byte != 0) {
			buf_putc(&path, (char)byte);
			url += 2;
		} else {
			buf_putc(&path, *url);
		}
	}
	return path.data;
}

/* Set up fx for url: a file path, or a libcurl handle for http/https with
 * access_key=key added to the query. */
static void
fx_open(struct fx *fx, const char *url, const char *key)
{
	CURLU *u;
	char *scheme = NULL, *full = NULL, *shown = NULL;

	fx->key = key != NULL && *key != '\0' ? key : NULL;
	if ((fx->path = file_url_path(url)) != NULL) {
		fx->log_url = xstrndup(url, strcspn(url, "?#"));
		return;
	}
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		die(EX_USAGE, "rate URL must be http, https or file (--url, CASINO_FX_URL)");
	load_curl();
	if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (u = curl.url()) == NULL ||
	    (fx->curl = curl.easy_init()) == NULL)
		die(EX_SOFTWARE, "cannot initialise libcurl");
	/* The URL is not logged when it cannot be parsed: it may hold a key. */
	if (curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		die(EX_USAGE, "bad rate URL (--url, CASINO_FX_URL)");
	if (fx->key != NULL) {
		char *escaped = curl.easy_escape(fx->curl, fx->key, 0);
		struct buf q = { 0 };
		if (escaped == NULL)
			die(EX_SOFTWARE, "cannot escape the key");
		buf_printf(&q, "access_key=%s", escaped);
		if (curl.url_set(u, CURLUPART_QUERY, q.data, CURLU_APPENDQUERY) != CURLUE_OK)
			die(EX_SOFTWARE, "cannot add the key to the URL");
		curl.free(escaped);
		buf_free(&q);
	}
	if (curl.url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    curl.url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl.url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl.url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK)
		die(EX_SOFTWARE, "cannot build the rate URL");
	fx->log_url = xstrndup(shown, strlen(shown));
	if (strstr(full, "{date}") != NULL)
		fx->url_template = xstrndup(full, strlen(full));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_URL, full));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_PROTOCOLS_STR, "http,https"));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)opt_number(
	    "CASINO_FX_CONNECT_TIMEOUT_MS", opt_env("CASINO_FX_CONNECT_TIMEOUT_MS", "5000"), 1, 600000)));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_TIMEOUT_MS, (long)opt_number(
	    "CASINO_FX_TIMEOUT_MS", opt_env("CASINO_FX_TIMEOUT_MS", "10000"), 1, 600000)));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_NOSIGNAL, 1L));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_ACCEPT_ENCODING, ""));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_USERAGENT, "casino-fx/" CASINO_VERSION));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_ERRORBUFFER, fx->curl_error));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_WRITEFUNCTION, collect));
	setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_WRITEDATA, &fx->body));
	curl.free(scheme);
	curl.free(full); /* libcurl keeps its own copy of CURLOPT_URL */
	curl.free(shown);
	curl.url_cleanup(u);
}

static void
fx_close(struct fx *fx)
{
	if (fx->curl != NULL) {
		curl.easy_cleanup(fx->curl);
		curl.global_cleanup();
	}
	free(fx->path);
	free(fx->path_template);
	free(fx->url_template);
	fxdates_free(&fx->dates);
	fxrates_free(&fx->table);
	buf_free(&fx->body);
	buf_free(&fx->why);
	free(fx->log_url);
}

/* One request for the rates of day (--rates-date event). "No data" is what
 * a source says of a date it has no rates for: HTTP 404 or 410, no such
 * file, or an API error saying so (fxrates_no_data); then the caller walks
 * back a day. Anything else that goes wrong may pass and is a failure. */
static enum fx_fetch
fetch_day(void *arg, int64_t day, struct fxrates *out)
{
	struct fx *fx = arg;
	const char *body;
	char date[16], why[300];
	long status = 0;
	int failed;

	fxdates_name(day, date);
	memcpy(fx->fetch_date, date, sizeof(date));
	if (fx->curl != NULL) {
		char *url = fxdates_fill(fx->url_template, date);
		setopt_ok(curl.easy_setopt(fx->curl, CURLOPT_URL, url));
		free(url);
	} else {
		free(fx->path);
		fx->path = fxdates_fill(fx->path_template, date);
	}
	failed = fetch_body(fx, why, sizeof(why)) != 0;
	body = fx->body.data ? fx->body.data : "";
	if (failed && fx->curl != NULL)
		curl.easy_getinfo(fx->curl, CURLINFO_RESPONSE_CODE, &status);
	if (failed && fx->curl == NULL && access(fx->path, F_OK) != 0 && errno == ENOENT)
		status = 404;
	if (!failed)
		failed = fxrates_parse(body, fx->body.len, out, why, sizeof(why)) != 0;
	if (failed && (status == 404 || status == 410 || fxrates_no_data(body, fx->body.len))) {
		log_info("no rates for this date", LOG_STR("url", fx->log_url),
		    LOG_STR("date", date), LOG_STR("reason", scrubbed(fx, why)));
		(*fetches_ok)++; /* the source answered: it has nothing for that day */
		return FX_FETCH_NO_DATA;
	}
	if (!failed && strlen(out->date) >= 10 && strncmp(out->date, date, 10) > 0) {
		/* An API that ignores the date answers with today's rates. */
		snprintf(why, sizeof(why), "answer is for %.10s, after the date asked", out->date);
		fxrates_free(out);
		failed = 1;
	}
	if (failed) {
		scrubbed(fx, why);
		(*fetches_failed)++;
		return FX_FETCH_FAILED;
	}
	(*fetches_ok)++;
	*rates_fetched_ms = timefmt_now().sec * 1000;
	log_info("rates fetched", LOG_STR("url", fx->log_url), LOG_STR("date", date),
	    LOG_STR("rates_date", out->date), LOG_INT("currencies", out->count));
	return FX_FETCH_OK;
}

/* rates_ready for --rates-date event: 1 with the rates of day, or of the
 * nearest earlier day that has them, in *table; 0: pass the event on; -1:
 * stopped while holding. A day's rates never change: no --max-age. */
static int
rates_ready_on(struct fx *fx, int64_t day, const struct fxrates **table)
{
	enum fx_fetch result;
	char date[16], used_date[16];
	int64_t used;
	int fetched, again;

	if ((*table = fxdates_cached(&fx->dates, day)) != NULL)
		return 1;
	fxdates_name(day, date);
	for (;;) {
		int64_t delay;
		if (backing_off(fx))
			return 0;
		out_flush(); /* what is done goes out before a slow request */
		*table = fxdates_resolve(&fx->dates, day, fetch_day, fx, &used, &fetched, &result);
		if (*table != NULL) {
			health_hold(0);
			backoff_reset(&fx->backoff);
			fxdates_name(used, used_date);
			if (fetched && used != day)
				log_info("using the rates of the nearest earlier date",
				    LOG_STR("date", date), LOG_STR("rates_date", used_date));
			return 1;
		}
		delay = backoff_next(&fx->backoff);
		if (result == FX_FETCH_NO_DATA)
			log_warn("no rates for the date or the 7 days before it",
			    LOG_STR("url", fx->log_url), LOG_STR("date", date),
			    LOG_INT("retry_in_ms", delay));
		else
			log_warn("cannot fetch rates", LOG_STR("url", fx->log_url),
			    LOG_STR("date", fx->fetch_date), LOG_STR("error", fx->why.data),
			    LOG_INT("retry_in_ms", delay));
		if ((again = fetch_retry(fx, delay)) != 1)
			return again;
	}
}

/* Write ev with amount_eur from the table, or without it (logged) when its
 * currency has no rate. */
static void
emit_converted(struct stage *st, const struct event *ev, const struct fxrates *table)
{
	const struct fx_rate *rate = fxrates_find(table, ev->currency);
	long long cents;
	char value[24];

	if (rate == NULL) {
		log_warn("unknown currency; event passed without amount_eur",
		    LOG_INT("event_id", ev->id), LOG_STR("currency", ev->currency));
		stage_emit(st, ev);
	} else if (fx_to_eur_cents(ev->amount, money_decimals(ev->currency), rate, &cents) != 0) {
		log_warn("amount_eur out of range; event passed without it",
		    LOG_INT("event_id", ev->id), LOG_STR("currency", ev->currency));
		stage_emit(st, ev);
	} else {
		stage_emit_key(st, ev, "amount_eur", value,
		    (size_t)snprintf(value, sizeof(value), "%lld", cents));
	}
}

/* --rates-date: latest or event, and event needs {date} in the URL. */
static void
rates_by_date(struct fx *fx, const char *value, const char *source, const char *url)
{
	if (strcmp(value, "latest") != 0 && strcmp(value, "event") != 0)
		die(EX_USAGE, "bad option value", LOG_STR("option", source),
		    LOG_STR("value", value), LOG_STR("allowed", "latest event"));
	fx->by_date = strcmp(value, "event") == 0;
	if (fx->by_date && strstr(url, "{date}") == NULL) {
		log_error("rates of the event's date need {date} in the rate URL",
		    LOG_STR("option", source));
		opt_usage_error(usage_text);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "rates-date", required_argument, NULL, 'D' },
		{ "on-error", required_argument, NULL, 'e' },
		{ "reject", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url_arg = NULL, *key_arg = NULL, *max_age_arg = NULL;
	const char *on_error_arg = NULL, *reject_arg = NULL, *rates_date_arg = NULL;
	const char *url, *key, *reject, *v, *src;
	struct fx fx = { 0 };
	struct stage st;
	struct event ev;
	char value[24];
	int c, lost = 0, status;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "u:k:a:D:e:r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url_arg = optarg; break;
		case 'k': key_arg = optarg; break;
		case 'a': max_age_arg = optarg; break;
		case 'D': rates_date_arg = optarg; break;
		case 'e': on_error_arg = optarg; break;
		case 'r': reject_arg = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	opt_done(argc, argv, 0, usage_text);
	url = opt_pick("--url", url_arg, "CASINO_FX_URL", NULL, &src);
	if (url == NULL) {
		log_error("no rate URL: give -u URL or set CASINO_FX_URL");
		opt_usage_error(usage_text);
	}
	key = opt_pick("--key", key_arg, "CASINO_FX_KEY", NULL, &src);
	v = opt_pick("--on-error", on_error_arg, "CASINO_FX_ON_ERROR", "hold", &src);
	fx.pass_on_error = opt_choice(src, v, "hold pass") == 1;
	v = opt_pick("--max-age", max_age_arg, "CASINO_FX_MAX_AGE", "60", &src);
	fx.max_age_ms = opt_number(src, v, 0, 60) * 1000;
	reject = opt_pick("--reject", reject_arg, "CASINO_REJECT", NULL, &src);
	v = opt_pick("--rates-date", rates_date_arg, "CASINO_FX_RATES_DATE", "latest", &src);
	rates_by_date(&fx, v, src, url);
	fx_open(&fx, url, key);
	if (fx.by_date && fx.curl == NULL) {
		fx.path_template = fx.path;
		fx.path = NULL;
	}
	fetches_ok = health_counter("fetches_ok");
	fetches_failed = health_counter("fetches_error");
	rates_fetched_ms = health_counter("rates_fetched_ms");

	stage_open(&st, reject);
	while (stage_next(&st, &ev)) {
		if (!ev.has_amount) {
			stage_emit(&st, &ev);
		} else if (strcmp(ev.currency, "EUR") == 0) {
			stage_emit_key(&st, &ev, "amount_eur", value,
			    (size_t)snprintf(value, sizeof(value), "%lld", ev.amount));
		} else {
			const struct fxrates *table = &fx.table;
			switch (fx.by_date ? rates_ready_on(&fx, fxdates_day(ev.created_at), &table) :
			    rates_ready(&fx)) {
			case 1:
				emit_converted(&st, &ev, table);
				break;
			case 0:
				log_warn("no fresh rates; event passed without amount_eur",
				    LOG_INT("event_id", ev.id));
				stage_emit(&st, &ev);
				break;
			default: /* stopped while holding: save it and all behind it */
				stage_stop_holding(&st, &ev, 1);
				lost = 1;
				break;
			}
		}
		event_free(&ev);
		if (lost)
			break;
	}
	status = stage_finish(&st);
	fx_close(&fx);
	return status;
}
