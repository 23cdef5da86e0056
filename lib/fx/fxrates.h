/* fxrates: the exchange-rate table of casino-fx, parsed from the body of one
 * rate API answer, and the conversion of an amount to EUR cents.
 *
 * fxrates_parse is a pure function over a byte buffer (no I/O, no globals),
 * so a fuzz target can call it with anything. It accepts the two documented
 * shapes (doc/design.md, casino-fx):
 *   {"base":"EUR","rates":{"USD":1.0705,...}}                  (classic)
 *   {"success":true,"source":"EUR","quotes":{"EURUSD":1.0705,...}} (apilayer)
 * and when the base or source is not EUR, crosses every rate through it:
 * EUR->X = S->X / S->EUR, which needs S->EUR in the answer. It fails (returns
 * -1 with a reason that never quotes the request) on: a body that is not a
 * JSON object, "success":false, an "error" member that is not null/false, no
 * or an empty rates/quotes object, a missing or malformed base/source, a
 * quote key that does not start with the source, a rate that is not a
 * number, or is zero, negative or not finite. One bad rate fails the whole
 * answer: a table is used whole or not at all.
 *
 * Rates are kept as the shortest decimal that reads back as the parsed
 * double (1.0705 stays 1.0705, not 1.07049999...), so conversion works on
 * the published digits exactly. */
#ifndef CASINO_FXRATES_H
#define CASINO_FXRATES_H
#include <stddef.h>

#define FX_CODE_MAX 8 /* longest currency code kept */

struct fx_rate {
	char code[FX_CODE_MAX + 1];
	unsigned long long digits; /* rate = digits * 10^exp10 */
	int exp10;
};

struct fxrates {
	struct fx_rate *rates; /* sorted by code */
	size_t count;
	char date[32];         /* "date" of the answer if given, else "" */
};

/* 0 and a table the caller frees with fxrates_free; -1 with why set and
 * *out left empty. */
int fxrates_parse(const char *body, size_t len, struct fxrates *out,
	char *why, size_t whylen);
void fxrates_free(struct fxrates *t);
/* 1 when body is an API's answer that it has no rates for the date asked,
 * as opposed to any other failure: an "error" whose type is
 * "no_rates_available" or code 106 (apilayer, exchangerate.host), or whose
 * message is "not_available" (openexchangerates). */
int fxrates_no_data(const char *body, size_t len);
/* The EUR->code rate, or NULL when the table has none. */
const struct fx_rate *fxrates_find(const struct fxrates *t, const char *code);

/* amount (minor units with `decimals` digits, >= 0 or < 0) in EUR cents:
 * amount / 10^decimals / rate * 100, rounded half away from zero, computed
 * exactly on the rate's decimal digits. 0; or -1 when the rate cannot
 * convert this amount: the result does not fit a long long (1e-308), or
 * the rate is so large that no amount a long long holds comes to half a
 * cent (1e308), so any amount would read 0 EUR. An amount of 0 is 0. */
int fx_to_eur_cents(long long amount, int decimals, const struct fx_rate *rate,
	long long *cents);

#endif
