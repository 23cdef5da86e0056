/* casino-fx: set "amount_eur" (EUR cents) on bets and deposits from rates
 * fetched with one request, reused for at most --max-age seconds. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "backoff.h"
#include "buf.h"
#include "fx/fxdates.h"
#include "fx/fxrates.h"
#include "fx/fxsource.h"
#include "health.h"
#include "log.h"
#include "money.h"
#include "opt.h"
#include "stage.h"

struct fx {
	struct fxsource src;
	struct fxrates table;
	int have_table, pass_on_error;
	int64_t fetched_ms, max_age_ms, retry_ms; /* monotonic */
	struct backoff backoff;
	int by_date;            /* --rates-date event */
	int save_no_rates;      /* --no-rates save */
	int64_t no_rates_day;   /* save: the last day found without rates */
	int no_rates_known;     /* no_rates_day is set */
	unsigned long long saved_no_rates, dates_no_rates;
	char fetch_date[16];    /* by_date: the date of the last request */
	struct fxdates dates;
};

/* Stage health counters (doc/design.md, "Stage health"). */
static long long *fetches_ok, *fetches_failed, *rates_fetched_ms;

/* The options (doc/design.md, "One declaration per option"). */
enum { MAX_AGE, RATES_DATE, ON_ERROR, KEY, NO_RATES, REJECT, URL, CONNECT_TIMEOUT, TIMEOUT };
static struct opt opts[] = {
	[MAX_AGE] = { 'a', "max-age", "seconds", "CASINO_FX_MAX_AGE", "60", .kind = OPT_NUMBER,
	    .max = 60, .help = "reuse rates for at most seconds, 0-60" },
	[RATES_DATE] = { 'D', "rates-date", "latest|event", "CASINO_FX_RATES_DATE", "latest",
	    .kind = OPT_CHOICE, .choices = "latest event",
	    .help = "latest: the rates of now; event: of each event's\n"
	    "UTC date, {date} in the URL" },
	[ON_ERROR] = { 'e', "on-error", "hold|pass", "CASINO_FX_ON_ERROR", "hold",
	    .kind = OPT_CHOICE, .choices = "hold pass",
	    .help = "hold: wait for rates; pass: emit without amount_eur" },
	[KEY] = { 'k', "key", "key", "CASINO_FX_KEY", .help = "API key, sent as access_key" },
	[NO_RATES] = { 'n', "no-rates", "hold|save", "CASINO_FX_NO_RATES", "hold",
	    .kind = OPT_CHOICE, .choices = "hold save",
	    .help = "a date with no rates within 7 days (-D event): hold:\n"
	    "wait for them; save: its events to the reject file" },
	[REJECT] = OPT_REJECT,
	[URL] = { 'u', "url", "url", "CASINO_FX_URL", .help = "rate API or file:// URL" },
	[CONNECT_TIMEOUT] = { 0, NULL, "ms", "CASINO_FX_CONNECT_TIMEOUT_MS", "5000",
	    .kind = OPT_NUMBER, .min = 1, .max = 600000, .help = "connect timeout, ms" },
	[TIMEOUT] = { 0, NULL, "ms", "CASINO_FX_TIMEOUT_MS", "10000", .kind = OPT_NUMBER,
	    .min = 1, .max = 600000, .help = "request timeout, ms" },
};

/* One request. 0 with a new table, -1 with the reason in fx->src.scrubbed. */
static int
fetch(struct fx *fx)
{
	int64_t started = timefmt_monotonic_ms();
	struct fxrates table;
	long status;
	char why[300];

	if (fxsource_fetch(&fx->src, NULL, &status, why, sizeof(why)) != 0 ||
	    fxrates_parse(fx->src.body.data, fx->src.body.len, &table, why, sizeof(why)) != 0) {
		fxsource_scrub(&fx->src, why);
		(*fetches_failed)++;
		return -1;
	}
	(*fetches_ok)++;
	*rates_fetched_ms = timefmt_now().sec * 1000;
	fxrates_free(&fx->table);
	fx->table = table;
	fx->have_table = 1;
	fx->fetched_ms = started; /* the age counts from the request */
	log_info("rates fetched", LOG_STR("url", fx->src.log_url), LOG_STR("date", table.date),
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
		if (fx->have_table && fx->max_age_ms > 0 && now - fx->fetched_ms <= fx->max_age_ms)
			return 1;
		if (backing_off(fx))
			return 0;
		out_flush(); /* what is done goes out before a slow request */
		if (fetch(fx) == 0)
			return 1; /* fresh for this event even with --max-age 0 */
		delay = backoff_next(&fx->backoff);
		log_warn("cannot fetch rates", LOG_STR("url", fx->src.log_url),
		    LOG_STR("error", fx->src.scrubbed.data), LOG_INT("retry_in_ms", delay));
		again = fetch_retry(fx, delay);
	}
	return again;
}

static void
fx_close(struct fx *fx)
{
	fxsource_close(&fx->src);
	fxdates_free(&fx->dates);
	fxrates_free(&fx->table);
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
	long status;
	int failed;

	fxdates_name(day, date);
	memcpy(fx->fetch_date, date, sizeof(date));
	failed = fxsource_fetch(&fx->src, date, &status, why, sizeof(why)) != 0;
	body = fx->src.body.data;
	if (!failed)
		failed = fxrates_parse(body, fx->src.body.len, out, why, sizeof(why)) != 0;
	if (failed && (status == 404 || status == 410 || fxrates_no_data(body, fx->src.body.len))) {
		log_info("no rates for this date", LOG_STR("url", fx->src.log_url),
		    LOG_STR("date", date), LOG_STR("reason", fxsource_scrub(&fx->src, why)));
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
		fxsource_scrub(&fx->src, why);
		(*fetches_failed)++;
		return FX_FETCH_FAILED;
	}
	(*fetches_ok)++;
	*rates_fetched_ms = timefmt_now().sec * 1000;
	log_info("rates fetched", LOG_STR("url", fx->src.log_url), LOG_STR("date", date),
	    LOG_STR("rates_date", out->date), LOG_INT("currencies", out->count));
	return FX_FETCH_OK;
}

/* rates_ready for --rates-date event: 1 with the rates of day, or of the
 * nearest earlier day that has them, in *table; 0: pass the event on; -1:
 * stopped while holding; 2: the source has no rates for day nor the days
 * before it, and --no-rates save gives its events up (a replay of a day
 * nobody has rates for must end, not wait). A day's rates never change:
 * no --max-age. */
static int
rates_ready_on(struct fx *fx, int64_t day, const struct fxrates **table)
{
	enum fx_fetch result;
	char date[16], used_date[16];
	int64_t used;
	int fetched, again;

	if ((*table = fxdates_cached(&fx->dates, day)) != NULL)
		return 1;
	if (fx->save_no_rates && fx->no_rates_known && fx->no_rates_day == day)
		return 2;
	fxdates_name(day, date);
	for (;;) {
		int64_t delay;
		if (backing_off(fx))
			return 0;
		out_flush(); /* what is done goes out before a slow request */
		*table = fxdates_resolve(&fx->dates, day, fetch_day, fx, &used, &fetched, &result);
		if (*table != NULL) {
			fxdates_name(used, used_date);
			if (fetched && used != day)
				log_info("using the rates of the nearest earlier date",
				    LOG_STR("date", date), LOG_STR("rates_date", used_date));
			return 1;
		}
		if (result == FX_FETCH_NO_DATA && fx->save_no_rates) {
			log_warn("no rates for the date or the 7 days before it; "
			    "its events are saved to the reject file", LOG_STR("url", fx->src.log_url),
			    LOG_STR("date", date));
			fx->no_rates_day = day;
			fx->no_rates_known = 1;
			fx->dates_no_rates++;
			health_hold(0);
			backoff_reset(&fx->backoff);
			return 2;
		}
		delay = backoff_next(&fx->backoff);
		if (result == FX_FETCH_NO_DATA)
			log_warn("no rates for the date or the 7 days before it",
			    LOG_STR("url", fx->src.log_url), LOG_STR("date", date),
			    LOG_INT("retry_in_ms", delay));
		else
			log_warn("cannot fetch rates", LOG_STR("url", fx->src.log_url),
			    LOG_STR("date", fx->fetch_date), LOG_STR("error", fx->src.scrubbed.data),
			    LOG_INT("retry_in_ms", delay));
		if ((again = fetch_retry(fx, delay)) != 1)
			return again;
	}
}

/* Write ev with amount_eur, or without it (logged) when its currency has
 * no rate. A rate that cannot convert its amount (lib/fx/fxrates: 1e-308,
 * 1e308) is held exactly like missing rates: the table is dropped and
 * fetched again after the backoff, so a corrected answer is taken; the
 * backoff and the hold end only once an event is written. 1 written, 0
 * pass it on (--on-error pass), -1 stopped while holding, 2 give it up
 * (--no-rates save). */
static int
convert(struct fx *fx, struct stage *st, const struct event *ev)
{
	int64_t day = fxdates_day(ev->created_at), delay;
	const struct fxrates *table;
	const struct fx_rate *rate;
	long long cents;
	char value[24];
	int ready;

	for (;;) {
		table = &fx->table;
		if ((ready = fx->by_date ? rates_ready_on(fx, day, &table) : rates_ready(fx)) != 1)
			return ready;
		if ((rate = fxrates_find(table, ev->currency)) == NULL) {
			log_warn("unknown currency; event passed without amount_eur",
			    LOG_INT("event_id", ev->id), LOG_STR("currency", ev->currency));
			stage_emit(st, ev);
			break;
		}
		if (fx_to_eur_cents(ev->amount, money_decimals(ev->currency), rate, &cents) == 0) {
			stage_emit_key(st, ev, "amount_eur", value,
			    (size_t)snprintf(value, sizeof(value), "%lld", cents));
			break;
		}
		delay = backoff_next(&fx->backoff);
		log_warn("the rate cannot convert the amount; rates fetched again",
		    LOG_INT("event_id", ev->id), LOG_STR("currency", ev->currency),
		    LOG_INT("amount", ev->amount), LOG_STR("rates_date", table->date),
		    LOG_INT("retry_in_ms", delay));
		if (fx->by_date)
			fxdates_forget(&fx->dates, day); /* table is gone */
		fx->have_table = 0;
		if ((ready = fetch_retry(fx, delay)) != 1)
			return ready;
	}
	health_hold(0);
	backoff_reset(&fx->backoff);
	return 1;
}

/* --rates-date: latest or event, and event needs {date} in the URL;
 * --no-rates save needs dates and a reject file to save to. */
static void
rates_by_date(struct fx *fx, const char *url)
{
	fx->by_date = opts[RATES_DATE].choice == 1;
	if (fx->by_date && strstr(url, "{date}") == NULL) {
		log_error("rates of the event's date need {date} in the rate URL",
		    LOG_STR("option", opts[RATES_DATE].source));
		opt_usage_error();
	}
	fx->save_no_rates = opts[NO_RATES].choice == 1;
	if (fx->save_no_rates && (!fx->by_date || opts[REJECT].value == NULL)) {
		log_error("--no-rates save needs --rates-date event and a reject file (-r)",
		    LOG_STR("option", opts[NO_RATES].source));
		opt_usage_error();
	}
}

int
main(int argc, char **argv)
{
	const char *url;
	char why[300];
	struct fx fx = { 0 };
	struct stage st;
	struct event ev;
	char value[24];
	int c, lost = 0, status;

	log_init(argv[0]);
	opt_parse(argc, argv, opts, OPT_COUNT(opts), NULL, 0);
	if ((url = opts[URL].value) == NULL) {
		log_error("no rate URL: give -u URL or set CASINO_FX_URL");
		opt_usage_error();
	}
	fx.pass_on_error = opts[ON_ERROR].choice == 1;
	fx.max_age_ms = opts[MAX_AGE].number * 1000;
	rates_by_date(&fx, url);
	if ((c = fxsource_open(&fx.src, url, opts[KEY].value, opts[CONNECT_TIMEOUT].number,
	    opts[TIMEOUT].number, why, sizeof(why))) != 0)
		die(c, why, LOG_STR("option", opts[URL].source));
	opt_checked();
	fetches_ok = health_counter("fetches_ok");
	fetches_failed = health_counter("fetches_error");
	rates_fetched_ms = health_counter("rates_fetched_ms");

	stage_open(&st, opts[REJECT].value);
	while (stage_next(&st, &ev)) {
		if (!ev.has_amount) {
			stage_emit(&st, &ev);
		} else if (strcmp(ev.currency, "EUR") == 0) {
			stage_emit_key(&st, &ev, "amount_eur", value,
			    (size_t)snprintf(value, sizeof(value), "%lld", ev.amount));
		} else {
			switch (convert(&fx, &st, &ev)) {
			case 1:
				break;
			case 0:
				log_warn("no fresh rates; event passed without amount_eur",
				    LOG_INT("event_id", ev.id));
				stage_emit(&st, &ev);
				break;
			case 2: /* its date has no rates: saved, or (74) all from here */
				if (stage_save(&st, &ev) == 0) {
					fx.saved_no_rates++;
					break;
				}
				stage_stop_holding(&st, NULL, 0);
				lost = 1;
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
	if (fx.saved_no_rates > 0)
		log_warn("events of dates without rates saved to the reject file",
		    LOG_INT("saved", (long long)fx.saved_no_rates),
		    LOG_INT("dates", (long long)fx.dates_no_rates), LOG_STR("reject", opts[REJECT].value));
	status = stage_finish(&st);
	fx_close(&fx);
	return status;
}
