#!/usr/bin/env bats
# casino-tee-agg: byte-for-byte passthrough, the six aggregates on hand-made
# events (expected numbers worked out here), ties, the 60 s window, replay
# stability, wall-clock decay, snapshot files, bad input and every option.

load helpers

setup() {
	snap=$BATS_TEST_TMPDIR/snap.json
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/rundir
	agg_pid=
	made_fallback=
}

teardown() {
	[ -z "${made_fallback:-}" ] || rm -rf "$made_fallback"
	exec 8>&- 2>/dev/null || true
	if [ -n "$agg_pid" ]; then
		kill "$agg_pid" 2>/dev/null || true
		wait "$agg_pid" 2>/dev/null || true
	fi
}

# Events on 2024-01-01; TIME is hh:mm:ss[.fff].
#   bet ID PLAYER TIME [EXTRA]      a 100 EUR bet (EXTRA: more keys, e.g. ,"has_won":true)
#   deposit ID PLAYER TIME AMOUNT CURRENCY [EXTRA]
#   other ID PLAYER TIME TYPE       game_start or game_stop
bet() {
	printf '{"id":%s,"player_id":%s,"game_id":100,"type":"bet","amount":100,"currency":"EUR"%s,"created_at":"2024-01-01T%sZ"}\n' \
		"$1" "$2" "${4:-}" "$3"
}
deposit() {
	printf '{"id":%s,"player_id":%s,"type":"deposit","amount":%s,"currency":"%s"%s,"created_at":"2024-01-01T%sZ"}\n' \
		"$1" "$2" "$4" "$5" "${6:-}" "$3"
}
other() {
	printf '{"id":%s,"player_id":%s,"game_id":101,"type":"%s","created_at":"2024-01-01T%sZ"}\n' \
		"$1" "$2" "$4" "$3"
}

# The snapshot as one line, its exact text without the layout's blanks
# (not through jq, which would rewrite 5.00 as 5).
compact() {
	tr -d ' \n' <"${1:-$snap}"
	echo
}

# expect TOTAL PER_MINUTE MOVING BETS_ID BETS WINS_ID WINS DEPOSITS_ID DEPOSITS
expect() {
	printf '{"events_total":%s,"events_per_minute":%s,"events_per_second_moving_average":%s,"top_player_bets":{"id":%s,"count":%s},"top_player_wins":{"id":%s,"count":%s},"top_player_deposits":{"id":%s,"count":%s}}\n' "$@"
}

# Start casino-tee-agg in the background reading the fifo $BATS_TEST_TMPDIR/in,
# with fd 8 as the writing end. Arguments go to casino-tee-agg.
start_fifo() {
	mkfifo "$BATS_TEST_TMPDIR/in"
	casino-tee-agg "$@" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" \
		2>"$BATS_TEST_TMPDIR/err" &
	agg_pid=$!
	exec 8>"$BATS_TEST_TMPDIR/in"
}

# Wait for the background casino-tee-agg to end; its exit status in agg_status.
# (Not `run wait`: run's subshell cannot wait for this shell's child.)
wait_agg() {
	agg_status=0
	wait "$agg_pid" || agg_status=$?
	agg_pid=
}

# 0 when the file $1 exists and jq expression $2 is true on it.
snapshot_is() {
	[ -s "$1" ] && jq -e "$2" "$1" >/dev/null 2>&1
}

# Wait up to 5 s until the file $1 exists and jq expression $2 is true on it.
wait_for() {
	wait_until 5 snapshot_is "$1" "$2"
}

# 0 when the modification time of file $1 is no longer $2.
mtime_changed() {
	[ "$(stat -c %y "$1")" != "$2" ]
}

@test "agg: --help prints usage on stdout and exits 0" {
	run --separate-stderr casino-tee-agg --help
	assert_success
	assert_line --index 0 "usage: casino-tee-agg [-a fifo [-k file]] [-c event|wall] [-i ms] [-l file] [-o file] [-r file] [-s]"
	assert_output --partial "CASINO_AGG_ACK"
	assert_output --partial "(CASINO_SNAPSHOT)"
	[ -z "$stderr" ]
	run casino-tee-agg -h
	assert_success
}

@test "agg: -V and --version print the version" {
	run casino-tee-agg -V
	assert_success
	assert_output --regexp '^casino-tee-agg [0-9]+\.[0-9]+\.[0-9]+$'
	run casino-tee-agg --version
	assert_success
}

@test "agg: usage errors exit 64 and name the bad value" {
	run --separate-stderr casino-tee-agg --bogus
	assert_failure 64
	[[ "$stderr" == *"usage: casino-tee-agg"* ]]
	run --separate-stderr casino-tee-agg extra
	assert_failure 64
	for bad in "-i 0" "-i -5" "-i 10x" "--interval ''" "-i 86400001"; do
		eval "run --separate-stderr casino-tee-agg $bad </dev/null"
		assert_failure 64
		[[ "$stderr" == *'"msg":"bad option value"'* ]]
	done
	run --separate-stderr casino-tee-agg -c sundial </dev/null
	assert_failure 64
	[[ "$stderr" == *'"value":"sundial"'* ]]
	run --separate-stderr env CASINO_AGG_CLOCK=sundial casino-tee-agg </dev/null
	assert_failure 64
	run --separate-stderr casino-tee-agg -o '' </dev/null
	assert_failure 64
}

@test "agg: empty input gives exit 0, no output and a snapshot of zeros, byte for byte" {
	run --separate-stderr casino-tee-agg -o "$snap" </dev/null
	assert_success
	[ -z "$output" ]
	# The challenge's GET /materialized shape: these keys, this order, this layout.
	cat >"$BATS_TEST_TMPDIR/want" <<-'EOF'
	{
	  "events_total": 0,
	  "events_per_minute": 0.00,
	  "events_per_second_moving_average": 0.00,
	  "top_player_bets": {
	    "id": 0,
	    "count": 0
	  },
	  "top_player_wins": {
	    "id": 0,
	    "count": 0
	  },
	  "top_player_deposits": {
	    "id": 0,
	    "count": 0
	  }
	}
	EOF
	cmp "$BATS_TEST_TMPDIR/want" "$snap"
}

@test "agg: stdout is the input byte for byte" {
	casino-gen -n 3000 -s 5 -T 2024-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/events"
	# Valid lines written in unusual ways must come out exactly as they went in.
	{
		printf '%s\n' '  { "id" : 1 , "player_id":10,"type":"game_start","game_id":1,"created_at":"2024-01-01 00:00:00+02:00" , "x":[1,{"y":"\u00e9"}] }  '
		printf '{"id":2,"player_id":10,"type":"game_stop","game_id":1,"created_at":"2024-01-01T00:00:00Z","note":"caf\xc3\xa9 \\" }"}\r\n'
		printf '{"zz":null,"created_at":"2024-01-01T00:00:01.123456789Z","type":"bet","amount":1,"currency":"EUR","id":3,"player_id":11,"game_id":7,"player":{"id":11}}\n'
	} >>"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/events" "$BATS_TEST_TMPDIR/out"
	run jq .events_total "$snap"
	assert_output 3003
}

@test "agg: a last line without a newline comes out with one" {
	printf '%s' "$(bet 1 10 00:00:00)" >"$BATS_TEST_TMPDIR/events"
	run casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events"
	assert_success
	assert_output "$(bet 1 10 00:00:00)"
	# run strips trailing newlines from $output: look at the bytes.
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >"$BATS_TEST_TMPDIR/out"
	[ "$(tail -c 1 "$BATS_TEST_TMPDIR/out" | od -An -tx1 | tr -d ' ')" = 0a ]
	[ "$(wc -c <"$BATS_TEST_TMPDIR/out")" -eq $(($(wc -c <"$BATS_TEST_TMPDIR/events") + 1)) ]
}

@test "agg: the six aggregates on hand-made events (event clock)" {
	{
		bet 1 10 00:00:00                         # p10 bets 1
		bet 2 11 00:00:10 ',"has_won":true'       # p11 bets 1, wins 1
		bet 3 11 00:00:20 ',"has_won":true'       # p11 bets 2, wins 2
		bet 4 10 00:00:30 ',"has_won":false'      # p10 bets 2, not a win
		deposit 5 12 00:00:40 1000 EUR            # p12 1000: EUR without amount_eur counts amount
		deposit 6 13 00:00:50 500 USD ',"amount_eur":466'  # p13 466
		deposit 7 13 00:01:00 600 USD             # no amount_eur, not EUR: counts nothing
		deposit 8 13 00:01:10 700 EUR ',"amount_eur":700'  # p13 466 + 700 = 1166 > p12's 1000
		other 9 10 00:01:30 game_start            # counts in the totals only
		bet 10 10 00:02:00                        # p10 bets 3 > p11's 2
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# 10 events; elapsed 00:00:00 -> 00:02:00 = 2 min: 10 / 2 = 5.00 per minute.
	# Window: the seconds 61..120 (now = 120 s): events 8 (70 s), 9 (90 s),
	# 10 (120 s) = 3; event 7 at 60 s is just out. 3 / min(60, 120) = 0.05.
	run compact
	assert_output "$(expect 10 5.00 0.05 10 3 11 2 13 1166)"
}

@test "agg: ties go to the lower player id, whatever the order" {
	{
		bet 1 12 00:00:00                         # p12 bets 1
		bet 2 11 00:00:01                         # p11 bets 1: tie, 11 < 12
		bet 3 15 00:00:02 ',"has_won":true'       # p15 wins 1
		bet 4 14 00:00:03 ',"has_won":true'       # p14 wins 1: tie, 14 < 15
		deposit 5 21 00:00:04 250 GBP ',"amount_eur":300'  # p21 300
		deposit 6 20 00:00:05 300 EUR             # p20 300: tie, 20 < 21
		bet 7 12 00:00:06                         # p12 bets 2: now the top alone
		bet 8 11 00:00:07                         # p11 bets 2: tie again, 11 < 12
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# 8 events over 7 s: per minute 8 / max(1, 7/60) = 8.00; moving 8 / 7 = 1.142.. -> 1.14.
	run compact
	assert_output "$(expect 8 8.00 1.14 11 2 14 1 20 300)"
}

@test "agg: player ids are any non-negative integers, 0 and huge ones, many players" {
	# 300 players (the table grows several times), one bet each, ids 1000..1299.
	for ((i = 0; i < 300; i++)); do
		bet "$i" $((1000 + i)) 00:00:00
	done >"$BATS_TEST_TMPDIR/events"
	{
		bet 301 9007199254740993 00:00:01        # a huge id: 2 bets, the top
		bet 302 9007199254740993 00:00:01
		bet 303 0 00:00:02 ',"has_won":true'      # player 0 is a real player: wins 1
		deposit 304 0 00:00:02 5 EUR
		deposit 305 4000000000 00:00:03 5 EUR     # tie at 5 with player 0: 0 wins
	} >>"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# 305 events over 3 s: 305 per minute; moving 305 / 3 = 101.666.. -> 101.67.
	run compact
	assert_output "$(expect 305 305.00 101.67 9007199254740993 2 0 1 0 5)"
}

@test "agg: zero-amount deposits do not make a top player" {
	{
		deposit 1 10 00:00:00 0 EUR
		bet 2 11 00:00:00 ',"has_won":false'
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# Same second: elapsed 0, so both rates divide by 1: 2.00 and 2.00.
	run compact
	assert_output "$(expect 2 2.00 2.00 11 1 0 0 0 0)"
}

@test "agg: rates before the first minute and rounding to 2 decimals" {
	{
		other 1 10 00:00:00 game_start
		other 2 10 00:00:03 game_stop
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# elapsed 3 s: per minute 2 / max(1, 0.05) = 2.00; moving 2 / 3 = 0.666.. -> 0.67.
	run compact
	assert_output "$(expect 2 2.00 0.67 0 0 0 0 0 0)"
	# Fractions of a second count: 00:00:00.5 -> 00:01:30.5 is 90 s = 1.5 min.
	{
		other 1 10 00:00:00.5 game_start
		other 2 10 00:00:45 game_stop
		other 3 10 00:01:30.5 game_stop
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# per minute 3 / 1.5 = 2.00; window seconds 31..90 holds events 2 and 3:
	# 2 / min(60, 90) = 0.0333.. -> 0.03.
	run compact
	assert_output "$(expect 3 2.00 0.03 0 0 0 0 0 0)"
	# Created_at offsets are converted: 01:00:10+01:00 is 00:00:10Z.
	{
		other 1 10 00:00:00 game_start
		printf '{"id":2,"player_id":10,"game_id":1,"type":"game_stop","created_at":"2024-01-01T01:00:10+01:00"}\n'
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# moving 2 / 10 = 0.20
	run compact
	assert_output "$(expect 2 2.00 0.20 0 0 0 0 0 0)"
}

@test "agg: the 60 s window edge, by whole seconds" {
	{
		other 1 10 00:00:00 game_start
		other 2 10 00:00:01.999 game_start   # second 1: out of the window ending at 61
		other 3 10 00:00:02 game_start       # second 2: the window's first second
		other 4 10 00:01:01 game_stop        # now = second 61
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# Window = seconds 2..61: events 3 and 4. moving 2 / min(60, 61) = 0.0333.. -> 0.03.
	# Per minute: 4 / (61 / 60) = 3.934.. -> 3.93.
	run compact
	assert_output "$(expect 4 3.93 0.03 0 0 0 0 0 0)"
	# Six events in seconds 2..61 and one at 1: 6 / 60 = 0.10.
	{
		other 1 10 00:00:01 game_start
		for s in 02 10 20 30 40; do other "1$s" 10 "00:00:$s" game_start; done
		other 9 10 00:01:01 game_stop
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# per minute 7 / (60 / 60) = 7.00
	run compact
	assert_output "$(expect 7 7.00 0.10 0 0 0 0 0 0)"
}

@test "agg: an event older than the window counts in the total only, in any order" {
	{
		other 1 10 00:05:00 game_start   # now = 300 s
		other 2 10 00:00:00 game_start   # 300 s old when it arrives: total only
		other 3 10 00:04:30 game_stop    # 30 s old: in the window
	} >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# 3 events over 00:00:00 .. 00:05:00 = 5 min: 3 / 5 = 0.60 per minute.
	# Window 241..300: events 1 and 3: 2 / min(60, 300) = 0.0333.. -> 0.03.
	want=$(expect 3 0.60 0.03 0 0 0 0 0 0)
	run compact
	assert_output "$want"
	# The old event first: it is counted in its bucket, then leaves the window.
	f=$BATS_TEST_TMPDIR/events
	{ sed -n 2p "$f"; sed -n 3p "$f"; sed -n 1p "$f"; } | casino-tee-agg -o "$snap" >/dev/null
	run compact
	assert_output "$want"
	tac "$f" | casino-tee-agg -o "$snap" >/dev/null
	run compact
	assert_output "$want"
}

@test "agg: replaying a file gives the same snapshot, in any arrival order" {
	# ~250 s of events (0-100 ms gaps), so the window drops most of them.
	casino-gen -n 5000 -s 11 -T 2024-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$BATS_TEST_TMPDIR/a.json" <"$BATS_TEST_TMPDIR/events" >/dev/null
	casino-tee-agg -o "$BATS_TEST_TMPDIR/b.json" <"$BATS_TEST_TMPDIR/events" >/dev/null
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/b.json"
	shuf --random-source=<(yes) "$BATS_TEST_TMPDIR/events" >"$BATS_TEST_TMPDIR/shuffled"
	run ! cmp -s "$BATS_TEST_TMPDIR/events" "$BATS_TEST_TMPDIR/shuffled"
	casino-tee-agg -o "$BATS_TEST_TMPDIR/c.json" <"$BATS_TEST_TMPDIR/shuffled" >/dev/null
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/c.json"
	tac "$BATS_TEST_TMPDIR/events" | casino-tee-agg -o "$BATS_TEST_TMPDIR/d.json" >/dev/null
	cmp "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/d.json"
}

@test "agg: the aggregates agree with jq over a generated file" {
	casino-gen -n 4000 -s 3 -T 2024-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/events"
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	# The same definitions, computed independently by jq (event clock).
	jq -s -c '
		def top(f): (map(select((f | .n) > 0)) | sort_by(-(f | .n), .id) | first) as $t
			| if $t == null then {id: 0, count: 0} else {id: $t.id, count: ($t | f | .n)} end;
		def round2: (. * 100 + 0.5 | floor) / 100;
		def secs: sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601;
		def fsecs: secs + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber);
		(map(.created_at | fsecs)) as $t
		| ($t | min) as $first | ($t | max) as $now | ($now - $first) as $el
		| (map(select((.created_at | secs) > ($now | floor) - 60)) | length) as $win
		| (group_by(.player_id) | map({id: .[0].player_id,
			b: {n: map(select(.type == "bet")) | length},
			w: {n: map(select(.type == "bet" and .has_won == true)) | length},
			d: {n: (map(select(.type == "deposit" and .currency == "EUR") | .amount) | add // 0)}})) as $p
		| {events_total: length,
		   events_per_minute: (length / ([1, $el / 60] | max) | round2),
		   events_per_second_moving_average: ($win / ([60, ([1, $el] | max)] | min) | round2),
		   top_player_bets: ($p | top(.b)), top_player_wins: ($p | top(.w)),
		   top_player_deposits: ($p | top(.d))}' "$BATS_TEST_TMPDIR/events" >"$BATS_TEST_TMPDIR/want"
	run jq -c . "$snap"
	assert_output "$(cat "$BATS_TEST_TMPDIR/want")"
}

@test "agg: bad lines are rejected (exit 65, --reject file), the rest goes on" {
	{
		bet 1 10 00:00:00
		echo 'not json'
		echo '{"id":2,"player_id":10,"type":"bet","game_id":1,"created_at":"2024-01-01T00:00:01Z"}'
		bet 3 10 00:00:02
	} >"$BATS_TEST_TMPDIR/events"
	run --separate-stderr casino-tee-agg -o "$snap" --reject "$BATS_TEST_TMPDIR/rej" <"$BATS_TEST_TMPDIR/events"
	assert_failure 65
	assert_output "$(bet 1 10 00:00:00; bet 3 10 00:00:02)"
	[[ "$stderr" == *'"level":"error"'*'"line":2'* ]]
	[[ "$stderr" == *'missing key: amount'*'"line":3'* ]]
	sed -n '2,3p' "$BATS_TEST_TMPDIR/events" | cmp - "$BATS_TEST_TMPDIR/rej"
	# Only the two good bets count: elapsed 2 s, 2 / 2 = 1.00 per second.
	run compact
	assert_output "$(expect 2 2.00 1.00 10 2 0 0 0 0)"
	# CASINO_REJECT is the default for -r.
	CASINO_REJECT=$BATS_TEST_TMPDIR/rej2 run casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events"
	assert_failure 65
	sed -n '2,3p' "$BATS_TEST_TMPDIR/events" | cmp - "$BATS_TEST_TMPDIR/rej2"
}

@test "agg: the default snapshot is materialized.json in the runtime dir (0700), removed at exit" {
	start_fifo -i 50
	bet 1 10 00:00:00 >&8
	wait_for "$CASINO_RUNDIR/materialized.json" '.events_total == 1'
	[ "$(stat -c %a "$CASINO_RUNDIR")" = 700 ]
	# The event is on stdout already: not held back waiting for more input.
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(bet 1 10 00:00:00)" ]
	exec 8>&-
	wait_agg
	[ "$agg_status" -eq 0 ]
	[ ! -e "$CASINO_RUNDIR/materialized.json" ]
	[ -d "$CASINO_RUNDIR" ]
	[ -z "$(ls -A "$CASINO_RUNDIR")" ]  # no temporary files left either
}

@test "agg: without CASINO_RUNDIR the snapshot goes to \$XDG_RUNTIME_DIR/casino, nested dirs made" {
	unset CASINO_RUNDIR
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/xdg/run
	start_fifo
	wait_for "$XDG_RUNTIME_DIR/casino/materialized.json" '.events_total == 0'
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/casino")" = 700 ]
	exec 8>&-
	wait_agg
	[ "$agg_status" -eq 0 ]
	[ ! -e "$XDG_RUNTIME_DIR/casino/materialized.json" ]
}

@test "agg: the last fallback is /tmp/casino-UID, made 0700, and must be the user's own" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run as another user"
	fallback=/tmp/casino-65534
	[ ! -e "$fallback" ] || skip "$fallback exists already"
	made_fallback=$fallback  # teardown removes it if the test stops half way
	unset CASINO_RUNDIR XDG_RUNTIME_DIR
	# shellcheck disable=SC2120 # callers may pass options; these pass none
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups casino-tee-agg -i 50 "$@"
	}
	# While it runs (the writer holds the pipe open), copy the snapshot.
	{
		bet 1 10 00:00:00
		wait_for "$fallback/materialized.json" '.events_total == 1'
		cp "$fallback/materialized.json" "$BATS_TEST_TMPDIR/seen"
	} |
		as_nobody >/dev/null
	run jq .events_total "$BATS_TEST_TMPDIR/seen"
	assert_output 1
	[ "$(stat -c '%a %u' "$fallback")" = "700 65534" ]
	[ -z "$(ls -A "$fallback")" ]
	rmdir "$fallback"
	# A directory someone else made there (root, world-writable) is refused.
	mkdir -m 0777 "$fallback"
	{ bet 1 10 00:00:00; sleep 0.3; } | as_nobody >/dev/null 2>"$BATS_TEST_TMPDIR/err" || status=$?
	ls -A "$fallback" >"$BATS_TEST_TMPDIR/left"
	rmdir "$fallback"
	[ "${status:-0}" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/left" ]
	grep -q '"msg":"cannot create the runtime directory"' "$BATS_TEST_TMPDIR/err"
}

@test "agg: SIGTERM finishes cleanly: exit 0, runtime snapshot removed, explicit -o kept" {
	start_fifo -i 50
	bet 1 10 00:00:00 >&8
	wait_for "$CASINO_RUNDIR/materialized.json" '.events_total == 1'
	kill -TERM "$agg_pid"
	wait_agg
	[ "$agg_status" -eq 0 ]
	[ ! -e "$CASINO_RUNDIR/materialized.json" ]
	exec 8>&-
	rm "$BATS_TEST_TMPDIR/in"
	start_fifo -i 50 --snapshot "$snap"
	bet 1 10 00:00:00 >&8
	bet 2 10 00:00:01 >&8
	wait_for "$snap" '.events_total == 2'
	kill -TERM "$agg_pid"
	wait_agg
	[ "$agg_status" -eq 0 ]
	run compact
	assert_output "$(expect 2 2.00 2.00 10 2 0 0 0 0)"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(bet 1 10 00:00:00; bet 2 10 00:00:01)" ]
}

@test "agg: an explicit -o is written at exit and kept, whatever the interval" {
	{ bet 1 10 00:00:00; bet 2 11 00:00:30; } >"$BATS_TEST_TMPDIR/events"
	# With a one-hour interval only the first (empty) and the exit snapshot happen.
	run casino-tee-agg -i 3600000 -o "$snap" <"$BATS_TEST_TMPDIR/events"
	assert_success
	# 2 events over 30 s: 2 per minute (under a minute), 2 / 30 = 0.0666.. -> 0.07.
	run compact
	assert_output "$(expect 2 2.00 0.07 10 1 0 0 0 0)"
	[ -z "$(ls -A "$CASINO_RUNDIR" 2>/dev/null)" ]  # nothing in the runtime dir
	# CASINO_SNAPSHOT names it too, the name casino-http-handler reads; -o
	# wins over it.
	run --separate-stderr env CASINO_SNAPSHOT="$BATS_TEST_TMPDIR/env.json" \
		casino-tee-agg <"$BATS_TEST_TMPDIR/events"
	assert_success
	[ -z "$stderr" ]
	run compact "$BATS_TEST_TMPDIR/env.json"
	assert_output "$(expect 2 2.00 0.07 10 1 0 0 0 0)"
	rm "$snap"
	CASINO_SNAPSHOT=$BATS_TEST_TMPDIR/unused.json casino-tee-agg -o "$snap" </dev/null
	[ -f "$snap" ]
	[ ! -e "$BATS_TEST_TMPDIR/unused.json" ]
}

@test "agg: the old CASINO_AGG_SNAPSHOT is still read, with a deprecation warning; CASINO_SNAPSHOT wins" {
	bet 1 10 00:00:00 >"$BATS_TEST_TMPDIR/events"
	run --separate-stderr env CASINO_AGG_SNAPSHOT="$BATS_TEST_TMPDIR/old.json" \
		casino-tee-agg <"$BATS_TEST_TMPDIR/events"
	assert_success
	[ -s "$BATS_TEST_TMPDIR/old.json" ]
	assert_equal "$(jq -r '[.level, .variable, .msg] | join(" ")' <<<"$stderr")" \
		"warn CASINO_AGG_SNAPSHOT deprecated variable; use CASINO_SNAPSHOT, the name the server reads too"
	run --separate-stderr env CASINO_AGG_SNAPSHOT="$BATS_TEST_TMPDIR/old2.json" \
		CASINO_SNAPSHOT="$BATS_TEST_TMPDIR/new.json" casino-tee-agg <"$BATS_TEST_TMPDIR/events"
	assert_success
	[ -z "$stderr" ]
	[ -s "$BATS_TEST_TMPDIR/new.json" ]
	[ ! -e "$BATS_TEST_TMPDIR/old2.json" ]
}

@test "agg: snapshot write failures are logged once, the log keeps flowing, the last good snapshot stays" {
	dir=$BATS_TEST_TMPDIR/d
	mkdir "$dir"
	start_fifo -i 50 -o "$dir/snap.json"
	bet 1 10 00:00:00 >&8
	wait_for "$dir/snap.json" '.events_total == 1'
	mv "$dir" "$dir.gone"         # the directory disappears: writes fail
	bet 2 10 00:00:01 >&8
	wait_until 5 grep -q '"msg":"cannot write the snapshot"' "$BATS_TEST_TMPDIR/err"
	run jq .events_total "$dir.gone/snap.json"
	assert_output 1                # the last good snapshot, untouched
	[ "$(ls -A "$dir.gone" | tr "\n" " ")" = "snap.history.json snap.json " ]
	mkdir "$dir"                   # and comes back: writing resumes
	wait_for "$dir/snap.json" '.events_total == 2'
	exec 8>&-
	wait_agg
	[ "$agg_status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(bet 1 10 00:00:00; bet 2 10 00:00:01)" ]
	[ "$(grep -c '"msg":"cannot write the snapshot"' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	grep -q '"level":"error".*"path":"'"$dir"'/snap.json"' "$BATS_TEST_TMPDIR/err"
	grep -q '"msg":"snapshot written again"' "$BATS_TEST_TMPDIR/err"
}

@test "agg: a snapshot that cannot be written at exit makes the exit status 74" {
	run --separate-stderr casino-tee-agg -o "$BATS_TEST_TMPDIR/missing/snap.json" < <(bet 1 10 00:00:00)
	assert_failure 74
	assert_output "$(bet 1 10 00:00:00)"
	[[ "$stderr" == *'"msg":"cannot write the snapshot"'* ]]
}

@test "agg: --clock wall: the moving average decays and the snapshot is rewritten while idle" {
	start_fifo --clock wall --interval 50 -o "$snap"
	# created_at is ignored with the wall clock: far apart, far in the past.
	for i in 1 2 3 4 5; do bet "$i" 10 "0$i:00:00" >&8; done
	wait_for "$snap" '.events_total == 5'
	first=$(jq .events_per_second_moving_average "$snap")
	mtime1=$(stat -c %y "$snap")
	# Once 2 s have passed since the first arrival: 5 / elapsed <= 5 / 2 =
	# 2.50, and still > 0 (the events are less than 60 s old).
	wait_until 10 snapshot_is "$snap" '.events_per_second_moving_average <= 2.5'
	later=$(jq .events_per_second_moving_average "$snap")
	mtime2=$(stat -c %y "$snap")
	awk -v a="$first" -v b="$later" 'BEGIN { exit !(b < a && b <= 2.5 && b > 0) }'
	[ "$mtime1" != "$mtime2" ]
	wait_until 5 mtime_changed "$snap" "$mtime2"
	# Under a minute: per minute is the total itself.
	run compact
	assert_output --partial '{"events_total":5,"events_per_minute":5.00,'
	assert_output --partial '"top_player_bets":{"id":10,"count":5}'
	exec 8>&-
	wait_agg
	[ "$agg_status" -eq 0 ]
}

@test "agg: CASINO_AGG_CLOCK=wall and CASINO_AGG_INTERVAL are the defaults for -c and -i" {
	{ bet 1 10 00:00:00; bet 2 10 00:02:00; } >"$BATS_TEST_TMPDIR/events"
	# Event clock: 2 min elapsed, 2 / 2 = 1.00 per minute.
	casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	run compact
	assert_output --partial '"events_per_minute":1.00,'
	# Wall clock: both arrive within a minute, 2 / max(1, ~0) = 2.00 per minute.
	CASINO_AGG_CLOCK=wall casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	run compact
	assert_output --partial '"events_per_minute":2.00,'
	# -c wins over the environment.
	CASINO_AGG_CLOCK=wall casino-tee-agg -c event -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
	run compact
	assert_output --partial '"events_per_minute":1.00,'
	# The event clock also rewrites the snapshot every interval while idle.
	CASINO_AGG_INTERVAL=50 start_fifo -o "$snap"
	wait_for "$snap" '.events_total == 0'
	m1=$(stat -c %y "$snap")
	wait_until 5 mtime_changed "$snap" "$m1"
}

@test "agg: a closed stdout ends quietly with 0 and the snapshot still written" {
	casino-gen -n 200000 -s 1 -T 2024-01-01T00:00:00Z >"$BATS_TEST_TMPDIR/events"
	run bash -c 'casino-tee-agg -o "$1" <"$2" | head -n 1; echo "rc=${PIPESTATUS[0]}"' _ "$snap" "$BATS_TEST_TMPDIR/events"
	assert_line --index 1 rc=0
	jq -e '.events_total >= 1' "$snap"
}

@test "agg: a reject file that cannot be written makes the exit status 74, not 65" {
	run --separate-stderr casino-tee-agg -o "$snap" -r /dev/full < <(echo 'not json'; bet 1 10 00:00:00)
	assert_failure 74
	assert_output "$(bet 1 10 00:00:00)"
	[[ "$stderr" == *'"msg":"cannot write reject file"'* ]] || fail "$stderr"
}

@test "agg: a deposit with a negative amount_eur is rejected and does not lower the totals" {
	run --separate-stderr casino-tee-agg -o "$snap" < <(
		deposit 1 10 00:00:00 500 USD ',"amount_eur":400'
		deposit 2 10 00:00:01 500 USD ',"amount_eur":-300')
	assert_failure 65
	assert_output "$(deposit 1 10 00:00:00 500 USD ',"amount_eur":400')"
	run compact
	assert_output "$(expect 1 1.00 1.00 0 0 0 0 10 400)"
}

# The three tops of an events file by a full recount (awk, independent of
# lib/agg/players): "bets_id bets wins_id wins deposits_id deposits".
recount_tops() {
	awk -F'[,:]' '{
		for (i = 1; i < NF; i++) f[$i] = $(i + 1)
		p = f["\"player_id\""] + 0; seen[p] = 1
		if (f["\"type\""] == "\"bet\"") { b[p]++; if (f["\"has_won\""] == "true") w[p]++ }
		if (f["\"type\""] == "\"deposit\"") {
			if ("\"amount_eur\"" in f) d[p] += f["\"amount_eur\""]
			else if (f["\"currency\""] == "\"EUR\"") d[p] += f["\"amount\""]
		}
		delete f
	} END {
		for (p in seen) {
			if (b[p] > 0 && (b[p] > bc || (b[p] == bc && p + 0 < bi))) { bi = p + 0; bc = b[p] }
			if (w[p] > 0 && (w[p] > wc || (w[p] == wc && p + 0 < wi))) { wi = p + 0; wc = w[p] }
			if (d[p] > 0 && (d[p] > dc || (d[p] == dc && p + 0 < di))) { di = p + 0; dc = d[p] }
		}
		printf "%d %d %d %d %d %d\n", bi, bc, wi, wc, di, dc
	}' "$1"
}

@test "agg: the top players kept as events arrive equal a full recount (ties, 20000 players)" {
	# 60000 events over 20000 players in a scrambled order; then players
	# 19999, 9000 and 7 (in that order) each climb to one above the largest
	# count so far of every counter: a three-way tie the lowest id must win,
	# reached last by the lowest.
	awk 'function ev(p, rest) {
		printf "{\"id\":%d,\"player_id\":%d,%s,\"created_at\":\"2024-01-01T00:00:00Z\"}\n", ++id, p, rest
	}
	BEGIN {
		for (i = 1; i <= 60000; i++) {
			p = 1 + (i * 7919) % 20000; k = (i * 31) % 7
			if (k < 3) { ev(p, "\"game_id\":1,\"type\":\"bet\",\"amount\":5,\"currency\":\"EUR\"" (k == 0 ? ",\"has_won\":true" : "")); b[p]++; if (k == 0) w[p]++ }
			else if (k == 3) { ev(p, "\"type\":\"deposit\",\"amount\":" (i % 50) ",\"currency\":\"EUR\""); d[p] += i % 50 }
			else if (k == 4) { ev(p, "\"type\":\"deposit\",\"amount\":9,\"currency\":\"GBP\",\"amount_eur\":" (i % 30)); d[p] += i % 30 }
			else if (k == 5) ev(p, "\"type\":\"deposit\",\"amount\":900,\"currency\":\"USD\"")
			else ev(p, "\"game_id\":1,\"type\":\"game_start\"")
		}
		for (p in b) { if (b[p] > mb) mb = b[p]; if (w[p] > mw) mw = w[p] }
		for (p in d) if (d[p] > md) md = d[p]
		split("19999 9000 7", top, " ")
		for (t = 1; t <= 3; t++) {
			p = top[t]
			while (b[p] <= mb) { ev(p, "\"game_id\":1,\"type\":\"bet\",\"amount\":5,\"currency\":\"EUR\"" (w[p] <= mw ? ",\"has_won\":true" : "")); b[p]++; if (w[p] <= mw) w[p]++ }
			while (w[p] <= mw) { ev(p, "\"game_id\":1,\"type\":\"bet\",\"amount\":5,\"currency\":\"EUR\",\"has_won\":true"); w[p]++ }
			ev(p, "\"type\":\"deposit\",\"amount\":" (md + 1 - d[p]) ",\"currency\":\"EUR\"")
		}
	}' >"$BATS_TEST_TMPDIR/all"
	total=$(wc -l <"$BATS_TEST_TMPDIR/all")
	for n in 1 2 100 4999 30000 60000 60003 "$total"; do
		head -n "$n" "$BATS_TEST_TMPDIR/all" >"$BATS_TEST_TMPDIR/events"
		casino-tee-agg -o "$snap" <"$BATS_TEST_TMPDIR/events" >/dev/null
		run jq -r '[.top_player_bets, .top_player_wins, .top_player_deposits] | map("\(.id) \(.count)") | join(" ")' "$snap"
		assert_success
		assert_output "$(recount_tops "$BATS_TEST_TMPDIR/events")"
	done
	# The last file ends in the three-way tie on every counter: player 7 wins.
	run recount_tops "$BATS_TEST_TMPDIR/all"
	[[ "$output" == "7 "* ]] || fail "recount: $output"
	read -r _ bets _ wins _ deposits <<<"$output"
	for p in 19999 9000 7; do
		run grep -c "\"player_id\":$p,\"game_id\":1,\"type\":\"bet\"" "$BATS_TEST_TMPDIR/all"
		assert_output "$bets"
	done
	[ "$wins" -gt 1 ] && [ "$deposits" -gt 1 ] || fail "wins $wins deposits $deposits"
}

@test "agg: the history beside the snapshot: 300 per-second and 60 per-minute counts, oldest first, by the event clock" {
	{
		bet 1 10 00:00:00
		bet 2 10 00:00:00
		bet 3 11 00:00:59
		bet 4 11 00:01:30
		bet 5 12 00:01:30
		bet 6 12 00:01:30
		bet 7 12 00:01:31
	} | casino-tee-agg -o "$snap" >/dev/null
	hist=$BATS_TEST_TMPDIR/snap.history.json
	run jq -c '[(.per_second | .end, (.counts | length, .[299], .[298], .[267], .[240], .[208])),
		(.per_minute | .end, (.counts | length, .[59], .[58], .[57]))]' "$hist"
	assert_output '["2024-01-01T00:01:31Z",300,1,3,1,0,2,"2024-01-01T00:01:00Z",60,4,3,0]'
	# Every event of the last hour is in the minutes; the seconds hold the last 300 s.
	run jq '[.per_minute.counts[]] | add' "$hist"
	assert_output 7
	run jq -c 'keys, (.per_second | keys)' "$hist"
	assert_line --index 0 '["per_minute","per_second"]'
	assert_line --index 1 '["counts","end"]'
}

@test "agg: the default snapshot's history is removed with it at exit" {
	bet 1 10 00:00:00 | casino-tee-agg >/dev/null
	run ls -A "$CASINO_RUNDIR"
	assert_output ''
	start_fifo -i 50
	bet 1 10 00:00:00 >&8
	wait_for "$CASINO_RUNDIR/materialized.history.json" '.per_second.counts[299] == 1'
	exec 8>&-
	wait_agg
	[ "$agg_status" -eq 0 ]
	run ls -A "$CASINO_RUNDIR"
	assert_output ''
}

# log_ids FILE...: the ids of FILE..., each file's lines parsed whole (jq
# fails on a torn line), in the order written.
log_ids() {
	local f
	for f in "$@"; do jq -e -r .id "$f" || return 1; done
}

# agg_on_fifo ARG...: casino-tee-agg ARG... in the background, its input a
# FIFO the test writes on fd 8, stderr in err; agg_end closes it and waits.
agg_on_fifo() {
	mkfifo "$BATS_TEST_TMPDIR/in"
	casino-tee-agg "$@" <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" &
	agg_pid=$!
	exec 8>"$BATS_TEST_TMPDIR/in"
}
agg_end() {
	exec 8>&-
	wait "$agg_pid"
	agg_pid=
}

@test "agg: --log FILE: five times mv + SIGUSR1 during a stream, every id in exactly one file, in order, no line torn" {
	local T=$BATS_TEST_TMPDIR k files=() n
	mkfifo "$T/in"
	casino-tee-agg --log "$T/events.log" -o "$snap" <"$T/in" >"$T/stdout" 2>"$T/err" &
	agg_pid=$!
	casino-gen -r 3000 -n 9000 >"$T/in" 2>"$T/gen.err" &
	gen_pid=$!
	for k in 1 2 3 4 5; do
		wait_until 10 test -s "$T/events.log"
		mv "$T/events.log" "$T/events.log.$k"
		files+=("$T/events.log.$k")
		kill -USR1 "$agg_pid"
		wait_until 10 test -e "$T/events.log" || fail "rotation $k: no new log"
	done
	wait "$gen_pid"
	wait "$agg_pid"
	agg_pid=
	n=$(jq -r 'select(.msg == "end of run") | .events' "$T/gen.err")
	assert_equal "$n" 9000
	assert_equal "$(log_ids "${files[@]}" "$T/events.log")" "$(seq 1 "$n")"
	for k in 1 2 3 4 5; do
		[ -s "$T/events.log.$k" ] || fail "events.log.$k is empty"
	done
	assert_equal "$(wc -c <"$T/stdout")" 0
	assert_equal "$(grep -c '"msg":"log reopened"' "$T/err")" 5
	assert_equal "$(jq -r .events_total "$snap")" 9000
}

@test "agg: CASINO_AGG_LOG names the log, created 0644 less the umask, appended to; --log wins" {
	local T=$BATS_TEST_TMPDIR
	printf 'kept\n' >"$T/old.log"
	CASINO_AGG_LOG=$T/old.log run --separate-stderr casino-tee-agg -o "$snap" < <(bet 1 10 00:00:01)
	assert_success
	assert_output ''
	assert_equal "$(head -n 1 "$T/old.log")" kept
	assert_equal "$(sed -n 2p "$T/old.log" | jq -r .id)" 1
	(umask 027; CASINO_AGG_LOG=$T/old.log casino-tee-agg --log "$T/new.log" -o "$snap" < <(bet 2 10 00:00:02))
	assert_equal "$(stat -c %a "$T/new.log")" 640
	assert_equal "$(jq -r .id "$T/new.log")" 2
	assert_equal "$(wc -l <"$T/old.log")" 2
}

@test "agg: a log that cannot be opened is exit 74 naming it; one that cannot be reopened stays in use, nothing lost" {
	local T=$BATS_TEST_TMPDIR
	run --separate-stderr casino-tee-agg --log "$T/no/such/dir/events.log" </dev/null
	assert_failure 74
	[[ $stderr == *'"msg":"cannot open the log"'*"$T/no/such/dir/events.log"* ]] || fail "$stderr"
	mkdir "$T/logs"
	agg_on_fifo --log "$T/logs/events.log" -o "$snap"
	bet 1 10 00:00:01 >&8
	wait_until 5 test -s "$T/logs/events.log"
	mv "$T/logs" "$T/moved"
	kill -USR1 "$agg_pid"
	wait_until 5 grep -q '"msg":"cannot reopen the log' "$T/err"
	bet 2 10 00:00:02 >&8
	wait_until 5 grep -q '"id":2' "$T/moved/events.log"
	mkdir "$T/logs"
	kill -USR1 "$agg_pid"
	wait_until 5 grep -q '"msg":"log reopened"' "$T/err"
	bet 3 10 00:00:03 >&8
	agg_end
	assert_equal "$(log_ids "$T/moved/events.log" | tr '\n' ' ')" '1 2 '
	assert_equal "$(log_ids "$T/logs/events.log")" 3
}

@test "agg: SIGUSR1 without --log is logged and ignored" {
	local T=$BATS_TEST_TMPDIR
	agg_on_fifo -o "$snap" >"$T/out"
	bet 1 10 00:00:01 >&8
	wait_until 5 test -s "$T/out"
	kill -USR1 "$agg_pid"
	wait_until 5 grep -q '"msg":"SIGUSR1 ignored' "$T/err"
	bet 2 10 00:00:02 >&8
	agg_end
	assert_equal "$(log_ids "$T/out" | tr '\n' ' ')" '1 2 '
}
