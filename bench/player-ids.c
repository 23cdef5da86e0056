/* bench/player-ids N: copies NDJSON events from stdin to stdout with each
 * "player_id" replaced by 1 + (line * 7919) % N, so that N consecutive lines
 * name N distinct players (7919 is prime, N need not be), spread over the
 * id range in no useful order. For the many-player rows of bench/stages and
 * bench/player. Built by make with the other bench helpers; not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	char *line = NULL, *at, *end;
	size_t cap = 0;
	ssize_t len;
	unsigned long long n, lineno = 0;

	if (argc != 2 || (n = strtoull(argv[1], &end, 10)) == 0 || *end != '\0') {
		fprintf(stderr, "usage: player-ids N\n");
		return 64;
	}
	while ((len = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		at = strstr(line, "\"player_id\":");
		if (at == NULL) {
			fwrite(line, 1, (size_t)len, stdout);
			continue;
		}
		at += 12;
		end = at + strspn(at, "0123456789");
		fwrite(line, 1, (size_t)(at - line), stdout);
		printf("%llu", 1 + lineno * 7919 % n);
		fwrite(end, 1, (size_t)(len - (end - line)), stdout);
	}
	free(line);
	return ferror(stdout) || fflush(stdout) != 0 ? 74 : 0;
}
