#include <string.h>

#include "history.h"
#include "timefmt.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void
count_in(struct history_bucket *ring, int size, int64_t key, int64_t now_key)
{
	struct history_bucket *b = &ring[(key % size + size) % size];

	if (key <= now_key - size || key > now_key)
		return;
	if (b->key != key)
		*b = (struct history_bucket){ key, 0 };
	b->count++;
}

void
history_count(struct history *h, int64_t second, int64_t now_second)
{
	count_in(h->second, HISTORY_SECONDS, second, now_second);
	count_in(h->minute, HISTORY_MINUTES, floor_div(second, 60), floor_div(now_second, 60));
}

static void
put_window(struct buf *out, const char *name, const struct history_bucket *ring, int size,
    int64_t now_key, int64_t unit)
{
	char end[TIMEFMT_MAX];

	timefmt_utc(end, (struct utc_time){ now_key * unit, 0 });
	buf_printf(out, "\"%s\":{\"end\":\"%s\",\"counts\":[", name, end);
	for (int64_t key = now_key - size + 1; key <= now_key; key++) {
		const struct history_bucket *b = &ring[(key % size + size) % size];
		buf_put_int(out, b->key == key ? (long long)b->count : 0);
		if (key < now_key)
			buf_putc(out, ',');
	}
	buf_puts(out, "]}");
}

void
history_format(const struct history *h, int64_t now_second, struct buf *out)
{
	buf_putc(out, '{');
	put_window(out, "per_second", h->second, HISTORY_SECONDS, now_second, 1);
	buf_putc(out, ',');
	put_window(out, "per_minute", h->minute, HISTORY_MINUTES, floor_div(now_second, 60), 60);
	buf_puts(out, "}\n");
}

void
history_path(const char *snapshot, struct buf *out)
{
	size_t n = strlen(snapshot);

	if (n > 5 && strcmp(snapshot + n - 5, ".json") == 0)
		n -= 5;
	buf_append(out, snapshot, n);
	buf_puts(out, ".history.json");
}
