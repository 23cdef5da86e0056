#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "health.h"
#include "json.h"
#include "log.h"
#include "readfile.h"
#include "rundir.h"

/* A stage file is a few hundred bytes; anything far larger is not one. */
#define HEALTH_FILE_MAX (1 << 20)

struct health health;

static struct buf dir, path, text;
static const char *stage_name;
static int publishing;
static long long last_ms = -HEALTH_INTERVAL_MS, last_sum = -1;
static unsigned tick_count;

static long long
coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Changes move this sum: every counter only grows, except held, which is
 * weighed with its stamp so a hold and a release are both seen. */
static long long
checksum(void)
{
	long long sum = (long long)(health.in + health.out + health.rejected) +
	    (long long)health.held * 7 + health.held_since_ms;

	for (int i = 0; i < health.ncounters; i++)
		sum += health.counter[i].value;
	return sum;
}

static void
publish(long long now, long long sum)
{
	text.len = 0;
	buf_puts(&text, "{\"stage\":");
	buf_json_string(&text, stage_name, strlen(stage_name));
	buf_printf(&text, ",\"pid\":%ld,\"in\":%llu,\"out\":%llu,\"rejected\":%llu,"
	    "\"held\":%llu,\"held_since_ms\":%lld", (long)getpid(), health.in, health.out,
	    health.rejected, health.held, health.held_since_ms);
	for (int i = 0; i < health.ncounters; i++)
		buf_printf(&text, ",\"%s\":%lld", health.counter[i].name, health.counter[i].value);
	buf_puts(&text, "}\n");
	last_ms = now;
	last_sum = sum;
	/* A stage that ended last may have removed the empty folder under us. */
	if (atomicfile_write(path.data, text.data, text.len, 0644) < 0 &&
	    (errno != ENOENT || dir_make(dir.data, rundir_is_shared()) < 0 ||
	    atomicfile_write(path.data, text.data, text.len, 0644) < 0)) {
		log_warn("cannot publish stage health; going on without",
		    LOG_STR("path", path.data), LOG_STR("error", strerror(errno)));
		publishing = 0;
	}
}

void
health_open(const char *tool)
{
	stage_name = tool;
	rundir_path(&dir);
	buf_puts(&dir, "/stages");
	if (dir_make(dir.data, rundir_is_shared()) < 0) {
		log_warn("cannot create the stage health folder; going on without",
		    LOG_STR("path", dir.data), LOG_STR("error", strerror(errno)));
		return;
	}
	buf_printf(&path, "%s/%s.%ld.json", dir.data, tool, (long)getpid());
	publishing = 1;
	publish(coarse_ms(), checksum());
}

long long *
health_counter(const char *name)
{
	static long long spare;

	if (health.ncounters == HEALTH_MAX_COUNTERS)
		return &spare; /* a programming error, but no reason to crash */
	health.counter[health.ncounters].name = name;
	return &health.counter[health.ncounters++].value;
}

void
health_hold(unsigned long long n)
{
	if (n == 0 && health.held == 0)
		return; /* the path of every event that needs no hold */
	if (n > 0 && health.held == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		health.held_since_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	} else if (n == 0) {
		health.held_since_ms = 0;
	}
	health.held = n;
	/* A release is published with the events written after it (tick, idle),
	 * so the file never shows them neither held nor out. */
	if (n > 0)
		health_due();
}

void
health_tick(void)
{
	if ((tick_count++ & 1023) == 0)
		health_due();
}

void
health_due(void)
{
	long long now, sum;

	if (!publishing)
		return;
	now = coarse_ms();
	if (now - last_ms >= HEALTH_INTERVAL_MS && (sum = checksum()) != last_sum)
		publish(now, sum);
}

void
health_idle(int fd)
{
	long long now, sum;

	if (!publishing || (sum = checksum()) == last_sum)
		return;
	now = coarse_ms();
	if (now - last_ms < HEALTH_INTERVAL_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(HEALTH_INTERVAL_MS - (now - last_ms))) != 0)
			return; /* input (or a signal) came first: publish later */
		now = coarse_ms();
	}
	publish(now, checksum());
}

void
health_close(void)
{
	if (path.len > 0 && unlink(path.data) < 0 && errno != ENOENT)
		log_warn("cannot remove the stage health file", LOG_STR("path", path.data),
		    LOG_STR("error", strerror(errno)));
	/* The last stage out leaves no empty folder behind. */
	if (path.len > 0)
		rmdir(dir.data);
	publishing = 0;
	buf_free(&dir);
	buf_free(&path);
	buf_free(&text);
}

/* Copy a string member's raw text into out, when it fits and needs no
 * decoding; 0 or -1. */
static int
member_name(const struct json_member *m, char *out, size_t size)
{
	if (m == NULL || m->kind != JSON_KIND_STRING || m->value_escaped || m->value_len >= size)
		return -1;
	memcpy(out, m->value, m->value_len);
	out[m->value_len] = '\0';
	return 0;
}

/* One file into s; 0, or -1 when it is not a stage file. */
static int
stage_parse(struct health_stage *s, const char *text, size_t n, struct json_members *o)
{
	static const char *const fixed[] = { "stage", "pid", "in", "out", "rejected", "held",
		"held_since_ms" };
	long long *values[] = { &s->in, &s->out, &s->rejected, &s->held, &s->held_since_ms };
	const struct json_member *m;
	char why[128];
	long long pid;

	memset(s, 0, sizeof(*s));
	if (json_scan_object(o, text, n, why, sizeof(why)) != 0 ||
	    member_name(json_member_find(o, "stage"), s->name, sizeof(s->name)) != 0 ||
	    (m = json_member_find(o, "pid")) == NULL || json_member_integer(m, &pid) != 0 ||
	    pid <= 0)
		return -1;
	s->pid = (long)pid;
	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++)
		if ((m = json_member_find(o, fixed[i + 2])) == NULL ||
		    json_member_integer(m, values[i]) != 0)
			return -1;
	for (size_t i = 0; i < o->count && s->ncounters < HEALTH_MAX_COUNTERS; i++) {
		const struct json_member *c = &o->m[i];
		size_t k;
		for (k = 0; k < sizeof(fixed) / sizeof(*fixed); k++)
			if (c->key_len == strlen(fixed[k]) && memcmp(c->key, fixed[k], c->key_len) == 0)
				break;
		if (k < sizeof(fixed) / sizeof(*fixed) || c->kind != JSON_KIND_INTEGER ||
		    c->key_len >= sizeof(s->counter[0].name) ||
		    json_member_integer(c, &s->counter[s->ncounters].value) != 0)
			continue;
		memcpy(s->counter[s->ncounters].name, c->key, c->key_len);
		s->counter[s->ncounters++].name[c->key_len] = '\0';
	}
	return 0;
}

static int
stage_order(const void *a, const void *b)
{
	const struct health_stage *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

int
health_read_all(struct health_stage *out, int max)
{
	struct buf folder = { 0 }, file = { 0 }, text = { 0 };
	struct json_members o = { 0 };
	struct dirent *e;
	DIR *d;
	int n = 0;

	rundir_path(&folder);
	buf_puts(&folder, "/stages");
	if ((d = opendir(folder.data)) == NULL) {
		buf_free(&folder);
		return 0;
	}
	while (n < max && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		file.len = text.len = 0;
		buf_printf(&file, "%s/%s", folder.data, e->d_name);
		if (file_read_all(file.data, HEALTH_FILE_MAX, &text, NULL) != 0)
			continue;
		if (stage_parse(&out[n], text.data, text.len, &o) != 0)
			continue;
		if (kill((pid_t)out[n].pid, 0) != 0 && errno == ESRCH) {
			unlink(file.data); /* left by a stage that was killed */
			continue;
		}
		n++;
	}
	closedir(d);
	json_members_free(&o);
	buf_free(&folder);
	buf_free(&file);
	buf_free(&text);
	qsort(out, (size_t)n, sizeof(*out), stage_order);
	return n;
}

long long
health_stage_counter(const struct health_stage *s, const char *name)
{
	for (int i = 0; i < s->ncounters; i++)
		if (strcmp(s->counter[i].name, name) == 0)
			return s->counter[i].value;
	return -1;
}
