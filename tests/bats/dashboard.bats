#!/usr/bin/env bats
# The dashboard at / in a real headless Chromium, driven over the DevTools
# protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON on fds 3
# and 4), against casino-serve on a free loopback port.
# shellcheck disable=SC2030,SC2031,SC2154 # bats runs each test in a subshell and sets stderr
load helpers

setup() {
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	snap=$BATS_TEST_TMPDIR/materialized.json
	write_snapshot 1234 12.5
	serve_snapshot "$snap"
}

teardown() {
	exec 7>&- 8<&-
	exec 5>&- 6>&-
	stop_pids "${browser_pid:-}" "${serve_pid:-}" "${fx_pid:-}" "${describe_pid:-}"
}

# A snapshot with events_total $1 and events_per_minute $2, renamed into place.
write_snapshot() {
	cat >"$snap.tmp" <<-EOF
	{"events_total":$1,"events_per_minute":$2,"events_per_second_moving_average":0.21,
	 "top_player_bets":{"id":17,"count":8},"top_player_wins":{"id":13,"count":1},
	 "top_player_deposits":{"id":14,"count":3275}}
	EOF
	mv "$snap.tmp" "$snap"
}

# Start Chromium and open a page on $1; the session id lands in $session.
browser_open() {
	local target
	mkfifo "$BATS_TEST_TMPDIR/cdp.in" "$BATS_TEST_TMPDIR/cdp.out"
	chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$BATS_TEST_TMPDIR/profile" --remote-debugging-pipe \
		3<"$BATS_TEST_TMPDIR/cdp.in" 4>"$BATS_TEST_TMPDIR/cdp.out" \
		2>"$BATS_TEST_TMPDIR/chromium.err" &
	browser_pid=$!
	exec 7>"$BATS_TEST_TMPDIR/cdp.in" 8<"$BATS_TEST_TMPDIR/cdp.out"
	cdp_id=0
	target=$(cdp Target.createTarget '{"url":"about:blank"}' | jq -r .result.targetId)
	session=$(cdp Target.attachToTarget "{\"targetId\":\"$target\",\"flatten\":true}" |
		jq -r .result.sessionId)
	[ -n "$session" ]
	cdp Page.navigate "{\"url\":\"$1\"}" "$session" >/dev/null
}

# Send method $1 with params $2 (to session $3, if given); print the answer.
# Events and other answers read on the way are dropped.
cdp() {
	local msg
	cdp_id=$((cdp_id + 1))
	jq -cjn --argjson id "$cdp_id" --arg m "$1" --argjson p "$2" --arg s "${3:-}" \
		'{id: $id, method: $m, params: $p} + (if $s == "" then {} else {sessionId: $s} end)' >&7
	printf '\0' >&7
	while IFS= read -r -d '' -t 30 msg <&8; do
		if [ "$(jq -r .id <<<"$msg")" = "$cdp_id" ]; then
			printf '%s\n' "$msg"
			return 0
		fi
	done
	echo "no answer from chromium to $1" >&2
	return 1
}

# The value of JavaScript expression $1 in the page.
page_eval() {
	cdp Runtime.evaluate "$(jq -cn --arg e "$1" '{expression: $e, returnByValue: true}')" "$session" |
		jq -r '.result.result.value // empty'
}

# 0 when the element with id $1 shows text $2.
page_shows() {
	[ "$(page_eval "document.getElementById('$1').textContent")" = "$2" ]
}

# 0 when the status line is in state $1.
page_state() {
	[ "$(page_eval "document.getElementById('status').dataset.state")" = "$1" ]
}

@test "the dashboard shows the snapshot's numbers, then the new ones, then that the stream stopped" {
	browser_open "$url/"
	wait_until 20 page_shows events_total 1,234
	page_shows events_per_minute 12.5
	page_shows events_per_second_moving_average 0.21
	page_shows bets_id '#17'
	page_shows bets_count 8
	page_shows wins_id '#13'
	page_shows wins_count 1
	page_shows deposits_id '#14'
	page_shows deposits_count '32.75 EUR'
	page_state live
	write_snapshot 1300 13
	wait_until 10 page_shows events_total 1,300
	page_shows events_per_minute 13
	# The chart has points: the rate between polls, 66 events in about 1 s.
	run page_eval "document.getElementById('line').getAttribute('points').split(' ').length"
	[ "$output" -ge 1 ]
	run page_eval "document.getElementById('status').textContent"
	assert_output --partial 'Live'
	# No new event for 5 s: the page says the stream stopped.
	wait_until 15 page_state stopped
	run page_eval "document.getElementById('status').textContent"
	assert_output --partial 'Stream stopped'
}

@test "the dashboard says when there is no snapshot, and when the server is unreachable" {
	browser_open "$url/"
	wait_until 20 page_shows events_total 1,234
	rm "$snap"
	wait_until 10 page_state waiting
	stop_pids "$serve_pid"
	serve_pid=
	wait_until 10 page_state unreachable
	run page_eval "document.getElementById('status').textContent"
	assert_output --partial 'Server unreachable'
	# The last numbers stay on the page.
	page_shows events_total 1,234
}

# The state the pipeline row shows for stage $1.
stage_state() {
	[ "$(page_eval "(document.querySelector('#stages li[data-stage=\"$1\"]') || {dataset: {}}).dataset.state")" = "$2" ]
}

@test "the dashboard shows the pipeline: a stage holding events, one that runs, and the missing ones" {
	mkfifo "$BATS_TEST_TMPDIR/fx.in" "$BATS_TEST_TMPDIR/describe.in"
	casino-fx -u "file://$BATS_TEST_TMPDIR/none.json" <"$BATS_TEST_TMPDIR/fx.in" >/dev/null 2>&1 &
	fx_pid=$!
	casino-describe <"$BATS_TEST_TMPDIR/describe.in" >/dev/null 2>&1 &
	describe_pid=$!
	exec 5>"$BATS_TEST_TMPDIR/fx.in" 6>"$BATS_TEST_TMPDIR/describe.in"
	printf '{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":5,"currency":"USD","created_at":"2022-01-10T12:34:56Z"}\n' >&5
	browser_open "$url/"
	wait_until 20 stage_state casino-fx held
	stage_state casino-describe ok
	stage_state casino-player missing
	stage_state casino-tee-agg missing
	run page_eval "document.querySelector('#stages li[data-stage=\"casino-fx\"]').textContent"
	assert_output --partial 'holding 1'
}

@test "the dashboard loads nothing from elsewhere: no URL leaves the server" {
	run grep -rniE 'https?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(' "$CASINO_ROOT/share/dashboard"
	assert_failure 1
}
