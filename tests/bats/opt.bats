#!/usr/bin/env bats
# shellcheck disable=SC2154 # status, output, stderr: set by bats' run
# The rules every C tool shares (lib/opt, lib/log): strict numbers, the
# option wins over its environment variable and a bad value names its
# source, -h works whatever the environment holds, a bad CASINO_LOG_LEVEL or
# CASINO_LOG_FORMAT is a usage error, log records keep milliseconds and are
# never lost to a signal.

load helpers

RATES_URL=

setup() {
	RATES_URL=file://$CASINO_ROOT/share/rates.json
}

# Each C tool that filters stdin, with the arguments it needs to start.
filters() {
	printf '%s\n' casino-describe "casino-fx -u $RATES_URL" \
		"casino-tee-agg -o $BATS_TEST_TMPDIR/snap.json"
}

@test "opt: numbers are strict: no hex, no '+', no spaces, no exponent" {
	for bad in 0x10 +5 ' 5' '5 ' 1e3 '' 5. .5 -1; do
		run --separate-stderr casino-gen -n 1 -r "$bad"
		assert_failure 64
		[[ "$stderr" == *'"option":"--rate","value":"'"$bad"'"'* ]] || fail "-r '$bad': $stderr"
	done
	for bad in 0x10 +1 ' 1' 1.0 010x; do
		run --separate-stderr casino-gen -n "$bad"
		assert_failure 64
	done
	run --separate-stderr casino-gen -n 2 -r 2.5 -s 010 -T 2022-01-01T00:00:00Z
	assert_success
	assert_equal "${#lines[@]}" 2
}

@test "opt: CASINO_MAX_LINE is strict in every tool that reads lines" {
	for bad in ' 100' 0x100 +100 100k; do
		for tool in casino-describe "casino-append $BATS_TEST_TMPDIR/log"; do
			# shellcheck disable=SC2086 # the tool and its operand
			run --separate-stderr env CASINO_MAX_LINE="$bad" $tool </dev/null
			assert_failure 64
			[[ "$stderr" == *'"option":"CASINO_MAX_LINE"'* ]] || fail "$tool '$bad': $stderr"
		done
	done
	printf 'xxxx\n' >"$BATS_TEST_TMPDIR/long"
	CASINO_MAX_LINE=3 run casino-append "$BATS_TEST_TMPDIR/log" <"$BATS_TEST_TMPDIR/long"
	assert_failure 65
}

@test "opt: a bad variable is blamed by its name, and the option wins over it" {
	run --separate-stderr env CASINO_FX_MAX_AGE=abc casino-fx -u "$RATES_URL" </dev/null
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_FX_MAX_AGE","value":"abc"'* ]] || fail "$stderr"
	run --separate-stderr env CASINO_FX_MAX_AGE=abc casino-fx -u "$RATES_URL" -a 5 </dev/null
	assert_success
	run --separate-stderr casino-fx -u "$RATES_URL" --max-age=abc </dev/null
	assert_failure 64
	[[ "$stderr" == *'"option":"--max-age","value":"abc"'* ]] || fail "$stderr"
	run --separate-stderr env CASINO_FX_ON_ERROR=drop casino-fx -u "$RATES_URL" </dev/null
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_FX_ON_ERROR","value":"drop"'* ]] || fail "$stderr"
	run --separate-stderr env CASINO_FX_ON_ERROR=drop casino-fx -u "$RATES_URL" -e pass </dev/null
	assert_success

	run --separate-stderr env CASINO_GEN_RATE=fast casino-gen -n 1 -s 1
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_GEN_RATE","value":"fast"'* ]] || fail "$stderr"
	run env CASINO_GEN_RATE=fast CASINO_GEN_COUNT=x CASINO_GEN_SEED=y \
		casino-gen -r 0 -n 1 -s 1
	assert_success

	run --separate-stderr env CASINO_AGG_INTERVAL=soon casino-tee-agg -o "$BATS_TEST_TMPDIR/s" </dev/null
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_AGG_INTERVAL","value":"soon"'* ]] || fail "$stderr"
	run env CASINO_AGG_INTERVAL=soon CASINO_AGG_CLOCK=sundial \
		casino-tee-agg -i 100 -c wall -o "$BATS_TEST_TMPDIR/s" </dev/null
	assert_success

	run --separate-stderr env CASINO_PLAYER_BATCH=zero casino-player -b 2 -w 1 -d 'host=/nonexistent' </dev/null
	assert_failure 69
	[[ "$stderr" != *CASINO_PLAYER_BATCH* ]] || fail "$stderr"
}

@test "opt: -h and -V work whatever the environment holds" {
	local bad=(CASINO_LOG_LEVEL=loud CASINO_LOG_FORMAT=xml CASINO_MAX_LINE=x
		CASINO_GEN_COUNT=x CASINO_GEN_RATE=x CASINO_FX_MAX_AGE=x CASINO_FX_ON_ERROR=x
		CASINO_AGG_INTERVAL=x CASINO_AGG_CLOCK=x CASINO_PLAYER_BATCH=x
		CASINO_PLAYER_WAIT=x CASINO_DB='sslmode=bogus' CASINO_SNAPSHOT= CASINO_AGG_SNAPSHOT=
		CASINO_REJECT=/nonexistent/dir/rej)
	for tool in casino-gen casino-fx casino-player casino-describe casino-tee-agg \
		casino-append casino-produce; do
		run --separate-stderr env "${bad[@]}" "$tool" -h
		assert_success
		[[ "${lines[0]}" == "usage: $tool"* ]] || fail "$tool -h: $output"
		run env "${bad[@]}" "$tool" --version
		assert_success
		assert_output --regexp "^$tool [0-9]"
	done
}

@test "opt: options after operands, --opt=value, and -- ends options" {
	run casino-append "$BATS_TEST_TMPDIR/log" --version
	assert_success
	assert_output --regexp '^casino-append [0-9]'
	good_line 1 | casino-append -- "$BATS_TEST_TMPDIR/-v"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/-v")" -eq 1 ]
	run --separate-stderr casino-gen --count=2 --seed=1 --start=2022-01-01T00:00:00Z
	assert_success
	assert_equal "${#lines[@]}" 2
	run --separate-stderr casino-describe -- extra </dev/null
	assert_failure 64
	[[ "$stderr" == *'"operand":"extra"'* ]] || fail "$stderr"
}

@test "log: an unknown CASINO_LOG_LEVEL or CASINO_LOG_FORMAT is a usage error in every tool" {
	local tool
	while read -r tool; do
		# shellcheck disable=SC2086 # the tool and its arguments
		run --separate-stderr env CASINO_LOG_LEVEL=verbose $tool </dev/null
		assert_failure 64
		[[ "$stderr" == *'"variable":"CASINO_LOG_LEVEL","value":"verbose"'* ]] || fail "$tool: $stderr"
		[[ "$stderr" == *"usage: ${tool%% *}"* ]] || fail "$tool: $stderr"
		# shellcheck disable=SC2086
		run --separate-stderr env CASINO_LOG_FORMAT=yaml $tool </dev/null
		assert_failure 64
		[[ "$stderr" == *'"variable":"CASINO_LOG_FORMAT","value":"yaml"'* ]] || fail "$tool: $stderr"
		# shellcheck disable=SC2086
		run --separate-stderr env CASINO_LOG_LEVEL=warning CASINO_LOG_FORMAT=text $tool </dev/null
		assert_success
	done < <(filters; echo "casino-gen -n 1"; echo "casino-append $BATS_TEST_TMPDIR/log")
	run --separate-stderr env CASINO_LOG_LEVEL=loud casino-produce -b 127.0.0.1:1 -t t </dev/null
	assert_failure 64
	run --separate-stderr env CASINO_LOG_LEVEL=loud casino-player -d 'host=/nonexistent' </dev/null
	assert_failure 64
}

@test "log: ts always has milliseconds, so merged logs sort as text" {
	# 4000 bad lines over 2 s: some records fall in a second's first millisecond.
	run --separate-stderr bash -c 'casino-gen -n 4000 -r 2000 -s 1 2>/dev/null | sed "s/^/x/" | casino-describe'
	assert_failure 65
	printf '%s\n' "$stderr" | jq -r .ts >"$BATS_TEST_TMPDIR/ts"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ts")" -eq 4001 ]
	run grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' "$BATS_TEST_TMPDIR/ts"
	assert_output 0
	sort -c "$BATS_TEST_TMPDIR/ts"
}

# 0 when process $1 is blocked in write(2).
blocked_in_write() {
	local nr=1
	[ "$(uname -m)" != aarch64 ] || nr=64
	[ "$(cut -d ' ' -f 1 "/proc/$1/syscall")" = "$nr" ]
}

@test "log: a signal while a record is being written loses no record (EINTR)" {
	local dir=$BATS_TEST_TMPDIR pid
	seq 3000 | sed 's/^/bad /' >"$dir/in"
	mkfifo "$dir/err"
	casino-describe -r "$dir/rej" <"$dir/in" >/dev/null 2>"$dir/err" &
	pid=$!
	exec 4<"$dir/err"
	# Nobody reads stderr yet: the pipe fills and the tool blocks in write(2).
	wait_until 10 blocked_in_write "$pid"
	kill -TERM "$pid"
	cat <&4 >"$dir/log"
	exec 4<&-
	run wait "$pid"
	assert_failure 65
	[ "$(wc -l <"$dir/rej")" -eq 3000 ]
	run jq -s 'map(select(.level == "error" and .line != null)) | length' "$dir/log"
	assert_output 3000
}

# Prints the size of the pipe on its stdin once the writer is done (1032 is
# F_GETPIPE_SZ on Linux; perl-base is in every Debian system).
PIPE_SIZE='perl -e "local \$/; <STDIN>; print 0 + fcntl(STDIN, 1032, 0)"'

@test "opt: CASINO_PIPE_SIZE sizes the stages' pipes (default 1 MiB, 0 = the kernel's)" {
	filters >"$BATS_TEST_TMPDIR/filters"
	echo 'casino-gen -n 0 2>/dev/null' >>"$BATS_TEST_TMPDIR/filters"
	while read -r cmd; do
		run sh -c "$cmd </dev/null | $PIPE_SIZE"
		assert_success
		assert_output 1048576
		run sh -c "CASINO_PIPE_SIZE=131072 $cmd </dev/null | $PIPE_SIZE"
		assert_success
		assert_output 131072
		run sh -c "CASINO_PIPE_SIZE=0 $cmd </dev/null | $PIPE_SIZE"
		assert_success
		assert_output 65536
	done <"$BATS_TEST_TMPDIR/filters"
}

@test "opt: a bad CASINO_PIPE_SIZE is refused with 64, naming the variable" {
	for bad in 12 4095 1k 0x100000 ' 65536' 1073741825 -1; do
		run --separate-stderr env CASINO_PIPE_SIZE="$bad" casino-describe </dev/null
		assert_failure 64
		[[ "$stderr" == *'"option":"CASINO_PIPE_SIZE","value":"'"$bad"'"'* ]] || fail "'$bad': $stderr"
		run --separate-stderr env CASINO_PIPE_SIZE="$bad" casino-gen -n 1
		assert_failure 64
	done
}

@test "opt: --check checks every value, exits 0 and does no work; a bad value is 64 naming it" {
	local t=$BATS_TEST_TMPDIR tool
	while read -r tool; do
		# shellcheck disable=SC2086 # the tool and its arguments
		run --separate-stderr $tool --check -r "$t/rej" </dev/null
		assert_success
		assert_output ''
		[ ! -e "$t/rej" ] || fail "$tool --check opened its reject file"
	done < <(filters)
	run --separate-stderr env CASINO_FX_MAX_AGE=61 casino-fx --check -u "$RATES_URL"
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_FX_MAX_AGE","value":"61"'* ]] || fail "$stderr"
	run --separate-stderr casino-tee-agg --check -c sundial
	assert_failure 64
	[[ "$stderr" == *'"option":"--clock","value":"sundial"'* ]] || fail "$stderr"
	run --separate-stderr casino-gen --check -n 5
	assert_success
	assert_output ''
	run --separate-stderr casino-gen --check -n five
	assert_failure 64
	[[ "$stderr" == *'"option":"--count","value":"five"'* ]] || fail "$stderr"
	run casino-append --check "$t/log"
	assert_success
	[ ! -e "$t/log" ] || fail "casino-append --check created its log"
	run --separate-stderr casino-http-handler --check -t 0
	assert_failure 64
	[[ "$stderr" == *'"option":"--timeout"'* ]] || fail "$stderr"
	run --separate-stderr casino-player --check -d 'host=/nonexistent' -w 5
	assert_success
	run --separate-stderr casino-player --check -d 'bogus=1'
	assert_failure 64
}

@test "opt: --options prints the table the man page lint reads" {
	run -0 casino-gen --options
	assert_line '-n --count CASINO_GEN_COUNT'
	assert_line '-g --gap CASINO_GEN_GAP'
	assert_line 'usage casino-gen [-n count] [-t seconds] [-r rate] [-s seed] [-T time] [-g gap]'
	run -0 casino-fx --options
	assert_line '- - CASINO_FX_TIMEOUT_MS'
	run -0 casino-produce --options
	assert_line '-X --property -'
}
