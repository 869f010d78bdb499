# mk/fuzz.mk: `make fuzz` and `make fuzz-smoke`, libFuzzer on the file readers
# (tests/fuzz/README.md). Each harness hands arbitrary bytes to one reader and
# accepts nothing but success or a std::exception; a crash, a sanitizer report,
# an allocation over FUZZ_MALLOC_MB or an input slower than FUZZ_TIMEOUT seconds
# stops the run and leaves the input in $(FUZZ_BUILD)/crash-<reader>-*.
#
#   make fuzz                  # build, replay the seeds, fuzz each reader FUZZ_SECONDS (60 s)
#   make fuzz-smoke            # the same for 20 s per reader (what CI runs, about a minute)
#   make fuzz FUZZ_READERS=npy FUZZ_SECONDS=600
#
# The sources of src/ are compiled again here, with clang and
# -fsanitize=fuzzer-no-link,address,undefined, into $(FUZZ_BUILD)/obj; the
# harnesses link against them with -fsanitize=fuzzer. Clang and its fuzzer
# runtime come from Debian (tools/install-deps.sh, as root).

FUZZ_BUILD     ?= build-fuzz
FUZZ_CXX       ?= clang++
FUZZ_READERS   ?= checkpoint state npy
FUZZ_SECONDS   ?= 60
FUZZ_TIMEOUT   ?= 10
FUZZ_MALLOC_MB ?= 512
FUZZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CXXFLAGS  := -std=c++17 -O1 -g -pthread -MMD -MP -Isrc -Itests/fuzz -I/usr/include/stb $(FUZZ_SAN)
# the model and the app's file code; not the commands (cli_*, main) nor the pictures (render, viz)
FUZZ_SRC       := $(filter-out src/app/main.cpp src/app/cli_%.cpp src/app/render.cpp src/app/viz.cpp,\
                    $(wildcard src/*.cpp src/app/*.cpp))
FUZZ_OBJ       := $(FUZZ_SRC:src/%.cpp=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN       := $(FUZZ_READERS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_DEPS_OK   := $(FUZZ_BUILD)/.deps-ok

.PHONY: fuzz fuzz-smoke fuzz-build

fuzz-build: $(FUZZ_BIN) ## build the libFuzzer harnesses into build-fuzz/ (clang)

fuzz: $(FUZZ_BIN) ## fuzz the checkpoint, stream-state and .npy readers, FUZZ_SECONDS (60) each
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_MALLOC_MB) $(FUZZ_READERS)

fuzz-smoke: $(FUZZ_BIN) ## a bounded fuzz run for CI: seeds replayed, then 20 s per reader
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) 20 $(FUZZ_TIMEOUT) $(FUZZ_MALLOC_MB) $(FUZZ_READERS)

# clang with a working -fsanitize=fuzzer (Debian: clang plus its compiler-rt)
$(FUZZ_DEPS_OK): mk/fuzz.mk tools/install-deps.sh
	@mkdir -p $(FUZZ_BUILD)
	@bash tools/install-deps.sh clang
	@printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
	  > $(FUZZ_BUILD)/probe.cpp
	@$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_BUILD)/probe.cpp -o $(FUZZ_BUILD)/probe 2>/dev/null || \
	  bash tools/install-deps.sh libclang-rt-dev
	@$(FUZZ_CXX) -fsanitize=fuzzer $(FUZZ_BUILD)/probe.cpp -o $(FUZZ_BUILD)/probe || \
	  { echo "fuzz: $(FUZZ_CXX) cannot build a libFuzzer program (-fsanitize=fuzzer); install clang's compiler-rt" >&2; exit 1; }
	@echo "fuzz: $$($(FUZZ_CXX) --version | head -n 1), -fsanitize=fuzzer,address,undefined -> $(FUZZ_BUILD)/"
	@touch $@

$(FUZZ_BUILD)/obj/%.o: src/%.cpp | $(FUZZ_DEPS_OK)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.cpp tests/fuzz/fuzz_util.h $(FUZZ_OBJ) | $(FUZZ_DEPS_OK)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(BLAS_LIBS) -lm -pthread

# the objects are made by a pattern rule for a pattern rule: keep them (not intermediates)
.SECONDARY: $(FUZZ_OBJ)
-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)
