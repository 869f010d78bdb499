// fam_layer.cpp: see fam_layer.h. Paper Algorithm 1 (BSWA) and Algorithm 2
// (TransformerFAM), the blockwise way; docs/spec.md, "The FAM".
#include "fam_layer.h"

#include <algorithm>
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
FAM_VECTORIZE static void add_rows(float* dst, const float* src, int rows, int D) {
    for (size_t i = 0; i < (size_t)rows * D; i++) dst[i] += src[i];
}
static void grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);  // caches are reused: no allocation in steady state
}
static void grow_zero(std::vector<float>& v, size_t n) {
    grow(v, n);
    std::fill(v.begin(), v.begin() + n, 0.0f);
}
static void zero_rows(float* dst, int rows, int D) { std::fill(dst, dst + (size_t)rows * D, 0.0f); }

void fam_layer_forward(float* out, float* fam_final, LayerCache& c, const float* x, int T,
                       float pos_offset, const FamIn& fam0, const BlockPlan& plan,
                       const LayerWeights& w, const FamConfig& cfg, const LayerHooks& hooks) {
    // out [T,D], fam_final [F,D], x [T,D]; fam0.fam [F,D], fam0.pos [F]
    const int D = cfg.D, H = cfg.H, B = plan.B, M = plan.M, F = plan.F, C = plan.cols();
    c.T = T;
    c.pos.resize(T);
    for (int t = 0; t < T; t++) c.pos[t] = (float)t + pos_offset;

    // [Alg.1 step 1] [Alg.2 step 1] Q, K, V <- QKV(PreLN(I)): every token row at once
    qkv_forward(c.tok, x, c.pos.data(), T, w, cfg);
    c.tok_out.keep_tanh = true;  // this cache feeds fam_layer_backward: gelu keeps its tanh
    const float* Q = c.tok.q.data();  // [T,D] after RoPE
    const float* K = c.tok.k.data();  // [T,D] after RoPE
    const float* V = c.tok.v.data();  // [T,D]
    grow(c.tok_att, (size_t)T * D);  // every row is written by its block's attention_forward

    c.blocks.resize(plan.nblocks);
    FamIn in = fam0;  // F_tau, the FAM entering block tau
    for (int tau = 0; tau < plan.nblocks; tau++) {
        BlockCache& b = c.blocks[tau];
        const Mask& mask = plan.mask(tau);  // [len (+F), C]; the block rows are its first len rows
        b.tau = tau;
        b.len = plan.len(tau);
        b.update = F > 0 && b.len == B;
        b.fresh = in.fresh;
        b.C = C;
        const int t0 = tau * B, len = b.len;

        // [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_tau)): the FAM re-projected by this layer
        if (F > 0) qkv_forward(b.fam, in.fam, in.pos, F, w, cfg);

        // [Alg.1 step 2] [Alg.2 step 3] K^ <- Concat(K_mem, K^F, K_tau); V^ likewise.
        // Memory blocks before block 0 do not exist: their columns are 0 and the mask
        // never selects them; neither the rows past a partial block's end. (Only those
        // rows are zeroed: every other row is copied over just below.)
        grow(b.k, (size_t)C * D);
        grow(b.v, (size_t)C * D);
        const int absent = std::min(std::max(M - tau, 0), M);  // memory slots 0..absent-1
        zero_rows(b.k.data(), absent * B, D);
        zero_rows(b.v.data(), absent * B, D);
        zero_rows(&b.k[(size_t)(plan.blk_col() + len) * D], B - len, D);
        zero_rows(&b.v[(size_t)(plan.blk_col() + len) * D], B - len, D);
        for (int blk = std::max(0, tau - M); blk < tau; blk++) {
            const int col = plan.mem_col(blk - (tau - M));  // memory block tau-M+i in slot i
            copy_rows(&b.k[(size_t)col * D], K + (size_t)blk * B * D, B, D);
            copy_rows(&b.v[(size_t)col * D], V + (size_t)blk * B * D, B, D);
        }
        if (F > 0) {
            copy_rows(&b.k[(size_t)plan.fam_col() * D], b.fam.k.data(), F, D);
            copy_rows(&b.v[(size_t)plan.fam_col() * D], b.fam.v.data(), F, D);
        }
        copy_rows(&b.k[(size_t)plan.blk_col() * D], K + (size_t)t0 * D, len, D);
        copy_rows(&b.v[(size_t)plan.blk_col() * D], V + (size_t)t0 * D, len, D);

        // [Alg.1 step 3] [Alg.2 step 4] a_t <- SelfAttention(q_t, K^_t, V^_t): one softmax
        // per block row over the keys its mask row allows (memory, FAM, causal prefix)
        grow(b.P, (size_t)H * len * C);  // attention_forward writes every entry
        attention_forward(&c.tok_att[(size_t)t0 * D], b.P.data(), Q + (size_t)t0 * D, b.k.data(),
                          b.v.data(), mask.m.data(), len, C, D, H);
        // (the rest of step 4, "+ i_t" after Wo, and step 5 run for all blocks at once
        //  after this loop: see there)

        // [Alg.2 steps 6-8] F_{tau+1} <- the FAM update: F_tau reads the complete block
        b.fam_out.resize((size_t)F * D);
        b.fam_out_pos.resize(F);
        if (b.update) {
            b.upd.out.keep_tanh = true;
            fam_update(b.fam_out.data(), b.fam_out_pos.data(), b.upd, in, b.fam.q.data(),
                       b.fam.k.data(), b.fam.v.data(), K + (size_t)t0 * D, V + (size_t)t0 * D, t0,
                       pos_offset, w, cfg);
        } else if (F > 0) {
            // a partial last block updates no FAM: F_{tau+1} = F_tau
            copy_rows(b.fam_out.data(), in.fam, F, D);
            std::copy(in.pos, in.pos + F, b.fam_out_pos.begin());
        }
        // Observer hook (src/app/viz.h, docs/debugging.md): the block's attention weights
        // and F_{tau+1} are final here. Off (null) by default; it only reads.
        if (hooks.observer && hooks.observer->on_block)
            hooks.observer->on_block(hooks.observer->user, hooks.layer, b, mask);
        in = FamIn{b.fam_out.data(), b.fam_out_pos.data(), in.fresh && !b.update};
    }

    // [Alg.1 step 3] [Alg.2 step 4] A <- SelfAttention(...) Wo^T + I, all token rows at once
    // [Alg.1 step 4] [Alg.2 step 5] O <- FF(PreLN(A)) + A
    // Done after the loop, for every block in one BLAS call each: these steps act row
    // by row and nothing in the FAM chain reads them (F_{tau+1} depends on I_tau only
    // through K_tau, V_tau), so the order changes no number.
    out_forward(out, c.tok_out, x, c.tok_att.data(), T, w, cfg);
    if (fam_final && F > 0) copy_rows(fam_final, in.fam, F, D);
}

void fam_layer_backward(float* dx, float* dfam0, LayerWeights& dw, const float* dout,
                        const float* dfams, const LayerCache& c, const BlockPlan& plan,
                        const LayerWeights& w, const FamConfig& cfg, bool mem_stop_grad) {
    const int T = c.T, D = cfg.D, H = cfg.H, B = plan.B, M = plan.M, F = plan.F, C = plan.cols();
    const size_t FD = (size_t)F * D;
    // Scratch, kept in the cache between steps (no allocation per block or per step);
    // see LayerCache::GradScratch for the shapes
    LayerCache::GradScratch& g = c.grad;
    for (std::vector<float>* v : {&g.dtok_att, &g.dQ, &g.dK, &g.dV}) grow_zero(*v, (size_t)T * D);
    for (std::vector<float>* v : {&g.dk, &g.dv}) grow_zero(*v, (size_t)C * D);
    for (std::vector<float>* v : {&g.dF_out, &g.dF_in, &g.dqF, &g.dkF, &g.dvF}) grow_zero(*v, FD);
    std::vector<float>&dtok_att = g.dtok_att, &dQ = g.dQ, &dK = g.dK, &dV = g.dV, &dk = g.dk, &dv = g.dv;
    std::vector<float>&dF_out = g.dF_out, &dF_in = g.dF_in, &dqF = g.dqF, &dkF = g.dkF, &dvF = g.dvF;
    FamUpdateGradScratch& upd_scratch = g.upd;

    // undo [Alg.2 step 5] O <- FF(PreLN(A)) + A, and
    // undo [Alg.2 step 4] A <- SelfAttention(...) Wo^T + I (its Wo and residual):
    // all token rows at once, as the forward did them after its loop
    out_backward(dx, dtok_att.data(), dw, dout, c.tok_out, w, cfg);

    // walk the blocks, and with them the FAM chain, backwards
    if (dfams && F > 0) add_rows(dF_out.data(), &dfams[plan.nblocks * FD], F, D);
    for (int tau = plan.nblocks - 1; tau >= 0; tau--) {
        const BlockCache& b = c.blocks[tau];
        const int t0 = tau * B, len = b.len;
        std::fill(dF_in.begin(), dF_in.begin() + FD, 0.0f);
        if (dfams && F > 0) add_rows(dF_in.data(), &dfams[tau * FD], F, D);
        std::fill(dqF.begin(), dqF.begin() + FD, 0.0f);
        std::fill(dkF.begin(), dkF.begin() + FD, 0.0f);
        std::fill(dvF.begin(), dvF.begin() + FD, 0.0f);

        // undo [Alg.2 steps 6-8] F_{tau+1} <- fam_update(F_tau, Q^F, K^F, V^F, K_tau, V_tau)
        if (b.update) {
            fam_update_backward(dF_in.data(), dqF.data(), dkF.data(), dvF.data(),
                                &dK[(size_t)t0 * D], &dV[(size_t)t0 * D], dw, dF_out.data(), b.upd,
                                upd_scratch, w, cfg);
        } else if (F > 0) {
            add_rows(dF_in.data(), dF_out.data(), F, D);  // no update: F_{tau+1} = F_tau
        }

        // undo [Alg.2 step 4] a_t <- SelfAttention(q_t, K^_t, V^_t) for the block rows
        std::fill(dk.begin(), dk.begin() + (size_t)C * D, 0.0f);
        std::fill(dv.begin(), dv.begin() + (size_t)C * D, 0.0f);
        attention_backward(&dQ[(size_t)t0 * D], dk.data(), dv.data(), &dtok_att[(size_t)t0 * D],
                           b.P.data(), c.tok.q.data() + (size_t)t0 * D, b.k.data(), b.v.data(),
                           len, C, D, H);

        // undo [Alg.2 step 3] K^ <- Concat(K_mem, K^F, K_tau): each key's gradient goes back
        // to where the key came from
        if (!mem_stop_grad) {  // the M_SG ablation: memory segments get no gradient
            for (int blk = std::max(0, tau - M); blk < tau; blk++) {
                const int col = plan.mem_col(blk - (tau - M));
                add_rows(&dK[(size_t)blk * B * D], &dk[(size_t)col * D], B, D);
                add_rows(&dV[(size_t)blk * B * D], &dv[(size_t)col * D], B, D);
            }
        }
        if (F > 0) {
            add_rows(dkF.data(), &dk[(size_t)plan.fam_col() * D], F, D);
            add_rows(dvF.data(), &dv[(size_t)plan.fam_col() * D], F, D);
        }
        add_rows(&dK[(size_t)t0 * D], &dk[(size_t)plan.blk_col() * D], len, D);
        add_rows(&dV[(size_t)t0 * D], &dv[(size_t)plan.blk_col() * D], len, D);

        // undo [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_tau))
        if (F > 0) qkv_backward(dF_in.data(), dw, dqF.data(), dkF.data(), dvF.data(), b.fam, w, cfg);

        std::swap(dF_out, dF_in);  // dF_out is now dL/dF_tau, the FAM leaving block tau-1
    }
    if (dfam0 && F > 0) add_rows(dfam0, dF_out.data(), F, D);

    // undo [Alg.2 step 1] Q, K, V <- QKV(PreLN(I)) for every token row at once (Alg.1 step 1)
    qkv_backward(dx, dw, dQ.data(), dK.data(), dV.data(), c.tok, w, cfg);
}
