// fam_layer.h: one TransformerFAM layer over a whole sequence, the paper's way
// (Algorithm 2, Section 2.2), and its BSWA baseline (Algorithm 1, Section 2.1),
// which is the same computation with F = 0.
//
// Per block tau the layer concatenates [block rows; FAM rows] and lets them
// attend, in one softmax per row, to the keys [memory | FAM | block] under the
// mask of src/masks.h (fam_block_mask): block rows see the memory blocks, the
// FAM that entered the block and their causal prefix; FAM rows see the FAM and
// the whole block. The token rows' projections and FFN are batched over the
// whole sequence (one BLAS call each); only the FAM chain F_0 -> F_1 -> ... is
// sequential, because F_tau needs F_{tau-1}.
#pragma once

#include <vector>

#include "config.h"
#include "layer.h"
#include "masks.h"
#include "weights.h"

// The blocks of a T-token sequence and the mask each one uses, built once per
// sequence (every layer uses the same plan). `full` attention is a single block
// of T tokens with no memory and no FAM: a causal mask.
struct BlockPlan {
    int T = 0, B = 0, M = 0, F = 0, nblocks = 0;
    std::vector<Mask> masks;  // masks[i]: complete block with tau = i (i < M) or tau >= M (i = M);
                              // masks.back(): the partial last block, if any
    bool has_partial = false;
    int len(int tau) const { return tau < nblocks - 1 || !has_partial ? B : T - tau * B; }
    const Mask& mask(int tau) const;
};
BlockPlan make_block_plan(const FamConfig& cfg, int T);

// What one block of one layer leaves behind for backward.
struct BlockCache {
    int tau = 0, len = 0;        // tokens tau*B .. tau*B+len-1
    bool update = false;         // complete block and F > 0: F_tau is computed
    bool fresh = false;          // F_{tau-1} is the initial FAM of a fresh sequence: zero residual
    int R = 0, C = 0;            // attention rows [len | F if update], keys [M*B | F | B]
    QkvCache fam;                // [Alg.2 step 2] F_{tau-1} through QKV(PreLN(.)), [F, D]
    std::vector<float> q;        // [R, D] queries [block rows; FAM rows]
    std::vector<float> k, v;     // [C, D] keys/values [memory; FAM; block] (absent ones 0)
    std::vector<float> P;        // [H, R, C] attention weights
    std::vector<float> att;      // [R, D] attention output before Wo
    OutCache fam_out;            // [Alg.2 step 7-8] the FAM rows' second half
    std::vector<float> fam_next; // [F, D] F_tau (the FAM leaving this block; = F_{tau-1} if no update)
    std::vector<float> fam_next_pos;  // [F] its positions: the last F positions of the block
};

// What one layer leaves behind for backward over one sequence.
struct LayerCache {
    int T = 0;
    QkvCache tok;                   // [Alg.2 step 1] all T token rows
    std::vector<float> tok_att;     // [T, D] token rows' attention output
    OutCache tok_out;               // [Alg.2 step 4-5] all T token rows
    std::vector<BlockCache> blocks; // nblocks
};

// An observer of the forward pass (for pictures, debugging, teaching): called once
// per (layer, block) right after the block's attention and FAM update, with
//   layer   the layer index l
//   b       the block's cache: b.P [H, R, C] the attention weights of the rows
//           [len block rows; F FAM rows if b.update] over the keys [M*B memory | F FAM
//           | B block], b.fam_next [F, D] the FAM leaving the block (F_tau)
//   mask    the [R, C] mask of those weights (what each row and column stands for)
// Off by default (a null pointer in ForwardOptions): then the forward costs one
// pointer test per block and nothing else. `user` is handed back untouched, e.g. a
// recorder object (src/viz.h: VizRecorder). Read-only: the observer must not keep
// references to b after it returns (the cache is reused by the next forward).
struct BlockObserver {
    void (*on_block)(void* user, int layer, const BlockCache& b, const Mask& mask) = nullptr;
    void* user = nullptr;
};

// Forward of one layer over a sequence.
//   out [T,D]        O, the layer output for every token
//   fam_final [F,D]  the FAM after the last complete block (F0 if none), may be null
//   x [T,D]          I, the layer input; positions t + pos_offset
//   fam0 [F,D]       the FAM entering block 0, at positions fam0_pos [F]
//   fresh            fam0 is the initial FAM of a fresh sequence (App. B.1: its
//                    first update uses a zero residual)
//   observer, layer  optional: observer->on_block(user, layer, block, mask) per block
void fam_layer_forward(float* out, float* fam_final, LayerCache& c, const float* x, int T,
                       float pos_offset, const float* fam0, const float* fam0_pos, bool fresh,
                       const BlockPlan& plan, const LayerWeights& w, const FamConfig& cfg,
                       const BlockObserver* observer = nullptr, int layer = 0);

// Backward of fam_layer_forward. Accumulates dx [T,D], dfam0 [F,D] (if non-null)
// and the weight gradients, from dout [T,D] and dfam_final [F,D] (may be null).
// mem_stop_grad: the paper's M_SG ablation, no gradient flows into memory keys/values.
// fam_l2: also backpropagate fam_l2 * fam_update_penalty(c) (0 = off);
// fam_l1: likewise fam_l1 * fam_update_norm_penalty(c).
void fam_layer_backward(float* dx, float* dfam0, LayerWeights& dw, const float* dout,
                        const float* dfam_final, const LayerCache& c, const BlockPlan& plan,
                        const LayerWeights& w, const FamConfig& cfg, bool mem_stop_grad,
                        float fam_l2 = 0.0f, float fam_l1 = 0.0f);

// How much the FAM moves per update: the mean over the layer's non-fresh FAM
// updates of (1/F) sum_rows ||F_tau - F_{tau-1}||^2 (0 if there are none).
// DEVIATION: a training regularizer the paper does not use. The FAM is a
// residual stream with no normalization of its own, so whatever each filler
// block adds piles up linearly; penalizing the update size teaches the layer to
// write only what matters, and keeps the memory readable over many more blocks
// than training showed (see docs/results/passkey.md).
float fam_update_penalty(const LayerCache& c, int F, int D);

// The same updates measured by their size, not its square: the mean over the
// layer's non-fresh updates of (1/F) sum_rows ||F_tau - F_{tau-1}||, with the norm
// smoothed at zero as sqrt(||d||^2 + eps^2) - eps, eps = 1e-6. DEVIATION, like the
// penalty above. Its pull towards zero does not fade as an update shrinks (the
// squared penalty's does), so it drives the small, steady updates that every
// filler block makes, and that add up over a long stream, to zero: the FAM
// changes where there is something to write and stays put elsewhere.
float fam_update_norm_penalty(const LayerCache& c, int F, int D);
