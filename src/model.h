// model.h: the small language model of docs/spec.md:
// token embedding, the initial-FAM prompt pass (paper App. B.1), N layers of
// BSWA / TransformerFAM (src/fam_layer.h) or full attention, final LayerNorm
// and the output head; cross-entropy loss; the whole backward by hand.
//
// This is the fast "blockwise" path. src/naive.h computes the same thing the
// readable way, and the tests hold the two together.
#pragma once

#include <vector>

#include "config.h"
#include "fam_layer.h"
#include "layer.h"
#include "weights.h"

struct ForwardOptions {
    // RPO (App. B.2.2): added to every position of the sequence (tokens, FAM,
    // prompt). 0 at inference.
    float pos_offset = 0.0f;
    // RSP (App. B.2.3): start every layer from this FAM [N, F, D] instead of the
    // prompt pass. Such a FAM is not fresh (its residual is kept), sits at
    // positions -F..-1 and receives no gradient. Null = fresh sequence.
    const float* fam_start = nullptr;
    // Called once per (layer, block) after the block's attention and FAM update
    // (src/fam_layer.h: BlockObserver; src/viz.h records pictures with it).
    // Null = off, which costs nothing.
    const BlockObserver* observer = nullptr;
};

// The prompt pass of one layer: the F prompt rows attending to each other.
struct PromptCache {
    QkvCache qkv;
    std::vector<float> P;    // [H, F, F]
    std::vector<float> att;  // [F, D]
    OutCache out;
};

// Everything a forward over one sequence leaves for backward and for callers.
struct ModelCache {
    int T = 0;
    ForwardOptions opt;
    std::vector<int> tokens;              // [T]
    BlockPlan plan;
    std::vector<std::vector<float>> xs;   // N+1 buffers [T, D]: xs[l] enters layer l
    std::vector<PromptCache> prompt;      // N-1: prompt pass through layers 0..N-2
    std::vector<float> prompt_pos;        // [F] positions -F..-1 (+ offset)
    std::vector<float> fam_init;          // [N, F, D] the FAM entering block 0 of each layer
    std::vector<float> fam_final;         // [N, F, D] the FAM after the last complete block
    std::vector<LayerCache> layers;       // N
    std::vector<float> lnf_mean, lnf_rstd;  // [T]
    std::vector<float> xf;                // [T, D] LN_f(xs[N])
    std::vector<float> logits;            // [T, V]
    std::vector<float> probs;             // [T, V] (after model_loss)
    std::vector<float> losses;            // [T]    (after model_loss)
    // scratch of model_backward, kept so that a training step allocates nothing
    mutable std::vector<float> dlogits;   // [T, V]
    mutable std::vector<float> dxf, dnext, dcur;  // [T, D]
};

// [App. B.1] The initial FAM of every layer, [N, F, D]: the prompt pass of
// model_forward for a fresh sequence (positions -F..-1 + pos_offset), without
// keeping anything for backward. Streaming inference (src/fam_state.h) starts
// from it. Empty when the config has no FAM.
std::vector<float> initial_fam(const ModelWeights& w, float pos_offset = 0.0f);

// Forward over one sequence of T tokens: fills c.logits [T, V] and c.fam_final.
// Throws std::invalid_argument on an empty sequence or a token outside [0, V).
void model_forward(ModelCache& c, const ModelWeights& w, const int* tokens, int T,
                   const ForwardOptions& opt = ForwardOptions());

// Weighted mean cross-entropy of c.logits against targets [T] (-1 = no target),
// weights [T] or null. Returns the loss; *weight_sum receives sum of weights.
float model_loss(ModelCache& c, const ModelWeights& w, const int* targets, const float* weights,
                 float* weight_sum = nullptr);

// Backward of model_loss * dloss through the whole model, accumulating into dw
// (same config as w). Gradients flow through memory segments and the whole FAM
// chain back to fam_prompt, unless mem_stop_grad (the M_SG ablation).
// DEVIATION: fam_l2, fam_l1 > 0 add the gradient of fam_l2 * fam_penalty(c) +
// fam_l1 * fam_norm_penalty(c) (training options, src/fam_penalty.h).
void model_backward(ModelWeights& dw, const ModelCache& c, const ModelWeights& w,
                    const int* targets, const float* weights, float dloss = 1.0f,
                    bool mem_stop_grad = false, float fam_l2 = 0.0f, float fam_l1 = 0.0f);
