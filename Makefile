# casino — a pipeline of small C filters for casino events.

VERSION   = 0.1.0
PREFIX    = /usr/local
DESTDIR   =
BUILD     = build
CC        = cc
OPT       = -O2
CFLAGS    = $(OPT) -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE
CPPFLAGS  = -Ilib -I/usr/include/postgresql -DCASINO_VERSION=\"$(VERSION)\"
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
	casino-produce

# Test helpers: tests/NAME.c -> $(BUILD)/NAME (built by all, never installed).
TESTPROGS = \
	kafka-mock

LIBSRC = \
	lib/atomicfile.c \
	lib/backoff.c \
	lib/buf.c \
	lib/describe.c \
	lib/event.c \
	lib/fxdates.c \
	lib/fxrates.c \
	lib/health.c \
	lib/httpreq.c \
	lib/json.c \
	lib/log.c \
	lib/money.c \
	lib/ndjson.c \
	lib/opt.c \
	lib/out.c \
	lib/rundir.c \
	lib/sig.c \
	lib/stage.c \
	lib/timefmt.c

SCRIPTS = $(wildcard scripts/casino-*)
MANPAGES = $(wildcard man/*.[17])

# Libraries each program needs beyond libcasino and jansson.
LIBS_casino-fx     = -ldl
LIBS_casino-player = -lpq
LIBS_casino-produce = -lrdkafka
LIBS_kafka-mock    = -lrdkafka -lpthread

# libFuzzer targets: tests/fuzz/NAME.c -> build-fuzz/NAME.
FUZZERS = fuzz-json fuzz-json-paths fuzz-event fuzz-time fuzz-fxrates fuzz-httpreq
FUZZ_SECONDS = 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

LIBOBJ = $(LIBSRC:lib/%.c=$(BUILD)/obj/%.o)
BINS = $(PROGS:%=$(BUILD)/%)

# Debian packages: build, run and test.
DEBS = gcc make libjansson-dev libpq-dev libcurl4-openssl-dev postgresql \
	postgresql-contrib socat jq curl kcat librdkafka-dev bats bats-assert \
	bats-support mandoc shellcheck clang libclang-rt-dev valgrind wrk zstd \
	musl-tools prometheus chromium nginx-light busybox

all: $(BINS) $(TESTPROGS:%=$(BUILD)/%)

$(BUILD)/obj/%.o: lib/%.c lib/*.h
	@mkdir -p $(BUILD)/obj
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/libcasino.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(BUILD)/%: tools/%.c $(BUILD)/libcasino.a lib/*.h
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(BUILD)/libcasino.a $(LIBS_$*) -ljansson -lm $(LDFLAGS)

# socat execs the handler once per connection: it is linked statically
# against musl (musl-tools), whose start-up is ~0.1 ms where static glibc's
# takes ~1 ms on a virtual machine (its CPU feature probing traps to the
# hypervisor; bench/serve). Without musl-gcc it is static glibc; sanitizer
# builds link it dynamically like every other program.
HANDLER_LIB = $(filter-out lib/fxrates.c lib/fxdates.c,$(LIBSRC))
MUSL_CC = $(shell command -v musl-gcc 2>/dev/null)
$(BUILD)/casino-http-handler: tools/casino-http-handler.c $(BUILD)/libcasino.a $(HANDLER_LIB) lib/*.h
	$(if $(findstring -fsanitize,$(LDFLAGS)), \
		$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(BUILD)/libcasino.a -lm $(LDFLAGS), \
		$(if $(MUSL_CC), \
			$(MUSL_CC) $(CFLAGS) $(CPPFLAGS) -static -o $@ $< $(HANDLER_LIB), \
			$(CC) $(CFLAGS) $(CPPFLAGS) -static -o $@ $< $(BUILD)/libcasino.a -lm $(LDFLAGS)))

$(BUILD)/%: tests/%.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< $(LIBS_$*) $(LDFLAGS)

build-fuzz/%: tests/fuzz/%.c $(LIBSRC) lib/*.h
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -std=c11 -D_DEFAULT_SOURCE $(CPPFLAGS) -o $@ $< $(LIBSRC) -ljansson -lm

fuzz-build: $(FUZZERS:%=build-fuzz/%)

# Each target for FUZZ_SECONDS from the seed corpus; findings land in
# build-fuzz/ (keep them in tests/fuzz/regressions/NAME/ once fixed).
fuzz: deps fuzz-build
	for f in $(FUZZERS); do tests/fuzz/run "$$f" $(FUZZ_SECONDS) || exit 1; done

deps:
	@missing=; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: deps
	mandoc -Tlint -Wwarning $(MANPAGES)
	shellcheck -x $(SCRIPTS) $(filter-out %.c,$(wildcard bench/*)) tests/run tests/fuzz/run .ci/run
	shellcheck -x -s bash tests/bats/*.bash

test: deps all fuzz-build
	$(MAKE) lint
	tests/run $(BUILD)

check-asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1" CFLAGS='-O1 -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE $(SANITIZE)' LDFLAGS='$(SANITIZE)' all
	CASINO_INSTRUMENTED=asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run build-asan

# The suites against build-valgrind/: wrappers that run each program under
# valgrind, failing (exit 99) on any error or definite leak.
check-valgrind: deps all
	rm -rf build-valgrind && mkdir -p build-valgrind
	for p in $(PROGS) $(TESTPROGS); do \
		printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "%s" "$$@"\n' \
			"$$(pwd)/$(BUILD)/$$p" >build-valgrind/$$p; \
		chmod +x build-valgrind/$$p; \
	done
	CASINO_INSTRUMENTED=valgrind tests/run build-valgrind

run: deps all
	scripts/casino-run

generator: all
	$(BUILD)/casino-gen -t 5

bench: all
	bench/stages

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/casino/migrations \
		$(DESTDIR)$(PREFIX)/share/casino/dashboard
	cp $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for s in $(SCRIPTS); do \
		sed -e 's|^datadir=.*|datadir=$(PREFIX)/share/casino|' \
			-e 's|$$datadir/share/rates.json|$$datadir/rates.json|g' "$$s" \
			>"$(DESTDIR)$(PREFIX)/bin/$${s#scripts/}"; \
		chmod 755 "$(DESTDIR)$(PREFIX)/bin/$${s#scripts/}"; \
	done
	cp man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	cp man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	if [ -d share ]; then cp share/*.json $(DESTDIR)$(PREFIX)/share/casino/ 2>/dev/null || true; fi
	cp share/dashboard/* $(DESTDIR)$(PREFIX)/share/casino/dashboard/
	if [ -d migrations ]; then cp migrations/*.sql $(DESTDIR)$(PREFIX)/share/casino/migrations/ 2>/dev/null || true; fi

uninstall:
	for p in $(PROGS) $(SCRIPTS:scripts/%=%); do rm -f "$(DESTDIR)$(PREFIX)/bin/$$p"; done
	for m in $(MANPAGES:man/%=%); do rm -f "$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$m"; done
	rm -rf $(DESTDIR)$(PREFIX)/share/casino

clean:
	rm -rf build build-*

.PHONY: all deps fuzz fuzz-build lint test check-asan check-valgrind run generator bench install uninstall clean
