// fam_layer.cpp: see fam_layer.h. Paper Algorithm 1 (BSWA) and Algorithm 2
// (TransformerFAM); docs/spec.md, "The FAM".
#include "fam_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "attention.h"

BlockPlan make_block_plan(const FamConfig& cfg, int T) {
    if (T <= 0) throw std::invalid_argument("sequence is empty (T = 0)");
    BlockPlan p;
    p.T = T;
    if (cfg.attention == AttentionKind::Full) {
        // full causal attention = one block holding the whole sequence, no memory, no FAM
        p.B = T;
        p.M = 0;
        p.F = 0;
    } else {
        p.B = cfg.B;
        p.M = cfg.M;
        p.F = cfg.fam_len();
    }
    p.nblocks = (T + p.B - 1) / p.B;
    p.has_partial = T % p.B != 0;
    int ncomplete = T / p.B;
    // complete blocks look alike once tau >= M (all memory present): M + 1 distinct masks
    for (int i = 0; i < std::min(ncomplete, p.M + 1); i++)
        p.masks.push_back(fam_block_mask(p.B, p.M, p.F, i, p.B));
    if (p.has_partial) p.masks.push_back(fam_block_mask(p.B, p.M, p.F, p.nblocks - 1, T % p.B));
    return p;
}

const Mask& BlockPlan::mask(int tau) const {
    if (has_partial && tau == nblocks - 1) return masks.back();
    return masks[std::min(tau, M)];
}

static void copy_rows(float* dst, const float* src, int rows, int D) {
    std::memcpy(dst, src, sizeof(float) * rows * D);
}
static void add_rows(float* dst, const float* src, int rows, int D) {
    for (size_t i = 0; i < (size_t)rows * D; i++) dst[i] += src[i];
}
static void grow_zero(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    std::fill(v.begin(), v.begin() + n, 0.0f);
}

void fam_layer_forward(float* out, float* fam_final, LayerCache& c, const float* x, int T,
                       float pos_offset, const float* fam0, const float* fam0_pos, bool fresh,
                       const BlockPlan& plan, const LayerWeights& w, const FamConfig& cfg,
                       const BlockObserver* observer, int layer) {
    // out [T,D], fam_final [F,D], x [T,D], fam0 [F,D], fam0_pos [F]
    const int D = cfg.D, H = cfg.H, B = plan.B, M = plan.M, F = plan.F;
    c.T = T;
    static thread_local std::vector<float> pos;
    pos.resize(T);
    for (int t = 0; t < T; t++) pos[t] = (float)t + pos_offset;

    // [Alg.1 step 1] [Alg.2 step 1] Q, K, V <- QKV(PreLN(I)): every token row at once
    qkv_forward(c.tok, x, pos.data(), T, w, cfg);
    const float* Q = c.tok.q.data();  // [T,D] after RoPE
    const float* K = c.tok.k.data();  // [T,D] after RoPE
    const float* V = c.tok.v.data();  // [T,D]
    grow_zero(c.tok_att, (size_t)T * D);

    c.blocks.resize(plan.nblocks);
    const float* fam_in = fam0;          // F_{tau-1}  [F,D]
    const float* fam_in_pos = fam0_pos;  // its positions [F]
    bool fam_fresh = fresh;
    for (int tau = 0; tau < plan.nblocks; tau++) {
        BlockCache& b = c.blocks[tau];
        const Mask& mask = plan.mask(tau);
        b.tau = tau;
        b.len = plan.len(tau);
        b.update = F > 0 && b.len == B;
        b.fresh = fam_fresh;
        b.R = mask.rows;  // len + (update ? F : 0)
        b.C = mask.cols;  // M*B + F + B
        const int t0 = tau * B, len = b.len, R = b.R, C = b.C;

        // [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_{tau-1})): the FAM re-projected by this layer
        if (F > 0) qkv_forward(b.fam, fam_in, fam_in_pos, F, w, cfg);

        // [Alg.1 step 2] [Alg.2 step 3] K^ <- Concat(K_mem, K^F, K_tau) and V^ likewise.
        // [Alg.2 step 6] K~ <- Concat(K^F, K_tau): the same buffer; the FAM rows' mask
        // simply leaves out the memory columns.
        // Memory block tau-M+i sits in columns i*B..i*B+B-1; blocks before 0 stay zero
        // (the mask never selects them).
        grow_zero(b.k, (size_t)C * D);
        grow_zero(b.v, (size_t)C * D);
        for (int blk = std::max(0, tau - M); blk < tau; blk++) {
            int col = (blk - (tau - M)) * B;
            copy_rows(&b.k[(size_t)col * D], K + (size_t)blk * B * D, B, D);
            copy_rows(&b.v[(size_t)col * D], V + (size_t)blk * B * D, B, D);
        }
        if (F > 0) {
            copy_rows(&b.k[(size_t)M * B * D], b.fam.k.data(), F, D);
            copy_rows(&b.v[(size_t)M * B * D], b.fam.v.data(), F, D);
        }
        copy_rows(&b.k[(size_t)(M * B + F) * D], K + (size_t)t0 * D, len, D);
        copy_rows(&b.v[(size_t)(M * B + F) * D], V + (size_t)t0 * D, len, D);
        // queries: [block rows; FAM rows (only when the FAM is updated)]
        grow_zero(b.q, (size_t)R * D);
        copy_rows(b.q.data(), Q + (size_t)t0 * D, len, D);
        if (b.update) copy_rows(&b.q[(size_t)len * D], b.fam.q.data(), F, D);

        // [Alg.1 step 3] [Alg.2 step 4, 7] SelfAttention: one softmax per row over the keys its
        // mask row allows. Block rows: memory, FAM, causal block prefix ("attention to
        // feedback"); FAM rows: FAM and the whole block ("FAM queries compress the block").
        grow_zero(b.P, (size_t)H * R * C);
        grow_zero(b.att, (size_t)R * D);
        attention_forward(b.att.data(), b.P.data(), b.q.data(), b.k.data(), b.v.data(),
                          mask.m.data(), R, C, D, H);
        copy_rows(&c.tok_att[(size_t)t0 * D], b.att.data(), len, D);

        b.fam_next.resize((size_t)F * D);
        b.fam_next_pos.resize(F);
        if (b.update) {
            // [Alg.2 step 7] A^F <- SelfAttention(Q^F, K~, V~) + F_{tau-1}; the residual is zero
            // when F_{tau-1} is the initial FAM of a fresh sequence (App. B.1)
            // [Alg.2 step 8] F_tau <- FF(PreLN(A^F)) + A^F
            out_forward(b.fam_next.data(), b.fam_out, b.fresh ? nullptr : fam_in,
                        &b.att[(size_t)len * D], F, w, cfg);
            // F_tau takes the positions of the last F tokens of the block (App. B.2.1, Table 7)
            for (int j = 0; j < F; j++) b.fam_next_pos[j] = (float)(t0 + B - F + j) + pos_offset;
            fam_fresh = false;
        } else if (F > 0) {
            // a partial last block updates no FAM
            copy_rows(b.fam_next.data(), fam_in, F, D);
            std::copy(fam_in_pos, fam_in_pos + F, b.fam_next_pos.begin());
        }
        // Observer hook (src/viz.h, docs/debugging.md): the block's attention weights b.P
        // and F_tau are final here. Off (null) by default; it only reads.
        if (observer && observer->on_block) observer->on_block(observer->user, layer, b, mask);
        fam_in = b.fam_next.data();
        fam_in_pos = b.fam_next_pos.data();
    }

    // [Alg.1 step 3] [Alg.2 step 4] A <- SelfAttention(...) Wo^T + I, all token rows at once
    // [Alg.1 step 4] [Alg.2 step 5] O <- FF(PreLN(A)) + A
    out_forward(out, c.tok_out, x, c.tok_att.data(), T, w, cfg);
    if (fam_final && F > 0) copy_rows(fam_final, fam_in, F, D);
}

// eps of the smoothed norm in fam_update_norm_penalty: keeps its gradient finite at d = 0
static const double kNormEps = 1e-6;

// ||F_tau[r] - F_{tau-1}[r]||^2 for row r of block b's FAM update (the norm penalty
// and its gradient measure the same thing)
static double row_update_sq(const BlockCache& b, int r, int D) {
    double ss = 0.0;
    for (int i = 0; i < D; i++) {
        double d = (double)b.fam_next[(size_t)r * D + i] - b.fam.x[(size_t)r * D + i];
        ss += d * d;
    }
    return ss;
}

void fam_layer_backward(float* dx, float* dfam0, LayerWeights& dw, const float* dout,
                        const float* dfam_final, const LayerCache& c, const BlockPlan& plan,
                        const LayerWeights& w, const FamConfig& cfg, bool mem_stop_grad,
                        float fam_l2, float fam_l1) {
    const int T = c.T, D = cfg.D, H = cfg.H, B = plan.B, M = plan.M, F = plan.F;
    int n_penalized = 0;  // non-fresh updates, the penalty's denominator
    for (const BlockCache& b : c.blocks) n_penalized += b.update && !b.fresh;
    static thread_local std::vector<float> dtok_att, dQ, dK, dV, dq, dk, dv, datt, dF_next, dF_cur;
    grow_zero(dtok_att, (size_t)T * D);
    grow_zero(dQ, (size_t)T * D);
    grow_zero(dK, (size_t)T * D);
    grow_zero(dV, (size_t)T * D);
    grow_zero(dF_next, (size_t)F * D);
    grow_zero(dF_cur, (size_t)F * D);

    // undo [Alg.2 step 4-5] for the token rows: dx gets dA through the residual
    out_backward(dx, dtok_att.data(), dw, dout, c.tok_out, w, cfg);

    // walk the FAM chain backwards: dF_next is the gradient of F_tau, the FAM leaving block tau
    if (dfam_final && F > 0) copy_rows(dF_next.data(), dfam_final, F, D);
    for (int tau = plan.nblocks - 1; tau >= 0; tau--) {
        const BlockCache& b = c.blocks[tau];
        const int t0 = tau * B, len = b.len, R = b.R, C = b.C;
        grow_zero(datt, (size_t)R * D);
        copy_rows(datt.data(), &dtok_att[(size_t)t0 * D], len, D);
        grow_zero(dF_cur, (size_t)F * D);  // gradient of F_{tau-1}, the FAM entering block tau
        if (b.update && !b.fresh && fam_l2 > 0.0f) {
            // the update-size penalty: d/dF_tau and d/dF_{tau-1} of (1/F) ||F_tau - F_{tau-1}||^2
            const float g = 2.0f * fam_l2 / ((float)n_penalized * F);
            for (size_t i = 0; i < (size_t)F * D; i++) {
                float delta = g * (b.fam_next[i] - b.fam.x[i]);
                dF_next[i] += delta;
                dF_cur[i] -= delta;
            }
        }
        if (b.update && !b.fresh && fam_l1 > 0.0f) {
            // the update-norm penalty: d/dF_tau of (1/F) sum_rows sqrt(||d_row||^2 + eps^2), d = F_tau - F_{tau-1}
            for (int r = 0; r < F; r++) {
                const float* fn = &b.fam_next[(size_t)r * D];
                const float* fo = &b.fam.x[(size_t)r * D];
                const double ss = row_update_sq(b, r, D);
                const float g = (float)(fam_l1 / ((double)n_penalized * F * std::sqrt(ss + kNormEps * kNormEps)));
                for (int i = 0; i < D; i++) {
                    float delta = g * (fn[i] - fo[i]);
                    dF_next[(size_t)r * D + i] += delta;
                    dF_cur[(size_t)r * D + i] -= delta;
                }
            }
        }
        if (b.update) {
            // undo [Alg.2 step 8] and [Alg.2 step 7]: the residual carries dF_tau to F_{tau-1}
            // unless it was the zero residual of a fresh FAM
            out_backward(b.fresh ? nullptr : dF_cur.data(), &datt[(size_t)len * D], dw,
                         dF_next.data(), b.fam_out, w, cfg);
        } else if (F > 0) {
            copy_rows(dF_cur.data(), dF_next.data(), F, D);  // no update: F_tau = F_{tau-1}
        }
        // undo the attention of [block rows; FAM rows] over [memory; FAM; block]
        grow_zero(dq, (size_t)R * D);
        grow_zero(dk, (size_t)C * D);
        grow_zero(dv, (size_t)C * D);
        attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), b.P.data(), b.q.data(),
                           b.k.data(), b.v.data(), R, C, D, H);
        // scatter the key/value gradients back to where the keys came from
        add_rows(&dQ[(size_t)t0 * D], dq.data(), len, D);
        if (!mem_stop_grad) {  // M_SG ablation: memory segments get no gradient
            for (int blk = std::max(0, tau - M); blk < tau; blk++) {
                int col = (blk - (tau - M)) * B;
                add_rows(&dK[(size_t)blk * B * D], &dk[(size_t)col * D], B, D);
                add_rows(&dV[(size_t)blk * B * D], &dv[(size_t)col * D], B, D);
            }
        }
        add_rows(&dK[(size_t)t0 * D], &dk[(size_t)(M * B + F) * D], len, D);
        add_rows(&dV[(size_t)t0 * D], &dv[(size_t)(M * B + F) * D], len, D);
        if (F > 0) {
            // undo [Alg.2 step 2]: the FAM rows' Q^F (if they queried), K^F, V^F
            static thread_local std::vector<float> dqF;
            grow_zero(dqF, (size_t)F * D);
            if (b.update) copy_rows(dqF.data(), &dq[(size_t)len * D], F, D);
            qkv_backward(dF_cur.data(), dw, dqF.data(), &dk[(size_t)M * B * D],
                         &dv[(size_t)M * B * D], b.fam, w, cfg);
        }
        std::swap(dF_next, dF_cur);  // dF_next is now the gradient of F_{tau-1}
    }
    if (dfam0 && F > 0) add_rows(dfam0, dF_next.data(), F, D);

    // undo [Alg.2 step 1] for every token row at once
    qkv_backward(dx, dw, dQ.data(), dK.data(), dV.data(), c.tok, w, cfg);
}

float fam_update_norm_penalty(const LayerCache& c, int F, int D) {
    double sum = 0.0;
    int n = 0;
    for (const BlockCache& b : c.blocks) {
        if (!b.update || b.fresh) continue;
        for (int r = 0; r < F; r++) sum += std::sqrt(row_update_sq(b, r, D) + kNormEps * kNormEps) - kNormEps;
        n++;
    }
    return n ? (float)(sum / ((double)n * F)) : 0.0f;
}

float fam_update_penalty(const LayerCache& c, int F, int D) {
    double sum = 0.0;
    int n = 0;
    for (const BlockCache& b : c.blocks) {
        if (!b.update || b.fresh) continue;
        for (size_t i = 0; i < (size_t)F * D; i++) {
            double d = (double)b.fam_next[i] - b.fam.x[i];  // F_tau - F_{tau-1}
            sum += d * d;
        }
        n++;
    }
    return n ? (float)(sum / ((double)n * F)) : 0.0f;
}
