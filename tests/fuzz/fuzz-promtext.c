/* libFuzzer: any bytes as a snapshot for the /metrics text. Whatever the
 * snapshot holds, the text is whole lines, each a # HELP or # TYPE comment
 * or a casino_ sample with a value, and casino_snapshot_up is there once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/promtext.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = { 0 };
	char why[128];
	size_t i = 0, ups = 0;

	(void)promtext_snapshot(&b, (const char *)data, size, (long long)size, why, sizeof why);
	if (b.len == 0 || b.data[b.len - 1] != '\n' || memchr(b.data, '\0', b.len) != NULL)
		abort();
	while (i < b.len) {
		const char *line = b.data + i, *nl = memchr(line, '\n', b.len - i);
		size_t n = (size_t)(nl - line);
		const char *space = memchr(line, ' ', n);
		if (strncmp(line, "# HELP casino_", 14) != 0 && strncmp(line, "# TYPE casino_", 14) != 0 &&
		    (strncmp(line, "casino_", 7) != 0 || space == NULL || space + 1 == nl ||
		    memchr(space + 1, ' ', (size_t)(nl - space - 1)) != NULL))
			abort();
		ups += n > 19 && strncmp(line, "casino_snapshot_up ", 19) == 0;
		i += n + 1;
	}
	if (ups != 1)
		abort();
	buf_free(&b);
	return 0;
}
