// fam_penalty.cpp: see fam_penalty.h. DEVIATION: training options, not the paper's.
#include "fam_penalty.h"

#include <cmath>

// eps of the smoothed norm in fam_update_norm_penalty: keeps its gradient finite at d = 0
static const double kNormEps = 1e-6;

// F_tau (the FAM that entered block b, as step 2 read it) and F_{tau+1}
static const float* fam_before(const BlockCache& b) { return b.fam.x.data(); }
static const float* fam_after(const BlockCache& b) { return b.fam_out.data(); }

// ||F_{tau+1}[r] - F_tau[r]||^2 for row r of block b's update, in double
static double row_update_sq(const BlockCache& b, int r, int D) {
    double ss = 0.0;
    for (int i = 0; i < D; i++) {
        double d = (double)fam_after(b)[(size_t)r * D + i] - fam_before(b)[(size_t)r * D + i];
        ss += d * d;
    }
    return ss;
}

static bool penalized(const BlockCache& b) { return b.update && !b.fresh && b.penalize; }

float fam_update_penalty(const LayerCache& c, int F, int D) {
    double sum = 0.0;
    int n = 0;
    for (const BlockCache& b : c.blocks) {
        if (!penalized(b)) continue;
        for (int r = 0; r < F; r++) sum += row_update_sq(b, r, D);
        n++;
    }
    return n ? (float)(sum / ((double)n * F)) : 0.0f;
}

float fam_update_norm_penalty(const LayerCache& c, int F, int D) {
    double sum = 0.0;
    int n = 0;
    for (const BlockCache& b : c.blocks) {
        if (!penalized(b)) continue;
        for (int r = 0; r < F; r++) sum += std::sqrt(row_update_sq(b, r, D) + kNormEps * kNormEps) - kNormEps;
        n++;
    }
    return n ? (float)(sum / ((double)n * F)) : 0.0f;
}

void fam_penalty_backward(std::vector<float>& dfams, const LayerCache& c, int F, int D, float l2,
                          float l1) {
    const int nblocks = (int)c.blocks.size();
    const size_t FD = (size_t)F * D;
    dfams.assign((size_t)(nblocks + 1) * FD, 0.0f);
    int n = 0;  // non-fresh updates: the penalties' denominator
    for (const BlockCache& b : c.blocks) n += penalized(b);
    for (int tau = 0; tau < nblocks; tau++) {
        const BlockCache& b = c.blocks[tau];
        if (!penalized(b)) continue;
        float* d_after = &dfams[(size_t)(tau + 1) * FD];  // dL/dF_{tau+1}
        float* d_before = &dfams[(size_t)tau * FD];       // dL/dF_tau
        for (int r = 0; r < F; r++) {
            // d/dF_{tau+1} of l2 (1/F) ||d||^2 is 2 l2 d / (n F); of l1 (1/F) sqrt(||d||^2 + eps^2)
            // it is l1 d / (n F sqrt(||d||^2 + eps^2)); d/dF_tau is the negative
            double g = 0.0;
            if (l2 > 0.0f) g += 2.0 * l2 / ((double)n * F);
            if (l1 > 0.0f) g += l1 / ((double)n * F * std::sqrt(row_update_sq(b, r, D) + kNormEps * kNormEps));
            for (int i = 0; i < D; i++) {
                const size_t k = (size_t)r * D + i;
                const float delta = (float)(g * ((double)fam_after(b)[k] - fam_before(b)[k]));
                d_after[k] += delta;
                d_before[k] -= delta;
            }
        }
    }
}

// a per-layer measure averaged over the layers
static float mean_over_layers(const ModelCache& c, const FamConfig& cfg,
                              float (*per_layer)(const LayerCache&, int F, int D)) {
    const int F = cfg.fam_len();
    if (F == 0) return 0.0f;
    double s = 0.0;
    for (const LayerCache& l : c.layers) s += per_layer(l, F, cfg.D);
    return (float)(s / cfg.N);
}

float fam_penalty(const ModelCache& c, const FamConfig& cfg) {
    return mean_over_layers(c, cfg, fam_update_penalty);
}

float fam_norm_penalty(const ModelCache& c, const FamConfig& cfg) {
    return mean_over_layers(c, cfg, fam_update_norm_penalty);
}
