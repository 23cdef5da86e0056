#!/usr/bin/env bats
# casino-db: one private cluster for the suite in a temp state folder,
# created once by setup_file; tests start and stop it as they need.
load helpers

setup_file() {
	export CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
	casino-db init 2>/dev/null
}

teardown_file() {
	casino-db stop >/dev/null 2>&1 || true
	CASINO_STATE_DIR=$BATS_FILE_TMPDIR/closed/state casino-db stop >/dev/null 2>&1 || true
}

setup() {
	pg=$CASINO_STATE_DIR/pg
	expected="host='$pg' port=5432 dbname=casino user=casino"
}

teardown() {
	[ -z "${tcp_port:-}" ] || casino-db stop >/dev/null 2>&1 || true
}

@test "init made the cluster; a second init changes nothing and succeeds" {
	[ -f "$pg/data/PG_VERSION" ]
	before=$(stat -c %Y "$pg/data/PG_VERSION")
	run --separate-stderr casino-db init
	assert_success
	assert_output ''
	[[ $stderr == *'already initialised'* ]]
	[ "$(stat -c %Y "$pg/data/PG_VERSION")" = "$before" ]
	if [ "$(id -u)" -eq 0 ]; then
		[ "$(stat -c %U "$pg/data")" = postgres ]
	fi
}

@test "status: 3 while stopped, 0 with the conninfo while running" {
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db status
	assert_equal "$status" 3
	assert_output ''
	casino-db start >/dev/null 2>&1
	run --separate-stderr casino-db status
	assert_success
	assert_output "$expected"
}

@test "status: 4 when there is no cluster" {
	CASINO_STATE_DIR=$BATS_TEST_TMPDIR/none run --separate-stderr casino-db status
	assert_equal "$status" 4
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "start prints only the conninfo; a second start prints it again" {
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db start
	assert_success
	assert_output "$expected"
	[ -S "$pg/.s.PGSQL.5432" ]
	run --separate-stderr casino-db start
	assert_success
	assert_output "$expected"
	[[ $stderr == *'already running'* ]]
	run psql -X -tA -d "$expected" -c 'SELECT current_database() || current_user'
	assert_output casinocasino
}

@test "the server listens on no TCP port unless asked" {
	casino-db start >/dev/null 2>&1
	run psql -X -tA -d "$expected" -c 'SHOW listen_addresses'
	assert_success
	assert_output ''
}

@test "as root the server runs as postgres" {
	[ "$(id -u)" -eq 0 ] || skip "not root"
	casino-db start >/dev/null 2>&1
	pid=$(head -n 1 "$pg/data/postmaster.pid")
	[ "$(ps -o user= -p "$pid")" = postgres ]
}

@test "-p PORT and CASINO_DB_PORT: also 127.0.0.1:PORT; the option wins" {
	casino-db stop 2>/dev/null
	tcp_port=$(free_port)
	run --separate-stderr casino-db -p "$tcp_port" start
	assert_success
	assert_output "host='$pg' port=$tcp_port dbname=casino user=casino"
	wait_port "$tcp_port"
	run psql -X -tA -d "host=127.0.0.1 port=$tcp_port dbname=casino user=casino" -c 'SELECT 7'
	assert_output 7
	run casino-db conninfo
	assert_output "host='$pg' port=$tcp_port dbname=casino user=casino"
	casino-db stop 2>/dev/null
	other=$(free_port)
	CASINO_DB_PORT=$other run --separate-stderr casino-db --port "$tcp_port" start
	assert_output "host='$pg' port=$tcp_port dbname=casino user=casino"
	casino-db stop 2>/dev/null
	CASINO_DB_PORT=$tcp_port run --separate-stderr casino-db start
	assert_output "host='$pg' port=$tcp_port dbname=casino user=casino"
	wait_port "$tcp_port"
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db start
	assert_output "$expected"
	run ! port_open "$tcp_port"
}

@test "bad ports are usage errors (exit 64)" {
	for p in 0 65536 x 08 ''; do
		run --separate-stderr casino-db -p "$p" status
		assert_equal "$status" 64
	done
	CASINO_DB_PORT=abc run --separate-stderr casino-db status
	assert_equal "$status" 64
	[[ $stderr == *"bad CASINO_DB_PORT: 'abc'"* ]]
}

@test "migrate: the five players, idempotent, edits kept, new ids after them" {
	casino-db start >/dev/null 2>&1
	run --separate-stderr casino-db migrate
	assert_success
	assert_output ''
	run casino-db psql -X -tA -F ' ' -c 'SELECT id, email FROM players ORDER BY id'
	assert_output "$(printf '%s\n' '10 john@example.com' '11 jane@example.com' '12 bob@example.com' '13 rick@example.com' '14 morty@example.com')"
	# Signed in 1 h, 3 h, 2 d, 5 h and 1 d ago (rounded to the hour).
	run casino-db psql -X -tA -F ' ' -c "SELECT id, round(extract(epoch FROM now() - last_signed_in_at) / 3600) FROM players ORDER BY id"
	assert_output "$(printf '%s\n' '10 1' '11 3' '12 48' '13 5' '14 24')"
	casino-db psql -X -q -c "UPDATE players SET email = 'kept@example.com' WHERE id = 12"
	run --separate-stderr casino-db migrate
	assert_success
	run casino-db psql -X -tA -c 'SELECT count(*), min(email) FILTER (WHERE id = 12) FROM players'
	assert_output '5|kept@example.com'
	run casino-db psql -X -tAq -c "INSERT INTO players (email) VALUES ('new@example.com') RETURNING id"
	assert_output 15
	casino-db psql -X -q -c 'DELETE FROM players WHERE id = 15'
	casino-db psql -X -q -c "UPDATE players SET email = 'bob@example.com' WHERE id = 12"
}

@test "migrate: casino-player's lookup reads the index alone (covering index, vacuumed), again on a second migrate" {
	casino-db start >/dev/null 2>&1
	for _ in 1 2; do
		run --separate-stderr casino-db migrate
		assert_success
		run casino-db psql -X -tA -c "SELECT indexdef FROM pg_indexes WHERE indexname = 'players_lookup'"
		assert_output 'CREATE INDEX players_lookup ON public.players USING btree (id) INCLUDE (email, last_signed_in_at)'
		run casino-db psql -X -q -tA -c 'SET enable_seqscan = off' -c "EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off)
			SELECT id, email, last_signed_in_at FROM players WHERE id = ANY('{10,12,99}'::int8[])"
		assert_success
		assert_line --index 0 'Index Only Scan using players_lookup on players (actual rows=2 loops=1)'
		assert_line '  Heap Fetches: 0'
	done
}

@test "migrate and psql go to CASINO_DB when it is set" {
	casino-db start >/dev/null 2>&1
	CASINO_DB="$expected" run --separate-stderr casino-db migrate
	assert_success
	CASINO_DB="$expected" run casino-db psql -X -tA -c 'SELECT count(*) FROM players'
	assert_output 5
	CASINO_DB="host=$BATS_TEST_TMPDIR port=5432 dbname=casino" run --separate-stderr casino-db migrate
	assert_equal "$status" 69
	[[ $stderr == *'cannot connect to the database'* ]]
}

@test "migrate and psql on a stopped server: exit 69 with a hint" {
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db migrate
	assert_equal "$status" 69
	[[ $stderr == *'casino-db start'* ]]
	run --separate-stderr casino-db psql -c 'SELECT 1'
	assert_equal "$status" 69
}

@test "psql passes its arguments on" {
	casino-db start >/dev/null 2>&1
	run casino-db psql -X -tA -c 'SELECT 6 * 7'
	assert_success
	assert_output 42
}

@test "stop twice: both succeed, the server is gone" {
	casino-db start >/dev/null 2>&1
	pid=$(head -n 1 "$pg/data/postmaster.pid")
	run --separate-stderr casino-db stop
	assert_success
	assert_output ''
	wait_until 5 process_gone "$pid"
	[ ! -e "$pg/.s.PGSQL.5432" ]
	run --separate-stderr casino-db stop
	assert_success
	[[ $stderr == *'not running'* ]]
}

@test "conninfo works while stopped" {
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db conninfo
	assert_success
	assert_output "$expected"
}

@test "a state folder behind a closed (0700) folder: root's postgres cannot reach it, exit 77 naming the folder, nothing opened" {
	[ "$(id -u)" -eq 0 ] || skip "not root"
	closed=$BATS_FILE_TMPDIR/closed
	mkdir -m 700 "$closed"
	export CASINO_STATE_DIR=$closed/state
	run --separate-stderr casino-db start
	assert_failure 77
	assert_output ''
	run jq -r 'select(.level == "error") | [.folder, .mode] | @tsv' <<<"$stderr"
	assert_output "$(printf '%s\t700' "$closed")"
	[ "$(stat -c %a "$closed")" = 700 ]
	[ ! -e "$closed/state/pg/data" ]
}

# cron DIR ARG...: casino-db ARG... as cron runs it: only PATH=/usr/bin:/bin
# (no /usr/sbin, where runuser is), no HOME, no terminal; CASINO_STATE_DIR=DIR,
# and CASINO_BIN, the programs under test (an installed casino-db finds
# its own beside it; this one would take the tree's build/, which
# make check-asan does not make).
cron() {
	local dir=$1
	shift
	env -i PATH=/usr/bin:/bin CASINO_BIN="$CASINO_BIN" CASINO_STATE_DIR="$dir" "$CASINO_ROOT/scripts/casino-db" "$@"
}

@test "cron's environment (env -i PATH=/usr/bin:/bin, no HOME): init, start, migrate, status, stop work; stderr holds only records" {
	local state=$BATS_TEST_TMPDIR/cron cmd
	for cmd in start migrate status stop; do
		run --separate-stderr cron "$state" "$cmd"
		assert_success
		printf '%s\n' "$stderr" | jq -e . >/dev/null || fail "$cmd: not JSON records: $stderr"
	done
	run --separate-stderr cron "$state" status
	assert_equal "$status" 3
	run --separate-stderr cron "$state" start
	assert_output "host='$state/pg' port=5432 dbname=casino user=casino"
	run psql -X -tA -d "$output" -c 'SELECT count(*) FROM players'
	assert_output 5
	cron "$state" stop 2>/dev/null
	# The folders casino-db made let others search, not list.
	[ "$(stat -c %a "$state")" = 711 ]
}

@test "no HOME and no CASINO_STATE_DIR: a user's state folder is under the passwd database's home" {
	[ "$(id -u)" -eq 0 ] || skip "not root"
	local home
	home=$(getent passwd nobody | cut -d: -f6)
	run --separate-stderr /usr/sbin/runuser -u nobody -- env -i PATH=/usr/bin:/bin CASINO_BIN="$CASINO_BIN" \
		"$CASINO_ROOT/scripts/casino-db" conninfo
	assert_success
	assert_output "host='$home/.local/state/casino/pg' port=5432 dbname=casino user=casino"
	assert_equal "$stderr" ''
}

@test "pg_ctl fails before the server writes a word: the error quotes this attempt's pg_ctl lines, never a stale server.log" {
	casino-db stop 2>/dev/null
	local log=$pg/server.log owner
	owner=$(stat -c %U "$log")
	# A server.log the server's account cannot append to, with an old line.
	mv "$log" "$log.kept"
	echo 'STALE line of an older run' >"$log"
	chmod 444 "$log"
	[ "$(id -u)" -ne 0 ] || chown root: "$log"
	run --separate-stderr casino-db start
	rm -f "$log"
	mv "$log.kept" "$log"
	assert_failure 69
	run jq -r 'select(.level == "error") | .msg + " | " + .log + " | " + .tail' <<<"$stderr"
	assert_output --partial "server did not start | $pg/pg_ctl.log | "
	assert_output --partial 'Permission denied'
	refute_output --partial 'STALE'
	[ "$(stat -c %U "$log")" = "$owner" ]
}

@test "state folder default: \$XDG_STATE_HOME/casino, else ~/.local/state/casino, for root /var/lib/casino" {
	unset CASINO_STATE_DIR
	XDG_STATE_HOME=$BATS_TEST_TMPDIR/xdg run --separate-stderr casino-db conninfo
	assert_output "host='$BATS_TEST_TMPDIR/xdg/casino/pg' port=5432 dbname=casino user=casino"
	# Root's is where postgres may go without opening /root (chmod o+x).
	local home_default="$BATS_TEST_TMPDIR/home/.local/state/casino/pg"
	[ "$(id -u)" -ne 0 ] || home_default=/var/lib/casino/pg
	HOME=$BATS_TEST_TMPDIR/home XDG_STATE_HOME='' run --separate-stderr casino-db conninfo
	assert_output "host='$home_default' port=5432 dbname=casino user=casino"
}

@test "start and stop: stderr holds only log records, pg_ctl's words go to pg/pg_ctl.log" {
	casino-db stop 2>/dev/null
	run --separate-stderr casino-db start
	assert_success
	assert_output "$expected"
	printf '%s\n' "$stderr" | jq -e . >/dev/null || fail "not JSON records: $stderr"
	run --separate-stderr casino-db stop
	assert_success
	printf '%s\n' "$stderr" | jq -e . >/dev/null || fail "not JSON records: $stderr"
	grep -q 'server started' "$pg/pg_ctl.log"
	grep -q 'server stopped' "$pg/pg_ctl.log"
}

@test "a server that cannot start: one error record with the server log's last lines" {
	casino-db stop 2>/dev/null
	echo 'max_connections = bogus' >>"$pg/data/postgresql.auto.conf"
	run --separate-stderr casino-db start
	sed -i '/max_connections = bogus/d' "$pg/data/postgresql.auto.conf"
	assert_failure 69
	printf '%s\n' "$stderr" | jq -e . >/dev/null || fail "not JSON records: $stderr"
	run jq -r 'select(.level == "error") | .msg + ": " + .log + ": " + .tail' <<<"$stderr"
	assert_output --partial "server did not start: $pg/server.log: "
	assert_output --partial 'max_connections'
}

@test "a quote in the state folder's path is escaped in the conninfo" {
	CASINO_STATE_DIR="$BATS_TEST_TMPDIR/it's" run --separate-stderr casino-db conninfo
	assert_output "host='$BATS_TEST_TMPDIR/it\\'s/pg' port=5432 dbname=casino user=casino"
}

@test "log records: JSON by default off a terminal, text on request" {
	run --separate-stderr casino-db init
	[ "$(printf '%s\n' "$stderr" | jq -r '.tool + " " + .level')" = 'casino-db info' ]
	CASINO_LOG_FORMAT=text run --separate-stderr casino-db init
	[[ $stderr == 'casino-db: info: cluster already initialised in '* ]]
	CASINO_LOG_LEVEL=warn run --separate-stderr casino-db init
	assert_equal "$stderr" ''
}

@test "usage errors exit 64 with the usage line" {
	usage='usage: casino-db [-p port] init|start|stop|status|migrate|conninfo|psql [psql-argument ...]'
	# Each case: the arguments, then the reason the error names.
	while IFS='|' read -r args reason; do
		read -r -a argv <<<"$args"
		run --separate-stderr casino-db "${argv[@]}"
		assert_equal "$status" 64
		assert_equal "$(printf '%s\n' "$stderr" | tail -n 1)" "$usage"
		[[ $(printf '%s\n' "$stderr" | head -n 1 | jq -r .msg) == "$reason"* ]] ||
			fail "casino-db $args: reason not named: $stderr"
	done <<-'EOF'
	|no command
	bogus|unknown command: bogus
	--bogus status|unrecognized option '--bogus'
	status extra|status takes no operands: extra
	-p|option requires an argument -- 'p'
	status -p 5x|bad -p: '5x'
	status --port=0|bad --port: '0'
	EOF
	CASINO_DB_PORT=x run --separate-stderr casino-db status
	assert_equal "$status" 64
	[[ $stderr == *"bad CASINO_DB_PORT: 'x'"* ]]
}

@test "--help and --version" {
	run --separate-stderr casino-db --help
	assert_success
	assert_line --index 0 'usage: casino-db [-p port] init|start|stop|status|migrate|conninfo|psql [psql-argument ...]'
	for w in init start stop status migrate conninfo psql --port CASINO_DB_PORT CASINO_STATE_DIR CASINO_DB; do
		[[ $output == *"$w"* ]] || fail "help lacks $w"
	done
	run -0 casino-db -h
	version=$(casino-player --version)
	run --separate-stderr casino-db -V
	assert_success
	assert_output "casino-db ${version#casino-player }"
	run casino-db --version
	assert_output "casino-db ${version#casino-player }"
}
