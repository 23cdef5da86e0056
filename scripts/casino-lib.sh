# casino-lib.sh: what the casino scripts share. Sourced, never run:
#   tool=casino-NAME
#   usage="usage: casino-NAME ..."
#   libdir=${0%/*}	# make install rewrites this line
#   . "$libdir/casino-lib.sh"
#   casino_log_check
# POSIX sh. Log records have the shape of the C tools' (casino(7)).
# The caller sets tool, usage and libdir; the caller uses what this sets.
# shellcheck shell=sh disable=SC2034,SC2154

# Where the data lives: the source tree, or the folder make install put it
# in (make install rewrites the next line to name it).
casino_installed=
if [ -n "$casino_installed" ]; then
	casino_srcdir=
	casino_rates=$casino_installed/rates.json
	casino_migrations=$casino_installed/migrations
else
	casino_srcdir=$(cd "$libdir/.." && pwd)
	casino_rates=$casino_srcdir/share/rates.json
	casino_migrations=$casino_srcdir/migrations
fi
casino_nl='
'

# The rules C knows (log records, the runtime and state directories, the
# ranking of exit statuses, a stage's health file) are casino-env(1)'s;
# these functions ask it, so no rule is written twice.

# casino_log LEVEL MSG [KEY VALUE]...: one record on stderr, as lib/log
# writes them (JSON unless stderr is a terminal, CASINO_LOG_LEVEL and
# CASINO_LOG_FORMAT apply). A value in decimal digits is a JSON number.
casino_log() {
	casino-env -- log "$tool" "$@"
}

# casino_die CODE MSG [KEY VALUE]...: log an error and exit CODE.
casino_die() {
	_code=$1
	shift
	casino_log error "$@"
	exit "$_code"
}

# casino_usage_error REASON: the reason, the usage line, exit 64.
casino_usage_error() {
	casino_log error "$1"
	printf '%s\n' "$usage" >&2
	exit 64
}

# casino_check PROGRAM ARG...: PROGRAM checks the values it is handed, in
# ARGs and its variables (lib/opt's --check: nothing is run), so that no
# script copies a program's range; a bad value is PROGRAM's record naming
# it, then the usage line, exit 64; any other failure exits with its status.
casino_check() {
	"$@" --check >/dev/null || {
		_status=$?
		[ "$_status" -ne 64 ] || printf '%s\n' "$usage" >&2
		exit "$_status"
	}
}

# An unknown CASINO_LOG_LEVEL or CASINO_LOG_FORMAT is a usage error; call
# first (it puts the programs on PATH). casino-env is asked only when one is
# set: a script's start costs no exec for it.
casino_log_check() {
	casino_path_setup
	if [ -n "${CASINO_LOG_LEVEL:-}${CASINO_LOG_FORMAT:-}" ] && ! casino-env log-check "$tool"; then
		printf '%s\n' "$usage" >&2
		exit 64
	fi
}

# casino_getopt SHORT LONG ARG...: parse with util-linux getopt(1) into
# casino_args, for the caller's eval "set -- $casino_args"; a parse error is
# a usage error naming getopt's reason.
casino_getopt() {
	_short=$1 _long=$2
	shift 2
	if ! casino_args=$(getopt -n "$tool" -o "$_short" -l "$_long" -- "$@" 2>/dev/null); then
		_why=$(getopt -n "$tool" -o "$_short" -l "$_long" -- "$@" 2>&1 >/dev/null | head -n 1)
		casino_usage_error "${_why#"$tool: "}"
	fi
}

# casino_version PROGRAM: print "$tool VERSION", the version PROGRAM reports
# (the scripts are released with the programs).
casino_version() {
	_v=$("$1" --version 2>/dev/null) || casino_die 70 "$1 not found for its version"
	_v=${_v%%"$casino_nl"*}
	printf '%s %s\n' "$tool" "${_v##* }"
}

# The runtime directory and the state directory (casino-env(1)).
casino_rundir() {
	casino-env rundir
}
casino_state_dir() {
	casino-env state-dir
}

# Put the programs on PATH: $CASINO_BIN, else the source tree's build/,
# else the folder the script is installed in; the scripts beside it too.
casino_path_setup() {
	[ -z "${casino_path_set:-}" ] || return 0
	casino_path_set=1
	PATH=${0%/*}:$PATH
	if [ -n "${CASINO_BIN:-}" ]; then
		PATH=$CASINO_BIN:$PATH
	elif [ -n "$casino_srcdir" ] && [ -d "$casino_srcdir/build" ]; then
		PATH=$casino_srcdir/build:$PATH
	fi
	export PATH
}

# casino_port_check NAME VALUE: VALUE is a TCP port 1-65535, or a usage
# error naming NAME (the option or variable it came from).
casino_port_check() {
	case $2 in
	'' | *[!0-9]* | 0*) casino_usage_error "bad $1: '$2' (want a port 1-65535)" ;;
	esac
	if [ "${#2}" -gt 5 ] || [ "$2" -gt 65535 ]; then
		casino_usage_error "bad $1: '$2' (want a port 1-65535)"
	fi
}

# casino_worst_status A B: the worse of two exit statuses (74 > 69 > 65 > 0,
# any other above them all); casino_status_rank S: the rank of S in that
# order, 0-4.
casino_worst_status() {
	casino-env worst "$1" "$2"
}
casino_status_rank() {
	_rank=$(casino-env exit-rank "$1")
	echo "${_rank#* }"
}

# The secrets casino's programs may find in their environment, and which
# program needs which (doc/design.md, "Secrets"): only casino-fx the rate
# API's key, only casino-player the database's connection string and
# password. casino_exec_for NAME CMD ARG... execs CMD without every secret
# program NAME does not need; run it in a subshell (or as a background job,
# whose pid stays CMD's) to keep the shell. casino_drop_secrets NAME unsets
# them in this shell, for a script that needs none of them.
casino_secrets='CASINO_FX_KEY CASINO_DB PGPASSWORD PGPASSFILE'
casino_needs_secret() {
	case $1:$2 in
	casino-fx:CASINO_FX_KEY | casino-player:CASINO_DB | casino-player:PG*) return 0 ;;
	esac
	return 1
}
casino_drop_secrets() {
	for _secret in $casino_secrets; do
		casino_needs_secret "$1" "$_secret" || unset "$_secret"
	done
}
casino_exec_for() {
	_for=$1
	shift
	for _secret in $casino_secrets; do
		casino_needs_secret "$_for" "$_secret" || set -- -u "$_secret" "$@"
	done
	exec env "$@"
}

# casino_transport URL: split a transport URL (file:PATH, file:///PATH or
# kafka://BROKERS/TOPIC) into casino_path, or casino_brokers and
# casino_topic; a usage error when it is none of them.
casino_transport() {
	casino_path='' casino_brokers='' casino_topic=''
	case $1 in
	file://*)
		casino_path=${1#file://}
		case $casino_path in /*) ;; *) casino_usage_error "file:// URLs name no host: $1" ;; esac ;;
	file:?*) casino_path=${1#file:} ;;
	kafka://*)
		_rest=${1#kafka://}
		casino_brokers=${_rest%%/*}
		casino_topic=${_rest#*/}
		if [ "$_rest" = "$casino_brokers" ] || [ -z "$casino_brokers" ] || [ -z "$casino_topic" ]; then
			casino_usage_error "want kafka://HOST:PORT[,HOST:PORT...]/TOPIC, not: $1"
		fi
		case $casino_topic in
		*[!A-Za-z0-9._-]*) casino_usage_error "bad topic name: $casino_topic" ;;
		esac ;;
	*) casino_usage_error "not a file: or kafka:// URL: $1" ;;
	esac
}

# librdkafka settings: -F FILE (CASINO_KAFKA_CONFIG) and each -X P=V.
casino_kafka_config=${CASINO_KAFKA_CONFIG:-}
casino_kafka_props=
casino_kafka_property() {
	case $1 in
	*"$casino_nl"*) casino_usage_error "-X wants property=value on one line" ;;
	?*=*) casino_kafka_props=$casino_kafka_props$1$casino_nl ;;
	*) casino_usage_error "-X wants property=value, not: $1" ;;
	esac
}

# casino_kafka_exec OPERAND COMMAND ARG...: exec COMMAND ARG... with the
# settings added (later ones win: the config file, then each -X), then
# OPERAND unless it is empty.
casino_kafka_exec() {
	_operand=$1
	shift
	[ -z "$casino_kafka_config" ] || set -- "$@" -F "$casino_kafka_config"
	_props=$casino_kafka_props
	while [ -n "$_props" ]; do
		set -- "$@" -X "${_props%%"$casino_nl"*}"
		_props=${_props#*"$casino_nl"}
	done
	[ -z "$_operand" ] || set -- "$@" "$_operand"
	exec "$@"
}

# The launcher (doc/design.md, "The launcher"): casino-run and casino-replay
# start, watch, stop and account for their stages through these, so the
# stage list, the lifeline and the accounting are written once.
#
# casino_launch_init DIR: DIR (the caller's private folder) gets the stage
# list and the counts file (CASINO_COUNTS, exported); the lifeline is made:
# a FIFO whose read end (fd 7) every stage inherits as CASINO_LIFELINE and
# whose only write end (fd 6) this shell holds. When this shell dies, even
# by SIGKILL, the write end closes and every stage sees it (lib/sig): the
# sources stop, the others drain and save what they hold, and exit. A
# child that must not outlive the caller closes fd 6 (casino_launch does).
casino_launch_init() {
	casino_stages=$1/launched
	CASINO_COUNTS=$1/counts
	export CASINO_COUNTS
	: >"$casino_stages"
	: >"$CASINO_COUNTS"
	mkfifo "$1/lifeline"
	# Held open for reading and writing while both ends are opened, so
	# neither open waits for the other.
	exec 8<>"$1/lifeline"
	# shellcheck disable=SC2094 # the two ends of one FIFO
	exec 7<"$1/lifeline" 6>"$1/lifeline" 8>&-
}
# A stop may come before the stages start: casino_watch acts on it then.
casino_stages='' casino_stop_asked=0 casino_termed=' ' casino_ended=' '
casino_died='' casino_status=0 casino_left=0

# casino_launch NAME ROLE IN OUT PROGRAM ARG...: start PROGRAM in its own
# session (a Ctrl-C reaches the caller only, which stops the stages in
# order), with only the secrets NAME needs, stdin from IN and stdout to OUT
# (paths, opened in the child so a FIFO waits there; "-" inherits). ROLE:
# source, a first stage, stopped at the first stop and by the lifeline
# (mode stop); stage, one that reads its input to the end (mode drain).
casino_launch() {
	_name=$1 _role=$2 _in=$3 _out=$4
	shift 4
	case $_role in
	source) set -- env CASINO_LIFELINE=7:stop setsid -w "$@" ;;
	stage) set -- env CASINO_LIFELINE=7:drain setsid -w "$@" ;;
	*) casino_die 70 "casino_launch: unknown role $_role" ;;
	esac
	# A job in the background gets /dev/null for stdin: "-" passes the
	# caller's on fd 5.
	{
		(
			exec 6>&-
			if [ "$_in" = - ]; then exec <&5; else exec <"$_in"; fi
			exec 5<&-
			[ "$_out" = - ] || exec >"$_out"
			casino_exec_for "$_name" "$@"
		) &
	} 5<&0
	casino_launched "$_name" "$!" "$_role"
}
# casino_launched NAME PID ROLE: watch and stop a job the caller started
# itself (a shell function in the background, which closed fd 6).
casino_launched() {
	echo "$1 $2 $3" >>"$casino_stages"
	casino_left=$((casino_left + 1))
}

# Whether process $1 is alive (not gone, not a zombie waiting to be
# reaped); no fork, as the watch runs it ten times a second.
casino_running() {
	[ -r "/proc/$1/stat" ] && read -r _stat 2>/dev/null <"/proc/$1/stat" || return 1
	case ${_stat##*) } in Z* | X*) return 1 ;; esac
}

# Whether stage $1 with pid $2 holds events now, by its health file.
casino_holding() {
	_held=$(casino-env health "$1" "$2" held 2>/dev/null) || return 1
	[ "$_held" != 0 ]
}

# casino_stop: ask for a stop (a trap calls it; the watch acts on it).
# The first stops the sources, so the stages after them read to the end of
# their input and nothing queued in a pipe is lost; a stage that holds
# events (no database, no rates) is stopped too and saves them and all
# behind them. A second stops every stage at once.
casino_stop() {
	casino_stop_asked=$((casino_stop_asked + 1))
}
casino_stop_stages() {
	while read -r _name _pid _role; do
		case $casino_termed$casino_ended in *" $_pid "*) continue ;; esac
		if [ "$_role" = source ] || [ "$casino_stop_asked" -ge 2 ] || casino_holding "$_name" "$_pid"; then
			casino_termed="$casino_termed$_pid "
			kill -TERM "$_pid" 2>/dev/null || true
		fi
	done <"$casino_stages"
}

# casino_watch: until every stage has ended, reap each as it ends and fold
# its status into casino_status (the worst: 74 > 69 > 65 > 0); a stage that
# died of a signal is named in an error record, set in casino_died, and its
# status is 70. A stage that ends while a source still runs stops the run.
# casino_watch_tick, when set, names a function it calls at each turn.
casino_watch() {
	while [ "$casino_left" -gt 0 ]; do
		while read -r _name _pid _role; do
			case $casino_ended in *" $_pid "*) continue ;; esac
			! casino_running "$_pid" || continue
			_rc=0
			wait "$_pid" || _rc=$?
			casino_ended="$casino_ended$_pid "
			casino_left=$((casino_left - 1))
			if [ "$_rc" -gt 128 ]; then
				casino_log error "a stage died of a signal; stopping the others so they save what they hold" \
				    stage "$_name" signal "SIG$(kill -l "$_rc")" status "$_rc"
				casino_died="$casino_died $_name"
				_rc=70
			fi
			casino_status=$(casino_worst_status "$casino_status" "$_rc")
			if [ "$_role" != source ] && [ "$casino_stop_asked" -eq 0 ] && [ -n "$(casino_sources_left)" ]; then
				casino_stop_asked=1
			fi
		done <"$casino_stages"
		[ "$casino_stop_asked" -eq 0 ] || casino_stop_stages
		[ -z "${casino_watch_tick:-}" ] || "$casino_watch_tick"
		[ "$casino_left" -eq 0 ] || sleep 0.1 || true # a Ctrl-C kills the sleep too
	done
}
# The sources still running, by pid.
casino_sources_left() {
	while read -r _n _p _r; do
		[ "$_r" != source ] || case $casino_ended in *" $_p "*) ;; *) echo "$_p" ;; esac
	done <"$casino_stages"
}

# casino_stages_stop_all: SIGTERM each stage still running and reap it
# (the caller's exit: nothing it started outlives it).
casino_stages_stop_all() {
	[ -n "$casino_stages" ] && [ -f "$casino_stages" ] || return 0
	while read -r _name _pid _role; do
		case $casino_ended in *" $_pid "*) continue ;; esac
		kill -TERM "$_pid" 2>/dev/null || true
		wait "$_pid" 2>/dev/null || true
	done <"$casino_stages"
}

# casino_account IN_KEY OUT_KEY LOGGED: the account of a run from the
# stages' final counts, as KEY VALUE words: IN_KEY the events that entered
# (casino-gen's count, else what casino-fx read), OUT_KEY those logged
# (casino-tee-agg's count, else LOGGED when it died: the lines its log
# gained), rejected and saved over every stage, lost = in - logged -
# rejected - saved, and each stage's in, out, rejected, saved and pending
# (or NAME_died 1).
casino_account() {
	jq -rs --arg in "$1" --arg out "$2" --arg logged "$3" '
	(map({key: .tool, value: .}) | from_entries) as $s
	| ["casino-fx", "casino-player", "casino-describe", "casino-tee-agg"] as $stages
	| ($s["casino-gen"].events // $s["casino-fx"].in // "unknown") as $entered
	| (if $s["casino-tee-agg"] then $s["casino-tee-agg"].out
	   elif $logged != "" then ($logged | tonumber) else "unknown" end) as $logged
	| ([$stages[] | $s[.].rejected // 0] | add) as $rejected
	| ([$stages[] | $s[.].saved // 0] | add) as $saved
	| [$in, $entered, $out, $logged, "rejected", $rejected, "saved", $saved]
	+ (if ($entered | type) == "number" and ($logged | type) == "number"
	   then ["lost", ($entered - $logged - $rejected - $saved)] else ["lost", "unknown"] end)
	+ [$stages[] as $t | ($t | sub("casino-"; "") | sub("tee-"; "")) as $k
	   | if $s[$t] then "\($k)_in", $s[$t].in, "\($k)_out", $s[$t].out, "\($k)_rejected", $s[$t].rejected,
	       "\($k)_saved", $s[$t].saved, "\($k)_pending", $s[$t].pending
	     else "\($k)_died", 1 end]
	| map(tostring) | join(" ")' "$CASINO_COUNTS"
}
