# Common setup for every suite: bats-support/bats-assert, the programs under
# test first on PATH, a private temp dir, and helpers for servers on free ports.
# shellcheck shell=bash disable=SC2154 # status, output, stderr: set by bats' run
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

CASINO_ROOT=${CASINO_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
CASINO_BIN=${CASINO_BIN:-$CASINO_ROOT/build}
FIXTURES=$CASINO_ROOT/tests/fixtures
PATH=$CASINO_BIN:$CASINO_BIN/test:$CASINO_ROOT/scripts:$PATH
export CASINO_ROOT CASINO_BIN FIXTURES PATH
export CASINO_LOG_FORMAT=json
unset CASINO_DB CASINO_FX_URL CASINO_FX_KEY CASINO_LOG_LEVEL
# Each suite's own runtime folder: the default one is shared by every run
# of the user, and a stage another run left there shows in /metrics and
# /healthz.
export CASINO_RUNDIR=$BATS_FILE_TMPDIR/rundir
# As root casino-db runs the server as postgres, which must reach the state
# folders the suites make in bats' temp folder, made 0700 by mktemp; casino-db
# opens no folder on the way itself (casino-db(1)), so the suites let others
# search (not list) their own.
if [ "$(id -u)" -eq 0 ]; then
	chmod o+x "$BATS_RUN_TMPDIR"
fi

# A TCP port on 127.0.0.1 that nothing listens on right now. It is taken
# below the kernel's ephemeral range: a port there may be the local end of
# some client connection (or its TIME_WAIT), and then bind(2) fails.
free_port() {
	local port low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$low" -gt 11024 ] || low=32768
	while :; do
		port=$((10000 + RANDOM % (low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# 0 when a TCP port on 127.0.0.1 accepts a connection now.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Wait up to $2 seconds (default 5) for a TCP port on 127.0.0.1 to accept.
wait_port() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# stop_pids PID...: stop each process this test started, by its own pid,
# and reap it; empty arguments are skipped.
stop_pids() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		kill -CONT "$pid" 2>/dev/null || true # a test may have stopped it
		wait "$pid" 2>/dev/null || true
	done
}

# serve_snapshot FILE [OPTION...]: casino-serve for the snapshot FILE (none
# when empty: casino-serve's default) and the options, on a port the kernel picks (-p 0: casino-serve's "listening"
# record names it, so no port is probed and none is raced for); sets port,
# url and serve_pid (the suite's teardown stops it); its stderr in
# $BATS_TEST_TMPDIR/serve.err. Fails, showing that stderr, when it does not
# listen.
# shellcheck disable=SC2034 # the suites read them
serve_snapshot() {
	local file=$1 err=$BATS_TEST_TMPDIR/serve.err
	shift
	: >"$err"
	casino-serve -p 0 ${file:+-f "$file"} "$@" 2>"$err" &
	serve_pid=$!
	port=''
	wait_until 10 grep -q '"msg":"listening"' "$err" || {
		cat "$err" >&2
		return 1
	}
	port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$err")
	url=http://127.0.0.1:$port
}

# serve_fake SCRIPT DIR: a scripted HTTP fake of this folder (fx_api.bash,
# rates_api.bash) under socat on a port the kernel picks (casino-env
# listen-port says which), answering from DIR; sets fake_port and fake_pid
# (the caller's teardown stops it).
# shellcheck disable=SC2034 # the suites read them
serve_fake() {
	socat "TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"bash $BATS_TEST_DIRNAME/$1 $2" >/dev/null 2>&1 &
	fake_pid=$!
	fake_port=$(casino-env listen-port "$fake_pid")
}

# Wait up to $1 seconds for the command after it to succeed; 1 on timeout.
#   wait_until 15 grep -q 'database back' "$dir/err" || fail "..."
wait_until() {
	local limit=$(($1 * 20)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

# wait_grep FILE PATTERN [SECONDS]: wait (default 30 s) until grep finds
# PATTERN in FILE; fails showing FILE otherwise.
wait_grep() {
	wait_until "${3:-30}" grep -q -- "$2" "$1" || fail "no \"$2\" in $1: $(cat "$1" 2>/dev/null)"
}

# wait_pid PID: wait for the background process PID; its exit status in
# $waited.
# shellcheck disable=SC2034 # the suites read it
wait_pid() {
	waited=0
	wait "$1" || waited=$?
}

# bg CMD...: in the background, stdin from $IN, stdout to $OUT (both default
# /dev/null; appended with APPEND=1), stderr appended to $ERR (default
# $T/stderr); the child opens them, so FIFOs do not block the test. PIDS
# and LAST_PID get its pid (the suite's teardown stops PIDS).
bg() {
	if [ "${APPEND:-0}" = 1 ]; then
		"$@" <"${IN:-/dev/null}" >>"${OUT:-/dev/null}" 2>>"${ERR:-$T/stderr}" &
	else
		"$@" <"${IN:-/dev/null}" >"${OUT:-/dev/null}" 2>>"${ERR:-$T/stderr}" &
	fi
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# ev ID TYPE AMOUNT CURRENCY [CREATED_AT]: one event line of player 10,
# game 100 (created 2024-06-28T12:00:00Z unless given).
ev() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"%s","amount":%s,"currency":"%s","created_at":"%s"}\n' \
		"$1" "$2" "$3" "$4" "${5:-2024-06-28T12:00:00Z}"
}

# requests: how many requests the fake rate API of folder $api answered
# (fx_api.bash, rates_api.bash log one line each).
requests() {
	wc -l <"$api/requests"
}

# Succeeds when process $1 has ended: gone, or a zombie its parent has not
# reaped yet (here pid 1 may never reap an orphan).
process_gone() {
	local state
	state=$(ps -o stat= -p "$1") || return 0
	[[ $state == Z* ]]
}

# Succeeds once PID is stopped (SIGSTOP has taken effect).
process_stopped() {
	[[ $(ps -o stat= -p "$1") == T* ]]
}

# The shared bad-input corpus: one bad line per case, each a different way a
# line can fail to be an event. Written to $1, one per line (raw bytes).
write_bad_lines() {
	local ok='"player_id":10,"game_id":100,"type":"game_start","created_at":"2022-01-10T12:34:56Z"'
	{
		printf '%s\n' 'not json'
		printf '%s\n' '[1,2,3]'
		printf '%s\n' '"a string"'
		printf '%s\n' '{"id":"1",'"$ok"'}'
		printf '%s\n' '{"id":1.5,'"$ok"'}'
		printf '%s\n' '{"id":-1,'"$ok"'}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"jackpot","created_at":"2022-01-10T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2022-13-10T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2023-02-29T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"yesterday"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"game_start"}'
		printf '%s\n' '{"id":1,"player_id":10,"type":"bet","amount":5,"currency":"EUR","created_at":"2022-01-10T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":-5,"currency":"EUR","created_at":"2022-01-10T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":5,"created_at":"2022-01-10T12:34:56Z"}'
		printf '%s\n' '{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":5,"currency":"EUR","has_won":"yes","created_at":"2022-01-10T12:34:56Z"}'
		printf '{"id":1,%s,"note":"a\0b"}\n' "$ok"
		printf '{"id":1,%s,"note":"\377\376"}\n' "$ok"
		printf '%s\n' '{"id":1,'"$ok"'} trailing'
		printf '%s\n' '{"id":1,"id":2,'"$ok"'}'
		printf '\n'
	} >"$1"
}

# A good event line with id $1 (game_start of player 10 unless $2 gives the
# rest of the object after the id).
good_line() {
	printf '{"id":%s,%s}\n' "$1" "${2:-\"player_id\":10,\"game_id\":100,\"type\":\"game_start\",\"created_at\":\"2022-01-10T12:34:56Z\"}"
}

# Every bad line of the corpus, between good lines, through "$@": the tool
# must exit 65, log an error naming each bad line's number, append each bad
# line byte for byte to --reject, and treat the good lines exactly as it
# treats them alone. Usage: assert_rejects_bad_input casino-describe [args]
assert_rejects_bad_input() {
	local dir=$BATS_TEST_TMPDIR n i lineno
	write_bad_lines "$dir/bad"
	n=$(wc -l <"$dir/bad")
	: >"$dir/mixed"
	: >"$dir/good"
	for ((i = 1; i <= n; i++)); do
		good_line "$i" >>"$dir/good"
		good_line "$i" >>"$dir/mixed"
		sed -n "${i}p" "$dir/bad" >>"$dir/mixed"
	done
	good_line 999 >>"$dir/good"
	good_line 999 >>"$dir/mixed"
	"$@" <"$dir/good" >"$dir/expected" 2>/dev/null
	rm -f "$dir/rejects"
	run --separate-stderr "$@" --reject "$dir/rejects" <"$dir/mixed"
	printf '%s\n' "$stderr" >"$dir/stderr"
	[ "$status" -eq 65 ] || fail "exit $status, expected 65"
	cmp "$dir/expected" <(printf '%s\n' "$output") || fail "good lines differ"
	cmp "$dir/bad" "$dir/rejects" || fail "reject file differs from the bad lines"
	for ((i = 1; i <= n; i++)); do
		lineno=$((2 * i))
		grep -q "\"level\":\"error\".*\"line\":$lineno}" "$dir/stderr" ||
			fail "no error record for line $lineno: $(cat "$dir/stderr")"
	done
}

# suite_db_start: a private database for the whole suite (casino-db,
# migrated, under $BATS_FILE_TMPDIR/state), for setup_file; SUITE_DB is its
# connection string. suite_db_stop, for teardown_file, stops it.
suite_db_start() {
	export CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
	SUITE_DB=$(casino-db start 2>/dev/null)
	export SUITE_DB
	casino-db migrate 2>/dev/null
}
suite_db_stop() {
	casino-db stop >/dev/null 2>&1 || true
}

# A casino-player on a private database (casino-db, migrated), its input a
# fifo the test writes on fd 5; sets db, db_started and player_pid (the
# suite's teardown closes fd 5, stops the player and the database).
# shellcheck disable=SC2034 # the suites read them
player_on_private_db() {
	export CASINO_STATE_DIR=$BATS_TEST_TMPDIR/state
	db=$(casino-db start 2>/dev/null)
	db_started=1
	casino-db migrate 2>/dev/null
	mkfifo "$BATS_TEST_TMPDIR/player.in"
	casino-player -d "$db" <"$BATS_TEST_TMPDIR/player.in" >/dev/null 2>&1 &
	player_pid=$!
	exec 5>"$BATS_TEST_TMPDIR/player.in"
}

# count_ids N FILE...: over the event lines of the files (log and reject
# files), MISSING ids of 1..N, DUPLICATED lines beyond one per id, and
# DUP_IDS the first duplicated ids, to name them.
# shellcheck disable=SC2034 # the suites read them
count_ids() {
	local n=$1
	shift
	cat "$@" 2>/dev/null | sed -n 's/^{"id":\([0-9]*\),.*/\1/p' >"$BATS_TEST_TMPDIR/ids"
	MISSING=$((n - $(sort -un "$BATS_TEST_TMPDIR/ids" | awk -v n="$n" '$1 >= 1 && $1 <= n' | wc -l)))
	DUPLICATED=$(($(wc -l <"$BATS_TEST_TMPDIR/ids") - $(sort -un "$BATS_TEST_TMPDIR/ids" | wc -l)))
	DUP_IDS=$(sort -n "$BATS_TEST_TMPDIR/ids" | uniq -d | head -n 5 | tr '\n' ' ')
}

# file_has FILE N: FILE holds N lines at least.
file_has() {
	[ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}
