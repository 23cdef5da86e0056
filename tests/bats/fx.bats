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
	stop_pids "$api_pid" "${fx_pid:-}" "${sup_pid:-}"
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

requests_at_least() {
	[ "$(requests)" -ge "$1" ]
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

@test "the key is masked in every form an API may echo it: %xx in either case, + for space, raw" {
	local key='S3cr3t K3y+/=&x'
	# The API echoes the query it got: access_key=S3cr3t%20K3y%2b%2f%3d%26x
	answer -n 1 200 '{"success":false,"error":{"info":"bad key in {query}"}}'
	answer -n 2 200 '{"success":false,"error":{"info":"bad key in {query_upper}"}}'
	answer -n 3 200 '{"success":false,"error":{"info":"bad key in {query_form}"}}'
	answer -n 4 200 '{"success":false,"error":{"info":"bad key S3cr3t%20K3y+/=%26x, S3cr3t K3y+/=&x"}}'
	answer 200 "$CLASSIC"
	run --separate-stderr casino-fx -a 0 -k "$key" < <(ev 1 bet 1000 USD)
	assert_success
	assert_equal "$(requests)" 5
	grep -q 'access_key=S3cr3t%20K3y%2b%2f%3d%26x HTTP' "$api/requests"
	[[ $stderr != *K3y* && $stderr != *k3y* && $stderr != *S3cr3t* ]] || fail "the key leaks: $stderr"
	run jq -r 'select(.msg == "cannot fetch rates") | .error' <<<"$stderr"
	assert_output "answer reports an error: bad key in access_key=***
answer reports an error: bad key in access_key=***
answer reports an error: bad key in access_key=***
answer reports an error: bad key ***, ***"
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

@test "file:// URL: a '%' without two hex digits after it is the byte '%' (%-1 is not 0xFF)" {
	# sscanf("%2x") read "-1" as 0xFF: the file was never found and the log
	# held invalid UTF-8.
	printf '%s' "$CLASSIC" >"$BATS_TEST_TMPDIR/r%-1%g.json"
	run --separate-stderr casino-fx -e pass -u "file://$BATS_TEST_TMPDIR/r%-1%g.json" < <(ev 1 bet 1000 USD)
	assert_success
	assert_output "$(with_eur 1 bet 1000 USD 934)"
	run --separate-stderr casino-fx -e pass -u "file://$BATS_TEST_TMPDIR/none%-1" < <(ev 1 bet 1000 USD)
	assert_success
	run jq -r 'select(.level == "warn") | .error' <<<"$stderr"
	assert_line --index 0 "cannot open $BATS_TEST_TMPDIR/none%-1: No such file or directory"
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

# fx_on_fifo ARG...: casino-fx ARG... in the background, its input a FIFO
# the test writes on fd 5, its output in out and err; sets fx_pid.
fx_on_fifo() {
	rm -f "$BATS_TEST_TMPDIR/in"
	mkfifo "$BATS_TEST_TMPDIR/in"
	casino-fx "$@" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	fx_pid=$!
	exec 5>"$BATS_TEST_TMPDIR/in"
}

# fx_end: close its input (after a stop it reads on to the end: the writer
# goes too) and wait for it; its exit status in status.
fx_end() {
	exec 5>&-
	status=0
	wait "$fx_pid" || status=$?
}

# stop_holding_fx: SIGTERM to a casino-fx that holds what it read: it
# writes nothing and exits 69.
stop_holding_fx() {
	kill -TERM "$fx_pid"
	fx_end
	assert_equal "$status" 69
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/out")" 0
}

@test "SIGTERM while holding an event: logged, exit 69" {
	answer 500 'down'
	fx_on_fifo
	ev 7 bet 1000 USD >&5
	wait_until 5 requests_at_least 2
	stop_holding_fx
	run jq -c 'select(.level == "error") | [.msg, .saved, .not_saved, .first_event_id, .last_event_id]' "$BATS_TEST_TMPDIR/err"
	assert_output '["stopped holding events; not saved: no reject file",0,1,7,7]'
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
	assert_line --index 0 'usage: casino-fx [-a seconds] [-D latest|event] [-e hold|pass] [-k key] [-n hold|save] [-r file] [-u url]'
	run casino-fx -V
	assert_success
	assert_output --regexp '^casino-fx [0-9]'
}

@test "a reject file that cannot be written makes the exit status 74, not 65" {
	run --separate-stderr casino-fx -u "file://$CASINO_ROOT/share/rates.json" -r /dev/full < <(
		echo 'not json'; ev 2 deposit 100 EUR)
	assert_failure 74
	assert_output --partial '"amount_eur":100'
	[[ "$stderr" == *'"msg":"cannot write reject file"'* ]] || fail "$stderr"
}

@test "a bad CASINO_FX_MAX_AGE is blamed on the variable; -a wins over it" {
	run --separate-stderr env CASINO_FX_MAX_AGE=abc casino-fx </dev/null
	assert_failure 64
	[[ "$stderr" == *'"option":"CASINO_FX_MAX_AGE","value":"abc"'* ]] || fail "$stderr"
	run --separate-stderr env CASINO_FX_MAX_AGE=abc casino-fx -a 5 < <(ev 1 deposit 100 EUR)
	assert_success
}

# evd ID AMOUNT CURRENCY CREATED_AT: a bet on a given date.
evd() {
	printf '{"id":%s,"player_id":10,"game_id":100,"type":"bet","amount":%s,"currency":"%s","created_at":"%s"}\n' "$@"
}

@test "--rates-date event: each amount at the rates of its UTC date, {date} in the URL, one request per date" {
	answer -n 1 200 '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25}}'
	answer -n 2 200 '{"success":true,"source":"EUR","date":"2024-07-01","quotes":{"EURUSD":1.6}}'
	answer -n 3 200 '{"base":"USD","date":"2024-07-02","rates":{"EUR":0.5}}'
	run --separate-stderr casino-fx -D event -k "$KEY" -u "http://127.0.0.1:$port/{date}?base=EUR" < <(
		evd 1 1000 USD 2024-06-28T10:00:00Z
		evd 2 1000 USD 2024-07-02T01:00:00+02:00
		evd 3 1000 USD 2024-07-01T00:00:00Z
		evd 4 1000 USD 2024-06-28T23:00:00Z
		evd 5 1000 USD 2024-07-02T12:00:00Z
	)
	assert_success
	# 10 / 1.25 = 8.00; 10 / 1.6 = 6.25 (event 2 is on July 1st in UTC);
	# USD base: EUR->USD = 1 / 0.5 = 2, 10 / 2 = 5.00
	run jq -c '[.id, .amount_eur]' <<<"$output"
	assert_output '[1,800]
[2,625]
[3,625]
[4,800]
[5,500]'
	run cat "$api/requests"
	assert_output "GET /2024-06-28?base=EUR&access_key=$KEY HTTP/1.1
GET /2024-07-01?base=EUR&access_key=$KEY HTTP/1.1
GET /2024-07-02?base=EUR&access_key=$KEY HTTP/1.1"
}

@test "--rates-date event: a date without rates walks back a day (404, no_rates_available), logged; a 500 is retried, never walked past" {
	answer -n 1 404 '{"error":"not found"}'
	answer -n 2 200 '{"success":false,"error":{"code":106,"type":"no_rates_available","info":"no results"}}'
	answer -n 3 500 'down'
	answer -n 4 200 '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25}}'
	run --separate-stderr casino-fx -D event -u "http://127.0.0.1:$port/hist?date={date}" < <(
		evd 1 1000 USD 2024-06-30T12:00:00Z
		evd 2 1000 USD 2024-06-29T12:00:00Z
	)
	assert_success
	# Sunday and Saturday at Friday's rates: 10 / 1.25 = 8.00
	run jq -c '[.id, .amount_eur]' <<<"$output"
	assert_output '[1,800]
[2,800]'
	run sed 's/.*date=\([0-9-]*\) .*/\1/' "$api/requests"
	assert_output '2024-06-30
2024-06-29
2024-06-28
2024-06-28'
	run jq -c 'select(.level != "info" or .msg != "rates fetched") | [.msg, .date]' <<<"$stderr"
	assert_output '["no rates for this date","2024-06-30"]
["no rates for this date","2024-06-29"]
["cannot fetch rates","2024-06-28"]
["using the rates of the nearest earlier date","2024-06-30"]'
	run jq -r 'select(.msg == "using the rates of the nearest earlier date") | .rates_date' <<<"$stderr"
	assert_output 2024-06-28
}

@test "--rates-date event: nothing within 7 days, or an answer for a later date, is a failure (--on-error pass emits without amount_eur)" {
	answer 404 '{"error":"not found"}'
	run --separate-stderr casino-fx -D event -e pass -u "http://127.0.0.1:$port/{date}" < <(evd 1 1000 USD 2024-06-30T12:00:00Z)
	assert_success
	assert_equal "$output" "$(evd 1 1000 USD 2024-06-30T12:00:00Z)"
	# the date and the 7 before it
	assert_equal "$(requests)" 8
	assert_equal "$(tail -n 1 "$api/requests")" 'GET /2024-06-23 HTTP/1.1'
	run jq -r 'select(.level == "warn") | .msg' <<<"$stderr"
	assert_line --index 0 'no rates for the date or the 7 days before it'
	answer 200 '{"base":"EUR","date":"2026-11-25","rates":{"USD":1.25}}'
	run --separate-stderr casino-fx -D event -e pass -u "http://127.0.0.1:$port/{date}" < <(evd 1 1000 USD 2024-06-30T12:00:00Z)
	assert_success
	assert_equal "$output" "$(evd 1 1000 USD 2024-06-30T12:00:00Z)"
	run jq -r 'select(.level == "warn") | .error' <<<"$stderr"
	assert_line --index 0 'answer is for 2026-11-25, after the date asked'
}

@test "--rates-date event: file://{date}.json files, a missing file is a date without rates" {
	mkdir -p "$BATS_TEST_TMPDIR/rates"
	printf '%s' '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25}}' >"$BATS_TEST_TMPDIR/rates/2024-06-28.json"
	run --separate-stderr casino-fx --rates-date=event -u "file://$BATS_TEST_TMPDIR/rates/{date}.json" < <(evd 1 1000 USD 2024-06-30T12:00:00Z)
	assert_success
	assert_equal "$output" '{"id":1,"player_id":10,"game_id":100,"type":"bet","amount":1000,"currency":"USD","created_at":"2024-06-30T12:00:00Z","amount_eur":800}'
	run jq -c 'select(.msg == "using the rates of the nearest earlier date") | [.date, .rates_date]' <<<"$stderr"
	assert_output '["2024-06-30","2024-06-28"]'
}

@test "--no-rates save: the events of a date without rates (nor the 7 before) go to the reject file in order, the other dates on, exit 69" {
	local r=$BATS_TEST_TMPDIR/rates rej=$BATS_TEST_TMPDIR/rej
	mkdir -p "$r"
	printf '%s' '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25}}' >"$r/2024-06-28.json"
	{
		evd 1 1000 USD 2024-01-01T10:00:00Z
		evd 2 1000 USD 2024-06-28T10:00:00Z
		evd 3 2000 USD 2024-01-01T11:00:00Z
		ev 4 game_stop 0 EUR 2024-01-01T12:00:00Z | jq -c 'del(.amount, .currency)'
		evd 5 3000 USD 2024-01-02T00:00:00Z
	} >"$BATS_TEST_TMPDIR/in"
	CASINO_LOG_LEVEL=debug run -69 --separate-stderr casino-fx -D event -n save -r "$rej" -u "file://$r/{date}.json" <"$BATS_TEST_TMPDIR/in"
	assert_equal "$(jq -r .id <<<"$output" | paste -sd ' ')" '2 4'
	assert_equal "$(jq -r .amount_eur <<<"$output" | head -n 1)" 800
	# Byte for byte and in order, nothing added.
	assert_equal "$(cat "$rej")" "$(sed -n '1p;3p;5p' "$BATS_TEST_TMPDIR/in")"
	run jq -c 'select(.level == "warn") | [.msg, .date // .saved]' <<<"$stderr"
	assert_output '["no rates for the date or the 7 days before it; its events are saved to the reject file","2024-01-01"]
["no rates for the date or the 7 days before it; its events are saved to the reject file","2024-01-02"]
["events of dates without rates saved to the reject file",3]'
	run jq -c 'select(.msg == "end of run") | [.in, .out, .rejected, .saved, .pending]' <<<"$stderr"
	assert_output '[5,2,0,3,0]'
	# A day found empty is not asked again for each of its events: 8 files
	# for 2024-01-01, its two events.
	run -0 --separate-stderr casino-fx -D event -n save -r "$rej" -u "file://$r/{date}.json" < <(evd 1 1 USD 2024-06-28T00:00:00Z)
	CASINO_FX_NO_RATES=save run -69 --separate-stderr casino-fx -D event -r "$rej" -u "file://$r/{date}.json" \
		< <(evd 7 1 USD 2024-01-01T00:00:00Z; evd 8 1 USD 2024-01-01T01:00:00Z)
	assert_equal "$(jq -c 'select(.msg == "no rates for this date")' <<<"$stderr" | wc -l)" 8
}

@test "--no-rates: save without a reject file or without -D event, and a bad value, are usage errors (64); hold is the default" {
	local u="file://$BATS_TEST_TMPDIR/{date}.json"
	run -64 casino-fx -D event -n save -u "$u" </dev/null
	assert_output --partial '"option":"--no-rates"'
	assert_output --partial 'a reject file (-r)'
	run -64 casino-fx -n save -r "$BATS_TEST_TMPDIR/rej" -u "file://$CASINO_ROOT/share/rates.json" </dev/null
	assert_output --partial '--rates-date event'
	CASINO_FX_NO_RATES=drop run -64 casino-fx -D event -u "$u" </dev/null
	assert_output --partial '"option":"CASINO_FX_NO_RATES","value":"drop"'
	# hold: the event waits for rates until the stop, then is saved.
	casino-fx -D event -r "$BATS_TEST_TMPDIR/rej" -u "$u" < <(evd 1 1 USD 2024-01-01T00:00:00Z) \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$!
	wait_grep "$BATS_TEST_TMPDIR/err" 'no rates for the date or the 7 days before it"'
	kill -TERM "$pid"
	wait_pid "$pid"
	assert_equal "$waited" 69
	assert_equal "$(jq -r .id "$BATS_TEST_TMPDIR/rej")" 1
}

@test "--rates-date: event without {date} in the URL and a bad value are usage errors (64)" {
	run casino-fx -D event </dev/null
	assert_failure 64
	assert_output --partial '{date}'
	assert_output --partial 'usage: casino-fx'
	CASINO_FX_RATES_DATE=event run casino-fx </dev/null
	assert_failure 64
	assert_output --partial '"option":"CASINO_FX_RATES_DATE"'
	run casino-fx --rates-date today </dev/null
	assert_failure 64
	assert_output --partial '"option":"--rates-date","value":"today"'
	# the option wins over the variable
	CASINO_FX_RATES_DATE=bogus run casino-fx -D latest -u "file://$CASINO_ROOT/share/rates.json" </dev/null
	assert_success
}

# ids FILE: the ids of FILE's events, one a line.
ids() {
	jq -r .id "$1"
}

@test "rates that cannot convert an amount (1e-308, 5e-324, 1e308) are held like missing rates, fetched again, never passed without amount_eur" {
	local rate
	for rate in 1e-308 5e-324 1e308; do
		: >"$api/requests"
		answer -n 1 200 '{"base":"EUR","rates":{"USD":'"$rate"',"GBP":0.84638}}'
		answer 200 "$CLASSIC"
		run --separate-stderr casino-fx < <(ev 1 bet 250 GBP; ev 2 bet 1000 USD)
		assert_success
		# 250 / 0.84638 = 295.37 -> 295; 1000 / 1.0705 = 934.14 -> 934
		assert_equal "$output" "$(with_eur 1 bet 250 GBP 295; with_eur 2 bet 1000 USD 934)"
		assert_equal "$(requests)" 2
		run jq -r 'select(.level == "warn") | [.msg, .event_id, .currency] | @tsv' <<<"$stderr"
		assert_output "$(printf '%s\t2\tUSD' 'the rate cannot convert the amount; rates fetched again')"
	done
}

@test "an unusable rate of the event's date is fetched again for that date (--rates-date event)" {
	answer -n 1 200 '{"base":"EUR","date":"2024-06-28","rates":{"USD":1e308}}'
	answer 200 '{"base":"EUR","date":"2024-06-28","rates":{"USD":1.25}}'
	run --separate-stderr casino-fx -D event -u "http://127.0.0.1:$port/{date}" < <(ev 1 bet 1000 USD)
	assert_success
	# 1000 / 1.25 = 800
	assert_equal "$output" "$(with_eur 1 bet 1000 USD 800)"
	assert_equal "$(grep -c '/2024-06-28 ' "$api/requests")" 2
}

@test "an unusable rate held until SIGTERM: the event and all behind it saved, exit 69; with --on-error pass it is a missing rate" {
	local T=$BATS_TEST_TMPDIR
	answer 200 '{"base":"EUR","rates":{"USD":1e308,"GBP":0.84638}}'
	fx_on_fifo -r "$T/rej"
	ev 1 bet 1000 USD >&5
	ev 2 bet 250 GBP >&5
	wait_until 10 requests_at_least 2
	stop_holding_fx
	assert_equal "$(ids "$T/rej" | tr '\n' ' ')" '1 2 '
	run --separate-stderr casino-fx -e pass < <(ev 3 bet 1000 USD; ev 4 bet 250 GBP)
	assert_success
	assert_equal "$output" "$(ev 3 bet 1000 USD; ev 4 bet 250 GBP)"
	run jq -r 'select(.level == "warn") | .msg' <<<"$stderr"
	assert_output 'the rate cannot convert the amount; rates fetched again
no fresh rates; event passed without amount_eur
no fresh rates; event passed without amount_eur'
}

@test "a stop, or the lifeline's end, during a 30 s rate request ends it within a second: every event saved, exit 69" {
	local T=$BATS_TEST_TMPDIR how i
	answer 200 "$CLASSIC" 30
	export CASINO_LIFELINE=9
	for how in SIGTERM lifeline; do
		rm -f "$T/rej" "$T/lifeline"
		: >"$api/requests"
		mkfifo "$T/lifeline"
		sleep 600 >"$T/lifeline" &
		sup_pid=$!
		fx_on_fifo -r "$T/rej" 9<"$T/lifeline"
		for i in 1 2 3 4 5; do ev "$i" bet 1000 USD >&5; done
		wait_until 10 requests_at_least 1
		if [ "$how" = SIGTERM ]; then kill -TERM "$fx_pid"; else kill "$sup_pid"; fi
		exec 5>&-
		wait_until 1 process_gone "$fx_pid" || fail "$how: still running a second later"
		fx_end
		stop_pids "$sup_pid"
		assert_equal "$status" 69
		assert_equal "$(wc -c <"$T/out")" 0
		assert_equal "$(ids "$T/rej")" "$(seq 1 5)"
		grep -q '"error":"request ended by a stop"' "$T/err" || fail "$how: $(cat "$T/err")"
	done
}
