#!/usr/bin/env bats
# Every installed program, C tool or script, speaks the same command line:
# --help (usage on stdout, 0), --version (0), an unknown option (64, the
# usage line on stderr and the reason named), and GNU grammar: options after
# an operand, --opt=value. The programs are the files make install puts in
# PREFIX/bin (a temp folder), run from there with CASINO_BIN unset.
load helpers

setup_file() {
	prefix=$BATS_FILE_TMPDIR/prefix
	# -o all: install what the suite runs against, as it is (no rebuild).
	make -s -C "$CASINO_ROOT" -o all install PREFIX="$prefix" BUILD="$CASINO_BIN" >&2
	export prefix
}

setup() {
	T=$BATS_TEST_TMPDIR
	unset CASINO_BIN
	PATH=$prefix/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export CASINO_STATE_DIR=$T/state CASINO_RUNDIR=$T/run
	cd "$T" || return 1
}

programs() {
	local p
	for p in "$prefix"/bin/*; do
		echo "${p##*/}"
	done
}

@test "install puts every program in bin/" {
	run programs
	for p in casino-gen casino-fx casino-player casino-describe casino-tee-agg \
		casino-http-handler casino-append casino-produce casino-consume casino-follow casino-env \
		casino-run casino-serve casino-db casino-pub casino-sub; do
		assert_line "$p"
	done
}

@test "--help: usage on stdout, exit 0, nothing on stderr" {
	local bad='' p
	for p in $(programs); do
		run --separate-stderr "$p" --help
		if [ "$status" -ne 0 ] || [[ ${lines[0]:-} != "usage: $p"* ]] || [ -n "$stderr" ]; then
			bad="$bad$p: exit $status, stdout '${lines[0]:-}', stderr '$stderr'"$'\n'
		fi
		run --separate-stderr "$p" -h
		[ "$status" -eq 0 ] || bad="$bad$p -h: exit $status"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "--version and -V: NAME VERSION on stdout, exit 0" {
	local bad='' p opt
	for p in $(programs); do
		for opt in --version -V; do
			run --separate-stderr "$p" "$opt"
			if [ "$status" -ne 0 ] || ! [[ $output =~ ^$p\ [0-9]+\.[0-9]+ ]]; then
				bad="$bad$p $opt: exit $status, stdout '$output', stderr '$stderr'"$'\n'
			fi
		done
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "an unknown option: exit 64, the usage line on stderr, the option named" {
	local bad='' p
	for p in $(programs); do
		run --separate-stderr "$p" --no-such-option
		if [ "$status" -ne 64 ]; then
			bad="$bad$p: exit $status"$'\n'
		elif ! grep -q "^usage: $p" <<<"$stderr"; then
			bad="$bad$p: no usage line on stderr: $stderr"$'\n'
		elif ! grep -q 'no-such-option' <<<"$stderr"; then
			bad="$bad$p: the reason is not named: $stderr"$'\n'
		elif [ -n "$output" ]; then
			bad="$bad$p: stdout not empty: $output"$'\n'
		fi
	done
	[ -z "$bad" ] || fail "$bad"
}

# One run of program $1 that needs GNU grammar: an option after an operand
# or, for programs without operands, --opt=value. Fails with a reason.
grammar() {
	local event rates=file://$prefix/share/casino/rates.json
	event='{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":300,"currency":"EUR","created_at":"2022-01-10T12:34:56Z"}'
	case $1 in
	casino-gen)
		run -0 --separate-stderr casino-gen --count=3 --seed=1 --start=2024-01-01T00:00:00Z
		[ "${#lines[@]}" -eq 3 ] ;;
	casino-fx)
		run -0 casino-fx --url="$rates" <<<"$event"
		[[ $output == *'"amount_eur":300'* ]] ;;
	casino-describe)
		run -65 casino-describe --reject="$T/rejects" <<<'not json'
		[ "$(cat "$T/rejects")" = 'not json' ] ;;
	casino-player)
		# Down at startup: --wait=1 gives up after a second with 69.
		run -69 timeout 30 casino-player --wait=1 --db="host=$T/nowhere dbname=x" <<<"$event" ;;
	casino-tee-agg)
		run -0 casino-tee-agg --snapshot="$T/snap.json" <<<"$event"
		jq -e '.events_total == 1' "$T/snap.json" ;;
	casino-http-handler)
		echo '{"events_total":7}' >"$T/snap.json"
		run -0 casino-http-handler --snapshot="$T/snap.json" < <(printf 'GET /materialized HTTP/1.0\r\n\r\n')
		[[ $output == *'"events_total":7'* ]] ;;
	casino-append)
		run -0 casino-append "$T/log" --version <<<"$event"
		[ ! -s "$T/log" ] ;;
	casino-produce)
		run -0 timeout 30 casino-produce --brokers=127.0.0.1:1 --topic=t </dev/null ;;
	casino-consume)
		run -64 casino-consume --group=g --exit --topic=t ;;
	casino-follow)
		echo "$event" >"$T/consume.log"
		run -0 casino-follow "$T/consume.log" --group=g --exit
		[ "$(jq -r .src <<<"$output")" != null ] ;;
	casino-db)
		run -4 casino-db status --port=5432 ;;
	casino-env)
		run -0 casino-env state-dir --version
		[[ $output == "casino-env "* ]] ;;
	casino-pub)
		run -0 casino-pub "file:$T/log" --property=a=b <<<"$event"
		[ "$(cat "$T/log")" = "$event" ] ;;
	casino-sub)
		echo "$event" >"$T/log"
		run -0 casino-sub "file:$T/log" --exit
		assert_output "$event" ;;
	casino-serve)
		echo '{"events_total":7}' >"$T/snap.json"
		# Stopped before any check can fail (this runs in a subshell).
		serve_snapshot '' --snapshot="$T/snap.json" || true
		status=0
		output=$(curl -sS "$url/materialized") || status=$?
		stop_pids "$serve_pid"
		[ "$status" -eq 0 ]
		[[ $output == *'"events_total":7'* ]] ;;
	casino-replay)
		# The replays themselves are replay.bats' job: the options must reach the stages.
		echo "$event" >"$T/day.ndjson"
		run -69 timeout 60 casino-replay "$T/day.ndjson" --wait=1 --db="host=$T/nowhere dbname=x" \
			--rates-date=latest --url="file://$CASINO_ROOT/share/rates.json" ;;
	casino-run)
		# The whole system is run.bats' job: here the value must reach the check.
		run --separate-stderr casino-run --port=0
		[ "$status" -eq 64 ]
		[[ $stderr == *"bad --port: '0'"* ]] ;;
	*)
		echo "no grammar case for $1: add one to cli.bats" >&2
		return 1 ;;
	esac
}

@test "GNU grammar: an option after an operand, --opt=value" {
	local bad='' p
	for p in $(programs); do
		( grammar "$p" ) >"$T/out" 2>&1 || bad="$bad$p: $(tail -n 5 "$T/out")"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

@test "-- ends the options" {
	printf '{"n":1}\n' >"$T/-e"
	run -0 casino-sub --exit -- "file:$T/-e"
	assert_output '{"n":1}'
	run -0 casino-append -- "$T/-x" <<<'{"n":2}'
	[ "$(cat "$T/-x")" = '{"n":2}' ]
}

# casino_log of the installed scripts' library, as casino-run calls it.
lib_log() {
	sh -c 'tool=casino-test usage="usage: casino-test" libdir=$1; shift
		. "$libdir/casino-lib.sh"; casino_log_check; casino_log "$@"' sh "$prefix/share/casino" "$@"
}

@test "the scripts' log records: valid JSON for any message, ts with milliseconds, the level honoured" {
	msg=$(printf 'two\nlines, a "quote", a \\ backslash, a\ttab and \001')
	run -0 --separate-stderr lib_log warn "$msg" path "/tmp/a\"b"
	assert_equal "$(jq -r .msg <<<"$stderr")" "$msg"
	assert_equal "$(jq -r '.level + " " + .tool + " " + .path' <<<"$stderr")" 'warn casino-test /tmp/a"b'
	[[ $(jq -r .ts <<<"$stderr") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]
	CASINO_LOG_LEVEL=error run -0 --separate-stderr lib_log warn hidden
	assert_equal "$stderr" ''
	CASINO_LOG_LEVEL=debug run -0 --separate-stderr lib_log debug shown
	assert_equal "$(jq -r .msg <<<"$stderr")" shown
	CASINO_LOG_FORMAT=text run -0 --separate-stderr lib_log warn 'port taken' port 80
	assert_equal "$stderr" 'casino-test: warning: port taken (port 80)'
}

@test "every script refuses an unknown CASINO_LOG_LEVEL or CASINO_LOG_FORMAT with 64, naming it" {
	local bad='' p
	for p in casino-run casino-serve casino-db casino-pub casino-sub; do
		CASINO_LOG_LEVEL=loud run --separate-stderr "$p" --version
		[ "$status" -eq 64 ] && [[ $stderr == *CASINO_LOG_LEVEL* ]] || bad="$bad$p level: $status $stderr"$'\n'
		CASINO_LOG_FORMAT=xml run --separate-stderr "$p" --version
		[ "$status" -eq 64 ] && [[ $stderr == *CASINO_LOG_FORMAT* ]] || bad="$bad$p format: $status $stderr"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}
