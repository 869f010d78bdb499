// fam_layer.h: one TransformerFAM layer over a whole sequence, the fast
// blockwise way (paper Algorithm 2, Section 2.2), and its BSWA baseline
// (Algorithm 1, Section 2.1), which is the same computation with F = 0.
//
// Per block tau (counted from 0; the paper's block tau+1) the block's token rows
// attend, in one softmax per row, to the keys [memory | FAM | block] under the
// block view mask of src/masks.h (fam_block_mask): the memory blocks, the F keys
// of F_tau (the FAM that entered the block) and their causal prefix of the block.
// Then fam_update (src/fam_update.h) turns F_tau into F_{tau+1}. The token rows'
// projections and FFN are batched over the whole sequence (one BLAS call each);
// only the FAM chain F_0 -> F_1 -> F_2 ... is sequential, because F_{tau+1} needs
// F_tau. The same layer, one block at a time and read like the paper: src/naive.cpp.
#pragma once

#include <vector>

#include "config.h"
#include "fam_update.h"
#include "layer.h"
#include "masks.h"
#include "weights.h"

// The blocks of a T-token sequence and the mask each one uses, built once per
// sequence (every layer uses the same plan). `full` attention is a single block
// of T tokens with no memory and no FAM: a causal mask.
//
// The key columns of a block, in the order of Algorithm 2 step 3
// (K^ = Concat(K_mem, K^F, K_tau)), have named offsets:
//   mem_col(i)  memory block tau-M+i, i = 0..M-1   (B columns each)
//   fam_col()   the F keys of F_tau                  (F columns)
//   blk_col()   the block's own keys                 (B columns, causal)
struct BlockPlan {
    int T = 0, B = 0, M = 0, F = 0, nblocks = 0;
    std::vector<Mask> masks;  // masks[i]: complete block with tau = i (i < M) or tau >= M (i = M);
                              // masks.back(): the partial last block, if any
    bool has_partial = false;
    int len(int tau) const { return tau < nblocks - 1 || !has_partial ? B : T - tau * B; }
    const Mask& mask(int tau) const;
    int mem_col(int i) const { return i * B; }
    int fam_col() const { return M * B; }
    int blk_col() const { return M * B + F; }
    int cols() const { return M * B + F + B; }  // C, all key columns
};
BlockPlan make_block_plan(const FamConfig& cfg, int T);

// What one block of one layer leaves behind for backward (and for the observer).
struct BlockCache {
    int tau = 0, len = 0;          // block tau (from 0): tokens tau*B .. tau*B+len-1
    bool update = false;           // complete block and F > 0: F_{tau+1} is computed
    bool fresh = false;            // F_tau is the initial FAM of a fresh sequence (zero residual)
    bool penalize = true;          // DEVIATION (training only): the update penalties count this
                                   // block; `fam train --penalty-blocks filler` clears it elsewhere
    int C = 0;                     // key columns [M*B memory | F FAM | B block]
    QkvCache fam;                  // [Alg.2 step 2] F_tau through QKV(PreLN(.)), [F, D]
    std::vector<float> k, v;       // [C, D]      K^, V^ (step 3); absent memory blocks stay 0
    std::vector<float> P;          // [H, len, C] the block rows' attention weights (step 4)
    FamUpdateCache upd;            // [Alg.2 steps 6-8] the FAM update (when `update`)
    std::vector<float> fam_out;    // [F, D] F_{tau+1}, the FAM leaving the block (= F_tau if no update)
    std::vector<float> fam_out_pos;  // [F] its positions: the last F positions of the block
};

// What one layer leaves behind for backward over one sequence.
struct LayerCache {
    int T = 0;
    std::vector<float> pos;         // [T] token positions t + pos_offset
    QkvCache tok;                   // [Alg.2 step 1] all T token rows
    std::vector<float> tok_att;     // [T, D] token rows' attention output (step 4), before Wo
    OutCache tok_out;               // [Alg.2 step 4-5] Wo, residual, FFN of all T token rows
    std::vector<BlockCache> blocks; // nblocks
    // scratch of fam_layer_backward, kept so that a training step allocates nothing
    struct GradScratch {
        std::vector<float> dtok_att, dQ, dK, dV;  // [T, D] dL/da, dL/dQ, dK, dV of the token rows
        std::vector<float> dk, dv;                // [C, D] dL/dK^, dV^ of one block
        std::vector<float> dF_out, dF_in;         // [F, D] dL/dF_{tau+1}, dL/dF_tau
        std::vector<float> dqF, dkF, dvF;         // [F, D] dL/dQ^F, dK^F, dV^F
        FamUpdateGradScratch upd;
    };
    mutable GradScratch grad;
};

// An observer of the forward pass (for pictures, debugging, teaching): called once
// per (layer, block) right after the block's attention and FAM update, with
//   layer   the layer index l
//   b       the block's cache: b.P [H, len, C] the block rows' attention weights over
//           the keys [M*B memory | F FAM | B block]; b.upd.P [H, F, F+B] the FAM rows'
//           weights over [F FAM | B block] (if b.update); b.fam_out [F, D] F_{tau+1}
//   mask    the block view mask [len (+F FAM rows if b.update), C]
// Off by default (null): then the forward costs one pointer test per block. `user`
// is handed back untouched, e.g. a recorder object (src/app/viz.h: VizRecorder).
// Read-only: the observer must not keep references to b (the cache is reused).
struct BlockObserver {
    void (*on_block)(void* user, int layer, const BlockCache& b, const Mask& mask) = nullptr;
    void* user = nullptr;
};

// Plumbing of a layer call, apart from the algorithm's inputs.
struct LayerHooks {
    const BlockObserver* observer = nullptr;  // optional, see above
    int layer = 0;                            // the layer index handed to the observer
};

// Forward of one layer over a sequence (Algorithm 2 for every block; Algorithm 1 when F = 0).
//   out [T,D]         O, the layer output for every token
//   fam_final [F,D]   the FAM after the last complete block (F_0 if none); may be null
//   x [T,D]           I, the layer input; token t sits at position t + pos_offset
//   fam0              F_0 entering block 0: its rows, positions, fresh or not
void fam_layer_forward(float* out, float* fam_final, LayerCache& c, const float* x, int T,
                       float pos_offset, const FamIn& fam0, const BlockPlan& plan,
                       const LayerWeights& w, const FamConfig& cfg, const LayerHooks& hooks = {});

// Backward of fam_layer_forward. Accumulates dx [T,D], dfam0 [F,D] (if non-null)
// and the weight gradients dw, from dout [T,D] and
//   dfams [nblocks+1, F, D] or null: gradient arriving at F_0 .. F_nblocks from
//          outside the layer (row nblocks is F_final's; a penalty on the FAM chain
//          puts its gradient here)
//   mem_stop_grad: the paper's M_SG ablation, no gradient flows into memory keys/values.
void fam_layer_backward(float* dx, float* dfam0, LayerWeights& dw, const float* dout,
                        const float* dfams, const LayerCache& c, const BlockPlan& plan,
                        const LayerWeights& w, const FamConfig& cfg, bool mem_stop_grad);
