# The scripted rate API of fx.bats: one HTTP exchange per run, started by
# socat (TCP-LISTEN...,fork EXEC:"bash fx_api.bash DIR").
# Every request line is appended to DIR/requests. The Nth request is answered
# from DIR/answer.N.status and DIR/answer.N.body if they exist, else from
# DIR/answer.status and DIR/answer.body. A status file holds
# "CODE [DELAY_SECONDS]": the answer is sent after the delay, or never when
# the client hangs up first (no process is left behind). Like an API
# that echoes the request in its error message, a body's {query} stands for
# the request's query string as received, {query_upper} for it with
# upper-case %XX escapes, {query_form} for it with '+' for %20.
# shellcheck shell=bash
dir=$1
IFS= read -r request || exit 0
while IFS= read -r header && [ -n "${header%$'\r'}" ]; do :; done
printf '%s\n' "${request%$'\r'}" >>"$dir/requests"
n=$(wc -l <"$dir/requests")
answer=$dir/answer.$n
[ -f "$answer.status" ] || answer=$dir/answer
read -r code delay <"$answer.status"
if [ -n "$delay" ]; then
	# The request has no body: the read ends at the delay (status > 128),
	# or earlier when the client hangs up, and then nobody waits for us.
	read -r -t "$delay" _
	[ $? -gt 128 ] || exit 0
fi
body=$answer.body
if grep -q '{query' "$body"; then
	target=${request#* }
	target=${target%% *}
	query=
	[[ $target != *\?* ]] || query=${target#*\?}
	upper=$(printf '%s' "$query" | sed 's/%\(..\)/%\U\1/g')
	text=$(cat "$body")
	text=${text//"{query}"/"$query"}
	text=${text//"{query_upper}"/"$upper"}
	text=${text//"{query_form}"/"${query//%20/+}"}
	body=$dir/echo.$n
	printf '%s' "$text" >"$body"
fi
length=$(wc -c <"$body")
printf 'HTTP/1.1 %s Scripted\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
	"$code" "$length"
cat "$body"
