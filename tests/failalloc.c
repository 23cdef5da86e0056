/* failalloc.so: LD_PRELOAD it to make one calloc size fail, for the tests
 * of out-of-memory paths. FAILALLOC_CALLOC="N S" fails calloc(N, S); every
 * other call goes to the C library's. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void *__libc_calloc(size_t n, size_t size);

void *
calloc(size_t n, size_t size)
{
	static int read_env;
	static size_t fail_n, fail_size;

	if (!read_env) {
		const char *spec = getenv("FAILALLOC_CALLOC");
		read_env = 1;
		if (spec == NULL || sscanf(spec, "%zu %zu", &fail_n, &fail_size) != 2)
			fail_n = fail_size = 0;
	}
	if (fail_n != 0 && n == fail_n && size == fail_size)
		return NULL;
	return __libc_calloc(n, size);
}
