// Reference solution of exercise 4 (exercises/04_fam_update/README.md).
#include <cstring>

#include "attention.h"
#include "fam_update.h"

void fam_update(float* fam_out, float* fam_out_pos, FamUpdateCache& c, const FamIn& in, const float* qF,
                const float* kF, const float* vF, const float* K_blk, const float* V_blk, int64_t t0,
                float pos_offset, const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, H = cfg.H, B = cfg.B, F = cfg.fam_len(), C = F + B;
    c.F = F;
    c.B = B;
    c.fresh = in.fresh;
    c.q.assign(qF, qF + (size_t)F * D);
    c.k.resize((size_t)C * D);
    c.v.resize((size_t)C * D);
    c.P.resize((size_t)H * F * C);
    c.att.resize((size_t)F * D);
    // [Alg.2 step 6] K~ = Concat(K^F, K_tau), V~ likewise: all FAM keys, the whole block
    std::memcpy(&c.k[0], kF, sizeof(float) * F * D);
    std::memcpy(&c.k[(size_t)F * D], K_blk, sizeof(float) * B * D);
    std::memcpy(&c.v[0], vF, sizeof(float) * F * D);
    std::memcpy(&c.v[(size_t)F * D], V_blk, sizeof(float) * B * D);
    // [Alg.2 step 7] A^F = SelfAttention(Q^F, K~, V~) Wo^T + F_tau (no mask; residual 0 when fresh)
    attention_forward(c.att.data(), c.P.data(), c.q.data(), c.k.data(), c.v.data(), nullptr, F, C, D, H);
    // [Alg.2 step 8] F_{tau+1} = FF(PreLN(A^F)) + A^F
    out_forward(fam_out, c.out, in.fresh ? nullptr : in.fam, c.att.data(), F, w, cfg);
    fam_positions(fam_out_pos, t0, B, F, pos_offset);
}
