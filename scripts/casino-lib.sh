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

# The log level names, and the rank of each (debug 0 .. error 3; nothing
# when unknown). lib/log.c has the same table: tests/bats/lib.bats proves
# that they agree.
casino_levels='debug info warn warning error'
casino_level_rank() {
	case $1 in
	debug) echo 0 ;;
	info) echo 1 ;;
	warn | warning) echo 2 ;;
	error) echo 3 ;;
	esac
}

# casino_log LEVEL MSG [KEY VALUE]...: one record on stderr, JSON unless
# stderr is a terminal; CASINO_LOG_FORMAT=json|text forces either. A value
# that is a whole number in decimal is written as a JSON number.
casino_log() {
	_rank=$(casino_level_rank "$1")
	_min=$(casino_level_rank "${CASINO_LOG_LEVEL:-info}")
	[ "${_rank:-3}" -ge "${_min:-1}" ] || return 0
	case ${CASINO_LOG_FORMAT:-} in
	json) _text=0 ;;
	text) _text=1 ;;
	*) if [ -t 2 ]; then _text=1; else _text=0; fi ;;
	esac
	_level=$1
	[ "$_level" != warning ] || _level=warn
	shift
	# The strings reach awk as operands, never through -v (which would
	# interpret their backslashes); one print keeps the record whole.
	awk 'function q(s,  out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			out = out ((c in esc) ? esc[c] : c)
		}
		return "\"" out "\""
	}
	BEGIN {
		for (i = 1; i < 32; i++) esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
		esc["\n"] = "\\n"; esc["\t"] = "\\t"; esc["\r"] = "\\r"
		esc["\""] = "\\\""; esc["\\"] = "\\\\"
		if (ARGV[1]) {
			rec = ARGV[4] ": " (ARGV[3] == "warn" ? "warning" : ARGV[3]) ": " ARGV[5]
			for (i = 6; i + 1 < ARGC; i += 2)
				rec = rec (i == 6 ? " (" : ", ") ARGV[i] " " ARGV[i + 1]
			if (ARGC > 7) rec = rec ")"
		} else {
			rec = "{\"ts\":" q(ARGV[2]) ",\"level\":" q(ARGV[3]) \
			    ",\"tool\":" q(ARGV[4]) ",\"msg\":" q(ARGV[5])
			for (i = 6; i + 1 < ARGC; i += 2)
				rec = rec "," q(ARGV[i]) ":" (ARGV[i + 1] ~ /^-?(0|[1-9][0-9]*)$/ && length(ARGV[i + 1]) < 16 ? ARGV[i + 1] : q(ARGV[i + 1]))
			rec = rec "}"
		}
		print rec
		exit 0
	}' "$_text" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$_level" "$tool" "$@" >&2
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

# An unknown CASINO_LOG_LEVEL or CASINO_LOG_FORMAT is a usage error.
casino_log_check() {
	if [ -n "${CASINO_LOG_LEVEL:-}" ] && [ -z "$(casino_level_rank "$CASINO_LOG_LEVEL")" ]; then
		_bad=$CASINO_LOG_LEVEL
		CASINO_LOG_LEVEL=
		casino_usage_error "bad CASINO_LOG_LEVEL: $_bad (want debug, info, warn or error)"
	fi
	case ${CASINO_LOG_FORMAT:-} in
	'' | json | text) ;;
	*)
		_bad=$CASINO_LOG_FORMAT
		CASINO_LOG_FORMAT=
		casino_usage_error "bad CASINO_LOG_FORMAT: $_bad (want json or text)" ;;
	esac
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

# The runtime directory: $CASINO_RUNDIR, else $XDG_RUNTIME_DIR/casino, else
# /tmp/casino-UID (the C tools' lib/rundir.c has the same rule:
# tests/bats/lib.bats proves they agree).
casino_rundir() {
	if [ -n "${CASINO_RUNDIR:-}" ]; then
		printf '%s\n' "$CASINO_RUNDIR"
	elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		printf '%s/casino\n' "$XDG_RUNTIME_DIR"
	else
		printf '/tmp/casino-%s\n' "$(id -u)"
	fi
}

# Where the private database lives: $CASINO_STATE_DIR, else
# $XDG_STATE_HOME/casino, else for root /var/lib/casino (the server runs as
# postgres, which may not enter /root), else ~/.local/state/casino (without
# HOME, as under env -i, the home the passwd database gives); always
# absolute.
casino_state_dir() {
	if [ -n "${CASINO_STATE_DIR:-}" ]; then
		_state=$CASINO_STATE_DIR
	elif [ -n "${XDG_STATE_HOME:-}" ]; then
		_state=$XDG_STATE_HOME/casino
	elif [ "$(id -u)" -eq 0 ]; then
		_state=/var/lib/casino
	else
		_home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
		[ -n "$_home" ] || casino_die 64 "no state folder: HOME is not set and the passwd database gives no home; set CASINO_STATE_DIR"
		_state=$_home/.local/state/casino
	fi
	case $_state in /*) ;; *) _state=$PWD/$_state ;; esac
	printf '%s\n' "$_state"
}

# Put the programs on PATH: $CASINO_BIN, else the source tree's build/,
# else the folder the script is installed in; the scripts beside it too.
casino_path_setup() {
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

# casino_worst_status A B: the worse of two exit statuses, 74 > 69 > 65 > 0;
# any other non-zero status (70, a signal) is worst of all. lib/stage.c
# (exit_worst) has the same ranks: tests/bats/lib.bats proves they agree.
casino_worst_status() {
	_ra=$(casino_status_rank "$1")
	_rb=$(casino_status_rank "$2")
	if [ "$_rb" -gt "$_ra" ]; then echo "$2"; else echo "$1"; fi
}
casino_status_rank() {
	case $1 in
	0) echo 0 ;;
	65) echo 1 ;;
	69) echo 2 ;;
	74) echo 3 ;;
	*) echo 4 ;;
	esac
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
