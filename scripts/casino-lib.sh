# casino-lib.sh: what the casino scripts share. Sourced, never run:
#   tool=casino-NAME
#   usage="usage: casino-NAME ..."
#   libdir=${0%/*}
#   . "$libdir/casino-lib.sh"
#   casino_log_check
# POSIX sh. Log records have the shape of the C tools' (casino(7)).
# shellcheck shell=sh disable=SC2154

# casino_log LEVEL MSG [KEY VALUE]...: one record on stderr, JSON unless
# stderr is a terminal; CASINO_LOG_FORMAT=json|text forces either.
casino_log() {
	_format=${CASINO_LOG_FORMAT:-}
	if [ -z "$_format" ]; then
		if [ -t 2 ]; then _format=text; else _format=json; fi
	fi
	awk -v format="$_format" -v name="$tool" '
	function rank(l) {
		return l == "debug" ? 0 : l == "info" ? 1 : l == "warn" ? 2 : 3
	}
	function esc(s,  i, c, out) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\\" || c == "\"") out = out "\\" c
			else if (c == "\n") out = out "\\n"
			else if (c == "\t") out = out "\\t"
			else if (c == "\r") out = out "\\r"
			else if (c < " ") out = out sprintf("\\u%04x", ctl[c])
			else out = out c
		}
		return "\"" out "\""
	}
	BEGIN {
		for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = i
		level = ARGV[1]
		threshold = ENVIRON["CASINO_LOG_LEVEL"]
		if (threshold == "") threshold = "info"
		if (rank(level) < rank(threshold)) exit
		if (format == "text") {
			line = name ": " (level == "info" ? "" : (level == "warn" ? "warning" : level) ": ") ARGV[2]
			for (i = 3; i + 1 < ARGC; i += 2)
				line = line (i == 3 ? " (" : ", ") ARGV[i] " " ARGV[i + 1]
			print line (ARGC > 4 ? ")" : "") > "/dev/stderr"
			exit
		}
		cmd = "date -u +%Y-%m-%dT%H:%M:%S.%3NZ"
		cmd | getline ts
		close(cmd)
		line = "{\"ts\":\"" ts "\",\"level\":\"" level "\",\"tool\":" esc(name) ",\"msg\":" esc(ARGV[2])
		for (i = 3; i + 1 < ARGC; i += 2)
			line = line "," esc(ARGV[i]) ":" esc(ARGV[i + 1])
		print line "}" > "/dev/stderr"
		exit
	}' "$@"
}

# casino_die CODE MSG [KEY VALUE]...: log an error, exit CODE.
casino_die() {
	_code=$1
	shift
	casino_log error "$@"
	exit "$_code"
}

# casino_usage_error REASON: log it, print the usage line, exit 64.
casino_usage_error() {
	casino_log error "$1"
	printf '%s\n' "$usage" >&2
	exit 64
}

# Exit 64 when CASINO_LOG_LEVEL or CASINO_LOG_FORMAT holds an unknown value.
casino_log_check() {
	case ${CASINO_LOG_LEVEL:-info} in
	debug | info | warn | error) ;;
	*)
		_bad=$CASINO_LOG_LEVEL
		CASINO_LOG_LEVEL=info
		casino_usage_error "bad CASINO_LOG_LEVEL: $_bad (debug, info, warn or error)" ;;
	esac
	case ${CASINO_LOG_FORMAT:-json} in
	json | text) ;;
	*)
		_bad=$CASINO_LOG_FORMAT
		CASINO_LOG_FORMAT=
		casino_usage_error "bad CASINO_LOG_FORMAT: $_bad (json or text)" ;;
	esac
}

# The runtime directory.
casino_rundir() {
	if [ -n "${CASINO_RUNDIR:-}" ]; then
		printf '%s\n' "$CASINO_RUNDIR"
	elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		printf '%s\n' "$XDG_RUNTIME_DIR/casino"
	else
		printf '/tmp/casino-%s\n' "$(id -u)"
	fi
}

# The programs on PATH: $CASINO_BIN, else the source tree's build/, else
# the folder the script is installed in.
casino_path_setup() {
	PATH="$libdir:$PATH"
	if [ -n "${CASINO_BIN:-}" ]; then
		PATH="$CASINO_BIN:$PATH"
	elif [ -f "$libdir/../Makefile" ] && [ -d "$libdir/../build" ]; then
		PATH="$(cd "$libdir/../build" && pwd):$PATH"
	fi
	export PATH
}

# casino_port_check NAME VALUE: a TCP port 1-65535, else a usage error.
casino_port_check() {
	case $2 in
	'' | *[!0-9]* | 0*) casino_usage_error "bad $1: $2 (want 1-65535)" ;;
	esac
	[ "$2" -le 65535 ] || casino_usage_error "bad $1: $2 (want 1-65535)"
}

# casino_worst_status A B: the worse exit status, 74 > 69 > 65 > 0; any
# other non-zero status (70, a signal) is worst of all.
casino_worst_status() {
	_rank_a=$(casino_status_rank "$1")
	_rank_b=$(casino_status_rank "$2")
	if [ "$_rank_a" -ge "$_rank_b" ]; then echo "$1"; else echo "$2"; fi
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
