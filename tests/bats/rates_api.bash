# A dated rate API for --rates-date event tests: one HTTP exchange per run,
# started by socat (TCP-LISTEN...,fork EXEC:"bash rates_api.bash DIR").
# Every request line is appended to DIR/requests. The first YYYY-MM-DD in the
# request target picks the answer: DIR/DATE.json with status 200 (or the
# code in DIR/DATE.status, "CODE [DELAY_SECONDS]": sent after the delay),
# else 404.
# shellcheck shell=bash
dir=$1
IFS= read -r request || exit 0
while IFS= read -r header && [ -n "${header%$'\r'}" ]; do :; done
request=${request%$'\r'}
printf '%s\n' "$request" >>"$dir/requests"
date=$(printf '%s\n' "$request" | grep -o '[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}' | head -n 1)
code=404 body='{"error":{"code":404,"info":"no such date"}}'
if [ -n "$date" ] && [ -f "$dir/$date.json" ]; then
	code=200
	body=$(cat "$dir/$date.json")
fi
if [ -n "$date" ] && [ -f "$dir/$date.status" ]; then
	read -r code delay <"$dir/$date.status"
	[ -z "$delay" ] || sleep "$delay"
fi
printf 'HTTP/1.1 %s Scripted\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
	"$code" "${#body}" "$body"
