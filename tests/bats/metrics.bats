#!/usr/bin/env bats
# /metrics against Prometheus' own tools: promtool checks the exposition,
# and a real Prometheus server on a free loopback port scrapes casino-serve.
# shellcheck disable=SC2030,SC2031,SC2154 # bats runs each test in a subshell and sets stderr
load helpers

setup() {
	local -
	set -o pipefail	# a failing first command fails the pipeline
	snap=$BATS_TEST_TMPDIR/materialized.json
	casino-gen -n 300 -s 7 -T 2024-01-01T00:00:00Z | casino-tee-agg -o "$snap" >/dev/null
	serve_snapshot "$snap"
}

teardown() {
	stop_pids "${prom_pid:-}" "${serve_pid:-}"
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
	prom_port=$(free_port)
	cat >"$BATS_TEST_TMPDIR/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: casino
	    static_configs:
	      - targets: ['127.0.0.1:$port']
	EOF
	prometheus --config.file="$BATS_TEST_TMPDIR/prometheus.yml" \
		--storage.tsdb.path="$BATS_TEST_TMPDIR/data" \
		--web.listen-address="127.0.0.1:$prom_port" 2>"$BATS_TEST_TMPDIR/prom.err" &
	prom_pid=$!
	wait_until 30 curl -sf "http://127.0.0.1:$prom_port/-/ready" || fail "$(tail -n 5 "$BATS_TEST_TMPDIR/prom.err")"
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
