#!/usr/bin/env bats
# casino-fx against a scripted rate API on loopback (fx_api.bash under socat)
# and against file:// URLs. Every expected amount_eur is worked out by hand
# in a comment next to it.

load helpers
bats_require_minimum_version 1.5.0

CLASSIC='{"base":"EUR","date":"2024-06-28","rates":{"USD":1.0705,"GBP":0.84638,"JPY":171.94,"BTC":0.00001776}}'
QUOTES='{"success":true,"source":"EUR","quotes":{"EURUSD":1.0705,"EURGBP":0.84638,"EURJPY":171.94,"EURBTC":0.00001776}}'
KEY='s3cr3t-KEY-9f8e'

setup() {
	api=$BATS_TEST_TMPDIR/api
	mkdir -p "$api"
	: >"$api/requests"
	port=$(free_port)
	socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"bash $BATS_TEST_DIRNAME/fx_api.bash $api" >/dev/null 2>&1 &
	api_pid=$!
	wait_port "$port"
	url=http://127.0.0.1:$port/live
	export CASINO_FX_URL=$url
}

teardown() {
	kill "$api_pid" 2>/dev/null || true
	wait "$api_pid" 2>/dev/null || true
}

# answer [-n N] CODE BODY [DELAY]: how the API answers (the Nth request).
answer() {
	local name=answer
	if [ "$1" = -n ]; then
		name=answer.$2
		shift 2
	fi
	printf '%s %s\n' "$1" "${3:-}" >"$api/$name.status"
	printf '%s' "$2" >"$api/$name.body"
}

requests() {
	wc -l <"$api/requests"
}

requests_at_least() {
	[ "$(requests)" -ge "$1" ]
}

# ev ID TYPE AMOUNT CURRENCY: one event line.
ev() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"%s","amount":%s,"currency":"%s","created_at":"2024-06-28T12:00:00Z"}\n' \
		"$1" "$2" "$3" "$4"
}

# with_eur ID TYPE AMOUNT CURRENCY EUR: the same line with amount_eur appended.
with_eur() {
	local line
	line=$(ev "$1" "$2" "$3" "$4")
	printf '%s,"amount_eur":%s}\n' "${line%\}}" "$5"
}

@test "classic base/rates answer: exact amount_eur per currency and decimals" {
	answer 200 "$CLASSIC"
	start='{"id":1,"player_id":10,"game_id":100,"type":"game_start","created_at":"2024-06-28T12:00:00Z"}'
	{
		echo "$start"
		ev 2 bet 1000 USD
		ev 3 bet 250 GBP
		ev 4 deposit 1000 JPY
		ev 5 deposit 12000 BTC
		ev 6 deposit 777 EUR
	} >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr casino-fx <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${lines[0]}" "$start"
	# 10.00 USD / 1.0705 = 9.34143... EUR
	assert_equal "${lines[1]}" "$(with_eur 2 bet 1000 USD 934)"
	# 2.50 GBP / 0.84638 = 2.95375... EUR
	assert_equal "${lines[2]}" "$(with_eur 3 bet 250 GBP 295)"
	# JPY has no minor unit: 1000 JPY / 171.94 = 5.81598... EUR
	assert_equal "${lines[3]}" "$(with_eur 4 deposit 1000 JPY 582)"
	# BTC has 8 decimals: 0.00012 BTC / 0.00001776 = 6.75675... EUR
	assert_equal "${lines[4]}" "$(with_eur 5 deposit 12000 BTC 676)"
	# EUR is copied
	assert_equal "${lines[5]}" "$(with_eur 6 deposit 777 EUR 777)"
	assert_equal "${#lines[@]}" 6
	assert_equal "$(requests)" 1
}

@test "rounding is half away from zero on the published decimal digits" {
	answer 200 '{"base":"EUR","rates":{"USD":2,"GBP":0.8,"JPY":160}}'
	run --separate-stderr casino-fx < <(
		ev 1 bet 1 USD
		ev 2 bet 3 USD
		ev 3 bet 1999 USD
		ev 4 bet 2 GBP
		ev 5 bet 1 GBP
		ev 6 bet 4 JPY
		ev 7 bet 0 USD
	)
	assert_success
	# 0.01 USD / 2 = 0.005 EUR = 0.5 cent -> 1
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1 USD 1)"
	# 0.03 / 2 = 1.5 cents -> 2
	assert_equal "${lines[1]}" "$(with_eur 2 bet 3 USD 2)"
	# 19.99 / 2 = 9.995 EUR = 999.5 cents -> 1000
	assert_equal "${lines[2]}" "$(with_eur 3 bet 1999 USD 1000)"
	# 0.02 GBP / 0.8 = 0.025 EUR = 2.5 cents -> 3 (0.8 has no exact binary form)
	assert_equal "${lines[3]}" "$(with_eur 4 bet 2 GBP 3)"
	# 0.01 / 0.8 = 1.25 cents -> 1
	assert_equal "${lines[4]}" "$(with_eur 5 bet 1 GBP 1)"
	# 4 JPY / 160 = 0.025 EUR = 2.5 cents -> 3
	assert_equal "${lines[5]}" "$(with_eur 6 bet 4 JPY 3)"
	assert_equal "${lines[6]}" "$(with_eur 7 bet 0 USD 0)"
}

@test "source/quotes answer, and the key travels as access_key" {
	answer 200 "$QUOTES"
	run --separate-stderr casino-fx -k "$KEY" < <(ev 1 bet 1000 USD; ev 2 deposit 12000 BTC)
	assert_success
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 934)"
	assert_equal "${lines[1]}" "$(with_eur 2 deposit 12000 BTC 676)"
	assert_equal "$(requests)" 1
	assert_equal "$(cat "$api/requests")" "GET /live?access_key=$KEY HTTP/1.1"
}

@test "the key is added after a query the URL already has" {
	answer 200 "$QUOTES"
	run --separate-stderr casino-fx -u "$url?source=EUR" -k 'a b&c' < <(ev 1 bet 1000 USD)
	assert_success
	assert_equal "$(cat "$api/requests")" "GET /live?source=EUR&access_key=a%20b%26c HTTP/1.1"
}

@test "a base or source other than EUR is crossed through EUR" {
	# USD->EUR 0.8, so EUR->USD = 1/0.8 = 1.25, EUR->GBP = 0.7/0.8 = 0.875,
	# EUR->JPY = 128/0.8 = 160
	answer -n 1 200 '{"success":true,"source":"USD","quotes":{"USDEUR":0.8,"USDGBP":0.7,"USDJPY":128}}'
	answer 200 '{"base":"USD","rates":{"EUR":0.8,"GBP":0.7,"JPY":128}}'
	for _ in 1 2; do
		run --separate-stderr casino-fx -a 0 < <(
			ev 1 bet 1000 USD
			ev 2 bet 1000 GBP
			ev 3 bet 1000 JPY
		)
		assert_success
		# 10 USD / 1.25 = 8 EUR
		assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 800)"
		# 10 GBP / 0.875 = 11.428571... EUR
		assert_equal "${lines[1]}" "$(with_eur 2 bet 1000 GBP 1143)"
		# 1000 JPY / 160 = 6.25 EUR
		assert_equal "${lines[2]}" "$(with_eur 3 bet 1000 JPY 625)"
	done
}

@test "500, success:false, error object, garbage: held, retried, nothing lost" {
	answer -n 1 500 '{"message":"boom"}'
	answer -n 2 200 '{"success":false}'
	answer -n 3 200 '{"success":true,"error":{"code":104,"info":"monthly limit reached"}}'
	answer -n 4 200 '<html>oops</html>'
	answer 200 "$CLASSIC"
	run --separate-stderr casino-fx < <(ev 1 bet 1000 USD; ev 2 bet 250 GBP; ev 3 bet 5 EUR)
	assert_success
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 934)"
	assert_equal "${lines[1]}" "$(with_eur 2 bet 250 GBP 295)"
	assert_equal "${lines[2]}" "$(with_eur 3 bet 5 EUR 5)"
	assert_equal "${#lines[@]}" 3
	assert_equal "$(requests)" 5
	warns=$(jq -c 'select(.level == "warn") | [.msg, .error, .retry_in_ms]' <<<"$stderr")
	assert_equal "$warns" '["cannot fetch rates","HTTP status 500",100]
["cannot fetch rates","answer says success:false",200]
["cannot fetch rates","answer reports an error: monthly limit reached",400]
["cannot fetch rates","answer is not JSON (line 1, column 1)",800]'
}

@test "zero, negative or missing rates are failures, never used" {
	answer -n 1 200 '{"base":"EUR","rates":{"USD":0,"GBP":0.84638}}'
	answer -n 2 200 '{"base":"EUR","rates":{"USD":-1.07}}'
	answer -n 3 200 '{"success":true,"source":"USD","quotes":{"USDGBP":0.7}}'
	answer -n 4 200 '{"base":"EUR","rates":{}}'
	answer 200 "$CLASSIC"
	run --separate-stderr casino-fx < <(ev 1 bet 250 GBP)
	assert_success
	assert_equal "$output" "$(with_eur 1 bet 250 GBP 295)"
	assert_equal "$(requests)" 5
	errors=$(jq -r 'select(.level == "warn") | .error' <<<"$stderr")
	assert_equal "$errors" 'rate for USD is zero or negative
rate for USD is zero or negative
answer has no EUR rate to cross its base USD
answer has no rates'
}

@test "an answer slower than the timeout is a failure, then recovery" {
	answer -n 1 200 "$CLASSIC" 3
	answer 200 "$CLASSIC"
	CASINO_FX_TIMEOUT_MS=300 run --separate-stderr casino-fx < <(ev 1 bet 1000 USD)
	assert_success
	assert_equal "$output" "$(with_eur 1 bet 1000 USD 934)"
	assert_equal "$(requests)" 2
	run jq -r 'select(.level == "warn") | .error' <<<"$stderr"
	assert_output --regexp 'timed out'
}

@test "a burst is served by one request" {
	answer 200 "$CLASSIC"
	for i in $(seq 1 300); do ev "$i" bet "$i" USD; done >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr casino-fx -a 60 <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_equal "${#lines[@]}" 300
	assert_equal "$(grep -c amount_eur <<<"$output")" 300
	assert_equal "$(requests)" 1
}

@test "a stream longer than --max-age fetches again" {
	answer 200 "$CLASSIC"
	run --separate-stderr casino-fx -a 1 < <(
		for i in 1 2 3 4 5; do
			ev "$i" bet 1000 USD
			sleep 0.6
		done
	)
	assert_success
	assert_equal "$(grep -c '"amount_eur":934}' <<<"$output")" 5
	# events at about 0, 0.6, 1.2, 1.8, 2.4 s with rates good for 1 s:
	# fetches at 0, 1.2 and 2.4 s
	n=$(requests)
	[ "$n" -ge 2 ] && [ "$n" -le 4 ]
}

@test "stale rates are never used: --on-error pass emits without amount_eur" {
	answer -n 1 200 "$CLASSIC"
	answer 500 'down'
	run --separate-stderr casino-fx -a 1 -e pass < <(
		ev 1 bet 1000 USD
		# the rates age from their request, however slow the start was
		wait_until 30 test -s "$api/requests"
		sleep 1.3
		ev 2 bet 1000 USD
		ev 3 bet 1000 EUR
	)
	assert_success
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 934)"
	assert_equal "${lines[1]}" "$(ev 2 bet 1000 USD)"
	assert_equal "${lines[2]}" "$(with_eur 3 bet 1000 EUR 1000)"
	run jq -c 'select(.msg == "no fresh rates; event passed without amount_eur") | .event_id' <<<"$stderr"
	assert_output 2
}

@test "--on-error pass does not retry before the backoff is over" {
	answer 500 'down'
	CASINO_FX_ON_ERROR=pass run --separate-stderr casino-fx < <(
		ev 1 bet 1000 USD
		ev 2 bet 250 GBP
	)
	assert_success
	assert_equal "${lines[0]}" "$(ev 1 bet 1000 USD)"
	assert_equal "${lines[1]}" "$(ev 2 bet 250 GBP)"
	assert_equal "$(requests)" 1
}

@test "unknown currency: logged, event goes on without amount_eur" {
	answer 200 "$CLASSIC"
	run --separate-stderr casino-fx < <(ev 1 bet 1000 XYZ; ev 2 bet 1000 USD)
	assert_success
	assert_equal "${lines[0]}" "$(ev 1 bet 1000 XYZ)"
	assert_equal "${lines[1]}" "$(with_eur 2 bet 1000 USD 934)"
	run jq -c 'select(.level == "warn") | [.msg, .event_id, .currency]' <<<"$stderr"
	assert_output '["unknown currency; event passed without amount_eur",1,"XYZ"]'
}

@test "the key never appears in logs, errors or --help" {
	answer -n 1 200 "{\"success\":false,\"error\":{\"info\":\"invalid key $KEY\"}}"
	answer -n 2 401 "key $KEY rejected"
	answer 200 "$CLASSIC"
	CASINO_FX_KEY=$KEY run --separate-stderr casino-fx -a 0 < <(ev 1 bet 1000 USD; ev 2 bet 1000 USD)
	assert_success
	assert_equal "$(requests)" 4
	grep -q "access_key=$KEY" "$api/requests"
	[ -n "$stderr" ]
	refute [ "${stderr#*"$KEY"}" != "$stderr" ]
	run jq -r 'select(.level == "warn") | .error' <<<"$stderr"
	assert_line --index 0 'answer reports an error: invalid key ***'
	assert_line --index 1 'HTTP status 401'
	run jq -r 'select(.msg == "rates fetched") | .url' <<<"$stderr"
	assert_line --index 0 "$url"
	CASINO_FX_KEY=$KEY run casino-fx --help
	assert_success
	refute_output --partial "$KEY"
	run casino-fx -k "$KEY" -u 'http://[bad' </dev/null
	assert_failure 64
	refute_output --partial "$KEY"
}

@test "bad input: exit 65, the line rejected byte for byte, good lines around it" {
	answer 200 "$CLASSIC"
	bad='{"id":2,"player_id":10,"type":"bet","amount":"12","currency":"USD"}  '
	run --separate-stderr casino-fx -r "$BATS_TEST_TMPDIR/rej" < <(
		ev 1 bet 1000 USD
		printf '%s\n' "$bad"
		ev 3 bet 250 GBP
	)
	assert_failure 65
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 934)"
	assert_equal "${lines[1]}" "$(with_eur 3 bet 250 GBP 295)"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(cat "$BATS_TEST_TMPDIR/rej")" "$bad"
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/rej")" $((${#bad} + 1))
	run jq -c 'select(.level == "error") | .line' <<<"$stderr"
	assert_output 2
}

@test "file:// URL: the shipped ECB rates of 2024-06-28" {
	run --separate-stderr casino-fx -u "file://$CASINO_ROOT/share/rates.json" < <(
		ev 1 bet 1000 USD
		ev 2 bet 1000 NZD
		ev 3 bet 100000 BTC
	)
	assert_success
	# 10 USD / 1.0705 = 9.3414 EUR
	assert_equal "${lines[0]}" "$(with_eur 1 bet 1000 USD 934)"
	# 10 NZD / 1.7601 = 5.68150 EUR
	assert_equal "${lines[1]}" "$(with_eur 2 bet 1000 NZD 568)"
	# 0.001 BTC / 0.00001776 = 56.30630 EUR
	assert_equal "${lines[2]}" "$(with_eur 3 bet 100000 BTC 5631)"
	assert_equal "$(requests)" 0
}

@test "file:// URL: localhost host and %XX in the path; a missing file is retried" {
	mkdir -p "$BATS_TEST_TMPDIR/my rates"
	rates="$BATS_TEST_TMPDIR/my rates/r.json"
	run --separate-stderr casino-fx -u "file://localhost${rates// /%20}" -e pass < <(ev 1 bet 1000 USD)
	assert_success
	assert_equal "$output" "$(ev 1 bet 1000 USD)"
	run jq -r 'select(.level == "warn") | .error' <<<"$stderr"
	assert_line --index 0 "cannot open $rates: No such file or directory"
	# held: the file appears while casino-fx waits, and the event goes out
	casino-fx -u "file://${rates// /%20}" < <(ev 1 bet 1000 USD) \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_until 30 grep -q 'cannot fetch rates' "$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	printf '%s' "$CLASSIC" >"$rates"
	wait "$pid"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(with_eur 1 bet 1000 USD 934)"
}

@test "live: an event written into an open pipe comes out at once" {
	coproc FX { casino-fx -u "file://$CASINO_ROOT/share/rates.json" 2>/dev/null; }
	# bash unsets FX and FX_PID once the coprocess is reaped: keep copies
	fx_pid=$FX_PID to_fx=${FX[1]} from_fx=${FX[0]}
	ev 1 bet 1000 USD >&"$to_fx"
	read -r -t 5 got <&"$from_fx"
	assert_equal "$got" "$(with_eur 1 bet 1000 USD 934)"
	ev 2 game_start 0 EUR >&"$to_fx"
	read -r -t 5 got <&"$from_fx"
	assert_equal "$got" "$(ev 2 game_start 0 EUR)"
	exec {to_fx}>&-
	wait "$fx_pid"
}

@test "SIGTERM while holding an event: logged, exit 69" {
	answer 500 'down'
	mkfifo "$BATS_TEST_TMPDIR/in"
	casino-fx <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	fx_pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
	ev 7 bet 1000 USD >&5
	wait_until 5 requests_at_least 2
	kill -TERM "$fx_pid"
	status=0
	wait "$fx_pid" || status=$?
	exec 5>&-
	assert_equal "$status" 69
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/out")" 0
	run jq -c 'select(.level == "error") | [.msg, .event_id]' "$BATS_TEST_TMPDIR/err"
	assert_output '["stopped while waiting for rates; event not written",7]'
}

@test "usage: no URL, bad --max-age, bad --on-error exit 64; -h and -V" {
	unset CASINO_FX_URL
	run casino-fx </dev/null
	assert_failure 64
	assert_output --partial 'usage: casino-fx'
	run casino-fx -u "$url" -a 61 </dev/null
	assert_failure 64
	assert_output --partial '"value":"61"'
	run casino-fx -u "$url" --on-error drop </dev/null
	assert_failure 64
	run casino-fx -u 'gopher://127.0.0.1/' </dev/null
	assert_failure 64
	run casino-fx -h
	assert_success
	assert_line --index 0 'usage: casino-fx [-a seconds] [-e hold|pass] [-k key] [-r file] [-u url]'
	run casino-fx -V
	assert_success
	assert_output --regexp '^casino-fx [0-9]'
}
