/* lib-check: lib/ paths no program takes on demand, for tests/bats/lib.bats
 * (the rules the scripts share are casino-env's, a program of its own).
 *   lib-check buf-reserve-max           buf_reserve past SIZE_MAX (lib/buf)
 *   lib-check without-keys KEY...       each event on stdin without KEYs (lib/event)
 *   lib-check move-key FROM TO          each event on stdin, FROM renamed TO (lib/event)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct buf b = { 0 };

	log_init(argv[0]);
	if (argc == 2 && strcmp(argv[1], "buf-reserve-max") == 0) {
		buf_puts(&b, "0123456789");
		buf_reserve(&b, SIZE_MAX - 5);
		printf("reserved %zu bytes\n", b.cap);
	} else if ((argc >= 3 && strcmp(argv[1], "without-keys") == 0) ||
	    (argc == 4 && strcmp(argv[1], "move-key") == 0)) {
		char line[4096], why[128];
		struct event ev;
		while (fgets(line, sizeof(line), stdin) != NULL) {
			if (event_parse(&ev, line, strcspn(line, "\n"), why, sizeof(why)) != 0) {
				printf("bad: %s\n", why);
				continue;
			}
			b.len = 0;
			if (argv[1][0] == 'w')
				event_write_without_keys(&b, &ev, (const char *const *)argv + 2, (size_t)argc - 2);
			else
				event_write_moved_key(&b, &ev, argv[2], argv[3]);
			fwrite(b.data, 1, b.len, stdout);
			event_free(&ev);
		}
	} else {
		fprintf(stderr, "usage: lib-check buf-reserve-max | without-keys KEY... | move-key FROM TO\n");
		return 64;
	}
	buf_free(&b);
	return 0;
}
