/* lib-check: lib/ paths no program takes on demand, for tests/bats/lib.bats
 * (the rules the scripts share are casino-env's, a program of its own).
 *   lib-check buf-reserve-max           buf_reserve past SIZE_MAX (lib/buf)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
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
	} else {
		fprintf(stderr, "usage: lib-check buf-reserve-max\n");
		return 64;
	}
	buf_free(&b);
	return 0;
}
