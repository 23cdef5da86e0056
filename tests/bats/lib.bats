#!/usr/bin/env bats
# Rules written in both C (lib/) and shell (scripts/casino-lib.sh) agree for
# every value; lib/ paths no program takes on demand (out of memory).

load helpers

setup() {
	# shellcheck disable=SC2034 # read by casino-lib.sh
	tool=lib.bats usage='' libdir=$CASINO_ROOT/scripts
	# shellcheck source=../../scripts/casino-lib.sh
	. "$CASINO_ROOT/scripts/casino-lib.sh"
}

@test "lib: exit ranking: lib/stage.c and casino-lib.sh rank every status 0-255 alike" {
	local s shell=''
	for ((s = 0; s <= 255; s++)); do
		shell="$shell$s $(casino_status_rank "$s")$casino_nl"
	done
	run lib-check exit-rank
	assert_success
	assert_equal "$output$casino_nl" "$shell"
	assert_equal "$(casino_worst_status 65 74)" 74
	assert_equal "$(casino_worst_status 70 74)" 70
}

@test "lib: log levels: lib/log.c and casino-lib.sh know the same names and ranks" {
	local w r shell='' words
	# shellcheck disable=SC2206 # the list is words
	words=($casino_levels bogus '' Error DEBUG ' info' 'warn ' 0 err)
	for w in "${words[@]}"; do
		r=$(casino_level_rank "$w")
		shell="$shell$w ${r:--1}$casino_nl"
	done
	run lib-check level-rank "${words[@]}"
	assert_success
	assert_equal "$output$casino_nl" "$shell"
}

@test "lib: runtime folder: lib/rundir.c and casino-lib.sh pick the same one" {
	local rd xdg
	for rd in unset '' /tmp/r1; do
		for xdg in unset '' /tmp/x1; do
			unset CASINO_RUNDIR XDG_RUNTIME_DIR
			[ "$rd" = unset ] || export CASINO_RUNDIR=$rd
			[ "$xdg" = unset ] || export XDG_RUNTIME_DIR=$xdg
			run lib-check rundir
			assert_success
			assert_equal "$output" "$(casino_rundir)"
		done
	done
}

@test "lib: a buffer asked to grow past SIZE_MAX is out of memory (71), never a wrapped size" {
	run --separate-stderr lib-check buf-reserve-max
	assert_failure 71
	assert_equal "$output" ""
	assert_equal "$(jq -r '[.level, .tool, .msg] | join(" ")' <<<"$stderr")" "error lib-check out of memory"
}

@test "lib: a failed calloc in the duplicate-key check is out of memory (71), not a \"duplicate key\"" {
	[ -z "${CASINO_INSTRUMENTED:-}" ] || skip "LD_PRELOAD comes before the sanitizer or valgrind"
	local keys='' i
	for ((i = 0; i < 17; i++)); do keys="$keys\"k$i\":$i,"; done
	line="{\"id\":1,\"player_id\":10,\"game_id\":100,\"type\":\"game_start\",$keys\"created_at\":\"2022-01-10T12:34:56Z\"}"
	# 5 keys of the event + 17 more: 22 members, checked with calloc(22, sizeof(struct buf))
	run --separate-stderr env LD_PRELOAD="$CASINO_BIN/test/failalloc.so" FAILALLOC_CALLOC="22 24" \
		casino-describe <<<"$line"
	assert_failure 71
	[[ "$stderr" == *'"msg":"out of memory"'* ]] || fail "$stderr"
	[[ "$stderr" != *'duplicate key'* ]] || fail "$stderr"
	run casino-describe <<<"$line"
	assert_success
}
