#include "backoff.h"

int64_t
backoff_next(struct backoff *b)
{
	b->delay_ms = b->delay_ms == 0 ? BACKOFF_FIRST_MS :
	    b->delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->delay_ms * 2;
	return b->delay_ms;
}

void
backoff_reset(struct backoff *b)
{
	b->delay_ms = 0;
}
