/* players: casino-tee-agg's per-player counters (bets, wins, deposits in
 * EUR cents) and, for each counter, the top player, kept as the counts
 * arrive, so a snapshot costs the same for 10 players or 10 million.
 * Dense: the counters of all players sit in one array (32 bytes each, in
 * order of first sight) found through an open-addressing index of 4-byte
 * positions, at most 3/4 full: about 40 bytes a player in all. Counters
 * only grow (every delta is >= 0; deposits saturate at INT64_MAX), which is
 * what keeps the top right without a scan: only the player just counted can
 * overtake the top, ties going to the lower id. players_top gives
 * {0, 0} while no player has a positive count. Ids are any long long
 * values; at most 2^32 - 2 players. */
#ifndef CASINO_PLAYERS_H
#define CASINO_PLAYERS_H
#include <stddef.h>
#include <stdint.h>

enum { TOP_BETS, TOP_WINS, TOP_DEPOSITS, TOPS };

struct top {
	long long id, count;
};

struct player_counts {
	long long id, count[TOPS];
};

#define PLAYERS_AHEAD 8

struct pending {
	long long id, add[TOPS];
	size_t at; /* position in all, once found */
};

struct players {
	struct player_counts *all; /* n used, cap allocated */
	size_t n, cap;
	uint32_t *index;           /* 1 + position in all; 0: free */
	unsigned index_bits;       /* the index has 2^index_bits slots */
	struct top top[TOPS];
	struct pending queue[PLAYERS_AHEAD]; /* counts given, not yet applied */
	size_t queued;
};

/* Add bets, wins and deposits (each >= 0) to player id, created at its
 * first sight with zero counts. Applied a call or two later (the memory of
 * the players to come is fetched meanwhile); players_top and players_flush
 * apply what is pending. */
void players_count(struct players *t, long long id, long long bets, long long wins,
	long long deposits);
void players_flush(struct players *t);
/* The top player of counter k (TOP_BETS, TOP_WINS, TOP_DEPOSITS), with
 * every count given so far. */
struct top players_top(struct players *t, int k);
void players_free(struct players *t);

#endif
