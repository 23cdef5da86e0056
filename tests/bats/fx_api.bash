# The scripted rate API of fx.bats: one HTTP exchange per run, started by
# socat (TCP-LISTEN...,fork EXEC:"bash fx_api.bash DIR").
# Every request line is appended to DIR/requests. The Nth request is answered
# from DIR/answer.N.status and DIR/answer.N.body if they exist, else from
# DIR/answer.status and DIR/answer.body. A status file holds
# "CODE [DELAY_SECONDS]": the answer is sent after the delay.
# shellcheck shell=bash
dir=$1
IFS= read -r request || exit 0
while IFS= read -r header && [ -n "${header%$'\r'}" ]; do :; done
printf '%s\n' "${request%$'\r'}" >>"$dir/requests"
n=$(wc -l <"$dir/requests")
answer=$dir/answer.$n
[ -f "$answer.status" ] || answer=$dir/answer
read -r code delay <"$answer.status"
[ -z "$delay" ] || sleep "$delay"
length=$(wc -c <"$answer.body")
printf 'HTTP/1.1 %s Scripted\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
	"$code" "$length"
cat "$answer.body"
