#!/usr/bin/env bats
# Stopping: SIGTERM ends a tool at once and cleanly, every time, wherever it
# lands (doc/design.md, "Stopping"). Each loop is bounded: a process that
# has not exited 1 s after the signal fails the test.

load helpers

setup() {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	pid=
}

teardown() {
	stop_pids "$pid" "${sup_pid:-}"
}

# has_stop_handler PID NAME: 0 once PID runs NAME and catches SIGTERM (bit
# 15 of SigCgt). A signal sent before that takes the default action (143),
# whatever the tool does; before the exec, the shell's forked child may
# catch SIGTERM itself, so the handler alone proves nothing.
has_stop_handler() {
	local caught comm
	read -r comm <"/proc/$1/comm" || return 1
	[ "$comm" = "$2" ] || return 1
	caught=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status") || return 1
	[ -n "$caught" ] && (((16#${caught: -4} & 16#4000) != 0))
}

# exited_within_1s PID: 0 when PID is gone within a second; its exit
# status in $exited.
exited_within_1s() {
	local i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			exited=0
			wait "$1" || exited=$?
			return 0
		fi
		sleep 0.01
	done
	return 1
}

@test "a stage whose input stays open and quiet exits at SIGTERM within 1 s, 200 times in 200" {
	# A stop that came between the reader's check and its read() waited for
	# input that never came (lib/ndjson, sig_wait_fd).
	local i keep
	mkfifo "$BATS_TEST_TMPDIR/in"
	exec {keep}<>"$BATS_TEST_TMPDIR/in" # a writer that never writes
	for ((i = 1; i <= 200; i++)); do
		casino-describe <&"$keep" >/dev/null 2>>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		wait_until 5 has_stop_handler "$pid" casino-describe
		kill -TERM "$pid"
		exited_within_1s "$pid" || fail "try $i: still running 1 s after SIGTERM"
		pid=
		[ "$exited" -eq 0 ] || fail "try $i: exit $exited: $(cat "$BATS_TEST_TMPDIR/err")"
	done
	exec {keep}>&-
}

@test "casino-gen at the live rate: 100 stops, each exit 0 with whole events" {
	local i
	for ((i = 1; i <= 100; i++)); do
		casino-gen -r 1000 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		wait_until 5 has_stop_handler "$pid" casino-gen
		sleep "0.00$((i % 10))"
		kill -TERM "$pid"
		exited_within_1s "$pid" || fail "try $i: still running 1 s after SIGTERM"
		pid=
		[ "$exited" -eq 0 ] || fail "try $i: exit $exited: $(cat "$BATS_TEST_TMPDIR/err")"
		[ -z "$(tail -c 1 "$BATS_TEST_TMPDIR/out" | tr -d '\n')" ] || fail "try $i: a partial line"
	done
}

# The lifeline (doc/design.md, "Lifeline"): a FIFO whose write end only a
# stand-in supervisor holds (a sleep this test starts and kills by its pid);
# stages open the read end on fd 9 and get CASINO_LIFELINE=9.
lifeline_start() {
	mkfifo "$BATS_TEST_TMPDIR/lifeline"
	sleep 600 >"$BATS_TEST_TMPDIR/lifeline" &
	sup_pid=$!
}

# gen_into FUNCTION: casino-gen -r 500 | FUNCTION (the stages, a function
# of the test) in the background, on the lifeline; sets pid; both exit
# statuses in status.
gen_into() {
	(
		set +e # the statuses are the test's to read
		CASINO_LIFELINE=9 casino-gen -r 500 2>"$BATS_TEST_TMPDIR/gen.err" | "$1"
		echo "${PIPESTATUS[*]}" >"$BATS_TEST_TMPDIR/status"
	) 9<"$BATS_TEST_TMPDIR/lifeline" &
	pid=$!
}

# cut_lifeline: kill the stand-in supervisor, then wait (at most 10 s) for
# the pipeline in $pid to end.
cut_lifeline() {
	kill "$sup_pid"
	wait_until 10 process_gone "$pid" || fail "still running 10 s after the lifeline's end"
	wait "$pid"
	pid=
}

# gen_events: how many events casino-gen says it wrote (ids 1..N).
gen_events() {
	jq -r 'select(.msg == "end of run") | .last_id' "$BATS_TEST_TMPDIR/gen.err"
}

# ids FILE...: the ids of the events in FILE..., sorted, one a line.
ids() {
	cat "$@" | jq -r .id | sort -n
}

@test "lifeline lost: casino-gen stops, a holding casino-fx saves what it holds and all after it (69), the stage after it reads to the end" {
	local T=$BATS_TEST_TMPDIR n
	fx_and_describe() {
		CASINO_LIFELINE=9 casino-fx -u "file://$T/no-rates.json" -r "$T/fx.rej" 2>"$T/fx.err" |
			CASINO_LIFELINE=9 casino-describe >"$T/out" 2>"$T/describe.err"
		echo "${PIPESTATUS[*]}" >"$T/status.stages"
	}
	lifeline_start
	gen_into fx_and_describe
	wait_until 10 grep -q '"cannot fetch rates"' "$T/fx.err"
	cut_lifeline
	assert_equal "$(cat "$T/status") $(cat "$T/status.stages")" '0 0 69 0'
	for s in gen fx describe; do
		grep -q '"msg":"lifeline lost' "$T/$s.err" || fail "$s did not say: $(cat "$T/$s.err")"
	done
	n=$(gen_events)
	[ "$n" -gt 0 ]
	assert_equal "$(ids "$T/out" "$T/fx.rej")" "$(seq 1 "$n")"
	run jq -r 'select(.msg | startswith("stopped holding")) | .msg' "$T/fx.err"
	assert_output 'stopped holding events; saved to the reject file'
}

@test "lifeline lost: casino-player waiting for a database that is down saves every event and exits 69" {
	local T=$BATS_TEST_TMPDIR n
	player() {
		CASINO_LIFELINE=9 casino-player -d "host=$T/no-server dbname=casino" -r "$T/player.rej" \
			>"$T/out" 2>"$T/player.err"
	}
	lifeline_start
	gen_into player
	wait_until 10 grep -q '"waiting for the database"' "$T/player.err"
	cut_lifeline
	assert_equal "$(cat "$T/status")" '0 69'
	n=$(gen_events)
	[ "$n" -gt 0 ]
	assert_equal "$(wc -c <"$T/out")" 0
	assert_equal "$(ids "$T/player.rej")" "$(seq 1 "$n")"
}

@test "lifeline lost in mode drain: a stage holding nothing reads on to its input's end; in mode stop it reads nothing more, as at SIGTERM" {
	local T=$BATS_TEST_TMPDIR keep mode
	for mode in drain stop; do
		rm -f "$T/in" "$T/lifeline" "$T/out"
		lifeline_start
		mkfifo "$T/in"
		CASINO_LIFELINE=9:$mode casino-describe <"$T/in" >"$T/out" 2>"$T/err" 9<"$T/lifeline" &
		pid=$!
		exec {keep}>"$T/in"
		good_line 1 >&"$keep"
		wait_until 5 grep -q '"id":1' "$T/out"
		kill "$sup_pid"
		wait_until 5 grep -q '"msg":"lifeline lost' "$T/err"
		if [ "$mode" = drain ]; then
			good_line 2 >&"$keep"
			wait_until 5 grep -q '"id":2' "$T/out"
			run ! process_gone "$pid"
		else
			wait_until 5 process_gone "$pid" || fail "stop: still reading"
		fi
		exec {keep}>&-
		wait "$pid"
		pid=
		assert_equal "$(ids "$T/out" | tr '\n' ' ')" "$([ "$mode" = drain ] && echo '1 2 ' || echo '1 ')"
	done
}

@test "a lifeline already gone at start: casino-gen writes nothing more than it must and ends" {
	local T=$BATS_TEST_TMPDIR
	lifeline_start
	exec 9<"$T/lifeline"
	kill "$sup_pid"
	wait_until 5 process_gone "$sup_pid"
	CASINO_LIFELINE=9 run --separate-stderr casino-gen -r 100
	exec 9<&-
	assert_success
	assert_equal "$(jq -r 'select(.msg == "end of run") | .events' <<<"$stderr")" 0
}

@test "a bad CASINO_LIFELINE is a usage error naming the variable" {
	local T=$BATS_TEST_TMPDIR v
	: >"$T/file"
	exec 8<"$T/file"
	for v in abc -1 0 2 99 8 '8:wait' '0x8'; do
		CASINO_LIFELINE=$v run --separate-stderr casino-describe </dev/null
		assert_equal "$status" 64
		[[ $stderr == *CASINO_LIFELINE* ]] || fail "$v: $stderr"
	done
	exec 8<&-
}
