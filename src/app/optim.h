// optim.h: AdamW with decoupled weight decay (Loshchilov & Hutter), gradient-norm
// clipping and a warmup + constant/cosine learning-rate schedule.
// DEVIATION: the paper fine-tunes with Adafactor (Section 3.1); we use AdamW
// (docs/spec.md, "Deviations from the paper").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

struct AdamWConfig {
    float lr = 2e-3f;           // peak learning rate
    float beta1 = 0.9f;
    float beta2 = 0.99f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;  // decoupled: p -= lr * wd * p, separate from the Adam step
    float clip = 1.0f;          // max global gradient L2 norm (0 = no clipping)
    int warmup = 100;           // linear warmup steps
    std::string schedule = "constant";  // constant | cosine (to 10% of lr at total_steps)
    int total_steps = 1000;
};

struct AdamW {
    AdamWConfig cfg;
    std::vector<float> m, v;  // first and second moments, one per parameter
    long step = 0;            // completed updates

    AdamW() = default;
    AdamW(const AdamWConfig& cfg, size_t n_params);

    // Learning rate for update number `step` (0-based).
    float lr_at(long step) const;
    // Clips grad in place to cfg.clip (returns the norm before clipping), then
    // updates params. Weight decay applies where decay_mask is 1 (or everywhere
    // if decay_mask is null).
    float update(float* params, float* grad, size_t n, const uint8_t* decay_mask = nullptr);
};

// Global L2 norm of a gradient buffer (accumulated in double).
double grad_norm(const float* grad, size_t n);
