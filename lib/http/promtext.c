#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "http/promtext.h"

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
	const struct json_member *top = json_member_find(snap, key), *id_member;
	struct json_members player = { 0 };
	char why[128];
	long long id;

	if (top != NULL && top->kind == JSON_KIND_OBJECT &&
	    json_scan_object(&player, top->value, top->value_len, why, sizeof why) == 0 &&
	    (id_member = json_member_find(&player, "id")) != NULL &&
	    json_member_integer(id_member, &id) == 0 && id >= 0)
		put_metric(b, name, "gauge", help, json_member_find(&player, "count"), id, cents);
	json_members_free(&player);
}

static void
put_up(struct buf *b, int up)
{
	buf_printf(b, "# HELP casino_snapshot_up 1 when the snapshot file exists and "
	    "is a JSON object.\n# TYPE casino_snapshot_up gauge\ncasino_snapshot_up %d\n", up);
}

int
promtext_snapshot(struct buf *b, const char *text, size_t len, long long age_s,
    char *why, size_t why_size)
{
	struct json_members snap = { 0 };

	if (text == NULL || json_scan_object(&snap, text, len, why, why_size) != 0) {
		json_members_free(&snap);
		put_up(b, 0);
		return text == NULL ? 0 : -1;
	}
	put_metric(b, "casino_events_total", "counter", "Events seen by casino-tee-agg.",
	    json_member_find(&snap, "events_total"), -1, 0);
	put_metric(b, "casino_events_per_minute", "gauge",
	    "Events per minute since the first event.",
	    json_member_find(&snap, "events_per_minute"), -1, 0);
	put_metric(b, "casino_events_per_second_moving_average", "gauge",
	    "Events per second over the last 60 seconds.",
	    json_member_find(&snap, "events_per_second_moving_average"), -1, 0);
	put_top_player(b, &snap, "top_player_bets", "casino_top_player_bets",
	    "Bets placed by the player with the most bets.", 0);
	put_top_player(b, &snap, "top_player_wins", "casino_top_player_wins",
	    "Winning bets of the player with the most winning bets.", 0);
	put_top_player(b, &snap, "top_player_deposits", "casino_top_player_deposits_eur",
	    "Deposits in EUR of the player with the largest deposits.", 1);
	put_up(b, 1);
	buf_printf(b, "# HELP casino_snapshot_age_seconds Whole seconds since the "
	    "snapshot was written.\n# TYPE casino_snapshot_age_seconds gauge\n"
	    "casino_snapshot_age_seconds %lld\n", age_s);
	json_members_free(&snap);
	return 0;
}

/* A stage's own counters (doc/design.md, "Stage health"): the counter's
 * name in the stage file, the metric, and its extra label. */
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

static double
seconds_since(long long ms, long long now_ms)
{
	return ms > 0 && now_ms > ms ? (double)(now_ms - ms) / 1000 : 0;
}

/* A gauge with one sample per stage: field picks the value. */
static void
put_stage_gauge(struct buf *b, const char *name, const char *help,
    const struct health_stage *st, int n, long long (*field)(const struct health_stage *))
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (int i = 0; i < n; i++)
		buf_printf(b, "%s{stage=\"%s\"} %lld\n", name, st[i].name, field(&st[i]));
}

static long long held_of(const struct health_stage *s) { return s->held; }
static long long pending_of(const struct health_stage *s) { return s->pending; }

void
promtext_stages(struct buf *b, const struct health_stage *st, int n, long long now_ms)
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
	put_stage_gauge(b, "casino_stage_held_events",
	    "Events a stage holds now, waiting for a service.", st, n, held_of);
	put_stage_gauge(b, "casino_stage_pending_events",
	    "Lines a stage read and has not yet written or rejected.", st, n, pending_of);
	buf_puts(b, "# HELP casino_stage_oldest_held_seconds Age of the oldest held event, 0 when none.\n"
	    "# TYPE casino_stage_oldest_held_seconds gauge\n");
	for (int i = 0; i < n; i++)
		buf_printf(b, "casino_stage_oldest_held_seconds{stage=\"%s\"} %.3f\n", st[i].name,
		    st[i].held > 0 ? seconds_since(st[i].held_since_ms, now_ms) : 0.0);
	for (int i = 0, headed = 0; i < n; i++) {
		if (st[i].out_rate_milli < 0)
			continue;
		if (!headed++)
			buf_puts(b, "# HELP casino_stage_out_per_second Lines a stage wrote per second "
			    "over its last 10 s, by its own clock.\n"
			    "# TYPE casino_stage_out_per_second gauge\n");
		buf_printf(b, "casino_stage_out_per_second{stage=\"%s\"} %lld.%03lld\n", st[i].name,
		    st[i].out_rate_milli / 1000, st[i].out_rate_milli % 1000);
	}
	buf_puts(b, "# HELP casino_stage_updated_timestamp_seconds When the stage last "
	    "published these counters (Unix time).\n"
	    "# TYPE casino_stage_updated_timestamp_seconds gauge\n");
	for (int i = 0; i < n; i++)
		buf_printf(b, "casino_stage_updated_timestamp_seconds{stage=\"%s\"} %lld.%03lld\n",
		    st[i].name, st[i].updated_ms / 1000, st[i].updated_ms % 1000);
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

unsigned long long
promtext_hash(const char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}
