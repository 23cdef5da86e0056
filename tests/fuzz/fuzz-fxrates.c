/* libFuzzer: any bytes as a rate API answer. An accepted table has sorted,
 * positive rates that fxrates_find finds, and converting with them never
 * crashes or overflows silently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fx/fxrates.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fxrates t;
	char why[256];
	long long cents;

	if (fxrates_parse((const char *)data, size, &t, why, sizeof(why)) != 0) {
		if (t.count != 0 || t.rates != NULL || why[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < t.count; i++) {
		if (t.rates[i].digits == 0)
			abort();
		if (i > 0 && strcmp(t.rates[i - 1].code, t.rates[i].code) >= 0)
			abort();
		if (fxrates_find(&t, t.rates[i].code) != &t.rates[i])
			abort();
		for (int decimals = 0; decimals <= 8; decimals += 2) {
			fx_to_eur_cents(1999, decimals, &t.rates[i], &cents);
			fx_to_eur_cents(0x7fffffffffffffffLL, decimals, &t.rates[i], &cents);
		}
	}
	fxrates_free(&t);
	return 0;
}
