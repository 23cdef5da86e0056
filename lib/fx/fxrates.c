#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fx/fxrates.h"

__extension__ typedef unsigned __int128 u128;

static int
fail(char *why, size_t whylen, const char *fmt, const char *arg)
{
	snprintf(why, whylen, fmt, arg);
	return -1;
}

/* The API's own words from an error member or object, if any, for the log. */
static const char *
error_detail(json_t *error)
{
	static const char *const keys[] = { "info", "message", "type" };

	if (json_is_string(error))
		return json_string_value(error);
	for (size_t i = 0; json_is_object(error) && i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *s = json_object_get(error, keys[i]);
		if (json_is_string(s))
			return json_string_value(s);
	}
	return "no detail";
}

/* The shortest decimal digits*10^exp10 that reads back as v (v > 0, finite). */
static void
to_decimal(double v, unsigned long long *digits, int *exp10)
{
	char s[40], *p;
	int after_point = 0, fraction_digits = 0;

	for (int prec = 0; prec < 17; prec++) {
		snprintf(s, sizeof(s), "%.*e", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	*digits = 0;
	for (p = s; *p != 'e'; p++) {
		if (*p == '.') {
			after_point = 1;
			continue;
		}
		*digits = *digits * 10 + (unsigned long long)(*p - '0');
		fraction_digits += after_point;
	}
	*exp10 = atoi(p + 1) - fraction_digits;
	while (*digits != 0 && *digits % 10 == 0) {
		*digits /= 10;
		(*exp10)++;
	}
}

static int
by_code(const void *a, const void *b)
{
	return strcmp(((const struct fx_rate *)a)->code, ((const struct fx_rate *)b)->code);
}

/* Read the rate members into t (as doubles in digits' place, see below). */
static int
read_rates(json_t *rates, const char *prefix, struct fxrates *t, double *values,
    char *why, size_t whylen)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	const char *key;
	json_t *v;

	json_object_foreach(rates, key, v) {
		const char *code = key + plen;
		if (prefix != NULL && strncmp(key, prefix, plen) != 0)
			return fail(why, whylen, "quote %.40s does not start with the source", key);
		if (*code == '\0')
			return fail(why, whylen, "quote %.40s names no currency", key);
		if (!json_is_number(v))
			return fail(why, whylen, "rate for %.40s is not a number", code);
		double r = json_number_value(v);
		if (!(r > 0) || !isfinite(r))
			return fail(why, whylen, "rate for %.40s is zero or negative", code);
		if (strlen(code) > FX_CODE_MAX)
			continue; /* not a code an event can carry */
		strcpy(t->rates[t->count].code, code);
		values[t->count++] = r;
	}
	return 0;
}

int
fxrates_parse(const char *body, size_t len, struct fxrates *out, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *rates, *j;
	const char *base;
	double *values = NULL, via_eur = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, whylen, "answer is not JSON (line %d, column %d)", jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		fail(why, whylen, "answer is not a JSON object%s", "");
		goto done;
	}
	j = json_object_get(root, "error");
	if (j != NULL && !json_is_null(j) && !json_is_false(j)) {
		fail(why, whylen, "answer reports an error: %.200s", error_detail(j));
		goto done;
	}
	if (json_is_false(json_object_get(root, "success"))) {
		fail(why, whylen, "answer says success:false%s", "");
		goto done;
	}
	rates = json_object_get(root, "rates");
	j = json_object_get(root, "base");
	if (!json_is_object(rates)) {
		rates = json_object_get(root, "quotes");
		j = json_object_get(root, "source");
	}
	if (!json_is_object(rates) || json_object_size(rates) == 0) {
		fail(why, whylen, "answer has no rates%s", "");
		goto done;
	}
	if (!json_is_string(j) || json_string_length(j) == 0 ||
	    json_string_length(j) > FX_CODE_MAX) {
		fail(why, whylen, "answer has no usable base or source currency%s", "");
		goto done;
	}
	base = json_string_value(j);
	out->rates = xmalloc((json_object_size(rates) + 1) * sizeof(*out->rates));
	values = xmalloc((json_object_size(rates) + 1) * sizeof(*values));
	if (read_rates(rates, json_object_get(root, "quotes") == rates ? base : NULL,
	        out, values, why, whylen) != 0)
		goto done;
	/* Cross through a base S other than EUR: EUR->X = S->X / S->EUR. EUR->EUR
	 * is 1 by definition and S->S (if listed) is replaced by 1 / S->EUR. */
	int crossed = strcmp(base, "EUR") != 0;
	for (size_t i = 0; i < out->count; i++)
		if (strcmp(out->rates[i].code, "EUR") == 0)
			via_eur = values[i];
	if (crossed && via_eur == 0) {
		fail(why, whylen, "answer has no EUR rate to cross its base %.8s", base);
		goto done;
	}
	size_t kept = 0;
	for (size_t i = 0; i < out->count; i++) {
		if (strcmp(out->rates[i].code, "EUR") == 0 || strcmp(out->rates[i].code, base) == 0)
			continue;
		out->rates[kept] = out->rates[i];
		values[kept++] = crossed ? values[i] / via_eur : values[i];
	}
	if (crossed) {
		strcpy(out->rates[kept].code, base);
		values[kept++] = 1 / via_eur;
	}
	for (size_t i = 0; i < kept; i++) {
		if (!(values[i] > 0) || !isfinite(values[i])) {
			fail(why, whylen, "crossed rate for %.8s is out of range", out->rates[i].code);
			goto done;
		}
		to_decimal(values[i], &out->rates[i].digits, &out->rates[i].exp10);
	}
	out->count = kept;
	if (out->count == 0) {
		fail(why, whylen, "answer has no rates%s", "");
		goto done;
	}
	qsort(out->rates, out->count, sizeof(*out->rates), by_code);
	for (size_t i = 1; i < out->count; i++)
		if (strcmp(out->rates[i - 1].code, out->rates[i].code) == 0) {
			fail(why, whylen, "answer has two rates for %.8s", out->rates[i].code);
			goto done;
		}
	j = json_object_get(root, "date");
	if (json_is_string(j))
		snprintf(out->date, sizeof(out->date), "%s", json_string_value(j));
	rc = 0;
done:
	free(values);
	json_decref(root);
	if (rc != 0)
		fxrates_free(out);
	return rc;
}

int
fxrates_no_data(const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *error = json_object_get(root, "error");
	json_t *type = json_object_get(error, "type");
	json_t *code = json_object_get(error, "code");
	json_t *message = json_object_get(root, "message");
	int none = (json_is_string(type) &&
	        strcmp(json_string_value(type), "no_rates_available") == 0) ||
	    (json_is_integer(code) && json_integer_value(code) == 106) ||
	    (json_is_string(message) &&
	        strcmp(json_string_value(message), "not_available") == 0);

	json_decref(root);
	return none;
}

void
fxrates_free(struct fxrates *t)
{
	free(t->rates);
	memset(t, 0, sizeof(*t));
}

const struct fx_rate *
fxrates_find(const struct fxrates *t, const char *code)
{
	struct fx_rate key;

	if (strlen(code) > FX_CODE_MAX)
		return NULL;
	strcpy(key.code, code);
	return t->count == 0 ? NULL :
	    bsearch(&key, t->rates, t->count, sizeof(*t->rates), by_code);
}

/* v * 10^n; 0 when it overflows. */
static int
times_pow10(u128 *v, int n)
{
	for (; n > 0; n--)
		if (__builtin_mul_overflow(*v, (u128)10, v))
			return 0;
	return 1;
}

int
fx_to_eur_cents(long long amount, int decimals, const struct fx_rate *rate, long long *cents)
{
	/* cents = |amount| * 10^(2 - decimals - exp10) / digits */
	int p = 2 - decimals - rate->exp10;
	u128 num = amount < 0 ? 0ULL - (unsigned long long)amount : (unsigned long long)amount;
	u128 den = rate->digits, q, r;

	if (num == 0 || den == 0) {
		*cents = 0;
		return den == 0 ? -1 : 0;
	}
	if (p >= 0 && !times_pow10(&num, p))
		return -1; /* num >= 2^128 over a 57-bit divisor: far past LLONG_MAX */
	/* A rate so large that even the largest amount comes to less than half
	 * a cent (den > 2 * LLONG_MAX, or past 2^128) converts nothing: every
	 * amount would read 0 EUR. Only p < 0 gets there: with p >= 0 the rate
	 * is below 2^57 * 10^2. */
	if (p < 0 && (!times_pow10(&den, -p) || den > 2 * (u128)0x7fffffffffffffffLL))
		return -1;
	q = num / den;
	r = num % den;
	if (r >= den - r) /* the remainder is at least half: away from zero */
		q++;
	if (q > (u128)0x7fffffffffffffffLL)
		return -1;
	*cents = amount < 0 ? -(long long)q : (long long)q;
	return 0;
}
