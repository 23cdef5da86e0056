#!/usr/bin/env bats
# casino-replay over a fixture spanning a Friday, a weekend, a Monday and a
# Tuesday, against rates that differ per date: a loopback HTTP fake that logs
# every request (rates_api.bash under socat) and file:// {date}.json files.
# Every expected amount_eur is worked out in a comment next to it.
load helpers
bats_require_minimum_version 1.5.0

# Friday's rates in the classic shape, Monday's in the quotes shape,
# Tuesday's with a USD base crossed through EUR: EUR->USD = 1 / 0.5 = 2,
# EUR->GBP = 0.25 / 0.5 = 0.5.
FRI='{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25,"GBP":0.8,"BTC":0.00002}}'
MON='{"success":true,"source":"EUR","date":"2024-07-01","quotes":{"EURUSD":1.6,"EURGBP":0.5,"EURBTC":0.00004}}'
TUE='{"base":"USD","date":"2024-07-02","rates":{"EUR":0.5,"GBP":0.25,"BTC":0.00001}}'

setup_file() { suite_db_start; }
teardown_file() { suite_db_stop; }

setup() {
	export CASINO_DB=$SUITE_DB
	dir=$BATS_TEST_TMPDIR
	api=$dir/api
	mkdir -p "$api"
	: >"$api/requests"
	printf '%s' "$FRI" >"$api/2024-06-28.json"
	printf '%s' "$MON" >"$api/2024-07-01.json"
	printf '%s' "$TUE" >"$api/2024-07-02.json"
	serve_fake rates_api.bash "$api"
	port=$fake_port api_pid=$fake_pid
	url="http://127.0.0.1:$port/{date}?base=EUR"
	files="file://$api/{date}.json"
	fixture >"$dir/events.ndjson"
}

teardown() {
	kill "$api_pid" 2>/dev/null || true
	wait "$api_pid" 2>/dev/null || true
}

fixture() {
	ev 1 bet 1000 USD 2024-06-28T10:00:00Z         # Fri: 10 / 1.25 = 8.00
	ev 2 deposit 400 GBP 2024-06-28T23:59:59Z      # Fri: 4 / 0.8 = 5.00
	ev 3 bet 1000 USD 2024-06-29T12:00:00Z         # Sat -> Fri: 8.00
	ev 4 bet 1000 USD 2024-06-30T23:00:00-02:00    # Mon 01:00Z: 10 / 1.6 = 6.25
	ev 5 deposit 100000 BTC 2024-06-30T20:00:00Z   # Sun -> Fri: 0.001 / 0.00002 = 50.00
	ev 6 bet 333 GBP 2024-07-01T09:00:00Z          # Mon: 3.33 / 0.5 = 6.66
	ev 7 bet 1000 USD 2024-07-02T00:00:00Z         # Tue: 10 / 2 = 5.00
	ev 8 deposit 250 GBP 2024-07-02T10:00:00+01:00 # Tue: 2.5 / 0.5 = 5.00
	printf '%s\n' '{"id":9,"player_id":11,"game_id":101,"type":"game_start","created_at":"2024-07-02T11:00:00Z"}'
	ev 10 bet 123 EUR 2024-06-29T08:00:00Z         # EUR: 1.23, no rate needed
}

EXPECTED='[1,800]
[2,500]
[3,800]
[4,625]
[5,5000]
[6,666]
[7,500]
[8,500]
[9,null]
[10,123]'

amounts() {
	jq -c '[.id, .amount_eur]' "$1"
}

@test "replay: each event at the rates of its own UTC date, from the HTTP API, one request per date" {
	run --separate-stderr casino-replay -u "$url" -o "$dir/snap.json" "$dir/events.ndjson"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	# every stage did its part
	assert_equal "$(jq -r .description "$dir/out" | sed -n 4p)" \
		'Player #10 (john@example.com) placed a bet of 10 USD (6.25 EUR) on a game "Rocket Dice" on July 1st, 2024 at 01:00 UTC.'
	assert_equal "$(jq .events_total "$dir/snap.json")" 10
	# Fri, Sat (none), Mon, Sun (none), Tue: each date asked once
	run sed 's/^GET \/\([0-9-]*\)?.*/\1/' "$api/requests"
	assert_output "2024-06-28
2024-06-29
2024-07-01
2024-06-30
2024-07-02"
}

@test "replay: file://{date}.json files give the same amounts; the weekend uses Friday's rates, logged" {
	run --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	run jq -c 'select(.msg == "using the rates of the nearest earlier date") | [.date, .rates_date]' <<<"$stderr"
	assert_output '["2024-06-29","2024-06-28"]
["2024-06-30","2024-06-28"]'
	assert_equal "$(requests)" 0
}

@test "replay: more dates than the cache holds are fetched again, and only then" {
	# 17 dates (the cache holds 16), then the first again (evicted: asked
	# again), then the last (still cached: not asked).
	: >"$dir/many.ndjson"
	for d in $(seq -w 1 17) 01 17; do
		printf '{"base":"EUR","date":"2024-01-%s","rates":{"USD":2}}' "$d" >"$api/2024-01-$d.json"
		ev "1$d" bet 1000 USD "2024-01-${d}T12:00:00Z" >>"$dir/many.ndjson" # 10 / 2 = 5.00
	done
	run --separate-stderr casino-replay -u "$url" "$dir/many.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq .amount_eur | sort -u)" 500
	assert_equal "$(requests)" 18
	assert_equal "$(grep -c '/2024-01-01?' "$api/requests")" 2
	assert_equal "$(grep -c '/2024-01-17?' "$api/requests")" 1
	assert_equal "$(grep -c '/2024-01-02?' "$api/requests")" 1
}

@test "replay: .gz (and .zst) input, several files in order, and - for standard input" {
	head -n 5 "$dir/events.ndjson" | gzip >"$dir/part1.ndjson.gz"
	tail -n +6 "$dir/events.ndjson" >"$dir/part2.ndjson"
	run --separate-stderr casino-replay -u "$files" "$dir/part1.ndjson.gz" - <"$dir/part2.ndjson"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	run --separate-stderr casino-replay -u "$files" - <"$dir/events.ndjson"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	if command -v zstd >/dev/null; then
		zstd -q "$dir/events.ndjson" -o "$dir/events.ndjson.zst"
		run --separate-stderr casino-replay -u "$files" "$dir/events.ndjson.zst"
		assert_success
		printf '%s\n' "$output" >"$dir/out"
		assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	fi
}

@test "replay: two replays give the same bytes, log and snapshot" {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	casino-gen -s 7 -n 3000 -T 2024-06-28T20:00:00Z | gzip >"$dir/day.ndjson.gz"
	casino-replay -u "$files" -o "$dir/snap1.json" "$dir/day.ndjson.gz" >"$dir/out1" 2>/dev/null
	casino-replay -u "$files" -o "$dir/snap2.json" "$dir/day.ndjson.gz" >"$dir/out2" 2>/dev/null
	assert_equal "$(wc -l <"$dir/out1")" 3000
	cmp "$dir/out1" "$dir/out2"
	cmp "$dir/snap1.json" "$dir/snap2.json"
	assert_equal "$(jq .events_total "$dir/snap1.json")" 3000
}

@test "replay: the old CASINO_AGG_SNAPSHOT is casino-tee-agg's to read and warn about, once; CASINO_SNAPSHOT and -o win" {
	CASINO_AGG_SNAPSHOT=$dir/old.json run -0 --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_equal "$(jq .events_total "$dir/old.json")" "$(wc -l <"$dir/events.ndjson")"
	run jq -r 'select(.msg | startswith("deprecated")) | [.tool, .variable] | join(" ")' <<<"$stderr"
	assert_output 'casino-tee-agg CASINO_AGG_SNAPSHOT'
	CASINO_AGG_SNAPSHOT=$dir/old2.json CASINO_SNAPSHOT=$dir/new.json run -0 --separate-stderr \
		casino-replay -u "$files" "$dir/events.ndjson"
	[ -s "$dir/new.json" ] && [ ! -e "$dir/old2.json" ] || fail "CASINO_SNAPSHOT did not win"
	[[ $stderr != *deprecated* ]] || fail "$stderr"
	CASINO_AGG_SNAPSHOT=$dir/old3.json run -0 --separate-stderr casino-replay -u "$files" -o "$dir/opt.json" "$dir/events.ndjson"
	[ -s "$dir/opt.json" ] && [ ! -e "$dir/old3.json" ] || fail "-o did not win"
}

@test "replay: a bad line exits 65, the line in the reject file, the rest written" {
	{
		head -n 3 "$dir/events.ndjson"
		printf '%s\n' '{"id":99,"type":"bet"'
		tail -n +4 "$dir/events.ndjson"
	} >"$dir/bad.ndjson"
	run --separate-stderr casino-replay -u "$files" -r "$dir/rejects" "$dir/bad.ndjson"
	assert_failure 65
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	assert_equal "$(cat "$dir/rejects")" '{"id":99,"type":"bet"'
	# the summary: one record, each stage's own counts
	run jq -c 'select(.msg == "replay finished") | [.status, .events_in, .events_out, .rejected, .fx_rejected, .player_in, .agg_out]' <<<"$stderr"
	assert_output '[65,11,10,1,1,10,10]'
}

# The replay's database, down: a folder with no server in it.
NO_DB="host=/nonexistent port=5432 dbname=casino user=casino"

@test "replay: the database down, no progress for -w seconds: exit 69, every event saved in order to -r, from a file" {
	set -o pipefail
	run --separate-stderr casino-replay -u "$files" -w 1 -d "$NO_DB" -r "$dir/rej" "$dir/events.ndjson"
	assert_failure 69
	assert_output ''
	# what casino-fx wrote, byte for byte: replaying it finishes the job
	casino-fx -u "$files" -D event <"$dir/events.ndjson" 2>/dev/null | cmp - "$dir/rej"
	run jq -c 'select(.msg | startswith("no progress while a stage holds events")) | .holding' <<<"$stderr"
	assert_output '"casino-player"'
	run jq -c 'select(.msg | startswith("events not written were saved")) | [.saved, .reject]' <<<"$stderr"
	assert_output "[10,\"$dir/rej\"]"
	# casino-fx read the whole file: nothing is named as not read.
	[[ $stderr != *'"not_read"'* ]] || fail "$stderr"
	run jq -c 'select(.msg == "replay finished") | [.status, .events_in, .events_out, .saved, .player_saved]' <<<"$stderr"
	assert_output '[69,10,0,10,10]'
	run --separate-stderr casino-replay -u "$files" "$dir/rej"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
}

@test "replay: the database down, events from standard input: all saved to -r, exit 69" {
	set -o pipefail
	casino-gen -s 8 -n 500 -T 2024-06-28T00:00:00Z >"$dir/ev500"
	run --separate-stderr casino-replay -w 1 -d "$NO_DB" -r "$dir/rej" - <"$dir/ev500"
	assert_failure 69
	assert_output ''
	assert_equal "$(jq -c .id "$dir/rej" | tr '\n' ' ')" "$(seq -s ' ' 1 500) "
	# the same bytes as casino-fx writes for them
	casino-fx -u "file://$CASINO_ROOT/share/rates.json" <"$dir/ev500" 2>/dev/null | cmp - "$dir/rej"
	run jq -c 'select(.msg == "replay finished") | [.status, .events_in, .saved]' <<<"$stderr"
	assert_output '[69,500,500]'
}

@test "replay: stdout on a full disk exits 74" {
	local status=0
	casino-replay -u "$files" "$dir/events.ndjson" >/dev/full 2>"$dir/err" || status=$?
	assert_equal "$status" 74
	run jq -c 'select(.msg == "replay finished") | .status' "$dir/err"
	assert_output 74
}

@test "replay: progress on a terminal, cleared at the end; a summary record without one" {
	casino-gen -s 3 -n 20000 -T 2024-06-28T00:00:00Z >"$dir/big.ndjson"
	script -qec "casino-replay -u '$files' '$dir/big.ndjson' >'$dir/out'" "$dir/tty" >/dev/null
	assert_equal "$(wc -l <"$dir/out")" 20000
	run grep -a -c 'events/s' "$dir/tty"
	assert_success
	grep -a -q "of 2.*MB" "$dir/tty"
	# the line is cleared at the end: CR, ESC [ K after the last progress line
	local tty rest
	tty=$(cat "$dir/tty")
	rest=${tty##*events/s}
	[[ $rest == *$'\r\e[K'* ]] || fail "progress not cleared: $(printf '%s' "$rest" | od -c | head)"
	run grep -a -c 'replay finished' "$dir/tty"
	assert_output 0
	run --separate-stderr casino-replay -u "$files" "$dir/big.ndjson"
	assert_success
	run grep -c 'events/s' <<<"$stderr"
	assert_output 0
	run jq -c 'select(.msg == "replay finished") | [.level, .status, .events_in, .describe_out, .agg_pending]' <<<"$stderr"
	assert_output '["info",0,20000,20000,0]'
	# the same counts from the stages' text records
	CASINO_LOG_FORMAT=text run --separate-stderr casino-replay -u "$files" "$dir/big.ndjson"
	assert_success
	run grep 'replay finished' <<<"$stderr"
	assert_output --partial 'replay finished (status 0, events_in 20000, events_out 20000, rejected 0, saved 0, lost 0, fx_in 20000, fx_out 20000,'
}

@test "replay: the progress line on a terminal shows the events done so far, of the bytes read, with an ETA" {
	set -o pipefail
	# Eight days of 100 events, each day's rates answered after 0.4 s: the
	# replay takes seconds, and the line is redrawn meanwhile.
	local d
	: >"$dir/days.ndjson"
	for d in 1 2 3 4 5 6 7 8; do
		printf '{"base":"EUR","date":"2024-01-0%s","rates":{"USD":2,"GBP":1,"NZD":2,"BTC":0.00002}}' "$d" >"$api/2024-01-0$d.json"
		echo '200 0.4' >"$api/2024-01-0$d.status"
		casino-gen -s "$d" -n 100 -T "2024-01-0${d}T00:00:00Z" 2>/dev/null |
			jq -c --argjson base $((d * 1000)) '.id += $base' >>"$dir/days.ndjson"
	done
	script -qec "casino-replay -u '$url' '$dir/days.ndjson' >'$dir/out'" "$dir/tty" >/dev/null
	assert_equal "$(wc -l <"$dir/out")" 800
	# Each redraw: "casino-replay: 71 kB of 104 kB (68%), 300 events, ...".
	tr '\r' '\n' <"$dir/tty" | grep -a -o '^casino-replay: .* events, .*' >"$dir/lines" ||
		fail "no progress line: $(od -c "$dir/tty" | head)"
	run awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "events,") print $i }' "$dir/lines"
	local mid=0 n
	for n in "${lines[@]}"; do
		[ "$n" -le 800 ] || fail "counts $n of 800 events"
		[ "$n" -eq 0 ] || [ "$n" -eq 800 ] || mid=1
	done
	[ "$mid" -eq 1 ] || fail "no line with a count between 0 and 800: $(cat "$dir/lines")"
	grep -q 'kB of [0-9]* kB ([0-9]*%).*ETA [0-9]*:[0-9][0-9]' "$dir/lines" || fail "no ETA: $(cat "$dir/lines")"
}

@test "replay: no dated source: the bundled rates for every day, said once and loudly" {
	run --separate-stderr casino-replay "$dir/events.ndjson"
	assert_success
	printf '%s\n' "$output" >"$dir/out"
	# share/rates.json (2024-06-28): 10 USD / 1.0705 = 9.34; 4 GBP / 0.84638 = 4.73
	assert_equal "$(amounts "$dir/out" | head -n 2)" '[1,934]
[2,473]'
	run jq -r 'select(.level == "warn") | .msg' <<<"$stderr"
	assert_output --partial 'no dated rate source'
	assert_equal "${#lines[@]}" 1
}

@test "replay: the private database is started when needed and stopped after, else left running" {
	unset CASINO_DB
	export CASINO_STATE_DIR=$dir/own
	run --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -r '.player.email' | head -n 1)" john@example.com
	run casino-db status
	assert_failure 3
	casino-db start >/dev/null 2>&1
	run --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_success
	run casino-db status
	assert_success
	casino-db stop >/dev/null 2>&1
}

@test "replay: usage errors exit 64; a missing file 66; -h and -V" {
	run casino-replay
	assert_failure 64
	assert_output --partial 'usage: casino-replay'
	run casino-replay -D event -u "file://$api/rates.json" "$dir/events.ndjson"
	assert_failure 64
	assert_output --partial '{date}'
	run casino-replay --rates-date=yesterday "$dir/events.ndjson"
	assert_failure 64
	assert_output --partial 'bad --rates-date: yesterday'
	CASINO_FX_RATES_DATE=never run casino-replay "$dir/events.ndjson"
	assert_failure 64
	assert_output --partial 'bad CASINO_FX_RATES_DATE: never'
	run casino-replay -w soon "$dir/events.ndjson"
	assert_failure 64
	run casino-replay --bogus "$dir/events.ndjson"
	assert_failure 64
	assert_output --partial 'bogus'
	run casino-replay -u "$files" "$dir/missing.ndjson"
	assert_failure 66
	run casino-replay --help
	assert_success
	assert_line --index 0 'usage: casino-replay [-D latest|event] [-d conninfo] [-o file] [-r file] [-u url] [-w seconds] file... | -'
	run casino-replay -V
	assert_success
	assert_output --regexp '^casino-replay [0-9]'
}

@test "replay: a bad -w or CASINO_REPLAY_WAIT is 64 with the usage line before anything starts; CASINO_PLAYER_WAIT is casino-player's to check" {
	local bad
	for bad in '-w 1000000' '-w soon' '--wait=-1'; do
		# shellcheck disable=SC2086 # the option and its value
		run --separate-stderr casino-replay $bad -u "$files" "$dir/events.ndjson"
		assert_failure 64
		[[ $stderr == *'bad --wait: '* ]] || fail "no reason: $stderr"
		[[ $stderr == *'usage: casino-replay '* ]] || fail "no usage line: $stderr"
		[[ $stderr != *'replay finished'* ]] || fail "the replay ran: $stderr"
	done
	CASINO_REPLAY_WAIT=x run -64 --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	[[ $stderr == *'bad CASINO_REPLAY_WAIT: x'* ]] || fail "$stderr"
	CASINO_PLAYER_WAIT=later run --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_failure 64
	run jq -Rr 'fromjson? | .option' <<<"$stderr"
	assert_output CASINO_PLAYER_WAIT
	# The largest wait, and 0 (for ever), are a replay.
	run -0 casino-replay -w 999999 -u "$files" "$dir/events.ndjson"
	CASINO_REPLAY_WAIT=0 run -0 casino-replay -u "$files" "$dir/events.ndjson"
}

# The lines of FILE from line $1 on (what a replay named as not read).
lines_from() {
	tail -n +"$1" "$2"
}

# not_read_of STDERR: the replay's not_read field.
not_read_of() {
	jq -r 'select(.msg | startswith("the input was not read to its end")) | .not_read' <<<"$1"
}

@test "replay: the README's day, 2024-01-01, with only 2024-06-28's rates ends with 69: its bets and deposits in -r, the rest logged, every id once" {
	local -
	set -o pipefail
	mkdir -p "$dir/rates"
	cp "$CASINO_ROOT/share/rates.json" "$dir/rates/2024-06-28.json"
	casino-gen -s 42 -T 2024-01-01T00:00:00Z -t 86400 -g 0-1728 2>/dev/null | gzip >"$dir/day.ndjson.gz"
	local n
	n=$(gzip -dc "$dir/day.ndjson.gz" | wc -l)
	echo '{"events_total":"yesterday"}' >"$dir/stats.json"
	run -69 --separate-stderr casino-replay -u "file://$dir/rates/{date}.json" -o "$dir/stats.json" \
		-r "$dir/rej" "$dir/day.ndjson.gz"
	printf '%s\n' "$output" >"$dir/log"
	count_ids "$n" "$dir/log" "$dir/rej"
	echo "README's day: $n events, $(wc -l <"$dir/log") logged, $(wc -l <"$dir/rej") saved; missing $MISSING duplicated $DUPLICATED" >&3
	assert_equal "$MISSING" 0
	assert_equal "$DUPLICATED" 0
	# what was saved is every bet and deposit not in EUR, in order
	assert_equal "$(jq -r 'select(.amount != null and .currency != "EUR") | .id' <(gzip -dc "$dir/day.ndjson.gz"))" \
		"$(jq -r .id "$dir/rej")"
	run jq -c 'select(.msg == "replay finished") | [.status, .saved, .lost, .not_read]' <<<"$stderr"
	assert_output "[69,$(wc -l <"$dir/rej"),0,null]"
	# the snapshot has this replay's events
	assert_equal "$(jq .events_total "$dir/stats.json")" "$(wc -l <"$dir/log")"
}

@test "replay: a day with rates beside a day without: the first logged with amounts, the second's bets and deposits saved in order, 69" {
	{
		head -n 2 "$dir/events.ndjson"
		ev 20 bet 1000 USD 2024-01-10T10:00:00Z
		ev 21 bet 500 EUR 2024-01-10T10:00:01Z
		ev 22 deposit 700 GBP 2024-01-10T10:00:02Z
		tail -n +3 "$dir/events.ndjson"
	} >"$dir/two.ndjson"
	run -69 --separate-stderr casino-replay -u "$files" -r "$dir/rej" "$dir/two.ndjson"
	printf '%s\n' "$output" >"$dir/out"
	# the dated events as always; EUR needs no rate and goes on
	assert_equal "$(amounts "$dir/out" | grep -v '^\[2[0-9],')" "$EXPECTED"
	assert_equal "$(amounts "$dir/out" | grep '^\[2[0-9],')" '[21,500]'
	assert_equal "$(cat "$dir/rej")" "$(ev 20 bet 1000 USD 2024-01-10T10:00:00Z; ev 22 deposit 700 GBP 2024-01-10T10:00:02Z)"
	run jq -c 'select(.level == "warn" and .tool == "casino-fx") | [.msg, .date // .saved]' <<<"$stderr"
	assert_line '["no rates for the date or the 7 days before it; its events are saved to the reject file","2024-01-10"]'
	assert_line '["events of dates without rates saved to the reject file",2]'
}

@test "replay: the rate API down, -w 2: ends with 69, what casino-fx held and read saved, the rest named as not read, every id once" {
	local -
	set -o pipefail
	casino-gen -s 9 -n 50000 -T 2024-06-28T00:00:00Z 2>/dev/null >"$dir/big.ndjson"
	local down
	down=$(free_port)
	run -69 --separate-stderr casino-replay -w 2 -u "http://127.0.0.1:$down/{date}" -r "$dir/rej" "$dir/big.ndjson"
	printf '%s\n' "$output" >"$dir/log"
	run jq -r 'select(.msg | startswith("no progress while a stage holds events")) | "\(.holding) \(.wait_s)"' <<<"$stderr"
	assert_output 'casino-fx 2'
	local named from
	named=$(not_read_of "$stderr")
	[[ $named =~ ^$dir/big\.ndjson\ from\ line\ ([0-9]+)$ ]] || fail "not_read: $named"
	from=${BASH_REMATCH[1]}
	lines_from "$from" "$dir/big.ndjson" >"$dir/unread"
	count_ids 50000 "$dir/log" "$dir/rej" "$dir/unread"
	echo "API down, -w 2: $(wc -l <"$dir/log") logged, $(wc -l <"$dir/rej") saved, from line $from not read; missing $MISSING duplicated $DUPLICATED" >&3
	assert_equal "$MISSING" 0
	assert_equal "$DUPLICATED" 0
}

@test "replay: SIGTERM with standard input: 69, standard input named from the first line not read, every id once" {
	local -
	set -o pipefail
	casino-gen -s 9 -T 2024-06-28T00:00:00Z 2>/dev/null | casino-replay -u "$files" -r "$dir/rej" - \
		>"$dir/log" 2>"$dir/err" &
	local pid=$!
	wait_until 30 file_has "$dir/log" 2000
	kill -TERM "$pid"
	wait_pid "$pid"
	assert_equal "$waited" 69
	run jq -c 'select(.msg == "replay finished") | .status' "$dir/err"
	assert_output 69
	local named from
	named=$(not_read_of "$(cat "$dir/err")")
	[[ $named =~ ^standard\ input\ from\ line\ ([0-9]+)$ ]] || fail "not_read: $named"
	from=${BASH_REMATCH[1]}
	# what was read is ids 1..from-1: each in the log or the reject file
	count_ids $((from - 1)) "$dir/log" "$dir/rej"
	assert_equal "$MISSING" 0
	assert_equal "$DUPLICATED" 0
	assert_equal "$(cat "$dir/log" "$dir/rej" 2>/dev/null | wc -l)" $((from - 1))
}

@test "replay: SIGTERM while reading files: 69, the file and line where reading stopped and the files after it named, every id read once" {
	local -
	set -o pipefail
	casino-gen -s 9 -n 300000 -T 2024-06-28T00:00:00Z 2>/dev/null >"$dir/all.ndjson"
	head -n 200000 "$dir/all.ndjson" >"$dir/p1.ndjson"
	tail -n +200001 "$dir/all.ndjson" | gzip >"$dir/p2.ndjson.gz"
	casino-replay -u "$files" -r "$dir/rej" "$dir/p1.ndjson" "$dir/p2.ndjson.gz" >"$dir/log" 2>"$dir/err" &
	local pid=$!
	wait_until 30 file_has "$dir/log" 2000
	kill -TERM "$pid"
	wait_pid "$pid"
	assert_equal "$waited" 69
	local named from
	named=$(not_read_of "$(cat "$dir/err")")
	[[ $named =~ ^$dir/p1\.ndjson\ from\ line\ ([0-9]+)\;$dir/p2\.ndjson\.gz$ ]] || fail "not_read: $named"
	from=${BASH_REMATCH[1]}
	lines_from "$from" "$dir/p1.ndjson" >"$dir/unread"
	gzip -dc "$dir/p2.ndjson.gz" >>"$dir/unread"
	count_ids 300000 "$dir/log" "$dir/rej" "$dir/unread"
	echo "SIGTERM over two files: $(wc -l <"$dir/log") logged, p1 from line $from and p2 named; missing $MISSING duplicated $DUPLICATED" >&3
	assert_equal "$MISSING" 0
	assert_equal "$DUPLICATED" 0
}

@test "replay: SIGTERM 0.5 s after the start of a 900,000-event file: it stops reading at once and ends, 69, the rest named" {
	casino-gen -s 9 -n 900000 -T 2024-06-28T00:00:00Z 2>/dev/null >"$dir/big.ndjson"
	casino-replay -u "$files" -r "$dir/rej" "$dir/big.ndjson" >"$dir/log" 2>"$dir/err" &
	local pid=$! t0
	sleep 0.5 # the stop comes early on purpose, whatever has started by then
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait_until 10 process_gone "$pid"
	echo "stopped $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM, $(wc -l <"$dir/log") of 900000 logged" >&3
	wait_pid "$pid"
	assert_equal "$waited" 69
	local named
	named=$(not_read_of "$(cat "$dir/err")")
	[[ $named =~ ^$dir/big\.ndjson\ from\ line\ ([0-9]+)$ ]] || fail "not_read: $named"
	assert_equal "${BASH_REMATCH[1]}" $(($(cat "$dir/log" "$dir/rej" 2>/dev/null | wc -l) + 1))
}

@test "replay: a damaged file in the middle: 74, it and the files after it named as not read, the files before it logged" {
	head -n 5 "$dir/events.ndjson" >"$dir/p1.ndjson"
	tail -n +6 "$dir/events.ndjson" | gzip | head -c 30 >"$dir/p2bad.ndjson.gz"
	tail -n +6 "$dir/events.ndjson" >"$dir/p3.ndjson"
	run -74 --separate-stderr casino-replay -u "$files" -r "$dir/rej" "$dir/p1.ndjson" "$dir/p2bad.ndjson.gz" "$dir/p3.ndjson"
	assert_equal "$(jq -c .id <<<"$output" | head -n 5 | paste -sd ' ')" '1 2 3 4 5'
	run jq -r 'select(.msg | startswith("cannot read")) | .not_read' <<<"$stderr"
	assert_output "$dir/p3.ndjson"
	assert_equal "$(not_read_of "$stderr")" "$dir/p2bad.ndjson.gz (cannot be read);$dir/p3.ndjson"
}

@test "replay: -o is replaced only when this replay logged something, and it says so" {
	mkdir -p "$dir/none"
	ev 1 bet 1000 USD 2024-01-10T10:00:00Z >"$dir/jan.ndjson"
	echo '{"events_total":7}' >"$dir/stats.json"
	run -69 --separate-stderr casino-replay -u "file://$dir/none/{date}.json" -o "$dir/stats.json" -r "$dir/rej" "$dir/jan.ndjson"
	assert_equal "$(cat "$dir/stats.json")" '{"events_total":7}'
	run jq -r 'select(.msg | startswith("no event logged")) | .snapshot' <<<"$stderr"
	assert_output "$dir/stats.json"
	run -0 --separate-stderr casino-replay -u "$files" -o "$dir/stats.json" "$dir/events.ndjson"
	assert_equal "$(jq .events_total "$dir/stats.json")" 10
}

@test "replay: without -r, the reject file is a new one in the state directory, named; none is left when nothing was saved" {
	ev 1 bet 1000 USD 2024-01-10T10:00:00Z >"$dir/jan.ndjson"
	run -69 --separate-stderr casino-replay -u "$files" "$dir/jan.ndjson"
	local rej
	rej=$(jq -r 'select(.msg == "replay finished") | .reject' <<<"$stderr")
	[[ $rej == "$CASINO_STATE_DIR/rejects/replay-"*.ndjson ]] || fail "reject: $rej"
	assert_equal "$(cat "$rej")" "$(cat "$dir/jan.ndjson")"
	rm "$rej"
	run -0 --separate-stderr casino-replay -u "$files" "$dir/events.ndjson"
	assert_equal "$(jq -r 'select(.msg == "replay finished") | .reject' <<<"$stderr")" null
	assert_equal "$(find "$CASINO_STATE_DIR/rejects" -type f | wc -l)" 0
}

@test "replay: kill -9 of casino-replay with the database down: within 10 s none of its stages is left, every event in -r" {
	local -
	set -o pipefail
	head -n 5 "$dir/events.ndjson" | gzip >"$dir/p1.ndjson.gz"
	tail -n +6 "$dir/events.ndjson" >"$dir/p2.ndjson"
	mkdir -p "$dir/tmp"
	TMPDIR=$dir/tmp casino-replay -u "$files" -w 0 -d "$NO_DB" -r "$dir/rej" "$dir/p1.ndjson.gz" "$dir/p2.ndjson" \
		>"$dir/log" 2>"$dir/err" &
	local pid=$! launched
	wait_grep "$dir/err" 'waiting for the database'
	launched=$(echo "$dir"/tmp/casino-replay.*/launched)
	[ "$(wc -l <"$launched")" -eq 5 ] || fail "launched: $(cat "$launched")"
	kill -KILL "$pid"
	local name spid left
	for _ in $(seq 100); do
		left=''
		while read -r name spid _; do
			process_gone "$spid" || left="$left $name"
		done <"$launched"
		[ -n "$left" ] || break
		sleep 0.1
	done
	[ -z "$left" ] || fail "still running:$left"
	assert_equal "$(jq -c .id "$dir/rej" | paste -sd ' ')" '1 2 3 4 5 6 7 8 9 10'
}

@test "replay: in cron's environment (env -i PATH=/usr/bin:/bin, no HOME), its own database, exit 0" {
	local state=$dir/cron-state
	run -0 --separate-stderr env -i PATH=/usr/bin:/bin CASINO_BIN="$CASINO_BIN" CASINO_STATE_DIR="$state" \
		"$CASINO_ROOT/scripts/casino-replay" -u "$files" "$dir/events.ndjson"
	printf '%s\n' "$output" >"$dir/out"
	assert_equal "$(amounts "$dir/out")" "$EXPECTED"
	assert_equal "$(jq -r .player.email "$dir/out" | head -n 1)" john@example.com
	# only JSON records on stderr, no shell error
	jq -e . >/dev/null <<<"$stderr" || fail "$stderr"
	run -3 env -i PATH=/usr/bin:/bin CASINO_BIN="$CASINO_BIN" CASINO_STATE_DIR="$state" "$CASINO_ROOT/scripts/casino-db" status
}
