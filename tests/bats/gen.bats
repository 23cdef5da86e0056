#!/usr/bin/env bats
# casino-gen: the original generator's distributions, options, determinism.

load helpers

T0=2022-01-10T12:34:56Z

@test "gen: --help prints usage on stdout and exits 0" {
	run --separate-stderr casino-gen --help
	assert_success
	assert_line --index 0 --partial "usage: casino-gen [-n count]"
	assert_output --partial "--seed"
	[ -z "$stderr" ]
}

@test "gen: -V and --version print the version" {
	run casino-gen -V
	assert_success
	assert_output --regexp '^casino-gen [0-9]+\.[0-9]+\.[0-9]+$'
	run casino-gen --version
	assert_success
}

@test "gen: unknown option and extra operand are usage errors (64)" {
	run --separate-stderr casino-gen --bogus
	assert_failure 64
	[[ "$stderr" == *"usage: casino-gen"* ]]
	run --separate-stderr casino-gen -n 1 extra
	assert_failure 64
}

@test "gen: bad numeric values are named and exit 64" {
	for bad in "-n -1" "-n 12x" "-n ''" "-t abc" "-r -3" "-r fast" "-s x"; do
		eval "run --separate-stderr casino-gen $bad"
		assert_failure 64
		[[ "$stderr" == *'"msg":"bad option value"'* ]]
	done
	run --separate-stderr casino-gen -n 12x
	[[ "$stderr" == *'"value":"12x"'* ]]
	run --separate-stderr casino-gen -T yesterday
	assert_failure 64
	[[ "$stderr" == *'"value":"yesterday"'* ]]
}

@test "gen: -n 0 writes nothing" {
	run --separate-stderr casino-gen -n 0 -T "$T0"
	assert_success
	assert_output ""
}

@test "gen: every event follows the Event type's field rules" {
	casino-gen -n 2000 -s 7 -T "$T0" >"$BATS_TEST_TMPDIR/ev"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ev")" -eq 2000 ]
	# Any line breaking a rule is printed; none may be.
	run jq -c 'select(
		(.player_id < 10 or .player_id > 19)
		or ((.type == "deposit") != (has("game_id") | not))
		or (has("game_id") and (.game_id < 100 or .game_id > 109))
		or ((.type | IN("game_start","bet","deposit","game_stop")) | not)
		or ((.type | IN("bet","deposit")) != has("amount"))
		or ((.type | IN("bet","deposit")) != has("currency"))
		or (has("currency") and ((.currency | IN("EUR","USD","GBP","NZD","BTC")) | not))
		or (has("amount") and (.amount < 0 or .amount > (if .currency == "BTC" then 99999 else 1999 end)))
		or (has("has_won") and (.type != "bet" or .has_won != true))
		or (keys_unsorted - ["id","player_id","game_id","type","amount","currency","has_won","created_at"] != [])
	)' "$BATS_TEST_TMPDIR/ev"
	assert_success
	assert_output ""
	# ids run from 1 without gaps
	run jq -s '[.[].id] == [range(1; 2001)]' "$BATS_TEST_TMPDIR/ev"
	assert_output true
}

@test "gen: keys keep the original Event order" {
	run --separate-stderr casino-gen -n 500 -s 3 -T "$T0"
	assert_success
	while read -r line; do
		[[ "$line" =~ ^\{\"id\":[0-9]+,\"player_id\":[0-9]+(,\"game_id\":[0-9]+)?,\"type\":\"[a-z_]+\"(,\"amount\":[0-9]+,\"currency\":\"[A-Z]+\")?(,\"has_won\":true)?,\"created_at\":\"[^\"]+\"\}$ ]] || fail "bad order: $line"
	done <<<"$output"
}

@test "gen: the same seed gives the same events, another seed others" {
	a=$(casino-gen -n 300 -s 99 -T "$T0")
	b=$(casino-gen -n 300 -s 99 -T "$T0")
	c=$(casino-gen -n 300 -s 100 -T "$T0")
	[ "$a" = "$b" ]
	[ "$a" != "$c" ]
}

@test "gen: -T starts the synthetic clock there and advances 0-100 ms per event" {
	casino-gen -n 1000 -s 5 -T "$T0" >"$BATS_TEST_TMPDIR/ev"
	run jq -r '.created_at' "$BATS_TEST_TMPDIR/ev"
	assert_line --index 0 "$T0"
	# gaps in milliseconds between consecutive events
	run jq -rs '[.[].created_at | sub("Z$"; "") | capture("T(?<h>..):(?<m>..):(?<s>.*)")
		| (.h | tonumber) * 3600000 + (.m | tonumber) * 60000 + (.s | tonumber) * 1000 | round]
		| [range(1; length) as $i | .[$i] - .[$i - 1]] | [min, max, (add / length)] | map(tostring) | join(" ")' "$BATS_TEST_TMPDIR/ev"
	read -r min max mean <<<"$output"
	[ "$min" -ge 0 ]
	[ "$max" -le 100 ]
	# uniform 0-100: the mean of 999 gaps is near 50
	awk -v m="$mean" 'BEGIN { exit !(m > 40 && m < 60) }'
}

# gaps FILE: the least, greatest and mean gap in ms between consecutive
# events' created_at, on one line.
gaps() {
	jq -rs 'map(.created_at | capture("^(?<s>[^.Z]*)(?<f>\\.[0-9]+)?Z$")
		| (.s + "Z" | fromdateiso8601) * 1000 + (("0" + (.f // "")) | tonumber) * 1000 | round)
		| [range(1; length) as $i | .[$i] - .[$i - 1]] | "\(min) \(max) \(add / length)"' "$1"
}

@test "gen: -g MIN-MAX draws each gap from that range, -g MS is a fixed gap" {
	casino-gen -n 500 -s 5 -T "$T0" -g 2000-3000 >"$BATS_TEST_TMPDIR/ev"
	read -r min max mean <<<"$(gaps "$BATS_TEST_TMPDIR/ev")"
	[ "$min" -ge 2000 ]
	[ "$max" -le 3000 ]
	awk -v m="$mean" 'BEGIN { exit !(m > 2400 && m < 2600) }'
	casino-gen -n 50 -s 5 -T "$T0" --gap=5 >"$BATS_TEST_TMPDIR/ev"
	run gaps "$BATS_TEST_TMPDIR/ev"
	assert_output '5 5 5'
}

@test "gen: -t 86400 -g 0-1728 makes a sparse day: about 100k events spanning it" {
	casino-gen -s 42 -T 2024-01-01T00:00:00Z -t 86400 -g 0-1728 >"$BATS_TEST_TMPDIR/day"
	n=$(wc -l <"$BATS_TEST_TMPDIR/day")
	[ "$n" -gt 90000 ]
	[ "$n" -lt 110000 ]
	run jq -r .created_at <(head -n 1 "$BATS_TEST_TMPDIR/day") <(tail -n 1 "$BATS_TEST_TMPDIR/day")
	assert_line --index 0 2024-01-01T00:00:00Z
	assert_line --index 1 --regexp '^2024-01-01T23:59:'
}

@test "gen: with -T and -r the synthetic clock keeps the -g gaps while -r paces the writing" {
	run --separate-stderr casino-gen -s 1 -T "$T0" -g 86400000 -r 100 -n 3
	assert_success
	run jq -r .created_at <<<"$output"
	assert_output $'2022-01-10T12:34:56Z\n2022-01-11T12:34:56Z\n2022-01-12T12:34:56Z'
}

@test "gen: without -T and -r it sleeps each -g gap" {
	casino-gen -n 3 -g 300 >"$BATS_TEST_TMPDIR/ev"
	read -r min _ _ <<<"$(gaps "$BATS_TEST_TMPDIR/ev")"
	[ "$min" -ge 300 ]
}

@test "gen: -g 0-100, the default, keeps a seed's events" {
	casino-gen -n 500 -s 9 -T "$T0" >"$BATS_TEST_TMPDIR/a"
	casino-gen -n 500 -s 9 -T "$T0" -g 0-100 >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "gen: CASINO_GEN_GAP sets the gap, -g wins; a bad gap is a usage error naming its source" {
	run --separate-stderr env CASINO_GEN_GAP=1000 casino-gen -n 3 -s 1 -T "$T0"
	assert_success
	run jq -r .created_at <<<"$output"
	assert_output $'2022-01-10T12:34:56Z\n2022-01-10T12:34:57Z\n2022-01-10T12:34:58Z'
	run --separate-stderr env CASINO_GEN_GAP=1000 casino-gen -n 2 -s 1 -T "$T0" -g 0
	assert_success
	run jq -r .created_at <<<"$output"
	assert_output $'2022-01-10T12:34:56Z\n2022-01-10T12:34:56Z'
	for bad in 3-2 x -5 5- 1-86400001 86400001 '1 - 2' 0x10 +5 1-2-3; do
		run --separate-stderr casino-gen -n 1 -T "$T0" -g "$bad"
		assert_failure 64
		[[ $stderr == *'"msg":"bad option value","option":"--gap"'* ]] || fail "-g '$bad': $stderr"
	done
	run --separate-stderr env CASINO_GEN_GAP=9-1 casino-gen -n 1
	assert_failure 64
	[[ $stderr == *'"option":"CASINO_GEN_GAP","value":"9-1"'* ]]
}

@test "gen: -T accepts an offset and writes UTC" {
	run --separate-stderr casino-gen -n 1 -s 1 -T 2022-01-01T01:30:00+02:00
	assert_output --partial '"created_at":"2021-12-31T23:30:00Z"'
}

@test "gen: the clock never leaves 0001-9999: -T out of range is refused (64), a clock passing 9999 stops (65)" {
	run --separate-stderr casino-gen -n 1000 -s 1 -T 9999-12-31T23:59:59.8Z
	assert_failure 65
	[ "${#lines[@]}" -ge 1 ]
	# every event written is valid for the next stage, none in year 10000
	printf '%s\n' "$output" | casino-describe >/dev/null
	refute_output --partial '"created_at":"10000'
	[[ $stderr == *'"msg":"the clock passed 9999-12-31T23:59:59Z, the last valid time; stopping"'* ]]
	[[ $stderr == *'"msg":"end of run","events":'"${#lines[@]}"',"last_id":'"${#lines[@]}"',"status":65}'* ]]
	for start in 9999-12-31T23:59:59-01:00 0000-12-31T23:59:59Z 0001-01-01T00:59:59+01:00; do
		run --separate-stderr casino-gen -n 1 -T "$start"
		assert_failure 64
		[[ $stderr == *'"option":"--start"'* ]]
	done
	run --separate-stderr casino-gen -n 1 -s 1 -T 0001-01-01T01:00:00+01:00
	assert_success
	assert_output --partial '"created_at":"0001-01-01T00:00:00Z"'
}

@test "gen: -t with -T stops after that much synthetic time" {
	casino-gen -t 3 -s 2 -T "$T0" >"$BATS_TEST_TMPDIR/ev"
	n=$(wc -l <"$BATS_TEST_TMPDIR/ev")
	# 3 s at a mean gap of 50 ms is about 60 events
	[ "$n" -gt 30 ]
	[ "$n" -lt 120 ]
	run jq -r '.created_at' "$BATS_TEST_TMPDIR/ev"
	refute_output --partial "2022-01-10T12:34:59"
}

@test "gen: the types are uniform and 5 % of bets are won" {
	run sh -c "casino-gen -n 40000 -s 11 -T $T0 2>/dev/null | jq -s -r '
		(group_by(.type) | map(length) | map(tostring) | join(\" \")),
		([.[] | select(.type == \"bet\")] | ([.[] | select(.has_won)] | length) * 1000 / length | floor)'"
	assert_success
	read -r a b c d <<<"${lines[0]}"
	for n in $a $b $c $d; do [ "$n" -gt 9400 ] && [ "$n" -lt 10600 ]; done
	# won per mille of bets: 50 expected
	[ "${lines[1]}" -gt 40 ] && [ "${lines[1]}" -lt 60 ]
}

@test "gen: -r paces events on the wall clock" {
	run --separate-stderr casino-gen -n 21 -r 100 -s 1
	assert_success
	# 20 gaps at 100/s span about 200 ms of created_at
	span=$(jq -rs '[.[].created_at | sub("Z$"; "") | capture(":(?<s>[0-9.]+)$").s | tonumber] | .[-1] - .[0] | if . < 0 then . + 60 else . end' <<<"$output")
	awk -v s="$span" 'BEGIN { exit !(s >= 0.19 && s < 1.5) }'
}

@test "gen: -t without -T runs on the wall clock" {
	run --separate-stderr casino-gen -t 1 -r 50 -s 1
	assert_success
	n=${#lines[@]}
	[ "$n" -gt 10 ] && [ "$n" -le 51 ]
}

@test "gen: environment variables set the defaults, options win" {
	run --separate-stderr env CASINO_GEN_COUNT=3 CASINO_GEN_SEED=4 CASINO_GEN_START="$T0" casino-gen
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	a=$output
	run --separate-stderr env CASINO_GEN_COUNT=3 casino-gen -n 2 -s 4 -T "$T0"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "$(head -n 1 <<<"$a")" ]
	run --separate-stderr env CASINO_GEN_RATE=0 CASINO_GEN_DURATION=1 casino-gen -s 1
	assert_success
}

@test "gen: a closed pipe ends it quietly with 0" {
	run bash -c 'casino-gen -s 1 -r 0 2>"$1" | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$BATS_TEST_TMPDIR/err"
	assert_output "0"
	# no complaint, only the final count
	run jq -r .level "$BATS_TEST_TMPDIR/err"
	assert_output info
}

# The final record of casino-gen's stderr in $1: "events last_id status".
gen_final() {
	jq -r 'select(.msg == "end of run") | "\(.events) \(.last_id) \(.status)"' "$1"
}

@test "gen: at every exit (its end, SIGTERM, a closed pipe) one record says how many events it wrote and the last id" {
	set -o pipefail
	local dir=$BATS_TEST_TMPDIR n
	casino-gen -n 7 -s 1 -T "$T0" >"$dir/out" 2>"$dir/err"
	assert_equal "$(gen_final "$dir/err")" "7 7 0"
	# (the old output goes first: the wait below must not count it)
	rm "$dir/out"
	casino-gen -s 1 -r 200 >"$dir/out" 2>"$dir/err" &
	pid=$!
	wait_until 10 test -s "$dir/out"
	kill -TERM "$pid"
	wait "$pid"
	n=$(wc -l <"$dir/out")
	assert_equal "$(gen_final "$dir/err")" "$n $n 0"
	assert_equal "$(tail -n 1 "$dir/out" | jq .id)" "$n"
	# A reader that leaves: every event it got was counted as written
	# (and the ones left in the pipe too: they were written).
	casino-gen -s 1 -r 0 -T "$T0" 2>"$dir/err" | head -c 100000 >"$dir/out"
	n=$(gen_final "$dir/err")
	n=${n%% *}
	[ "$n" -ge "$(wc -l <"$dir/out")" ] || fail "counts $n events, the reader got $(wc -l <"$dir/out") lines"
	assert_equal "$(gen_final "$dir/err" | cut -d ' ' -f 3)" 0
}

@test "gen: SIGTERM ends it with 0 and whole lines" {
	casino-gen -s 1 >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/out"
	kill -TERM "$pid"
	wait "$pid" || fail "exit $?"
	[ -s "$BATS_TEST_TMPDIR/out" ]
	run jq -c . "$BATS_TEST_TMPDIR/out"
	assert_success
}

@test "gen: numbers are parsed strictly: hex, '+' and spaces are usage errors (64)" {
	for bad in 0x10 +16 ' 16' '16 ' 1e2; do
		run --separate-stderr casino-gen -n 1 -r "$bad"
		assert_failure 64
		[[ "$stderr" == *'"option":"--rate","value":"'"$bad"'"'* ]] || fail "-r '$bad': $stderr"
	done
	run --separate-stderr env CASINO_GEN_COUNT=0x10 casino-gen
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_GEN_COUNT","value":"0x10"'* ]] || fail "$stderr"
}
