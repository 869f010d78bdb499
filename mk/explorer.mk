# mk/explorer.mk: `make explorer`, the interactive explorer in the browser (docs/explorer.md).
#
# Compiles the mask, receptive-field and model code of src/ (plus the app files the
# PassKey pictures use: viz, render, npy, safetensors, safe_file, checkpoint, tasks) with
# Debian's emscripten into one static page: $(EXPLORER_OUT)/index.html, app.js,
# style.css and fam_explorer.js, which carries the WebAssembly module and the
# shipped model models/passkey_fam.safetensors inside it (-sSINGLE_FILE, --embed-file),
# because Chromium refuses to fetch files next to a page opened from file://.
# The model file is copied beside the page as well, for reference.
#
#   make explorer                          # -> build/explorer/index.html
#   make explorer EXPLORER_OUT=build-x/ex  # another output directory
#
# OpenBLAS does not exist for wasm: explorer/cblas_wasm.cpp provides the two CBLAS
# calls src/blas.cpp makes, as plain loops (explorer/include/cblas.h declares them).

EXPLORER_OUT ?= build/explorer
EXPLORER_OBJ := $(EXPLORER_OUT).obj
EMXX         ?= em++
# Debian's emscripten runs its JS optimizer with node and needs Debian's node-acorn,
# which a node that is not Debian's own does not find without this.
EM_ENV       := NODE_PATH=/usr/share/nodejs$(if $(NODE_PATH),:$(NODE_PATH))
EM_CXXFLAGS  := -std=c++17 -O2 -Wall -Wextra -fexceptions -MMD -MP -Isrc -Iexplorer/include \
                -I$(EXPLORER_OBJ)/include -I/usr/include/stb -DNDEBUG
EM_LDFLAGS   := -O2 -fexceptions -sSINGLE_FILE=1 -sMODULARIZE=1 -sEXPORT_NAME=createFamExplorer \
                -sENVIRONMENT=web -sALLOW_MEMORY_GROWTH=1 -sDISABLE_EXCEPTION_CATCHING=0 \
                -sEXPORTED_FUNCTIONS=_fx_mask,_fx_receptive_field,_fx_model_load,_fx_passkey_run,_fx_timeline_attention \
                -sEXPORTED_RUNTIME_METHODS=ccall,UTF8ToString \
                --embed-file models/passkey_fam.safetensors@/models/passkey_fam.safetensors

EXPLORER_SRC := $(wildcard src/*.cpp) \
                $(addprefix src/app/,viz.cpp render.cpp npy.cpp safetensors.cpp checkpoint.cpp tasks.cpp) \
                $(wildcard src/app/safe_file.cpp) \
                explorer/bindings.cpp explorer/cblas_wasm.cpp
EXPLORER_O   := $(patsubst %.cpp,$(EXPLORER_OBJ)/%.o,$(EXPLORER_SRC))
EXPLORER_PAGE := $(addprefix $(EXPLORER_OUT)/,index.html app.js style.css passkey_fam.safetensors)

.PHONY: explorer
explorer: $(EXPLORER_OUT)/fam_explorer.js $(EXPLORER_PAGE) ## the interactive explorer: src/ compiled to WebAssembly, a static page in build/explorer/ (installs emscripten)
	@echo "explorer: open $(EXPLORER_OUT)/index.html (file://, or: cd $(EXPLORER_OUT) && python3 -m http.server)"

# emscripten for this target only; nlohmann/json.hpp through a directory of its own
# (adding /usr/include itself would put the host's C library in front of emscripten's)
$(EXPLORER_OBJ)/.deps-ok: tools/install-deps.sh
	@bash tools/install-deps.sh emscripten nlohmann-json3-dev libstb-dev
	@mkdir -p $(EXPLORER_OBJ)/include && ln -sfn /usr/include/nlohmann $(EXPLORER_OBJ)/include/nlohmann
	@touch $@

$(EXPLORER_OBJ)/%.o: %.cpp | $(EXPLORER_OBJ)/.deps-ok
	@mkdir -p $(dir $@)
	$(EM_ENV) $(EMXX) $(EM_CXXFLAGS) -c $< -o $@

$(EXPLORER_OUT)/fam_explorer.js: $(EXPLORER_O) models/passkey_fam.safetensors
	@mkdir -p $(dir $@)
	$(EM_ENV) $(EMXX) $(EXPLORER_O) -o $@ $(EM_LDFLAGS)

$(EXPLORER_OUT)/%: explorer/%
	@mkdir -p $(dir $@)
	cp $< $@

$(EXPLORER_OUT)/passkey_fam.safetensors: models/passkey_fam.safetensors
	@mkdir -p $(dir $@)
	cp $< $@

-include $(EXPLORER_O:.o=.d)
