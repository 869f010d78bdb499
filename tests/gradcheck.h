// gradcheck.h: central finite differences against a hand-written backward.
//
// For a scalar function L(x) of n floats at `x` and its analytic gradient
// `grad`, perturbs each x_i by +-eps, evaluates L in double where the caller
// can, and reports the largest error relative to the largest gradient
// magnitude (floored at `floor` so an all-zero gradient is compared absolutely).
// The report names the tensor and the worst index, as llm.c's test does:
//   OK      dwq            max err 3.1e-05 (rel 1.2e-04) at [17]
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "tensor.h"

struct GradCheck {
    double max_abs = 0.0, max_rel = 0.0;
    size_t worst = 0;
    bool ok = true;
};

inline GradCheck grad_check(const std::string& name, float* x, size_t n, const float* grad,
                            const std::function<double()>& loss, double eps = 1e-2,
                            double tol = 1e-2, double floor = 1e-2) {
    GradCheck r;
    std::vector<double> num(n);
    double scale = floor;
    for (size_t i = 0; i < n; i++) {
        float old = x[i];
        x[i] = old + (float)eps;
        double lp = loss();
        x[i] = old - (float)eps;
        double lm = loss();
        x[i] = old;
        num[i] = (lp - lm) / (2.0 * eps);
        scale = std::fmax(scale, std::fabs(num[i]));
    }
    for (size_t i = 0; i < n; i++) {
        double e = std::fabs(num[i] - grad[i]);
        if (!(e <= r.max_abs)) {  // NaN counts as the worst
            r.max_abs = e;
            r.worst = i;
        }
    }
    r.max_rel = r.max_abs / scale;
    r.ok = r.max_rel <= tol;
    char line[256];
    std::snprintf(line, sizeof line, "%-7s %-28s max err %.2e (rel %.2e) at [%zu]: analytic %.6g numeric %.6g",
                  r.ok ? "OK" : "NOT OK", name.c_str(), r.max_abs, r.max_rel, r.worst,
                  n ? (double)grad[r.worst] : 0.0, n ? num[r.worst] : 0.0);
    if (!r.ok) std::printf("%s\n", line);
    INFO(line);
    CHECK(r.ok);
    return r;
}

// sum_i w_i y_i in double: a scalar "loss" whose gradient w.r.t. y is w.
inline double weighted_sum(const float* y, const float* w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * w[i];
    return s;
}

// A tensor of N(0, std^2) values from a seeded RNG.
inline Tensor random_tensor(const std::string& name, std::initializer_list<int> shape, Rng& rng,
                            float std = 1.0f) {
    Tensor t(name, shape);
    fill_normal(t, rng, std);
    return t;
}

// Compare two float buffers; the failure message names the tensor and the max error.
inline void check_close(const std::string& name, const float* got, const float* want, size_t n,
                        float tol) {
    float err = max_abs_diff(got, want, n);
    char line[200];
    std::snprintf(line, sizeof line, "%-7s %-28s max |diff| %.3e (tol %.1e)",
                  err <= tol ? "OK" : "NOT OK", name.c_str(), err, tol);
    if (!(err <= tol)) std::printf("%s\n", line);
    INFO(line);
    CHECK(err <= tol);
}
