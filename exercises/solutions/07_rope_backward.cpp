// Reference solution of exercise 7 (exercises/07_rope_backward/README.md).
#include <cmath>

#include "ops.h"

void rope_backward(float* dx, const float* dout, const float* pos, int T, int H, int Dh, float base) {
    // The forward rotates each pair (x_i, x_{i+Dh/2}) by the angle p theta_i; a rotation's
    // transpose is the rotation by -p theta_i, and a backward accumulates into dx.
    const int half = Dh / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            const double theta = std::pow((double)base, -2.0 * i / Dh);
            const double ang = -(double)pos[t] * theta;
            const float c = (float)std::cos(ang), s = (float)std::sin(ang);
            for (int h = 0; h < H; h++) {
                const size_t o = (size_t)t * H * Dh + (size_t)h * Dh;
                const float g0 = dout[o + i], g1 = dout[o + i + half];
                dx[o + i] += g0 * c - g1 * s;
                dx[o + i + half] += g0 * s + g1 * c;
            }
        }
}
