/* history: event counts over time for GET /history (doc/design.md,
 * "casino-http-handler"): 300 one-second and 60 one-minute buckets, fixed
 * memory. casino-tee-agg counts each event by its second on its clock and
 * writes the JSON beside the snapshot; casino-http-handler finds the file
 * from the snapshot's path, never from a request:
 *   {"per_second":{"end":"…Z","counts":[300 integers, oldest first]},
 *    "per_minute":{"end":"…Z","counts":[60 integers, oldest first]}}
 * end is the start of the newest bucket. */
#ifndef CASINO_HISTORY_H
#define CASINO_HISTORY_H
#include <stdint.h>

#include "buf.h"

#define HISTORY_SECONDS 300
#define HISTORY_MINUTES 60

struct history_bucket {
	int64_t key; /* the second, or the minute (second / 60, floored) */
	unsigned long long count;
};

struct history {
	struct history_bucket second[HISTORY_SECONDS], minute[HISTORY_MINUTES];
};

/* One event at second (Unix time), now_second being the clock's now: an
 * event older than a window is not counted in it. */
void history_count(struct history *h, int64_t second, int64_t now_second);
/* Append the JSON for the windows ending at now_second. */
void history_format(const struct history *h, int64_t now_second, struct buf *out);
/* Append the history file's path for snapshot path: ".json" at its end
 * replaced by (else followed by) ".history.json". */
void history_path(const char *snapshot, struct buf *out);

#endif
