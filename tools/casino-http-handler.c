/* casino-http-handler: serve HTTP/1.1 on one connection (stdin/stdout) with
 * the casino-tee-agg snapshot: /materialized, /metrics, /healthz and the
 * dashboard. socat runs one per connection (casino-serve). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "health.h"
#include "httpreq.h"
#include "json.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "readfile.h"
#include "rundir.h"
#include "timefmt.h"

static const char usage_text[] =
    "casino-http-handler [-f snapshot] [-t seconds] [-r dashboard-dir]";

enum {
	HEALTHY_AGE_MS = 5000,     /* /healthz: a snapshot younger than this */
	HELD_TOO_LONG_MS = 5000,   /* /healthz: no stage holding events longer */
	MAX_STAGES = 64,           /* stage files read per request */
	FILE_MAX = 16 << 20,       /* refuse to serve anything bigger */
	LINGER_MS = 2000,          /* drain input this long after the last answer */
	MAX_REQUESTS = 1000,       /* per connection */
	OUT_FLUSH = 64 << 10,      /* write pipelined answers at least this often */
};

static void
usage(void)
{
	printf("usage: %s\n"
	    "  -f, --snapshot FILE  the snapshot to serve (CASINO_SNAPSHOT,\n"
	    "                       default: materialized.json in the runtime dir)\n"
	    "  -t, --timeout S      close when no complete request came S seconds after\n"
	    "                       the connection or the last answer (CASINO_HTTP_TIMEOUT,\n"
	    "                       default 5)\n"
	    "  -r, --root DIR       the dashboard's files (CASINO_HTTP_ROOT, default:\n"
	    "                       share/casino/dashboard next to the program's bin)\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version\n", usage_text);
	exit(0);
}

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

struct response {
	int status;
	const char *reason, *type, *extra; /* extra: header lines, each ending CRLF */
	char etag[96];                     /* with quotes; empty: none */
	time_t modified;                   /* Last-Modified; 0: none */
	struct buf body;                   /* kept across requests: no allocation */
	struct buf source;                 /* the snapshot /metrics is made from */
	struct health_stage stages[MAX_STAGES]; /* the live stages' counters */
};

/* "address:port" of the client on stdin, or "-" when it is no socket. */
static void
peer_name(char *out, size_t size)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char host[INET6_ADDRSTRLEN] = "?";
	const char *lbracket = "", *rbracket = "";
	int port = 0;

	snprintf(out, size, "-");
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&sa, &len) != 0)
		return;
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		lbracket = "[";
		rbracket = "]";
	} else
		return;
	snprintf(out, size, "%s%s%s:%d", lbracket, host, rbracket, port);
}

/* Wait until fd is readable or the deadline passes; 0 on timeout. */
static int
wait_readable(int fd, int64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left;
	int r;

	do {
		left = deadline_ms - timefmt_monotonic_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
	} while (r < 0 && errno == EINTR);
	return r != 0;
}

static void
set_status(struct response *r, int status, const char *reason)
{
	r->status = status;
	r->reason = reason;
}

static void
set_error(struct response *r, int status, const char *reason, const char *error)
{
	set_status(r, status, reason);
	r->type = "application/json";
	r->etag[0] = '\0';
	r->modified = 0;
	r->body.len = 0;
	buf_puts(&r->body, "{\"error\":");
	buf_json_string(&r->body, error, strlen(error));
	buf_puts(&r->body, "}\n");
}

/* A strong validator for one representation of the file st describes: the
 * writer renames a new file into place, so inode, size and mtime change. */
static void
set_validators(struct response *r, const struct stat *st, const char *kind, long long extra)
{
	snprintf(r->etag, sizeof r->etag, "\"%s%llx-%llx-%llx.%lx-%llx\"", kind,
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec,
	    (unsigned long long)extra);
	r->modified = st->st_mtim.tv_sec;
}

/* The answer when the snapshot cannot be read: 503 when there is none yet. */
static void
snapshot_error(struct response *r, const char *path)
{
	if (errno == ENOENT)
		set_error(r, 503, "Service Unavailable", "no snapshot yet");
	else {
		log_error("cannot read snapshot", LOG_STR("path", path), LOG_STR("error", strerror(errno)));
		set_error(r, 500, "Internal Server Error", "snapshot unreadable");
	}
}

static void
serve_snapshot(struct response *r, const char *path)
{
	struct stat st;

	if (file_read_all(path, FILE_MAX, &r->body, &st) != 0) {
		snapshot_error(r, path);
		return;
	}
	set_status(r, 200, "OK");
	r->type = "application/json";
	set_validators(r, &st, "", 0);
}

/* Milliseconds since the file st describes was written (negative: future). */
static long long
age_ms(const struct stat *st)
{
	struct utc_time now = timefmt_now();

	return (long long)(now.sec - st->st_mtim.tv_sec) * 1000 +
	    (now.nsec - st->st_mtim.tv_nsec) / 1000000;
}

/* One metric: HELP, TYPE and a sample, the sample only when the snapshot
 * holds the value as a number (a JSON number is a valid Prometheus value).
 * player: the player_id label, or -1 for none. cents: the value is in
 * cents, the metric in units. */
static void
put_metric(struct buf *b, const char *name, const char *type, const char *help,
    const struct json_member *value, long long player, int cents)
{
	long long v;

	if (value == NULL || (value->kind != JSON_KIND_INTEGER && value->kind != JSON_KIND_REAL))
		return;
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s", name, help, name, type, name);
	if (player >= 0)
		buf_printf(b, "{player_id=\"%lld\"}", player);
	buf_putc(b, ' ');
	if (!cents)
		buf_append(b, value->value, value->value_len);
	else if (value->kind == JSON_KIND_INTEGER && json_member_integer(value, &v) == 0)
		buf_printf(b, "%s%lld.%02lld", v < 0 ? "-" : "", llabs(v / 100), llabs(v % 100));
	else
		buf_printf(b, "%.15g", strtod(value->value, NULL) / 100);
	buf_putc(b, '\n');
}

/* A top player, {"id":N,"count":N}, as a gauge labelled with the id. */
static void
put_top_player(struct buf *b, const struct json_members *snap, const char *key,
    const char *name, const char *help, int cents)
{
	const struct json_member *top = json_member_find(snap, key);
	struct json_members player = { 0 };
	char why[128];
	long long id;

	if (top != NULL && top->kind == JSON_KIND_OBJECT &&
	    json_scan_object(&player, top->value, top->value_len, why, sizeof why) == 0 &&
	    json_member_find(&player, "id") != NULL &&
	    json_member_integer(json_member_find(&player, "id"), &id) == 0 && id >= 0)
		put_metric(b, name, "gauge", help, json_member_find(&player, "count"), id, cents);
	json_members_free(&player);
}

/* A stage's own counters in /metrics (doc/design.md, "Stage health"): the
 * counter's name in the stage file, the metric, and its extra label. */
static const struct stage_metric {
	const char *counter, *metric, *label, *type, *help;
} stage_metrics[] = {
	{ "fetches_ok", "casino_fx_fetches_total", ",result=\"ok\"", "counter", "Rate requests by result." },
	{ "fetches_error", "casino_fx_fetches_total", ",result=\"error\"", NULL, NULL },
	{ "queries_ok", "casino_player_queries_total", ",result=\"ok\"", "counter", "Player queries by result." },
	{ "queries_error", "casino_player_queries_total", ",result=\"error\"", NULL, NULL },
	{ "reconnects", "casino_player_reconnects_total", "", "counter", "Database connections made again after one was lost." },
	{ "unknown", "casino_player_unknown_total", "", "counter", "Events whose player the database does not know." },
	{ "snapshots_ok", "casino_agg_snapshots_total", ",result=\"ok\"", "counter", "Snapshot writes by result." },
	{ "snapshots_error", "casino_agg_snapshots_total", ",result=\"error\"", NULL, NULL },
};

/* Several processes of one stage (a rerun, a second worker) count as one:
 * sums, and the oldest of the times. Returns the new count. */
static int
fold_stages(struct health_stage *st, int n)
{
	int kept = 0;

	for (int i = 0; i < n; i++) {
		struct health_stage *to, *from = &st[i];
		if (kept == 0 || strcmp(st[kept - 1].name, from->name) != 0) {
			st[kept++] = *from;
			continue;
		}
		to = &st[kept - 1];
		to->in += from->in;
		to->out += from->out;
		to->rejected += from->rejected;
		to->held += from->held;
		if (from->held_since_ms > 0 && (to->held_since_ms == 0 || from->held_since_ms < to->held_since_ms))
			to->held_since_ms = from->held_since_ms;
		for (int k = 0; k < to->ncounters; k++) {
			long long v = health_stage_counter(from, to->counter[k].name);
			if (v >= 0)
				to->counter[k].value += v;
		}
	}
	return kept;
}

static double
seconds_since(long long ms, long long now_ms)
{
	return ms > 0 && now_ms > ms ? (double)(now_ms - ms) / 1000 : 0;
}

/* The live stages' counters, one series per stage. */
static void
put_stage_metrics(struct buf *b, const struct health_stage *st, int n, long long now_ms)
{
	static const char *const outcomes[] = { "in", "out", "rejected" };

	if (n == 0)
		return;
	buf_puts(b, "# HELP casino_stage_lines_total Lines each stage took in, wrote out, rejected.\n"
	    "# TYPE casino_stage_lines_total counter\n");
	for (int i = 0; i < n; i++) {
		long long v[] = { st[i].in, st[i].out, st[i].rejected };
		for (int k = 0; k < 3; k++)
			buf_printf(b, "casino_stage_lines_total{stage=\"%s\",outcome=\"%s\"} %lld\n",
			    st[i].name, outcomes[k], v[k]);
	}
	buf_puts(b, "# HELP casino_stage_held_events Events a stage holds now, waiting for a service.\n"
	    "# TYPE casino_stage_held_events gauge\n");
	for (int i = 0; i < n; i++)
		buf_printf(b, "casino_stage_held_events{stage=\"%s\"} %lld\n", st[i].name, st[i].held);
	buf_puts(b, "# HELP casino_stage_oldest_held_seconds Age of the oldest held event, 0 when none.\n"
	    "# TYPE casino_stage_oldest_held_seconds gauge\n");
	for (int i = 0; i < n; i++)
		buf_printf(b, "casino_stage_oldest_held_seconds{stage=\"%s\"} %.3f\n", st[i].name,
		    st[i].held > 0 ? seconds_since(st[i].held_since_ms, now_ms) : 0.0);
	for (size_t m = 0; m < sizeof(stage_metrics) / sizeof(*stage_metrics); m++) {
		const struct stage_metric *sm = &stage_metrics[m];
		int headed = sm->type == NULL; /* a further series of the metric above */
		for (int i = 0; i < n; i++) {
			long long v = health_stage_counter(&st[i], sm->counter);
			if (v < 0)
				continue;
			if (!headed++)
				buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", sm->metric, sm->help,
				    sm->metric, sm->type);
			buf_printf(b, "%s{stage=\"%s\"%s} %lld\n", sm->metric, st[i].name, sm->label, v);
		}
	}
	for (int i = 0, headed = 0; i < n; i++) {
		long long fetched = health_stage_counter(&st[i], "rates_fetched_ms");
		if (fetched <= 0)
			continue;
		if (!headed++)
			buf_puts(b, "# HELP casino_fx_rates_age_seconds Age of the rates in use.\n"
			    "# TYPE casino_fx_rates_age_seconds gauge\n");
		buf_printf(b, "casino_fx_rates_age_seconds{stage=\"%s\"} %.3f\n", st[i].name,
		    seconds_since(fetched, now_ms));
	}
}

/* FNV-1a: the ETag of an answer made from more than one file. */
static unsigned long long
text_hash(const char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static long long
now_ms(void)
{
	struct utc_time t = timefmt_now();

	return (long long)t.sec * 1000 + t.nsec / 1000000;
}

/* /metrics: the snapshot in the Prometheus text format 0.0.4. The age is in
 * whole seconds, so one answer (and its ETag) holds for a second. */
static void
serve_metrics(struct response *r, const char *path)
{
	struct json_members snap = { 0 };
	struct stat st;
	char why[128];
	long long age;

	if (file_read_all(path, FILE_MAX, &r->source, &st) != 0) {
		snapshot_error(r, path);
		return;
	}
	if (json_scan_object(&snap, r->source.data, r->source.len, why, sizeof why) != 0) {
		json_members_free(&snap);
		log_error("snapshot is not a JSON object", LOG_STR("path", path), LOG_STR("error", why));
		set_error(r, 500, "Internal Server Error", "snapshot unreadable");
		return;
	}
	age = age_ms(&st);
	age = age < 0 ? 0 : age / 1000;
	r->body.len = 0;
	put_metric(&r->body, "casino_events_total", "counter", "Events seen by casino-tee-agg.",
	    json_member_find(&snap, "events_total"), -1, 0);
	put_metric(&r->body, "casino_events_per_minute", "gauge",
	    "Events per minute since the first event.",
	    json_member_find(&snap, "events_per_minute"), -1, 0);
	put_metric(&r->body, "casino_events_per_second_moving_average", "gauge",
	    "Events per second over the last 60 seconds.",
	    json_member_find(&snap, "events_per_second_moving_average"), -1, 0);
	put_top_player(&r->body, &snap, "top_player_bets", "casino_top_player_bets",
	    "Bets placed by the player with the most bets.", 0);
	put_top_player(&r->body, &snap, "top_player_wins", "casino_top_player_wins",
	    "Winning bets of the player with the most winning bets.", 0);
	put_top_player(&r->body, &snap, "top_player_deposits", "casino_top_player_deposits_eur",
	    "Deposits in EUR of the player with the largest deposits.", 1);
	buf_printf(&r->body, "# HELP casino_snapshot_age_seconds Whole seconds since the "
	    "snapshot was written.\n# TYPE casino_snapshot_age_seconds gauge\n"
	    "casino_snapshot_age_seconds %lld\n", age);
	put_stage_metrics(&r->body, r->stages, fold_stages(r->stages,
	    health_read_all(r->stages, MAX_STAGES)), now_ms());
	json_members_free(&snap);
	set_status(r, 200, "OK");
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	/* The stage counters change apart from the snapshot: the tag is the text's. */
	set_validators(r, &st, "m", (long long)text_hash(r->body.data, r->body.len));
}

/* /healthz: 200 while the snapshot was written less than 5 s ago and no
 * stage has held an event for 5 s or more; else 503 with the reason. */
static void
serve_health(struct response *r, const char *path)
{
	long long age, now = now_ms();
	struct stat st;
	int n;

	if (stat(path, &st) != 0) {
		set_error(r, 503, "Service Unavailable", "no snapshot yet");
		return;
	}
	age = age_ms(&st);
	r->body.len = 0;
	r->type = "application/json";
	n = health_read_all(r->stages, MAX_STAGES);
	for (int i = 0; i < n; i++) {
		const struct health_stage *s = &r->stages[i];
		if (s->held > 0 && s->held_since_ms > 0 && now - s->held_since_ms >= HELD_TOO_LONG_MS) {
			set_status(r, 503, "Service Unavailable");
			buf_printf(&r->body, "{\"status\":\"held\",\"stage\":\"%s\",\"pid\":%ld,"
			    "\"held\":%lld,\"held_ms\":%lld,\"age_ms\":%lld}\n", s->name, s->pid,
			    s->held, now - s->held_since_ms, age);
			return;
		}
	}
	/* A time far in the future is as suspect as an old one. */
	if (age < HEALTHY_AGE_MS && age > -HEALTHY_AGE_MS) {
		set_status(r, 200, "OK");
		buf_printf(&r->body, "{\"status\":\"ok\",\"age_ms\":%lld,\"stages\":%d}\n", age, n);
	} else {
		set_status(r, 503, "Service Unavailable");
		buf_printf(&r->body, "{\"status\":\"stale\",\"age_ms\":%lld}\n", age);
	}
}

/* The dashboard's folder when none was given: share/casino/dashboard beside
 * the bin folder of this program once installed, share/dashboard in the
 * source tree (build/casino-http-handler). */
static const char *
dashboard_root(struct config *cfg)
{
	static const char *const tails[] = { "/../share/casino/dashboard", "/../share/dashboard" };
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	size_t i, dir_len;

	if (cfg->root != NULL)
		return cfg->root;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return cfg->root = ".";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	dir_len = slash != NULL ? (size_t)(slash - exe) : 0;
	for (i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		cfg->root_buf.len = 0;
		buf_append(&cfg->root_buf, exe, dir_len);
		buf_puts(&cfg->root_buf, tails[i]);
		buf_puts(&cfg->root_buf, "/index.html");
		if (access(cfg->root_buf.data, R_OK) == 0)
			break;
	}
	cfg->root_buf.len -= strlen("/index.html");
	cfg->root_buf.data[cfg->root_buf.len] = '\0';
	return cfg->root = cfg->root_buf.data;
}

static void
serve_asset(struct response *r, struct config *cfg, const struct asset *a)
{
	char path[PATH_MAX];
	struct stat st;
	const char *root = dashboard_root(cfg);

	if (snprintf(path, sizeof path, "%s/%s", root, a->file) >= (int)sizeof path ||
	    file_read_all(path, FILE_MAX, &r->body, &st) != 0) {
		log_error("cannot read the dashboard", LOG_STR("path", path),
		    LOG_STR("error", strerror(errno)));
		set_error(r, 500, "Internal Server Error", "dashboard missing");
		return;
	}
	set_status(r, 200, "OK");
	r->type = a->type;
	set_validators(r, &st, "a", 0);
}

static void
route(struct response *r, const struct httpreq *req, struct config *cfg)
{
	enum { NONE, SNAPSHOT, METRICS, HEALTH, ASSET } what = NONE;
	const struct asset *asset = NULL;
	size_t i;

	if (httpreq_path_is(req, "/materialized"))
		what = SNAPSHOT;
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
		set_error(r, 404, "Not Found", "not found");
	else if (!httpreq_method_is(req, "GET") && !httpreq_method_is(req, "HEAD")) {
		set_error(r, 405, "Method Not Allowed", "method not allowed");
		r->extra = "Allow: GET, HEAD\r\n";
	} else if (what == SNAPSHOT)
		serve_snapshot(r, cfg->snapshot);
	else if (what == METRICS)
		serve_metrics(r, cfg->snapshot);
	else if (what == HEALTH)
		serve_health(r, cfg->snapshot);
	else
		serve_asset(r, cfg, asset);
}

/* 1 when If-None-Match (a list of entity tags, or "*") names tag; weak
 * comparison, as RFC 9110 asks for If-None-Match. */
static int
etag_matches(const char *v, size_t len, const char *tag)
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

/* IMF-fixdate (RFC 9110) by hand: strftime would read /etc/localtime, and
 * the handler opens nothing it does not serve. */
static void
http_date(char *out, size_t size, int64_t sec)
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

/* Today's Date header value, formatted once a second. */
static const char *
date_now(void)
{
	static char date[64];
	static int64_t when = -1;
	int64_t now = timefmt_now().sec;

	if (now != when) {
		http_date(date, sizeof date, now);
		when = now;
	}
	return date;
}

/* Append the answer to out. connection: the Connection header's value, or
 * NULL for none (HTTP/1.1 keep-alive). */
static void
put_response(struct buf *out, const struct response *r, int head_only, const char *connection)
{
	char modified[64];

	buf_puts(out, "HTTP/1.1 ");
	buf_put_int(out, r->status);
	buf_putc(out, ' ');
	buf_puts(out, r->reason);
	buf_puts(out, "\r\nDate: ");
	buf_puts(out, date_now());
	buf_puts(out, "\r\nContent-Type: ");
	buf_puts(out, r->type);
	buf_puts(out, "\r\nContent-Length: ");
	buf_put_int(out, (long long)r->body.len);
	if (r->etag[0] != '\0') {
		buf_puts(out, "\r\nETag: ");
		buf_puts(out, r->etag);
	}
	if (r->modified != 0) {
		http_date(modified, sizeof modified, r->modified);
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

/* Close our side, then read what the client still sends until it closes:
 * closing a socket with unread input makes the kernel send a reset, which
 * can destroy the answer before the client has read it. */
static void
linger(void)
{
	int64_t deadline = timefmt_monotonic_ms() + LINGER_MS;
	char sink[4096];
	ssize_t n;

	if (shutdown(STDOUT_FILENO, SHUT_WR) != 0)
		close(STDOUT_FILENO); /* a pipe, not a socket: EOF it all the same */
	while (wait_readable(STDIN_FILENO, deadline) &&
	    ((n = read(STDIN_FILENO, sink, sizeof sink)) > 0 || (n < 0 && errno == EINTR)))
		;
}

static void
log_request(const struct httpreq *req, const struct response *resp, const char *peer)
{
	char method[16], path[256];

	snprintf(method, sizeof method, "%.*s", (int)req->method_len, req->method);
	snprintf(path, sizeof path, "%.*s", (int)req->path_len, req->path);
	log_info("request", LOG_STR("peer", peer), LOG_STR("method", method),
	    LOG_STR("path", path), LOG_INT("status", resp->status),
	    LOG_INT("bytes", resp->body.len));
}

/* One connection: the head buffer holds what was read and not yet handled
 * (HTTPREQ_MAX_HEAD + 1 bytes, so a head over the limit is seen as such). */
struct conn {
	char in[HTTPREQ_MAX_HEAD + 1];
	size_t len;
	struct buf out;
	struct response resp;
	unsigned requests;
	char peer[INET6_ADDRSTRLEN + 10];
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
 * something; 0: close quietly (idle, or the client left between requests);
 * -1: the client left inside a head; -2: timed out inside a head. */
static int
read_more(struct conn *c, int64_t deadline)
{
	ssize_t n;

	for (;;) {
		if (!wait_readable(STDIN_FILENO, deadline))
			return c->len == 0 ? 0 : -2;
		n = read(STDIN_FILENO, c->in + c->len, sizeof c->in - c->len);
		if (n < 0 && errno == EINTR)
			continue;
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
}

/* 1 when the connection stays open after answering req. */
static int
keep_alive(const struct httpreq *req)
{
	size_t len;
	const char *length = httpreq_field(req, "content-length", &len), *conn;

	/* A body we do not read: end the connection after the answer. */
	if (length != NULL && (len != 1 || length[0] != '0'))
		return 0;
	if (httpreq_field(req, "transfer-encoding", &len) != NULL)
		return 0;
	conn = httpreq_field(req, "connection", &len);
	if (req->version_minor >= 1)
		return conn == NULL || !httpreq_list_has(conn, len, "close");
	return conn != NULL && httpreq_list_has(conn, len, "keep-alive");
}

/* Serve requests until one side ends the connection. */
static void
serve(struct conn *c, struct config *cfg)
{
	int64_t deadline = timefmt_monotonic_ms() + (int64_t)(cfg->timeout * 1000);
	struct httpreq req;
	enum httpreq_status st;
	const char *inm;
	size_t inm_len;
	int keep, r;

	for (;;) {
		st = httpreq_parse(c->in, c->len, &req);
		if (st == HTTPREQ_INCOMPLETE) {
			if (flush(c) != 0)
				return;
			r = read_more(c, deadline);
			if (r == 1)
				continue;
			if (r == -2)
				log_warn("no complete request in time, closing", LOG_STR("peer", c->peer),
				    LOG_NUM("timeout_s", cfg->timeout), LOG_INT("bytes", c->len));
			if (r == 0 || r == -2)
				return;
			req.error = "connection closed inside the request head";
			st = HTTPREQ_BAD;
		}
		c->requests++;
		if (st == HTTPREQ_BAD) {
			log_warn("bad request", LOG_STR("peer", c->peer), LOG_STR("reason", req.error));
			set_error(&c->resp, 400, "Bad Request", req.error);
			c->resp.extra = NULL;
			put_response(&c->out, &c->resp, 0, "close");
			break;
		}
		route(&c->resp, &req, cfg);
		keep = keep_alive(&req) && c->requests < MAX_REQUESTS;
		inm = httpreq_field(&req, "if-none-match", &inm_len);
		if (inm != NULL && c->resp.status == 200 && c->resp.etag[0] != '\0' &&
		    etag_matches(inm, inm_len, c->resp.etag)) {
			set_status(&c->resp, 304, "Not Modified");
			c->resp.body.len = 0;
		}
		put_response(&c->out, &c->resp,
		    httpreq_method_is(&req, "HEAD") || c->resp.status == 304,
		    !keep ? "close" : req.version_minor == 0 ? "keep-alive" : NULL);
		log_request(&req, &c->resp, c->peer);
		if (!keep)
			break;
		c->len -= req.head_len;
		memmove(c->in, c->in + req.head_len, c->len);
		deadline = timefmt_monotonic_ms() + (int64_t)(cfg->timeout * 1000);
		if (c->out.len >= OUT_FLUSH && flush(c) != 0)
			return;
	}
	if (flush(c) == 0)
		linger();
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "snapshot", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *snapshot_opt = NULL, *timeout_opt = NULL, *root_opt = NULL, *source;
	struct config cfg = { 0 };
	struct buf snapshot = { 0 };
	static struct conn conn;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "f:t:r:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': snapshot_opt = optarg; break;
		case 't': timeout_opt = optarg; break;
		case 'r': root_opt = optarg; break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	if (optind != argc)
		opt_usage_error(usage_text);
	timeout_opt = opt_pick("--timeout", timeout_opt, "CASINO_HTTP_TIMEOUT", "5", &source);
	cfg.timeout = opt_real(source, timeout_opt, 0.001, 3600);
	cfg.root = opt_pick("--root", root_opt, "CASINO_HTTP_ROOT", NULL, &source);
	if (cfg.root != NULL) {
		buf_printf(&cfg.root_buf, "%s/index.html", cfg.root);
		if (access(cfg.root_buf.data, R_OK) != 0)
			die(EX_USAGE, "no dashboard in that folder", LOG_STR("option", source),
			    LOG_STR("value", cfg.root), LOG_STR("error", strerror(errno)));
	}
	cfg.snapshot = opt_pick("--snapshot", snapshot_opt, "CASINO_SNAPSHOT", NULL, &source);
	if (cfg.snapshot == NULL) {
		rundir_snapshot_path(&snapshot);
		cfg.snapshot = snapshot.data;
	}
	signal(SIGPIPE, SIG_IGN);
	/* When casino-serve (socat, our parent) stops, its kept connections end
	 * with it: a polling dashboard would otherwise keep one for minutes. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warn("cannot ask to end with casino-serve", LOG_STR("error", strerror(errno)));
	peer_name(conn.peer, sizeof conn.peer);
	serve(&conn, &cfg);
	buf_free(&conn.resp.body);
	buf_free(&conn.resp.source);
	buf_free(&conn.out);
	buf_free(&cfg.root_buf);
	buf_free(&snapshot);
	return 0;
}
