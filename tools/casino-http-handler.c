/* casino-http-handler: answer one HTTP/1.x request on stdin/stdout with the
 * casino-tee-agg snapshot. socat runs one per connection (casino-serve). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "httpreq.h"
#include "log.h"
#include "ndjson.h"
#include "opt.h"
#include "rundir.h"
#include "timefmt.h"

static const char usage_text[] = "casino-http-handler [-f snapshot] [-t seconds]";

enum {
	HEALTHY_AGE_MS = 5000,     /* /healthz: a snapshot younger than this */
	SNAPSHOT_MAX = 16 << 20,   /* refuse to serve anything bigger */
	LINGER_MS = 2000,          /* drain input this long after answering */
};

static void
usage(void)
{
	printf("usage: %s\n"
	    "  -f, --snapshot FILE  the snapshot to serve (CASINO_SNAPSHOT,\n"
	    "                       default: materialized.json in the runtime dir)\n"
	    "  -t, --timeout S      close when no complete request came in S seconds\n"
	    "                       (CASINO_HTTP_TIMEOUT, default 5)\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        the version\n", usage_text);
	exit(0);
}

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

struct response {
	int status;
	const char *reason, *extra; /* extra: header lines, each ending CRLF */
	struct buf body;
};

static void
set_error(struct response *r, int status, const char *reason, const char *error)
{
	r->status = status;
	r->reason = reason;
	r->body.len = 0;
	buf_puts(&r->body, "{\"error\":");
	buf_json_string(&r->body, error, strlen(error));
	buf_puts(&r->body, "}\n");
}

/* The snapshot into r->body: 200, or 503 when there is none yet. */
static void
serve_snapshot(struct response *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT) {
			set_error(r, 503, "Service Unavailable", "no snapshot yet");
			return;
		}
		log_error("cannot open snapshot", LOG_STR("path", path), LOG_STR("error", strerror(errno)));
		set_error(r, 500, "Internal Server Error", "snapshot unreadable");
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SNAPSHOT_MAX) {
		log_error("snapshot is not a regular file of at most 16 MiB", LOG_STR("path", path));
		set_error(r, 500, "Internal Server Error", "snapshot unreadable");
		close(fd);
		return;
	}
	r->status = 200;
	r->reason = "OK";
	/* The writer renames a complete file into place, so whatever file we
	 * opened stays whole; read it to its end. */
	for (;;) {
		buf_reserve(&r->body, 4096);
		n = read(fd, r->body.data + r->body.len, r->body.cap - r->body.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->body.len += (size_t)n;
		r->body.data[r->body.len] = '\0';
		if (r->body.len > SNAPSHOT_MAX)
			break;
	}
	if (n < 0 || r->body.len > SNAPSHOT_MAX) {
		log_error("cannot read snapshot", LOG_STR("path", path));
		set_error(r, 500, "Internal Server Error", "snapshot unreadable");
	}
	close(fd);
}

/* /healthz: 200 while the snapshot was written less than 5 s ago. */
static void
serve_health(struct response *r, const char *path)
{
	struct stat st;
	struct utc_time now;
	long long age_ms;

	if (stat(path, &st) != 0) {
		set_error(r, 503, "Service Unavailable", "no snapshot yet");
		return;
	}
	now = timefmt_now();
	age_ms = (long long)(now.sec - st.st_mtim.tv_sec) * 1000 +
	    (now.nsec - st.st_mtim.tv_nsec) / 1000000;
	/* A time far in the future is as suspect as an old one. */
	if (age_ms < HEALTHY_AGE_MS && age_ms > -HEALTHY_AGE_MS) {
		r->status = 200;
		r->reason = "OK";
		buf_printf(&r->body, "{\"status\":\"ok\",\"age_ms\":%lld}\n", age_ms);
	} else {
		r->status = 503;
		r->reason = "Service Unavailable";
		buf_printf(&r->body, "{\"status\":\"stale\",\"age_ms\":%lld}\n", age_ms);
	}
}

static void
route(struct response *r, const struct httpreq *req, const char *snapshot)
{
	int snap = httpreq_path_is(req, "/materialized");
	int health = httpreq_path_is(req, "/healthz");

	if (!snap && !health)
		set_error(r, 404, "Not Found", "not found");
	else if (!httpreq_method_is(req, "GET") && !httpreq_method_is(req, "HEAD")) {
		set_error(r, 405, "Method Not Allowed", "method not allowed");
		r->extra = "Allow: GET, HEAD\r\n";
	} else if (snap)
		serve_snapshot(r, snapshot);
	else
		serve_health(r, snapshot);
}

/* IMF-fixdate (RFC 9110) by hand: strftime would read /etc/localtime, and
 * the handler opens nothing but its snapshot. */
static void
http_date(char *out, size_t size)
{
	static const char days[][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct utc_time now = timefmt_now();
	struct civil_time c;

	timefmt_civil(now.sec, &c);
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[(now.sec / 86400) % 7], c.day, months[c.month - 1], c.year,
	    c.hour, c.minute, c.second);
}

static int
send_response(const struct response *r, int head_only)
{
	struct buf out = { 0 };
	char date[64];
	int rc;

	http_date(date, sizeof date);
	buf_printf(&out, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
	    r->status, r->reason, date, r->body.len, r->extra ? r->extra : "");
	if (!head_only)
		buf_append(&out, r->body.data, r->body.len);
	rc = fd_write_all(STDOUT_FILENO, out.data, out.len);
	buf_free(&out);
	return rc;
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

/* Read until the request head is complete, within timeout seconds of now.
 * HTTPREQ_INCOMPLETE: close without an answer (a timeout, logged, or a port
 * probe that connected and left). head holds HTTPREQ_MAX_HEAD + 1 bytes, so
 * that a head over the limit is seen as such. */
static enum httpreq_status
read_request(char *head, struct httpreq *req, double timeout, const char *peer)
{
	int64_t deadline = timefmt_monotonic_ms() + (int64_t)(timeout * 1000);
	enum httpreq_status st;
	size_t len = 0;

	while ((st = httpreq_parse(head, len, req)) == HTTPREQ_INCOMPLETE) {
		ssize_t n;

		if (!wait_readable(STDIN_FILENO, deadline)) {
			log_warn("no complete request in time, closing", LOG_STR("peer", peer),
			    LOG_NUM("timeout_s", timeout), LOG_INT("bytes", len));
			return HTTPREQ_INCOMPLETE;
		}
		n = read(STDIN_FILENO, head + len, HTTPREQ_MAX_HEAD + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_IOERR, "cannot read request", LOG_STR("error", strerror(errno)));
		if (n == 0 && len == 0)
			return HTTPREQ_INCOMPLETE;
		if (n == 0) {
			req->error = "connection closed inside the request head";
			return HTTPREQ_BAD;
		}
		len += (size_t)n;
	}
	return st;
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "snapshot", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *timeout_env = opt_env("CASINO_HTTP_TIMEOUT", NULL);
	char peer[INET6_ADDRSTRLEN + 10];
	struct buf snapshot = { 0 };
	char head[HTTPREQ_MAX_HEAD + 1];
	double timeout = timeout_env ? opt_real("CASINO_HTTP_TIMEOUT", timeout_env, 0.001, 3600) : 5;
	struct httpreq req;
	enum httpreq_status st;
	struct response resp = { 0 };
	int c;

	log_init(argv[0]);
	buf_puts(&snapshot, opt_env("CASINO_SNAPSHOT", ""));
	while ((c = getopt_long(argc, argv, "f:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': snapshot.len = 0; buf_puts(&snapshot, optarg); break;
		case 't': timeout = opt_real("--timeout", optarg, 0.001, 3600); break;
		case 'h': usage(); break;
		case 'V': opt_version(); break;
		default: opt_usage_error(usage_text);
		}
	}
	if (optind != argc)
		opt_usage_error(usage_text);
	if (snapshot.len == 0)
		rundir_snapshot_path(&snapshot);
	signal(SIGPIPE, SIG_IGN);
	peer_name(peer, sizeof peer);

	st = read_request(head, &req, timeout, peer);
	if (st != HTTPREQ_INCOMPLETE) {
		if (st == HTTPREQ_BAD) {
			log_warn("bad request", LOG_STR("peer", peer), LOG_STR("reason", req.error));
			set_error(&resp, 400, "Bad Request", req.error);
		} else
			route(&resp, &req, snapshot.data);
		if (send_response(&resp, st == HTTPREQ_OK && httpreq_method_is(&req, "HEAD")) != 0)
			log_warn("cannot send the response", LOG_STR("peer", peer),
			    LOG_STR("error", strerror(errno)));
		else if (st == HTTPREQ_OK)
			log_request(&req, &resp, peer);
		linger();
	}
	buf_free(&resp.body);
	buf_free(&snapshot);
	return 0;
}
