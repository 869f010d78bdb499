// layer.h: the two halves of one PreLN Transformer layer applied to a group of
// rows (paper Section 2.1; docs/spec.md, "One layer").
//
//   first half   q, k, v = RoPE(LN1(x) Wq^T), RoPE(LN1(x) Wk^T), LN1(x) Wv^T
//   (attention between the halves: src/attention.h, keys chosen by the caller)
//   second half  A = R + att Wo^T;  O = A + W2 gelu(W1 LN2(A))
//
// A "group of rows" is whatever passes through the layer together: the T token
// rows of a sequence, the F rows of one FAM update, or the F prompt rows of the
// initial-FAM pass. Token rows and FAM rows share every weight (paper Section
// 2.2: "no additional weights"), so the same functions serve all of them.
#pragma once

#include <vector>

#include "config.h"
#include "ops.h"
#include "weights.h"

// What the first half leaves behind for its backward. All [R, D] unless noted.
struct QkvCache {
    int R = 0;
    std::vector<float> x;         // input rows (the residual stream)
    std::vector<float> ln1_mean;  // [R]
    std::vector<float> ln1_rstd;  // [R]
    std::vector<float> xn;        // LN1(x)
    std::vector<float> q, k, v;   // projections; q and k after RoPE
    std::vector<float> pos;       // [R] positions used by RoPE
    RopeTable rope;               // cos/sin of those positions (shared by q and k; src/ops.h)
    mutable RopeTable rope_back;  // the same for qkv_backward's rotation by -p
    // scratch of qkv_backward, kept so that a training step allocates nothing
    mutable std::vector<float> dq_pre, dk_pre, dxn;  // [R, D] each
};

// What the second half leaves behind for its backward.
struct OutCache {
    int R = 0;
    std::vector<float> att;       // [R, D] attention output, heads concatenated, before Wo
    std::vector<float> a;         // [R, D] A = R + att Wo^T
    std::vector<float> ln2_mean;  // [R]
    std::vector<float> ln2_rstd;  // [R]
    std::vector<float> an;        // [R, D] LN2(A)
    std::vector<float> h;         // [R, Dff] W1 LN2(A), before gelu
    std::vector<float> g;         // [R, Dff] gelu(h)
    // Training sets keep_tanh: out_forward then also keeps th [R, Dff] = the tanh inside
    // gelu, and out_backward reads it instead of recomputing it (same numbers, no exp).
    // Off for inference and streaming, which never run backward.
    bool keep_tanh = false;
    std::vector<float> th;        // [R, Dff] when keep_tanh
    // scratch of out_backward, kept so that a training step allocates nothing
    mutable std::vector<float> dg, dh;   // [R, Dff]
    mutable std::vector<float> dan, da;  // [R, D]
};

// [Alg.1/2 step 1-2] Q, K, V <- QKV(PreLN(x)), RoPE at `pos`. x [R,D], pos [R].
void qkv_forward(QkvCache& c, const float* x, const float* pos, int R, const LayerWeights& w,
                 const FamConfig& cfg);
// Accumulates dx [R,D] and the weight gradients from dq, dk (after RoPE), dv [R,D].
void qkv_backward(float* dx, LayerWeights& dw, const float* dq, const float* dk, const float* dv,
                  const QkvCache& c, const LayerWeights& w, const FamConfig& cfg);

// [Alg.2 step 4-5 / 7-8] out [R,D] = A + FF(PreLN(A)), A = resid + att Wo^T.
// resid [R,D] may be null: the zero residual of a fresh FAM's first update (App. B.1).
void out_forward(float* out, OutCache& c, const float* resid, const float* att, int R,
                 const LayerWeights& w, const FamConfig& cfg);
// Accumulates dresid (if non-null), datt [R,D] and the weight gradients from dout [R,D].
void out_backward(float* dresid, float* datt, LayerWeights& dw, const float* dout,
                  const OutCache& c, const LayerWeights& w, const FamConfig& cfg);
