#!/usr/bin/env bats
# casino-run end to end: a private database in a temp state folder, the HTTP
# front on a free port, the whole pipeline; and nothing left afterwards.
load helpers

setup_file() {
	# One cluster for the suite: the first run creates it, later runs reuse it.
	export CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
}

setup() {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	port=$(free_port)
	url=http://127.0.0.1:$port
	log=$BATS_TEST_TMPDIR/log
	err=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_pids "${run_pid:-}" "${run2_pid:-}" "${other_pid:-}"
}

teardown_file() {
	casino-db stop >/dev/null 2>&1 || true
}

# /materialized of the run on port $1: its events_total (0 before the first
# snapshot).
total_on() {
	curl -s "http://127.0.0.1:$1/materialized" | jq -r '.events_total // 0' 2>/dev/null || echo 0
}

counts_events() {
	[ "$(total_on "$1")" -gt 0 ]
}

# 0 when the run on port $1 counts more than $2 events.
counts_more() {
	[ "$(total_on "$1")" -gt "$2" ]
}

# Wait up to 60 s (the first run creates the cluster) until /materialized
# counts an event (casino-tee-agg writes a zero snapshot when it starts).
wait_snapshot() {
	wait_until 60 counts_events "$port"
}

total() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -sS "$url/materialized" | jq -e .events_total
}

# Every process casino-run started, as "name pid" lines: the pipeline's
# stages (from its pid file), socat, and the database server if it runs.
started_processes() {
	cat "$CASINO_RUNDIR"/casino-run.*/pids
	ps -o comm=,pid= --ppid "$run_pid" | grep '^socat' || true
	[ ! -f "$CASINO_STATE_DIR/pg/data/postmaster.pid" ] ||
		echo "postgres $(head -n 1 "$CASINO_STATE_DIR/pg/data/postmaster.pid")"
}

# The log: every event enriched as due.
check_log() {
	[ -s "$log" ]
	run jq -e -s -c '.[] | .player_id as $p | select(
		(.description | type) != "string"
		or (.description | startswith("Player #\($p)") | not)
		or (((.type == "bet") or (.type == "deposit")) != ((.amount_eur | type) == "number"))
		or (((.player_id >= 10) and (.player_id <= 14)) != (.player.id == .player_id))
		or ((.player_id >= 10) and (.player_id <= 14) and ((.player.email | type) != "string")))' "$log"
	assert_output ''
	# ids 1..N in order: nothing lost or duplicated on the way.
	run jq -s -e '[.[].id] == [range(1; length + 1)]' "$log"
	assert_success
}

# Nothing of what casino-run started is running or listening.
check_all_gone() {
	local name pid
	while read -r name pid; do
		# A zombie (exited, not yet reaped by its parent) counts as gone.
		if [ -n "$(ps -o stat= -p "$pid" | grep -v '^Z')" ]; then
			fail "$name ($pid) still running"
		fi
	done <"$BATS_TEST_TMPDIR/started"
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		fail "port $port still listening"
	fi
	run ss -Hltn "sport = :$port"
	assert_output ''
	[ ! -e "$CASINO_RUNDIR/materialized.json" ]
	run ls "$CASINO_RUNDIR"
	assert_output ''
}

@test "casino-run: growing totals on /materialized, an enriched log, and on SIGTERM nothing left" {
	casino-run -p "$port" -r 50 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	first=$(total)
	wait_until 10 counts_more "$port" "$first"
	second=$(total)
	[ "$second" -gt "$first" ]
	started_processes >"$BATS_TEST_TMPDIR/started"
	# The five stages, socat and the database server.
	run sh -c "cut -d ' ' -f 1 '$BATS_TEST_TMPDIR/started' | sort"
	assert_output "$(printf '%s\n' casino-gen casino-fx casino-player casino-describe casino-tee-agg socat postgres | sort)"
	kill -TERM "$run_pid"
	wait "$run_pid"
	run_pid=
	check_all_gone
	check_log
	[ "$(wc -l <"$log")" -ge "$second" ]
	grep -q '"msg":"creating cluster' "$err"
	grep -q "serving http://127.0.0.1:$port/materialized" "$err"
}

@test "casino-run -n: stops by itself after the generator's end; the second run reuses the database" {
	casino-run -p "$port" -n 40 -r 20 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	started_processes >"$BATS_TEST_TMPDIR/started"
	wait "$run_pid"
	run_pid=
	[ "$(wc -l <"$log")" -eq 40 ]
	check_all_gone
	check_log
	run grep -c '"msg":"creating cluster' "$err"
	assert_output 0
	run casino-db status
	assert_failure 3
}

@test "Ctrl-C (SIGINT to the whole process group) stops everything" {
	setsid casino-run -p "$port" -r 50 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	started_processes >"$BATS_TEST_TMPDIR/started"
	kill -INT -- "-$run_pid"
	wait "$run_pid"
	run_pid=
	check_all_gone
	check_log
}

@test "a database that already runs is used and left running" {
	casino-db start >/dev/null 2>&1
	casino-run -p "$port" -n 10 >"$log" 2>"$err"
	[ "$(wc -l <"$log")" -eq 10 ]
	check_log
	run casino-db status
	assert_success
	casino-db stop 2>/dev/null
}

# For the tests run as user nobody, with port 80 out of its reach and 8080
# free (else skip): its folder $dir, reachable through bats' private ones.
as_nobody_setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	[ "$(cut -f 1 /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] || skip "port 80 is open to everyone here"
	! port_open 8080 || skip "port 8080 is in use"
	dir=$BATS_TEST_TMPDIR/nobody
	mkdir -p "$dir"
	chown nobody: "$dir"
	local up=$BATS_TEST_TMPDIR
	while [ "$up" != / ] && [ "$up" != /tmp ]; do
		chmod o+x "$up"
		up=$(dirname "$up")
	done
}

# Run "$@" as nobody, at home in $dir, in place of the caller: a
# background "as_nobody ... &" has the pid of the command.
as_nobody() {
	exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
		env HOME="$dir" CASINO_STATE_DIR="$dir/state" CASINO_RUNDIR="$dir/run" "$@"
}

@test "as a normal user, with port 80 out of reach, it serves on 8080" {
	as_nobody_setup
	as_nobody casino-run -n 500 -r 50 >"$log" 2>"$err" &
	run_pid=$!
	port=8080
	url=http://127.0.0.1:8080
	CASINO_RUNDIR=$dir/run
	CASINO_STATE_DIR=$dir/state
	wait_snapshot
	started_processes >"$BATS_TEST_TMPDIR/started"
	kill -TERM "$run_pid"
	wait "$run_pid"
	run_pid=
	check_all_gone
	check_log
	grep -q 'cannot listen on port 80; using 8080' "$err"
	run stat -c %U "$dir/state/pg/data"
	assert_output nobody
}

@test "another server on the port: casino-run exits 69 and says so" {
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" SYSTEM:'echo other' 2>/dev/null &
	other_pid=$!
	wait_port "$port"
	run --separate-stderr casino-run -p "$port" -n 20 -r 5
	assert_failure 69
	[[ $stderr == *"cannot serve on port $port"* ]] || fail "no reason given: $stderr"
	[[ $stderr != *"serving http"* ]] || fail "claims the port: $stderr"
	assert_output ''
	# It stopped what it started: nothing left in the runtime folder.
	run ls "$CASINO_RUNDIR"
	assert_output ''
}

@test "as a normal user, with port 80 out of reach and 8080 taken, it exits 69" {
	as_nobody_setup
	socat TCP-LISTEN:8080,bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo other' 2>/dev/null &
	other_pid=$!
	wait_port 8080
	run --separate-stderr as_nobody casino-run -n 20 -r 5
	assert_failure 69
	[[ $stderr == *"cannot serve on port 8080 either"* ]] || fail "no reason given: $stderr"
	[[ $stderr != *"serving http"* ]] || fail "claims the port: $stderr"
}

@test "two runs at once: each serves its own numbers; the database stays up until the last one ends" {
	casino-db stop >/dev/null 2>&1
	port2=$(free_port)
	casino-run -p "$port" -r 200 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	casino-run -p "$port2" -n 20 -r 4 >"$log.2" 2>"$err.2" &
	run2_pid=$!
	wait_until 60 counts_events "$port2"
	# The first run counts hundreds; the second never more than its 20.
	for _ in 1 2 3 4 5 6 7 8; do
		b=$(total_on "$port2")
		[ "$b" -le 20 ] || fail "the second run serves $b events, not its own"
		sleep 0.25
	done
	[ "$(total_on "$port")" -gt 20 ]
	# The first run started the database; it leaves it to the second.
	kill -TERM "$run_pid"
	wait "$run_pid"
	run_pid=
	run casino-db status
	assert_success
	wait "$run2_pid"
	run2_pid=
	log=$log.2
	[ "$(wc -l <"$log")" -eq 20 ]
	check_log
	grep -q 'database left running for the other casino-run' "$err"
	# The last one out stops it.
	run casino-db status
	assert_failure 3
}

@test "options: -h, usage errors exit 64 before anything starts" {
	run casino-run -h
	assert_success
	assert_output --partial 'usage: casino-run [-p port] [-n count] [-t seconds] [-r rate]'
	run -0 casino-run --help
	assert_output --partial '--duration'
	run -0 casino-run --version
	assert_output --regexp '^casino-run [0-9]'
	run --separate-stderr casino-run --port=0
	assert_failure 64
	[[ $stderr == *"bad --port: '0'"* ]]
	CASINO_HTTP_PORT=x run --separate-stderr casino-run
	assert_failure 64
	[[ $stderr == *"bad CASINO_HTTP_PORT: 'x'"* ]]
	run --separate-stderr casino-run --bogus
	assert_failure 64
	[[ $stderr == *"unrecognized option '--bogus'"* ]]
	CASINO_LOG_LEVEL=loud run --separate-stderr casino-run -n 1
	assert_failure 64
	[[ $stderr == *"bad CASINO_LOG_LEVEL: loud"* ]]
	run casino-run -p 0
	assert_failure 64
	run casino-run -p 70000
	assert_failure 64
	run casino-run -x
	assert_failure 64
	run casino-run extra
	assert_failure 64
	[ ! -e "$CASINO_RUNDIR" ]
}
