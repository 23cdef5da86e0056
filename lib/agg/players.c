#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "agg/players.h"

#define INDEX_BITS_MIN 6
#define NOT_FOUND SIZE_MAX
#define REHASH_AHEAD 16
#define HUGE_PAGE ((uintptr_t)2 << 20)

/* Ask for huge pages over the 2 MiB pages wholly inside [p, p + n): with
 * millions of players every count is a random access, and 4 KiB pages
 * would add a TLB miss to each. Only where the kernel offers it (madvise
 * mode); unused tails cost at most one huge page. */
static void
huge_pages(void *p, size_t n)
{
	uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t to = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);

	if (to > from)
		(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}

static uint64_t
hash_of(long long id)
{
	return (uint64_t)id * 0x9e3779b97f4a7c15ULL;
}

/* An index entry is 1 + the player's position in its low index_bits bits
 * (0: a free slot) and, in the bits above, a tag from the id's hash, so
 * that a probe passing other players' entries rarely reads their counters
 * (a cache miss each) to compare ids. */
static uint32_t
tag_of(uint64_t hash, unsigned bits)
{
	return bits >= 32 ? 0 : (uint32_t)(hash >> 32) & ((UINT32_C(1) << (32 - bits)) - 1);
}

static size_t
slot_of(uint64_t hash, unsigned bits)
{
	return (size_t)(hash >> (64 - bits));
}

/* The slot of id in the index: its entry, or the free slot it would take. */
static size_t
probe(const struct players *t, long long id, uint64_t hash)
{
	unsigned bits = t->index_bits;
	size_t mask = ((size_t)1 << bits) - 1, i = slot_of(hash, bits);
	uint32_t tag = tag_of(hash, bits), e;

	while ((e = t->index[i]) != 0) {
		if ((uint32_t)((uint64_t)e >> bits) == tag && t->all[(e & mask) - 1].id == id)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void
index_set(struct players *t, size_t slot, uint64_t hash, size_t position)
{
	t->index[slot] = (uint32_t)((uint64_t)tag_of(hash, t->index_bits) << t->index_bits |
	    (position + 1));
}

/* A new index twice the size (or the first), the old one freed at once.
 * The ids are distinct: each goes to the first free slot, no compares. */
static void
index_grow(struct players *t)
{
	unsigned bits = t->index ? t->index_bits + 1 : INDEX_BITS_MIN;
	size_t mask = ((size_t)1 << bits) - 1;

	free(t->index);
	t->index = xmalloc(sizeof(*t->index) << bits);
	huge_pages(t->index, sizeof(*t->index) << bits);
	memset(t->index, 0, sizeof(*t->index) << bits);
	t->index_bits = bits;
	for (size_t p = 0; p < t->n; p++) {
		if (p + REHASH_AHEAD < t->n) /* the slot wanted a few players on */
			__builtin_prefetch(&t->index[slot_of(hash_of(t->all[p + REHASH_AHEAD].id), bits)], 1);
		uint64_t hash = hash_of(t->all[p].id);
		size_t i = slot_of(hash, bits);
		while (t->index[i] != 0)
			i = (i + 1) & mask;
		index_set(t, i, hash, p);
	}
}

/* The position of id in all, the player created at its first sight. */
static size_t
player_find(struct players *t, long long id)
{
	uint64_t hash = hash_of(id);

	if (t->index == NULL || 4 * (t->n + 1) > 3 * ((size_t)1 << t->index_bits))
		index_grow(t);
	size_t i = probe(t, id, hash);
	if (t->index[i] != 0)
		return (t->index[i] & (((size_t)1 << t->index_bits) - 1)) - 1;
	if (t->n == t->cap) {
		/* Doubling by realloc: a large block moves by mremap, and pages
		 * not yet written cost no memory. */
		t->cap = t->cap ? 2 * t->cap : 64;
		t->all = xrealloc(t->all, t->cap * sizeof(*t->all));
	}
	t->all[t->n] = (struct player_counts){ .id = id };
	index_set(t, i, hash, t->n);
	return t->n++;
}

static void
count_now(struct players *t, const struct pending *c)
{
	struct player_counts *p = &t->all[c->at];

	for (int k = 0; k < TOPS; k++) {
		if (c->add[k] == 0)
			continue;
		if (__builtin_add_overflow(p->count[k], c->add[k], &p->count[k]))
			p->count[k] = INT64_MAX;
		struct top *top = &t->top[k];
		if (p->count[k] > top->count || (p->count[k] == top->count && p->id < top->id))
			*top = (struct top){ p->id, p->count[k] };
	}
}

/* Each count passes three steps, PLAYERS_AHEAD / 2 calls apart, so that
 * the memory of the players to come is fetched while the caller parses the
 * events between: prefetch the index slot; find the player (its slot now
 * in cache) and prefetch its counters; count. */
void
players_count(struct players *t, long long id, long long bets, long long wins,
    long long deposits)
{
	struct pending *q = t->queue;
	const size_t lag = PLAYERS_AHEAD / 2;

	if (t->queued == PLAYERS_AHEAD) {
		count_now(t, &q[0]);
		memmove(q, q + 1, (PLAYERS_AHEAD - 1) * sizeof(*q));
		t->queued--;
	}
	if (t->queued >= lag) {
		struct pending *c = &q[t->queued - lag];
		c->at = player_find(t, c->id);
		__builtin_prefetch(&t->all[c->at], 1);
	}
	q[t->queued++] = (struct pending){ id, { bets, wins, deposits }, NOT_FOUND };
	if (t->index != NULL)
		__builtin_prefetch(&t->index[slot_of(hash_of(id), t->index_bits)], 0);
}

void
players_flush(struct players *t)
{
	for (size_t i = 0; i < t->queued; i++) {
		if (t->queue[i].at == NOT_FOUND)
			t->queue[i].at = player_find(t, t->queue[i].id);
		count_now(t, &t->queue[i]);
	}
	t->queued = 0;
}

struct top
players_top(struct players *t, int k)
{
	players_flush(t);
	return t->top[k];
}

void
players_free(struct players *t)
{
	free(t->all);
	free(t->index);
	memset(t, 0, sizeof(*t));
}
