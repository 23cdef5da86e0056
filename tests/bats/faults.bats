#!/usr/bin/env bats
# Fault injection across the stages: SIGTERM/SIGINT mid-stream, downstream
# closing early, the snapshot folder read-only or full, a rate API that hangs,
# the database killed mid-stream, and a 10-million-line replay in flat memory.
# Every expected output is worked out here: by jq from known rows, from the
# input itself, or by the same stage over the same prefix without the fault.

load helpers

T0=2024-01-01T00:00:00Z
RATES_URL=file://$CASINO_ROOT/share/rates.json

# One private cluster for the suite, players 10-19 with known rows.
setup_file() {
	export CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
	FAULTS_DB=$(casino-db start 2>/dev/null)
	export FAULTS_DB
	casino-db migrate 2>/dev/null
	local values="" i
	for i in 10 11 12 13 14 15 16 17 18 19; do
		values="$values${values:+,}($i, 'p$i@example.com', '2024-01-02 03:04:$i+00')"
	done
	psql -X -q -v ON_ERROR_STOP=1 -d "$FAULTS_DB" -c "TRUNCATE players; INSERT INTO players VALUES $values;" >/dev/null
}

teardown_file() {
	casino-db stop >/dev/null 2>&1 || true
}

setup() {
	dir=$BATS_TEST_TMPDIR
	export CASINO_DB=$FAULTS_DB CASINO_RUNDIR=$dir/rundir
	pids=()
	mounted=()
}

teardown() {
	local m
	exec 5>&- || true
	stop_pids "${pids[@]}"
	for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done
	# A test that killed the server leaves it running for the next one.
	casino-db start >/dev/null 2>&1 || true
}

# What casino-player must write for each event on stdin: the known row of
# setup_file appended as "player" (casino-gen's compact lines are what jq -c
# writes, so the rest of each line stays byte for byte).
enrich_players() {
	jq -c '. + {player: {id: .player_id, email: "p\(.player_id)@example.com",
		last_signed_in_at: "2024-01-02T03:04:\(.player_id)Z"}}'
}

# Wait up to $3 seconds (default 30) until file $1 has at least $2 lines.
wait_lines() {
	wait_until "${3:-30}" has_lines "$1" "$2" ||
		fail "fewer than $2 lines in $1 after ${3:-30} s; stderr: $(cat "$dir/err" 2>/dev/null)"
}
has_lines() {
	[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]
}
# 0 when file $2 has at least $1 lines matching the regular expression $3.
matches_at_least() {
	[ "$(grep -c "$3" "$2")" -ge "$1" ]
}

# interrupt SIGNAL STAGE [ARGS]: casino-gen feeds the stage through a fifo as
# fast as it can (seed 3, synthetic clock); once 1000 lines are out, SIGNAL
# goes to the stage while it is busy. Leaves the output in $dir/out, its
# stderr in $dir/err, the exit status in $waited and the line count in $n.
interrupt() {
	local sig=$1 stage_pid feed_pid
	shift
	rm -f "$dir/in" "$dir/out" "$dir/err"
	mkfifo "$dir/in"
	"$@" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	stage_pid=$!
	pids+=("$stage_pid")
	casino-gen -n 20000000 -s 3 -T "$T0" >"$dir/in" 2>"$dir/feed.err" &
	feed_pid=$!
	pids+=("$feed_pid")
	wait_lines "$dir/out" 1000
	kill -s "$sig" "$stage_pid"
	wait_pid "$stage_pid"
	# The feeder meets a closed pipe and ends quietly.
	wait "$feed_pid" || fail "feeder failed: $(cat "$dir/feed.err")"
	n=$(wc -l <"$dir/out")
}

# After interrupt: exit 0, whole lines only (each one JSON value, the last
# one ends in a newline), no error record, and the output is exactly what the
# command "$@" makes of the first $n generated events: nothing lost, nothing
# cut, nothing invented.
assert_whole_prefix() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	[ "$waited" -eq 0 ] || fail "exit $waited after the signal; stderr: $(cat "$dir/err")"
	[ "$n" -ge 1000 ] || fail "only $n lines"
	[ "$(tail -c 1 "$dir/out" | od -An -c | tr -d ' ')" = '\n' ] || fail "the output ends in a partial line"
	[ "$(jq -c . <"$dir/out" | wc -l)" -eq "$n" ] || fail "a line is not one JSON value"
	! grep -q '"level":"error"' "$dir/err" || fail "error records: $(cat "$dir/err")"
	casino-gen -n "$n" -s 3 -T "$T0" | "$@" >"$dir/expected"
	cmp "$dir/expected" "$dir/out" || fail "the $n lines differ from the stage's output for the first $n events"
}

@test "SIGTERM and SIGINT to casino-gen: whole events, exactly the seed's first ones, exit 0" {
	for sig in TERM INT; do
		rm -f "$dir/out"
		casino-gen -n 50000000 -s 3 -T "$T0" >"$dir/out" 2>"$dir/err" &
		pids+=($!)
		wait_lines "$dir/out" 1000
		kill -s "$sig" $!
		wait_pid $!
		n=$(wc -l <"$dir/out")
		assert_whole_prefix cat
	done
	# At the live rate the signal lands in the sleep between events. (The
	# old output goes first: wait_lines must not count it before the
	# background shell truncates the file.)
	rm -f "$dir/out"
	casino-gen >"$dir/out" 2>"$dir/err" &
	pids+=($!)
	wait_lines "$dir/out" 3
	kill -TERM $!
	wait_pid $!
	[ "$waited" -eq 0 ]
	[ -s "$dir/out" ]
	[ -z "$(tail -c 1 "$dir/out" | tr -d '\n')" ]
	# ids 1..n with no gap, every line an event
	[ "$(jq -r .id "$dir/out" | tr '\n' ' ')" = "$(seq -s ' ' 1 "$(wc -l <"$dir/out")") " ]
}

@test "SIGTERM and SIGINT to casino-fx mid-stream: finished events only, none lost" {
	for sig in TERM INT; do
		interrupt "$sig" casino-fx -u "$RATES_URL"
		assert_whole_prefix casino-fx -u "$RATES_URL"
	done
}

@test "SIGTERM and SIGINT to casino-player mid-stream: finished events only, none lost" {
	for sig in TERM INT; do
		interrupt "$sig" casino-player
		assert_whole_prefix enrich_players
	done
}

@test "SIGTERM and SIGINT to casino-describe mid-stream: finished events only, none lost" {
	for sig in TERM INT; do
		interrupt "$sig" casino-describe
		assert_whole_prefix casino-describe
	done
}

@test "SIGTERM and SIGINT to casino-tee-agg mid-stream: the log is the input's prefix, the snapshot counts it" {
	for sig in TERM INT; do
		interrupt "$sig" casino-tee-agg -o "$dir/snap.json"
		assert_whole_prefix cat
		[ "$(jq .events_total "$dir/snap.json")" -eq "$n" ]
	done
}

# close_early STAGE [ARGS]: 300000 events into the stage, whose reader takes
# one line and leaves. The stage must end with 0 and no warning or error.
close_early() {
	"$@" <"$BATS_FILE_TMPDIR/events" 2>"$dir/err" | head -n 1 >"$dir/first"
	local status=${PIPESTATUS[0]}
	[ "$status" -eq 0 ] || fail "$1: exit $status after the reader left; stderr: $(cat "$dir/err")"
	# Info records (casino-fx: "rates fetched") are fine; no complaint is.
	! grep -q '"level":"\(warn\|error\)"' "$dir/err" || fail "$1: complaints after the reader left: $(cat "$dir/err")"
	[ "$(wc -l <"$dir/first")" -eq 1 ]
	jq -e .id "$dir/first" >/dev/null
}

@test "downstream closing early: every stage exits 0 quietly" {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	casino-gen -n 300000 -s 4 -T "$T0" >"$BATS_FILE_TMPDIR/events"
	# casino-gen says only how many events it wrote
	casino-gen -s 4 -T "$T0" 2>"$dir/err" | head -n 1 >"$dir/first"
	[ "${PIPESTATUS[0]}" -eq 0 ]
	assert_equal "$(jq -r .msg "$dir/err")" "end of run"
	casino-gen -r 1000 2>"$dir/err" | head -n 1 >"$dir/first"
	[ "${PIPESTATUS[0]}" -eq 0 ]
	assert_equal "$(jq -r .msg "$dir/err")" "end of run"
	close_early casino-fx -u "$RATES_URL"
	close_early casino-player
	close_early casino-describe
	close_early casino-tee-agg -o "$dir/snap.json"
	close_early casino-tee-agg
}

# A game_start of player 10 with id $1 at 2024-01-01T00:00:$2Z.
start_event() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"game_start","created_at":"2024-01-01T00:00:%02dZ"}\n' "$1" "$2"
}

# Mount on $1, or skip the test where this machine does not let us.
mount_or_skip() {
	mount "$@" 2>/dev/null || skip "mount is not permitted here"
	mounted=("${@: -1}" "${mounted[@]}")
}

# start_agg SNAPSHOT: casino-tee-agg every 50 ms to SNAPSHOT, fed on fd 5,
# and casino-serve on a free port serving SNAPSHOT.
start_agg() {
	mkfifo "$dir/in"
	casino-tee-agg -i 50 -o "$1" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	agg_pid=$!
	pids+=("$agg_pid")
	exec 5>"$dir/in"
	# Not holding fd 5: the server must not keep the fifo open.
	serve_snapshot "$1" 5>&-
	pids+=("$serve_pid")
}

served_total() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -s "http://127.0.0.1:$port/materialized" | jq .events_total
}

# snapshot_outage BREAK FIX SNAPSHOT ERROR [LAST_GOOD]: the snapshot folder
# stops taking writes (after BREAK ran) for events 3-5: the log goes on, one
# clear error record with strerror ERROR, the last good snapshot stays served
# (or stays at LAST_GOOD), and after FIX runs the next snapshot is written.
snapshot_outage() {
	local snap=$3 i
	start_agg "$snap"
	for i in 1 2; do start_event "$i" "$i" >&5; done
	wait_grep "$snap" '"events_total": 2'
	eval "$1"
	for i in 3 4 5; do start_event "$i" "$i" >&5; done
	wait_lines "$dir/out" 5 5                       # the log goes on
	wait_grep "$dir/err" '"msg":"cannot write the snapshot"'
	if [ -n "${5:-}" ]; then
		assert_equal "$(jq .events_total "$5")" 2   # the last good one
	else
		assert_equal "$(served_total)" 2            # the last good one, served
		assert_equal "$(jq .events_total "$snap")" 2
	fi
	eval "$2"
	wait_grep "$snap" '"events_total": 5'
	assert_equal "$(served_total)" 5
	start_event 6 6 >&5
	exec 5>&-
	wait_pid "$agg_pid"
	[ "$waited" -eq 0 ]
	assert_equal "$(cat "$dir/out")" "$(for i in 1 2 3 4 5 6; do start_event "$i" "$i"; done)"
	assert_equal "$(grep -c '"level":"error"' "$dir/err")" 1
	grep -q '"level":"error","tool":"casino-tee-agg","msg":"cannot write the snapshot","path":"'"$snap"'","error":"'"$4"'"' "$dir/err" ||
		fail "no clear error record: $(cat "$dir/err")"
	grep -q '"msg":"snapshot written again"' "$dir/err"
}

@test "snapshot folder read-only (a read-only bind mount, which binds root too)" {
	mkdir "$dir/snaps"
	mount_or_skip --bind "$dir/snaps" "$dir/snaps"
	snapshot_outage 'mount -o remount,ro,bind "$dir/snaps"' \
		'mount -o remount,rw,bind "$dir/snaps"' "$dir/snaps/snap.json" "Read-only file system"
}

@test "snapshot file system full (a 64 KiB tmpfs filled up)" {
	mkdir "$dir/snaps"
	mount_or_skip -t tmpfs -o size=64k tmpfs "$dir/snaps"
	snapshot_outage 'dd if=/dev/zero of="$dir/snaps/fill" bs=4k 2>/dev/null || true' \
		'rm "$dir/snaps/fill"' "$dir/snaps/snap.json" "No space left on device"
}

@test "snapshot folder replaced by a regular file (no mount needed)" {
	mkdir "$dir/snaps"
	# The served path goes with the folder here, so the last good snapshot
	# is checked where the folder went instead of over HTTP.
	snapshot_outage 'mv "$dir/snaps" "$dir/kept"; : >"$dir/snaps"' \
		'rm "$dir/snaps"; mv "$dir/kept" "$dir/snaps"' "$dir/snaps/snap.json" "Not a directory" \
		"$dir/kept/snap.json"
}

# fx_event ID TYPE AMOUNT CURRENCY [EUR]: an event, with amount_eur if given.
fx_event() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"%s","amount":%s,"currency":"%s","created_at":"2024-06-28T12:00:00Z"%s}\n' \
		"$1" "$2" "$3" "$4" "${5:+,\"amount_eur\":$5}"
}

@test "casino-fx: a rate API hanging past its timeout: warnings, events held, then all released in order" {
	local api=$dir/api fx_pid
	mkdir "$api"
	: >"$api/requests"
	body='{"base":"EUR","date":"2024-06-28","rates":{"USD":1.0705,"GBP":0.84638}}'
	# The first request is answered at once, every later one after 3 s.
	echo 200 >"$api/answer.1.status"
	printf '%s' "$body" >"$api/answer.1.body"
	echo '200 3' >"$api/answer.status"
	printf '%s' "$body" >"$api/answer.body"
	serve_fake fx_api.bash "$api"
	port=$fake_port
	pids+=("$fake_pid")
	mkfifo "$dir/in"
	CASINO_FX_TIMEOUT_MS=300 casino-fx -a 1 -u "http://127.0.0.1:$port/live" \
		<"$dir/in" >"$dir/out" 2>"$dir/err" &
	fx_pid=$!
	pids+=("$fx_pid")
	exec 5>"$dir/in"
	fx_event 1 bet 1000 USD >&5
	wait_lines "$dir/out" 1
	# A time condition, not a hope: the rates are 1 s old after 1 s.
	sleep 1.1
	{
		fx_event 2 bet 1000 USD
		start_event 3 0
		fx_event 4 deposit 250 GBP
		fx_event 5 bet 777 EUR
	} >&5
	wait_until 15 matches_at_least 2 "$dir/err" '"level":"warn".*timed out' ||
		fail "no two timeout warnings: $(cat "$dir/err")"
	assert_equal "$(wc -l <"$dir/out")" 1      # held: no event without a fresh rate
	echo 200 >"$api/answer.status"             # the API answers again
	wait_lines "$dir/out" 5 15
	exec 5>&-
	wait_pid "$fx_pid"
	[ "$waited" -eq 0 ]
	# 10.00 USD / 1.0705 = 9.3414 EUR; 2.50 GBP / 0.84638 = 2.9537 EUR; EUR as is.
	assert_equal "$(cat "$dir/out")" "$(fx_event 1 bet 1000 USD 934
		fx_event 2 bet 1000 USD 934
		start_event 3 0
		fx_event 4 deposit 250 GBP 295
		fx_event 5 bet 777 EUR 777)"
	run ! grep -q '"level":"error"' "$dir/err"
}

# Kill the suite's server at once (pg_ctl -m immediate, as its owner);
# teardown starts it again.
kill_db() {
	local pgdata=$CASINO_STATE_DIR/pg/data as_owner=()
	[ "$(id -u)" -ne 0 ] || as_owner=(runuser -u "$(stat -c %U "$pgdata")" --)
	(cd / && "${as_owner[@]}" "/usr/lib/postgresql/$(cat "$pgdata/PG_VERSION")/bin/pg_ctl" \
		-D "$pgdata" -m immediate stop >/dev/null)
}

@test "casino-player: the database killed with pg_ctl -m immediate mid-stream: every event enriched, in order" {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	local player_pid feed_pid held
	mkfifo "$dir/in"
	casino-player <"$dir/in" >"$dir/out" 2>"$dir/err" &
	player_pid=$!
	pids+=("$player_pid")
	casino-gen -n 1000 -r 250 -s 5 -T "$T0" >"$dir/in" &
	feed_pid=$!
	pids+=("$feed_pid")
	wait_lines "$dir/out" 50
	kill_db
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	held=$(wc -l <"$dir/out")
	sleep 0.5
	assert_equal "$(wc -l <"$dir/out")" "$held" # nothing comes out while it is down
	[ "$held" -lt 1000 ] || fail "the stream was over before the database went"
	casino-db start >/dev/null 2>&1
	wait_pid "$feed_pid"
	[ "$waited" -eq 0 ]
	wait_pid "$player_pid"
	[ "$waited" -eq 0 ] || fail "casino-player exit $waited: $(cat "$dir/err")"
	casino-gen -n 1000 -s 5 -T "$T0" | enrich_players >"$dir/expected"
	cmp "$dir/expected" "$dir/out"
	grep -q '"msg":"database back, sending held events"' "$dir/err"
}

# assert_saved_at_stop SAVED FIRST LAST FIRST_LINE LAST_LINE: after a stop
# while holding, exit 69 and one error record counting the events saved.
assert_saved_at_stop() {
	[ "$waited" -eq 69 ] || fail "exit $waited, expected 69: $(cat "$dir/err")"
	assert_equal "$(jq -c 'select(.msg == "stopped holding events; saved to the reject file") |
		[.saved, .not_saved, .first_event_id, .last_event_id, .first_line, .last_line]' "$dir/err")" "[$1,0,$2,$3,$4,$5]"
}

@test "casino-fx stopped while holding: the held event and every line behind it saved in order, exit 69" {
	local fx_pid
	{
		start_event 1 1
		fx_event 2 bet 500 EUR
		start_event 3 3
		fx_event 4 bet 1000 USD    # needs a rate: held
		start_event 5 5            # needs none, yet must not overtake 4
		printf '%s\n' 'not json'   # a bad line behind the held one
		fx_event 7 deposit 100 EUR
		fx_event 8 bet 20 GBP
	} >"$dir/events"
	casino-fx -u "file://$dir/missing.json" -r "$dir/rej" <"$dir/events" >"$dir/out" 2>"$dir/err" &
	fx_pid=$!
	pids+=("$fx_pid")
	wait_grep "$dir/err" '"msg":"cannot fetch rates"'
	kill -INT "$fx_pid"
	wait_pid "$fx_pid"
	assert_saved_at_stop 4 4 8 4 8
	assert_equal "$(cat "$dir/out")" "$(head -n 3 "$dir/events" | casino-fx -u "$RATES_URL")"
	cmp <(tail -n +4 "$dir/events") "$dir/rej" || fail "the reject file is not lines 4-8: $(cat "$dir/rej")"
	grep -q '"level":"error".*"line":6}' "$dir/err"
	# Replaying the saved lines with rates completes exactly what was not done
	# (both reject line 6, not json: 65).
	local replayed=0
	casino-fx -u "$RATES_URL" <"$dir/events" >"$dir/expected" 2>/dev/null || replayed=$?
	assert_equal "$replayed" 65
	replayed=0
	casino-fx -u "$RATES_URL" <"$dir/rej" >>"$dir/out" 2>/dev/null || replayed=$?
	assert_equal "$replayed" 65
	cmp "$dir/expected" "$dir/out"
}

@test "casino-player -b 2 stopped with the database down: the 9 lines held and the 5 written after the stop saved, exit 69" {
	local player_pid
	mkfifo "$dir/in"
	casino-player -b 2 -r "$dir/rej" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	player_pid=$!
	pids+=("$player_pid")
	exec 5>"$dir/in"
	casino-gen -n 15 -s 6 -T "$T0" >"$dir/events" 2>/dev/null
	head -n 1 "$dir/events" >&5
	wait_lines "$dir/out" 1                        # connected and working
	kill_db
	tail -n +2 "$dir/events" >"$dir/rest"
	head -n 9 "$dir/rest" >&5                      # 9 lines in one write
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	kill -INT "$player_pid"
	# It reads on to the end of its input: the writer stops too, later.
	tail -n +10 "$dir/rest" >&5
	exec 5>&-
	wait_pid "$player_pid"
	assert_saved_at_stop 14 2 15 2 15
	assert_equal "$(cat "$dir/out")" "$(head -n 1 "$dir/events" | enrich_players)"
	cmp "$dir/rest" "$dir/rej"
	# its health file is gone with it
	no_health_files
}

# No stage health file is left in the runtime folder.
no_health_files() {
	[ ! -e "$CASINO_RUNDIR/stages" ] || [ -z "$(ls "$CASINO_RUNDIR/stages")" ] ||
		fail "left behind: $(ls "$CASINO_RUNDIR/stages")"
}

@test "casino-fx stopped holding 500 events with the reject file on /dev/full: one error record, exit 74, the final record says none was saved" {
	local fx_pid out
	casino-gen -n 500 -s 9 -T "$T0" >"$dir/events" 2>/dev/null
	casino-fx -u "file://$dir/missing.json" -r /dev/full <"$dir/events" >"$dir/out" 2>"$dir/err" &
	fx_pid=$!
	pids+=("$fx_pid")
	wait_grep "$dir/err" '"msg":"cannot fetch rates"'
	kill -TERM "$fx_pid"
	wait_pid "$fx_pid"
	[ "$waited" -eq 74 ] || fail "exit $waited, expected 74: $(cat "$dir/err")"
	run grep -c '"msg":"cannot write reject file"' "$dir/err"
	assert_output 1
	out=$(wc -l <"$dir/out")
	# the events before the first one needing a rate went out; the rest are named as not saved
	run jq -c 'select(.msg | startswith("stopped holding events")) | [.msg, .saved, .not_saved, .first_event_id, .last_event_id]' "$dir/err"
	assert_output "[\"stopped holding events; not saved: the reject file cannot be written\",0,$((500 - out)),$((out + 1)),500]"
	run ! grep -q 'saved to the reject file' "$dir/err"
}

@test "casino-player giving up on the database (-w) exits 69, saves its input and leaves no health file" {
	casino-gen -n 20 -s 2 -T "$T0" >"$dir/events" 2>/dev/null
	run --separate-stderr casino-player -w 1 -d "host=$dir/nowhere dbname=casino" -r "$dir/rej" <"$dir/events"
	assert_failure 69
	assert_output ''
	cmp "$dir/events" "$dir/rej"
	no_health_files
}

# Every health file now in $CASINO_RUNDIR/stages, each as one line:
# "stage in out rejected pending" (one jq for all: more samples a second).
sample_health() {
	local files=("$CASINO_RUNDIR"/stages/*.json)
	[ -e "${files[0]}" ] || return 0
	jq -r '"\(.stage) \(.in) \(.out) \(.rejected) \(.pending)"' "${files[@]}" 2>/dev/null || true
}

# One sample of every file: in = out + rejected + pending in each, counted
# in samples; busy=1 once one has something pending.
check_health_sample() {
	local stage in out rej pend
	while read -r stage in out rej pend; do
		[ "$pend" != null ] || fail "$stage: no pending count"
		[ "$in" -eq $((out + rej + pend)) ] || fail "$stage: in $in != out $out + rejected $rej + pending $pend"
		samples=$((samples + 1))
		[ "$pend" -eq 0 ] || busy=1
	done < <(sample_health)
}

@test "stage health files: sampled all through a database outage and the catch-up after it, in = out + rejected + pending every time" {
	set -o pipefail
	local rounds=0
	samples=0 busy=0
	# Each stage on its own, so that teardown stops every one.
	mkfifo "$dir/in" "$dir/p1" "$dir/p2"
	casino-fx -u "$RATES_URL" <"$dir/in" >"$dir/p1" 2>"$dir/fx.err" &
	pids+=($!)
	casino-player -b 64 <"$dir/p1" >"$dir/p2" 2>"$dir/err" &
	pids+=($!)
	casino-describe <"$dir/p2" >"$dir/out" 2>"$dir/describe.err" &
	pids+=($!)
	casino-gen -n 20 -s 5 -T "$T0" >"$dir/first" 2>/dev/null
	exec 5>"$dir/in"
	cat "$dir/first" >&5
	wait_lines "$dir/out" 20
	kill_db
	# The rest backs up behind casino-player, so it is written from the side.
	casino-gen -n 3000 -s 5 -T "$T0" 2>/dev/null | tail -n +21 >&5 &
	pids+=($!)
	exec 5>&-
	wait_grep "$dir/err" '"msg":"database unavailable, holding events"'
	# The outage: samples until the held events show and 30 samples are
	# in (the catch-up may be over in a few of them on a fast machine).
	while [ "$rounds" -lt 10 ] || [ "$busy" -eq 0 ] || [ "$samples" -lt 30 ]; do
		rounds=$((rounds + 1))
		[ "$rounds" -lt 2000 ] || fail "nothing pending during the outage ($samples samples)"
		check_health_sample
	done
	casino-db start >/dev/null 2>&1
	# The catch-up: again and again until the pipeline ends.
	while ! has_lines "$dir/out" 3000 || [ -n "$(sample_health)" ]; do
		rounds=$((rounds + 1))
		[ "$rounds" -lt 20000 ] || fail "the pipeline did not end: $(cat "$dir/err")"
		check_health_sample
	done
	[ "$samples" -ge 30 ] || fail "only $samples samples"
	assert_equal "$(wc -l <"$dir/out")" 3000
}

@test "10 million lines through casino-describe and casino-tee-agg: peak RSS flat" {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	[ -z "${CASINO_INSTRUMENTED:-}" ] || skip "too slow under sanitizers and valgrind"
	local count
	for count in 100000 10000000; do
		casino-gen -n "$count" -s 1 -T "$T0" |
			/usr/bin/time -f %M -o "$dir/describe.$count" casino-describe |
			/usr/bin/time -f %M -o "$dir/agg.$count" casino-tee-agg -i 1000 -o "$dir/snap.$count" |
			wc -l >"$dir/lines.$count"
		assert_equal "$(cat "$dir/lines.$count")" "$count"
		assert_equal "$(jq .events_total "$dir/snap.$count")" "$count"
	done
	# Peak RSS in KiB. How full the 64 KiB read and write buffers get depends
	# on the pipe's timing (a few hundred KiB between runs of the same
	# length), so 100 times the input may cost at most 1 MiB more: growth of
	# even one byte per event would be 10 MB here.
	for stage in describe agg; do
		small=$(tail -n 1 "$dir/$stage.100000")
		big=$(tail -n 1 "$dir/$stage.10000000")
		[ "$big" -le $((small + 1024)) ] || fail "casino-$stage: $small KiB for 100k lines, $big KiB for 10M"
	done
}
