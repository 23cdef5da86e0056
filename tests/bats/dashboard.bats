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
	stop_pids "${fresh_pid:-}" "${browser_pid:-}" "${serve_pid:-}" "${fx_pid:-}" "${describe_pid:-}" \
		"${player_pid:-}" "${agg_pid:-}" "${gen_pid:-}"
	[ -z "${db_started:-}" ] || casino-db stop >/dev/null 2>&1 || true
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

# A history ending now: 300 seconds at $1 events each, then the jq
# assignments $2 on .per_second.counts (e.g. '.[290:293] = [950,950,950]').
write_history() {
	local now
	now=$(date -u +%s)
	jq -cn --argjson now "$now" --argjson eps "$1" "
		{per_second: {end: (\$now | todate), counts: ([range(300)] | map(\$eps) | ${2:-.})},
		 per_minute: {end: ((\$now - \$now % 60) | todate), counts: [range(60)] | map(\$eps * 60)}}" \
		>"$BATS_TEST_TMPDIR/materialized.history.json.tmp"
	mv "$BATS_TEST_TMPDIR/materialized.history.json.tmp" "$BATS_TEST_TMPDIR/materialized.history.json"
}

# Keep the snapshot fresh (younger than /healthz's 5 s) in the background.
keep_fresh() {
	(while touch "$snap"; do sleep 1; done) 2>/dev/null &
	fresh_pid=$!
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

# The value of a JavaScript expression on chart $1 (an svg element, as svg).
chart_eval() {
	page_eval "(function(svg) { return $2; })(document.getElementById('$1'))"
}

# 0 when expression $2 on chart $1 is $3.
chart_is() {
	[ "$(chart_eval "$1" "$2")" = "$3" ]
}

@test "the dashboard: the snapshot's numbers, clear labels, both charts full from /history on open" {
	write_history 20
	keep_fresh
	browser_open "$url/"
	wait_until 20 page_shows events_total 1,234
	page_shows events_per_minute 12.5
	page_shows events_per_second_moving_average 0.21
	page_shows bets_id '#17'
	page_shows bets_count '8 bets'
	page_shows wins_id '#13'
	page_shows wins_count '1 winning bet'
	page_shows deposits_id '#14'
	page_shows deposits_count '32.75 EUR'
	run page_eval "document.querySelector('#events_per_minute').previousElementSibling.textContent"
	assert_output 'events / minute, average since the first event'
	run page_eval "document.querySelector('.players thead').textContent"
	refute_output --partial amount
	# Full at once: 300 seconds and 60 minutes from the server, not what the tab saw.
	wait_until 10 chart_is chart_second "svg.querySelector('.line').getAttribute('points').split(' ').length" 300
	run chart_eval chart_minute "svg.querySelector('.line').getAttribute('points').split(' ').length"
	assert_output 60
	for chart in chart_second chart_minute; do
		# Labelled axes, gridlines, time ticks on round times.
		run chart_eval "$chart" "[...svg.querySelectorAll('.axis-title')].map(t => t.textContent).join('|')"
		assert_output --regexp '^events / (s|min)\|time \(UTC\)$'
		run chart_eval "$chart" "svg.querySelectorAll('.tick-x').length"
		[ "$output" -ge 4 ]
		run chart_eval "$chart" "svg.querySelectorAll('.tick-y').length"
		[ "$output" -ge 3 ]
		run chart_eval "$chart" "svg.querySelectorAll('line.grid').length"
		[ "$output" -ge 8 ]
		run chart_eval "$chart" "svg.querySelector('.tick-x').textContent"
		assert_output --regexp '^[0-2][0-9]:[0-5][0-9]$'
	done
	run chart_eval chart_second "svg.querySelectorAll('.clip').length"
	assert_output 0
	wait_until 10 page_state live
	run page_eval "document.getElementById('status').textContent"
	assert_output 'Live: 20 events/s over the last 10 s.'
	write_snapshot 1300 13
	wait_until 10 page_shows events_total 1,300
	page_shows events_per_minute 13
}

@test "the dashboard: a 950/s spike is clipped with a marker and does not flatten the 20/s line" {
	write_history 20 '.[280:283] = [950, 950, 950]'
	browser_open "$url/"
	wait_until 20 chart_is chart_second "svg.querySelectorAll('.clip').length" 3
	run chart_eval chart_second "svg.querySelector('.clip-label').textContent"
	assert_output --partial '950'
	run page_eval "document.getElementById('chart_second_note').textContent"
	assert_output --partial 'A peak of 950 events/s is off the scale'
	# The 20/s line's height: the median point, as a share of the plot's height.
	run chart_eval chart_second "(function() {
		const top = +svg.dataset.plotTop, bottom = +svg.dataset.plotBottom;
		const ys = svg.querySelector('.line').getAttribute('points').split(' ').map(p => +p.split(',')[1]).sort((a, b) => a - b);
		return Math.round((bottom - ys[150]) / (bottom - top) * 100);
	})()"
	[ "$output" -ge 50 ]
}

@test "the dashboard says the stream stopped from the server's history, not the tab's clock" {
	write_history 20 '.[291:300] = [0, 0, 0, 0, 0, 0, 0, 0, 0]'
	keep_fresh
	browser_open "$url/"
	wait_until 20 page_state stopped
	run page_eval "document.getElementById('status').textContent"
	assert_output 'Stream stopped: no new events for 8 s (by the aggregator'"'"'s clock).'
	write_history 20
	wait_until 10 page_state live
}

@test "the dashboard says when there is no snapshot, a stale one, and when the server is unreachable" {
	write_history 20
	browser_open "$url/"
	wait_until 20 page_shows events_total 1,234
	touch -d '30 seconds ago' "$snap"
	wait_until 10 page_state stale
	run page_eval "document.getElementById('status').textContent"
	assert_output --regexp '^The snapshot is stale: last written 3[0-9] s ago\. Is casino-tee-agg running\?$'
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

@test "the dashboard shows the pipeline: a stage holding events, one that runs, the missing ones, what waits between" {
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
	assert_output --partial '1 pending'
	assert_output --partial 'holding 1'
	run page_eval "document.querySelector('#stages li[data-stage=\"casino-describe\"]').textContent"
	assert_output --partial '0 pending'
	# The status line names the one service casino-fx needs.
	wait_until 20 page_state held
	run page_eval "document.getElementById('status').textContent"
	assert_output --regexp '^casino-fx holds 1 event, the oldest for [0-9]+ s: it waits for the rate API\.$'
}

@test "the dashboard names the held stage in words while the database is down" {
	player_on_private_db
	write_history 20
	keep_fresh
	browser_open "$url/"
	wait_until 20 page_state live
	casino-db stop >/dev/null 2>&1
	good_line 1 >&5
	wait_until 20 page_state held
	run page_eval "document.getElementById('status').textContent"
	assert_output --regexp '^casino-player holds 1 event, the oldest for [0-9]+ s: it waits for the database\.$'
	stage_state casino-player held
	casino-db start >/dev/null 2>&1
	wait_until 30 page_state live
}

@test "the status line counts what waits in the pipe before the held stage: casino-fx wrote it, casino-player has not read it" {
	export CASINO_STATE_DIR=$BATS_TEST_TMPDIR/state
	db=$(casino-db start 2>/dev/null)
	db_started=1
	casino-db migrate 2>/dev/null
	mkfifo "$BATS_TEST_TMPDIR/fx.in" "$BATS_TEST_TMPDIR/player.in"
	casino-player -d "$db" <"$BATS_TEST_TMPDIR/player.in" >/dev/null 2>&1 &
	player_pid=$!
	casino-fx -u "file://$CASINO_ROOT/share/rates.json" <"$BATS_TEST_TMPDIR/fx.in" \
		>"$BATS_TEST_TMPDIR/player.in" 2>/dev/null &
	fx_pid=$!
	exec 5>"$BATS_TEST_TMPDIR/fx.in"
	write_history 20
	keep_fresh
	browser_open "$url/"
	wait_until 20 page_state live
	casino-db stop >/dev/null 2>&1
	for ((i = 1; i <= 3000; i++)); do good_line "$i"; done >&5
	wait_until 30 page_state held
	run page_eval "document.getElementById('status').textContent"
	assert_output --regexp '^casino-player holds [0-9,]+ events?, the oldest for [0-9]+ s, and [0-9,]+ more wait in the pipe before it: it waits for the database\.$'
	# The count is the pipe's between the two stages on the page.
	waiting=$(sed 's/.*, and \([0-9,]*\) more wait.*/\1/' <<<"$output" | tr -d ,)
	run page_eval "document.querySelector('#stages li.pipe[data-waiting]').dataset.waiting"
	assert_output "$waiting"
	[ "$waiting" -gt 0 ]
}

@test "in virtual time (the README's screenshot command) the page shows the server's rates, no false stop" {
	set -o pipefail	# a failing first command fails the pipeline
	stop_pids "$serve_pid"
	live=$BATS_TEST_TMPDIR/live.json
	casino-gen -r 20 -s 5 2>/dev/null | casino-tee-agg --clock wall -o "$live" >/dev/null 2>&1 &
	agg_pid=$!
	wait_until 10 [ -s "$BATS_TEST_TMPDIR/live.history.json" ]
	serve_snapshot "$live"
	# Over 10 s of events, the window the status line averages: the 11
	# whole seconds before the current one all hold events.
	wait_until 30 jq -e '.per_second.counts[-12:-1] | all(. > 0)' "$BATS_TEST_TMPDIR/live.history.json" >/dev/null ||
		fail "fewer than 11 s of events: $(cat "$BATS_TEST_TMPDIR/live.history.json")"
	run timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$BATS_TEST_TMPDIR/profile" --virtual-time-budget=15000 --dump-dom "$url/"
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/dom.html"
	run grep -o '<p id="status"[^>]*>[^<]*' "$BATS_TEST_TMPDIR/dom.html"
	assert_output --regexp 'data-state="live">Live: (1[5-9]|2[0-5])(\.[0-9]+)? events/s over the last 10 s\.$'
	run grep -c 'Stream stopped' "$BATS_TEST_TMPDIR/dom.html"
	assert_output 0
	# The stage's card shows the rate the stage measured, not "measuring…".
	run grep -o 'data-stage="casino-tee-agg"[^>]*><b>[^<]*</b><span>[^<]*' "$BATS_TEST_TMPDIR/dom.html"
	assert_output --regexp '<span>(1[5-9]|2[0-5])(\.[0-9]+)? events/s · 0 pending$'
	# The charts are drawn, with their time ticks.
	run sh -c "grep -o 'class=\"tick tick-x' '$BATS_TEST_TMPDIR/dom.html' | wc -l"
	[ "$output" -ge 4 ]
}

@test "the dashboard loads nothing from elsewhere: no URL leaves the server" {
	run grep -rniE 'https?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(' "$CASINO_ROOT/share/dashboard"
	assert_failure 1
}
