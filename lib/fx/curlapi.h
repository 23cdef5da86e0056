/* curlapi: libcurl, loaded with dlopen only when a tool needs it. libcurl
 * and the TLS, Kerberos and LDAP libraries it pulls in make about 7.5 MiB
 * resident just by being loaded, four times what casino-fx needs for a
 * file:// URL (doc/design.md, "libcurl only when needed"). curl_api_load
 * fills the table once; every call goes through it:
 *   if (curl_api_load(why, sizeof(why)) != 0) ...;  curl_api.easy_init();
 * Nothing here logs or exits. */
#ifndef CASINO_CURLAPI_H
#define CASINO_CURLAPI_H
#include <stddef.h>

#include <curl/curl.h>

struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*easy_cleanup)(CURL *);
	void (*global_cleanup)(void);
};

/* Valid once curl_api_load returned 0. */
extern struct curl_api curl_api;

/* Loads libcurl.so.4 and every function above: 0, or -1 with the reason
 * (dlerror's, or the missing function) in why. Again after a success: 0. */
int curl_api_load(char *why, size_t whylen);

#endif
