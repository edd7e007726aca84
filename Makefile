# lmrnn build. `make` builds the optimised tool build/lmrnn; `make test` builds every test under
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite; `make bench` builds the benchmarks.
# Every src/<concept>/*.c is part of the library except src/cli/, the command line, which is linked into
# the program (and into the tests that run its commands). scripts/check-layers.sh enforces the layers.
CC      ?= cc
PKGS    := libcjson libzip plplot
BLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-pthread
BLAS_LIBS   := -llapacke -lopenblas
DEPCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_CFLAGS)
DEPLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(BLAS_LIBS) -lm
WARN    := -Wall -Wextra -Wno-unused-parameter
BASEFLAGS := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -fopenmp -Isrc -Iinclude $(WARN) $(DEPCFLAGS)
# Portable by default: the recurrent kernels are compiled for AVX2 and AVX-512 too and the widest the
# CPU has is chosen when the program or library loads (src/model/kernels_dispatch.c). NATIVE=1 compiles
# everything for the build machine instead (-march=native; the binaries then need such a CPU).
ifeq ($(NATIVE),1)
OPT     ?= -O2 -march=native
else
OPT     ?= -O2
KERNEL_DISPATCH := 1
DISPATCHFLAGS := -DLM_MULTIVERSION
endif
# Position-independent so the same objects make both libraries; only the public API (include/lmrnn.h,
# marked LMRNN_API) is exported from the shared one.
RELFLAGS := $(BASEFLAGS) $(OPT) $(DISPATCHFLAGS) -g -fPIC -fvisibility=hidden
SANFLAGS := $(BASEFLAGS) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRC  := $(wildcard src/cli/*.c)
# MPI: auto (default) builds build/lmrnn-mpi when mpicc is found, 1 requires it, 0 never builds it.
# Only src/dist/dist.c is compiled against MPI; build/lmrnn never links it (docs/sweeps.md).
MPI   ?= auto
MPICC ?= mpicc
HAVE_MPI := $(if $(filter 0,$(MPI)),,$(shell command -v $(MPICC) >/dev/null 2>&1 && echo 1))
ifeq ($(MPI)$(HAVE_MPI),1)
$(error MPI=1 but $(MPICC) was not found (Debian: apt-get install openmpi-bin libopenmpi-dev))
endif
MPI_BIN := $(if $(HAVE_MPI),build/lmrnn-mpi)
MPI_TESTS := tests/test_sweep_mpi.c tests/test_train_mpi.c

TEST_SRC := $(filter-out $(if $(HAVE_MPI),,$(MPI_TESTS)),$(wildcard tests/test_*.c))
BENCH_SRC := $(wildcard bench/*.c)

REL_OBJ  := $(patsubst src/%.c,build/rel/%.o,$(LIB_SRC))
SAN_OBJ  := $(patsubst src/%.c,build/san/%.o,$(LIB_SRC))
CLI_REL_OBJ := $(patsubst src/%.c,build/rel/%.o,$(CLI_SRC))
CLI_SAN_OBJ := $(patsubst src/%.c,build/san/%.o,$(CLI_SRC))
TEST_BIN := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))

# The portable build's kernel variants: kernels.c three times, each lm_k_* renamed with a suffix.
KERNEL_FNS := lm_k_split lm_k_gemm_rows lm_k_sparse_rows lm_k_sparse_left lm_k_sparse_left_t lm_k_band \
              lm_k_band_grad lm_k_adam lm_k_dot lm_k_transpose
kernel_rename = $(foreach f,$(KERNEL_FNS),-D$(f)=$(f)_$(1))
ifdef KERNEL_DISPATCH
REL_OBJ := $(filter-out build/rel/model/kernels.o,$(REL_OBJ)) \
           build/rel/model/kernels_base.o build/rel/model/kernels_avx2.o build/rel/model/kernels_avx512.o
endif

# Build in parallel on every core unless the caller chose a -j (a sub-make inherits the jobserver).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
endif

.PHONY: all test check unit bench clean FORCE
all: build/lmrnn $(MPI_BIN)

# Release objects are rebuilt when the flags change (e.g. NATIVE=1 after a portable build).
build/rel/flags: FORCE
	@mkdir -p build/rel
	@echo '$(CC) $(RELFLAGS) $(KERNEL_DISPATCH)' | cmp -s - $@ || echo '$(CC) $(RELFLAGS) $(KERNEL_DISPATCH)' > $@

build/rel/%.o: src/%.c build/rel/flags
	@mkdir -p $(dir $@)
	$(CC) $(RELFLAGS) -MMD -MP -c $< -o $@

ifdef KERNEL_DISPATCH
build/rel/model/kernels_dispatch.o: RELFLAGS += -DLM_KERNEL_DISPATCH
build/rel/model/kernels_base.o: src/model/kernels.c build/rel/flags
	$(CC) $(RELFLAGS) $(call kernel_rename,base) -MMD -MP -c $< -o $@
build/rel/model/kernels_avx2.o: src/model/kernels.c build/rel/flags
	$(CC) $(RELFLAGS) -mavx2 -mfma $(call kernel_rename,avx2) -MMD -MP -c $< -o $@
build/rel/model/kernels_avx512.o: src/model/kernels.c build/rel/flags
	$(CC) $(RELFLAGS) -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma $(call kernel_rename,avx512) \
	  -MMD -MP -c $< -o $@
endif

build/san/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -MMD -MP -c $< -o $@

# Static archives, so a program links only the modules it uses.
build/liblmrnn.a: $(REL_OBJ)
	rm -f $@ && ar rcs $@ $^

build/liblmrnn-san.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/lmrnn: $(CLI_REL_OBJ) build/liblmrnn.a
	$(CC) $(RELFLAGS) $^ -o $@ $(DEPLIBS)

# The MPI build of the tool: the same objects, with src/dist/dist.c compiled against MPI (its
# symbols come first, so the archive's MPI-free dist.o is not linked).
build/rel-mpi/dist/dist.o: src/dist/dist.c
	@mkdir -p $(dir $@)
	$(MPICC) $(RELFLAGS) -DLM_HAVE_MPI -MMD -MP -c $< -o $@

build/lmrnn-mpi: $(CLI_REL_OBJ) build/rel-mpi/dist/dist.o build/liblmrnn.a
	$(MPICC) $(RELFLAGS) $^ -o $@ $(DEPLIBS)

# The sanitizer build of the tool itself, used by the end-to-end smoke test.
build/lmrnn-san: $(CLI_SAN_OBJ) build/liblmrnn-san.a
	$(CC) $(SANFLAGS) $^ -o $@ $(DEPLIBS)

# Tests may call the commands (lm_cmd_*): the command line's objects come first, then the library.
build/cli-san.a: $(filter-out build/san/cli/main.o,$(CLI_SAN_OBJ))
	rm -f $@ && ar rcs $@ $^

build/tests/%: tests/%.c build/cli-san.a build/liblmrnn-san.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -Itests $< build/cli-san.a build/liblmrnn-san.a -o $@ $(DEPLIBS)

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

# Script tests (tests/test_*.sh) use the release build: the shared library, install, Python package.
TEST_SH := $(wildcard tests/test_*.sh)
check: $(TEST_BIN) build/lmrnn build/lmrnn-san $(MPI_BIN) build/liblmrnn.so build/liblmrnn.a
	scripts/check-layers.sh
	tests/run.sh $(TEST_BIN) $(TEST_SH)

bench: $(BENCH_BIN)

# ---------------------------------------------------------------- shared library and install (docs/api.md)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
# The command line is a client of the library, not part of it.
SO_OBJ := $(REL_OBJ)
LMRNN_VERSION := $(shell sed -n 's/^\#define LMRNN_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' include/lmrnn.h | paste -sd.)

build/liblmrnn.so: $(SO_OBJ)
	$(CC) -shared -fopenmp -Wl,-soname,liblmrnn.so.$(firstword $(subst ., ,$(LMRNN_VERSION))) -Wl,--no-undefined $^ -o $@ $(DEPLIBS)

.PHONY: lib install install-python
lib: build/liblmrnn.so build/liblmrnn.a

install: build/lmrnn build/liblmrnn.so build/liblmrnn.a
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 build/lmrnn $(DESTDIR)$(BINDIR)/lmrnn
	install -m 644 include/lmrnn.h $(DESTDIR)$(INCLUDEDIR)/lmrnn.h
	install -m 755 build/liblmrnn.so $(DESTDIR)$(LIBDIR)/liblmrnn.so.$(LMRNN_VERSION)
	ln -sf liblmrnn.so.$(LMRNN_VERSION) $(DESTDIR)$(LIBDIR)/liblmrnn.so.$(firstword $(subst ., ,$(LMRNN_VERSION)))
	ln -sf liblmrnn.so.$(LMRNN_VERSION) $(DESTDIR)$(LIBDIR)/liblmrnn.so
	install -m 644 build/liblmrnn.a $(DESTDIR)$(LIBDIR)/liblmrnn.a
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: lmrnn' \
	  'Description: connectivity-constrained RNNs on the 20-Cog / Mod-Cog task batteries' \
	  'Version: $(LMRNN_VERSION)' 'Requires.private: $(PKGS)' 'Cflags: -I$${includedir}' \
	  'Libs: -L$${libdir} -llmrnn' 'Libs.private: $(BLAS_LIBS) -fopenmp -lm' \
	  > $(DESTDIR)$(PKGCONFIGDIR)/lmrnn.pc

# The Python package (pure Python over liblmrnn.so); it finds the library through _install.py.
install-python: install
	install -d $(DESTDIR)$(PYTHONDIR)/lmrnn
	install -m 644 python/lmrnn/*.py $(DESTDIR)$(PYTHONDIR)/lmrnn/
	printf 'LIBDIR = "%s"\n' '$(LIBDIR)' > $(DESTDIR)$(PYTHONDIR)/lmrnn/_install.py

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(CLI_REL_OBJ:.o=.d) $(CLI_SAN_OBJ:.o=.d)
