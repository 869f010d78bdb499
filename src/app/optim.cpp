// optim.cpp: see optim.h.
#include "app/optim.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>

AdamW::AdamW(const AdamWConfig& c, size_t n) : cfg(c), m(n, 0.0f), v(n, 0.0f) {
    if (c.schedule != "constant" && c.schedule != "cosine")
        throw std::invalid_argument("schedule must be constant or cosine, got '" + c.schedule + "'");
    if (!(c.lr > 0.0f)) throw std::invalid_argument("learning rate must be > 0");
}

float AdamW::lr_at(long s) const {
    if (cfg.warmup > 0 && s < cfg.warmup) return cfg.lr * (float)(s + 1) / (float)cfg.warmup;
    if (cfg.schedule == "cosine") {
        double span = std::max(1, cfg.total_steps - cfg.warmup);
        double progress = std::min(1.0, (s - cfg.warmup) / span);
        return (float)(cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * progress))));
    }
    return cfg.lr;
}

double grad_norm(const float* g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return std::sqrt(s);
}

// DEVIATION: AdamW, where the paper uses Adafactor (docs/spec.md, "Deviations from the paper").
float AdamW::update(float* p, float* g, size_t n, const uint8_t* decay_mask) {
    if (n != m.size()) throw std::logic_error("AdamW: parameter count changed");
    double norm = grad_norm(g, n);
    if (cfg.clip > 0.0f && norm > cfg.clip) {
        float s = (float)(cfg.clip / norm);
        for (size_t i = 0; i < n; i++) g[i] *= s;
    }
    float lr = lr_at(step);
    step++;
    // bias corrections for the moment estimates
    double bc1 = 1.0 - std::pow((double)cfg.beta1, (double)step);
    double bc2 = 1.0 - std::pow((double)cfg.beta2, (double)step);
    for (size_t i = 0; i < n; i++) {
        m[i] = cfg.beta1 * m[i] + (1.0f - cfg.beta1) * g[i];
        v[i] = cfg.beta2 * v[i] + (1.0f - cfg.beta2) * g[i] * g[i];
        float mhat = (float)(m[i] / bc1), vhat = (float)(v[i] / bc2);
        float decay = (!decay_mask || decay_mask[i]) ? cfg.weight_decay * p[i] : 0.0f;
        p[i] -= lr * (mhat / (std::sqrt(vhat) + cfg.eps) + decay);
    }
    return (float)norm;
}
