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
