#!/usr/bin/env bats
# Docs that run: every shell example of README.md and of the man pages'
# EXAMPLES sections (found by tests/docs-examples) runs in a temp folder
# against the build, a private database and file:// rates, and must succeed.
# An example that cannot run here is listed below with its reason; one that
# runs until interrupted must still be running after $FOREVER seconds.
load helpers

# FILE: TEXT IN THE EXAMPLE -- why it cannot run here
SKIP=(
	'README.md: make run -- port 80 until interrupted; make test runs this suite'
	'README.md: make check-asan -- make test, check-asan, install and the benches: this suite again, installing, minutes'
	'README.md: kafka://$K -- a Kafka cluster at $K: run against the mock cluster by its own test below'
	'README.md: access_key=$CASINO_FX_KEY -- a live rate API and its key'
	'README.md: prometheus --config.file -- a Prometheus on port 9090 until interrupted (metrics.bats runs one)'
	'README.md: /etc/logrotate.d/casino -- writes to /etc on this machine (logrotate.bats runs the real logrotate on the installed file)'
	'README.md: --virtual-time-budget -- a picture of a running casino-serve: run against one by its own test below'
	'man/casino-serve.1: prometheus --config.file -- a Prometheus on port 9090 until interrupted (metrics.bats runs one)'
	'man/casino-fx.1: api.exchangerate.host -- a live rate API and its key'
	'man/casino-replay.1: api.exchangerate.host -- a live rate API and its key'
	'man/casino-player.1: db.example.com -- a remote database'
	'man/casino-produce.1: 127.0.0.1:9092 -- a Kafka broker'
	'man/casino-consume.1: 127.0.0.1:9092 -- a Kafka broker'
	'man/casino-pub.1: k1:9093 -- Kafka brokers with TLS'
	'man/casino-sub.1: k1:9092 -- Kafka brokers'
	'man/casino-tee-agg.1: k1:9092 -- Kafka brokers'
	'man/casino-run.1: casino-run > events.log -- port 80; the curl is typed in a second terminal'
	'man/casino.7: make run -- port 80, until interrupted'
	'man/casino.7: curl localhost/materialized -- asks the make run of the example above'
)

# The examples that run until interrupted: each must still be running
# after FOREVER seconds (timeout's 124).
FOREVER=3
FOREVER_LIST=(
	'man/casino-gen.1: casino-gen -r 1000 -- an endless generator'
	'man/casino-player.1: casino-gen | casino-fx -- an endless pipeline'
	'man/casino-pub.1: casino-gen | casino-pub file: -- an endless generator'
	'man/casino-pub.1: casino-pub --sync --ack -- a worker that follows its log'
	'man/casino-serve.1: casino-serve -b -- a server'
	'man/casino-sub.1: casino-sub -f end -- follows the log'
	'man/casino-tee-agg.1: casino-gen | casino-fx -- an endless pipeline'
)

setup_file() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	export CASINO_STATE_DIR=$BATS_FILE_TMPDIR/state
	casino-db start 2>/dev/null >"$BATS_FILE_TMPDIR/conninfo"
	casino-db migrate 2>/dev/null
	CASINO_DB=$(cat "$BATS_FILE_TMPDIR/conninfo")
	# The files the examples read, as they name them.
	local f=$BATS_FILE_TMPDIR/files
	mkdir -p "$f/rates"
	cp "$CASINO_ROOT/share/rates.json" "$f/rates/2024-06-28.json"
	casino-gen -n 20 -s 1 -T 2024-06-28T12:00:00Z >"$f/events.ndjson"
	casino-fx -u "file://$CASINO_ROOT/share/rates.json" <"$f/events.ndjson" |
		casino-player -d "$CASINO_DB" | casino-describe >"$f/events.log"
	casino-tee-agg -c event -o "$f/stats.json" <"$f/events.log" >/dev/null
	gzip -c "$f/events.ndjson" >"$f/day.ndjson.gz"
	cp "$f/day.ndjson.gz" "$f/2024-06.ndjson.gz"
	cp "$f/day.ndjson.gz" "$f/events-2024-06-28.ndjson.gz"
	zstd -q -c "$f/events.ndjson" >"$f/2024-06-28.ndjson.zst"
}

# helpers.bash unsets CASINO_DB for every test: the examples get this one.
setup() {
	CASINO_DB=$(cat "$BATS_FILE_TMPDIR/conninfo")
	export CASINO_DB
}

teardown() {
	stop_pids "${serve_pid:-}"
}

teardown_file() {
	casino-db stop >/dev/null 2>&1 || true
}

# The parts of an entry "FILE: PATTERN -- REASON".
entry_file() { printf '%s' "${1%%: *}"; }
entry_pattern() { local r=${1#*: }; printf '%s' "${r% -- *}"; }

# listed LIST FILE TEXT: 0 when an entry of the array named LIST is for
# FILE and has its pattern in TEXT; prints the entry's reason.
listed() {
	local -n list=$1
	local e
	for e in "${list[@]}"; do
		if [ "$(entry_file "$e")" = "$2" ] && [[ $3 == *"$(entry_pattern "$e")"* ]]; then
			printf '%s\n' "${e##* -- }"
			return 0
		fi
	done
	return 1
}

# The example as a bash script: run from the repository's top (the README's
# "make && …" there is done already, "$PWD/x" is the repository's), fixed
# paths and ports moved into the temp folder, and the command after a background start retried until it works
# (as someone typing it would), the background jobs stopped at the end.
script_for() {
	local text=$1 port=$2 dir=$3 line after_bg=0
	local bg='[^&]&[[:space:]]*(#.*)?$'
	cat <<'PRE'
set -e -o pipefail
retry() { local i; for ((i = 0; i < 100; i++)); do "$@" && return 0; sleep 0.1; done; "$@"; }
stop_jobs() { local p; for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done; wait || true; }
trap stop_jobs EXIT
PRE
	while IFS= read -r line; do
		line=${line//\/tmp\//$dir\/}
		[[ $line != 'make && '* ]] || line=${line#'make && '}
		line=${line//'$PWD/build'/$CASINO_BIN}
		line=${line//'$PWD/'/$CASINO_ROOT/}
		line=${line//\/srv\/rates\//$dir\/rates\/}
		line=${line//\/var\/lib\/casino\//$dir\/}
		line=${line//\/run\/casino\//$dir\/}
		line=${line//\/usr\/local\/share\/casino\//$CASINO_ROOT\/share\/}
		line=${line//TCP-LISTEN:8080,/TCP-LISTEN:$port,bind=127.0.0.1,}
		line=${line//8080/$port}
		line=${line//localhost\//localhost:$port\/}
		line=${line//0.0.0.0/127.0.0.1}
		if [ "$after_bg" = 1 ] && [ -n "$line" ]; then
			printf '_next() {\n%s\n}\nretry _next\n' "$line"
		else
			printf '%s\n' "$line"
		fi
		after_bg=0
		[[ ! $line =~ $bg ]] || after_bg=1
	done <<<"$text"
}

# run_examples FILE: run every example of FILE; fail naming each that fails.
run_examples() {
	local doc=$1 loc text n=0 failed=0 dir port limit want why bad pid
	local all=$BATS_TEST_TMPDIR/all
	tests_examples "$doc" >"$all"
	local -a locs=() texts=()
	while IFS= read -r line; do
		if [[ $line == '#@ '* ]]; then
			locs+=("${line#'#@ '}")
			texts+=("")
		else
			texts[${#texts[@]} - 1]+="$line"$'\n'
		fi
	done <"$all"
	[ "${#locs[@]}" -gt 0 ] || fail "$doc: no examples found"
	for ((n = 0; n < ${#locs[@]}; n++)); do
		loc=${locs[n]}
		text=${texts[n]}
		if why=$(listed SKIP "$doc" "$text"); then
			echo "# skipped $loc: $why" >&3
			continue
		fi
		limit=60 want=0
		if listed FOREVER_LIST "$doc" "$text" >/dev/null; then
			limit=$FOREVER want=124
		fi
		dir=$BATS_TEST_TMPDIR/ex$n
		mkdir -p "$dir"
		cp -r "$BATS_FILE_TMPDIR/files/." "$dir"
		port=$(free_port)
		script_for "$text" "$port" "$dir" >"$dir/.example"
		local status=0
		(
			cd "$dir" || exit
			export CASINO_RUNDIR=$dir/run CASINO_HTTP_PORT=$port
			# Only an example that names CASINO_FX_URL gets it set.
			if [[ $text == *CASINO_FX_URL* ]]; then
				export CASINO_FX_URL=file://$CASINO_ROOT/share/rates.json
			fi
			exec timeout "$limit" bash .example >.out 2>.err
		) &
		pid=$!
		wait "$pid" || status=$?
		# timeout ran the example in a process group of its own, named by its
		# pid: nothing of it outlives the example. (A casino-gen killed at the
		# timeout once hung for ever in LeakSanitizer's exit check under
		# make check-asan, holding bats' output open.)
		kill -KILL -- "-$pid" 2>/dev/null || true
		# An example may stop or move the shared database: bring it back.
		if ! psql "$CASINO_DB" -Atc 'select 1' >/dev/null 2>&1; then
			casino-db stop >/dev/null 2>&1 || true
			casino-db start >/dev/null 2>&1
		fi
		# A stage that failed inside a pipeline that went on is a failure too.
		bad=$(grep -m 1 -e '"level":"error"' -e '^usage:' "$dir/.err" || true)
		if [ "$status" -ne "$want" ] || [ -n "$bad" ]; then
			failed=$((failed + 1))
			{
				echo "$loc: exit $status, expected $want${bad:+; stderr has: $bad}"
				printf '%s' "$text" | sed 's/^/    $ /'
				echo "  stderr (tail):"
				tail -n 5 "$dir/.err" | sed 's/^/    /'
			} >&2
		fi
	done
	[ "$failed" -eq 0 ] || fail "$doc: $failed of ${#locs[@]} examples failed"
}

tests_examples() {
	(cd "$CASINO_ROOT" && tests/docs-examples "$@")
}

@test "every page with examples has its test here" {
	local pages
	pages=$(cd "$CASINO_ROOT" && tests/docs-examples README.md man/*.[17] | sed -n 's/^#@ \(.*\):[0-9]*$/\1/p' | sort -u)
	for p in $pages; do
		grep -qF "run_examples $p;" "$BATS_TEST_FILENAME" || fail "no test runs the examples of $p"
	done
}

@test "every skip entry still matches an example" {
	local all e
	all=$(tests_examples README.md man/*.[17])
	for e in "${SKIP[@]}" "${FOREVER_LIST[@]}"; do
		awk -v f="$(entry_file "$e")" -v p="$(entry_pattern "$e")" '/^#@ /{cur = $2; sub(/:[0-9]+$/, "", cur); next}
			cur == f && index($0, p) {found = 1} END {exit !found}' <<<"$all" ||
			fail "stale entry: $e"
	done
}

@test "README.md examples run" { run_examples README.md; }
@test "casino-append(1) examples run" { run_examples man/casino-append.1; }
@test "casino-consume(1) examples run" { run_examples man/casino-consume.1; }
@test "casino-follow(1) examples run" { run_examples man/casino-follow.1; }
@test "casino-db(1) examples run" { run_examples man/casino-db.1; }
@test "casino-describe(1) examples run" { run_examples man/casino-describe.1; }
@test "casino-env(1) examples run" { run_examples man/casino-env.1; }
@test "casino-fx(1) examples run" { run_examples man/casino-fx.1; }
@test "casino-gen(1) examples run" { run_examples man/casino-gen.1; }
@test "casino-http-handler(1) examples run" { run_examples man/casino-http-handler.1; }
@test "casino-player(1) examples run" { run_examples man/casino-player.1; }
@test "casino-produce(1) examples run" { run_examples man/casino-produce.1; }
@test "casino-pub(1) examples run" { run_examples man/casino-pub.1; }
@test "casino-replay(1) examples run" { run_examples man/casino-replay.1; }
@test "casino-run(1) examples run" { run_examples man/casino-run.1; }
@test "casino-serve(1) examples run" { run_examples man/casino-serve.1; }
@test "casino-sub(1) examples run" { run_examples man/casino-sub.1; }
@test "casino-tee-agg(1) examples run" { run_examples man/casino-tee-agg.1; }
@test "casino(7) examples run" { run_examples man/casino.7; }

# The README's scale-out commands, as written, against a mock cluster at $K:
# the source, a worker and the aggregator run until the log holds events
# enriched by every stage, each acknowledged (no src left in the log).
@test "README.md: the scale-out commands run against a mock cluster" {
	local dir=$BATS_TEST_TMPDIR/scale text mock ex
	mkdir -p "$dir"
	text=$(tests_examples README.md | awk '/^#@ /{ if (found) exit; buf = ""; next }
		{ buf = buf $0 "\n" } /kafka:\/\/\$K/{ found = 1 } END { printf "%s", buf }')
	[[ $text == *'casino-tee-agg --ack='* ]]
	kafka-mock -p 4 casino-events casino-enriched </dev/null >"$dir/bootstrap" 2>"$dir/mock.err" &
	mock=$!
	wait_until 10 test -s "$dir/bootstrap"
	script_for "$text" "$(free_port)" "$dir" >"$dir/.example"
	(
		cd "$dir"
		export K CASINO_RUNDIR=$dir/run CASINO_FX_URL=file://$CASINO_ROOT/share/rates.json
		K=$(cat bootstrap)
		exec bash .example >.out 2>.err
	) &
	ex=$!
	wait_until 60 test -s "$dir/events.log" || fail "no log: $(tail -n 5 "$dir/.err")"
	wait_until 30 grep -q '"description":' "$dir/events.log"
	stop_pids "$ex" "$mock"
	run grep -c '"amount_eur":' "$dir/events.log"
	assert_success
	run grep -q '"src"' "$dir/events.log"
	assert_failure
	run grep -e '"level":"error"' -e '^usage:' "$dir/.err"
	assert_failure
}

# The README's screenshot command, as written (only its port moved),
# against a casino-serve of the snapshot above: a 900x1400 PNG, as root too
# (--no-sandbox).
@test "README.md: the dashboard screenshot command runs against a casino-serve" {
	local dir=$BATS_TEST_TMPDIR/shot text status=0
	mkdir -p "$dir"
	text=$(tests_examples README.md | awk '/^#@ /{ if (found) exit; buf = ""; next }
		{ buf = buf $0 "\n" } /--virtual-time-budget/{ found = 1 } END { printf "%s", buf }')
	[[ $text == 'chromium '*'--screenshot=dashboard.png http://127.0.0.1:8080/'* ]] || fail "not the command: $text"
	export CASINO_RUNDIR=$dir/run
	serve_snapshot "$BATS_FILE_TMPDIR/files/stats.json"
	script_for "$text" "$port" "$dir" >"$dir/.example"
	# Chromium's profile in the folder, not in this machine's home.
	(cd "$dir" && HOME=$dir exec timeout 60 bash .example >.out 2>.err) || status=$?
	[ "$status" -eq 0 ] || fail "exit $status: $(tail -n 5 "$dir/.err")"
	# PNG's signature, then the IHDR chunk's width and height.
	run od -An -tx1 -N8 "$dir/dashboard.png"
	assert_equal "${output// /}" 89504e470d0a1a0a
	run od -An -tu1 -j16 -N8 "$dir/dashboard.png"
	read -r w1 w2 w3 w4 h1 h2 h3 h4 <<<"$output"
	assert_equal "$((w1 << 24 | w2 << 16 | w3 << 8 | w4))x$((h1 << 24 | h2 << 16 | h3 << 8 | h4))" 900x1400
}
