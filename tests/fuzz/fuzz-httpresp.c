/* libFuzzer: any bytes as an If-None-Match value against a tag, and as a
 * body and Date of an answer. etag_matches stays inside its input; the
 * written answer is the head, one empty line, then exactly the body (none
 * for HEAD), and its Content-Length is the body's length. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/httpresp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpresp r = { 0 };
	struct buf out = { 0 };
	struct stat st = { 0 };
	char date[64], want[64];
	const char *end;
	size_t head;
	int64_t sec;

	if (size < 8)
		return 0;
	memcpy(&sec, data, sizeof sec);
	data += 8;
	size -= 8;
	httpresp_status(&r, 200, "OK");
	r.type = "application/json";
	st.st_ino = size;
	st.st_mtim.tv_sec = (time_t)(sec % 253402300799LL);
	if (st.st_mtim.tv_sec < 0)
		st.st_mtim.tv_sec = -st.st_mtim.tv_sec;
	httpresp_validators(&r, &st, "", (long long)sec);
	(void)httpresp_etag_matches((const char *)data, size, r.etag);
	if (!httpresp_etag_matches(r.etag, strlen(r.etag), r.etag) ||
	    !httpresp_etag_matches("*", 1, r.etag))
		abort();
	buf_append(&r.body, data, size);
	httpresp_date(date, sizeof date, st.st_mtim.tv_sec);
	httpresp_put(&out, &r, (int)(sec & 1), date, (sec & 2) ? "close" : NULL);
	end = memmem(out.data, out.len, "\r\n\r\n", 4);
	if (end == NULL)
		abort();
	head = (size_t)(end - out.data) + 4;
	snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", size);
	if (memmem(out.data, head, want, strlen(want)) == NULL)
		abort();
	if (out.len - head != ((sec & 1) ? 0 : size) ||
	    ((sec & 1) == 0 && memcmp(out.data + head, data, size) != 0))
		abort();
	buf_free(&r.body);
	buf_free(&out);
	return 0;
}
