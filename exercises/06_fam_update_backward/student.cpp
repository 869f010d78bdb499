// Exercise 6: one undo step of the Algorithm 2 backward (exercises/06_fam_update_backward/README.md).
#include <stdexcept>

#include "attention.h"
#include "fam_update.h"

void fam_update_backward(float* dfam_in, float* dqF, float* dkF, float* dvF, float* dK_blk, float* dV_blk,
                         LayerWeights& dw, const float* dfam_out, const FamUpdateCache& c, FamUpdateGradScratch& s,
                         const LayerWeights& w, const FamConfig& cfg) {
    // Given dfam_out = dL/dF_{tau+1} and what fam_update left in c, ACCUMULATE (+=) the
    // gradients of F_tau (residual path), Q^F, K^F, V^F, K_tau, V_tau and the weights.
    // Building blocks: out_backward (src/layer.h), attention_backward (src/attention.h).
    (void)dfam_in, (void)dqF, (void)dkF, (void)dvF, (void)dK_blk, (void)dV_blk, (void)dw, (void)dfam_out, (void)c,
        (void)s, (void)w, (void)cfg;
    throw std::logic_error("exercise 6: fam_update_backward is not written yet");
}
