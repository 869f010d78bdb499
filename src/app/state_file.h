// state_file.h: a stream state (src/fam_state.h) saved to and loaded from a
// safetensors file, so that a stream can stop and resume bit for bit (docs/spec.md,
// "Stream-state files").
#pragma once

#include <cstdint>
#include <string>

#include "fam_state.h"
#include "app/safetensors.h"

// ---- save / load (safetensors, docs/spec.md) ----------------
// Tensors state.layers.{l}.fam [F,D], .fam_pos [F], .q_fam [F,D], .k [C,D], .v [C,D]
// (full: [pos, D]); metadata: the model config (as a checkpoint) and
// state.format = famstate-v1, state.pos, state.ring_head, state.block_len,
// state.mem_blocks, state.fresh ("1,1" per layer), state.model_checksum.
// `extra` metadata and tensors ride along (e.g. the CLI's running loss). w is
// the model the state runs with: its checksum lets a load refuse other weights.
SafeTensors fam_state_to_safetensors(const FamState& st, const ModelWeights& w);
// Atomic (temp file + rename).
void fam_state_save(const std::string& path, const FamState& st, const ModelWeights& w,
                    const SafeTensors* extra = nullptr);
// Loads into st (reallocated if it was made for another config). Refuses, naming
// the file and the problem, a state made for another config or other weights,
// missing or misshapen tensors, and ring fields that contradict the position counter.
// Returns the whole file, so callers can read their extras.
SafeTensors fam_state_load(const std::string& path, FamState& st, const ModelWeights& w);

// A checksum of the weights (FNV-1a over their bytes), stored with a state.
uint64_t weights_checksum(const ModelWeights& w);

