/* casino-http-handler: serve HTTP/1.1 on one connection (stdin/stdout) with
 * the casino-tee-agg snapshot: /materialized, /history, /metrics, /healthz
 * and the dashboard. socat runs one per connection (casino-serve). The
 * answers are written by lib/http/httpresp, the metrics text by lib/http/promtext,
 * the stages read by lib/healthread, the dashboard found by lib/http/dashdir;
 * this is the options, the loop and the routes. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "http/connread.h"
#include "http/dashdir.h"
#include "healthread.h"
#include "history.h"
#include "http/httpreq.h"
#include "http/httpresp.h"
#include "http/httpslots.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "out.h"
#include "http/peercap.h"
#include "http/promtext.h"
#include "readfile.h"
#include "rundir.h"
#include "timefmt.h"

enum {
	HEALTHY_AGE_MS = 5000,     /* /healthz: a snapshot younger than this */
	HELD_TOO_LONG_MS = 5000,   /* /healthz: no stage holding events longer */
	MAX_STAGES = 64,           /* stage files read per request */
	FILE_MAX = 16 << 20,       /* refuse to serve anything bigger */
	LINGER_MS = 2000,          /* drain input this long after the last answer */
	MAX_REQUESTS = 1000,       /* per connection */
	OUT_FLUSH = 64 << 10,      /* write pipelined answers at least this often */
};

/* The options (doc/design.md, "One declaration per option"). */
enum { SNAPSHOT, TIMEOUT, ROOT, PER_ADDRESS, CHILDREN, NICE };
static struct opt opts[] = {
	[SNAPSHOT] = { 'f', "snapshot", "snapshot", "CASINO_SNAPSHOT",
	    .help = "the snapshot to serve; default: materialized.json in the runtime dir" },
	[TIMEOUT] = { 't', "timeout", "seconds", "CASINO_HTTP_TIMEOUT", "5", .kind = OPT_REAL,
	    .rmin = 0.001, .rmax = 3600, .help = "close after seconds without a whole request" },
	[ROOT] = { 'r', "root", "dashboard-dir", "CASINO_HTTP_ROOT",
	    .help = "the dashboard's files; default: share/casino/dashboard\n"
	    "next to the program's bin" },
	[PER_ADDRESS] = { 'a', "max-per-address", "max-per-address", "CASINO_HTTP_MAX_PER_ADDRESS",
	    "256", .kind = OPT_NUMBER, .max = 1000000,
	    .help = "at most this many connections at once from one\nclient address, 0: no cap" },
	[CHILDREN] = { 'c', "max-children", "max-children", "CASINO_HTTP_MAX_CHILDREN", "0", .kind =
	    OPT_NUMBER, .max = 1000000, .help = "this port's handler slots, to make room in; 0: none" },
	[NICE] = { 'n', "nice", "nice", "CASINO_HTTP_NICE", "10", .kind = OPT_NUMBER, .max = 19,
	    .help = "run this many steps nicer than casino-serve, 0 to 19" },
};

/* The files this handler may serve besides the snapshot: a fixed table, so
 * no path from a request is ever opened. */
static const struct asset {
	const char *path, *file, *type;
} assets[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/dashboard.css", "dashboard.css", "text/css; charset=utf-8" },
	{ "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8" },
};

struct config {
	const char *snapshot;
	const char *root;     /* NULL: found next to the program when first needed */
	struct buf root_buf;
	double timeout;
};

/* What an answer is made from, kept across requests: the files served,
 * each read again only when it changed (lib/readfile), the live stages'
 * counters, the history's path. */
static struct file_cache snapshot_file, history_file, asset_files[sizeof assets / sizeof assets[0]];
static struct buf history_name;
static struct health_stage stages[MAX_STAGES];

/* The answer when casino-tee-agg's file cannot be read: 503 when there is
 * none yet (missing says which). */
static void
snapshot_error(struct httpresp *r, const char *path, const char *missing)
{
	if (errno == ENOENT)
		httpresp_error(r, 503, "Service Unavailable", missing);
	else {
		log_error("cannot read snapshot", LOG_STR("path", path), LOG_STR("error", file_read_why(errno)));
		httpresp_error(r, 500, "Internal Server Error", "snapshot unreadable");
	}
}

/* 200 with a file's current text; kind tells its ETag from other files'. */
static void
serve_file(struct httpresp *r, const struct file_cache *f, const char *type, const char *kind)
{
	r->body.len = 0;
	buf_append(&r->body, f->text.data, f->text.len);
	httpresp_status(r, 200, "OK");
	r->type = type;
	httpresp_validators(r, &f->st, kind, 0);
}

static void
serve_snapshot(struct httpresp *r, const char *path)
{
	if (file_read_cached(path, FILE_MAX, &snapshot_file) != 0)
		snapshot_error(r, path, "no snapshot yet");
	else
		serve_file(r, &snapshot_file, "application/json", "");
}

/* Milliseconds since the file st describes was written (negative: future). */
static long long
age_ms(const struct stat *st)
{
	struct utc_time now = timefmt_now();

	return (long long)(now.sec - st->st_mtim.tv_sec) * 1000 +
	    (now.nsec - st->st_mtim.tv_nsec) / 1000000;
}

/* /metrics: the snapshot in the Prometheus text format 0.0.4, and the
 * stages, which an operator needs most when there is no snapshot. The age
 * is in whole seconds, so one answer (and its ETag) holds for a second. */
static void
serve_metrics(struct httpresp *r, const char *path)
{
	struct stat st = { 0 };
	char why[128];
	long long age;
	int have = file_read_cached(path, FILE_MAX, &snapshot_file) == 0;

	if (!have && errno != ENOENT)
		log_error("cannot read snapshot", LOG_STR("path", path), LOG_STR("error", file_read_why(errno)));
	if (have)
		st = snapshot_file.st;
	age = have ? age_ms(&st) : 0;
	r->body.len = 0;
	if (promtext_snapshot(&r->body, have ? snapshot_file.text.data : NULL, snapshot_file.text.len,
	    age < 0 ? 0 : age / 1000, why, sizeof why) != 0)
		log_error("snapshot is not a JSON object", LOG_STR("path", path), LOG_STR("error", why));
	promtext_stages(&r->body, stages, health_fold(stages, health_read_all(stages, MAX_STAGES)),
	    timefmt_wall_ms());
	httpresp_status(r, 200, "OK");
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	/* The stage counters change apart from the snapshot: the tag is the text's. */
	httpresp_validators(r, &st, "m", (long long)promtext_hash(r->body.data, r->body.len));
	if (!have)
		r->modified = 0;
}

/* /history: casino-tee-agg's file beside the snapshot. */
static void
serve_history(struct httpresp *r, const char *snapshot)
{
	if (history_name.len == 0)
		history_path(snapshot, &history_name);
	if (file_read_cached(history_name.data, FILE_MAX, &history_file) != 0)
		snapshot_error(r, history_name.data, "no history yet");
	else
		serve_file(r, &history_file, "application/json", "h");
}

/* /healthz: 200 while the snapshot was written less than 5 s ago and no
 * stage has held an event for 5 s or more; else 503 with the reason. */
static void
serve_health(struct httpresp *r, const char *path)
{
	long long age, now = timefmt_wall_ms();
	int n;

	if (file_read_cached(path, FILE_MAX, &snapshot_file) != 0) {
		snapshot_error(r, path, "no snapshot yet");
		return;
	}
	age = age_ms(&snapshot_file.st);
	r->body.len = 0;
	r->type = "application/json";
	n = health_read_all(stages, MAX_STAGES);
	for (int i = 0; i < n; i++) {
		const struct health_stage *s = &stages[i];
		if (s->held > 0 && s->held_since_ms > 0 && now - s->held_since_ms >= HELD_TOO_LONG_MS) {
			httpresp_status(r, 503, "Service Unavailable");
			buf_printf(&r->body, "{\"status\":\"held\",\"stage\":\"%s\",\"pid\":%ld,"
			    "\"held\":%lld,\"held_ms\":%lld,\"age_ms\":%lld}\n", s->name, s->pid,
			    s->held, now - s->held_since_ms, age);
			return;
		}
	}
	/* A time far in the future is as suspect as an old one. */
	if (age < HEALTHY_AGE_MS && age > -HEALTHY_AGE_MS) {
		httpresp_status(r, 200, "OK");
		buf_printf(&r->body, "{\"status\":\"ok\",\"age_ms\":%lld,\"stages\":%d}\n", age, n);
	} else {
		httpresp_status(r, 503, "Service Unavailable");
		buf_printf(&r->body, "{\"status\":\"stale\",\"age_ms\":%lld}\n", age);
	}
}

static void
serve_asset(struct httpresp *r, struct config *cfg, const struct asset *a)
{
	char path[PATH_MAX];
	struct file_cache *f = &asset_files[a - assets];
	const char *root;

	if (cfg->root == NULL) {
		dashdir_default(&cfg->root_buf);
		cfg->root = cfg->root_buf.data;
	}
	root = cfg->root;

	if (snprintf(path, sizeof path, "%s/%s", root, a->file) >= (int)sizeof path ||
	    file_read_cached(path, FILE_MAX, f) != 0) {
		log_error("cannot read the dashboard", LOG_STR("path", path),
		    LOG_STR("error", file_read_why(errno)));
		httpresp_error(r, 500, "Internal Server Error", "dashboard missing");
		return;
	}
	serve_file(r, f, a->type, "a");
}

static void
route(struct httpresp *r, const struct httpreq *req, struct config *cfg)
{
	enum { NONE, SNAPSHOT, HISTORY, METRICS, HEALTH, ASSET } what = NONE;
	const struct asset *asset = NULL;
	size_t i;

	if (httpreq_path_is(req, "/materialized"))
		what = SNAPSHOT;
	else if (httpreq_path_is(req, "/history"))
		what = HISTORY;
	else if (httpreq_path_is(req, "/metrics"))
		what = METRICS;
	else if (httpreq_path_is(req, "/healthz"))
		what = HEALTH;
	for (i = 0; what == NONE && i < sizeof assets / sizeof assets[0]; i++)
		if (httpreq_path_is(req, assets[i].path)) {
			what = ASSET;
			asset = &assets[i];
		}
	r->etag[0] = '\0';
	r->modified = 0;
	r->extra = NULL;
	if (what == NONE)
		httpresp_error(r, 404, "Not Found", "not found");
	else if (!httpreq_method_is(req, "GET") && !httpreq_method_is(req, "HEAD")) {
		httpresp_error(r, 405, "Method Not Allowed", "method not allowed");
		r->extra = "Allow: GET, HEAD\r\n";
	} else if (what == SNAPSHOT)
		serve_snapshot(r, cfg->snapshot);
	else if (what == HISTORY)
		serve_history(r, cfg->snapshot);
	else if (what == METRICS)
		serve_metrics(r, cfg->snapshot);
	else if (what == HEALTH)
		serve_health(r, cfg->snapshot);
	else
		serve_asset(r, cfg, asset);
}

/* Today's Date header value, formatted once a second. */
static const char *
date_now(void)
{
	static char date[64];
	static int64_t when = -1;
	int64_t now = timefmt_now().sec;

	if (now != when) {
		httpresp_date(date, sizeof date, now);
		when = now;
	}
	return date;
}

/* One record per request, at debug only: under load they would be most of
 * the output. What goes wrong is logged where it happens, as a warning. */
static void
log_request(const struct httpreq *req, const struct httpresp *resp, const char *peer)
{
	char method[16], path[256];

	if (!log_enabled(LOG_DEBUG))
		return;
	snprintf(method, sizeof method, "%.*s", (int)req->method_len, req->method);
	snprintf(path, sizeof path, "%.*s", (int)req->path_len, req->path);
	log_debug("request", LOG_STR("peer", peer), LOG_STR("method", method),
	    LOG_STR("path", path), LOG_INT("status", resp->status),
	    LOG_INT("bytes", resp->body.len));
}

/* One connection: the head buffer holds what was read and not yet handled
 * (HTTPREQ_MAX_HEAD + 1 bytes, so a head over the limit is seen as such). */
struct conn {
	char in[HTTPREQ_MAX_HEAD + 1];
	size_t len;
	struct connread input;
	struct buf out;
	struct httpresp resp;
	unsigned requests;
	char peer[PEERCAP_NAME_MAX];
	char host[PEERCAP_HOST_MAX];
};

static int
flush(struct conn *c)
{
	if (c->out.len == 0)
		return 0;
	if (fd_write_all(STDOUT_FILENO, c->out.data, c->out.len) != 0) {
		log_warn("cannot send the response", LOG_STR("peer", c->peer),
		    LOG_STR("error", strerror(errno)));
		return -1;
	}
	c->out.len = 0;
	return 0;
}

/* Read more of the next request head, waiting until deadline. 1: read
 * something; 0: close quietly (the client left between requests); -1: the
 * client left inside a head; -2: timed out inside a head; -3: timed out
 * between requests. */
static int
read_more(struct conn *c, int64_t deadline)
{
	ssize_t n;

	n = connread_read(&c->input, c->in + c->len, sizeof c->in - c->len, deadline);
	if (n == -2)
		return c->len == 0 ? -3 : -2;
	if (n < 0) {
		log_warn("cannot read request", LOG_STR("peer", c->peer),
		    LOG_STR("error", strerror(errno)));
		return 0;
	}
	if (n == 0)
		return c->len == 0 ? 0 : -1;
	c->len += (size_t)n;
	return 1;
}

/* 1 when the client's address has a connection slot left (peercap); else
 * the first answer is a 503 and the connection ends. */
static int
admit(struct conn *c, long max)
{
	int r = peercap_take(c->host, max);

	if (r < 0)
		log_warn("cannot count connections per address; serving uncapped",
		    LOG_STR("peer", c->peer), LOG_STR("error", strerror(errno)));
	if (r != 0)
		return 1;
	log_warn("too many connections from one address, refusing", LOG_STR("peer", c->peer),
	    LOG_INT("max_per_address", max));
	httpresp_error(&c->resp, 503, "Service Unavailable",
	    "too many connections from your address");
	c->resp.extra = "Retry-After: 1\r\n";
	httpresp_put(&c->out, &c->resp, 0, date_now(), "close");
	if (flush(c) == 0)
		connread_linger(STDIN_FILENO, STDOUT_FILENO, LINGER_MS);
	return 0;
}

/* Serve requests until one side ends the connection. */
static void
serve(struct conn *c, struct config *cfg)
{
	int64_t deadline, until;
	struct httpreq req;
	enum httpreq_status st;
	const char *inm;
	size_t inm_len;
	int keep, r;

	connread_init(&c->input, STDIN_FILENO, (int64_t)(cfg->timeout * 1000));
	deadline = timefmt_monotonic_ms() + c->input.timeout_ms;
	for (;;) {
		st = httpreq_parse(c->in, c->len, &req);
		if (st == HTTPREQ_INCOMPLETE) {
			if (flush(c) != 0)
				return;
			/* Idle after a request, it looks whether to make room too. */
			until = httpslots_wake(deadline, c->requests > 0 && c->len == 0);
			r = read_more(c, until);
			if (r == 1 || (r == -3 && until < deadline && !httpslots_should_yield()))
				continue;
			if (r == -2)
				log_warn("no complete request in time, closing", LOG_STR("peer", c->peer),
				    LOG_NUM("timeout_s", cfg->timeout), LOG_INT("bytes", c->len));
			if (r == 0 || r == -2 || r == -3)
				return;
			req.error = "connection closed inside the request head";
			st = HTTPREQ_BAD;
		}
		c->requests++;
		if (st == HTTPREQ_BAD) {
			log_warn("bad request", LOG_STR("peer", c->peer), LOG_STR("reason", req.error));
			httpresp_error(&c->resp, 400, "Bad Request", req.error);
			c->resp.extra = NULL;
			httpresp_put(&c->out, &c->resp, 0, date_now(), "close");
			break;
		}
		route(&c->resp, &req, cfg);
		keep = httpreq_keep_alive(&req) && c->requests < MAX_REQUESTS &&
		    !httpslots_should_yield();
		inm = httpreq_field(&req, "if-none-match", &inm_len);
		if (inm != NULL && c->resp.status == 200 && c->resp.etag[0] != '\0' &&
		    httpresp_etag_matches(inm, inm_len, c->resp.etag)) {
			httpresp_status(&c->resp, 304, "Not Modified");
			c->resp.body.len = 0;
		}
		httpresp_put(&c->out, &c->resp,
		    httpreq_method_is(&req, "HEAD") || c->resp.status == 304, date_now(),
		    !keep ? "close" : req.version_minor == 0 ? "keep-alive" : NULL);
		log_request(&req, &c->resp, c->peer);
		if (!keep)
			break;
		c->len -= req.head_len;
		memmove(c->in, c->in + req.head_len, c->len);
		deadline = timefmt_monotonic_ms() + c->input.timeout_ms;
		if (c->out.len >= OUT_FLUSH && flush(c) != 0)
			return;
	}
	if (flush(c) == 0)
		connread_linger(STDIN_FILENO, STDOUT_FILENO, LINGER_MS);
}

/* Handlers yield to socat, which forks them, and to the pipeline: the
 * first answer on a new connection waits for socat's accept and fork, and
 * a thousand clients opening at once are served sooner when socat keeps
 * its share of the CPU (bench/serve). Raising nice needs no privilege. */
static void
be_nicer(int steps)
{
	errno = 0;
	if (steps > 0 && nice(steps) == -1 && errno != 0)
		log_debug("cannot lower the priority", LOG_INT("nice", steps),
		    LOG_STR("error", strerror(errno)));
}

int
main(int argc, char **argv)
{
	struct config cfg = { 0 };
	struct buf snapshot = { 0 };
	static struct conn conn;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	cfg.timeout = opts[TIMEOUT].real;
	cfg.root = opts[ROOT].value;
	if (cfg.root != NULL) {
		buf_printf(&cfg.root_buf, "%s/index.html", cfg.root);
		if (access(cfg.root_buf.data, R_OK) != 0)
			die(EX_USAGE, "no dashboard in that folder", LOG_STR("option", opts[ROOT].source),
			    LOG_STR("value", cfg.root), LOG_STR("error", strerror(errno)));
	}
	cfg.snapshot = opts[SNAPSHOT].value;
	if (cfg.snapshot != NULL && *cfg.snapshot == '\0')
		opt_bad_value(&opts[SNAPSHOT], NULL);
	opt_checked();
	if (cfg.snapshot == NULL) {
		rundir_snapshot_path(&snapshot);
		cfg.snapshot = snapshot.data;
	}
	be_nicer((int)opts[NICE].number);
	signal(SIGPIPE, SIG_IGN);
	/* When casino-serve (socat, our parent) stops, its kept connections end
	 * with it: a polling dashboard would otherwise keep one for minutes. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warn("cannot ask to end with casino-serve", LOG_STR("error", strerror(errno)));
	peercap_name(STDIN_FILENO, conn.peer, sizeof conn.peer, conn.host);
	if (conn.host[0] == '\0' || admit(&conn, (long)opts[PER_ADDRESS].number)) {
		httpslots_take(STDIN_FILENO, (long)opts[CHILDREN].number);
		serve(&conn, &cfg);
	}
	buf_free(&conn.resp.body);
	file_cache_free(&snapshot_file);
	file_cache_free(&history_file);
	for (size_t i = 0; i < sizeof asset_files / sizeof asset_files[0]; i++)
		file_cache_free(&asset_files[i]);
	buf_free(&history_name);
	buf_free(&conn.out);
	buf_free(&cfg.root_buf);
	buf_free(&snapshot);
	return 0;
}
