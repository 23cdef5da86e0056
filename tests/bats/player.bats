#!/usr/bin/env bats
# casino-player against a real cluster started by casino-db in a temp folder:
# lookups, key order, freshness, outages mid-stream and at startup, options.
load helpers

setup_file() { suite_db_start; }
teardown_file() { suite_db_stop; }

# The fixture rows, in every form of time the tool has to convert: a
# fraction, none, an offset, before 2000 (negative in Postgres' epoch), NULL,
# and an email that needs JSON escapes.
setup() {
	export CASINO_DB=$SUITE_DB
	dir=$BATS_TEST_TMPDIR
	sql "TRUNCATE players;
	INSERT INTO players VALUES
		(10, 'john@example.com', '1999-12-31 23:59:59.5+00'),
		(11, 'jane@example.com', '2022-02-02 23:01:02.03+00'),
		(12, 'bob@example.com', '2022-02-02 23:01:02+00'),
		(13, 'rick@example.com', '2021-12-31 23:59:59.123456-05'),
		(14, 'morty@example.com', NULL),
		(20, E'x\"y\\\\z@example.com', '1970-01-01 00:00:00+00');"
}

teardown() {
	[ -z "${player_pid:-}" ] || kill "$player_pid" 2>/dev/null || true
	# Its input closed and its lifeline cut first: a player holding events
	# reads to the end of its input at a stop, so the wait would not end.
	exec 5>&- 6<&- || true
	stop_pids "${sup_pid:-}"
	[ -z "${player_pid:-}" ] || wait "$player_pid" 2>/dev/null || true
	# A test that stopped the server leaves it running for the next one.
	casino-db start >/dev/null 2>&1 || true
}

sql() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$SUITE_DB" -c "$1" >/dev/null
}

P10='{"id":10,"email":"john@example.com","last_signed_in_at":"1999-12-31T23:59:59.5Z"}'
P11='{"id":11,"email":"jane@example.com","last_signed_in_at":"2022-02-02T23:01:02.03Z"}'
P12='{"id":12,"email":"bob@example.com","last_signed_in_at":"2022-02-02T23:01:02Z"}'
P13='{"id":13,"email":"rick@example.com","last_signed_in_at":"2022-01-01T04:59:59.123456Z"}'
P14='{"id":14,"email":"morty@example.com"}'
P20='{"id":20,"email":"x\"y\\z@example.com","last_signed_in_at":"1970-01-01T00:00:00Z"}'

# event ID PLAYER: a game_start line.
event() {
	printf '{"id":%s,"player_id":%s,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56Z"}\n' "$1" "$2"
}

# enriched ID PLAYER JSON: what casino-player must write for event ID PLAYER.
enriched() {
	printf '{"id":%s,"player_id":%s,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56Z","player":%s}\n' "$1" "$2" "$3"
}

# Start casino-player (with options "$@") on fifos: fd 5 writes its input,
# fd 6 reads its output (bats owns fd 3), its stderr goes to $dir/err.
start_fed() {
	mkfifo "$dir/in" "$dir/out"
	casino-player "$@" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	player_pid=$!
	exec 5>"$dir/in" 6<"$dir/out"
}

# sessions: casino-player's sessions on the server; sessions_are N: N of them.
sessions() {
	psql -X -tA -d "$SUITE_DB" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'casino-player'"
}
sessions_are() {
	[ "$(sessions)" -eq "$1" ]
}

# Read one output line into $line within 15 s.
next_line() {
	read -r -t 15 line <&6 || fail "no output line; stderr: $(cat "$dir/err")"
}

@test "every known player, each form of time and escaping" {
	run --separate-stderr casino-player < <(event 1 10; event 2 11; event 3 12; event 4 13; event 5 20)
	assert_success
	assert_output "$(enriched 1 10 "$P10"; enriched 2 11 "$P11"; enriched 3 12 "$P12"; enriched 4 13 "$P13"; enriched 5 20 "$P20")"
	[ -z "$stderr" ]
}

@test "a NULL last_signed_in_at leaves the key out" {
	run --separate-stderr casino-player < <(event 7 14)
	assert_success
	assert_output "$(enriched 7 14 "$P14")"
}

@test "an unknown player: warn record with event and player id, event unchanged" {
	run --separate-stderr casino-player < <(event 8 19; event 9 10)
	assert_success
	assert_output "$(event 8 19; enriched 9 10 "$P10")"
	[ "$(printf '%s\n' "$stderr" | jq -c '{level, tool, msg, event_id, player_id}')" = \
	    '{"level":"warn","tool":"casino-player","msg":"player not found","event_id":8,"player_id":19}' ]
}

@test "player is appended after every existing key, unknown keys kept in place" {
	line='{"zeta":[1,{"a":2}],"id":3,"player_id":11,"type":"deposit","amount":500,"currency":"USD","created_at":"2022-02-02T23:45:00+01:00","amount_eur":468,"x":null}'
	run --separate-stderr casino-player <<<"$line"
	assert_success
	assert_output "${line%\}},\"player\":$P11}"
}

@test "an existing player key is replaced in place" {
	line='{"id":3,"player":{"email":"old@example.com","n":[1,2]},"player_id":12,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z","tail":true}'
	run --separate-stderr casino-player <<<"$line"
	assert_success
	assert_output "{\"id\":3,\"player\":$P12,\"player_id\":12,\"type\":\"game_stop\",\"game_id\":105,\"created_at\":\"2022-02-02T23:45:00Z\",\"tail\":true}"
}

@test "an unknown player's existing player key is removed with its comma" {
	run --separate-stderr casino-player <<-'EOF'
	{"id":1,"player_id":19,"player":{"id":19,"email":"gone@example.com"},"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z"}
	{"player" : {"id":19} , "id":2,"player_id":19,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z"}
	{"id":3,"player_id":19,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z" , "player":{} }
	EOF
	assert_success
	assert_output - <<-'EOF'
	{"id":1,"player_id":19,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z"}
	{"id":2,"player_id":19,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z"}
	{"id":3,"player_id":19,"type":"game_stop","game_id":105,"created_at":"2022-02-02T23:45:00Z" }
	EOF
	# the first miss at once, the other two counted at exit
	assert_equal "$(printf '%s\n' "$stderr" | jq -c 'select(.msg == "player not found") | [.player_id, .count]')" \
		"$(printf '%s\n' '[19,1]' '[19,2]')"
}

# unknown_counts: the "player not found" records on $stderr as
# "player_id count first last" lines, and their counts' sum in $sum.
unknown_counts() {
	printf '%s\n' "$stderr" | jq -r 'select(.msg | startswith("player not found")) |
		"\(.player_id) \(.count) \(.first_event_id // .event_id) \(.last_event_id // .event_id)"' >"$dir/records"
	sum=$(awk '{ s += $2 } END { print s + 0 }' "$dir/records")
}

@test "unknown players do not flood the log: first miss at once, then counts that add up to the misses" {
	# 6000 events of players 10-29: 10-14 and 20 are known, 14 players not.
	for i in $(seq 1 6000); do event "$i" $((10 + i % 20)); done >"$dir/in.ndjson"
	misses=$(jq -c 'select(.player_id > 14 and .player_id != 20)' "$dir/in.ndjson" | wc -l)
	run --separate-stderr casino-player <"$dir/in.ndjson"
	assert_success
	assert_equal "$(jq -c 'select(.player == null)' <<<"$output" | wc -l)" "$misses"
	unknown_counts
	assert_equal "$sum" "$misses"
	# at most a first record and one at exit per player: a few KiB, not one per miss
	[ "$(wc -l <"$dir/records")" -le 28 ] || fail "$(wc -l <"$dir/records") records for 14 players"
	[ "${#stderr}" -le 8192 ] || fail "${#stderr} bytes of log for $misses misses"
	# player 15's first miss is event 5, alone; the rest count from event 25 to 5985
	grep -qx '15 1 5 5' "$dir/records"
	grep -qx '15 299 25 5985' "$dir/records"
}

@test "an unknown player's later misses: one count per interval, also sent by the next batch, the rest at exit" {
	for bad in 0 0.0001 -1 1e3 x; do
		CASINO_PLAYER_UNKNOWN_EVERY=$bad run -64 --separate-stderr casino-player -d "host=$dir/nowhere" </dev/null
		[[ $stderr == *'"option":"CASINO_PLAYER_UNKNOWN_EVERY"'* ]] || fail "$bad: $stderr"
	done
	# 0.6 s: time for events 1-4 to pass within one interval, little to wait.
	export CASINO_PLAYER_UNKNOWN_EVERY=0.6
	start_fed
	event 1 19 >&5
	next_line
	wait_grep "$dir/err" '"event_id":1,"player_id":19,"count":1'  # the first miss at once
	event 2 19 >&5
	next_line
	event 3 18 >&5                                    # another player's own first
	next_line
	event 4 19 >&5
	next_line
	wait_grep "$dir/err" '"event_id":3,"player_id":18,"count":1'
	assert_equal "$(grep -c '"player_id":19' "$dir/err")" 1 # 2 and 4 are counted, not logged
	sleep 0.65 # a time condition: the interval is over
	event 5 10 >&5                                    # a known player's batch sends the count
	next_line
	wait_grep "$dir/err" '"player_id":19,"count":2,"first_event_id":2,"last_event_id":4'
	event 6 19 >&5
	next_line
	sleep 0.65
	event 7 19 >&5                                    # a miss after the interval: at once
	next_line
	wait_grep "$dir/err" '"player_id":19,"count":2,"first_event_id":6,"last_event_id":7'
	event 8 19 >&5
	next_line
	exec 5>&-
	wait "$player_pid"
	player_pid=
	run jq -c 'select(.msg == "player not found") | [.player_id, .count, .first_event_id // .event_id]' "$dir/err"
	assert_output "$(printf '%s\n' '[19,1,1]' '[18,1,3]' '[19,2,2]' '[19,2,6]' '[19,1,8]')"
}

@test "unknown players beyond the table are counted together: bounded memory, nothing hidden" {
	# 5000 distinct unknown players, more than the 4096 counted apart
	for i in $(seq 1 5000); do event "$i" $((1000 + i)); done >"$dir/in.ndjson"
	run --separate-stderr casino-player <"$dir/in.ndjson"
	assert_success
	unknown_counts
	assert_equal "$sum" 5000
	assert_equal "$(grep -c '^null ' "$dir/records")" 2 # the others: the first at once, the rest at exit
	grep -qx 'null 1 4097 4097' "$dir/records"
	grep -qx 'null 903 4098 5000' "$dir/records"
}

@test "the same player many times in one batch, in input order" {
	for i in $(seq 1 300); do event "$i" $((10 + i % 5)); done >"$dir/in.ndjson"
	for i in $(seq 1 300); do
		case $((i % 5)) in
		0) p=$P10 ;; 1) p=$P11 ;; 2) p=$P12 ;; 3) p=$P13 ;; 4) p=$P14 ;;
		esac
		enriched "$i" $((10 + i % 5)) "$p"
	done >"$dir/expected"
	casino-player <"$dir/in.ndjson" >"$dir/got"
	cmp "$dir/expected" "$dir/got"
}

@test "binary timestamps: the same instant as PostgreSQL's own text, fractions, offsets and far dates" {
	# Each row's time as PostgreSQL writes it in UTC, with the fraction's
	# trailing zeros cut as casino-player does, is the expected text.
	sql "INSERT INTO players VALUES
		(100, 'a@example.com', '0001-01-01 00:00:00+00'),
		(101, 'b@example.com', '0001-01-01 00:00:00.000001+00'),
		(102, 'c@example.com', '9999-12-31 23:59:59.999999+00'),
		(103, 'd@example.com', '1969-12-31 23:59:59.999999+00'),
		(104, 'e@example.com', '1999-12-31 23:59:59.999999+00'),
		(105, 'f@example.com', '2000-01-01 00:00:00+00'),
		(106, 'g@example.com', '2000-01-01 00:00:00.000001+00'),
		(107, 'h@example.com', '1900-02-28 12:00:00.1+00'),
		(108, 'i@example.com', '2024-02-29 23:59:59.5+00'),
		(109, 'j@example.com', '2024-03-01 05:29:59.25+05:30'),
		(110, 'k@example.com', '1600-02-29 00:00:00.010203-11:45'),
		(111, 'l@example.com', '2038-01-19 03:14:08+00'),
		(112, 'm@example.com', '0001-01-01 01:00:00+01')"
	run psql -X -tA -d "$SUITE_DB" -c "SELECT regexp_replace(to_char(last_signed_in_at AT TIME ZONE 'UTC',
		'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '\\.?0*$', '') || 'Z' FROM players WHERE id >= 100 ORDER BY id"
	assert_success
	[ "${#lines[@]}" -eq 13 ]
	expected=$output
	for i in $(seq 100 112); do event "$i" "$i"; done >"$dir/in.ndjson"
	casino-player <"$dir/in.ndjson" >"$dir/got"
	run jq -r .player.last_signed_in_at "$dir/got"
	assert_output "$expected"
	assert_line --index 0 0001-01-01T00:00:00Z
	assert_line --index 2 9999-12-31T23:59:59.999999Z
	assert_line --index 9 2024-02-29T23:59:59.25Z
}

@test "-c/--connections and CASINO_PLAYER_CONNECTIONS: queries on that many connections, same output" {
	events 1 3000
	for args in "-c 1" "--connections=3" "-c 8"; do
		# shellcheck disable=SC2086
		casino-player -b 5 $args <"$dir/in.ndjson" >"$dir/got"
		cmp "$dir/expected" "$dir/got"
	done
	CASINO_PLAYER_CONNECTIONS=2 casino-player -b 5 <"$dir/in.ndjson" >"$dir/got"
	cmp "$dir/expected" "$dir/got"
	# While a stream runs, the server has one session per connection; the option wins.
	CASINO_PLAYER_CONNECTIONS=1 start_fed -c 3
	for i in 1 2 3; do
		event "$i" 10 >&5
		next_line
	done
	wait_until 15 sessions_are 3 || fail "sessions: $(sessions)"
	exec 5>&-
	wait "$player_pid"
	player_pid=
	for args in "-c 0" "-c 9" "--connections x"; do
		# shellcheck disable=SC2086
		run --separate-stderr casino-player $args </dev/null
		assert_equal "$status" 64
		[[ $stderr == *'"msg":"bad option value"'* ]]
	done
}

@test "an extra connection refused (a role's connection limit): a warning, the stream goes on with one" {
	sql "DROP ROLE IF EXISTS casino_one; CREATE ROLE casino_one LOGIN CONNECTION LIMIT 1;
		GRANT SELECT ON players TO casino_one"
	events 1 2000
	casino-player -b 5 -c 2 -d "$SUITE_DB user=casino_one" <"$dir/in.ndjson" >"$dir/got" 2>"$dir/err"
	cmp "$dir/expected" "$dir/got"
	grep -q '"msg":"extra connection failed, going on with fewer".*too many connections' "$dir/err"
	run grep -c '"msg":"database unavailable, holding events"' "$dir/err"
	assert_output 0
}

# events FROM TO: events FROM..TO naming players 10..25 in turn (10-14 and
# 20 are known), as input ($dir/in.ndjson) and what must come out
# ($dir/expected), appended.
events() {
	for ((i = $1; i <= $2; i++)); do
		p=$((10 + i % 16))
		event "$i" "$p" >>"$dir/in.ndjson"
		case $p in
		10) enriched "$i" "$p" "$P10" ;; 11) enriched "$i" "$p" "$P11" ;;
		12) enriched "$i" "$p" "$P12" ;; 13) enriched "$i" "$p" "$P13" ;;
		14) enriched "$i" "$p" "$P14" ;; 20) enriched "$i" "$p" "$P20" ;;
		*) event "$i" "$p" ;;
		esac >>"$dir/expected"
	done
}

@test "pipelined: many small batches in flight at once, known and unknown players, in input order" {
	events 1 3000
	casino-player -b 3 <"$dir/in.ndjson" >"$dir/got" 2>"$dir/err"
	cmp "$dir/expected" "$dir/got"
	# Every unknown player's misses add up, whatever batch they were in.
	run jq -s '[.[] | select(.msg | startswith("player not found")) | .count] | add' "$dir/err"
	assert_output "$(grep -c -v '"player":' "$dir/expected")"
}

# recovered N: the player has logged at least N recoveries.
recovered() {
	[ "$(grep -c '"msg":"database back, sending held events"' "$dir/err")" -ge "$1" ]
}

@test "pipelined: the connection killed with queries in flight: held, reconnected, nothing lost, in order" {
	events 1 2000
	start_fed
	head -n 1000 "$dir/in.ndjson" >&5
	for ((n = 0; n < 1000; n++)); do next_line; echo "$line" >>"$dir/got"; done
	for round in 1 2 3; do
		psql -X -q -A -t -d "$SUITE_DB" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = 'casino-player'" >/dev/null
		sed -n "$((1001 + (round - 1) * 333)),$((1000 + round * 333))p" "$dir/in.ndjson" >&5
		wait_until 15 recovered "$round" || fail "no recovery $round: $(cat "$dir/err")"
	done
	sed -n '2000p' "$dir/in.ndjson" >&5
	exec 5>&-
	cat <&6 >>"$dir/got"
	wait "$player_pid"
	player_pid=
	cmp "$dir/expected" "$dir/got"
	# One hold per connection lost: the batches behind the failed one go
	# on the new connection, not through a hold of their own each.
	run grep -c '"msg":"database unavailable, holding events"' "$dir/err"
	assert_output 3
}

@test "freshness: an UPDATE shows on the very next event" {
	start_fed
	event 1 10 >&5
	next_line
	assert_equal "$line" "$(enriched 1 10 "$P10")"
	sql "UPDATE players SET email = 'johnny@example.com', last_signed_in_at = '2024-05-06 07:08:09.1+00' WHERE id = 10"
	event 2 10 >&5
	next_line
	assert_equal "$line" "$(enriched 2 10 '{"id":10,"email":"johnny@example.com","last_signed_in_at":"2024-05-06T07:08:09.1Z"}')"
	sql "DELETE FROM players WHERE id = 10"
	event 3 10 >&5
	next_line
	assert_equal "$line" "$(event 3 10)"
	sql "INSERT INTO players VALUES (19, 'new@example.com', NULL)"
	event 4 19 >&5
	next_line
	assert_equal "$line" "$(enriched 4 19 '{"id":19,"email":"new@example.com"}')"
	exec 5>&-
	wait "$player_pid"
	player_pid=
}

@test "server stopped and restarted mid-stream: events held, none lost, all enriched, in order" {
	start_fed
	for i in 1 2 3; do event "$i" 11 >&5; done
	for i in 1 2 3; do next_line; assert_equal "$line" "$(enriched "$i" 11 "$P11")"; done
	casino-db stop 2>/dev/null
	players=([4]=13 [5]=14 [6]=20 [7]=16)
	for i in 4 5 6 7; do event "$i" "${players[i]}" >&5; done
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	! read -r -t 1 line <&6 || fail "an event came out while the database was down: $line"
	casino-db start >/dev/null 2>&1
	for i in 4 5 6; do
		next_line
		case $i in 4) p=$P13 ;; 5) p=$P14 ;; 6) p=$P20 ;; esac
		assert_equal "$line" "$(enriched "$i" "${players[i]}" "$p")"
	done
	next_line
	assert_equal "$line" "$(event 7 16)"
	wait_grep "$dir/err" '"msg":"database back, sending held events"'
	event 8 12 >&5
	next_line
	assert_equal "$line" "$(enriched 8 12 "$P12")"
	exec 5>&-
	wait "$player_pid"
	player_pid=
}

@test "players table dropped mid-stream: events held until it is back" {
	start_fed
	event 1 10 >&5
	next_line
	sql "DROP TABLE players"
	event 2 10 >&5
	wait_grep "$dir/err" 'relation \\"players\\" does not exist'
	! read -r -t 1 line <&6 || fail "an event came out without the table: $line"
	sql "CREATE TABLE players (id bigserial PRIMARY KEY, email text NOT NULL, last_signed_in_at timestamptz);
	INSERT INTO players VALUES (10, 'back@example.com', NULL)"
	next_line
	assert_equal "$line" "$(enriched 2 10 '{"id":10,"email":"back@example.com"}')"
	exec 5>&-
	wait "$player_pid"
	player_pid=
}

@test "server down at startup: a clear wait, then events flow once it is up" {
	casino-db stop 2>/dev/null
	start_fed
	wait_grep "$dir/err" '"msg":"waiting for the database"'
	grep -q 'No such file or directory' "$dir/err"
	event 1 10 >&5
	! read -r -t 1 line <&6 || fail "output before the database was up: $line"
	casino-db start >/dev/null 2>&1
	next_line
	assert_equal "$line" "$(enriched 1 10 "$P10")"
	grep -q '"msg":"database connected"' "$dir/err"
	exec 5>&-
	wait "$player_pid"
	player_pid=
}

@test "connection refused at startup with --wait: gives up with 69" {
	port=$(free_port)
	SECONDS=0
	run --separate-stderr casino-player --wait 1 -d "host=127.0.0.1 port=$port dbname=casino user=casino" </dev/null
	assert_equal "$status" 69
	[ "$SECONDS" -le 4 ]
	[[ $stderr == *'"msg":"waiting for the database"'*'Connection refused'* ]]
	[[ $stderr == *'"level":"error"'*'"msg":"database unavailable, giving up"'* ]]
}

@test "CASINO_PLAYER_WAIT and -w; the option wins" {
	bad="host=$dir port=1 dbname=casino"
	CASINO_PLAYER_WAIT=1 run --separate-stderr casino-player -d "$bad" </dev/null
	assert_equal "$status" 69
	SECONDS=0
	CASINO_PLAYER_WAIT=100 run --separate-stderr casino-player -w 1 -d "$bad" </dev/null
	assert_equal "$status" 69
	[ "$SECONDS" -le 4 ]
}

@test "SIGTERM while events are held: error record, exit 69" {
	start_fed
	event 4 10 >&5
	next_line # connected: what follows is held, not waited for at startup
	casino-db stop 2>/dev/null
	event 5 10 >&5
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	kill -TERM "$player_pid"
	# It reads on to the end of its input: the writer goes too.
	exec 5>&-
	code=0
	wait "$player_pid" || code=$?
	player_pid=
	assert_equal "$code" 69
	grep -q '"level":"error".*"msg":"stopped holding events; not saved: no reject file","saved":0,"not_saved":1,"first_event_id":5' "$dir/err"
}

@test "the lifeline lost while events are held mid-stream: they and all after them saved to the reject file, exit 69" {
	mkfifo "$dir/lifeline"
	sleep 600 >"$dir/lifeline" &
	sup_pid=$!
	CASINO_LIFELINE=9 start_fed -r "$dir/rej" 9<"$dir/lifeline"
	event 4 10 >&5
	next_line # connected: what follows is held, not waited for at startup
	casino-db stop 2>/dev/null
	event 5 10 >&5
	event 6 11 >&5
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	stop_pids "$sup_pid"
	wait_grep "$dir/err" '"msg":"lifeline lost'
	event 7 12 >&5
	exec 5>&-
	code=0
	wait "$player_pid" || code=$?
	player_pid=
	assert_equal "$code" 69
	assert_equal "$(jq -r .id "$dir/rej" | tr '\n' ' ')" '5 6 7 '
}

@test "SIGTERM on a live stream: exit 0 after the events it has" {
	start_fed
	event 1 10 >&5
	next_line
	kill -TERM "$player_pid"
	code=0
	wait "$player_pid" || code=$?
	player_pid=
	assert_equal "$code" 0
}

@test "bad input: exit 65, rejects in --reject, good lines enriched and otherwise unchanged" {
	assert_rejects_bad_input casino-player
	good_line 1 >"$dir/one"
	run casino-player <"$dir/one"
	assert_output "$(enriched 1 10 "$P10")"
}

@test "CASINO_REJECT names the reject file; -r wins" {
	{ event 1 10; echo 'nope'; } >"$dir/mixed"
	CASINO_REJECT=$dir/env-rejects run --separate-stderr casino-player <"$dir/mixed"
	assert_equal "$status" 65
	assert_output "$(enriched 1 10 "$P10")"
	[ "$(cat "$dir/env-rejects")" = nope ]
	CASINO_REJECT=$dir/env2 run --separate-stderr casino-player -r "$dir/opt-rejects" <"$dir/mixed"
	assert_equal "$status" 65
	[ "$(cat "$dir/opt-rejects")" = nope ]
	[ ! -e "$dir/env2" ]
}

@test "-d/--db wins over CASINO_DB; CASINO_DB over PG* variables" {
	bad="host=$dir port=1 dbname=casino"
	CASINO_DB=$bad run --separate-stderr casino-player -w 1 -d "$SUITE_DB" < <(event 1 11)
	assert_output "$(enriched 1 11 "$P11")"
	CASINO_DB=$bad run --separate-stderr casino-player -w 1 --db="$SUITE_DB" < <(event 1 11)
	assert_output "$(enriched 1 11 "$P11")"
	CASINO_DB=$bad run --separate-stderr casino-player -w 1 < <(event 1 11)
	assert_equal "$status" 69
	PGHOST=$dir CASINO_DB=$SUITE_DB run --separate-stderr casino-player -w 1 < <(event 1 11)
	assert_output "$(enriched 1 11 "$P11")"
}

@test "without --db or CASINO_DB the PG* variables name the server" {
	unset CASINO_DB
	host=$(psql -X -tA -d "$SUITE_DB" -c 'SHOW unix_socket_directories')
	PGHOST=$host PGPORT=5432 PGDATABASE=casino PGUSER=casino run --separate-stderr casino-player -w 1 < <(event 1 12)
	assert_output "$(enriched 1 12 "$P12")"
	PGHOST=$dir PGPORT=5432 PGDATABASE=casino PGUSER=casino run --separate-stderr casino-player -w 1 < <(event 1 12)
	assert_equal "$status" 69
}

@test "-b/--batch and CASINO_PLAYER_BATCH: same output for any batch size" {
	for i in $(seq 1 50); do event "$i" $((10 + i % 11)); done >"$dir/in.ndjson"
	casino-player <"$dir/in.ndjson" >"$dir/default" 2>/dev/null
	for args in "-b 1" "--batch 7" "--batch=1000000"; do
		# shellcheck disable=SC2086
		casino-player $args <"$dir/in.ndjson" >"$dir/got" 2>/dev/null
		cmp "$dir/default" "$dir/got"
	done
	CASINO_PLAYER_BATCH=3 casino-player <"$dir/in.ndjson" >"$dir/got" 2>/dev/null
	cmp "$dir/default" "$dir/got"
	[ "$(grep -c '"player":' "$dir/default")" -eq "$(grep -E -c '"player_id":(1[0-4]|20),' "$dir/in.ndjson")" ]
}

@test "numeric options are strict and name the bad value (exit 64)" {
	for args in "-b 0" "-b 1000001" "-b 5x" "--batch=" "-w -1" "-w 1.5" "--wait abc"; do
		# shellcheck disable=SC2086
		run --separate-stderr casino-player $args </dev/null
		assert_equal "$status" 64
		[[ $stderr == *'"msg":"bad option value"'* ]]
	done
	CASINO_PLAYER_BATCH=zero run --separate-stderr casino-player </dev/null
	assert_equal "$status" 64
	[[ $stderr == *'"option":"CASINO_PLAYER_BATCH","value":"zero"'* ]]
	CASINO_PLAYER_WAIT=-3 run --separate-stderr casino-player </dev/null
	assert_equal "$status" 64
	[[ $stderr == *'"option":"CASINO_PLAYER_WAIT","value":"-3"'* ]]
}

@test "usage errors: unknown option, extra argument, bad connection string (exit 64)" {
	run --separate-stderr casino-player --frobnicate </dev/null
	assert_equal "$status" 64
	[[ $stderr == *'usage: casino-player [-d conninfo] [-b events] [-c connections] [-w seconds] [-r file]'* ]]
	run --separate-stderr casino-player extra </dev/null
	assert_equal "$status" 64
	run --separate-stderr casino-player -d "host=x password=s3cret nonsense" </dev/null
	assert_equal "$status" 64
	[[ $stderr == *'"msg":"bad connection string"'* ]]
	[[ $stderr != *s3cret* ]]
}

@test "a bad option value in the connection parameters is a usage error at once, not an outage (exit 64)" {
	# libpq checks sslmode's value only when it connects; with -w 5 an
	# outage would be waited for 5 s and end with 69.
	SECONDS=0
	run --separate-stderr casino-player -w 5 -d "dbname=x password=s3cret sslmode=bogus" </dev/null
	assert_equal "$status" 64
	[ "$SECONDS" -le 2 ]
	[[ $stderr == *'"msg":"bad connection parameters (--db, CASINO_DB or PG* variables)"'*'sslmode'* ]]
	[[ $stderr == *'usage: casino-player [-d conninfo] [-b events] [-c connections] [-w seconds] [-r file]'* ]]
	[[ $stderr != *s3cret* ]]
	[[ $stderr != *'waiting for the database'* ]]
	PGSSLMODE=bogus run --separate-stderr casino-player -w 5 </dev/null
	assert_equal "$status" 64
	# A server that is merely down is still waited for.
	run --separate-stderr casino-player -w 1 -d "host=$BATS_TEST_TMPDIR dbname=x" </dev/null
	assert_equal "$status" 69
}

@test "a bad integer in the connection parameters is a usage error at once (exit 64)" {
	# libpq reads connect_timeout and port only while it connects, and then
	# fails as if the server were down: -w 3 waited 3 s and exited 69.
	for bad in connect_timeout=abc port=abc; do
		run --separate-stderr casino-player -w 3 -d "$SUITE_DB $bad" </dev/null
		assert_equal "$status" 64
		[[ $stderr == *'"msg":"bad connection parameters (--db, CASINO_DB or PG* variables)"'*"${bad%=*}"* ]] || fail "$bad: $stderr"
		[[ $stderr != *'waiting for the database'* ]] || fail "$bad: $stderr"
	done
}

@test "a missing database or role exits 69 at once with the server's message, never waited for" {
	# The server answers and refuses: waiting would not change its answer.
	run --separate-stderr casino-player -w 3 -d "$SUITE_DB dbname=nosuchdb" </dev/null
	assert_equal "$status" 69
	[[ $stderr == *'"msg":"the database server refused the connection"'*'database \"nosuchdb\" does not exist'* ]] || fail "$stderr"
	[[ $stderr != *'waiting for the database'* ]] || fail "$stderr"
	run --separate-stderr casino-player -w 3 -d "$SUITE_DB user=nosuchrole" </dev/null
	assert_equal "$status" 69
	[[ $stderr == *'role \"nosuchrole\" does not exist'* ]] || fail "$stderr"
	[[ $stderr != *'waiting for the database'* ]] || fail "$stderr"
}

@test "--help and --version" {
	run --separate-stderr casino-player --help
	assert_success
	assert_line --index 0 'usage: casino-player [-d conninfo] [-b events] [-c connections] [-w seconds] [-r file]'
	for o in --db --batch --wait --reject --help --version CASINO_DB CASINO_PLAYER_BATCH CASINO_PLAYER_WAIT CASINO_REJECT; do
		[[ $output == *"$o"* ]] || fail "help lacks $o"
	done
	run casino-player -h
	assert_success
	run --separate-stderr casino-player -V
	assert_success
	assert_output --regexp '^casino-player [0-9]+\.[0-9]+\.[0-9]+$'
	run casino-player --version
	assert_output --regexp '^casino-player [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an empty input ends at once with 0 and no output" {
	run --separate-stderr casino-player </dev/null
	assert_success
	assert_output ''
}

@test "a reject file that cannot be written makes the exit status 74, not 65" {
	run --separate-stderr casino-player -r /dev/full < <(echo 'not json'; event 2 10)
	assert_failure 74
	assert_output "$(enriched 2 10 "$P10")"
	[[ "$stderr" == *'"msg":"cannot write reject file"'* ]] || fail "$stderr"
}
