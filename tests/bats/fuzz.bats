#!/usr/bin/env bats
# The libFuzzer targets (make fuzz-build) run briefly on every test run, so
# a regression in a parser of outside data shows up in CI. make fuzz runs
# them longer.

load helpers

setup() {
	[ -x "$CASINO_ROOT/build-fuzz/fuzz-event" ] || skip "fuzzers not built (make fuzz-build)"
}

fuzz() {
	run "$CASINO_ROOT/tests/fuzz/run" "$1" "${FUZZ_SECONDS:-10}"
	assert_success
	assert_output --regexp "^$1: stat::number_of_executed_units: [0-9]+$"
}

@test "fuzz: event parser, splice and description" { fuzz fuzz-event; }
@test "fuzz: RFC 3339 timestamps" { fuzz fuzz-time; }
@test "fuzz: rate API bodies" { fuzz fuzz-fxrates; }
@test "fuzz: casino-fx key scrubbing and file:// paths" { fuzz fuzz-fxscrub; }
@test "fuzz: HTTP request heads" { fuzz fuzz-httpreq; }
@test "fuzz: HTTP answers and If-None-Match" { fuzz fuzz-httpresp; }
@test "fuzz: the /metrics text of any snapshot" { fuzz fuzz-promtext; }
@test "fuzz: JSON scanner against jansson" { fuzz fuzz-json; }
@test "fuzz: JSON scanner, SSE2 and portable paths agree" { fuzz fuzz-json-paths; }
