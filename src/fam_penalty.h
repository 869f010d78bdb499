// fam_penalty.h: two penalties on the size of the FAM updates.
//
// DEVIATION: training options the paper does not have (--fam-l2, --fam-l1; off
// by default; docs/spec.md, "Training options"). The FAM is a residual stream with
// no normalization of its own, so whatever each filler block adds piles up over a
// long stream; penalizing the size of each update F_{tau+1} - F_tau teaches the
// layer to write only what matters (docs/results/passkey.md says what they did).
// They live apart from the layer: the layer's backward only sees their gradient,
// as extra gradient arriving at the FAMs of the chain (fam_layer_backward's dfams).
#pragma once

#include <vector>

#include "config.h"
#include "fam_layer.h"
#include "model.h"

// Over the layer's non-fresh updates (block tau turns F_tau into F_{tau+1}):
//   l2:  mean over updates of (1/F) sum_rows ||F_{tau+1} - F_tau||^2
//   l1:  mean over updates of (1/F) sum_rows ||F_{tau+1} - F_tau||, the norm smoothed at
//        zero as sqrt(||d||^2 + eps^2) - eps, eps = 1e-6. Its pull towards zero does not
//        fade as an update shrinks (the squared one's does), so small steady updates of
//        filler blocks are driven to zero and the FAM changes only where there is
//        something to write.
// Both are 0 when the layer made no non-fresh update.
float fam_update_penalty(const LayerCache& c, int F, int D);       // l2
float fam_update_norm_penalty(const LayerCache& c, int F, int D);  // l1

// The gradient of l2 * fam_update_penalty + l1 * fam_update_norm_penalty with
// respect to F_0 .. F_nblocks, written into dfams [nblocks+1, F, D] (resized, zeroed
// first): what fam_layer_backward takes as its dfams.
void fam_penalty_backward(std::vector<float>& dfams, const LayerCache& c, int F, int D,
                          float l2, float l1);

// The penalties averaged over the layers of a model; 0 without a FAM.
float fam_penalty(const ModelCache& c, const FamConfig& cfg);       // l2
float fam_norm_penalty(const ModelCache& c, const FamConfig& cfg);  // l1
