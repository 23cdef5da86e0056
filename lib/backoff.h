/* backoff: the retry delay after a service failed (the rate API, the
 * database): 100 ms, doubling on each further failure up to 5 s, back to
 * 100 ms after a success.
 *   struct backoff b = { 0 };
 *   while (try() != 0) { int64_t ms = backoff_next(&b); log...; sig_sleep_ms(ms); }
 *   backoff_reset(&b); */
#ifndef CASINO_BACKOFF_H
#define CASINO_BACKOFF_H
#include <stdint.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

struct backoff {
	int64_t delay_ms; /* the last delay handed out; 0 = no failure since reset */
};

/* After a failure: the delay to wait before the next try. */
int64_t backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
