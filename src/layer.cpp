// layer.cpp: see layer.h.
#include "layer.h"

#include <algorithm>
#include <cstring>

#include "ops.h"

static void grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);  // caches are reused: no allocation in steady state
}
static void grow_zero(std::vector<float>& v, size_t n) {
    grow(v, n);
    std::fill(v.begin(), v.begin() + n, 0.0f);
}

void qkv_forward(QkvCache& c, const float* x, const float* pos, int R, const LayerWeights& w,
                 const FamConfig& cfg) {
    const int D = cfg.D;
    c.R = R;
    grow(c.x, (size_t)R * D);
    grow(c.ln1_mean, R);
    grow(c.ln1_rstd, R);
    grow(c.xn, (size_t)R * D);
    grow(c.q, (size_t)R * D);
    grow(c.k, (size_t)R * D);
    grow(c.v, (size_t)R * D);
    grow(c.pos, R);
    std::memcpy(c.x.data(), x, sizeof(float) * R * D);
    std::memcpy(c.pos.data(), pos, sizeof(float) * R);
    // PreLN
    layernorm_forward(c.xn.data(), c.ln1_mean.data(), c.ln1_rstd.data(), x, w.ln1_g, w.ln1_b, R, D);
    // QKV: three [R,D] x [D,D]^T products
    linear_forward(c.q.data(), c.xn.data(), w.wq, R, D, D);
    linear_forward(c.k.data(), c.xn.data(), w.wk, R, D, D);
    linear_forward(c.v.data(), c.xn.data(), w.wv, R, D, D);
    // RoPE on queries and keys, per head, at each row's own position
    // (rope_forward's arithmetic; the cos/sin table is computed once for both, and not
    //  again while a row's position stays the same)
    rope_table_update(c.rope, pos, R, cfg.Dh(), cfg.rope_base, +1.0f);
    rope_apply(c.q.data(), c.q.data(), c.rope, R, cfg.H, cfg.Dh(), false);
    rope_apply(c.k.data(), c.k.data(), c.rope, R, cfg.H, cfg.Dh(), false);
}

void qkv_backward(float* dx, LayerWeights& dw, const float* dq, const float* dk, const float* dv,
                  const QkvCache& c, const LayerWeights& w, const FamConfig& cfg) {
    const int R = c.R, D = cfg.D;
    // scratch (kept in the cache): dL/dq and dL/dk before RoPE, dL/dLN1(x)  [R, D] each
    std::vector<float>&dq_pre = c.dq_pre, &dk_pre = c.dk_pre, &dxn = c.dxn;
    grow_zero(dq_pre, (size_t)R * D);
    grow_zero(dk_pre, (size_t)R * D);
    grow_zero(dxn, (size_t)R * D);
    // undo RoPE (rope_backward's arithmetic, one cos/sin table for both)
    rope_table_update(c.rope_back, c.pos.data(), R, cfg.Dh(), cfg.rope_base, -1.0f);
    rope_apply(dq_pre.data(), dq, c.rope_back, R, cfg.H, cfg.Dh(), true);
    rope_apply(dk_pre.data(), dk, c.rope_back, R, cfg.H, cfg.Dh(), true);
    // undo QKV
    linear_backward(dxn.data(), dw.wq, dq_pre.data(), c.xn.data(), w.wq, R, D, D);
    linear_backward(dxn.data(), dw.wk, dk_pre.data(), c.xn.data(), w.wk, R, D, D);
    linear_backward(dxn.data(), dw.wv, dv, c.xn.data(), w.wv, R, D, D);
    // undo PreLN
    layernorm_backward(dx, dw.ln1_g, dw.ln1_b, dxn.data(), c.x.data(), c.ln1_mean.data(),
                       c.ln1_rstd.data(), w.ln1_g, R, D);
}

FAM_VECTORIZE void out_forward(float* out, OutCache& c, const float* resid, const float* att, int R,
                 const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, Dff = cfg.Dff;
    c.R = R;
    grow(c.att, (size_t)R * D);
    grow(c.a, (size_t)R * D);
    grow(c.ln2_mean, R);
    grow(c.ln2_rstd, R);
    grow(c.an, (size_t)R * D);
    grow(c.h, (size_t)R * Dff);
    grow(c.g, (size_t)R * Dff);
    if (c.att.data() != att) std::memcpy(c.att.data(), att, sizeof(float) * R * D);
    // A = resid + att Wo^T  (the attention residual; resid = null is the zero residual)
    linear_forward(c.a.data(), att, w.wo, R, D, D);
    if (resid)
        for (size_t i = 0; i < (size_t)R * D; i++) c.a[i] += resid[i];
    // O = A + W2 gelu(W1 LN2(A))   (DEVIATION: a GELU MLP with LayerNorm, not PaLM's block)
    layernorm_forward(c.an.data(), c.ln2_mean.data(), c.ln2_rstd.data(), c.a.data(), w.ln2_g,
                      w.ln2_b, R, D);
    linear_forward(c.h.data(), c.an.data(), w.w1, R, D, Dff);
    if (c.keep_tanh) {  // training: keep tanh for out_backward (same numbers as gelu_forward)
        grow(c.th, (size_t)R * Dff);
        gelu_forward_keep_tanh(c.g.data(), c.th.data(), c.h.data(), (int64_t)R * Dff);
    } else {
        gelu_forward_fast(c.g.data(), c.h.data(), (int64_t)R * Dff);  // gelu_forward's bits
    }
    linear_forward(out, c.g.data(), w.w2, R, Dff, D);
    for (size_t i = 0; i < (size_t)R * D; i++) out[i] += c.a[i];
}

FAM_VECTORIZE void out_backward(float* dresid, float* datt, LayerWeights& dw, const float* dout,
                  const OutCache& c, const LayerWeights& w, const FamConfig& cfg) {
    const int R = c.R, D = cfg.D, Dff = cfg.Dff;
    // scratch (kept in the cache): dL/dgelu(h), dL/dh [R, Dff]; dL/dLN2(A), dL/dA [R, D]
    std::vector<float>&dg = c.dg, &dh = c.dh, &dan = c.dan, &da = c.da;
    grow_zero(dg, (size_t)R * Dff);
    grow_zero(dh, (size_t)R * Dff);
    grow_zero(dan, (size_t)R * D);
    grow(da, (size_t)R * D);
    // undo O = A + W2 g: dA starts as dout (the FFN residual)
    std::memcpy(da.data(), dout, sizeof(float) * R * D);
    linear_backward(dg.data(), dw.w2, dout, c.g.data(), w.w2, R, Dff, D);
    if (c.keep_tanh)  // the tanh the forward kept: no exp here
        gelu_backward_from_tanh(dh.data(), dg.data(), c.h.data(), c.th.data(), (int64_t)R * Dff);
    else
        gelu_backward(dh.data(), dg.data(), c.h.data(), (int64_t)R * Dff);
    linear_backward(dan.data(), dw.w1, dh.data(), c.an.data(), w.w1, R, D, Dff);
    layernorm_backward(da.data(), dw.ln2_g, dw.ln2_b, dan.data(), c.a.data(), c.ln2_mean.data(),
                       c.ln2_rstd.data(), w.ln2_g, R, D);
    // undo A = resid + att Wo^T
    if (dresid)
        for (size_t i = 0; i < (size_t)R * D; i++) dresid[i] += da[i];
    linear_backward(datt, dw.wo, da.data(), c.att.data(), w.wo, R, D, D);
}
