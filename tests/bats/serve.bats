#!/usr/bin/env bats
# casino-serve + casino-http-handler: curl and raw sockets against a real
# server on a free loopback port.
# shellcheck disable=SC2030,SC2031,SC2154 # bats runs each test in a subshell and sets stderr
load helpers

setup_file() {
	# make check-valgrind wraps every program in valgrind, which cannot check
	# a static binary (static glibc gives false reports): the handler runs
	# unwrapped then (make check-asan covers it, linked dynamically there).
	local real
	if [ "${CASINO_INSTRUMENTED:-}" = valgrind ]; then
		real=$(sed -n 's|.*"\(/[^"]*/casino-http-handler\)".*|\1|p' "$CASINO_BIN/casino-http-handler")
		if [ -n "$real" ] && ! ldd "$real" >/dev/null 2>&1; then
			mkdir -p "$BATS_FILE_TMPDIR/bin"
			ln -sf "$real" "$BATS_FILE_TMPDIR/bin/casino-http-handler"
			export CASINO_BIN=$BATS_FILE_TMPDIR/bin PATH=$BATS_FILE_TMPDIR/bin:$PATH
		fi
	fi
}

setup() {
	# A private runtime folder: stages other runs on this machine hold
	# events in must not turn /healthz here 503.
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/rundir
	snap=$BATS_TEST_TMPDIR/materialized.json
	printf '{"events_total":42,"events_per_minute":7.5,"top_player_bets":{"id":11,"count":3}}\n' >"$snap"
	# A port for the runs that must fail before they listen.
	port=1
	url=http://127.0.0.1:$port
}

# casino-serve serving $snap with the options given; sets port, url and
# serve_pid.
start_server() {
	serve_snapshot "$snap" "$@"
}

teardown() {
	if [ -n "${serve_pid:-}" ]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
}

# Send raw bytes (printf %b escapes) and print the whole answer.
raw() {
	printf '%b' "$1" | socat -t 5 - "TCP:127.0.0.1:$port"
}

# The status code of a raw request.
raw_status() {
	raw "$1" | head -n 1 | cut -d ' ' -f 2
}

@test "GET /materialized: 200, application/json, the snapshot's exact bytes" {
	start_server
	run curl -sS -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" "$url/materialized"
	assert_success
	cmp "$snap" "$BATS_TEST_TMPDIR/body"
	run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'Content-Type: application/json'
	assert_line "Content-Length: $(wc -c <"$snap")"
	assert_line --regexp '^ETag: "[0-9a-f.-]+"$'
	assert_line --regexp '^Last-Modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$'
	refute_line --partial 'Connection:'
}

@test "a new snapshot is served on the next request" {
	start_server
	printf '{"events_total":43}' >"$snap.tmp"
	mv "$snap.tmp" "$snap"
	run curl -sS "$url/materialized"
	assert_output '{"events_total":43}'
}

@test "HEAD /materialized: the GET headers, no body" {
	start_server
	raw 'HEAD /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >"$BATS_TEST_TMPDIR/answer"
	run tr -d '\r' <"$BATS_TEST_TMPDIR/answer"
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line "Content-Length: $(wc -c <"$snap")"
	# The answer ends with the empty line that ends the head.
	[ "$(tail -c 4 "$BATS_TEST_TMPDIR/answer" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]
	[ "$(grep -c $'^\r$' "$BATS_TEST_TMPDIR/answer")" -eq 1 ]
	run grep -c events_total "$BATS_TEST_TMPDIR/answer"
	assert_output 0
}

@test "query strings and absolute-form targets name the same resource" {
	start_server
	run curl -sS "$url/materialized?pretty=1"
	assert_output "$(cat "$snap")"
	run raw_status "GET http://127.0.0.1:$port/materialized HTTP/1.1\r\nHost: t\r\n\r\n"
	assert_output 200
	run raw_status 'GET /materialized HTTP/1.0\r\n\r\n'
	assert_output 200
}

@test "other paths: 404 with a JSON error" {
	start_server
	for path in /nope /index.html /materialized/ /materialized.json /Materialized /healthz/x; do
		run curl -sS -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$url$path"
		assert_output 404
		run jq -r .error "$BATS_TEST_TMPDIR/body"
		assert_output 'not found'
	done
}

@test "other methods: 405 with Allow: GET, HEAD" {
	start_server
	for method in POST PUT DELETE OPTIONS PATCH get; do
		run curl -sS -X "$method" -D "$BATS_TEST_TMPDIR/head" -o /dev/null -w '%{http_code}' "$url/materialized"
		assert_output 405
		run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
		assert_line 'Allow: GET, HEAD'
	done
}

@test "a request body it does not read still gets its answer (no reset)" {
	start_server
	head -c 300000 /dev/zero >"$BATS_TEST_TMPDIR/body"
	run curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$BATS_TEST_TMPDIR/body" "$url/materialized"
	assert_success
	assert_output 405
}

@test "malformed requests: 400 with a JSON error" {
	start_server
	for req in 'garbage\r\n\r\n' 'GET /materialized\r\n\r\n' \
		'GET  /materialized HTTP/1.1\r\nHost: t\r\n\r\n' \
		'GET /materialized HTTP/2.0\r\nHost: t\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\nHost : t\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n' \
		'GET /mat\rerialized HTTP/1.1\r\nHost: t\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\nHost: t\r\nX: a\001b\r\n\r\n' \
		'GET /materialized HTTP/1.1\r\nHost: t\r\n'; do
		raw "$req" >"$BATS_TEST_TMPDIR/answer"
		run head -n 1 "$BATS_TEST_TMPDIR/answer"
		assert_output $'HTTP/1.1 400 Bad Request\r'
		run sh -c "sed '1,/^\r\$/d' '$BATS_TEST_TMPDIR/answer' | jq -r .error"
		refute_output ''
		refute_output null
	done
	run grep -c '"msg":"bad request"' "$BATS_TEST_TMPDIR/serve.err"
	assert_output 11
}

@test "a request head of exactly 8 KiB is served, one byte more is 400" {
	start_server
	# "GET /materialized HTTP/1.1\r\n" "Host: t\r\n" "X: <pad>\r\n" "\r\n"
	fixed=$((28 + 9 + 5 + 2))
	pad=$(head -c $((8192 - fixed)) /dev/zero | tr '\0' a)
	run raw_status "GET /materialized HTTP/1.1\r\nHost: t\r\nX: $pad\r\n\r\n"
	assert_output 200
	run raw_status "GET /materialized HTTP/1.1\r\nHost: t\r\nX: ${pad}a\r\n\r\n"
	assert_output 400
	run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $pad$pad" "$url/materialized"
	assert_output 400
	grep -q 'request head over 8 KiB' "$BATS_TEST_TMPDIR/serve.err"
}

# Milliseconds until the server closes a connection that sent $1 and then
# kept quiet (the answer, if any, goes to $BATS_TEST_TMPDIR/answer).
close_after_ms() {
	local start end
	start=$(date +%s%N)
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	printf '%b' "$1" >&5
	cat <&5 >"$BATS_TEST_TMPDIR/answer"
	exec 5<&-
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}

@test "an incomplete request is closed, unanswered, after CASINO_HTTP_TIMEOUT" {
	export CASINO_HTTP_TIMEOUT=1
	start_server
	ms=$(close_after_ms 'GET /materialized HTTP/1.1\r\nHost: t\r\n')
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 3000 ]
	[ ! -s "$BATS_TEST_TMPDIR/answer" ]
	grep -q '"msg":"no complete request in time, closing"' "$BATS_TEST_TMPDIR/serve.err"
}

@test "the timeout counts from the connection, not from the last byte" {
	export CASINO_HTTP_TIMEOUT=1
	start_server
	start=$(date +%s%N)
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	(
		trap '' PIPE
		for c in G E T ' ' / m a t; do
			printf '%s' "$c" >&5 2>/dev/null || break
			sleep 0.3
		done
	) &
	writer=$!
	cat <&5 >"$BATS_TEST_TMPDIR/answer"
	ms=$((($(date +%s%N) - start) / 1000000))
	stop_pids "$writer"	# the trickle, if the close did not end it
	exec 5<&-
	# The trickle would take 2.4 s; the server closes at about 1 s.
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 2000 ]
	[ ! -s "$BATS_TEST_TMPDIR/answer" ]
}

@test "the default timeout is 5 s" {
	start_server
	ms=$(close_after_ms 'GET /mat')
	[ "$ms" -ge 4900 ]
	[ "$ms" -lt 7000 ]
}

@test "no snapshot: 503 with a JSON error on /materialized and /healthz" {
	rm "$snap"
	start_server
	run curl -sS -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$url/materialized"
	assert_output 503
	run jq -r .error "$BATS_TEST_TMPDIR/body"
	assert_output 'no snapshot yet'
	run curl -sS -o /dev/null -w '%{http_code}' "$url/healthz"
	assert_output 503
}

@test "/healthz: 200 while the snapshot is younger than 5 s, else 503" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	start_server
	run curl -sS -w ' %{http_code}' "$url/healthz"
	assert_output --regexp '^\{"status":"ok","age_ms":[0-9]+,"stages":[0-9]+\}'$'\n'' 200$'
	touch -d '3 seconds ago' "$snap"
	run curl -sS -o /dev/null -w '%{http_code}' "$url/healthz"
	assert_output 200
	touch -d '6 seconds ago' "$snap"
	run curl -sS -w ' %{http_code}' "$url/healthz"
	assert_output --regexp '^\{"status":"stale","age_ms":6[0-9]{3}\}'$'\n'' 503$'
	touch -d '1 hour' "$snap"
	run curl -sS -o /dev/null -w '%{http_code}' "$url/healthz"
	assert_output 503
	run curl -sS -o /dev/null -w '%{http_code}' "$url/materialized"
	assert_output 200
}

@test "traversal attempts are 404 and never serve another file" {
	start_server
	ln -s /etc/passwd "$BATS_TEST_TMPDIR/passwd"
	for path in /../../etc/passwd /materialized/../x /materialized/../../../etc/passwd \
		/%2e%2e/%2e%2e/etc/passwd /./materialized/.. '/materialized%00' \
		"/..$BATS_TEST_TMPDIR/passwd" "$BATS_TEST_TMPDIR/passwd" /serve.err; do
		run curl -sS --path-as-is -w ' %{http_code}' "$url$path"
		assert_output '{"error":"not found"}'$'\n'' 404'
	done
	run grep -c root: "$BATS_TEST_TMPDIR/serve.err"
	assert_output 0
}

@test "the handler opens no file but its snapshot and the stage health folder, whatever the request" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	for target in /materialized /../../etc/passwd "/..$snap" /healthz; do
		printf 'GET %s HTTP/1.1\r\nHost: t\r\n\r\n' "$target" >"$BATS_TEST_TMPDIR/req"
		# LeakSanitizer cannot run under ptrace (make check-asan).
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
			strace -f -qq -e trace=open,openat,openat2,stat,lstat,newfstatat,statx,execve \
			-o "$BATS_TEST_TMPDIR/trace" \
			casino-http-handler -f "$snap" <"$BATS_TEST_TMPDIR/req" >/dev/null 2>&1
		# Every path the handler touched (past its own execve and the loader's
		# files) is the snapshot.
		run sh -c "grep -v -e execve -e '/etc/ld.so' -e '/lib' -e '/proc/' -e '/sys/' -e 'AT_EMPTY_PATH' '$BATS_TEST_TMPDIR/trace' | grep -o '\"[^\"]*\"' | grep -vxF '\"$CASINO_RUNDIR/stages\"' | sort -u"
		if [ -n "$output" ]; then
			assert_output "\"$snap\""
		fi
	done
	run grep -c "\"$snap\"" "$BATS_TEST_TMPDIR/trace"
	refute_output 0
}

@test "at CASINO_LOG_LEVEL=debug every request is logged as one JSON record on stderr" {
	export CASINO_LOG_LEVEL=debug
	start_server
	curl -sS -o /dev/null "$url/materialized"
	curl -sS -o /dev/null "$url/nope"
	wait_until 5 grep -q '"path":"/nope"' "$BATS_TEST_TMPDIR/serve.err"
	run jq -c 'select(.msg == "request") | [.tool, .level, .method, .path, .status]' "$BATS_TEST_TMPDIR/serve.err"
	assert_line '["casino-http-handler","debug","GET","/materialized",200]'
	assert_line '["casino-http-handler","debug","GET","/nope",404]'
	run jq -r 'select(.msg == "request") | .peer' "$BATS_TEST_TMPDIR/serve.err"
	assert_line --regexp '^127\.0\.0\.1:[0-9]+$'
}

@test "at the default level requests are not logged, errors still are (warn)" {
	start_server
	curl -sS -o /dev/null "$url/materialized"
	curl -sS -o /dev/null "$url/nope"
	raw 'BAD\r\n\r\n' >/dev/null
	wait_until 5 grep -q '"msg":"bad request"' "$BATS_TEST_TMPDIR/serve.err"
	run jq -c 'select(.msg == "request")' "$BATS_TEST_TMPDIR/serve.err"
	assert_success
	assert_output ''
	run jq -r 'select(.msg == "bad request") | .level' "$BATS_TEST_TMPDIR/serve.err"
	assert_output warn
}

@test "Content-Length: duplicates that differ, negative or not a number: 400 and close" {
	start_server
	for field in 'Content-Length: 0\r\nContent-Length: 37' 'Content-Length: -1' \
		'Content-Length: abc' 'Content-Length: 5x' 'Content-Length: ' 'Content-Length: 1,2' \
		'Content-Length: +3' 'Content-Length: 99999999999999999999999'; do
		# The second request would be answered if the first kept the connection.
		raw "GET /materialized HTTP/1.1\r\nHost: t\r\n$field\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" >"$BATS_TEST_TMPDIR/answer"
		run grep -c '^HTTP/1.1 ' "$BATS_TEST_TMPDIR/answer"
		assert_output 1
		run head -n 1 "$BATS_TEST_TMPDIR/answer"
		assert_output $'HTTP/1.1 400 Bad Request\r'
		run grep -c $'^Connection: close\r$' "$BATS_TEST_TMPDIR/answer"
		assert_output 1
	done
	# The same length twice, or as a list of equal values, is one length.
	for field in 'Content-Length: 0\r\nContent-Length: 0' 'Content-Length: 0, 0'; do
		raw "GET /materialized HTTP/1.1\r\nHost: t\r\n$field\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >"$BATS_TEST_TMPDIR/answer"
		run grep -c $'^HTTP/1.1 200 OK\r$' "$BATS_TEST_TMPDIR/answer"
		assert_output 2
	done
}

@test "/metrics without a snapshot: 200 with casino_snapshot_up 0 and the stage series" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR/stages"
	printf '{"stage":"casino-player","pid":%d,"in":9,"out":4,"rejected":1,"held":4,"held_since_ms":1,"pending":4}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-player.$$.json"
	rm "$snap"
	start_server
	run curl -sS -w '%{http_code}\n' "$url/metrics"
	assert_line 'casino_snapshot_up 0'
	assert_line 'casino_stage_held_events{stage="casino-player"} 4'
	assert_line 'casino_stage_pending_events{stage="casino-player"} 4'
	assert_line 'casino_stage_lines_total{stage="casino-player",outcome="in"} 9'
	assert_line --index "$((${#lines[@]} - 1))" 200
	refute_line --partial 'casino_events_total'
	run promtool check metrics <<<"${output%200}"
	assert_success
	printf 'not json' >"$snap"
	run curl -sS -w '%{http_code}\n' "$url/metrics"
	assert_line 'casino_snapshot_up 0'
	assert_line 'casino_stage_held_events{stage="casino-player"} 4'
	assert_line 200
	run grep -c '"msg":"snapshot is not a JSON object"' "$BATS_TEST_TMPDIR/serve.err"
	assert_output 1
}

@test "the stage health reader: pending when the file has it, else the held count" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR/stages"
	printf '{"stage":"casino-fx","pid":%d,"in":10,"out":3,"rejected":0,"held":5,"held_since_ms":1,"pending":7}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-fx.$$.json"
	printf '{"stage":"casino-describe","pid":%d,"in":10,"out":8,"rejected":0,"held":2,"held_since_ms":1}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-describe.$$.json"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	assert_line 'casino_stage_pending_events{stage="casino-fx"} 7'
	assert_line 'casino_stage_pending_events{stage="casino-describe"} 2'
	assert_line '# TYPE casino_stage_pending_events gauge'
}

@test "a stage's own rate: fresh as written, less by the quiet time as the file ages, summed over a stage's processes" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR/stages"
	sleep 300 &
	other=$!
	printf '{"stage":"casino-fx","pid":%d,"in":10,"out":10,"rejected":0,"held":0,"held_since_ms":0,"pending":0,"out_rate_milli":20500}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-fx.$$.json"
	# Quiet 5.25 s: the 0.25 s report interval, then half the 10 s window.
	printf '{"stage":"casino-describe","pid":%d,"in":10,"out":10,"rejected":0,"held":0,"held_since_ms":0,"pending":0,"out_rate_milli":100000}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-describe.$$.json"
	touch -d "@$(($(date +%s) - 60))" "$CASINO_RUNDIR/stages/casino-describe.$$.json"
	printf '{"stage":"casino-player","pid":%d,"in":10,"out":10,"rejected":0,"held":0,"held_since_ms":0,"pending":0,"out_rate_milli":1000}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-player.$$.json"
	printf '{"stage":"casino-player","pid":%d,"in":10,"out":10,"rejected":0,"held":0,"held_since_ms":0,"pending":0,"out_rate_milli":2000}\n' \
		"$other" >"$CASINO_RUNDIR/stages/casino-player.$other.json"
	# No rate yet: no sample.
	printf '{"stage":"casino-tee-agg","pid":%d,"in":0,"out":0,"rejected":0,"held":0,"held_since_ms":0,"pending":0}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-tee-agg.$$.json"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	kill "$other"
	assert_line '# TYPE casino_stage_out_per_second gauge'
	assert_line 'casino_stage_out_per_second{stage="casino-fx"} 20.500'
	assert_line 'casino_stage_out_per_second{stage="casino-describe"} 0.000'
	assert_line 'casino_stage_out_per_second{stage="casino-player"} 3.000'
	refute_line --partial 'casino_stage_out_per_second{stage="casino-tee-agg"}'
	# Quiet for half the window: about half the rate (less the time to read).
	ms=$(($(date +%s%N) / 1000000 - 5250))
	touch -d "@$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" "$CASINO_RUNDIR/stages/casino-fx.$$.json"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	assert_line --regexp '^casino_stage_out_per_second\{stage="casino-fx"\} (9|10)\.[0-9]{3}$'
}

@test "a running stage publishes the rate it writes at, by its own clock" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR"
	mkfifo "$BATS_TEST_TMPDIR/events"
	casino-gen -r 200 -t 4 -s 1 >"$BATS_TEST_TMPDIR/events" 2>/dev/null &
	casino-describe <"$BATS_TEST_TMPDIR/events" >/dev/null 2>&1 &
	# shellcheck disable=SC2016 # the glob is for the inner sh, once the file is there
	wait_until 10 sh -c 'grep -q "\"out_rate_milli\"" "$1"/stages/casino-describe.*.json' sh "$CASINO_RUNDIR"
	sleep 2
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	wait "$!"
	rate=$(printf '%s\n' "$output" | sed -n 's/^casino_stage_out_per_second{stage="casino-describe"} \([0-9]*\)\..*/\1/p')
	[ "$rate" -ge 150 ]
	[ "$rate" -le 250 ]
}

# A stage file of casino-fx for pid $1 in $CASINO_RUNDIR/stages.
stage_file() {
	printf '{"stage":"casino-fx","pid":%d,"in":1,"out":0,"rejected":0,"held":1,"held_since_ms":1}\n' \
		"$1" >"$CASINO_RUNDIR/stages/casino-fx.$1.json"
}

@test "a dead stage's file is skipped by a GET and removed by it; a starting stage removes one too" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR/stages"
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	stage_file "$dead"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	refute_line --partial 'stage="casino-fx"'
	[ ! -e "$CASINO_RUNDIR/stages/casino-fx.$dead.json" ]
	stage_file "$dead"
	casino-describe </dev/null
	[ ! -e "$CASINO_RUNDIR/stages/casino-fx.$dead.json" ]
}

@test "10,000 stale stage files: the first /metrics removes them, a live stage's file stays and is shown" {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir -p "$CASINO_RUNDIR/stages"
	# Pids above the kernel's pid_max: no process has one (the time this
	# costs is bench/serve's, not a test's).
	local max
	read -r max </proc/sys/kernel/pid_max
	for ((i = 1; i <= 10000; i++)); do
		stage_file $((max + i))
	done
	stage_file $$
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run handler_alone "$BATS_TEST_TMPDIR/req"
	assert_line 'casino_stage_held_events{stage="casino-fx"} 1'
	run ls "$CASINO_RUNDIR/stages"
	assert_output "casino-fx.$$.json"
}

@test "CASINO_SNAPSHOT and the runtime directory name the default snapshot" {
	mkdir "$BATS_TEST_TMPDIR/run"
	printf '{"from":"rundir"}' >"$BATS_TEST_TMPDIR/run/materialized.json"
	CASINO_RUNDIR=$BATS_TEST_TMPDIR/run serve_snapshot ''
	run curl -sS "$url/materialized"
	assert_output '{"from":"rundir"}'
	printf 'GET /materialized HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run sh -c "CASINO_SNAPSHOT='$snap' casino-http-handler <'$BATS_TEST_TMPDIR/req' 2>/dev/null | tail -n 1"
	assert_output "$(cat "$snap")"
}

@test "casino-serve binds 127.0.0.1 by default, -b another address" {
	start_server
	run ss -Hltn "sport = :$port"
	assert_output --partial "127.0.0.1:$port"
	stop_pids "$serve_pid"
	start_server -b 127.0.0.2
	run curl -sS "http://127.0.0.2:$port/materialized"
	assert_output "$(cat "$snap")"
	run curl -s "$url/materialized"
	assert_failure 7
}

@test "options: -h, -V, usage errors exit 64" {
	run casino-serve -h
	assert_success
	assert_output --partial 'usage: casino-serve [-p port] [-b addr] [-f snapshot]'
	run casino-serve -V
	assert_output --regexp '^casino-serve [0-9]'
	run casino-http-handler -h
	assert_success
	assert_output --partial 'usage: casino-http-handler'
	run casino-http-handler -V
	assert_output --regexp '^casino-http-handler [0-9]'
	# -a is the handler's to check (0-1000000), when casino-serve starts.
	for bad in '-p 65536' '-p 8x' '-b 1.2.3.4,fork' '-c 0' '-x' 'extra' '-a 1000001' '-a x'; do
		# shellcheck disable=SC2086
		run casino-serve $bad
		assert_failure 64
	done
	run casino-http-handler -t 0
	assert_failure 64
	run casino-http-handler extra
	assert_failure 64
	run env CASINO_LOG_LEVEL=bogus casino-http-handler </dev/null
	assert_failure 64
	assert_output --partial CASINO_LOG_LEVEL
}

@test "-p 0: the kernel picks the port, and a record names it (and the address)" {
	start_server
	run jq -r 'select(.msg == "listening") | [.level, .tool, .addr, .port] | join(" ")' "$BATS_TEST_TMPDIR/serve.err"
	assert_output "info casino-serve 127.0.0.1 $port"
	[ "$port" -gt 0 ]
	run ss -Hltn "sport = :$port"
	assert_output --partial "127.0.0.1:$port"
	run curl -sS "$url/materialized"
	assert_output "$(cat "$snap")"
	# The watcher that logged it is no child of casino-serve's.
	run pgrep -P "$serve_pid" casino-env
	assert_failure 1
	run --separate-stderr casino-serve -f '' -p 0
	assert_failure 64
	run --separate-stderr casino-serve -a '' -p 0
	assert_failure 64
}

@test "a port already in use: casino-serve fails" {
	start_server
	run casino-serve -p "$port" -f "$snap"
	assert_failure
}

# The handler with the request in file $1 on stdin, its log dropped.
handler_alone() {
	casino-http-handler -f "$snap" <"$1" 2>/dev/null
}

@test "the handler on its own, over a pipe" {
	req=$BATS_TEST_TMPDIR/req
	printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >"$req"
	run handler_alone "$req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line "$(cat "$snap")"
	printf 'GET /nope HTTP/1.0\r\n\r\n' >"$req"
	run handler_alone "$req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 404 Not Found\r'
	printf 'BAD\r\n\r\n' >"$req"
	run handler_alone "$req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 400 Bad Request\r'
	run handler_alone /dev/null
	assert_success
	assert_output ''
}

@test "any snapshot file name works: spaces, commas, colons, quotes" {
	snap="$BATS_TEST_TMPDIR/a dir,with:odd 'chars\"/materialized.json"
	mkdir -p "$(dirname "$snap")"
	printf '{"odd":true}' >"$snap"
	start_server
	run curl -sS "$url/materialized"
	assert_output '{"odd":true}'
}

# One GET of path $1 on the connection open on fd 5: prints the status code,
# then the body (read to its Content-Length).
fd_get() {
	local line status len=0
	printf 'GET %s HTTP/1.1\r\nHost: t\r\n\r\n' "$1" >&5
	IFS= read -r line <&5
	status=${line#HTTP/1.1 }
	echo "${status%% *}"
	while IFS= read -r line <&5 && [ "$line" != $'\r' ]; do
		case $line in Content-Length:*) len=${line#Content-Length: } len=${len%$'\r'} ;; esac
	done
	if [ "$len" -gt 0 ]; then
		IFS= read -r -N "$len" line <&5
		printf '%s\n' "$line"
	fi
}

@test "keep-alive: curl sends two requests on one connection" {
	export CASINO_LOG_LEVEL=debug
	start_server
	run curl -sS -v "$url/materialized" "$url/healthz"
	assert_success
	assert_output --partial 'Re-using existing connection'
	assert_output --partial "$(cat "$snap")"
	assert_output --partial '"status":"ok"'
	# The handler saw both, from the same client port.
	wait_until 5 grep -q '"path":"/healthz"' "$BATS_TEST_TMPDIR/serve.err"
	run sh -c "jq -r 'select(.msg == \"request\") | .peer' '$BATS_TEST_TMPDIR/serve.err' | sort -u | wc -l"
	assert_output 1
}

@test "each answer on a kept connection reads the snapshot as it is then" {
	start_server
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	run fd_get /materialized
	assert_line --index 0 200
	assert_line --index 1 "$(cat "$snap")"
	printf '{"events_total":44}\n' >"$snap.tmp"
	mv "$snap.tmp" "$snap"
	run fd_get /materialized
	assert_line --index 0 200
	assert_line --index 1 '{"events_total":44}'
	run fd_get /metrics
	assert_line --index 0 200
	assert_line 'casino_events_total 44'
	rm "$snap"
	run fd_get /materialized
	assert_line --index 0 503
	exec 5<&-
}

@test "a snapshot rewritten in place, same inode and size, its mtime put back: a kept connection gets the new bytes" {
	printf '{"events_total":41}\n' >"$snap"
	start_server
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	run fd_get /materialized
	assert_line --index 1 '{"events_total":41}'
	inode=$(stat -c %i "$snap")
	mtime=$(stat -c %.9Y "$snap")
	# Not how casino-tee-agg writes (it renames), but the handler keeps no
	# stale copy even then: the change time moves whatever the mtime says.
	printf '{"events_total":43}\n' >"$snap"
	touch -m -d "@$mtime" "$snap"
	assert_equal "$(stat -c %i "$snap") $(stat -c %.9Y "$snap")" "$inode $mtime"
	run fd_get /materialized
	assert_line --index 0 200
	assert_line --index 1 '{"events_total":43}'
	exec 5<&-
}

@test "snapshots renamed into place as fast as a writer can: every answer on a kept connection is one whole version" {
	local big
	big=$(printf '{"events_total":7,"pad":"%s"}' "$(head -c 20000 /dev/zero | tr '\0' x)")
	printf '{"events_total":6}\n' >"$snap"
	start_server
	(
		while :; do
			printf '{"events_total":6}\n' >"$snap.a"
			mv "$snap.a" "$snap"
			printf '%s\n' "$big" >"$snap.b"
			mv "$snap.b" "$snap"
		done
	) &
	writer=$!
	# curl asks 300 times on one connection (it says so on stderr).
	local urls=()
	for _ in $(seq 300); do urls+=("$url/materialized"); done
	run --separate-stderr curl -sS -v "${urls[@]}"
	stop_pids "$writer"
	assert_success
	[[ $stderr == *'Re-using existing connection'* ]]
	bodies=$output
	run sh -c 'wc -l; true' <<<"$bodies"
	assert_output 300
	# Each body is the small version or the big one, byte for byte.
	run sh -c "grep -cvxF -e '{\"events_total\":6}' -e '$big'; true" <<<"$bodies"
	assert_output 0
	run grep -cxF '{"events_total":6}' <<<"$bodies"
	assert_success
}

@test "pipelining: requests sent in one write are answered in order" {
	start_server
	raw 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /metrics HTTP/1.1\r\nHost: t\r\n\r\n' >"$BATS_TEST_TMPDIR/answer"
	run grep -a '^HTTP/1.1 ' "$BATS_TEST_TMPDIR/answer"
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line --index 1 $'HTTP/1.1 200 OK\r'
	assert_line --index 2 $'HTTP/1.1 404 Not Found\r'
	assert_line --index 3 $'HTTP/1.1 200 OK\r'
	run grep -c '^{"events_total":42' "$BATS_TEST_TMPDIR/answer"
	assert_output 1
	run grep -c '"status":"ok"' "$BATS_TEST_TMPDIR/answer"
	assert_output 0
	run grep -c '^casino_events_total 42' "$BATS_TEST_TMPDIR/answer"
	assert_output 1
}

@test "a kept connection closes after CASINO_HTTP_TIMEOUT idle" {
	export CASINO_HTTP_TIMEOUT=1
	start_server
	ms=$(close_after_ms 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n')
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 3000 ]
	run head -n 1 "$BATS_TEST_TMPDIR/answer"
	assert_output $'HTTP/1.1 200 OK\r'
	run grep -c '"msg":"no complete request in time, closing"' "$BATS_TEST_TMPDIR/serve.err"
	assert_output 0
}

@test "Connection: close ends the connection after the answer" {
	export CASINO_HTTP_TIMEOUT=3
	start_server
	ms=$(close_after_ms 'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
	[ "$ms" -lt 2000 ]
	run tr -d '\r' <"$BATS_TEST_TMPDIR/answer"
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'Connection: close'
}

@test "HTTP/1.0: closed after the answer, kept only with Connection: keep-alive" {
	export CASINO_HTTP_TIMEOUT=1
	start_server
	ms=$(close_after_ms 'GET /materialized HTTP/1.0\r\n\r\n')
	[ "$ms" -lt 800 ]
	run tr -d '\r' <"$BATS_TEST_TMPDIR/answer"
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'Connection: close'
	assert_line "$(cat "$snap")"
	ms=$(close_after_ms 'GET /materialized HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n')
	[ "$ms" -lt 800 ]
	run tr -d '\r' <"$BATS_TEST_TMPDIR/answer"
	assert_line 'Connection: keep-alive'
	assert_line 'Connection: close'
	assert_line --partial '"status":"ok"'
	ms=$(close_after_ms 'GET /materialized HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 3000 ]
}

@test "at most 1000 requests on one connection; the 1000th says Connection: close" {
	start_server
	for _ in $(seq 1001); do
		printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
	done >"$BATS_TEST_TMPDIR/req"
	socat -t 5 - "TCP:127.0.0.1:$port" <"$BATS_TEST_TMPDIR/req" >"$BATS_TEST_TMPDIR/answer"
	run grep -c '^HTTP/1.1 200 OK' "$BATS_TEST_TMPDIR/answer"
	assert_output 1000
	run grep -c '^Connection: close' "$BATS_TEST_TMPDIR/answer"
	assert_output 1
	run sh -c "grep -a '^HTTP/1.1\|^Connection' '$BATS_TEST_TMPDIR/answer' | tail -n 2"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line --index 1 $'Connection: close\r'
}

@test "a 400 ends the connection: the requests behind it are not answered" {
	start_server
	raw 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nBAD\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n' >"$BATS_TEST_TMPDIR/answer"
	run grep -a '^HTTP/1.1 ' "$BATS_TEST_TMPDIR/answer"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line --index 1 $'HTTP/1.1 400 Bad Request\r'
}

@test "If-None-Match with the current ETag: 304, no body; a new snapshot: 200" {
	start_server
	for path in /materialized /metrics /; do
		etag=$(curl -sS -D - -o /dev/null "$url$path" | tr -d '\r' | sed -n 's/^ETag: //p')
		[ -n "$etag" ]
		run curl -sS -H "If-None-Match: $etag" -D "$BATS_TEST_TMPDIR/head" -w '%{http_code} %{size_download}' "$url$path"
		assert_output '304 0'
		run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
		assert_line "ETag: $etag"
		run curl -sS -H "If-None-Match: \"x\", W/$etag" -o /dev/null -w '%{http_code}' "$url$path"
		assert_output 304
		run curl -sS -H 'If-None-Match: "other"' -o /dev/null -w '%{http_code}' "$url$path"
		assert_output 200
	done
	etag=$(curl -sS -D - -o /dev/null "$url/materialized" | tr -d '\r' | sed -n 's/^ETag: //p')
	printf '{"events_total":43}\n' >"$snap.tmp"
	mv "$snap.tmp" "$snap"
	run curl -sS -H "If-None-Match: $etag" -w ' %{http_code}' "$url/materialized"
	assert_output '{"events_total":43}'$'\n'' 200'
}

@test "HEAD on every route: the GET's status and headers, no body" {
	start_server
	for path in /materialized /metrics /healthz / /dashboard.css /dashboard.js /nope; do
		get=$(curl -sS -D - -o /dev/null "$url$path" | tr -d '\r' | grep -v -e '^Date:' -e '^ETag:' -e '^Last-Modified:' -e '^Content-Length:')
		# HEAD then GET /nope on one connection: the GET's answer follows the
		# HEAD's head at once, so the HEAD sent no body.
		raw "HEAD $path HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n" >"$BATS_TEST_TMPDIR/answer"
		run sh -c "tr -d '\r' <'$BATS_TEST_TMPDIR/answer' | sed -n '1,/^\$/p' | grep -v -e '^Date:' -e '^ETag:' -e '^Last-Modified:' -e '^Content-Length:'"
		assert_output "$get"
		run sh -c "tr -d '\r' <'$BATS_TEST_TMPDIR/answer' | sed '1,/^\$/d' | head -n 1"
		assert_output 'HTTP/1.1 404 Not Found'
	done
}

@test "/metrics: the snapshot in the Prometheus text format" {
	cat >"$snap" <<-'JSON'
	{"events_total":200,"events_per_minute":12.5,"events_per_second_moving_average":0.21,
	 "top_player_bets":{"id":17,"count":8},"top_player_wins":{"id":13,"count":1},
	 "top_player_deposits":{"id":14,"count":3275}}
	JSON
	start_server
	run curl -sS -D "$BATS_TEST_TMPDIR/head" "$url/metrics"
	assert_success
	assert_line 'casino_events_total 200'
	assert_line '# TYPE casino_events_total counter'
	assert_line 'casino_events_per_minute 12.5'
	assert_line 'casino_events_per_second_moving_average 0.21'
	assert_line 'casino_top_player_bets{player_id="17"} 8'
	assert_line 'casino_top_player_wins{player_id="13"} 1'
	assert_line 'casino_top_player_deposits_eur{player_id="14"} 32.75'
	assert_line --regexp '^casino_snapshot_age_seconds [0-9]+$'
	run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
	assert_line 'Content-Type: text/plain; version=0.0.4; charset=utf-8'
	printf 'not json' >"$snap"
	run curl -sS "$url/metrics"
	assert_line 'casino_snapshot_up 0'
}

@test "/ serves the dashboard page, its style and its script" {
	start_server
	run curl -sS -D "$BATS_TEST_TMPDIR/head" "$url/"
	assert_success
	cmp <(printf '%s\n' "$output") "$CASINO_ROOT/share/dashboard/index.html"
	run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
	assert_line 'Content-Type: text/html; charset=utf-8'
	run curl -sS -o "$BATS_TEST_TMPDIR/js" -w '%{content_type}' "$url/dashboard.js"
	assert_output 'text/javascript; charset=utf-8'
	cmp "$BATS_TEST_TMPDIR/js" "$CASINO_ROOT/share/dashboard/dashboard.js"
	mkdir "$BATS_TEST_TMPDIR/root"
	printf 'other page\n' >"$BATS_TEST_TMPDIR/root/index.html"
	run sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | CASINO_HTTP_ROOT='$BATS_TEST_TMPDIR/root' casino-http-handler -f '$snap' 2>/dev/null"
	assert_line 'other page'
	run sh -c "printf 'GET /dashboard.css HTTP/1.0\r\n\r\n' | casino-http-handler -r '$BATS_TEST_TMPDIR/root' -f '$snap' 2>/dev/null | head -n 1"
	assert_output $'HTTP/1.1 500 Internal Server Error\r'
}

@test "a client holding a connection idle does not hold up others" {
	export CASINO_HTTP_TIMEOUT=1
	start_server
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	exec 6<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n' >&6
	run curl -sS -m 0.8 "$url/materialized"
	assert_success
	assert_output "$(cat "$snap")"
	# Both idle connections are closed by the server after the timeout.
	run timeout 3 cat <&5
	assert_success
	assert_output ''
	run timeout 3 cat <&6
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	exec 5<&- 6<&-
}

# 0 when casino-serve runs no handler.
handlers_none() {
	! pgrep -P "$serve_pid" >/dev/null
}

# 0 when casino-serve runs at least $1 handlers.
handlers_at_least() {
	[ "$(pgrep -c -P "$serve_pid")" -ge "$1" ]
}

@test "max-children connections idle: a new client waits in the backlog until one times out" {
	export CASINO_HTTP_TIMEOUT=1
	start_server -c 2
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	exec 6<>"/dev/tcp/127.0.0.1/$port"
	wait_until 5 handlers_at_least 2
	run curl -sS -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$url/healthz"
	assert_success
	read -r code seconds <<<"$output"
	assert_equal "$code" 200
	# Served only once an idle connection timed out after 1 s.
	run awk -v s="$seconds" 'BEGIN { exit !(s >= 0.5) }'
	assert_success
	exec 5<&- 6<&-
}

@test "socat runs with LD_BIND_NOW=1: its forked children look no symbol up before the exec" {
	start_server
	run sh -c "tr '\\0' '\\n' </proc/$serve_pid/environ"
	assert_line LD_BIND_NOW=1
	run cat "/proc/$serve_pid/comm"
	assert_output socat
}

# The nice value of process $1 (field 19 of /proc/PID/stat, after the
# command name, which may hold spaces).
nice_of() {
	sed 's/^.*) //' "/proc/$1/stat" | cut -d ' ' -f 17
}

# 0 when casino-serve runs a handler and every handler it runs has the nice
# value $1. A child socat forked and that is not the handler yet (its
# command name is socat's until the exec), or one gone since pgrep, is not
# counted; one still exiting is, as it was niced like the others.
handlers_nice() {
	local h n=0 nice
	for h in $(pgrep -P "$serve_pid"); do
		[ "$(cat "/proc/$h/comm" 2>/dev/null)" = casino-http-han ] || continue
		nice=$(nice_of "$h" 2>/dev/null) || continue
		[ "$nice" = "$1" ] || { echo "handler $h: nice $nice" >&2; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "handlers run --nice steps nicer than casino-serve (CASINO_HTTP_NICE, default 10; 0 keeps its priority)" {
	for setting in default 0 3; do
		if [ "$setting" = default ]; then unset CASINO_HTTP_NICE; else export CASINO_HTTP_NICE=$setting; fi
		start_server
		# The handler of wait_port's probe must be gone: one handler is ours.
		wait_until 10 handlers_none
		exec 5<>"/dev/tcp/127.0.0.1/$port"
		base=$(nice_of "$serve_pid")
		want=$((base + ${CASINO_HTTP_NICE:-10}))
		[ "$want" -le 19 ] || want=19
		wait_until 5 handlers_nice "$want" || fail "$setting: handlers' nice values: $(handlers_nice "$want" 2>&1)"
		exec 5<&-
		teardown
		serve_pid=
	done
	export CASINO_HTTP_NICE=20
	run --separate-stderr casino-serve -p "$port" -f "$snap"
	assert_failure 64
	run jq -Rr 'fromjson? | [.option, .value] | join(" ")' <<<"$stderr"
	assert_output 'CASINO_HTTP_NICE 20'
	printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run --separate-stderr casino-http-handler -n 0 -f "$snap" <"$BATS_TEST_TMPDIR/req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
}

@test "a bad CASINO_HTTP_TIMEOUT: the option wins, -h works, else 64 naming the variable" {
	printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	export CASINO_HTTP_TIMEOUT=abc
	run --separate-stderr casino-http-handler -t 2 -f "$snap" <"$BATS_TEST_TMPDIR/req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	run casino-http-handler -h
	assert_success
	assert_output --partial 'usage: casino-http-handler'
	run --separate-stderr casino-http-handler -f "$snap" <"$BATS_TEST_TMPDIR/req"
	assert_failure 64
	assert_output ''
	run jq -r '[.tool, .option, .value] | join(" ")' <<<"$stderr"
	assert_output 'casino-http-handler CASINO_HTTP_TIMEOUT abc'
	run --separate-stderr casino-serve -p "$port" -f "$snap"
	assert_failure 64
	run jq -Rr 'fromjson? | .option' <<<"$stderr"
	assert_output CASINO_HTTP_TIMEOUT
	run curl -s "$url/materialized"
	assert_failure 7
}

@test "stopping casino-serve ends the connections it kept open" {
	export CASINO_HTTP_TIMEOUT=30
	start_server
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	run fd_get /healthz
	assert_line --index 0 200
	stop_pids "$serve_pid"
	serve_pid=
	# Closed at once, not after the 30 s idle timeout.
	run timeout 5 cat <&5
	assert_success
	exec 5<&-
}

@test "an installed handler finds its dashboard in ../share/casino/dashboard" {
	real=$(readlink -f "$(command -v casino-http-handler)")
	# A wrapper script (make check-valgrind) is no program to copy.
	head -c 4 "$real" | grep -q ELF || skip "casino-http-handler is a wrapper here"
	mkdir -p "$BATS_TEST_TMPDIR/prefix/bin" "$BATS_TEST_TMPDIR/prefix/share/casino/dashboard"
	cp "$real" "$BATS_TEST_TMPDIR/prefix/bin/"
	printf 'installed page\n' >"$BATS_TEST_TMPDIR/prefix/share/casino/dashboard/index.html"
	printf 'GET / HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run sh -c "'$BATS_TEST_TMPDIR/prefix/bin/casino-http-handler' -f '$snap' <'$BATS_TEST_TMPDIR/req' 2>/dev/null"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'installed page'
}

@test "a CASINO_HTTP_ROOT without a dashboard: 64 naming it, from the handler and from casino-serve; -r wins" {
	export CASINO_HTTP_ROOT=$BATS_TEST_TMPDIR/none
	run --separate-stderr casino-http-handler -f "$snap" </dev/null
	assert_failure 64
	run jq -r '[.option, .value] | join(" ")' <<<"$stderr"
	assert_output "CASINO_HTTP_ROOT $BATS_TEST_TMPDIR/none"
	run --separate-stderr casino-serve -p "$port" -f "$snap"
	assert_failure 64
	run jq -Rr 'fromjson? | .option' <<<"$stderr"
	assert_output CASINO_HTTP_ROOT
	printf 'GET / HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run --separate-stderr casino-http-handler -r "$CASINO_ROOT/share/dashboard" -f "$snap" <"$BATS_TEST_TMPDIR/req"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
}

@test "/history: casino-tee-agg's history file beside the snapshot, found from the snapshot's path" {
	start_server
	run curl -sS -w ' %{http_code}' "$url/history"
	assert_output '{"error":"no history yet"}'$'\n'' 503'
	good_line 1 | casino-tee-agg -o "$snap" >/dev/null
	run curl -sS -D "$BATS_TEST_TMPDIR/head" "$url/history"
	assert_success
	cmp <(printf '%s\n' "$output") "$BATS_TEST_TMPDIR/materialized.history.json"
	run jq -c '[.per_second.counts[299], (.per_minute.counts | length)]' <<<"$output"
	assert_output '[1,60]'
	run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
	assert_line 'Content-Type: application/json'
	assert_line --regexp '^ETag: "h'
	# A snapshot not named .json: the history is its name + .history.json.
	mv "$snap" "$BATS_TEST_TMPDIR/snap"
	mv "$BATS_TEST_TMPDIR/materialized.history.json" "$BATS_TEST_TMPDIR/snap.history.json"
	printf 'GET /history?file=/etc/passwd HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run casino-http-handler -f "$BATS_TEST_TMPDIR/snap" <"$BATS_TEST_TMPDIR/req"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line --partial '"per_second":{"end":"2022-01-10T12:34:56Z"'
}

@test "1,000 keep-alive clients at once, on casino-serve's defaults: all answered, twice, and a new client within 2 s" {
	# Under make check-asan or check-valgrind each handler is many times its
	# size: 100 clients there, the 1,000 in the plain build.
	local n=1000
	[ -z "${CASINO_INSTRUMENTED:-}" ] || n=100
	start_server
	# tests/many-clients bounds every wait (60 s) and checks the 2 s itself.
	run "$CASINO_ROOT/tests/many-clients" "$port" "$n" 4
	assert_success
	assert_output --regexp "^first $n/$n in [0-9]+ms new 1 [0-9]+ms second $n/$n\$"
}

@test "one address gets at most --max-per-address connections; others are still served" {
	start_server -a 3
	wait_until 10 handlers_none
	# Three kept connections, each answered once: each holds its slot.
	for fd in 5 6 7; do
		eval "exec $fd<>/dev/tcp/127.0.0.1/$port"
		printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >&"$fd"
		IFS= read -r -t 5 line <&"$fd"
		assert_equal "$line" $'HTTP/1.1 200 OK\r'
	done
	# A fourth from 127.0.0.1: 503, told to retry, closed.
	run curl -sS -D "$BATS_TEST_TMPDIR/head" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$url/materialized"
	assert_output 503
	run jq -r .error "$BATS_TEST_TMPDIR/body"
	assert_output 'too many connections from your address'
	run tr -d '\r' <"$BATS_TEST_TMPDIR/head"
	assert_line 'Retry-After: 1'
	assert_line 'Connection: close'
	# Another address is served.
	run curl -sS --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$url/materialized"
	assert_output 200
	# A slot freed is a slot for the next connection.
	exec 5<&-
	wait_until 5 curl -sf -o /dev/null "$url/materialized"
	exec 6<&- 7<&-
	run grep -c '"msg":"too many connections from one address, refusing"' "$BATS_TEST_TMPDIR/serve.err"
	[ "$output" -ge 1 ]
	run env CASINO_HTTP_MAX_PER_ADDRESS=x casino-serve -p "$port"
	assert_failure 64
	run casino-serve -a -1
	assert_failure 64
	run casino-http-handler -a x
	assert_failure 64
}

@test "casino-serve hands -a and -f to the handler, which checks them: 64 and the usage line at once, nothing served" {
	local bad
	# Each is a value the handler refuses; casino-serve must not start on it.
	for bad in '-a 5000000' '-a 1000001' '--max-per-address=-1' '-f ""'; do
		run --separate-stderr timeout 10 sh -c "casino-serve -p $port $bad"
		assert_failure 64
		assert_equal "$(grep -c '^usage: casino-serve ' <<<"$stderr")" 1
		run jq -Rr 'fromjson? | [.tool, .option] | join(" ")' <<<"$stderr"
		assert_output --regexp '^casino-http-handler --(max-per-address|snapshot)$'
	done
	run --separate-stderr timeout 10 env CASINO_HTTP_MAX_PER_ADDRESS=2000000 casino-serve -p "$port"
	assert_failure 64
	run jq -Rr 'fromjson? | .option' <<<"$stderr"
	assert_output CASINO_HTTP_MAX_PER_ADDRESS
	# The largest cap the handler takes is served.
	casino-serve -p "$port" -f "$snap" -a 1000000 2>/dev/null &
	serve_pid=$!
	wait_port "$port"
	run curl -sS "$url/materialized"
	assert_output "$(cat "$snap")"
}

@test "1,150 busy keep-alive clients from five addresses hold every slot: a new client is answered within 1 s, and every flood client again" {
	# 230 from each of 127.0.0.2-.6 (under the per-address cap), each asking
	# every 4 s, on casino-serve's default 1,100 slots; under make check-asan
	# or check-valgrind 105 clients on 100 slots (each handler is many times
	# its size there).
	local slots=1100 n=1150
	[ -z "${CASINO_INSTRUMENTED:-}" ] || { slots=100 n=105; }
	casino-serve -p "$port" -f "$snap" -c "$slots" 2>"$BATS_TEST_TMPDIR/serve.err" &
	serve_pid=$!
	wait_port "$port"
	# tests/keepalive-flood bounds every wait (120 s), checks the 1 s itself
	# for each of 20 new clients, and that every flood client (the ones
	# closed come back) was answered after them.
	run "$CASINO_ROOT/tests/keepalive-flood" "$port" "$n" "$slots" 4000 20 1000
	assert_success
	assert_output --regexp "^flood $n held $slots reconnects [1-9][0-9]* .* new 20/20 .* again $n/$n\$"
	# Only flood clients' own 404s: nobody was refused for its address.
	assert_output --regexp ' statuses 404:[0-9]+ '
}

# Read one whole answer to GET /materialized from fd $1 (its status line in
# $line): the head up to its empty line, then the snapshot's one line.
read_answer() {
	local field body
	IFS= read -r -t 5 line <&"$1" || return 1
	while IFS= read -r -t 5 field <&"$1" && [ "$field" != $'\r' ]; do :; done
	IFS= read -r -t 5 body <&"$1"
	[ "$body" = "$(cat "$snap")" ]
}

@test "every slot taken: the longest-held kept-alive connection closes to make room, the youngest stays" {
	# Idle connections would stay 30 s: only making room closes one sooner.
	export CASINO_HTTP_TIMEOUT=30
	casino-serve -p "$port" -f "$snap" -c 4 2>"$BATS_TEST_TMPDIR/serve.err" &
	serve_pid=$!
	wait_port "$port"
	wait_until 10 handlers_none
	# Four kept connections, oldest first, each answered once.
	for fd in 5 6 7 8; do
		eval "exec $fd<>/dev/tcp/127.0.0.1/$port"
		printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >&"$fd"
		read_answer "$fd"
		assert_equal "$line" $'HTTP/1.1 200 OK\r'
	done
	# 4 of 4 taken (at least 4 - 4/32): the oldest closes, idle, within 5 s.
	run timeout 5 cat <&5
	assert_success
	# The youngest is still served on its connection, and so is a new client.
	printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >&8
	read_answer 8
	assert_equal "$line" $'HTTP/1.1 200 OK\r'
	run curl -sS -m 5 -o /dev/null -w '%{http_code}' "$url/materialized"
	assert_output 200
	exec 5<&- 6<&- 7<&- 8<&-
}

@test "--max-children: a bad value is 64 at once, in the handler and in casino-serve" {
	run casino-http-handler -c x
	assert_failure 64
	run env CASINO_HTTP_MAX_CHILDREN=-1 casino-http-handler </dev/null
	assert_failure 64
	assert_output --partial '"option":"CASINO_HTTP_MAX_CHILDREN"'
	run casino-serve -p "$port" -c 0
	assert_failure 64
}

@test "a symbolic link or a FIFO at the snapshot's path is a 500 and one log record, never what it points to" {
	start_server
	rm "$snap"
	ln -s /etc/passwd "$snap"
	run curl -sS -w ' %{http_code}' "$url/materialized"
	assert_output '{"error":"snapshot unreadable"}'$'\n'' 500'
	run grep -c root: <<<"$output"
	assert_output 0
	run grep -c '"msg":"cannot read snapshot".*"error":"a symbolic link, not followed"' "$BATS_TEST_TMPDIR/serve.err"
	assert_output 1
	rm "$snap"
	mkfifo "$snap"
	run curl -sS -m 10 -w ' %{http_code}' "$url/materialized"
	assert_output '{"error":"snapshot unreadable"}'$'\n'' 500'
	run grep -c '"msg":"cannot read snapshot".*"error":"not a regular file' "$BATS_TEST_TMPDIR/serve.err"
	assert_output 1
	# /history and /metrics do not follow one either.
	rm "$snap"
	ln -s /etc/passwd "$BATS_TEST_TMPDIR/materialized.history.json"
	run curl -sS -w ' %{http_code}' "$url/history"
	assert_output '{"error":"snapshot unreadable"}'$'\n'' 500'
	ln -s /etc/passwd "$snap"
	run curl -sS "$url/metrics"
	refute_output --partial root:
	assert_line 'casino_snapshot_up 0'
}

@test "casino-serve hands no secret on: socat and its handlers run without the rate API's key and the database's password" {
	export CASINO_FX_KEY=fx-key-not-for-you PGPASSWORD=pg-password-not-for-you
	export CASINO_DB='host=/nowhere password=conninfo-password-not-for-you'
	start_server
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /materialized HTTP/1.1\r\nHost: t\r\n\r\n' >&5
	IFS= read -r -t 5 line <&5
	assert_equal "$line" $'HTTP/1.1 200 OK\r'
	local handler
	handler=$(pgrep -P "$serve_pid" | head -n 1)
	[ -n "$handler" ]
	for pid in "$serve_pid" "$handler"; do
		run grep -c -a not-for-you "/proc/$pid/environ"
		assert_output 0
	done
	exec 5<&-
}
