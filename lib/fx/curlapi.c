#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "fx/curlapi.h"

struct curl_api curl_api;

#define CURL_SYMBOL(f) { "curl_" #f, offsetof(struct curl_api, f) }
static const struct { const char *name; size_t offset; } curl_symbols[] = {
	CURL_SYMBOL(global_init), CURL_SYMBOL(easy_init), CURL_SYMBOL(easy_setopt),
	CURL_SYMBOL(easy_perform), CURL_SYMBOL(easy_getinfo), CURL_SYMBOL(easy_strerror),
	CURL_SYMBOL(easy_escape), CURL_SYMBOL(free), CURL_SYMBOL(url), CURL_SYMBOL(url_set),
	CURL_SYMBOL(url_get), CURL_SYMBOL(url_cleanup), CURL_SYMBOL(easy_cleanup),
	CURL_SYMBOL(global_cleanup),
};

int
curl_api_load(char *why, size_t whylen)
{
	static int loaded;
	void *lib;

	if (loaded)
		return 0;
	if ((lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		const char *err = dlerror();
		snprintf(why, whylen, "cannot load libcurl: %s", err ? err : "unknown error");
		return -1;
	}
	for (size_t i = 0; i < sizeof(curl_symbols) / sizeof(*curl_symbols); i++) {
		void *f = dlsym(lib, curl_symbols[i].name);
		if (f == NULL) {
			snprintf(why, whylen, "libcurl lacks %s", curl_symbols[i].name);
			dlclose(lib);
			return -1;
		}
		/* A data pointer into a function pointer: dlsym's own contract. */
		memcpy((char *)&curl_api + curl_symbols[i].offset, &f, sizeof(f));
	}
	loaded = 1;
	return 0;
}
