#!/usr/bin/env bats
# The rules the scripts ask casino-env for (one home each, in lib/), and
# lib/ paths no program takes on demand (out of memory).

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
}

# lib_sh COMMAND...: COMMAND in a shell that sourced casino-lib.sh as a
# script does.
lib_sh() {
	sh -c 'tool=casino-test usage="usage: casino-test" libdir=$1; shift
		. "$libdir/casino-lib.sh"; casino_log_check; "$@"' sh "$CASINO_ROOT/scripts" "$@"
}

@test "lib: casino-env worst and exit-rank: 74 > 69 > 65 > 0, any other status above them all" {
	local s expect=''
	for ((s = 0; s <= 255; s++)); do
		case $s in 0) r=0 ;; 65) r=1 ;; 69) r=2 ;; 74) r=3 ;; *) r=4 ;; esac
		expect="$expect$s $r"$'\n'
	done
	run -0 casino-env exit-rank
	assert_equal "$output"$'\n' "$expect"
	run -0 casino-env exit-rank 69 0
	assert_output $'69 2\n0 0'
	assert_equal "$(casino-env worst 0 65 74 69)" 74
	assert_equal "$(casino-env worst 70 74)" 70
	assert_equal "$(casino-env worst 0)" 0
	assert_equal "$(lib_sh casino_worst_status 65 74)" 74
	assert_equal "$(lib_sh casino_status_rank 69)" 2
	run -64 --separate-stderr casino-env worst 256
	[[ $stderr == *'"value":"256"'* ]] || fail "$stderr"
	run -64 --separate-stderr casino-env worst
	[[ $stderr == *'usage: casino-env'* ]] || fail "$stderr"
}

@test "lib: casino-env level-rank: debug info warn/warning error, nothing else" {
	run -0 casino-env level-rank debug info warn warning error bogus '' Error DEBUG ' info' 'warn ' 0 err
	assert_output "debug 0
info 1
warn 2
warning 2
error 3
bogus -1
 -1
Error -1
DEBUG -1
 info -1
warn  -1
0 -1
err -1"
}

@test "lib: casino-env rundir: CASINO_RUNDIR, else XDG_RUNTIME_DIR/casino, else /tmp/casino-UID" {
	run -0 env -u CASINO_RUNDIR -u XDG_RUNTIME_DIR casino-env rundir
	assert_output "/tmp/casino-$(id -u)"
	run -0 env CASINO_RUNDIR= XDG_RUNTIME_DIR=/tmp/x1 casino-env rundir
	assert_output /tmp/x1/casino
	run -0 env CASINO_RUNDIR=/tmp/r1 XDG_RUNTIME_DIR=/tmp/x1 casino-env rundir
	assert_output /tmp/r1
	assert_equal "$(CASINO_RUNDIR=/tmp/r2 lib_sh casino_rundir)" /tmp/r2
}

@test "lib: casino-env state-dir: always absolute, the same folder casino-follow keeps its cursors in" {
	cd "$T" || fail
	run -0 env CASINO_STATE_DIR=rel casino-env state-dir
	assert_output "$T/rel"
	run -0 env -u CASINO_STATE_DIR XDG_STATE_HOME=xdg casino-env state-dir
	assert_output "$T/xdg/casino"
	if [ "$(id -u)" -eq 0 ]; then
		run -0 env -u CASINO_STATE_DIR -u XDG_STATE_HOME casino-env state-dir
		assert_output /var/lib/casino
	else
		run -0 env -u CASINO_STATE_DIR -u XDG_STATE_HOME HOME=/h casino-env state-dir
		assert_output /h/.local/state/casino
		run -0 env -i PATH=/usr/bin:/bin "$CASINO_BIN/casino-env" state-dir
		assert_output "$(getent passwd "$(id -u)" | cut -d: -f6)/.local/state/casino"
	fi
	assert_equal "$(CASINO_STATE_DIR=rel2 lib_sh casino_state_dir)" "$T/rel2"
	# A group's cursor lands in the folder the scripts name, relative or not.
	good_line 1 >"$T/log"
	run -0 env CASINO_STATE_DIR=rel3 casino-follow "$T/log" --group g --exit
	[ -s "$T/rel3/file-groups/g" ] || fail "no cursor in $T/rel3/file-groups"
}

@test "lib: casino-env log: the C tools' record for the scripts, JSON or text, threshold honoured" {
	msg=$(printf 'two\nlines, a "quote", a \\ backslash, a\ttab and \001')
	run -0 --separate-stderr casino-env -- log casino-test warn "$msg" n 7 neg -12 zero 0 lead 007 big 12345678901234567890 s "/a\"b"
	assert_equal "$output" ''
	assert_equal "$(jq -c 'del(.ts)' <<<"$stderr")" \
		"$(jq -c '{level:"warn",tool:"casino-test",msg:$m,n:7,neg:-12,zero:0,lead:"007",big:"12345678901234567890",s:"/a\"b"}' --arg m "$msg" -n)"
	[[ $(jq -r .ts <<<"$stderr") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]
	run -0 --separate-stderr casino-env log casino-test warning w
	assert_equal "$(jq -r .level <<<"$stderr")" warn
	CASINO_LOG_LEVEL=error run -0 --separate-stderr casino-env log casino-test warn hidden
	assert_equal "$stderr" ''
	CASINO_LOG_FORMAT=text run -0 --separate-stderr casino-env log casino-test warn 'port taken' port 80 addr ::1
	assert_equal "$stderr" 'casino-test: warning: port taken (port 80, addr ::1)'
	CASINO_LOG_FORMAT=text run -0 --separate-stderr lib_sh casino_log error 'a script' n 1
	assert_equal "$stderr" 'casino-test: error: a script (n 1)'
	run -64 --separate-stderr casino-env log casino-test loud m
	run -64 --separate-stderr casino-env log casino-test warn m odd
}

@test "lib: casino-env log-check: a bad CASINO_LOG_LEVEL or CASINO_LOG_FORMAT is the script's usage error" {
	run -0 --separate-stderr casino-env log-check casino-test
	CASINO_LOG_LEVEL=loud run -64 --separate-stderr casino-env log-check casino-test
	assert_equal "$(jq -r '[.tool, .variable, .value] | join(" ")' <<<"$stderr")" 'casino-test CASINO_LOG_LEVEL loud'
	CASINO_LOG_FORMAT=xml run -64 --separate-stderr lib_sh true
	[[ ${stderr##*$'\n'} == 'usage: casino-test' ]] || fail "$stderr"
	assert_equal "$(head -n 1 <<<"$stderr" | jq -r '[.tool, .variable] | join(" ")')" 'casino-test CASINO_LOG_FORMAT'
}

@test "lib: casino-env health: a stage process's file read by lib/healthread, 1 when there is none" {
	local pid
	mkfifo "$T/in"
	casino-describe <"$T/in" >/dev/null 2>&1 &
	pid=$!
	exec 5>"$T/in"
	good_line 1 >&5
	good_line 2 >&5
	out_is() { [ "$(casino-env health casino-describe "$pid" out)" = "$1" ]; }
	wait_until 5 out_is 2 || fail "no out 2"
	run -0 casino-env health casino-describe "$pid" in out rejected held pending no_such_counter
	assert_output '2 2 0 0 0 -1'
	exec 5>&-
	wait "$pid"
	run -1 --separate-stderr casino-env health casino-describe "$pid" out
	assert_equal "$output$stderr" ''
	run -64 --separate-stderr casino-env health casino-describe x out
}

@test "lib: casino-env listen-port: the port a process listens on; 1 when it ends without" {
	local pid
	socat TCP-LISTEN:0,bind=127.0.0.1,reuseaddr - </dev/null >/dev/null 2>&1 &
	pid=$!
	run -0 casino-env listen-port "$pid"
	port=$output
	port_open "$port" || fail "nothing on $port"
	stop_pids "$pid"
	run -1 --separate-stderr casino-env listen-port "$pid"
	[[ $stderr == *'no listening socket'* ]] || fail "$stderr"
}

@test "lib: a buffer asked to grow past SIZE_MAX is out of memory (71), never a wrapped size" {
	run --separate-stderr lib-check buf-reserve-max
	assert_failure 71
	assert_equal "$output" ""
	assert_equal "$(jq -r '[.level, .tool, .msg] | join(" ")' <<<"$stderr")" "error lib-check out of memory"
}

@test "lib: a failed calloc in the duplicate-key check is out of memory (71), not a \"duplicate key\"" {
	[ -z "${CASINO_INSTRUMENTED:-}" ] || skip "LD_PRELOAD comes before the sanitizer or valgrind"
	local keys='' i
	for ((i = 0; i < 17; i++)); do keys="$keys\"k$i\":$i,"; done
	line="{\"id\":1,\"player_id\":10,\"game_id\":100,\"type\":\"game_start\",$keys\"created_at\":\"2022-01-10T12:34:56Z\"}"
	# 5 keys of the event + 17 more: 22 members, checked with calloc(22, sizeof(struct buf))
	run --separate-stderr env LD_PRELOAD="$CASINO_BIN/test/failalloc.so" FAILALLOC_CALLOC="22 24" \
		casino-describe <<<"$line"
	assert_failure 71
	[[ "$stderr" == *'"msg":"out of memory"'* ]] || fail "$stderr"
	[[ "$stderr" != *'duplicate key'* ]] || fail "$stderr"
	run casino-describe <<<"$line"
	assert_success
}

@test "lib: event_write_without_keys drops each key named, wherever it stands; event_write_moved_key renames one to the end" {
	local e='"id":1,"player_id":2,"type":"game_start","game_id":3,"created_at":"2024-01-01T00:00:00Z"'
	printf '{"src":"a@t/0/1", %s, "origin":"x"}\n{"src":"a","origin":"o",%s}\n{%s,"src":"s","origin":"o"}\n{ %s }\n' \
		"$e" "$e" "$e" "$e" >"$BATS_TEST_TMPDIR/in"
	run lib-check without-keys src origin <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "$(printf '{%s}\n{%s}\n{%s}\n{ %s }' "$e" "$e" "$e" "$e")"
	run lib-check move-key src origin <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "$(printf '{%s,"origin":"a@t/0/1"}\n{%s,"origin":"a"}\n{%s,"origin":"s"}\n{ %s }' "$e" "$e" "$e" "$e")"
}
