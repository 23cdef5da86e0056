#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "healthread.h"
#include "json.h"
#include "readfile.h"
#include "rundir.h"

/* A stage file is a few hundred bytes; anything far larger is not one. */
#define HEALTH_FILE_MAX (1 << 20)

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
		"held_since_ms", "pending", "out_rate_milli" };
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
	s->pending = s->held;
	if ((m = json_member_find(o, "pending")) != NULL && json_member_integer(m, &s->pending) != 0)
		return -1;
	s->out_rate_milli = -1;
	if ((m = json_member_find(o, "out_rate_milli")) != NULL &&
	    json_member_integer(m, &s->out_rate_milli) != 0)
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

static int
process_gone(long pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Each stage file of the folder in turn: visit gets its path, text and
 * status; stops early when visit returns nonzero. */
static void
each_stage_file(int (*visit)(const char *path, const struct buf *text,
    const struct stat *st, void *arg), void *arg)
{
	struct buf folder = { 0 }, file = { 0 }, text = { 0 };
	struct dirent *e;
	struct stat st;
	DIR *d;

	rundir_path(&folder);
	buf_puts(&folder, "/stages");
	if ((d = opendir(folder.data)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
				continue;
			file.len = 0;
			buf_printf(&file, "%s/%s", folder.data, e->d_name);
			if (file_read_all(file.data, HEALTH_FILE_MAX, &text, &st) == 0 &&
			    visit(file.data, &text, &st, arg) != 0)
				break;
		}
		closedir(d);
	}
	buf_free(&folder);
	buf_free(&file);
	buf_free(&text);
}

struct reading {
	struct health_stage *out;
	int n, max;
	long long now_ms;
	struct json_members o;
};

/* The rate a report gave, as of now: a file older than a report interval
 * means nothing was written since, so the window holds that much less. */
static long long
rate_as_of(long long rate, long long updated_ms, long long now_ms)
{
	long long quiet = now_ms - updated_ms - HEALTH_INTERVAL_MS;

	if (rate <= 0 || quiet <= 0)
		return rate;
	if (quiet >= HEALTH_RATE_WINDOW_MS)
		return 0;
	return rate * (HEALTH_RATE_WINDOW_MS - quiet) / HEALTH_RATE_WINDOW_MS;
}

static int
read_one(const char *path, const struct buf *text, const struct stat *st, void *arg)
{
	struct reading *r = arg;
	struct health_stage *s = &r->out[r->n];

	if (stage_parse(s, text->data, text->len, &r->o) != 0)
		return 0;
	if (process_gone(s->pid)) {
		unlink(path); /* left by a stage that was killed: read once, never again */
		return 0;
	}
	s->updated_ms = (long long)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	s->out_rate_milli = rate_as_of(s->out_rate_milli, s->updated_ms, r->now_ms);
	r->n++;
	return r->n == r->max;
}

int
health_read_all(struct health_stage *out, int max)
{
	struct reading r = { out, 0, max, 0, { 0 } };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	r.now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (max > 0)
		each_stage_file(read_one, &r);
	json_members_free(&r.o);
	qsort(out, (size_t)r.n, sizeof(*out), stage_order);
	return r.n;
}

int
health_read_one(const char *stage, long pid, struct health_stage *out)
{
	struct buf path = { 0 }, text = { 0 };
	struct json_members o = { 0 };
	struct stat st;
	int rc = -1;

	rundir_path(&path);
	buf_printf(&path, "/stages/%s.%ld.json", stage, pid);
	if (file_read_all(path.data, HEALTH_FILE_MAX, &text, &st) == 0 &&
	    stage_parse(out, text.data, text.len, &o) == 0 && strcmp(out->name, stage) == 0 &&
	    out->pid == pid) {
		out->updated_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		rc = 0;
	}
	json_members_free(&o);
	buf_free(&path);
	buf_free(&text);
	return rc;
}

static int
sweep_one(const char *path, const struct buf *text, const struct stat *st, void *arg)
{
	struct json_members *o = arg;
	struct health_stage s;

	(void)st;
	if (stage_parse(&s, text->data, text->len, o) == 0 && process_gone(s.pid))
		unlink(path); /* left by a stage that was killed */
	return 0;
}

void
health_sweep(void)
{
	struct json_members o = { 0 };

	each_stage_file(sweep_one, &o);
	json_members_free(&o);
}

int
health_fold(struct health_stage *st, int n)
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
		to->pending += from->pending;
		if (from->out_rate_milli >= 0)
			to->out_rate_milli = (to->out_rate_milli > 0 ? to->out_rate_milli : 0) +
			    from->out_rate_milli;
		if (from->held_since_ms > 0 && (to->held_since_ms == 0 || from->held_since_ms < to->held_since_ms))
			to->held_since_ms = from->held_since_ms;
		if (from->updated_ms > to->updated_ms)
			to->updated_ms = from->updated_ms;
		for (int k = 0; k < to->ncounters; k++) {
			long long v = health_stage_counter(from, to->counter[k].name);
			if (v >= 0)
				to->counter[k].value += v;
		}
	}
	return kept;
}

long long
health_stage_counter(const struct health_stage *s, const char *name)
{
	for (int i = 0; i < s->ncounters; i++)
		if (strcmp(s->counter[i].name, name) == 0)
			return s->counter[i].value;
	return -1;
}
