#!/usr/bin/env bats
# casino-pub / casino-sub: the file log and Kafka (a librdkafka mock cluster
# of 3 brokers on loopback, tests/kafka-mock.c).
load helpers
load kafka

setup() {
	T=$BATS_TEST_TMPDIR
	PIDS=()
	GEN=(casino-gen -n 10000 -s 1 -T 2024-01-01T00:00:00Z)
	# The mock's group coordinator lets a rebalance wait out the session
	# timeout (45 s by default) before it re-admits the old member.
	FAST_GROUP=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	[ -z "${CASINO_STATE_DIR:-}" ] || casino-db stop >/dev/null 2>&1 || true
}

# At least $1 lines in the files after it, together.
lines_at_least() {
	local n=$1
	shift
	[ "$(cat "$@" 2>/dev/null | wc -l)" -ge "$n" ]
}

# 0 when process $1 or a child of it (casino-sub runs its reader as one)
# has file $2 open and positioned at its end.
open_at_end() {
	local pid fd pos
	for pid in "$1" $(ps -o pid= --ppid "$1"); do
		for fd in /proc/"$pid"/fd/*; do
			[ "$(readlink "$fd")" = "$2" ] || continue
			pos=$(sed -n 's/^pos:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}")
			[ "$pos" -eq "$(stat -c %s "$2")" ] && return 0
		done
	done
	return 1
}

# The partitions casino-sub (stderr in $1) holds: those of its newest
# rebalance record when that assigned them; none when it revoked them (a
# rebalance is under way: the old assignment is gone, the new one not yet
# there).
assigned() {
	grep -E '"partitions (assigned|revoked)"' "$1" | tail -n 1 | grep '"partitions assigned"' |
		jq -r .partitions | tr ' ' '\n' | sort -n | tr '\n' ' '
}

# Both group members hold a share and together all 4 partitions.
group_settled() {
	local a b
	a=$(assigned "$1") b=$(assigned "$2")
	[ -n "$a" ] && [ -n "$b" ] && [ "$(printf '%s%s' "$a" "$b" | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "0 1 2 3 " ]
}

# Fails when some player's event ids do not grow, line by line, in file $1.
per_player_order() {
	jq -r '"\(.player_id) \(.id)"' "$1" | awk '
		{ if (($1 in last) && $2 <= last[$1]) { print "player " $1 ": " $2 " after " last[$1]; bad = 1 }
		  last[$1] = $2 }
		END { exit bad }'
}

@test "file: published lines come back whole and in order, from the start" {
	"${GEN[@]}" >"$T/events"
	casino-pub "file:$T/log" <"$T/events"
	casino-pub "file://$T/log" <"$T/events"
	run casino-sub --exit "file:$T/log"
	assert_success
	cat "$T/events" "$T/events" >"$T/expected"
	[ "$output" = "$(cat "$T/expected")" ]
}

@test "file: a last line without a newline gets one" {
	printf '{"a":1}\n{"a":2}' | casino-pub "file:$T/log"
	printf '{"a":3}\n' | casino-pub "file:$T/log"
	run cat "$T/log"
	assert_output "$(printf '{"a":1}\n{"a":2}\n{"a":3}')"
}

@test "file: concurrent publishers of long lines never interleave" {
	# Lines of 300 KiB: far over a pipe buffer, so a writer that copies
	# whatever each read returns would split them.
	local p
	for p in a b c d; do
		awk -v p="$p" 'BEGIN { for (pad = p; length(pad) < 307200; ) pad = pad pad; pad = substr(pad, 1, 307200)
			for (n = 1; n <= 25; n++) printf "{\"p\":\"%s\",\"n\":%d,\"pad\":\"%s\"}\n", p, n, pad }' \
			| casino-pub "file:$T/log" &
		PIDS+=($!)
	done
	for p in "${PIDS[@]}"; do wait "$p"; done
	PIDS=()
	# Every line is one whole line of one publisher; each publisher's
	# lines are all there, in order.
	run awk '{
		if (!match($0, /^\{"p":"[a-d]","n":[0-9]+,"pad":"/)) { print "bad start at line " NR; exit 1 }
		p = substr($0, 7, 1); split(substr($0, 1, 40), f, /[:,]/); n = f[4] + 0
		pad = substr($0, RLENGTH + 1)
		if (length(pad) != 307202 || pad !~ ("^" p "+\"}$")) { print "torn line " NR; exit 1 }
		if (n != ++seen[p]) { print "publisher " p ": line " n " out of order"; exit 1 }
	} END { for (p in seen) total += seen[p]; print total }' "$T/log"
	assert_success
	assert_output 100
}

@test "file: the subscriber waits for the file and follows it as it grows" {
	OUT=$T/out bg casino-sub "file:$T/log"
	wait_until 10 grep -q 'cannot open' "$T/stderr"
	[ ! -e "$T/log" ]
	printf '{"n":1}\n{"n":2}\n' | casino-pub "file:$T/log"
	wait_until 10 lines_at_least 2 "$T/out"
	printf '{"n":3}\n' | casino-pub "file:$T/log"
	wait_until 10 lines_at_least 3 "$T/out"
	kill "$LAST_PID"
	run cat "$T/out"
	assert_output "$(printf '{"n":1}\n{"n":2}\n{"n":3}')"
}

@test "file: --from end prints only lines appended after the start" {
	printf '{"old":1}\n{"old":2}\n' | casino-pub "file:$T/log"
	OUT=$T/out bg casino-sub --from end "file:$T/log"
	wait_until 10 open_at_end "$LAST_PID" "$T/log"
	printf '{"new":1}\n{"new":2}\n' | casino-pub "file:$T/log"
	wait_until 10 lines_at_least 2 "$T/out"
	sleep 0.2
	run cat "$T/out"
	assert_output "$(printf '{"new":1}\n{"new":2}')"
	run casino-sub -e -f end "file:$T/log"
	assert_success
	assert_output ""
}

@test "file: SIGINT or SIGTERM ends the subscriber with 0, and its reader with it" {
	printf '{"n":1}\n' | casino-pub "file:$T/log"
	for sig in INT TERM; do
		# A background job starts with SIGINT ignored; Ctrl-C would not.
		OUT=$T/out.$sig bg env --default-signal=INT casino-sub "file:$T/log"
		wait_until 10 lines_at_least 1 "$T/out.$sig"
		reader=$(ps -o pid= --ppid "$LAST_PID")
		kill -"$sig" "$LAST_PID"
		status=0
		wait "$LAST_PID" || status=$?
		[ "$status" -eq 0 ] || fail "casino-sub exited $status on SIG$sig"
		[ -n "$reader" ]
		wait_until 5 process_gone "$reader"
	done
	# -e (read to the end and stop) too, while it waits on a FIFO.
	mkfifo "$T/fifo"
	OUT=$T/out.e bg casino-sub -e "file:$T/fifo"
	exec 4<>"$T/fifo"
	printf '{"n":2}\n' >&4
	wait_until 10 lines_at_least 1 "$T/out.e"
	kill -TERM "$LAST_PID"
	status=0
	wait "$LAST_PID" || status=$?
	exec 4>&-
	[ "$status" -eq 0 ] || fail "casino-sub -e exited $status on SIGTERM"
}

@test "options after the URL, --opt=value, and the reason for a usage error" {
	printf '{"n":1}\n' | casino-pub "file:$T/log" --property=a=b
	run -0 casino-sub "file:$T/log" -e
	assert_output '{"n":1}'
	run -0 casino-sub "file:$T/log" --from=end --exit
	assert_output ''
	run --separate-stderr casino-sub kafka://127.0.0.1:1/t --group g --bogus
	assert_failure 64
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1 | jq -r .msg)" "unrecognized option '--bogus'"
	run --separate-stderr casino-pub file:x file:y
	assert_failure 64
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1 | jq -r .msg)" "one URL only, not also: file:y"
	run --separate-stderr casino-sub --from=middle "file:$T/log"
	assert_failure 64
	assert_equal "$(printf '%s\n' "$stderr" | head -n 1 | jq -r .msg)" "bad --from: 'middle' (want start or end)"
	CASINO_SUB_FROM=middle run --separate-stderr casino-sub "file:$T/log"
	assert_failure 64
	[[ $stderr == *"bad CASINO_SUB_FROM: 'middle'"* ]]
}

@test "usage errors exit 64 with the usage line" {
	run casino-pub
	assert_failure 64
	assert_line --partial "usage: casino-pub"
	run casino-pub ftp://x
	assert_failure 64
	run casino-pub kafka://127.0.0.1:9092
	assert_failure 64
	run casino-sub --from middle "file:$T/log"
	assert_failure 64
	assert_line --partial "usage: casino-sub"
	run casino-sub --ack "$T/fifo" "file:$T/log"
	assert_failure 64
	assert_line --partial "--ack needs --group"
	run casino-pub -X novalue kafka://127.0.0.1:9092/t
	assert_failure 64
	run casino-pub -h
	assert_success
	assert_line --partial "usage: casino-pub"
	run casino-sub -V
	assert_success
	assert_output --regexp '^casino-sub [0-9]'
}

@test "kafka: 10k events, two consumers in one group share them exactly, per-player order holds" {
	start_cluster
	OUT=$T/c1 ERR=$T/c1.err bg casino-sub "${FAST_GROUP[@]}" --group g "kafka://$BROKERS/casino-events"
	c1=$LAST_PID
	wait_until 20 grep -q '"partitions assigned"' "$T/c1.err"
	OUT=$T/c2 ERR=$T/c2.err bg casino-sub "${FAST_GROUP[@]}" --group g "kafka://$BROKERS/casino-events"
	c2=$LAST_PID
	wait_until 30 group_settled "$T/c1.err" "$T/c2.err" || { tail "$T"/c?.err; false; }

	"${GEN[@]}" >"$T/events"
	casino-pub "kafka://$BROKERS/casino-events" <"$T/events"
	wait_until 30 lines_at_least 10000 "$T/c1" "$T/c2"
	# A clean stop commits and ends 0.
	kill "$c1" "$c2"
	wait "$c1"
	wait "$c2"

	[ -s "$T/c1" ]
	[ -s "$T/c2" ]
	# Between them: every event once, byte for byte but the src added last.
	sed 's/,"src":"[0-9a-f]*@casino-events\/[0-9]*\/[0-9]*"}$/}/' "$T/c1" "$T/c2" | sort >"$T/got"
	sort "$T/events" >"$T/want"
	cmp "$T/got" "$T/want"
	per_player_order "$T/c1"
	per_player_order "$T/c2"
	# Each line names its position in the topic, under its reader's token.
	[ "$(grep -c '"src":"[0-9a-f]\{16\}@casino-events/[0-3]/[0-9]*"}$' "$T/c1")" -eq "$(wc -l <"$T/c1")" ]
	# A player's events all went to one member.
	comm -12 <(jq .player_id "$T/c1" | sort -u) <(jq .player_id "$T/c2" | sort -u) >"$T/both"
	[ ! -s "$T/both" ]
}

@test "kafka: a lone subscriber reads the whole topic in per-player order; --from end skips it" {
	start_cluster
	"${GEN[@]}" >"$T/events"
	casino-pub "kafka://$BROKERS/casino-events" <"$T/events"
	casino-sub --exit "kafka://$BROKERS/casino-events" >"$T/got" 2>/dev/null
	cmp <(sort "$T/got") <(sort "$T/events")
	per_player_order "$T/got"
	run casino-sub --exit --from end "kafka://$BROKERS/casino-events"
	refute_output --partial '"id"'
}

@test "kafka: an event is delivered while the publisher's input stays open" {
	start_cluster
	OUT=$T/got bg casino-sub --from end "kafka://$BROKERS/casino-events"
	wait_until 20 grep -q '"reached the end of a partition"' "$T/stderr"
	mkfifo "$T/in"
	IN=$T/in bg casino-pub "kafka://$BROKERS/casino-events"
	exec 8>"$T/in"
	head -n 1 <("${GEN[@]}") >&8
	wait_until 10 lines_at_least 1 "$T/got"
	exec 8>&-
	run cat "$T/got"
	assert_output "$(head -n 1 <("${GEN[@]}"))"
}

@test "kafka: the scale-out topology gives the plain pipe's log and aggregates" {
	local rates=file://$CASINO_ROOT/share/rates.json w
	export CASINO_STATE_DIR=$T/state
	CASINO_DB=$(casino-db start 2>/dev/null)
	export CASINO_DB
	casino-db migrate 2>/dev/null
	start_cluster
	for w in 1 2; do
		mkfifo "$T/w$w.in" "$T/w$w.fx"
		OUT=$T/w$w.in ERR=$T/w$w.err bg casino-sub "${FAST_GROUP[@]}" --group enrich "kafka://$BROKERS/casino-events"
		IN=$T/w$w.in OUT=$T/w$w.fx bg casino-fx -u "$rates"
		# shellcheck disable=SC2016 # $1 is for the inner sh
		IN=$T/w$w.fx bg sh -c 'casino-player | casino-describe | casino-pub "$1"' sh "kafka://$BROKERS/casino-enriched"
	done
	mkfifo "$T/enriched"
	OUT=$T/enriched bg casino-sub "kafka://$BROKERS/casino-enriched"
	agg_sub=$LAST_PID
	IN=$T/enriched OUT=$T/log bg casino-tee-agg --clock event -i 100 -o "$T/snap"
	agg=$LAST_PID
	wait_until 30 group_settled "$T/w1.err" "$T/w2.err" || { tail "$T"/w?.err; false; }

	"${GEN[@]}" | casino-pub "kafka://$BROKERS/casino-events"
	wait_until 60 lines_at_least 10000 "$T/log"
	kill "$agg_sub"
	wait "$agg"	# end of input: casino-tee-agg ends 0

	"${GEN[@]}" | casino-fx -u "$rates" | casino-player | casino-describe |
		casino-tee-agg --clock event -o "$T/plain.snap" >"$T/plain.log"
	[ "$(wc -l <"$T/plain.log")" -eq 10000 ]
	cmp <(sort "$T/log") <(sort "$T/plain.log")
	# The enrichment really happened on the way.
	grep -q '"player":{' "$T/log"
	grep -q '"amount_eur":' "$T/log"
	run jq -e '.events_total == 10000' "$T/snap"
	assert_success
	cmp <(jq -S . "$T/snap") <(jq -S . "$T/plain.snap")
}

@test "kafka: a stop while the brokers do not answer ends in 15 s with 69 and says so, never hangs" {
	# rd_kafka_consumer_close waited for ever on a stalled coordinator and
	# hung a test's teardown for minutes.
	start_cluster
	mock=${PIDS[0]}
	ERR=$T/sub.err OUT=$T/got bg casino-sub "${FAST_GROUP[@]}" --group g "kafka://$BROKERS/casino-events"
	sub=$LAST_PID
	wait_until 20 grep -q '"partitions assigned"' "$T/sub.err"
	# Read positions to commit at the close.
	casino-gen -n 100 -s 1 >"$T/events"
	casino-pub "kafka://$BROKERS/casino-events" <"$T/events"
	wait_until 20 lines_at_least 100 "$T/got"
	kill -STOP "$mock"
	kill "$sub"
	# Bounded here too, so a hang fails the test instead of hanging it; the
	# mock runs again before any check, so the teardown can stop it.
	gone=yes
	wait_until 30 process_gone "$sub" || gone=no
	kill -CONT "$mock"
	assert_equal "$gone" yes
	run wait "$sub"
	assert_equal "$status" 69
	run grep '"the brokers did not answer the close in time' "$T/sub.err"
	assert_success
	assert_output --partial '"level":"error"'
	assert_output --partial '"timeout_s":15'
	assert_output --regexp '^\{"ts":"[0-9T:.-]+Z"'
}

@test "casino-produce: a config file that cannot be read to its end is a usage error (64), never half a config" {
	# getline's -1 at a read error looked like the end: a folder read as an
	# empty config and the producer ran without the settings it lost.
	run --separate-stderr timeout 30 casino-produce -b 127.0.0.1:1 -t t -F "$BATS_TEST_TMPDIR" </dev/null
	assert_equal "$status" 64
	[[ $stderr == *'"msg":"cannot read the config file"'*'"error":"Is a directory"'* ]] || fail "$stderr"
}

@test "kafka, casino-sub's defaults: a member SIGKILLed and started again reads within 15 s; a member stopped cleanly leaves at once" {
	start_cluster
	local url=kafka://$BROKERS/casino-events
	"${GEN[@]}" >"$T/events" 2>/dev/null
	head -n 1000 "$T/events" | casino-pub "$url"
	OUT=$T/c1 ERR=$T/c1.err bg casino-sub --group g "$url"
	wait_until 30 lines_at_least 1000 "$T/c1" || fail "$(cat "$T/c1.err")"
	kill -KILL "$LAST_PID"
	sed -n 1001,2000p "$T/events" | casino-pub "$url"
	OUT=$T/c2 ERR=$T/c2.err bg casino-sub --group g "$url"
	local c2=$LAST_PID
	# Within 15 s of its start the new member holds partitions and reads.
	wait_until 15 grep -q '"partitions assigned"' "$T/c2.err" || fail "no partitions in 15 s: $(cat "$T/c2.err")"
	wait_until 15 lines_at_least 1 "$T/c2" || fail "nothing read in 15 s"
	wait_until 30 eval '[ "$(cat "$T/c1" "$T/c2" | jq -r .id | sort -u | wc -l)" -ge 2000 ]'
	# A second member; then the first one is stopped cleanly: the
	# second holds all four partitions at once, not after a session.
	OUT=$T/c3 ERR=$T/c3.err bg casino-sub --group g "$url"
	wait_until 30 group_settled "$T/c2.err" "$T/c3.err" || fail "$(tail -n 3 "$T"/c?.err)"
	kill -TERM "$c2"
	wait "$c2"
	wait_until 5 eval '[ "$(assigned "$T/c3.err")" = "0 1 2 3 " ]' || fail "$(tail -n 3 "$T/c3.err")"
	local ids
	ids=$(cat "$T/c1" "$T/c2" "$T/c3" | jq -r .id | sort -un | wc -l)
	echo "kafka member SIGKILLed, defaults: $ids of 2000 ids, $(($(cat "$T/c1" "$T/c2" "$T/c3" | wc -l) - ids)) duplicated" >&3
	assert_equal "$ids" 2000
}
