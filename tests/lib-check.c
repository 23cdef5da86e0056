/* lib-check: lib/ functions on the command line, for the bats suites to
 * compare with the shell's copy of a rule, or to reach a path no program
 * takes on demand.
 *   lib-check exit-rank                 "STATUS RANK" for 0-255 (lib/stage)
 *   lib-check level-rank WORD...        each word's rank, -1 if none (lib/log)
 *   lib-check rundir                    the runtime folder (lib/rundir)
 *   lib-check buf-reserve-max           buf_reserve past SIZE_MAX (lib/buf)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rundir.h"
#include "stage.h"

int
main(int argc, char **argv)
{
	struct buf b = { 0 };

	log_init(argv[0]);
	if (argc == 2 && strcmp(argv[1], "exit-rank") == 0) {
		for (int s = 0; s <= 255; s++)
			printf("%d %d\n", s, exit_rank(s));
	} else if (argc >= 2 && strcmp(argv[1], "level-rank") == 0) {
		for (int i = 2; i < argc; i++)
			printf("%s %d\n", argv[i], log_level_rank(argv[i]));
	} else if (argc == 2 && strcmp(argv[1], "rundir") == 0) {
		rundir_path(&b);
		printf("%s\n", b.data);
	} else if (argc == 2 && strcmp(argv[1], "buf-reserve-max") == 0) {
		buf_puts(&b, "0123456789");
		buf_reserve(&b, SIZE_MAX - 5);
		printf("reserved %zu bytes\n", b.cap);
	} else {
		fprintf(stderr, "usage: lib-check exit-rank | level-rank WORD... | rundir | buf-reserve-max\n");
		return 64;
	}
	buf_free(&b);
	return 0;
}
