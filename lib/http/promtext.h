/* promtext: the Prometheus text exposition format (0.0.4) of what
 * casino-http-handler serves at /metrics: the snapshot's aggregates and the
 * stages' health. Pure: text in, text out; no files, no clock (the caller
 * gives ages and now), so it is tested on its own. */
#ifndef CASINO_PROMTEXT_H
#define CASINO_PROMTEXT_H
#include <stddef.h>

#include "buf.h"
#include "healthread.h"

/* Append the aggregates of the snapshot JSON text[0..len), written age_s
 * whole seconds ago, and casino_snapshot_up 1. text NULL (no snapshot),
 * or not a JSON object: casino_snapshot_up 0 only, and -1 for the latter
 * (why, of size why_size, says why); else 0. Values that are not JSON
 * numbers are left out. */
int promtext_snapshot(struct buf *b, const char *text, size_t len, long long age_s,
	char *why, size_t why_size);
/* Append the series of the n stages (folded, healthread), now_ms the wall
 * clock in ms. Nothing when n is 0. */
void promtext_stages(struct buf *b, const struct health_stage *st, int n, long long now_ms);
/* FNV-1a of p[0..n): the ETag of an answer made from more than one file. */
unsigned long long promtext_hash(const char *p, size_t n);

#endif
