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
# stages (from its list of launched stages), socat, and the database server if it runs.
started_processes() {
	cut -d " " -f 1,2 "$CASINO_RUNDIR"/casino-run.*/launched
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

# 0 when file $1 has more than $2 lines.
file_lines_over() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -gt "$2" ]
}

# 0 when no process in $BATS_TEST_TMPDIR/started runs (zombies are gone).
all_gone() {
	local name pid
	while read -r name pid; do
		[ -z "$(ps -o stat= -p "$pid" | grep -v '^Z')" ] || return 1
	done <"$BATS_TEST_TMPDIR/started"
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
	# As from a terminal: SIGINT not ignored (bats' background jobs ignore it).
	setsid env --default-signal=INT casino-run -p "$port" -r 50 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	started_processes >"$BATS_TEST_TMPDIR/started"
	kill -INT -- "-$run_pid"
	wait "$run_pid"
	run_pid=
	check_all_gone
	check_log
	# every event it made went through to the log
	assert_accounted
	assert_equal "$logged" "$generated"
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

# 0 when process $1's environment holds none of the words $2...
environ_lacks() {
	local env word
	env=$(tr '\0' '\n' <"/proc/$1/environ")
	shift
	for word in "$@"; do
		case $env in *"$word"*) return 1 ;; esac
	done
}

@test "secrets reach only the stage that needs them: socat, a handler, casino-describe and the others hold no key or password" {
	casino-db start >/dev/null 2>&1
	export CASINO_FX_KEY=fx-key-not-for-you PGPASSWORD=pg-password-not-for-you
	CASINO_DB="$(casino-db conninfo) password=conninfo-password-not-for-you"
	export CASINO_DB
	casino-run -p "$port" -r 50 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	# A kept connection, so a handler lives while its environment is read.
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n' >&5
	IFS= read -r -t 5 line <&5
	assert_equal "$line" $'HTTP/1.1 200 OK\r'
	local socat handler
	socat=$(ps -o comm=,pid= --ppid "$run_pid" | awk '$1 == "socat" { print $2 }')
	handler=$(pgrep -P "$socat" | head -n 1)
	[ -n "$handler" ]
	for pid in "$socat" "$handler" $(stage_pid casino-gen) $(stage_pid casino-describe) \
		$(stage_pid casino-tee-agg); do
		environ_lacks "$pid" not-for-you || fail "$(cat "/proc/$pid/comm") ($pid) holds a secret"
	done
	# casino-fx has the key and nothing of the database's; casino-player the
	# database's and not the key.
	environ_lacks "$(stage_pid casino-fx)" pg-password-not-for-you conninfo-password-not-for-you
	run environ_lacks "$(stage_pid casino-fx)" CASINO_FX_KEY=fx-key-not-for-you
	assert_failure
	environ_lacks "$(stage_pid casino-player)" fx-key-not-for-you
	run environ_lacks "$(stage_pid casino-player)" PGPASSWORD=pg-password-not-for-you
	assert_failure
	run environ_lacks "$(stage_pid casino-player)" conninfo-password-not-for-you
	assert_failure
	exec 5<&-
	kill -TERM "$run_pid"
	wait "$run_pid"
	run_pid=
	check_log
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

# The run's account in $err: "generated = logged + rejected + saved + lost"
# holds, and the ids in the log and the reject folder ($1, else the one the
# record names) are distinct, within 1..generated and as many as logged +
# rejected + saved: every id the generator reported is accounted for.
# Sets generated, logged, saved, lost and rejects.
assert_accounted() {
	local account ids
	account=$(records | jq -c 'select(.msg | startswith("run accounted"))')
	[ -n "$account" ] || fail "no account: $(cat "$err")"
	read -r generated logged rejected saved lost rejects < <(jq -r '"\(.generated) \(.logged) \(.rejected) \(.saved) \(.lost) \(.reject_dir)"' <<<"$account")
	rejects=${1:-$rejects}
	[ "$generated" -gt 0 ] || fail "nothing generated: $account"
	[ "$generated" -eq $((logged + rejected + saved + lost)) ] || fail "does not add up: $account"
	[ "$(wc -l <"$log")" -eq "$logged" ] || fail "the log has $(wc -l <"$log") lines: $account"
	ids=$BATS_TEST_TMPDIR/ids
	{ cat "$log"; [ ! -d "$rejects" ] || cat "$rejects"/*.ndjson 2>/dev/null || true; } | jq .id | sort -n >"$ids"
	run uniq -d "$ids"
	assert_output ''
	[ "$(wc -l <"$ids")" -eq $((logged + rejected + saved)) ] || fail "$(wc -l <"$ids") ids for $account"
	[ ! -s "$ids" ] || [ "$(head -n 1 "$ids")" -ge 1 ]
	[ ! -s "$ids" ] || [ "$(tail -n 1 "$ids")" -le "$generated" ]
	# and casino-gen said the same
	[ "$(records | jq -s '[.[] | select(.tool == "casino-gen" and .msg == "end of run")][0].events // 0')" -le "$generated" ]
}

# The JSON log records in $err (casino-db's pg_ctl writes plain lines too).
records() {
	grep '^{' "$err"
}

# The pid of stage $1 of the run.
stage_pid() {
	sed -n "s/^$1 \([0-9]*\) .*/\1/p" "$CASINO_RUNDIR"/casino-run.*/launched
}

# 0 when stage $1 of the run holds events now (its health file).
stage_holds() {
	local f
	for f in "$CASINO_RUNDIR"/casino-run.*/stages/"$1".*.json; do
		[ "$(jq .held "$f" 2>/dev/null || echo 0)" -gt 0 ] && return 0
	done
	return 1
}

# Wait until the run's stage $1 holds events and its input has backed up:
# stage $2 before it wrote at least 100 more than it read (casino-gen,
# which has no health file: $1 has held for a second, at -r 400).
wait_backlog() {
	wait_until 30 stage_holds "$1" || fail "$1 never held: $(cat "$err")"
	if [ "$2" = casino-gen ]; then
		wait_until 30 held_for_a_second "$1" || fail "$1 stopped holding"
	else
		wait_until 30 backed_up "$1" "$2" || fail "nothing queued before $1"
	fi
}
held_for_a_second() {
	local f since
	for f in "$CASINO_RUNDIR"/casino-run.*/stages/"$1".*.json; do
		since=$(jq .held_since_ms "$f")
		[ "$since" -gt 0 ] && [ $(($(date +%s%3N) - since)) -ge 1000 ] && return 0
	done
	return 1
}
backed_up() {
	local dir=("$CASINO_RUNDIR"/casino-run.*/stages) before after
	before=$(jq -s '[.[] | select(.stage == "'"$2"'") | .out] | add // 0' "${dir[0]}"/*.json)
	after=$(jq -s '[.[] | select(.stage == "'"$1"'") | .in] | add // 0' "${dir[0]}"/*.json)
	[ $((before - after)) -ge 100 ]
}

@test "casino-run: the database stopped, then SIGTERM: the held and queued events saved in a reject folder of the run, every event accounted, exit 69" {
	casino-run -p "$port" -n 5000 -r 400 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	casino-db stop >/dev/null 2>&1
	wait_backlog casino-player casino-fx
	kill -TERM "$run_pid"
	wait_pid "$run_pid"
	run_pid=
	[ "$waited" -eq 69 ] || fail "exit $waited: $(cat "$err")"
	assert_accounted
	[ "$lost" -eq 0 ]
	[ "$saved" -ge 100 ]
	# the folder is a new one under the state folder, and casino-player's file holds them
	[[ $rejects == "$CASINO_STATE_DIR"/rejects/* ]] || fail "reject folder $rejects"
	assert_equal "$(wc -l <"$rejects/casino-player.ndjson")" "$saved"
	run jq -c 'select(.msg == "stopped holding events; saved to the reject file") | [.tool, .saved]' < <(records)
	assert_output "[\"casino-player\",$saved]"
}

@test "casino-run -R: the rate API failing (a loopback fake), then SIGTERM: casino-fx saves what it holds and all behind it, exit 69" {
	local api=$BATS_TEST_TMPDIR/api
	mkdir "$api"
	echo 200 >"$api/answer.1.status"
	printf '%s' '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.0705,"GBP":0.84638,"NZD":1.7585,"BTC":0.0000163}}' >"$api/answer.1.body"
	echo 500 >"$api/answer.status"
	printf '%s' '{"error":"down"}' >"$api/answer.body"
	serve_fake fx_api.bash "$api"
	other_pid=$fake_pid
	CASINO_FX_URL=http://127.0.0.1:$fake_port/live CASINO_FX_MAX_AGE=1 \
		casino-run -p "$port" -n 5000 -r 400 -R "$BATS_TEST_TMPDIR/rej" >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	wait_backlog casino-fx casino-gen
	kill -TERM "$run_pid"
	wait_pid "$run_pid"
	run_pid=
	[ "$waited" -eq 69 ] || fail "exit $waited: $(cat "$err")"
	assert_accounted "$BATS_TEST_TMPDIR/rej"
	assert_equal "$rejects" "$BATS_TEST_TMPDIR/rej"
	[ "$lost" -eq 0 ]
	[ "$saved" -ge 100 ]
	assert_equal "$(wc -l <"$rejects/casino-fx.ndjson")" "$saved"
	# saved as casino-fx read them: no amount_eur yet
	run jq -c 'select(has("amount_eur"))' "$rejects/casino-fx.ndjson"
	assert_output ''
}

@test "casino-run: SIGKILL of each stage in turn: the stage named, the others stopped, the lost events counted, exit 70" {
	local stage pid
	for stage in casino-gen casino-fx casino-player casino-describe casino-tee-agg; do
		rm -rf "$BATS_TEST_TMPDIR/rej"
		CASINO_REJECT_DIR=$BATS_TEST_TMPDIR/rej casino-run -p "$port" -r 200 >"$log" 2>"$err" &
		run_pid=$!
		wait_snapshot
		pid=$(stage_pid "$stage")
		kill -KILL "$pid"
		wait_pid "$run_pid"
		run_pid=
		[ "$waited" -eq 70 ] || fail "$stage killed: exit $waited: $(cat "$err")"
		run jq -c 'select(.msg | startswith("a stage died")) | [.stage, .signal]' < <(records)
		assert_output "[\"$stage\",\"SIGKILL\"]"
		assert_accounted
		assert_equal "$rejects" "$BATS_TEST_TMPDIR/rej" # CASINO_REJECT_DIR
		run jq -r 'select(.msg | startswith("run accounted")) | .status' < <(records)
		assert_output 70
	done
}

# kill_run_and_count: SIGKILL casino-run (run_pid); within 10 s nothing
# it started is left (its stages stop by the lifeline, socat by its
# parent-death signal) and every id 1..the last is in the log or the
# reject folder, once.
kill_run_and_count() {
	rejects=$(echo "$CASINO_STATE_DIR"/rejects/*."$run_pid")
	kill -KILL "$run_pid"
	wait_pid "$run_pid"
	assert_equal "$waited" 137
	run_pid=
	wait_until 10 all_gone || fail "left after 10 s: $(cat "$BATS_TEST_TMPDIR/started")"
	run ss -Hltn "sport = :$port"
	assert_output ''
	local ids=$BATS_TEST_TMPDIR/ids
	cat "$log" "$rejects"/*.ndjson 2>/dev/null | jq .id | sort -n >"$ids"
	run uniq -d "$ids"
	assert_output ''
	[ "$(wc -l <"$ids")" -gt 0 ]
	# 1..the last id, none missing (casino-gen died first: its last id is
	# the greatest).
	[ "$(wc -l <"$ids")" -eq "$(tail -n 1 "$ids")" ] || fail "$(wc -l <"$ids") ids, the last $(tail -n 1 "$ids")"
	echo "casino-run SIGKILLed: $(wc -l <"$ids") ids, $(cat "$rejects"/*.ndjson 2>/dev/null | wc -l) in the reject folder, none twice" >&3
}

@test "casino-run SIGKILLed, the database down: within 10 s nothing of the run is left, every id in the log or the reject folder" {
	casino-run -p "$port" -r 400 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	started_processes | grep -v '^postgres' >"$BATS_TEST_TMPDIR/started"
	casino-db stop >/dev/null 2>&1
	wait_backlog casino-player casino-fx
	kill_run_and_count
	[ -s "$rejects/casino-player.ndjson" ]
}

@test "casino-run SIGKILLed while healthy: within 10 s nothing of the run is left, every id in the log or the reject folder" {
	casino-run -p "$port" -r 400 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	started_processes | grep -v '^postgres' >"$BATS_TEST_TMPDIR/started"
	kill_run_and_count
}

@test "casino-run: a front end that dies is started again, logged; the pipeline goes on" {
	casino-run -p "$port" -r 100 >"$log" 2>"$err" &
	run_pid=$!
	wait_snapshot
	local socat
	socat=$(ps -o pid=,comm= --ppid "$run_pid" | awk '$2 == "socat" { print $1 }')
	[ -n "$socat" ]
	kill -KILL "$socat"
	wait_grep "$err" '"msg":"casino-serve ended; starting it again"'
	wait_grep "$err" '"msg":"serving again"'
	wait_until 10 counts_events "$port"
	kill -TERM "$run_pid"
	wait "$run_pid"
	run_pid=
	check_log
}

@test "casino-run -l: the log moved away and SIGUSR1 (logrotate's create + postrotate): every id in exactly one of the two files" {
	local file=$BATS_TEST_TMPDIR/events.log
	casino-run -p "$port" -n 2000 -r 400 -l "$file" >"$log" 2>"$err" &
	run_pid=$!
	wait_until 60 file_lines_over "$file" 100
	mv "$file" "$file.1"
	kill -USR1 "$run_pid"
	wait_until 10 test -s "$file"
	wait_pid "$run_pid"
	run_pid=
	assert_equal "$waited" 0
	[ ! -s "$log" ]
	[ "$(wc -l <"$file.1")" -ge 100 ]
	cat "$file.1" "$file" | jq .id | sort -n >"$BATS_TEST_TMPDIR/ids"
	run uniq -d "$BATS_TEST_TMPDIR/ids"
	assert_output ''
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/ids")" 2000
	assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/ids")" 2000
}

@test "cron's environment (env -i PATH=/usr/bin:/bin, no HOME, no terminal): casino-run -n as make run starts it ends, exit 0, every id logged, stderr only records" {
	local file=$BATS_TEST_TMPDIR/events.log rundir pid
	# What cron gives it: cron's PATH, no HOME, no terminal (a session of
	# its own), no CASINO_RUNDIR; CASINO_BIN only for the build under test
	# (installed, the scripts find the programs beside them). Root's
	# crontab line sets no state folder either: the default,
	# /var/lib/casino, is a tmpfs in a mount namespace of the run's own,
	# so this machine's stays untouched. Elsewhere the line names one.
	local -a ns=() state=(CASINO_STATE_DIR="$CASINO_STATE_DIR")
	if [ "$(id -u)" -eq 0 ] && unshare -m sh -c 'mount -t tmpfs tmpfs /var/lib' 2>/dev/null; then
		# shellcheck disable=SC2016 # $@ is the inner shell's
		ns=(unshare -m sh -c 'mount -t tmpfs -o mode=755 tmpfs /var/lib && exec "$@"' sh)
		state=()
	fi
	rundir=$(env -i PATH=/usr/bin:/bin "$CASINO_BIN/casino-env" rundir)
	setsid -w "${ns[@]}" env -i PATH=/usr/bin:/bin "${state[@]}" CASINO_BIN="$CASINO_BIN" \
		"$CASINO_ROOT/scripts/casino-run" -p "$port" -n 500 -r 500 -l "$file" </dev/null >"$log" 2>"$err" &
	run_pid=$!
	wait_until 60 test -s "$file.pid" || fail "no pid file: $(cat "$err")"
	pid=$(cat "$file.pid")
	[ -d "$rundir/casino-run.$pid" ] || fail "not in the default runtime folder $rundir"
	wait_pid "$run_pid"
	run_pid=
	[ "$waited" -eq 0 ] || fail "exit $waited: $(cat "$err")"
	[ ! -s "$log" ]
	run jq -e . "$err"
	assert_success
	[ ! -e "$rundir/casino-run.$pid" ]
	[ ! -e "$file.pid" ]
	log=$file
	check_log
	assert_equal "$(wc -l <"$log")" 500
	assert_accounted
	assert_equal "$logged" 500
	[ "${#ns[@]}" -eq 0 ] || grep -q '"msg":"creating cluster in /var/lib/casino/pg/data"' "$err"
}

@test "casino-run with its log on a full disk (stdout on /dev/full) exits 74, the events not logged counted as lost" {
	local status=0
	CASINO_REJECT_DIR=$BATS_TEST_TMPDIR/not-this casino-run -p "$port" -n 50 -r 100 -R "$BATS_TEST_TMPDIR/rej" \
		>/dev/full 2>"$err" || status=$?
	assert_equal "$status" 74
	run jq -r 'select(.msg == "cannot write to stdout") | .tool' < <(records)
	assert_output casino-tee-agg
	log=/dev/null
	assert_accounted
	assert_equal "$rejects" "$BATS_TEST_TMPDIR/rej" # the option wins
	[ ! -e "$BATS_TEST_TMPDIR/not-this" ]
	assert_equal "$logged" 0
}

@test "options: -h, usage errors exit 64 before anything starts" {
	run casino-run -h
	assert_success
	assert_output --partial 'usage: casino-run [-l file] [-p port] [-n count] [-t seconds] [-r rate] [-s seed] [-R dir]'
	run -0 casino-run --help
	assert_output --partial '--duration'
	assert_output --partial '--reject-dir'
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
	[[ $stderr == *'"variable":"CASINO_LOG_LEVEL","value":"loud"'* ]]
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
