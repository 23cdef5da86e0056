# Common setup for every suite: bats-support/bats-assert, the programs under
# test first on PATH, a private temp dir, and helpers for servers on free ports.
# shellcheck shell=bash
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

CASINO_ROOT=${CASINO_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
CASINO_BIN=${CASINO_BIN:-$CASINO_ROOT/build}
FIXTURES=$CASINO_ROOT/tests/fixtures
PATH=$CASINO_BIN:$CASINO_ROOT/scripts:$PATH
export CASINO_ROOT CASINO_BIN FIXTURES PATH
export CASINO_LOG_FORMAT=json
unset CASINO_DB CASINO_FX_URL CASINO_FX_KEY CASINO_LOG_LEVEL

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# Wait up to $2 seconds (default 5) for a TCP port on 127.0.0.1 to accept.
wait_port() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Under `make check-valgrind`, run the named program under valgrind.
# Usage: vg casino-describe [args...]
vg() {
	if [ -n "${CASINO_VALGRIND:-}" ]; then
		valgrind -q --leak-check=full --error-exitcode=99 "$@"
	else
		"$@"
	fi
}
