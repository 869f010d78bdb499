# TransformerFAM reference implementation. `make help` lists the targets.
#
# Variants: `make` builds optimized binaries under build/; `make debug ...` and
# `make asan ...` build under build-debug/ and build-asan/ and make the other
# goals on the same command line use them (e.g. `make asan test`).
# CXX, CPPFLAGS, CXXFLAGS, LDFLAGS and BLAS_LIBS may be overridden on the command
# line; a change of any of them rebuilds what it affects ($(BUILD)/.build-flags).
# `make install PREFIX=DIR` copies build/fam to DIR/bin (default /usr/local).

CXX       ?= g++
BLAS_LIBS ?= -lopenblas
DEB_PACKAGES := g++ make libopenblas-dev doctest-dev nlohmann-json3-dev libstb-dev

ifneq ($(filter asan,$(MAKECMDGOALS)),)
  VARIANT  := asan
  BUILD    := build-asan
  CXXFLAGS ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS  ?= -fsanitize=address,undefined
else ifneq ($(filter debug,$(MAKECMDGOALS)),)
  VARIANT  := debug
  BUILD    := build-debug
  CXXFLAGS ?= -O0 -g
else
  VARIANT  := release
  BUILD    := build
  CXXFLAGS ?= -O2 -g -DNDEBUG
endif
# Always on, whatever CXXFLAGS says: the language level, warnings, include paths;
# then the caller's CPPFLAGS (e.g. -I/opt/openblas/include) and CXXFLAGS.
ALL_CXXFLAGS := -std=c++17 -pthread -Wall -Wextra -MMD -MP -Isrc -I/usr/include/stb $(CPPFLAGS) $(CXXFLAGS)
LDLIBS    := $(BLAS_LIBS) -lm -pthread
PREFIX    ?= /usr/local

# The flags a build was made with, in a file every object depends on: rewritten
# (and so everything rebuilt) only when CXX / CPPFLAGS / CXXFLAGS / LDFLAGS /
# BLAS_LIBS differ from the last build in this directory.
FLAGS_FILE := $(BUILD)/.build-flags
FLAGS_TEXT := $(CXX) $(ALL_CXXFLAGS) | $(LDFLAGS) $(LDLIBS)
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
  ifneq ($(file <$(FLAGS_FILE)),$(FLAGS_TEXT))
    $(shell mkdir -p $(BUILD))
    $(file >$(FLAGS_FILE),$(FLAGS_TEXT))
  endif
endif

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
ifeq ($(filter -j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

SRC       := $(filter-out src/app/main.cpp,$(wildcard src/*.cpp src/app/*.cpp))
OBJ       := $(SRC:src/%.cpp=$(BUILD)/obj/%.o)
TEST_SRC  := $(wildcard tests/*.cpp)
TEST_OBJ  := $(TEST_SRC:tests/%.cpp=$(BUILD)/obj/tests/%.o)
WALK_SRC  := $(wildcard walkthroughs/*.cpp)
WALK_BIN  := $(WALK_SRC:walkthroughs/%.cpp=$(BUILD)/walkthroughs/%)
BENCH_SRC := $(wildcard bench/*.cpp)
BENCH_BIN := $(BENCH_SRC:bench/%.cpp=$(BUILD)/bench/%)
TOOL_SRC  := $(wildcard tools/*.cpp)
TOOL_BIN  := $(TOOL_SRC:tools/%.cpp=$(BUILD)/tools/%)
DEPS_OK   := $(BUILD)/.deps-ok

.PHONY: reproduce-passkey all demo test debug asan bench walkthroughs masks-docs slides deps fixtures clean help gdb-check exercise exercises install
.DEFAULT_GOAL := all

all: $(BUILD)/fam $(BUILD)/tests $(WALK_BIN) $(BENCH_BIN) $(TOOL_BIN) ## build everything (default): build/fam, build/tests, walkthroughs, benchmarks, tools

demo: $(BUILD)/fam ## run the quick-start demo
	@$(BUILD)/fam demo

test: $(BUILD)/tests ## run the doctest suite (prints a "N passed, N failed" line)
	@set -o pipefail; $(BUILD)/tests --no-intro=false 2>&1 | tee $(BUILD)/test.log; rc=$$?; \
	  awk '/test cases:/ { gsub(/\|/, " "); print "tests: " $$5 " passed, " $$7 " failed"; }' $(BUILD)/test.log; \
	  exit $$rc

debug: $(BUILD)/fam $(BUILD)/tests ## build with -O0 -g and bounds checks into build-debug/ (combine: make debug test)

asan: $(BUILD)/fam $(BUILD)/tests ## build with address+UB sanitizers into build-asan/ (combine: make asan test)

exercise: $(DEPS_OK) ## grade one course exercise: make exercise N=k [SOLUTION=1] (exercises/README.md)
	@bash exercises/build.sh "$(N)" "$(SOLUTION)"

exercises: $(DEPS_OK) ## grade every course exercise (SOLUTION=1: the reference solutions, as CI does)
	@bash exercises/build.sh all "$(SOLUTION)"

gdb-check: $(BUILD)/fam $(WALK_BIN) ## check the gdb commands of tools/gdb in gdb batch mode (best with: make debug gdb-check)
	@bash tools/install-deps.sh gdb
	@bash tools/gdb/selftest.sh $(BUILD)

bench: $(BENCH_BIN) ## run the benchmark programs side by side
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

walkthroughs: $(WALK_BIN) ## build and run the numbered walkthroughs (seconds: 05 and 07 load the shipped models/passkey_fam.safetensors; 08 trains a tiny text model in ~3 s)
	@echo "walkthroughs: running $(words $(WALK_BIN)) programs into $(BUILD)/walkthroughs/out; 05 and 07 use the shipped"
	@echo "walkthroughs: model models/passkey_fam.safetensors (no training; '05_fam_memory_passkey --train' trains one, ~4-8 min)"
	@start=$$(date +%s); for w in $(WALK_BIN); do echo "== $$w"; $$w --out $(BUILD)/walkthroughs/out || exit 1; done; \
	  echo "walkthroughs: all $(words $(WALK_BIN)) ran in $$(( $$(date +%s) - start )) s"

masks-docs: $(BUILD)/fam ## regenerate docs/img/ and the figures in docs/masks.md (paper Fig. 1, 2) from build/fam
	@# Each "<!-- fig NAME: ARGS -->" / "<!-- png NAME: ARGS -->" / "<!-- run: ARGS -->" marker in
	@# docs/masks.md is followed by the output of build/fam, up to the next "<!-- end -->".
	@mkdir -p docs/img; skip=0; \
	while IFS= read -r line; do \
	  if [[ $$skip = 1 && $$line != '<!-- end -->' ]]; then continue; fi; \
	  skip=0; printf '%s\n' "$$line"; \
	  if [[ $$line =~ ^'<!-- '(fig|png)' '([a-z0-9_]+)': '(.*)' -->'$$ ]]; then \
	    kind=$${BASH_REMATCH[1]}; name=$${BASH_REMATCH[2]}; args=$${BASH_REMATCH[3]}; skip=1; \
	    ext=$$([ $$kind = fig ] && echo svg || echo png); \
	    $(BUILD)/fam mask $$args --format $$ext --out docs/img/$$name.$$ext >&2 || exit 1; \
	    printf '\n![%s](img/%s.%s)\n\n' "$$name" "$$name" "$$ext"; \
	    if [ $$kind = fig ]; then \
	      printf '```text\n$$ build/fam mask %s\n' "$$args"; $(BUILD)/fam mask $$args || exit 1; printf '```\n\n'; \
	    fi; \
	  elif [[ $$line =~ ^'<!-- run: '(.*)' -->'$$ ]]; then \
	    args=$${BASH_REMATCH[1]}; skip=1; \
	    printf '\n```text\n$$ build/fam %s\n' "$$args"; $(BUILD)/fam $$args || exit 1; printf '```\n\n'; \
	  fi; \
	done < docs/masks.md > docs/masks.md.tmp && mv docs/masks.md.tmp docs/masks.md

slides: $(BUILD)/fam ## slide-ready 16:9 figures (SVG + PNG) into build/slides/ with an index page
	$(BUILD)/fam slides --out $(BUILD)/slides

reproduce-passkey: $(BUILD)/fam $(BUILD)/tools/passkey_report ## train FAM and BSWA M0/M1/M2/M1_SG on PassKey, evaluate, write docs/results/passkey.* (< 60 min, 2 cores)
	@bash tools/reproduce_passkey.sh

deps: $(DEPS_OK) ## check the build's dependencies by compiling against them; install what is missing (apt-get, as root) or print the command

install: $(BUILD)/fam ## install build/fam as $(PREFIX)/bin/fam (make install PREFIX=$$HOME/.local; DESTDIR for packaging)
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 $(BUILD)/fam "$(DESTDIR)$(PREFIX)/bin/fam"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/fam"

fixtures: ## regenerate tests/reference fixtures with PyTorch (installs python3-torch)
	@bash tools/install-deps.sh python3-torch python3-numpy
	python3 tests/reference/make_fixtures.py --out tests/reference/fixtures

clean: ## remove build outputs
	rm -rf build build-debug build-asan

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / { printf "  make %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Larger optional targets (each with its own dependencies) live in mk/*.mk, one
# file per feature, so the core rules above stay short.
include $(sort $(wildcard mk/*.mk))

# ---- rules --------------------------------------------------------------------

# The dependency check compiles against the headers and libraries (no dpkg needed).
$(DEPS_OK): Makefile tools/install-deps.sh $(FLAGS_FILE)
	@mkdir -p $(BUILD)
	@CXX="$(CXX)" CPPFLAGS="$(CPPFLAGS)" BLAS_LIBS="$(BLAS_LIBS)" bash tools/install-deps.sh $(DEB_PACKAGES)
	@echo "deps: BLAS = $$(ls /usr/lib/*/libopenblas.so* 2>/dev/null | head -n 1)$$(command -v dpkg-query >/dev/null && dpkg-query -W -f=' (OpenBLAS $${Version})' libopenblas-dev 2>/dev/null), link: $(BLAS_LIBS); build: $(VARIANT) -> $(BUILD)/"
	@touch $@

$(BUILD)/obj/%.o: src/%.cpp $(FLAGS_FILE) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.cpp $(FLAGS_FILE) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(BUILD)/fam: $(OBJ) $(BUILD)/obj/app/main.o $(FLAGS_FILE)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) -o $@ $(LDLIBS)

# tests/test_hostile.cpp runs the fam next to the test binary
$(BUILD)/tests: $(OBJ) $(TEST_OBJ) $(FLAGS_FILE) | $(BUILD)/fam
	$(CXX) $(LDFLAGS) $(filter %.o,$^) -o $@ $(LDLIBS)

$(BUILD)/walkthroughs/%: walkthroughs/%.cpp $(OBJ) $(FLAGS_FILE) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $< $(OBJ) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tools/%: tools/%.cpp $(OBJ) $(FLAGS_FILE) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $< $(OBJ) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.cpp $(OBJ) $(FLAGS_FILE) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) $< $(OBJ) -o $@ $(LDFLAGS) $(LDLIBS)

-include $(OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/app/main.d
