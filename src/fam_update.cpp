// fam_update.cpp: see fam_update.h. Paper Algorithm 2 steps 6-8, Appendix B.1
// (zero residual of a fresh FAM), Appendix B.2.1 (positions).
#include "fam_update.h"

#include <cstring>

#include "attention.h"

static void grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);  // reused: no allocation in steady state
}

void fam_positions(float* pos, int64_t t0, int B, int F, float pos_offset) {
    for (int j = 0; j < F; j++) pos[j] = (float)(t0 + B - F + j) + pos_offset;
}

void fam_update(float* fam_out, float* fam_out_pos, FamUpdateCache& c, const FamIn& in,
                const float* qF, const float* kF, const float* vF, const float* K_blk,
                const float* V_blk, int64_t t0, float pos_offset, const LayerWeights& w,
                const FamConfig& cfg) {
    // fam_out [F,D], fam_out_pos [F]; qF, kF, vF [F,D]; K_blk, V_blk [B,D]
    const int D = cfg.D, H = cfg.H, B = cfg.B, F = cfg.fam_len(), C = F + B;
    c.F = F;
    c.B = B;
    c.fresh = in.fresh;
    grow(c.q, (size_t)F * D);
    grow(c.k, (size_t)C * D);
    grow(c.v, (size_t)C * D);
    grow(c.P, (size_t)H * F * C);
    grow(c.att, (size_t)F * D);
    std::memcpy(c.q.data(), qF, sizeof(float) * F * D);

    // [Alg.2 step 6] K~ <- Concat(K^F, K_tau); V~ <- Concat(V^F, V_tau)
    //   rows 0..F-1 the FAM keys, rows F..F+B-1 the whole block (not only its causal
    //   prefix: the FAM reads the block once it is complete)
    std::memcpy(&c.k[0], kF, sizeof(float) * F * D);
    std::memcpy(&c.k[(size_t)F * D], K_blk, sizeof(float) * B * D);
    std::memcpy(&c.v[0], vF, sizeof(float) * F * D);
    std::memcpy(&c.v[(size_t)F * D], V_blk, sizeof(float) * B * D);

    // [Alg.2 step 7] A^F <- SelfAttention(Q^F, K~, V~) + F_tau
    //   every FAM query sees every key of K~ (no mask: FAM rows attend to each other
    //   in both directions, App. B.1), and no memory block
    attention_forward(c.att.data(), c.P.data(), c.q.data(), c.k.data(), c.v.data(), nullptr, F,
                      C, D, H);
    //   the residual is F_tau, except zero when F_tau is the initial FAM of a fresh
    //   sequence (App. B.1); out_forward adds Wo^T and the residual, then step 8
    // [Alg.2 step 8] F_{tau+1} <- FF(PreLN(A^F)) + A^F
    out_forward(fam_out, c.out, in.fresh ? nullptr : in.fam, c.att.data(), F, w, cfg);

    // F_{tau+1} takes the positions of the last F tokens of the block (App. B.2.1, Table 7)
    fam_positions(fam_out_pos, t0, B, F, pos_offset);
}

FAM_VECTORIZE void fam_update_backward(float* dfam_in, float* dqF, float* dkF, float* dvF, float* dK_blk,
                         float* dV_blk, LayerWeights& dw, const float* dfam_out,
                         const FamUpdateCache& c, FamUpdateGradScratch& s,
                         const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, H = cfg.H, F = c.F, B = c.B, C = F + B;
    s.datt.assign((size_t)F * D, 0.0f);
    s.dk.assign((size_t)C * D, 0.0f);
    s.dv.assign((size_t)C * D, 0.0f);

    // undo [Alg.2 step 8] F_{tau+1} <- FF(PreLN(A^F)) + A^F
    // undo the residual of [Alg.2 step 7] A^F <- ... + F_tau (none for a fresh FAM)
    out_backward(c.fresh ? nullptr : dfam_in, s.datt.data(), dw, dfam_out, c.out, w, cfg);

    // undo the attention of [Alg.2 step 7] SelfAttention(Q^F, K~, V~)
    attention_backward(dqF, s.dk.data(), s.dv.data(), s.datt.data(), c.P.data(), c.q.data(),
                       c.k.data(), c.v.data(), F, C, D, H);

    // undo [Alg.2 step 6] K~ <- Concat(K^F, K_tau): rows 0..F-1 back to the FAM keys,
    // rows F.. back to the block's keys
    for (size_t i = 0; i < (size_t)F * D; i++) {
        dkF[i] += s.dk[i];
        dvF[i] += s.dv[i];
    }
    for (size_t i = 0; i < (size_t)B * D; i++) {
        dK_blk[i] += s.dk[(size_t)F * D + i];
        dV_blk[i] += s.dv[(size_t)F * D + i];
    }
}
