#include <stdio.h>
#include <string.h>

#include "money.h"

/* ISO 4217 codes whose minor unit is the unit itself. */
static const char *const zero_decimal[] = {
	"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
	"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
};

int
money_decimals(const char *currency)
{
	if (strcmp(currency, "BTC") == 0)
		return 8;
	for (size_t i = 0; i < sizeof(zero_decimal) / sizeof(*zero_decimal); i++)
		if (strcmp(currency, zero_decimal[i]) == 0)
			return 0;
	return 2;
}

int
money_format(char *out, long long amount, int decimals)
{
	unsigned long long v = amount < 0 ? 0ULL - (unsigned long long)amount :
	    (unsigned long long)amount;
	unsigned long long scale = 1;
	int len;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	len = snprintf(out, MONEY_MAX, "%s%llu", amount < 0 ? "-" : "", v / scale);
	unsigned long long frac = v % scale;
	if (frac == 0)
		return len;
	int width = decimals;
	while (frac % 10 == 0) {
		frac /= 10;
		width--;
	}
	len += snprintf(out + len, MONEY_MAX - len, ".%0*llu", width, frac);
	return len;
}
