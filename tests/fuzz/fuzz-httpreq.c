/* libFuzzer: any bytes as an HTTP request head. Every pointer the parser
 * returns lies inside the input (a field's value inside the head), an
 * accepted head fits the limit, and its Content-Length is none or >= 0. */
#include <stdint.h>
#include <stdlib.h>

#include "http/httpreq.h"

static void
inside(const char *p, size_t n, const uint8_t *data, size_t size)
{
	if (p == NULL ? n != 0 : (p < (const char *)data || p + n > (const char *)data + size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq req;
	const char *v;
	size_t n;

	switch (httpreq_parse((const char *)data, size, &req)) {
	case HTTPREQ_OK:
		if (req.head_len > size || req.head_len > HTTPREQ_MAX_HEAD || req.error != NULL)
			abort();
		inside(req.method, req.method_len, data, size);
		inside(req.target, req.target_len, data, size);
		if (!(req.path_len == 1 && req.path[0] == '/')) /* may be a static "/" */
			inside(req.path, req.path_len, data, size);
		if (req.method_len == 0 || req.target_len == 0 || req.content_length < -1)
			abort();
		(void)httpreq_method_is(&req, "GET");
		(void)httpreq_path_is(&req, "/materialized");
		/* A field's value lies inside the head. */
		if ((v = httpreq_field(&req, "connection", &n)) != NULL) {
			inside(v, n, data, req.head_len);
			(void)httpreq_list_has(v, n, "keep-alive");
		}
		if ((v = httpreq_field(&req, "if-none-match", &n)) != NULL)
			inside(v, n, data, req.head_len);
		break;
	case HTTPREQ_BAD:
		if (req.error == NULL)
			abort();
		break;
	case HTTPREQ_INCOMPLETE:
		if (size > HTTPREQ_MAX_HEAD)
			abort();
		break;
	}
	return 0;
}
