# Build of the ACME CA: ca-core, the validators and caadm.
# Every library comes through pkg-config.  `make SANITIZE=1` builds with
# ASan and UBSan (the test suite uses it); `make WERROR=1` turns warnings
# into errors as CI does.

CC      ?= cc
BUILD   ?= build
BIN     := $(BUILD)/bin

PKGS    := gnutls libevent libevent_pthreads json-c libpq libunbound libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wcast-qual -Wwrite-strings \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) -MMD -MP \
           -Iproto -Ica-core -Ivalidators/runtime $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS  += $(PKG_LIBS) -lpthread

ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS  := $(filter-out -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O1 \
           -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# Code shared by every program: framing, messages, JOSE.
PROTO_SRC := $(wildcard proto/*.c)
# Code shared by ca-core and caadm: config, database, embedded PostgreSQL, PKI.
COMMON_SRC := ca-core/config.c ca-core/db.c ca-core/migrations.c \
              ca-core/pgembed.c ca-core/pki.c ca-core/log.c ca-core/util.c \
              ca-core/acme_syntax.c
CORE_SRC  := $(filter-out $(COMMON_SRC),$(wildcard ca-core/*.c))
RUNTIME_SRC := $(wildcard validators/runtime/*.c)
HTTP01_SRC  := $(wildcard validators/http-01/*.c)
EXAMPLE_SRC := $(wildcard validators/examples/c/*.c)
CAADM_SRC   := $(wildcard tools/caadm/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

PROTO_LIB   := $(BUILD)/libproto.a
COMMON_LIB  := $(BUILD)/libcommon.a
RUNTIME_LIB := $(BUILD)/libvalidator.a

PROGRAMS := $(BIN)/ca-core $(BIN)/caadm $(BIN)/ca-validator-http-01 \
            $(BIN)/ca-validator-example-allowlist
# Helper programs of the integration tests.
TEST_PROGRAMS := $(BIN)/sandbox_probe
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BIN)/%,$(UNIT_SRC))

.PHONY: all test unit-test integration-test run deps-build deps-run deps-test clean

all: $(PROGRAMS) $(TEST_PROGRAMS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The SQL migrations are compiled into the programs that apply them.
$(BUILD)/gen/migrations_sql.c: $(sort $(wildcard ca-core/migrations/*.sql)) tools/embed-sql.sh
	@mkdir -p $(dir $@)
	sh tools/embed-sql.sh $(sort $(wildcard ca-core/migrations/*.sql)) > $@

$(BUILD)/obj/gen/migrations_sql.o: $(BUILD)/gen/migrations_sql.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(PROTO_LIB): $(call obj,$(PROTO_SRC))
	$(AR) rcs $@ $^
$(COMMON_LIB): $(call obj,$(COMMON_SRC)) $(BUILD)/obj/gen/migrations_sql.o
	$(AR) rcs $@ $^
$(RUNTIME_LIB): $(call obj,$(RUNTIME_SRC))
	$(AR) rcs $@ $^

$(BIN)/ca-core: $(call obj,$(CORE_SRC)) $(COMMON_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/caadm: $(call obj,$(CAADM_SRC)) $(COMMON_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/ca-validator-http-01: $(call obj,$(HTTP01_SRC)) $(RUNTIME_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# The example plugin in C (validators/examples/c), built on the runtime.
$(BIN)/ca-validator-example-allowlist: $(call obj,$(EXAMPLE_SRC)) $(RUNTIME_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/sandbox_probe: $(BUILD)/obj/tests/sandbox/sandbox_probe.o $(RUNTIME_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# Unit tests link what their prefix names: test_proto_*, test_core_*,
# test_validator_*.
$(BIN)/test_proto_%: $(BUILD)/obj/tests/unit/test_proto_%.o $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/test_core_%: $(BUILD)/obj/tests/unit/test_core_%.o $(COMMON_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/test_validator_%: $(BUILD)/obj/tests/unit/test_validator_%.o $(RUNTIME_LIB) $(PROTO_LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# `make run` and `make test` install missing Debian packages first (as root),
# or print the apt-get command that would.
deps-build:
	@sh tools/deps.sh build
deps-run:
	@sh tools/deps.sh run
deps-test:
	@sh tools/deps.sh test

run: deps-run
	@$(MAKE) --no-print-directory all
	@bash tools/run.sh

test: deps-test
	@$(MAKE) --no-print-directory SANITIZE=1 BUILD=build/asan all $(patsubst $(BIN)/%,build/asan/bin/%,$(UNIT_TESTS))
	@sh tests/run-all.sh build/asan

unit-test: $(UNIT_TESTS)
	@sh tests/run-unit.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# libFuzzer targets (tests/fuzz/fuzz_*.c), one per parser of outside input.
# `make fuzz` builds them with clang into $(FUZZ_BUILD), from objects of
# their own: the code they test is compiled again with the same sanitizer
# flags, and the gcc objects under $(BUILD) stay as they are.  Needs the
# Debian packages clang and libclang-rt-14-dev (the fuzzer runtime).
# tests/integration/fuzz_test.sh runs each target for a bounded time.
FUZZ_CC     ?= clang
FUZZ_BUILD  ?= build/fuzz
FUZZ_PKGS   := gnutls json-c
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE \
               $(WARN) -MMD -MP -Iproto -Ica-core \
               $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null) \
               $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIBS   := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)
# The code under test: proto/ and the ACME syntax and CSR checks.
FUZZ_LIB_SRC := $(PROTO_SRC) ca-core/acme_syntax.c ca-core/acme_csr.c
FUZZ_LIB    := $(FUZZ_BUILD)/libfuzzed.a
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,\
                $(wildcard tests/fuzz/fuzz_*.c))
# Kept after linking, so that a rebuild compiles only what changed.
.SECONDARY: $(patsubst $(FUZZ_BUILD)/%,$(FUZZ_BUILD)/obj/tests/fuzz/%.o,\
            $(FUZZ_TARGETS))

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRC))
	$(AR) rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
