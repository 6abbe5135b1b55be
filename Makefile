# dinofeat: a plain Makefile. `make help` lists the targets.
.DEFAULT_GOAL := all
SHELL := /bin/bash

# ---- versions, read from the header --------------------------------------------------------
version_field = $(shell sed -n 's/^\#define DF_VERSION_$(1) \([0-9][0-9]*\).*/\1/p' include/dinofeat/core.h)
MAJOR := $(call version_field,MAJOR)
MINOR := $(call version_field,MINOR)
PATCH := $(call version_field,PATCH)
VERSION := $(MAJOR).$(MINOR).$(PATCH)
SONAME := libdinofeat.so.$(MAJOR)
REALNAME := libdinofeat.so.$(VERSION)

# ---- install locations ---------------------------------------------------------------------
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
libdir ?= $(prefix)/lib
includedir ?= $(prefix)/include
bindir ?= $(prefix)/bin
pkgconfigdir ?= $(libdir)/pkgconfig
# where Debian's python3 looks (/usr/local/lib/python3.11/dist-packages for the default prefix)
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pythondir ?= $(prefix)/lib/python$(PYTHON_VERSION)/dist-packages
DESTDIR ?=

# ---- toolchain -----------------------------------------------------------------------------
CC ?= cc
CXX ?= c++
PYTHON ?= /usr/bin/python3
FUZZ_CC ?= clang
NPROC := $(shell nproc 2>/dev/null || echo 2)

# libtorch: Debian's by default, or another (e.g. a CUDA build) with LIBTORCH=/path.
ifeq ($(strip $(LIBTORCH)),)
TORCH_CPPFLAGS := -isystem /usr/include/torch/csrc/api/include
TORCH_LDLIBS := -ltorch -ltorch_cpu -lc10
else
TORCH_CUDA := $(wildcard $(LIBTORCH)/lib/libtorch_cuda.so)
# PyTorch's own builds choose a C++ string ABI per release: follow the library's.
TORCH_CXX11_ABI ?= $(shell nm -D --defined-only $(LIBTORCH)/lib/libc10.so 2>/dev/null | grep -q __cxx11 && echo 1 || echo 0)
TORCH_CPPFLAGS := -isystem $(LIBTORCH)/include -isystem $(LIBTORCH)/include/torch/csrc/api/include \
                  -D_GLIBCXX_USE_CXX11_ABI=$(TORCH_CXX11_ABI) $(if $(TORCH_CUDA),-DDFS_TORCH_HAS_CUDA=1)
# CUDA kernels register themselves from static initialisers: keep those libraries linked.
TORCH_LDLIBS := -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib -Wl,--no-as-needed -ltorch \
                $(if $(TORCH_CUDA),-ltorch_cuda -lc10_cuda) -Wl,--as-needed -ltorch_cpu -lc10
endif

WARNINGS := -Wall -Wextra -Werror
SANITIZERS := -fsanitize=address -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_FLAGS := $(if $(filter 1,$(SAN)),$(SANITIZERS))
OPT ?= -O2
# The library builds its whole API, the experimental tier included (include/dinofeat/core.h).
CPPFLAGS_COMMON := -Iinclude -Ishim -D_DEFAULT_SOURCE -DDINOFEAT_EXPERIMENTAL $(CPPFLAGS)
CFLAGS_LIB := -std=c11 $(OPT) -g -fPIC -fvisibility=hidden -fopenmp $(WARNINGS) $(SAN_FLAGS) $(CPPFLAGS_COMMON)
CXXFLAGS_SHIM := -std=c++17 $(OPT) -g -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -fopenmp \
                 $(WARNINGS) $(SAN_FLAGS) $(CPPFLAGS_COMMON) $(TORCH_CPPFLAGS)
CFLAGS_APP := -std=c11 $(OPT) -g $(WARNINGS) $(SAN_FLAGS) -Iinclude -D_DEFAULT_SOURCE $(CPPFLAGS)
IMAGE_LIBS := -lpng16 -ljpeg -lz
GRAPH_CFLAGS ?= -isystem /usr/include/igraph
GRAPH_LIBS ?= -ligraph
CHECK_LIBS ?= $(shell pkg-config --cflags --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -pthread)

# Objects are rebuilt whenever the configuration changes (SAN, LIBTORCH, OPT, compilers).
BUILD := build
CONFIG := $(CC) $(CXX) $(OPT) SAN=$(SAN) LIBTORCH=$(LIBTORCH) deps=mmd
$(shell mkdir -p $(BUILD) && (echo '$(CONFIG)' | cmp -s - $(BUILD)/config.stamp || echo '$(CONFIG)' > $(BUILD)/config.stamp))

LIB_SOURCES := $(wildcard lib/*.c lib/*/*.c)
SHIM_SOURCES := $(wildcard shim/*.cpp shim/*/*.cpp)
LIB_OBJECTS := $(LIB_SOURCES:%.c=$(BUILD)/%.o) $(SHIM_SOURCES:%.cpp=$(BUILD)/%.o)
HEADERS := $(wildcard include/dinofeat/*.h)
INTERNAL_HEADERS := $(wildcard lib/*.h lib/*/*.h shim/*.h shim/*.hpp)

CLI_SOURCES := $(wildcard examples/dinofeat/*.c)
CLI_OBJECTS := $(CLI_SOURCES:examples/dinofeat/%.c=$(BUILD)/cli/%.o)
CLI := $(BUILD)/bin/dinofeat
TEST_SOURCES := $(wildcard test/check_*.c)
TEST_BINARY := $(BUILD)/test/check_dinofeat

.PHONY: all lib cli help deps check check-build-deps check-c check-portable check-cuda check-internal check-headers check-symbols check-python check-examples \
        check-cli check-fuzz fuzz demo install uninstall abi-dump abi-check bench reference clean

all: lib cli ## build the library and the dinofeat command-line tool

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

lib: lib/libdinofeat.so

# Each object depends on the headers it includes, as the compiler lists them (-MMD -MP: a .d file
# beside the object), so touching one header rebuilds only the objects that include it.
$(BUILD)/lib/%.o: lib/%.c $(BUILD)/config.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_LIB) $(GRAPH_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/shim/%.o: shim/%.cpp $(BUILD)/config.stamp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) -MMD -MP -c $< -o $@

-include $(LIB_OBJECTS:.o=.d)

# c10d's Gloo process group is declared only with USE_C10D_GLOO (Gloo's headers: libgloo-dev).
$(BUILD)/shim/distributed.o: CXXFLAGS_SHIM += -DUSE_C10D_GLOO

lib/$(REALNAME): $(LIB_OBJECTS) lib/dinofeat.map
	$(CXX) -shared -o $@ $(LIB_OBJECTS) -Wl,-soname,$(SONAME) -Wl,--version-script=lib/dinofeat.map \
	    -Wl,--no-undefined $(SAN_FLAGS) -fopenmp $(LDFLAGS) $(TORCH_LDLIBS) $(IMAGE_LIBS) $(GRAPH_LIBS) -lm -lpthread

lib/$(SONAME) lib/libdinofeat.so: lib/$(REALNAME)
	ln -sf $(REALNAME) lib/$(SONAME)
	ln -sf $(SONAME) lib/libdinofeat.so

cli: $(CLI)

$(BUILD)/cli/%.o: examples/dinofeat/%.c $(BUILD)/config.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_APP) -MMD -MP -c $< -o $@

-include $(CLI_OBJECTS:.o=.d)

# In-tree programs find the in-tree library through a relative run path.
$(CLI): $(CLI_OBJECTS) lib/libdinofeat.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_APP) $(CLI_OBJECTS) -o $@ -Llib -ldinofeat -Wl,-rpath,'$$ORIGIN/../../lib' $(LDFLAGS) -lm

# ---- dependencies --------------------------------------------------------------------------
DEB_PACKAGES := build-essential pkg-config libtorch-dev libopenblas0-openmp libpng-dev zlib1g-dev \
    libturbojpeg0-dev libjpeg62-turbo-dev check libsubunit-dev libigraph-dev abigail-tools clang \
    libclang-rt-14-dev libgloo-dev python3-numpy python3-pil python3-torch python3-torchvision python3-scipy \
    python3-sklearn python3-skimage python3-networkx
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

deps: ## install the Debian packages the build, tests and reference generators need
	@missing=$$(dpkg-query -W -f='$${db:Status-Status} $${Package}\n' $(DEB_PACKAGES) 2>/dev/null | \
	    awk '$$1=="installed"{print $$2}' | sort | comm -13 - <(tr ' ' '\n' <<<"$(DEB_PACKAGES)" | sort)); \
	if [ -z "$$missing" ]; then echo "deps: all $(words $(DEB_PACKAGES)) packages are installed"; exit 0; fi; \
	echo "deps: installing" $$missing; \
	$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing

# ---- tests ---------------------------------------------------------------------------------
TEST_OBJECTS := $(TEST_SOURCES:test/%.c=$(BUILD)/test/%.o)
# The tests reach the experimental tier too (the losses' gradients, parameters by index).
$(BUILD)/test/%.o: test/%.c $(BUILD)/config.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_APP) -DDINOFEAT_EXPERIMENTAL -MMD -MP -c $< -o $@

-include $(TEST_OBJECTS:.o=.d)

$(TEST_BINARY): $(TEST_OBJECTS) lib/libdinofeat.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_APP) $(TEST_OBJECTS) -o $@ -Llib -ldinofeat \
	    -Wl,-rpath,'$$ORIGIN/../../lib' $(LDFLAGS) $(CHECK_LIBS) -lm

check: all check-build-deps check-headers check-symbols check-c check-internal check-python check-cli check-examples check-fuzz abi-check ## run every test
	@echo "make check: all passed"

check-build-deps: all ## touching one module's header rebuilds only that module and its users
	MAKE="$(MAKE)" test/build_deps_test.sh

check-headers: ## compile the public headers alone as C99 and C++ with -pedantic, with and without the experimental tier
	@mkdir -p $(BUILD)/test
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -c test/header_test.c -o $(BUILD)/test/header_c.o
	$(CXX) -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -x c++ -c test/header_test.c -o $(BUILD)/test/header_cxx.o
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -DDINOFEAT_EXPERIMENTAL -c test/header_test.c -o $(BUILD)/test/header_c_experimental.o
	$(CXX) -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -DDINOFEAT_EXPERIMENTAL -x c++ -c test/header_test.c -o $(BUILD)/test/header_cxx_experimental.o

check-symbols: lib/libdinofeat.so ## exported symbols = header declarations = version script
	test/check_symbols.sh lib/libdinofeat.so

check-c: $(TEST_BINARY) ## the Check suites
	cd test && CK_DEFAULT_TIMEOUT=1800 $(if $(filter 1,$(SAN)),ASAN_OPTIONS=detect_leaks=1) ../$(TEST_BINARY)

SAN_PRELOAD := $(if $(filter 1,$(SAN)),LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0)
check-python: lib/libdinofeat.so ## the Python package's tests
	cd bindings/python && DINOFEAT_LIBRARY=$(CURDIR)/lib/libdinofeat.so $(SAN_PRELOAD) $(PYTHON) -m unittest discover -s tests -v 2>&1 | tail -n 25; exit $${PIPESTATUS[0]}

INTERNAL_TESTS := $(patsubst test/internal/%.cpp,$(BUILD)/test/internal/%,$(wildcard test/internal/*.cpp))
$(BUILD)/test/internal/%: test/internal/%.cpp $(LIB_OBJECTS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) $< $(filter $(BUILD)/shim/% $(BUILD)/lib/kernels/%,$(LIB_OBJECTS)) -o $@ $(SAN_FLAGS) $(LDFLAGS) $(TORCH_LDLIBS) -lm -lpthread

# Benchmarks of internals (bench/*/run.sh builds what it runs), linked as the internal tests are.
$(BUILD)/bench/%: bench/attention/%.cpp $(LIB_OBJECTS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) $< $(filter $(BUILD)/shim/% $(BUILD)/lib/kernels/%,$(LIB_OBJECTS)) -o $@ $(LDFLAGS) $(TORCH_LDLIBS) -lm -lpthread

check-internal: $(INTERNAL_TESTS) ## tests of internals, linked against the objects (no public API)
	@for t in $(INTERNAL_TESTS); do echo "$$t"; $$t || exit 1; done

# The results must not hang on one machine's arithmetic: the same suites with one thread and
# another OpenBLAS kernel family (CHECK_CORETYPE: Haswell, SkylakeX, Zen, ...).
# Haswell and Zen kernels need AVX2: on a CPU without it only the thread count changes.
CHECK_CORETYPE ?= Zen
check-portable: $(TEST_BINARY) ## the Check suites again with OMP_NUM_THREADS=1 and OPENBLAS_CORETYPE=$(CHECK_CORETYPE)
	@if grep -qw avx2 /proc/cpuinfo; then coretype=$(CHECK_CORETYPE); else coretype=$${OPENBLAS_CORETYPE:-}; \
	    echo "check-portable: no AVX2, so OpenBLAS keeps its own kernels"; fi; \
	echo "check-portable: OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=$$coretype"; \
	cd test && OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=$$coretype CK_DEFAULT_TIMEOUT=1800 ../$(TEST_BINARY)

check-cuda: $(TEST_BINARY) ## the Check suites, failing (not skipping) where CUDA is absent: for GPU machines
	cd test && CK_DEFAULT_TIMEOUT=1800 DINOFEAT_REQUIRE_CUDA=1 ../$(TEST_BINARY)

check-cli: $(CLI) ## the command-line tool's exit codes and messages
	DINOFEAT=$(CURDIR)/$(CLI) test/cli_test.sh

STAGE := $(CURDIR)/$(BUILD)/stage
STAGE_PYTHONDIR = $(STAGE)/lib/python$(PYTHON_VERSION)/dist-packages
check-examples: all ## the C, C++ and Python examples against a staged install; the README's examples as written
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install PREFIX=$(STAGE) >/dev/null
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(CC) $(SAN_FLAGS) -std=c11 -Wall -Wextra -Werror examples/consumer.c -o $(BUILD)/consumer $$(PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig pkg-config --cflags --libs dinofeat)
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(CXX) $(SAN_FLAGS) -std=c++17 -Wall -Wextra -Werror examples/consumer.cpp -o $(BUILD)/consumer_cpp $$(PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig pkg-config --cflags --libs dinofeat)
	LD_LIBRARY_PATH=$(STAGE)/lib $(BUILD)/consumer test/fixtures/images/rgb8.png
	LD_LIBRARY_PATH=$(STAGE)/lib $(BUILD)/consumer_cpp test/fixtures/images/baseline.jpg
	$(PYTHON) test/readme_examples.py README.md $(BUILD)
	env -u DINOFEAT_LIBRARY -u LD_LIBRARY_PATH PYTHONPATH=$(STAGE_PYTHONDIR) $(PYTHON) -c 'import dinofeat, dinofeat._native as n; \
	    assert n.LIBRARY_PATH == "$(STAGE)/lib/$(SONAME)", n.LIBRARY_PATH; print("python: dinofeat", dinofeat.version(), "from", dinofeat.__file__)'

# ---- fuzzing (libFuzzer, clang) ------------------------------------------------------------
FUZZ_SOURCES := lib/error.c lib/options.c lib/dtype.c lib/util.c lib/output_file.c $(filter-out lib/image/to_tensor.c,$(wildcard lib/image/*.c)) \
                $(wildcard lib/checkpoint/*.c) lib/dataset/mat.c lib/dataset/coco.c lib/dataset/bmp.c
FUZZ_TARGETS := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 10

$(BUILD)/fuzz/%: test/fuzz/%.c test/fuzz/fuzz_input_file.h $(FUZZ_SOURCES) $(HEADERS) $(INTERNAL_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -D_DEFAULT_SOURCE -Iinclude -Ishim -Ilib $< $(FUZZ_SOURCES) -o $@ $(IMAGE_LIBS) -lm

check-fuzz: $(FUZZ_TARGETS) ## run each fuzz target briefly on the committed corpus
	@for target in $(FUZZ_TARGETS); do \
	    name=$$(basename $$target); mkdir -p $(BUILD)/fuzz/corpus-$$name; \
	    case $$name in fuzz_image_*) seeds=test/fixtures/images;; fuzz_dataset_mat) seeds=test/fixtures/mat;; fuzz_dataset_bmp) seeds=test/fixtures/bmp;; \
	        fuzz_dataset_coco) seeds=test/fixtures/coco;; *) seeds=test/fixtures/models;; esac; \
	    $$target -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
	        $(BUILD)/fuzz/corpus-$$name $$seeds 2>$(BUILD)/fuzz/$$name.log \
	        || { tail -n 40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	    echo "$$name: $$(grep -o 'Done [0-9]* runs' $(BUILD)/fuzz/$$name.log) without a crash"; \
	done

fuzz: ## fuzz each target for longer (FUZZ_SECONDS=600 by default here)
	$(MAKE) check-fuzz FUZZ_SECONDS=$(or $(filter-out 10,$(FUZZ_SECONDS)),600)

# ---- install -------------------------------------------------------------------------------
$(BUILD)/dinofeat.pc: pkgconfig/dinofeat.pc.in $(BUILD)/config.stamp Makefile
	sed -e 's|@PREFIX@|$(prefix)|; s|@LIBDIR@|$(libdir)|; s|@INCLUDEDIR@|$(includedir)|; s|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/install/dinofeat: $(CLI_OBJECTS) lib/libdinofeat.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_APP) $(CLI_OBJECTS) -o $@ -Llib -ldinofeat -Wl,-rpath,$(libdir) -lm

install: all $(BUILD)/dinofeat.pc $(BUILD)/install/dinofeat ## install (PREFIX, DESTDIR, libdir, bindir, includedir, pythondir)
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir)/dinofeat $(DESTDIR)$(pkgconfigdir) $(DESTDIR)$(bindir) $(DESTDIR)$(pythondir)/dinofeat
	install -m 755 lib/$(REALNAME) $(DESTDIR)$(libdir)/
	ln -sf $(REALNAME) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libdinofeat.so
	install -m 644 $(HEADERS) $(DESTDIR)$(includedir)/dinofeat/
	install -m 644 $(BUILD)/dinofeat.pc $(DESTDIR)$(pkgconfigdir)/
	install -m 755 $(BUILD)/install/dinofeat $(DESTDIR)$(bindir)/dinofeat
	install -m 644 bindings/python/dinofeat/*.py $(DESTDIR)$(pythondir)/dinofeat/
	echo 'LIBRARY = "$(libdir)/$(SONAME)"  # written by make install' > $(DESTDIR)$(pythondir)/dinofeat/_location.py
	@echo "install: the Python package is in $(DESTDIR)$(pythondir) (add it to PYTHONPATH if python3 does not look there)"

uninstall: ## remove what install put in place
	rm -f $(DESTDIR)$(libdir)/$(REALNAME) $(DESTDIR)$(libdir)/$(SONAME) $(DESTDIR)$(libdir)/libdinofeat.so
	rm -rf $(DESTDIR)$(includedir)/dinofeat $(DESTDIR)$(pythondir)/dinofeat
	rm -f $(DESTDIR)$(pkgconfigdir)/dinofeat.pc $(DESTDIR)$(bindir)/dinofeat

# ---- ABI -----------------------------------------------------------------------------------
ABI_DUMP := abi/libdinofeat.so.$(MAJOR).abi
abi-dump: lib/libdinofeat.so ## record the current ABI as the baseline (at a release)
	abidw --headers-dir include/dinofeat --drop-private-types --exported-interfaces-only --no-corpus-path --no-comp-dir-path --out-file $(ABI_DUMP) lib/$(REALNAME)

abi-check: lib/libdinofeat.so ## fail if the ABI changed incompatibly since the baseline
	abidiff --no-added-syms --suppressions abi/experimental.suppr --headers-dir2 include/dinofeat $(ABI_DUMP) lib/$(REALNAME)
	@echo "abi-check: compatible with $(ABI_DUMP)"

# ---- the rest ------------------------------------------------------------------------------
demo: all ## the richest job the library runs without downloaded weights
	bash examples/demo.sh $(CLI)

bench: all ## run every benchmark (bench/*/run.sh): ratios measured in one run, never timed tests
	@for b in bench/*/run.sh; do echo "== $$b"; bash $$b || exit 1; done

# One generator per fixture folder, test/reference/make_NAME_fixtures.py -> test/fixtures/NAME
# (or FIXTURE_DIR_NAME where the folder is named otherwise); `make reference-NAME` runs one. In
# this order (run it without -j): a later generator may read an earlier one's output.
REFERENCE_NAMES := image model upsample kmeans eval components linkage saliency crf tokencut cas retrieval linear_probe classical forest logreg weak_deep datus datus_crop stego stego_step sempart neco neco_view neco_step
FIXTURE_DIR_image := images
FIXTURE_DIR_model := models
FIXTURE_DIR_datus_crop := datus_crops
FIXTURE_DIR_stego_step := stego
FIXTURE_DIR_neco_view := neco

reference-%: test/reference/make_%_fixtures.py
	$(PYTHON) $< test/fixtures/$(or $(FIXTURE_DIR_$*),$*)

reference: $(addprefix reference-,$(REFERENCE_NAMES)) ## regenerate the committed fixtures with Debian's python3 (torch, PIL, numpy, scipy, scikit-learn)
	$(PYTHON) examples/make_micrograph.py test/fixtures/weak --size 256 --seed 2
	@echo "reference: test/fixtures/official needs the official code (PyTorch 2.x, transformers, timm):"
	@echo "  python3 test/reference/make_official_fixtures.py --dinov2 DINOV2_CHECKOUT test/fixtures/official"

clean: ## remove build outputs
	rm -rf $(BUILD) lib/libdinofeat.so*
