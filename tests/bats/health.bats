#!/usr/bin/env bats
# Stage health (doc/design.md, "Stage health"): every filter publishes its
# counters in $CASINO_RUNDIR/stages/TOOL.PID.json while it runs, and the
# counters add up: in = out + rejected + held.
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
load helpers

setup() {
	dir=$BATS_TEST_TMPDIR
	export CASINO_RUNDIR=$dir/run
	mkfifo "$dir/in"
}

teardown() {
	exec 5>&- 6>&- || true
	stop_pids "${second_pid:-}" "${stage_pid:-}" "${serve_pid:-}" "${run_pid:-}" "${api_pid:-}"
	[ -z "${db_started:-}" ] || casino-db stop >/dev/null 2>&1 || true
}

# The stage file of pid $1 ($2: the tool).
stage_file() {
	echo "$CASINO_RUNDIR/stages/$2.$1.json"
}

# field PID TOOL KEY: one number from the stage's file.
field() {
	jq -e ".$3" "$(stage_file "$1" "$2")"
}

# The counters of pid $1 ($2) equal "in out rejected held" ($3).
counters_are() {
	[ "$(jq -r '"\(.in) \(.out) \(.rejected) \(.held)"' "$(stage_file "$1" "$2")")" = "$3" ]
}

bet() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"bet","amount":500,"currency":"%s","created_at":"2022-01-10T12:34:56Z"}\n' "$1" "$2"
}

@test "a filter publishes in, out and rejected while it runs, and removes its file at exit" {
	casino-describe <"$dir/in" >"$dir/out" 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	wait_until 5 test -f "$(stage_file "$stage_pid" casino-describe)"
	run jq -c '{stage,pid}' "$(stage_file "$stage_pid" casino-describe)"
	assert_output "{\"stage\":\"casino-describe\",\"pid\":$stage_pid}"
	good_line 1 >&5
	good_line 2 >&5
	echo 'not json' >&5
	good_line 3 >&5
	wait_until 5 counters_are "$stage_pid" casino-describe "4 3 1 0"
	exec 5>&-
	code=0
	wait "$stage_pid" || code=$?
	assert_equal "$code" 65
	stage_pid=
	# the last stage out removes the empty folder too
	run ls -A "$CASINO_RUNDIR"
	assert_output ""
}

@test "the file is not rewritten while nothing changes" {
	casino-describe <"$dir/in" >/dev/null 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	file=$(stage_file "$stage_pid" casino-describe)
	for i in $(seq 1 20); do good_line "$i" >&5; sleep 0.02; done
	wait_until 5 counters_are "$stage_pid" casino-describe "20 20 0 0"
	before=$(stat -c '%i %Y' "$file")
	sleep 0.6
	assert_equal "$(stat -c '%i %Y' "$file")" "$before"
	good_line 21 >&5
	wait_until 5 counters_are "$stage_pid" casino-describe "21 21 0 0"
}

@test "casino-fx: held event and its age while the rates cannot be read, failures counted, back to 0 after" {
	casino-fx -u "file://$dir/rates.json" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	bet 1 EUR >&5
	bet 2 USD >&5
	bet 3 EUR >&5
	wait_until 5 counters_are "$stage_pid" casino-fx "2 1 0 1"
	run field "$stage_pid" casino-fx held_since_ms
	[ "$output" -gt $(( ($(date +%s) - 60) * 1000 )) ]
	wait_until 5 test "$(field "$stage_pid" casino-fx fetches_error)" -ge 2
	run field "$stage_pid" casino-fx fetches_ok
	assert_output 0
	cp "$CASINO_ROOT/share/rates.json" "$dir/rates.json"
	wait_until 15 counters_are "$stage_pid" casino-fx "3 3 0 0"
	run field "$stage_pid" casino-fx held_since_ms
	assert_output 0
	run field "$stage_pid" casino-fx fetches_ok
	assert_output 1
	run field "$stage_pid" casino-fx rates_fetched_ms
	[ "$output" -gt $(( ($(date +%s) - 60) * 1000 )) ]
}

@test "casino-player: held events while the database is down, reconnect and unknown players counted" {
	export CASINO_STATE_DIR=$dir/state
	db=$(casino-db start 2>/dev/null)
	db_started=1
	casino-db migrate 2>/dev/null
	psql -X -q -d "$db" -c "TRUNCATE players; INSERT INTO players VALUES (10, 'a@example.com', NULL)"
	casino-player -d "$db" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	good_line 1 >&5
	good_line 2 '"player_id":99,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56Z"' >&5
	wait_until 10 counters_are "$stage_pid" casino-player "2 2 0 0"
	run field "$stage_pid" casino-player unknown
	assert_output 1
	casino-db stop >/dev/null 2>&1
	good_line 3 >&5
	wait_until 10 counters_are "$stage_pid" casino-player "3 2 0 1"
	run field "$stage_pid" casino-player held_since_ms
	[ "$output" -gt 0 ]
	casino-db start >/dev/null 2>&1
	wait_until 20 counters_are "$stage_pid" casino-player "3 3 0 0"
	run field "$stage_pid" casino-player reconnects
	assert_output 1
	run field "$stage_pid" casino-player queries_ok
	[ "$output" -ge 2 ]
}

@test "a runtime folder that cannot be written only turns publishing off" {
	printf 'x' >"$dir/file"
	good_line 1 | CASINO_RUNDIR=$dir/file casino-describe >"$dir/out" 2>"$dir/err"
	grep -q '"description":' "$dir/out"
	grep -q 'cannot create the stage health folder' "$dir/err"
}

# serve_start: casino-serve on a free port over a fresh snapshot in the run dir.
serve_start() {
	mkdir -p "$CASINO_RUNDIR"
	snap=$CASINO_RUNDIR/materialized.json
	printf '{"events_total":1}\n' >"$snap"
	serve_snapshot "$snap"
}

# metric_is NAME_AND_LABELS VALUE: /metrics has that sample.
metric_is() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -sf "http://127.0.0.1:$port/metrics" | grep -qxF "$1 $2"
}

# healthz_is CODE: /healthz answers CODE.
healthz_is() {
	[ "$(curl -s -o "$dir/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = "$1" ]
}

@test "/metrics serves the live stages' counters, valid for promtool; /healthz names a stage holding events for 5 s" {
	serve_start
	casino-fx -u "file://$dir/rates.json" <"$dir/in" >"$dir/out" 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	bet 1 EUR >&5
	bet 2 USD >&5
	wait_until 5 metric_is 'casino_stage_held_events{stage="casino-fx"}' 1
	metric_is 'casino_stage_lines_total{stage="casino-fx",outcome="in"}' 2
	metric_is 'casino_stage_lines_total{stage="casino-fx",outcome="out"}' 1
	run curl -sf "http://127.0.0.1:$port/metrics"
	assert_success
	# promtool accepts an empty input: it checks what curl fetched.
	[ -n "$output" ]
	promtool check metrics <<<"$output"
	assert_line --regexp '^casino_fx_fetches_total\{stage="casino-fx",result="error"\} [1-9][0-9]*$'
	assert_line --regexp '^casino_stage_oldest_held_seconds\{stage="casino-fx"\} [0-9.]+$'
	# the snapshot is fresh, but casino-fx has held an event for 5 s
	touch "$snap"
	healthz_is 200
	wait_until 10 healthz_is 503
	run jq -c '{status, stage, held}' "$dir/healthz"
	assert_output '{"status":"held","stage":"casino-fx","held":1}'
	cp "$CASINO_ROOT/share/rates.json" "$dir/rates.json"
	wait_until 15 metric_is 'casino_stage_held_events{stage="casino-fx"}' 0
	metric_is 'casino_stage_lines_total{stage="casino-fx",outcome="out"}' 2
	metric_is 'casino_fx_fetches_total{stage="casino-fx",result="ok"}' 1
	touch "$snap"
	healthz_is 200
}

@test "a stage killed with SIGKILL disappears from /metrics, and the request that finds its file removes it" {
	serve_start
	casino-describe <"$dir/in" >/dev/null 2>"$dir/err" &
	stage_pid=$!
	exec 5>"$dir/in"
	good_line 1 >&5
	wait_until 5 metric_is 'casino_stage_lines_total{stage="casino-describe",outcome="out"}' 1
	kill -KILL "$stage_pid"
	stop_pids "$stage_pid"
	stage_pid=
	run curl -sf "http://127.0.0.1:$port/metrics"
	assert_success
	refute_output --partial 'stage="casino-describe"'
	# The reader removed it (doc/design.md, "Stage health").
	run ls -A "$CASINO_RUNDIR/stages"
	assert_output ''
	casino-describe </dev/null
	run ls -A "$CASINO_RUNDIR"
	refute_output --partial stages
}

# The stages of the casino-run on $port as "stage in out rejected held"
# lines, from /metrics.
stage_table() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -sf "http://127.0.0.1:$port/metrics" | awk '
		/^casino_stage_lines_total\{/ || /^casino_stage_held_events\{/ {
			match($0, /stage="[^"]*"/); s = substr($0, RSTART + 7, RLENGTH - 8)
			k = /held_events/ ? "held" : substr($0, index($0, "outcome=\"") + 9)
			sub(/".*/, "", k); v[s, k] = $NF; seen[s] = 1
		}
		END { for (s in seen) print s, v[s, "in"], v[s, "out"], v[s, "rejected"], v[s, "held"] }'
}

# Stage $1 of the run holds at least one event ($2 = held) or none ($2 = free).
stage_is() {
	stage_table >"$dir/stages"
	awk -v s="$1" -v want="$2" '$1 == s { found = 1; ok = want == "held" ? $5 > 0 : $5 == 0 }
		END { exit !(found && ok) }' "$dir/stages"
}

# All four filters report, each with in = out + rejected + held.
stages_add_up() {
	stage_table >"$dir/stages"
	[ "$(wc -l <"$dir/stages")" -eq 4 ]
	awk '$2 != $3 + $4 + $5 { bad = 1 } END { exit bad }' "$dir/stages"
}

# /healthz answers 503 naming stage $1.
healthz_names() {
	healthz_is 503 && [ "$(jq -r .stage "$dir/healthz")" = "$1" ]
}

run_start() {
	export CASINO_STATE_DIR=$dir/state
	port=$(free_port)
	casino-run -p "$port" -r 50 >"$dir/log" 2>"$dir/run.err" &
	run_pid=$!
	db_started=1
	wait_until 90 stage_is casino-player free
	wait_until 20 healthz_is 200
}

@test "casino-run: a stopped database shows in /metrics and /healthz within seconds, and so does the recovery" {
	run_start
	casino-db stop >/dev/null 2>&1
	wait_until 20 stage_is casino-player held
	wait_until 20 healthz_names casino-player
	run jq -r .status "$dir/healthz"
	assert_output held
	casino-db start >/dev/null 2>&1
	wait_until 30 stage_is casino-player free
	wait_until 20 healthz_is 200
	wait_until 10 stages_add_up
	metric_is 'casino_player_reconnects_total{stage="casino-player"}' 1
}

@test "casino-run: a failing rate API shows casino-fx holding events, and the recovery" {
	api=$dir/api
	mkdir -p "$api"
	printf '200\n' >"$api/answer.status"
	cp "$CASINO_ROOT/share/rates.json" "$api/answer.body"
	api_port=$(free_port)
	socat "TCP-LISTEN:$api_port,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"bash $BATS_TEST_DIRNAME/fx_api.bash $api" >/dev/null 2>&1 &
	api_pid=$!
	wait_port "$api_port"
	export CASINO_FX_URL=http://127.0.0.1:$api_port/live CASINO_FX_MAX_AGE=1
	run_start
	printf '500\n' >"$api/answer.status"
	wait_until 30 stage_is casino-fx held
	wait_until 20 healthz_names casino-fx
	printf '200\n' >"$api/answer.status"
	wait_until 30 stage_is casino-fx free
	wait_until 20 healthz_is 200
	wait_until 10 stages_add_up
	run curl -sf "http://127.0.0.1:$port/metrics"
	assert_line --regexp '^casino_fx_fetches_total\{stage="casino-fx",result="error"\} [1-9][0-9]*$'
}

@test "two processes of one stage make one series in /metrics, their counts added" {
	serve_start
	mkfifo "$dir/in2"
	casino-describe <"$dir/in" >/dev/null 2>"$dir/err" &
	stage_pid=$!
	casino-describe <"$dir/in2" >/dev/null 2>"$dir/err2" &
	second_pid=$!
	exec 5>"$dir/in" 6>"$dir/in2"
	good_line 1 >&5
	good_line 2 >&6
	good_line 3 >&6
	wait_until 5 metric_is 'casino_stage_lines_total{stage="casino-describe",outcome="out"}' 3
	run curl -sf "http://127.0.0.1:$port/metrics"
	[ "$(grep -c '^casino_stage_lines_total{stage="casino-describe",outcome="in"}' <<<"$output")" -eq 1 ]
	exec 6>&-
	wait "$second_pid"
	wait_until 5 metric_is 'casino_stage_lines_total{stage="casino-describe",outcome="out"}' 1
}
