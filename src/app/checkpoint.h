// checkpoint.h: a model as a safetensors file (docs/spec.md):
// parameters under their spec names, the configuration in __metadata__.
// The same functions write gradients (same names, plus "loss" in the metadata).
#pragma once

#include <map>
#include <string>

#include "weights.h"
#include "app/safetensors.h"

// The config as __metadata__ strings: format, vocab_size, d_model, n_heads,
// n_layers, d_ff, attention, block_size, mem_segments, fam_len, rope_base.
std::map<std::string, std::string> config_to_metadata(const FamConfig& cfg);
// Parses and validates the config (FamConfig::validate, then the weights' bytes
// against the memory limit, before anything is allocated); a missing key, a
// malformed number or an impossible value is a std::runtime_error naming the file
// and the key.
FamConfig config_from_metadata(const SafeTensors& st);

// Every parameter of w as F32 tensors, plus the config metadata and `extra` metadata.
SafeTensors model_to_safetensors(const ModelWeights& w,
                                 const std::map<std::string, std::string>& extra = {});
// The parameters named in the spec, each checked for presence, shape and finite
// values (a NaN or infinity is refused naming the tensor). Other tensors
// (optimizer state "optim.*", "train.*") are ignored.
ModelWeights model_from_safetensors(const SafeTensors& st);

// Atomic save (app/safe_file.h) and load with validation.
void save_model(const std::string& path, const ModelWeights& w,
                const std::map<std::string, std::string>& extra = {});
ModelWeights load_model(const std::string& path);
