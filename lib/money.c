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
		if (currency[0] == zero_decimal[i][0] && strcmp(currency, zero_decimal[i]) == 0)
			return 0;
	return 2;
}

int
money_format(char *out, long long amount, int decimals)
{
	unsigned long long v = amount < 0 ? 0ULL - (unsigned long long)amount :
	    (unsigned long long)amount;
	char digits[MONEY_MAX], *p = digits + sizeof(digits);
	int len = 0, n, frac_len;

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	n = (int)(digits + sizeof(digits) - p);
	while (n <= decimals) { /* at least one integer digit: 0.00012 */
		*--p = '0';
		n++;
	}
	if (amount < 0)
		out[len++] = '-';
	memcpy(out + len, p, (size_t)(n - decimals));
	len += n - decimals;
	frac_len = decimals;
	while (frac_len > 0 && p[n - decimals + frac_len - 1] == '0')
		frac_len--;
	if (frac_len > 0) {
		out[len++] = '.';
		memcpy(out + len, p + n - decimals, (size_t)frac_len);
		len += frac_len;
	}
	out[len] = '\0';
	return len;
}
