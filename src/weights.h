// weights.h: the parameters of the model, named as in
// docs/spec.md. All of them live in one contiguous buffer, so
// that gradients (a second ModelWeights of the same config, "d" prefix) and
// optimizer state share the layout and a whole-model operation is one loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

// DEVIATION: LayerNorm with gain and bias, separate Wq/Wk/Wv/Wo, a GELU MLP and an
// untied output head, trained from scratch (the paper fine-tunes Flan-PaLM's PaLM
// blocks with LoRA). The FAM mechanism itself uses these weights unchanged.
struct LayerWeights {
    float* ln1_g;  // [D]      layers.{l}.ln1.weight
    float* ln1_b;  // [D]      layers.{l}.ln1.bias
    float* wq;     // [D, D]   layers.{l}.attn.wq   (y = x W^T)
    float* wk;     // [D, D]   layers.{l}.attn.wk
    float* wv;     // [D, D]   layers.{l}.attn.wv
    float* wo;     // [D, D]   layers.{l}.attn.wo
    float* ln2_g;  // [D]      layers.{l}.ln2.weight
    float* ln2_b;  // [D]      layers.{l}.ln2.bias
    float* w1;     // [Dff, D] layers.{l}.ffn.w1
    float* w2;     // [D, Dff] layers.{l}.ffn.w2
};

// One named parameter: a window into ModelWeights::buffer.
struct Param {
    std::string name;        // e.g. "layers.0.attn.wq"
    std::vector<int> shape;  // e.g. {D, D}
    float* data;
    size_t size;
};

struct ModelWeights {
    FamConfig cfg;
    std::vector<float> buffer;        // every parameter, contiguous
    float* tok_emb = nullptr;         // [V, D]
    float* fam_prompt = nullptr;      // [F, D] (null when F = 0)
    std::vector<LayerWeights> layers; // N
    float* lnf_g = nullptr;           // [D] ln_f.weight
    float* lnf_b = nullptr;           // [D] ln_f.bias
    float* lm_head = nullptr;         // [V, D]
    std::vector<Param> params;        // in checkpoint order

    ModelWeights() = default;
    // All zeros (use for gradients). Validates cfg and checks the weights' bytes
    // against memory_limit() (config.h) before allocating.
    explicit ModelWeights(const FamConfig& cfg);
    // The pointers point into `buffer`: copying would alias the old buffer.
    ModelWeights(const ModelWeights&) = delete;
    ModelWeights& operator=(const ModelWeights&) = delete;
    ModelWeights(ModelWeights&&) = default;
    ModelWeights& operator=(ModelWeights&&) = default;

    void zero();
    const Param& param(const std::string& name) const;  // throws if unknown
};

// Random initialization, deterministic in `seed`: matrices N(0, 1/fan_in), the
// residual projections wo and w2 further scaled by 1/sqrt(2N), tok_emb and
// fam_prompt N(0, 1) (both are layer-normed before use), LayerNorm gains 1 and
// biases 0.
void init_weights(ModelWeights& w, uint64_t seed);

// Throws std::invalid_argument "SOURCE: tensor 'name' has a non-finite value (nan)
// at index i" for the first NaN or infinity: such weights only ever give NaN logits.
void check_finite(const ModelWeights& w, const std::string& source);

// Number of parameters of a config (for printouts).
size_t count_params(const FamConfig& cfg);
