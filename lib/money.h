/* money: amounts are integers in minor units of their currency.
 * BTC has 8 decimals, zero-decimal codes (JPY, KRW, ISK, CLP, VND, ...) 0,
 * every other code 2. */
#ifndef CASINO_MONEY_H
#define CASINO_MONEY_H

int money_decimals(const char *currency);
/* Minor units to a decimal string without trailing zeros ("4.68", "5",
 * "0.00012"); out needs MONEY_MAX bytes. Returns the length. */
#define MONEY_MAX 32
int money_format(char *out, long long amount, int decimals);

#endif
