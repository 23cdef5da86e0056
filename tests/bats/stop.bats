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
	stop_pids "$pid"
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
