// Exercise 4: the FAM update, Algorithm 2 steps 6-8 (exercises/04_fam_update/README.md).
#include <stdexcept>

#include "attention.h"
#include "fam_update.h"

void fam_update(float* fam_out, float* fam_out_pos, FamUpdateCache& c, const FamIn& in, const float* qF,
                const float* kF, const float* vF, const float* K_blk, const float* V_blk, int64_t t0,
                float pos_offset, const LayerWeights& w, const FamConfig& cfg) {
    // Fill c (its fields are what fam_update_backward reads), write F_{tau+1} into
    // fam_out [F, D] and its positions into fam_out_pos [F]. Building blocks:
    // attention_forward (src/attention.h), out_forward (src/layer.h), fam_positions.
    (void)fam_out, (void)fam_out_pos, (void)c, (void)in, (void)qF, (void)kF, (void)vF, (void)K_blk, (void)V_blk,
        (void)t0, (void)pos_offset, (void)w, (void)cfg;
    throw std::logic_error("exercise 4: fam_update is not written yet");
}
