#!/usr/bin/env bats
# /metrics against Prometheus' own tools: promtool checks the exposition,
# and a real Prometheus server on a free loopback port scrapes casino-serve.
# shellcheck disable=SC2030,SC2031,SC2154 # bats runs each test in a subshell and sets stderr
load helpers

setup() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	# Private: stages of other runs on this machine must not show here.
	export CASINO_RUNDIR=$BATS_TEST_TMPDIR/run
	snap=$BATS_TEST_TMPDIR/materialized.json
	casino-gen -n 300 -s 7 -T 2024-01-01T00:00:00Z | casino-tee-agg -o "$snap" >/dev/null
	serve_snapshot "$snap"
}

teardown() {
	exec 5>&- || true
	stop_pids "${prom_pid:-}" "${serve_pid:-}" "${player_pid:-}"
	[ -z "${db_started:-}" ] || casino-db stop >/dev/null 2>&1 || true
}

@test "promtool check metrics finds nothing to complain about" {
	run curl -sS -f "$url/metrics"
	assert_success
	assert_line "casino_events_total $(jq .events_total "$snap")"
	run promtool check metrics <<<"$output"
	assert_success
	assert_output ''
	# promtool does find faults: the same page with a broken sample.
	run sh -c "curl -sS '$url/metrics' | sed 's/^casino_events_total .*/casino_events_total x/' | promtool check metrics"
	assert_failure
}

# A Prometheus on a free port scraping casino-serve on $port every second,
# evaluating the rule file $1 (in the test's folder) when given; sets
# prom_port and prom_pid.
start_prometheus() {
	prom_port=$(free_port)
	{
		printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
		[ -z "${1:-}" ] || printf 'rule_files:\n  - %s\n' "$1"
		printf 'scrape_configs:\n  - job_name: casino\n    static_configs:\n'
		printf "      - targets: ['127.0.0.1:%s']\n" "$port"
	} >"$BATS_TEST_TMPDIR/prometheus.yml"
	prometheus --config.file="$BATS_TEST_TMPDIR/prometheus.yml" \
		--storage.tsdb.path="$BATS_TEST_TMPDIR/data" \
		--web.listen-address="127.0.0.1:$prom_port" 2>"$BATS_TEST_TMPDIR/prom.err" &
	prom_pid=$!
	wait_until 30 curl -sf "http://127.0.0.1:$prom_port/-/ready" || fail "$(tail -n 5 "$BATS_TEST_TMPDIR/prom.err")"
}

# The value of PromQL query $1 on the test's Prometheus, or nothing.
prom_query() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -sS -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

# 0 when query $1 returns $2.
prom_says() {
	[ "$(prom_query "$1")" = "$2" ]
}

@test "a real Prometheus scrapes casino-serve: casino_events_total is the snapshot's events_total" {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	start_prometheus
	wait_until 30 prom_says 'up{job="casino"}' 1
	total=$(jq .events_total "$snap")
	wait_until 10 prom_says casino_events_total "$total"
	bets=$(jq .top_player_bets.count "$snap")
	id=$(jq .top_player_bets.id "$snap")
	wait_until 10 prom_says "casino_top_player_bets{player_id=\"$id\"}" "$bets"
	# A new snapshot shows on a later scrape.
	casino-gen -n 350 -s 7 -T 2024-01-01T00:00:00Z | casino-tee-agg -o "$snap.new" >/dev/null
	mv "$snap.new" "$snap"
	wait_until 10 prom_says casino_events_total 350
}

@test "share/prometheus: promtool checks the configuration and the rules, and the rules pass their tests" {
	run promtool check config "$CASINO_ROOT/share/prometheus/prometheus.yml"
	assert_success
	run promtool check rules "$CASINO_ROOT/share/prometheus/casino-rules.yml"
	assert_success
	assert_output --partial 'SUCCESS: 5 rules found'
	cd "$CASINO_ROOT/tests/prometheus"
	run promtool test rules casino-rules.test.yml
	assert_success
	assert_output --partial SUCCESS
	# The tests can fail: the same tests against rules that never fire.
	mkdir "$BATS_TEST_TMPDIR/never"
	sed 's/^\(        expr: \).*/\1vector(0) > 1/' "$CASINO_ROOT/share/prometheus/casino-rules.yml" \
		>"$BATS_TEST_TMPDIR/never/casino-rules.yml"
	sed 's|\.\./\.\./share/prometheus/|never/|' casino-rules.test.yml >"$BATS_TEST_TMPDIR/test.yml"
	cd "$BATS_TEST_TMPDIR"
	run promtool test rules test.yml
	assert_failure
}

# The state of alert $1 in the test's Prometheus: firing, pending, or nothing.
alert_state() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	curl -sS "http://127.0.0.1:$prom_port/api/v1/alerts" |
		jq -r --arg a "$1" '[.data.alerts[] | select(.labels.alertname == $a) | .state] | first // empty'
}

alert_is() {
	[ "$(alert_state "$1")" = "$2" ]
}

@test "a real Prometheus with the casino rules: a stage holding events fires while the database is down, and clears" {
	player_on_private_db
	# The shipped rules, with their waits cut to seconds for the test.
	sed 's/for: 30s/for: 3s/' "$CASINO_ROOT/share/prometheus/casino-rules.yml" >"$BATS_TEST_TMPDIR/rules.yml"
	start_prometheus rules.yml
	wait_until 30 prom_says 'casino_stage_held_events{stage="casino-player"}' 0
	run alert_state CasinoStageHoldingEvents
	assert_output ''
	casino-db stop >/dev/null 2>&1
	good_line 1 >&5
	wait_until 30 alert_is CasinoStageHoldingEvents firing
	run curl -sS "http://127.0.0.1:$prom_port/api/v1/alerts"
	run jq -r '.data.alerts[] | select(.labels.alertname == "CasinoStageHoldingEvents") | .annotations.summary' <<<"$output"
	assert_output 'casino-player holds events (1 now)'
	casino-db start >/dev/null 2>&1
	wait_until 60 alert_is CasinoStageHoldingEvents ''
	prom_says 'casino_stage_held_events{stage="casino-player"}' 0
}

@test "the /metrics text alone (the handler over a pipe, no socat): promtool accepts every case" {
	mkdir -p "$CASINO_RUNDIR/stages"
	printf '{"stage":"casino-fx","pid":%d,"in":5,"out":3,"rejected":1,"held":1,"held_since_ms":1,"pending":1,"fetches_ok":2,"fetches_error":1,"rates_fetched_ms":1}\n' \
		"$$" >"$CASINO_RUNDIR/stages/casino-fx.$$.json"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	for body in "$(cat "$snap")" '{"events_total":"x","top_player_bets":{"id":-1,"count":2},"top_player_deposits":{"id":3,"count":-250}}' \
		'{}' 'not json' ''; do
		if [ -n "$body" ]; then printf '%s' "$body" >"$BATS_TEST_TMPDIR/s.json"; else rm -f "$BATS_TEST_TMPDIR/s.json"; fi
		run sh -c "casino-http-handler -f '$BATS_TEST_TMPDIR/s.json' <'$BATS_TEST_TMPDIR/req' 2>/dev/null | sed '1,/^\r\$/d'"
		assert_success
		assert_line 'casino_fx_fetches_total{stage="casino-fx",result="error"} 1'
		printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/text"
		run promtool check metrics <"$BATS_TEST_TMPDIR/text"
		assert_success
	done
}
