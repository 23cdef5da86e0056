#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "health.h"
#include "healthread.h"
#include "log.h"
#include "rundir.h"

struct health health;

static struct buf dir, path, text;
static const char *stage_name;
static int publishing;
static long long last_ms = -HEALTH_INTERVAL_MS, last_sum = -1;
static unsigned tick_count;
/* The reports of the last HEALTH_RATE_WINDOW_MS and one before: (ms, out). */
#define RATE_SAMPLES 64
static struct { long long ms; unsigned long long out; } sample[RATE_SAMPLES];
static unsigned nsamples;

/* Lines out per 1000 s since the newest report at least a window old (else
 * the oldest kept); -1 before a second report. */
static long long
out_rate_milli(long long now)
{
	unsigned first = nsamples > RATE_SAMPLES ? nsamples - RATE_SAMPLES : 0, base = first;

	sample[nsamples % RATE_SAMPLES].ms = now;
	sample[nsamples % RATE_SAMPLES].out = health.out;
	nsamples++;
	for (unsigned i = first; i + 1 < nsamples; i++)
		if (now - sample[i % RATE_SAMPLES].ms >= HEALTH_RATE_WINDOW_MS)
			base = i;
	if (base + 1 >= nsamples || now <= sample[base % RATE_SAMPLES].ms)
		return -1;
	return (long long)((health.out - sample[base % RATE_SAMPLES].out) * 1000000ULL /
	    (unsigned long long)(now - sample[base % RATE_SAMPLES].ms));
}

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
	long long sum = (long long)(health.in + health.out + health.rejected + health.dropped) +
	    (long long)health.held * 7 + health.held_since_ms;

	for (int i = 0; i < health.ncounters; i++)
		sum += health.counter[i].value;
	return sum;
}

static void
publish(long long now, long long sum)
{
	long long rate = out_rate_milli(now);

	text.len = 0;
	buf_puts(&text, "{\"stage\":");
	buf_json_string(&text, stage_name, strlen(stage_name));
	buf_printf(&text, ",\"pid\":%ld,\"in\":%llu,\"out\":%llu,\"rejected\":%llu,"
	    "\"pending\":%llu,\"held\":%llu,\"held_since_ms\":%lld", (long)getpid(), health.in,
	    health.out, health.rejected, health_pending(), health.held, health.held_since_ms);
	if (rate >= 0)
		buf_printf(&text, ",\"out_rate_milli\":%lld", rate);
	if (health.dropped > 0)
		buf_printf(&text, ",\"dropped\":%llu", health.dropped);
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

unsigned long long
health_pending(void)
{
	unsigned long long done = health.out + health.rejected + health.dropped;

	return health.in > done ? health.in - done : 0;
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
	/* Files of stages killed earlier go now, not while a reader reads. */
	health_sweep();
	buf_printf(&path, "%s/%s.%ld.json", dir.data, tool, (long)getpid());
	atexit(health_close); /* every exit path, die() included, removes it */
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
