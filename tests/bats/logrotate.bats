#!/usr/bin/env bats
# The real logrotate(8) with the configuration make install puts in
# PREFIX/share/casino/logrotate/casino, changed only in the log's path,
# rotating the log of an installed casino-run -l while it runs: every id in
# exactly one file, none lost, none twice, the older lines in the older
# files.
load helpers

setup_file() {
	prefix=$BATS_FILE_TMPDIR/prefix
	# -o all: install what the suite runs against, as it is (no rebuild).
	make -s -C "$CASINO_ROOT" -o all install PREFIX="$prefix" BUILD="$CASINO_BIN" >&2
	export prefix CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
}

setup() {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	port=$(free_port)
	dir=$BATS_TEST_TMPDIR/logs
	mkdir "$dir"
	file=$dir/events.log
	err=$BATS_TEST_TMPDIR/err
	conf=$BATS_TEST_TMPDIR/logrotate.conf
	# The installed configuration for a log in $dir: the path is the one
	# line that changes.
	sed "s|^/var/log/casino/events.log {\$|$file {|" "$prefix/share/casino/logrotate/casino" >"$conf"
	grep -qF "$file {" "$conf"
}

teardown() {
	stop_pids "${run_pid:-}" "${other_pid:-}"
}

teardown_file() {
	casino-db stop >/dev/null 2>&1 || true
}

# One rotation by the shipped configuration, forced (-f: "daily" is not due).
rotate() {
	logrotate -f -s "$BATS_TEST_TMPDIR/logrotate.status" "$conf"
}

# 0 when file $1 has more than $2 lines.
file_lines_over() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -gt "$2" ]
}

# 0 when casino-tee-agg has said "log reopened" at least $1 times.
reopened() {
	[ "$(grep -c '"msg":"log reopened"' "$err")" -ge "$1" ]
}

@test "logrotate, three rotations during casino-run -l (create, postrotate's SIGUSR1, delaycompress): every id in exactly one file, none lost" {
	local n=3000 i
	"$prefix/bin/casino-run" -p "$port" -n "$n" -r 300 -l "$file" >"$BATS_TEST_TMPDIR/out" 2>"$err" &
	run_pid=$!
	for i in 1 2 3; do
		# Lines in the file the last rotation made: the reopen before is done.
		wait_until 60 file_lines_over "$file" 100 || fail "rotation $i: no lines in $file: $(tail -n 5 "$err")"
		assert_equal "$(cat "$file.pid")" "$run_pid"
		rotate
		wait_until 10 reopened "$i" || fail "rotation $i: no reopen: $(tail -n 5 "$err")"
	done
	wait_pid "$run_pid"
	run_pid=
	assert_equal "$waited" 0
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	[ ! -e "$file.pid" ] # removed at exit
	# The shipped rotation: the last one renamed is plain (delaycompress),
	# the two before it compressed.
	run ls "$dir"
	assert_output "$(printf '%s\n' events.log events.log.1 events.log.2.gz events.log.3.gz)"
	local ids=$BATS_TEST_TMPDIR/ids f last=0 first
	: >"$ids"
	# Oldest first: each file holds a run of ids after the older file's.
	for f in "$file.3.gz" "$file.2.gz" "$file.1" "$file"; do
		[ -s "$f" ] || fail "$f is empty"
		zcat -f "$f" | jq .id >"$ids.part"
		first=$(head -n 1 "$ids.part")
		[ "$first" -gt "$last" ] || fail "$f starts at $first, not after $last"
		last=$(tail -n 1 "$ids.part")
		echo "# ${f##*/}: ids $first-$last, $(wc -l <"$ids.part") lines" >&3
		cat "$ids.part" >>"$ids"
	done
	sort -n "$ids" | uniq -d >"$ids.dup"
	assert_equal "$(wc -l <"$ids.dup")" 0
	assert_equal "$(wc -l <"$ids")" "$n"
	assert_equal "$(sort -n "$ids" | tail -n 1)" "$n"
	assert_equal "$(sort -n "$ids" | head -n 1)" 1
	# casino-run's own account agrees: all logged, across the files.
	run jq -r 'select(.msg | startswith("run accounted")) | "\(.generated) \(.logged) \(.lost)"' < <(grep '^{' "$err")
	assert_output "$n $n 0"
}

@test "logrotate with no casino-run: a stale pid file beside the log signals no other process; no pid file, no error" {
	echo '{"id":1}' >"$file"
	# A process that SIGUSR1 would end, under the stale pid.
	sleep 60 3>&- &
	other_pid=$!
	echo "$other_pid" >"$file.pid"
	run -0 rotate
	assert_output ''
	run process_gone "$other_pid"
	assert_failure # the postrotate signalled no process that is not a casino-run
	[ -f "$file.1" ]
	rm "$file.pid"
	echo '{"id":2}' >"$file"
	run -0 rotate
	assert_output ''
	run zcat -f "$file.1" "$file.2.gz"
	assert_output "$(printf '%s\n' '{"id":2}' '{"id":1}')"
}

@test "casino-run -l: a second run on a log a live casino-run writes exits 73 naming it; a pid file left by a dead one is taken over" {
	"$prefix/bin/casino-run" -p "$port" -r 50 -l "$file" >/dev/null 2>"$err" &
	run_pid=$!
	wait_until 60 file_lines_over "$file" 0
	run --separate-stderr "$prefix/bin/casino-run" -p "$(free_port)" -n 5 -l "$file"
	assert_failure 73
	[[ $stderr == *"the log is casino-run $run_pid's"* ]] || fail "$stderr"
	assert_equal "$(cat "$file.pid")" "$run_pid"
	kill -TERM "$run_pid"
	wait_pid "$run_pid"
	run_pid=
	assert_equal "$waited" 0
	[ ! -e "$file.pid" ]
	# A pid file whose process is no casino-run (the run was killed).
	sleep 60 3>&- &
	other_pid=$!
	echo "$other_pid" >"$file.pid"
	local before
	before=$(wc -l <"$file")
	run --separate-stderr "$prefix/bin/casino-run" -p "$port" -n 5 -l "$file"
	assert_success
	assert_equal "$(wc -l <"$file")" $((before + 5))
	[ ! -e "$file.pid" ]
}
