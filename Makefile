# vex - build, run, test, bench. `make run` and `make test` install what they need.
.SUFFIXES:
.SECONDARY:

CC      ?= cc
SAN     ?= 0
ifeq ($(FUZZ),1)
# The sources again with clang, for the libFuzzer harnesses of tests/fuzz/ (docs/fuzzing.md).
CC       = clang
BUILD   ?= build-fuzz
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
else ifeq ($(SAN),1)
BUILD   ?= build-san
# gcc's "undefined" leaves out float-cast-overflow (clang's fuzz build has it): named here.
SANFLAGS = -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow
OPT      = -O1
else
BUILD   ?= build
SANFLAGS =
OPT      = -O2
endif

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# Hardening (docs/security.md, "Hardened build"); tests/integration/test_hardening.py runs Debian's
# hardening-check on every program. FORTIFY (it needs -O1 or more) is left out of the sanitizer
# build: the sanitizers do not intercept glibc's __*_chk functions, so FORTIFY would hide from ASan
# the memcpy/strcpy/printf overflows it checks more closely (google/sanitizers#247).
ifeq ($(filter 1,$(SAN) $(FUZZ)),1)
FORTIFY  = -U_FORTIFY_SOURCE
else
FORTIFY  = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
endif
HARDEN   = $(FORTIFY) -fstack-protector-strong -fstack-clash-protection -fcf-protection -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now
# libpq's header lives in Debian's /usr/include/postgresql (libpq-dev).
CFLAGS  += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) -I. -I/usr/include/postgresql -MMD -MP
LDFLAGS += $(HARDEN_LD) $(SANFLAGS)
LIBS     = -lsqlite3 -lpq -ljansson -lmemcached -linih -lcrypto -lpcre2-8 -lpthread -lm

# core/ in rooms (base, store, store/sqlite, store/postgres, auth, jobs, tools, hooks): what the programs share.
CORE_SRC   = $(wildcard core/*/*.c core/*/*/*.c)
API_SRC    = $(wildcard fcgi-app/*.c)
RUNNER_SRC = $(wildcard runner/*.c)
VEXCTL_SRC = $(wildcard tools/vexctl/*.c)
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
FUZZ_SRC   = $(wildcard tests/fuzz/*.c)

CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/%.o)
# vex-api serves the merged OpenAPI document (GET /openapi.json), compiled in (docs/openapi.md).
API_OBJ    = $(filter-out $(BUILD)/fcgi-app/main.o,$(API_SRC:%.c=$(BUILD)/%.o)) $(BUILD)/gen/openapi_json.o
OPENAPI_SRC = docs/openapi.yaml $(sort $(wildcard docs/openapi.d/*.yaml))
VEXCTL_OBJ = $(VEXCTL_SRC:%.c=$(BUILD)/%.o)
RUNNER_OBJ = $(filter-out $(BUILD)/runner/main.o,$(RUNNER_SRC:%.c=$(BUILD)/%.o))
# Each program's modules in an archive of its own, which its unit tests link too.
ARCHIVES   = $(BUILD)/libvexrunner.a $(BUILD)/libvexapi.a $(BUILD)/libvexcore.a
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BIN   = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
BENCH_BIN  = $(BUILD)/bench-trivial-fcgi $(BUILD)/bench-sqlite-insert $(BUILD)/bench-revocation-lookup
BENCH_BIN += $(BUILD)/bench-prune-hold $(BUILD)/bench-pg-insert
# make bench BACKEND=postgres: the same driver with the store on a private PostgreSQL cluster (docs/bench.md).
BACKEND  ?= sqlite

PROGRAMS = $(BUILD)/vex-api $(BUILD)/vex-runner $(BUILD)/vexctl

.PHONY: all deps run stop cluster cluster-stop test test-unit test-openapi test-integration test-integration-pg test-san test-fuzz fuzz fuzz-build bench clean check \
	ui-screenshots

all: $(PROGRAMS) $(BUILD)/openapi.json

deps:
	@tools/install-deps

# The Makefile holds the flags: a change to it rebuilds every object.
$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The OpenAPI document: root + fragments merged (tools/build-openapi), then a C array for vex-api.
$(BUILD)/openapi.json: $(OPENAPI_SRC) tools/build-openapi
	tools/build-openapi -o $@

$(BUILD)/gen/openapi_json.c: $(BUILD)/openapi.json tools/build-openapi
	tools/build-openapi --c $< -o $@

$(BUILD)/gen/openapi_json.o: $(BUILD)/gen/openapi_json.c Makefile
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libvexcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libvexapi.a: $(API_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libvexrunner.a: $(RUNNER_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vex-api: $(BUILD)/fcgi-app/main.o $(BUILD)/libvexapi.a $(BUILD)/libvexcore.a
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(LIBS)

$(BUILD)/vex-runner: $(BUILD)/runner/main.o $(BUILD)/libvexrunner.a $(BUILD)/libvexcore.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl $(LIBS)

$(BUILD)/vexctl: $(VEXCTL_OBJ) $(BUILD)/libvexcore.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl $(LIBS)

# A unit test links the program archives: only the objects it reaches come in.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -lfcgi -lcurl $(LIBS)

# Fault injection: our own allocations in this test go through its counting wrappers.
$(BUILD)/tests/test_faults: LDFLAGS += -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc \
	-Wl,--wrap=strdup -Wl,--wrap=strndup

# A fuzz harness links the program archives built with FUZZ=1 (clang) and libFuzzer's main.
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ -lfcgi -lcurl $(LIBS)

$(BUILD)/bench-trivial-fcgi: $(BUILD)/tests/bench/trivial_fcgi.o
	$(CC) $(LDFLAGS) -o $@ $< -lfcgi

$(BUILD)/bench-sqlite-insert: $(BUILD)/tests/bench/sqlite_insert.o
	$(CC) $(LDFLAGS) -o $@ $< -lsqlite3

$(BUILD)/bench-pg-insert: $(BUILD)/tests/bench/pg_insert.o
	$(CC) $(LDFLAGS) -o $@ $< -lpq

$(BUILD)/bench-revocation-lookup: $(BUILD)/tests/bench/revocation_lookup.o $(BUILD)/libvexcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench-prune-hold: $(BUILD)/tests/bench/prune_hold.o $(BUILD)/libvexcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The whole service on localhost with TLS, state under $(VEX_HOME) (default ./var).
run: deps all
	@tools/vex-start

stop:
	@tools/vex-stop

# Two hosts in network namespaces on one PostgreSQL (docs/cluster.md); root only; until Ctrl-C or make cluster-stop.
cluster: deps all
	@VEX_BUILD=$(abspath $(BUILD)) tools/vex-cluster start

cluster-stop:
	@tools/vex-cluster stop

check: all $(UNIT_BIN)
	@tools/run-unit $(BUILD)

test-unit: $(PROGRAMS) $(UNIT_BIN)
	@tools/run-unit $(BUILD)

# The OpenAPI document: every route vex-api serves is in it, and Redocly's lint passes (docs/openapi.md).
test-openapi: $(BUILD)/openapi.json
	@tools/check-openapi $(BUILD)/openapi.json

test-integration: $(PROGRAMS) $(BUILD)/openapi.json
	@VEX_BUILD=$(abspath $(BUILD)) tools/run-integration

# The integration suite with the services' store on PostgreSQL (a private cluster; tests/integration/vexit.py).
test-integration-pg: $(PROGRAMS) $(BUILD)/openapi.json
	@VEX_TEST_STORE=postgres VEX_BUILD=$(abspath $(BUILD)) tools/run-integration

# The screenshots of docs/dashboard.md (docs/dashboard/*.png at 1280x800), taken by the console's
# browser test (tests/integration/test_ui.py) against a fresh service; commit them with the change.
ui-screenshots: deps $(PROGRAMS) $(BUILD)/openapi.json
	@mkdir -p docs/dashboard
	@UI_SCREENSHOTS=$(abspath docs/dashboard) VEX_BUILD=$(abspath $(BUILD)) tools/run-integration tests/integration/test_ui.py tests/integration/test_ui_views.py

# The same suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer: the unit tests (both
# stores, as always), and the integration suite with the store on PostgreSQL, so that each store meets the
# whole integration suite once per make test (SQLite plain above, PostgreSQL here) within its time.
test-san:
	@$(MAKE) --no-print-directory SAN=1 test-unit test-integration-pg

# Every harness of tests/fuzz/ for FUZZ_SECONDS each (tools/run-fuzz); `make test` runs them for 3 s.
fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tools/run-fuzz build-fuzz $(FUZZ_SECONDS)

test-fuzz: fuzz-build
	@tools/run-fuzz build-fuzz 3

test: deps
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-openapi
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-san

# SOAK=<seconds> (make bench SOAK=600): then the retention soak, tests/bench/soak (docs/bench.md, Retention).
# BACKEND=postgres: the services on a private PostgreSQL cluster (vexit's VEX_TEST_STORE), its data directory
# beside the build like the bench's own (a real disk, not a tmpfs /tmp); the soak is SQLite's only.
ifeq ($(BACKEND),sqlite)
BENCH_ENV = VEX_BUILD=$(abspath $(BUILD))
else ifeq ($(BACKEND),postgres)
BENCH_ENV = VEX_BUILD=$(abspath $(BUILD)) VEX_TEST_STORE=postgres VEX_TEST_PG_PARENT=$(abspath $(BUILD))
endif
bench: bench-backend deps all $(BENCH_BIN)
	@$(BENCH_ENV) tests/bench/run
	@$(BENCH_ENV) tests/bench/fairness
	@if [ -n "$(SOAK)" ] && [ "$(BACKEND)" = postgres ]; then \
		echo "make bench: SOAK skipped: tests/bench/soak measures SQLite's file and WAL (docs/bench.md)"; \
	elif [ -n "$(SOAK)" ]; then $(BENCH_ENV) tests/bench/soak $(SOAK); fi

.PHONY: bench-backend
bench-backend:
	@case "$(BACKEND)" in sqlite|postgres) ;; \
	*) echo "make bench: BACKEND=$(BACKEND): sqlite (the default) or postgres" >&2; exit 2 ;; esac

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)
