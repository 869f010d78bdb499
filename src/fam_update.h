// fam_update.h: the FAM update, Algorithm 2 steps 6-8 (paper Section 2.2,
// Appendix B.1 for the fresh FAM, Appendix B.2.1 / Table 7 for the positions).
//
// When block tau (counted from 0 in the code, the paper's block tau+1) is
// complete, the FAM that entered it, F_tau, reads the block and becomes
// F_{tau+1} (docs/spec.md, "FAM index convention"):
//
//   step 6   K~ = [K^F; K_tau], V~ = [V^F; V_tau]           all F FAM keys, all B block keys
//   step 7   A^F = SelfAttention(Q^F, K~, V~) Wo^T + F_tau  (residual 0 for a fresh FAM)
//   step 8   F_{tau+1} = FF(PreLN(A^F)) + A^F
//   positions  F_{tau+1} sits at the last F positions of the block
//
// This is the one place the update is written. The readable path (src/naive.cpp),
// the blockwise path (src/fam_layer.cpp) and the streaming path (src/fam_state.cpp)
// all call fam_update; they differ only in where they keep Q^F, K^F, V^F (step 2)
// and the block's keys K_tau, V_tau (step 1).
#pragma once

#include <cstdint>
#include <vector>

#include "config.h"
#include "layer.h"
#include "weights.h"

// The FAM that enters a block: what the FAM inputs of Algorithm 2 are.
struct FamIn {
    const float* fam = nullptr;  // [F, D] F_tau
    const float* pos = nullptr;  // [F]    its positions (-F..-1 for the initial FAM)
    bool fresh = false;          // F_tau is the initial FAM of a fresh sequence: its
                                 // update uses a zero residual (App. B.1)
};

// What one FAM update leaves for its backward (and for pictures).
struct FamUpdateCache {
    int F = 0, B = 0;            // FAM rows, block keys
    bool fresh = false;          // step 7 used the zero residual
    std::vector<float> q;        // [F, D]      Q^F (after RoPE): the FAM queries
    std::vector<float> k, v;     // [F+B, D]    K~ = [K^F; K_tau], V~ = [V^F; V_tau] (step 6)
    std::vector<float> P;        // [H, F, F+B] the FAM queries' attention weights (step 7)
    std::vector<float> att;      // [F, D]      their attention output, heads concatenated, before Wo
    OutCache out;                // step 7's Wo and residual, step 8's FF (src/layer.h)
};

// F_{tau+1} <- the update of F_tau by the complete block that starts at token t0.
//   fam_out [F,D]        F_{tau+1}
//   fam_out_pos [F]      its positions: t0 + B - F + j + pos_offset, j = 0..F-1
//   in                   F_tau, its positions, fresh or not
//   qF, kF, vF [F,D]     Q^F, K^F, V^F = QKV(PreLN(F_tau)) after RoPE (step 2, done by the caller)
//   K_blk, V_blk [B,D]   the block's keys (after RoPE) and values (step 1)
// Uses cfg.B and cfg.fam_len(). Allocates nothing once c has held an update of this size.
void fam_update(float* fam_out, float* fam_out_pos, FamUpdateCache& c, const FamIn& in,
                const float* qF, const float* kF, const float* vF, const float* K_blk,
                const float* V_blk, int64_t t0, float pos_offset, const LayerWeights& w,
                const FamConfig& cfg);

// The positions rule alone: pos[j] = t0 + B - F + j + pos_offset (App. B.2.1, Table 7:
// the FAM takes the positions of the last F tokens of its block).
// DEVIATION: when F > B these reach back before the block; the formula is taken literally.
void fam_positions(float* pos, int64_t t0, int B, int F, float pos_offset);

// Scratch for fam_update_backward, owned by the caller (one per layer backward).
struct FamUpdateGradScratch {
    std::vector<float> datt;     // [F, D]
    std::vector<float> dk, dv;   // [F+B, D] gradients of K~, V~
};

// Backward of fam_update. Accumulates dfam_in [F,D] (the residual path; left
// untouched when F_tau was fresh, since its residual was zero), dqF, dkF, dvF [F,D],
// dK_blk, dV_blk [B,D] and the weight gradients dw, from dfam_out [F,D] = dL/dF_{tau+1}.
void fam_update_backward(float* dfam_in, float* dqF, float* dkF, float* dvF, float* dK_blk,
                         float* dV_blk, LayerWeights& dw, const float* dfam_out,
                         const FamUpdateCache& c, FamUpdateGradScratch& s,
                         const LayerWeights& w, const FamConfig& cfg);
