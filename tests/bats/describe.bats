#!/usr/bin/env bats
# casino-describe: the sentences of doc/design.md and casino-describe(1), exactly.

load helpers

# describe JSON-object-body -> the description it gets
describe() {
	printf '%s\n' "$1" | casino-describe | jq -r .description
}

@test "describe: the six sentences of the design" {
	run describe '{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56.789+00"}'
	assert_output 'Player #10 started playing a game "Rocket Dice" on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":2,"player_id":11,"game_id":101,"type":"bet","amount":500,"currency":"USD","amount_eur":468,"created_at":"2022-02-02T23:45:57.89+00","player":{"id":11,"email":"jane@example.com","last_signed_in_at":"2022-02-02T23:01:02.03Z"}}'
	assert_output "Player #11 (jane@example.com) placed a bet of 5 USD (4.68 EUR) on a game \"It's bananas!\" on February 2nd, 2022 at 23:45 UTC."
	run describe '{"id":3,"player_id":11,"game_id":102,"type":"bet","amount":50,"currency":"EUR","has_won":true,"amount_eur":50,"created_at":"2022-03-01T08:05:00Z"}'
	assert_output 'Player #11 placed a winning bet of 0.5 EUR on a game "Wild Spin" on March 1st, 2022 at 08:05 UTC.'
	run describe '{"id":4,"player_id":12,"type":"deposit","amount":10000,"currency":"EUR","created_at":"2022-03-03T12:12:12+00"}'
	assert_output 'Player #12 made a deposit of 100 EUR on March 3rd, 2022 at 12:12 UTC.'
	run describe '{"id":5,"player_id":13,"type":"deposit","amount":12000,"currency":"BTC","amount_eur":513,"created_at":"2022-03-11T00:00:00Z"}'
	assert_output 'Player #13 made a deposit of 0.00012 BTC (5.13 EUR) on March 11th, 2022 at 00:00 UTC.'
	run describe '{"id":6,"player_id":10,"game_id":100,"type":"game_stop","created_at":"2022-01-10T12:35:00Z"}'
	assert_output 'Player #10 stopped playing a game "Rocket Dice" on January 10th, 2022 at 12:35 UTC.'
}

@test "describe: every game title of the original mapping, and unknown ids" {
	titles=("Rocket Dice" "It's bananas!" "Wild Spin" "Book of Dead" "Pirate Jackpots"
		"Western Gold 2" "Super Rainbow Megaways" "#BarsAndBells" "Fortune Three" "ChilliPop")
	for i in 0 1 2 3 4 5 6 7 8 9; do
		run describe "{\"id\":1,\"player_id\":10,\"game_id\":$((100 + i)),\"type\":\"game_start\",\"created_at\":\"2022-01-10T12:34:56Z\"}"
		assert_output "Player #10 started playing a game \"${titles[$i]}\" on January 10th, 2022 at 12:34 UTC."
	done
	run describe '{"id":1,"player_id":10,"game_id":117,"type":"game_start","created_at":"2022-01-10T12:34:56Z"}'
	assert_output 'Player #10 started playing a game #117 on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":1,"player_id":10,"game_id":-3,"type":"bet","amount":1,"currency":"EUR","created_at":"2022-01-10T12:34:56Z"}'
	assert_output 'Player #10 placed a bet of 0.01 EUR on a game #-3 on January 10th, 2022 at 12:34 UTC.'
}

@test "describe: ordinal suffixes for every day form" {
	for pair in 1:1st 2:2nd 3:3rd 4:4th 9:9th 10:10th 11:11th 12:12th 13:13th 14:14th \
		20:20th 21:21st 22:22nd 23:23rd 24:24th 30:30th 31:31st; do
		d=${pair%%:*} want=${pair#*:}
		run describe "$(printf '{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2022-01-%02dT10:00:00Z"}' "$d")"
		assert_output "Player #10 started playing a game \"Rocket Dice\" on January $want, 2022 at 10:00 UTC."
	done
}

@test "describe: time is UTC from any offset, across midnight and year ends" {
	ev='{"id":1,"player_id":10,"type":"deposit","amount":100,"currency":"EUR","created_at":"%s"}'
	while IFS='|' read -r ts want; do
		run describe "$(printf "$ev" "$ts")"
		assert_output "Player #10 made a deposit of 1 EUR on $want UTC."
	done <<-'CASES'
	2022-12-31T23:30:00-01:00|January 1st, 2023 at 00:30
	2023-01-01T00:30:00+01:00|December 31st, 2022 at 23:30
	2023-01-01T00:30:00+0100|December 31st, 2022 at 23:30
	2023-01-01T05:30:00+05|January 1st, 2023 at 00:30
	2022-03-01T01:00:00+02:00|February 28th, 2022 at 23:00
	2024-03-01T01:00:00+02:00|February 29th, 2024 at 23:00
	2024-02-29T12:00:00Z|February 29th, 2024 at 12:00
	2000-02-29T23:59:59.999999999Z|February 29th, 2000 at 23:59
	2022-06-30 22:15:00.5-03:30|July 1st, 2022 at 01:45
	2016-12-31T23:59:60Z|January 1st, 2017 at 00:00
	2022-01-10t12:34:56z|January 10th, 2022 at 12:34
	CASES
}

# deposit_at ID TIME: a deposit line with that created_at.
deposit_at() {
	printf '{"id":%s,"player_id":10,"type":"deposit","amount":100,"currency":"EUR","created_at":"%s"}\n' "$1" "$2"
}

@test "describe: one valid range, 0001-01-01 to 9999-12-31 in UTC; an offset that leaves it is bad input (65)" {
	while IFS='|' read -r ts want; do
		run describe "$(deposit_at 1 "$ts")"
		assert_output "Player #10 made a deposit of 1 EUR on $want UTC."
	done <<-'CASES'
	0001-01-01T00:00:00Z|January 1st, 1 at 00:00
	0001-01-01T01:00:00+01:00|January 1st, 1 at 00:00
	9999-12-31T23:59:59.999999999Z|December 31st, 9999 at 23:59
	9999-12-31T22:59:00-01:00|December 31st, 9999 at 23:59
	CASES
	{
		deposit_at 1 0001-01-01T00:30:00+01:00
		deposit_at 2 9999-12-31T23:30:00-01:00
		deposit_at 3 0000-12-31T12:00:00Z
		deposit_at 4 9999-12-31T23:59:60Z
	} >"$BATS_TEST_TMPDIR/out-of-range"
	run --separate-stderr casino-describe -r "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/out-of-range"
	assert_failure 65
	assert_output ''
	cmp "$BATS_TEST_TMPDIR/out-of-range" "$BATS_TEST_TMPDIR/rej"
	for line in 1 2 3 4; do
		[[ $stderr == *'"level":"error"'*"\"line\":$line}"* ]] || fail "line $line not rejected: $stderr"
	done
}

@test "describe: email only when set; EUR part only for other currencies with amount_eur" {
	run describe '{"id":1,"player_id":14,"game_id":103,"type":"bet","amount":1999,"currency":"GBP","created_at":"2022-01-10T12:34:56Z","player":{"id":14}}'
	assert_output 'Player #14 placed a bet of 19.99 GBP on a game "Book of Dead" on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":1,"player_id":14,"game_id":103,"type":"bet","amount":1999,"currency":"EUR","amount_eur":1999,"created_at":"2022-01-10T12:34:56Z","player":{"id":14,"email":""}}'
	assert_output 'Player #14 placed a bet of 19.99 EUR on a game "Book of Dead" on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":1,"player_id":14,"type":"deposit","amount":500,"currency":"JPY","amount_eur":306,"created_at":"2022-01-10T12:34:56Z","player":{"email":"morty@example.com"}}'
	assert_output 'Player #14 (morty@example.com) made a deposit of 500 JPY (3.06 EUR) on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":1,"player_id":14,"type":"deposit","amount":0,"currency":"BTC","amount_eur":0,"created_at":"2022-01-10T12:34:56Z"}'
	assert_output 'Player #14 made a deposit of 0 BTC (0 EUR) on January 10th, 2022 at 12:34 UTC.'
	run describe '{"id":1,"player_id":14,"type":"deposit","amount":99999,"currency":"BTC","amount_eur":290000,"created_at":"2022-01-10T12:34:56Z"}'
	assert_output 'Player #14 made a deposit of 0.00099999 BTC (2900 EUR) on January 10th, 2022 at 12:34 UTC.'
}

@test "describe: special characters are escaped in the JSON string" {
	run sh -c "sed -n 1p '$FIXTURES/escapes.ndjson' | casino-describe"
	assert_success
	assert_output --partial ',"description":"Player #10 (a\"b\\cé@x) made a deposit of 0.01 EUR on January 10th, 2022 at 12:34 UTC."}'
	run jq -r .description <<<"$output"
	assert_output 'Player #10 (a"b\cé@x) made a deposit of 0.01 EUR on January 10th, 2022 at 12:34 UTC.'
}

@test "describe: description is appended last; every other byte stays as it was" {
	line='{ "id" : 7, "zz":[1, {"a":"}"}], "player_id":10,"game_id":100,"type":"game_start","n":1.50e2,"created_at":"2022-01-10T12:34:56Z"  }'
	run sh -c "printf '%s\n' '$line' | casino-describe"
	assert_success
	assert_output '{ "id" : 7, "zz":[1, {"a":"}"}], "player_id":10,"game_id":100,"type":"game_start","n":1.50e2,"created_at":"2022-01-10T12:34:56Z","description":"Player #10 started playing a game \"Rocket Dice\" on January 10th, 2022 at 12:34 UTC."  }'
}

@test "JSON: \\u0000 in any string, key or value, passes every filter byte for byte (JSONTestSuite's two cases)" {
	local case rest line events=() f
	rest='"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56Z"'
	for f in y_object_escaped_null_in_key y_string_null_escape; do
		case=$(cat "$FIXTURES/jsontestsuite/$f.json")
		events+=("{$rest,\"x\":$case}")
	done
	# The object case's member as a member of the event itself.
	case=$(cat "$FIXTURES/jsontestsuite/y_object_escaped_null_in_key.json")
	events+=("{${case:1:-1},$rest}")
	# And in the player's email, which the sentence decodes.
	events+=("{$rest,\"player\":{\"id\":10,\"email\":\"a\\u0000b@x\"}}")
	for line in "${events[@]}"; do
		run -0 --separate-stderr casino-describe <<<"$line"
		assert_equal "${output%,\"description\":*}}" "$line"
		run -0 --separate-stderr casino-tee-agg -o "$BATS_TEST_TMPDIR/snap.json" <<<"$line"
		assert_equal "$output" "$line"
		run -0 --separate-stderr casino-fx -u "file://$CASINO_ROOT/share/rates.json" <<<"$line"
		assert_equal "$output" "$line"
	done
	run -0 casino-describe <<<"${events[3]}"
	assert_equal "$(jq -r .description <<<"$output" | od -An -c | tr -s ' ' | head -n 1)" \
		"$(printf 'Player #10 (a\0b@x) ' | od -An -c | tr -s ' ' | head -n 1)"
	# A key a stage owns holding \u0000 is no such value: rejected.
	run -65 --separate-stderr casino-describe <<<'{"id":1,"player_id":10,"game_id":100,"type":"game_start\u0000","created_at":"2022-01-10T12:34:56Z"}'
	[[ $stderr == *'"line":1'* ]] || fail "$stderr"
}

@test "describe: an existing description is replaced in place" {
	run sh -c "sed -n 2p '$FIXTURES/escapes.ndjson' | casino-describe"
	assert_output '{"id":1,"description":"Player #10 stopped playing a game \"Rocket Dice\" on January 10th, 2022 at 12:34 UTC.","player_id":10,"game_id":100,"type":"game_stop","created_at":"2022-01-10T12:34:56Z"}'
}

@test "describe: a last line without newline is still handled" {
	run sh -c "printf '%s' '{\"id\":1,\"player_id\":10,\"game_id\":100,\"type\":\"game_stop\",\"created_at\":\"2022-01-10T12:34:56Z\"}' | casino-describe | wc -l"
	assert_output 1
}

@test "describe: bad input is rejected with its line number, kept byte for byte, exit 65" {
	assert_rejects_bad_input casino-describe
}

@test "describe: CASINO_REJECT names the reject file; -r wins" {
	printf 'oops\n' >"$BATS_TEST_TMPDIR/in"
	run env CASINO_REJECT="$BATS_TEST_TMPDIR/env.rej" casino-describe <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	[ "$(cat "$BATS_TEST_TMPDIR/env.rej")" = oops ]
	run env CASINO_REJECT="$BATS_TEST_TMPDIR/env.rej" casino-describe -r "$BATS_TEST_TMPDIR/opt.rej" <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	[ "$(cat "$BATS_TEST_TMPDIR/opt.rej")" = oops ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/env.rej")" -eq 1 ]
}

@test "describe: a reject file that cannot be opened is an I/O error (74)" {
	run --separate-stderr casino-describe -r /nonexistent/dir/rej </dev/null
	assert_failure 74
	[[ "$stderr" == *"cannot open reject file"* ]]
}

@test "describe: lines over the limit are rejected whole, the rest goes on" {
	good_line 1 >"$BATS_TEST_TMPDIR/in"
	long=$(head -c 300 /dev/zero | tr '\0' x)
	good_line 2 "\"player_id\":10,\"game_id\":100,\"type\":\"game_start\",\"created_at\":\"2022-01-10T12:34:56Z\",\"pad\":\"$long\"" >>"$BATS_TEST_TMPDIR/in"
	good_line 3 >>"$BATS_TEST_TMPDIR/in"
	run --separate-stderr env CASINO_MAX_LINE=200 casino-describe -r "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/in"
	assert_failure 65
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == *'"msg":"line too long","line":2}'* ]]
	cmp "$BATS_TEST_TMPDIR/rej" <(sed -n 2p "$BATS_TEST_TMPDIR/in")
}

@test "describe: a 3 MiB line is rejected at the 1 MiB default without growing memory" {
	{
		good_line 1
		printf '{"id":2,"pad":"'
		head -c 3145728 /dev/zero | tr '\0' y
		printf '"}\n'
		good_line 3
	} >"$BATS_TEST_TMPDIR/in"
	/usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" casino-describe -r "$BATS_TEST_TMPDIR/rej" \
		<"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" || status=$?
	[ "${status:-0}" -eq 65 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 2 ]
	cmp "$BATS_TEST_TMPDIR/rej" <(sed -n 2p "$BATS_TEST_TMPDIR/in")
	# peak RSS stays well below the line's 3 MiB plus copies (sanitizer
	# builds carry their own shadow memory, so only the plain build counts)
	[ -n "${CASINO_INSTRUMENTED:-}" ] || [ "$(tail -n 1 "$BATS_TEST_TMPDIR/rss")" -lt 8192 ]
}

# start_fed: casino-describe reading a fifo the test writes on fd 5, its
# output in $BATS_TEST_TMPDIR/out; pid is its pid.
start_fed() {
	mkfifo "$BATS_TEST_TMPDIR/in"
	casino-describe <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
}

@test "describe: an event written into an open pipe comes out at once" {
	start_fed
	good_line 1 >&5
	wait_until 5 test -s "$BATS_TEST_TMPDIR/out"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial '"description":"Player #10 started'
	exec 5>&-
	wait "$pid"
}

# 0 when file $1 has exactly $2 lines.
lines_in() {
	[ "$(wc -l <"$1")" -eq "$2" ]
}

@test "describe: SIGTERM finishes, flushes and exits 0" {
	start_fed
	good_line 1 >&5
	good_line 2 >&5
	wait_until 5 lines_in "$BATS_TEST_TMPDIR/out" 2
	kill -TERM "$pid"
	wait "$pid"
	exec 5>&-
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 2 ]
}

@test "describe: a closed stdout ends it quietly with 0" {
	run bash -c 'casino-gen -n 100000 -s 1 -T 2022-01-01T00:00:00Z 2>/dev/null | casino-describe 2>"$1" | head -n 1 >/dev/null; echo "${PIPESTATUS[1]}"; cat "$1"' _ "$BATS_TEST_TMPDIR/err"
	assert_output 0
}

@test "describe: log records are JSON, or text with CASINO_LOG_FORMAT=text; CASINO_LOG_LEVEL filters" {
	run --separate-stderr sh -c 'echo "{" | casino-describe'
	assert_failure 65
	echo "$stderr" | jq -se 'map(select(.level == "error")) | length == 1 and .[0].tool == "casino-describe" and .[0].line == 1 and (.[0].ts | test("Z$"))'
	run --separate-stderr sh -c 'echo "{" | CASINO_LOG_FORMAT=text casino-describe'
	[[ "$stderr" == "casino-describe: error: invalid JSON"*"(line 1)"* ]]
	run --separate-stderr sh -c 'echo "{" | CASINO_LOG_LEVEL=error casino-describe'
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "describe: --help, --version, bad usage" {
	run --separate-stderr casino-describe -h
	assert_success
	assert_line --index 0 "usage: casino-describe [-r file]"
	run casino-describe --version
	assert_output --regexp '^casino-describe [0-9.]+$'
	run --separate-stderr casino-describe -x
	assert_failure 64
	[[ "$stderr" == *"usage: casino-describe [-r file]"* ]]
	run --separate-stderr casino-describe extra
	assert_failure 64
}

@test "describe: a long generated stream is described in full" {
	run sh -c 'casino-gen -n 5000 -s 9 -T 2022-01-01T00:00:00Z 2>/dev/null | casino-describe | jq -r "select(.description | test(\"^Player #1[0-9] .* on January 1st, 2022 at 00:0[0-9] UTC[.]$\")) | .id" | wc -l'
	assert_output 5000
}

@test "describe: a reject file that cannot be written makes the exit status 74, not 65" {
	printf 'oops\n' >"$BATS_TEST_TMPDIR/in"
	good_line 2 >>"$BATS_TEST_TMPDIR/in"
	run --separate-stderr casino-describe -r /dev/full <"$BATS_TEST_TMPDIR/in"
	assert_failure 74
	assert_output --partial '"id":2'
	[[ "$stderr" == *'"msg":"cannot write reject file"'* ]] || fail "$stderr"
}

@test "describe: stdout on a full disk: one error record, exit 74, and the final record counts no line out" {
	casino-gen -n 5000 -s 9 -T 2022-01-01T00:00:00Z 2>/dev/null >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr bash -c 'CASINO_LOG_LEVEL=debug casino-describe <"$1" >/dev/full' _ "$BATS_TEST_TMPDIR/in"
	assert_failure 74
	echo "$stderr" | jq -se 'map(select(.level == "error")) | length == 1 and .[0].msg == "cannot write to stdout"' || fail "$stderr"
	echo "$stderr" | jq -se 'map(select(.msg == "end of run")) | length == 1 and .[0].out == 0 and .[0].status == 74' || fail "$stderr"
}

@test "describe: a negative amount_eur is rejected as invalid input" {
	run --separate-stderr casino-describe < <(good_line 1 '"player_id":10,"type":"deposit","amount":5,"currency":"USD","amount_eur":-5,"created_at":"2022-01-10T12:34:56Z"'; good_line 2)
	assert_failure 65
	assert_output --partial '"id":2'
	refute_output --partial '"id":1,'
	[[ "$stderr" == *'"msg":"out of range: amount_eur","line":1'* ]] || fail "$stderr"
}
