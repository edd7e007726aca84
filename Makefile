# lmrnn build. `make` builds the optimised tool build/lmrnn; `make test` builds every test under
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite; `make bench` builds the benchmarks.
# Every src/<concept>/*.c is part of the library; src/cli/main.c is the program's entry point.
CC      ?= cc
PKGS    := libcjson libzip plplot
BLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-pthread
BLAS_LIBS   := -lopenblas
DEPCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_CFLAGS)
DEPLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(BLAS_LIBS) -lm
WARN    := -Wall -Wextra -Wno-unused-parameter
BASEFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -fopenmp -Isrc $(WARN) $(DEPCFLAGS)
OPT     ?= -O2 -march=native
RELFLAGS := $(BASEFLAGS) $(OPT) -g
SANFLAGS := $(BASEFLAGS) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
MAIN_SRC := src/cli/main.c
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

REL_OBJ  := $(patsubst src/%.c,build/rel/%.o,$(LIB_SRC))
SAN_OBJ  := $(patsubst src/%.c,build/san/%.o,$(LIB_SRC))
TEST_BIN := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))

# Build in parallel on every core unless the caller chose a -j (a sub-make inherits the jobserver).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
endif

.PHONY: all test check unit bench clean
all: build/lmrnn

build/rel/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RELFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -MMD -MP -c $< -o $@

# Static archives, so a program links only the modules it uses.
build/liblmrnn.a: $(REL_OBJ)
	rm -f $@ && ar rcs $@ $^

build/liblmrnn-san.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/lmrnn: build/rel/cli/main.o build/liblmrnn.a
	$(CC) $(RELFLAGS) $^ -o $@ $(DEPLIBS)

# The sanitizer build of the tool itself, used by the end-to-end smoke test.
build/lmrnn-san: build/san/cli/main.o build/liblmrnn-san.a
	$(CC) $(SANFLAGS) $^ -o $@ $(DEPLIBS)

build/tests/%: tests/%.c build/liblmrnn-san.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -Itests $< build/liblmrnn-san.a -o $@ $(DEPLIBS)

build/bench/%: bench/%.c build/liblmrnn.a
	@mkdir -p $(dir $@)
	$(CC) $(RELFLAGS) $< build/liblmrnn.a -o $@ $(DEPLIBS)

unit: $(TEST_BIN) build/lmrnn-san
	tests/run.sh $(TEST_BIN)

# `make test` first makes sure the Debian packages are there (a no-op when they are), then builds and
# runs the suite in a fresh make so the pkg-config flags are read after the install.
# The end-to-end tests run the real program (build/lmrnn-san), so it is built first.
test:
	scripts/install-deps.sh
	$(MAKE) --no-print-directory check

check: $(TEST_BIN) build/lmrnn build/lmrnn-san
	tests/run.sh $(TEST_BIN)

bench: $(BENCH_BIN)

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d)
