# casino — a pipeline of small C filters for casino events.

VERSION   = 0.1.0
PREFIX    = /usr/local
DESTDIR   =
BUILD     = build
CC        = cc
OPT       = -O2
XCFLAGS   =
CFLAGS    = $(OPT) -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE $(XCFLAGS)
CPPFLAGS  = -Ilib -DCASINO_VERSION=\"$(VERSION)\"
LDFLAGS   =
SANITIZE  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# One line per program: tools/NAME.c -> $(BUILD)/NAME.
PROGS = \
	casino-gen \
	casino-fx \
	casino-describe \
	casino-player \
	casino-http-handler \
	casino-tee-agg \
	casino-append \
	casino-produce \
	casino-consume \
	casino-follow \
	casino-env

# Helper programs of the tests and benches: tests/NAME.c or bench/NAME.c ->
# $(BUILD)/test/NAME (built by test-helpers, which test needs; never installed).
TESTPROGS = \
	kafka-mock \
	player-ids \
	latency

# lib/*.c is the core every program links (libcasino.a); each folder
# lib/FAMILY/ is what one family of programs links (libcasino-FAMILY.a). A
# program, a test helper or a fuzz target links the families whose headers
# it includes ("http/httpreq.h" -> lib/http/), so `ls lib` and a tool's
# #include lines say what it pulls in, and no list of units is kept here.
CORE_SRC = $(wildcard lib/*.c)
FAMILIES = $(patsubst lib/%/,%,$(sort $(dir $(wildcard lib/*/*.c))))
HEADERS  = $(wildcard lib/*.h lib/*/*.h)
families_of = $(sort $(shell sed -n 's|^\#include "\([a-z]*\)/[a-z]*\.h".*|\1|p' $(1)))
family_src  = $(foreach f,$(1),$(wildcard lib/$(f)/*.c))

SHLIB = scripts/casino-lib.sh
SCRIPTS = $(filter-out $(SHLIB),$(wildcard scripts/casino-*))
MANPAGES = $(wildcard man/*.[17])

# Headers and libraries each program needs beyond libcasino and jansson.
# pg_config is asked when the rule runs, after deps-build installed it;
# without it, no empty -I (which would take the next word as its folder).
CPPFLAGS_casino-player = $(addprefix -I,$(shell pg_config --includedir 2>/dev/null))
LIBS_casino-fx     = -ldl
LIBS_casino-player = -lpq
LIBS_casino-produce = -lrdkafka
LIBS_casino-consume = -lrdkafka
# syncack's fdatasync runs in a thread of its own.
LIBS_casino-tee-agg = -pthread
LIBS_casino-append = -pthread
LIBS_kafka-mock    = -lrdkafka -lpthread

# libFuzzer targets: tests/fuzz/NAME.c -> build-fuzz/NAME.
FUZZERS = fuzz-json fuzz-json-paths fuzz-event fuzz-time fuzz-fxrates fuzz-fxscrub fuzz-httpreq fuzz-httpresp fuzz-promtext
FUZZ_SECONDS = 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

# Test helpers that call lib/ (tests/NAME.c -> $(BUILD)/test/NAME, linked
# with libcasino) and preloaded fault injectors (tests/NAME.c ->
# $(BUILD)/test/NAME.so).
TESTLIBPROGS = lib-check
TESTPRELOADS = failalloc crashpoint

LIBOBJ = $(CORE_SRC:lib/%.c=$(BUILD)/obj/%.o)
FAMILY_ARCHIVES = $(FAMILIES:%=$(BUILD)/libcasino-%.a)
BINS = $(PROGS:%=$(BUILD)/%)
TESTBINS = $(TESTPROGS:%=$(BUILD)/test/%) $(TESTLIBPROGS:%=$(BUILD)/test/%) \
	$(TESTPRELOADS:%=$(BUILD)/test/%.so)

# Debian packages, by what needs them: make builds (deps-build), make lint
# (deps-lint), make fuzz-build (deps-fuzz); make deps installs them all, with
# what runs (make run) and what the suites and benches use.
DEBS_BUILD = gcc make libjansson-dev libpq-dev libcurl4-openssl-dev \
	librdkafka-dev musl-tools
DEBS_LINT = mandoc shellcheck
DEBS_FUZZ = clang libclang-rt-dev
DEBS_RUN = postgresql postgresql-contrib socat jq curl kcat zstd util-linux
DEBS_TEST = bats bats-assert bats-support valgrind strace wrk prometheus \
	chromium nginx-light busybox iproute2 logrotate
DEBS = $(DEBS_BUILD) $(DEBS_LINT) $(DEBS_FUZZ) $(DEBS_RUN) $(DEBS_TEST)

all: $(BINS)

test-helpers: $(TESTBINS)

# What compiles waits for its packages (order-only: never a reason to
# rebuild), so make -j cannot compile before the headers are there. The
# lists are whole here (a variable defined further down would be empty in a
# rule's targets); tests/bats/build.bats builds from clean twice with make
# -j2 and slow package steps to prove it.
FAMILY_OBJ = $(patsubst lib/%.c,$(BUILD)/obj/%.o,$(call family_src,$(FAMILIES)))
$(LIBOBJ) $(FAMILY_OBJ) $(BINS) $(TESTBINS): | deps-build
$(FUZZERS:%=build-fuzz/%): | deps-build deps-fuzz

$(BUILD)/obj/%.o: lib/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/libcasino.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

# libcasino-FAMILY.a from lib/FAMILY/*.c. A family links the core and
# itself, never another family.
.SECONDEXPANSION:
family_obj = $(patsubst lib/%.c,$(BUILD)/obj/%.o,$(wildcard lib/$(1)/*.c))
$(FAMILY_ARCHIVES): $(BUILD)/libcasino-%.a: $$(call family_obj,$$*)
	rm -f $@
	ar rcs $@ $^

# The family archives a source file includes from, in link order.
archives_of = $(foreach f,$(call families_of,$(1)),$(BUILD)/libcasino-$(f).a)

$(BUILD)/%: tools/%.c $$(call archives_of,tools/%.c) $(BUILD)/libcasino.a $(HEADERS)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(CPPFLAGS_$*) -o $@ $< $(call archives_of,$<) $(BUILD)/libcasino.a $(LIBS_$*) -ljansson -lm $(LDFLAGS)

# lib/player needs libpq's headers; only casino-player links it (-lpq).
$(BUILD)/obj/player/%.o: CPPFLAGS += $(CPPFLAGS_casino-player)

# socat execs the handler once per connection: it is linked statically
# against musl (musl-tools), whose start-up is ~0.1 ms where static glibc's
# takes ~1 ms on a virtual machine (its CPU feature probing traps to the
# hypervisor; bench/serve). Without musl-gcc it is static glibc; sanitizer
# builds link it dynamically like every other program.
HANDLER_SRC = $(CORE_SRC) $(call family_src,$(call families_of,tools/casino-http-handler.c))
MUSL_CC = $(shell command -v musl-gcc 2>/dev/null)
$(BUILD)/casino-http-handler: tools/casino-http-handler.c $(BUILD)/libcasino.a $(call archives_of,tools/casino-http-handler.c) $(HANDLER_SRC) $(HEADERS)
	$(if $(findstring -fsanitize,$(LDFLAGS)), \
		$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(call archives_of,$<) $(BUILD)/libcasino.a -lm $(LDFLAGS), \
		$(if $(MUSL_CC), \
			$(MUSL_CC) $(CFLAGS) $(CPPFLAGS) -static -o $@ $< $(HANDLER_SRC), \
			$(CC) $(CFLAGS) $(CPPFLAGS) -static -o $@ $< $(call archives_of,$<) $(BUILD)/libcasino.a -lm $(LDFLAGS)))

$(TESTLIBPROGS:%=$(BUILD)/test/%): $(BUILD)/test/%: tests/%.c $$(call archives_of,tests/%.c) $(BUILD)/libcasino.a $(HEADERS)
	@mkdir -p $(BUILD)/test
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(call archives_of,$<) $(BUILD)/libcasino.a -lm $(LDFLAGS)

# Without the sanitizers: a preloaded library comes before their runtime.
$(BUILD)/test/%.so: tests/%.c
	@mkdir -p $(BUILD)/test
	$(CC) $(OPT) -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE -fPIC -shared -o $@ $<

vpath %.c tests bench
$(BUILD)/test/%: %.c
	@mkdir -p $(BUILD)/test
	$(CC) $(CFLAGS) -o $@ $< $(LIBS_$*) $(LDFLAGS)

# A fuzz target is compiled with the core and the families it includes
# from (none of them needs librdkafka, libpq or libcurl at link time).
fuzz_src = $(CORE_SRC) $(call family_src,$(call families_of,$(1)))
build-fuzz/%: tests/fuzz/%.c $$(call fuzz_src,tests/fuzz/%.c) $(HEADERS)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -std=c11 -D_DEFAULT_SOURCE $(CPPFLAGS) -o $@ $< $(call fuzz_src,$<) -ljansson -lm

fuzz-build: $(FUZZERS:%=build-fuzz/%)

# Each target for FUZZ_SECONDS from the seed corpus; findings land in
# build-fuzz/ (keep them in tests/fuzz/regressions/NAME/ once fixed).
fuzz: deps fuzz-build
	for f in $(FUZZERS); do tests/fuzz/run "$$f" $(FUZZ_SECONDS) || exit 1; done

# $(call ensure_debs,PACKAGES): install those of PACKAGES that are missing;
# as a normal user, print the one apt-get line to run instead and fail. One
# at a time (flock on this Makefile): make -j may reach two deps-* at once,
# and the second then finds nothing missing.
ensure_debs = flock $(firstword $(MAKEFILE_LIST)) sh -c ' \
	command -v dpkg-query >/dev/null || { echo "not Debian: make sure these are installed: $$*"; exit 0; }; \
	missing=; for p; do \
		dpkg-query -W -f="\$${Status}" "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "missing Debian packages; as root run: apt-get install -y$$missing" >&2; exit 1; \
	fi; \
	echo "installing:$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	' ensure_debs $(1)

deps:
	@$(call ensure_debs,$(DEBS))
deps-build:
	@$(call ensure_debs,$(DEBS_BUILD))
deps-lint:
	@$(call ensure_debs,$(DEBS_LINT))
deps-fuzz:
	@$(call ensure_debs,$(DEBS_FUZZ))

# The man page lint runs the programs (--options): they are built first.
lint: deps-lint $(BINS)
	tests/tracked-files
	mandoc -Tlint -Wwarning $(MANPAGES)
	tests/man-options $(BUILD) $(PROGS)
	shellcheck -x $(SCRIPTS) $(SHLIB) $(filter-out %.c,$(wildcard bench/*)) tests/run tests/bats-lint tests/docs-examples tests/tracked-files tests/man-options tests/fuzz/run .ci/run
	shellcheck -x -s bash tests/bats/*.bash
	@# The suites as bash: the bats traps at any severity, then every
	@# warning but those of bats itself (each test runs in a subshell;
	@# run sets status, output and stderr).
	shellcheck -x -i SC2314,SC2315,SC2015 tests/bats/*.bats
	shellcheck -x -S warning -e SC2030,SC2031,SC2154 tests/bats/*.bats
	tests/bats-lint tests/bats/*.bats tests/bats/*.bash

test: deps all test-helpers fuzz-build
	$(MAKE) lint
	tests/run $(BUILD)

check-asan: deps
	$(MAKE) BUILD=build-asan XCFLAGS='$(SANITIZE)' LDFLAGS='$(SANITIZE)' all test-helpers
	CASINO_INSTRUMENTED=asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run build-asan

# The suites against build-valgrind/: wrappers that run each program under
# valgrind, failing (exit 99) on any error or definite leak.
check-valgrind: deps all test-helpers
	rm -rf build-valgrind && mkdir -p build-valgrind
	mkdir -p build-valgrind/test
	for p in $(PROGS) $(TESTPROGS:%=test/%) $(TESTLIBPROGS:%=test/%); do \
		printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "%s" "$$@"\n' \
			"$$(pwd)/$(BUILD)/$$p" >build-valgrind/$$p || exit 1; \
		chmod +x build-valgrind/$$p || exit 1; \
	done
	CASINO_INSTRUMENTED=valgrind tests/run build-valgrind

run: deps all
	scripts/casino-run

generator: all
	$(BUILD)/casino-gen -t 5

bench: all
	bench/stages

# The folders install may create, below PREFIX; the ones it did create are
# listed in share/casino/created-dirs for uninstall.
INSTALL_DIRS = bin share share/man share/man/man1 share/man/man7 share/casino share/casino/migrations \
	share/casino/dashboard share/casino/prometheus share/casino/logrotate
DATADIR = $(PREFIX)/share/casino

install: all
	@d='$(DESTDIR)$(PREFIX)'; created=; \
	for sub in '' $(INSTALL_DIRS); do \
		[ -d "$$d/$$sub" ] || created="$$created$$sub/ "; \
		mkdir -p "$$d/$$sub" || exit 1; \
	done; \
	for sub in $$created; do echo "$$sub"; done >>"$(DESTDIR)$(DATADIR)/created-dirs"
	cp $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for s in $(SCRIPTS); do \
		sed 's|^libdir=.*|libdir=$(DATADIR)|' "$$s" >"$(DESTDIR)$(PREFIX)/bin/$${s#scripts/}" || exit 1; \
		chmod 755 "$(DESTDIR)$(PREFIX)/bin/$${s#scripts/}" || exit 1; \
	done
	sed 's|^casino_installed=.*|casino_installed=$(DATADIR)|' $(SHLIB) >$(DESTDIR)$(DATADIR)/casino-lib.sh
	cp man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	cp man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	cp share/*.json $(DESTDIR)$(DATADIR)/
	cp migrations/*.sql $(DESTDIR)$(DATADIR)/migrations/
	cp share/dashboard/* $(DESTDIR)$(DATADIR)/dashboard/
	cp share/prometheus/* $(DESTDIR)$(DATADIR)/prometheus/
	cp share/logrotate/casino $(DESTDIR)$(DATADIR)/logrotate/

# Then the folders install created, deepest first, those left empty.
uninstall:
	for p in $(PROGS) $(SCRIPTS:scripts/%=%); do rm -f "$(DESTDIR)$(PREFIX)/bin/$$p" || exit 1; done
	for m in $(MANPAGES:man/%=%); do rm -f "$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$m" || exit 1; done
	@d='$(DESTDIR)$(PREFIX)'; list="$(DESTDIR)$(DATADIR)/created-dirs"; \
	dirs=$$(sort -ru "$$list" 2>/dev/null); \
	echo "rm -rf $(DESTDIR)$(DATADIR)"; rm -rf "$(DESTDIR)$(DATADIR)" || exit 1; \
	for sub in $$dirs; do \
		if [ -d "$$d/$$sub" ] && [ -z "$$(ls -A "$$d/$$sub")" ]; then \
			echo "rmdir $$d/$$sub"; rmdir "$$d/$$sub" || exit 1; \
		fi; \
	done

clean:
	rm -rf build build-*

.PHONY: all test-helpers deps deps-build deps-lint deps-fuzz fuzz fuzz-build lint test check-asan check-valgrind run generator bench install uninstall clean
