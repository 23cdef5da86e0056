#!/usr/bin/env bats
# The build as CI runs it: from a clean tree, make -j2, twice. Every
# compiler call must come after the package step it needs (deps-build for
# the programs, deps-build and deps-fuzz for the fuzz targets); here each
# package step is slow (1 s) and every compiler refuses to run before it,
# so a target without its order-only prerequisite fails the build instead
# of racing on a fresh machine.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
	src=$T/src stamps=$T/stamps
	mkdir -p "$src" "$stamps" "$T/bin"
	# The tree as git sees it (tracked and new files), no build output.
	(cd "$CASINO_ROOT" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 tar cf -) | tar xf - -C "$src"
	# compiler NAME REAL PACKAGE...: NAME refuses to run before the package
	# steps of PACKAGE (the first package each step names) have ended.
	compiler() {
		local name=$1 real=$2
		shift 2
		{
			printf '#!/bin/sh\n'
			printf 'for p in %s; do\n' "$*"
			printf '\t[ -e "%s/$p" ] || { echo "%s ran before the packages step of $p ended" >&2; exit 99; }\n' "$stamps" "$name"
			printf 'done\nexec %s "$@"\n' "$real"
		} >"$T/bin/$name"
		chmod +x "$T/bin/$name"
	}
	compiler cc /usr/bin/cc gcc
	compiler musl-gcc /usr/bin/musl-gcc gcc
	compiler clang /usr/bin/clang gcc clang
}

@test "build: make clean && make -j2 all test-helpers fuzz-build, twice: nothing compiles before its packages" {
	[ -x /usr/bin/clang ] && [ -x /usr/bin/musl-gcc ] || skip "clang and musl-gcc are make deps' (make deps)"
	local round
	for round in 1 2; do
		rm -f "$stamps"/*
		run -0 make -C "$src" clean
		# A package step: 1 s, then its stamp (named after its first package).
		run env PATH="$T/bin:$PATH" make -C "$src" -j2 OPT=-O0 \
			FUZZ_FLAGS='-O0 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined' \
			ensure_debs='sleep 1 && touch '"$stamps"'/$(firstword $(1))' \
			all test-helpers fuzz-build
		[ "$status" -eq 0 ] || fail "round $round: exit $status: $(grep -m 3 'ran before\|rror' <<<"$output")"
		[ -x "$src/build/casino-env" ] && [ -x "$src/build-fuzz/fuzz-json" ] || fail "round $round: not built"
	done
}
