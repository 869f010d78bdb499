// Reference solution of exercise 6 (exercises/06_fam_update_backward/README.md).
#include "attention.h"
#include "fam_update.h"

void fam_update_backward(float* dfam_in, float* dqF, float* dkF, float* dvF, float* dK_blk, float* dV_blk,
                         LayerWeights& dw, const float* dfam_out, const FamUpdateCache& c, FamUpdateGradScratch& s,
                         const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, H = cfg.H, F = c.F, B = c.B, C = F + B;
    s.datt.assign((size_t)F * D, 0.0f);
    s.dk.assign((size_t)C * D, 0.0f);
    s.dv.assign((size_t)C * D, 0.0f);
    // undo [Alg.2 step 8] and the Wo and residual of step 7 (no residual path when fresh)
    out_backward(c.fresh ? nullptr : dfam_in, s.datt.data(), dw, dfam_out, c.out, w, cfg);
    // undo the attention of [Alg.2 step 7]
    attention_backward(dqF, s.dk.data(), s.dv.data(), s.datt.data(), c.P.data(), c.q.data(), c.k.data(),
                       c.v.data(), F, C, D, H);
    // undo [Alg.2 step 6]: rows 0..F-1 of K~ were the FAM keys, rows F.. the block's
    for (size_t i = 0; i < (size_t)F * D; i++) {
        dkF[i] += s.dk[i];
        dvF[i] += s.dv[i];
    }
    for (size_t i = 0; i < (size_t)B * D; i++) {
        dK_blk[i] += s.dk[(size_t)F * D + i];
        dV_blk[i] += s.dv[(size_t)F * D + i];
    }
}
