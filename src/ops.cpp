// ops.cpp: see ops.h. Formulas: docs/spec.md, "One layer".
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "blas.h"

// ---- embedding -----------------------------------------------------------------

void embedding_forward(float* out, const int* tokens, const float* emb, int T, int D, int V) {
    // out [T,D], tokens [T], emb [V,D]
    for (int t = 0; t < T; t++) {
        int id = tokens[t];
        if (id < 0 || id >= V)
            throw std::invalid_argument("token id " + std::to_string(id) + " at position " +
                                        std::to_string(t) + " is outside the vocabulary [0, " +
                                        std::to_string(V) + ")");
        const float* e = emb + (size_t)id * D;
        float* o = out + (size_t)t * D;
        for (int i = 0; i < D; i++) o[i] = e[i];
    }
}

void embedding_backward(float* demb, const float* dout, const int* tokens, int T, int D) {
    for (int t = 0; t < T; t++) {
        float* de = demb + (size_t)tokens[t] * D;
        const float* d = dout + (size_t)t * D;
        for (int i = 0; i < D; i++) de[i] += d[i];
    }
}

// ---- linear --------------------------------------------------------------------

void linear_forward(float* out, const float* x, const float* w, int T, int I, int O) {
    // out[T,O] = x[T,I] w[O,I]^T
    matmul_forward(out, x, w, T, I, O, Trans::BT);
}

void linear_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                     int T, int I, int O) {
    // dx[T,I] += dout[T,O] w[O,I];  dw[O,I] += dout^T[O,T] x[T,I]
    matmul_backward(dx, dw, dout, x, w, T, I, O, Trans::BT);
}

// ---- LayerNorm ---------------------------------------------------------------------

FAM_VECTORIZE void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* g,
                       const float* b, int T, int D) {
    // out [T,D], mean [T], rstd [T], x [T,D], g [D], b [D]
    for (int t = 0; t < T; t++) {
        const float* xt = x + (size_t)t * D;
        double m = 0.0;
        for (int i = 0; i < D; i++) m += xt[i];
        m /= D;
        double v = 0.0;  // biased variance
        for (int i = 0; i < D; i++) v += (xt[i] - m) * (xt[i] - m);
        v /= D;
        float s = (float)(1.0 / std::sqrt(v + kLayerNormEps));
        float* ot = out + (size_t)t * D;
        for (int i = 0; i < D; i++) ot[i] = (float)(xt[i] - m) * s * g[i] + b[i];
        mean[t] = (float)m;
        rstd[t] = s;
    }
}

// The element loop of one row of layernorm_backward: the null tests taken out of the
// loop so that each loop is plain element-wise arithmetic (and vectorized).
FAM_SIMD_CLONES FAM_VECTORIZE static void layernorm_backward_row(float* dx, float* dg, float* db,
                                                                 const float* dt, const float* xt,
                                                                 float mean, float rstd, const float* g,
                                                                 double mean_dxhat,
                                                                 double mean_dxhat_xhat, int D) {
    if (dg)
        for (int i = 0; i < D; i++) dg[i] += dt[i] * ((xt[i] - mean) * rstd);
    if (db)
        for (int i = 0; i < D; i++) db[i] += dt[i];
    if (dx)
        for (int i = 0; i < D; i++) {
            float xhat = (xt[i] - mean) * rstd;
            dx[i] += rstd * (float)(dt[i] * g[i] - mean_dxhat - xhat * mean_dxhat_xhat);
        }
}

void layernorm_backward(float* dx, float* dg, float* db, const float* dout, const float* x,
                        const float* mean, const float* rstd, const float* g, int T, int D) {
    // With xhat = (x - mean) rstd and dxhat = dout * g:
    //   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
    for (int t = 0; t < T; t++) {
        const float* xt = x + (size_t)t * D;
        const float* dt = dout + (size_t)t * D;
        double mean_dxhat = 0.0, mean_dxhat_xhat = 0.0;
        for (int i = 0; i < D; i++) {
            float xhat = (xt[i] - mean[t]) * rstd[t];
            float dxhat = dt[i] * g[i];
            mean_dxhat += dxhat;
            mean_dxhat_xhat += dxhat * xhat;
        }
        mean_dxhat /= D;
        mean_dxhat_xhat /= D;
        layernorm_backward_row(dx ? dx + (size_t)t * D : nullptr, dg, db, dt, xt, mean[t], rstd[t], g,
                               mean_dxhat, mean_dxhat_xhat, D);
    }
}

// ---- GELU (tanh approximation) -------------------------------------------------------

static const float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)

// tanh(u) = 1 - 2 / (e^(2u) + 1): one fast_exp (src/ops.h) instead of libm's slower
// tanhf, and the fast paths' loops that call it are vectorized (GELU is a hot spot of
// training); gelu_forward, the plain one, calls it one element at a time.
// Saturates: fast_exp's largest value (e^88) gives 1, its 0 gives -1; absolute error ~2e-7.
FAM_VECTORIZE static inline float fast_tanh(float u) { return 1.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f); }

void gelu_forward(float* out, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float u = kGeluScale * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
        out[i] = 0.5f * x[i] * (1.0f + fast_tanh(u));
    }
}

FAM_SIMD_CLONES FAM_VECTORIZE void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) {
    // d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + tanh u) + 0.5 x sech^2(u) du/dx
    for (int64_t i = 0; i < n; i++) {
        float xi = x[i];
        float u = kGeluScale * (xi + 0.044715f * xi * xi * xi);
        float th = fast_tanh(u);
        float du = kGeluScale * (1.0f + 3.0f * 0.044715f * xi * xi);
        float grad = 0.5f * (1.0f + th) + 0.5f * xi * (1.0f - th * th) * du;
        dx[i] += grad * dout[i];
    }
}

FAM_SIMD_CLONES FAM_VECTORIZE void gelu_forward_fast(float* out, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = kGeluScale * (x[i] + 0.044715f * x[i] * x[i] * x[i]);  // u
    for (int64_t i = 0; i < n; i++) out[i] = fast_tanh(out[i]);
    for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + out[i]);
}

// The training path's siblings: the same arithmetic, with tanh(u) kept from the forward
// so that the backward needs no exp (bit-identical to gelu_forward / gelu_backward;
// tests/test_fast_paths.cpp holds them to it).
// (in three passes, each a simple vectorized loop: u, then tanh(u), then gelu)
FAM_SIMD_CLONES FAM_VECTORIZE void gelu_forward_keep_tanh(float* out, float* th, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) th[i] = kGeluScale * (x[i] + 0.044715f * x[i] * x[i] * x[i]);  // u
    for (int64_t i = 0; i < n; i++) th[i] = fast_tanh(th[i]);
    for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + th[i]);
}

FAM_SIMD_CLONES FAM_VECTORIZE void gelu_backward_from_tanh(float* dx, const float* dout, const float* x, const float* th, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float xi = x[i];
        float du = kGeluScale * (1.0f + 3.0f * 0.044715f * xi * xi);
        float grad = 0.5f * (1.0f + th[i]) + 0.5f * xi * (1.0f - th[i] * th[i]) * du;
        dx[i] += grad * dout[i];
    }
}

// ---- RoPE (rotate-half pairing) ---------------------------------------------------------

// Rotate each head's (x_i, x_{i+Dh/2}) pair by angle sign * p * theta_i.
// `accumulate` adds into out instead of overwriting (used by backward).
static void rope_rotate(float* out, const float* x, const float* pos, int T, int H, int Dh,
                        float base, float sign, bool accumulate) {
    if (Dh % 2 != 0) throw std::invalid_argument("RoPE needs an even head width, got " +
                                                 std::to_string(Dh));
    int half = Dh / 2;
    // theta_i = base^(-2i/Dh), once per call rather than once per row: a table on the
    // stack (so that one streamed token allocates nothing), for heads up to 2 * kMaxHalf wide
    constexpr int kMaxHalf = 256;
    double thetas[kMaxHalf];
    for (int i = 0; i < std::min(half, kMaxHalf); i++) thetas[i] = std::pow((double)base, -2.0 * i / Dh);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            // angles in double so that large positions (RPO offsets ~ 6e4) stay accurate
            const double theta = i < kMaxHalf ? thetas[i] : std::pow((double)base, -2.0 * i / Dh);
            double ang = sign * (double)pos[t] * theta;
            float c = (float)std::cos(ang), s = (float)std::sin(ang);
            for (int h = 0; h < H; h++) {
                size_t o = (size_t)t * H * Dh + (size_t)h * Dh;
                float x0 = x[o + i], x1 = x[o + i + half];
                float y0 = x0 * c - x1 * s;
                float y1 = x0 * s + x1 * c;
                if (accumulate) {
                    out[o + i] += y0;
                    out[o + i + half] += y1;
                } else {
                    out[o + i] = y0;
                    out[o + i + half] = y1;
                }
            }
        }
    }
}

void rope_forward(float* out, const float* x, const float* pos, int T, int H, int Dh, float base) {
    rope_rotate(out, x, pos, T, H, Dh, base, +1.0f, false);
}

void rope_backward(float* dx, const float* dout, const float* pos, int T, int H, int Dh,
                   float base) {
    rope_rotate(dx, dout, pos, T, H, Dh, base, -1.0f, true);
}

// The table of the layers' fast path: the same thetas, the same double angles and the same
// float rounding of cos and sin as rope_rotate, computed once per row and position.
void RopeTable::reserve(int R, int Dh) {
    pos.reserve(R);
    cos.reserve((size_t)R * (Dh / 2));
    sin.reserve((size_t)R * (Dh / 2));
}

void rope_table_update(RopeTable& t, const float* pos, int R, int Dh, float base, float sign) {
    if (Dh % 2 != 0) throw std::invalid_argument("RoPE needs an even head width, got " +
                                                 std::to_string(Dh));
    const int half = Dh / 2;
    if (t.half != half || t.base != base || t.sign != sign) {  // another table: no row is valid
        t.half = half;
        t.base = base;
        t.sign = sign;
        t.valid = 0;
    }
    if (t.pos.size() < (size_t)R) t.pos.resize(R);
    if (t.cos.size() < (size_t)R * half) {
        t.cos.resize((size_t)R * half);
        t.sin.resize((size_t)R * half);
    }
    constexpr int kMaxHalf = 256;  // as in rope_rotate
    double thetas[kMaxHalf];
    bool have_thetas = false;
    for (int r = 0; r < R; r++) {
        // the same position (bit for bit) as last time: the row is already right
        if (r < t.valid && std::memcmp(&t.pos[r], &pos[r], sizeof(float)) == 0) continue;
        if (!have_thetas) {
            for (int i = 0; i < std::min(half, kMaxHalf); i++) thetas[i] = std::pow((double)base, -2.0 * i / Dh);
            have_thetas = true;
        }
        t.pos[r] = pos[r];
        for (int i = 0; i < half; i++) {
            const double theta = i < kMaxHalf ? thetas[i] : std::pow((double)base, -2.0 * i / Dh);
            double ang = sign * (double)pos[r] * theta;
            t.cos[(size_t)r * half + i] = (float)std::cos(ang);
            t.sin[(size_t)r * half + i] = (float)std::sin(ang);
        }
    }
    t.valid = std::max(t.valid, R);
}

FAM_SIMD_CLONES FAM_VECTORIZE void rope_apply(float* out, const float* x, const RopeTable& t, int R, int H, int Dh, bool accumulate) {
    // out, x [R, H*Dh]; the arithmetic of rope_rotate with c, s read from the table
    const int half = Dh / 2;
    for (int r = 0; r < R; r++) {
        const float* cs = &t.cos[(size_t)r * half];
        const float* sn = &t.sin[(size_t)r * half];
        for (int h = 0; h < H; h++) {
            const size_t o = (size_t)r * H * Dh + (size_t)h * Dh;
            if (accumulate)  // (two loops rather than a test per element: both are vectorized)
                for (int i = 0; i < half; i++) {
                    float x0 = x[o + i], x1 = x[o + i + half];
                    out[o + i] += x0 * cs[i] - x1 * sn[i];
                    out[o + i + half] += x0 * sn[i] + x1 * cs[i];
                }
            else if (out == x)  // in place (qkv_forward): through one pointer, which also vectorizes
                for (int i = 0; i < half; i++) {
                    float* p = out + o;
                    float x0 = p[i], x1 = p[i + half];
                    p[i] = x0 * cs[i] - x1 * sn[i];
                    p[i + half] = x0 * sn[i] + x1 * cs[i];
                }
            else
                for (int i = 0; i < half; i++) {
                    float x0 = x[o + i], x1 = x[o + i + half];
                    out[o + i] = x0 * cs[i] - x1 * sn[i];
                    out[o + i + half] = x0 * sn[i] + x1 * cs[i];
                }
        }
    }
}

// ---- masked row softmax ---------------------------------------------------------------

FAM_SIMD_CLONES FAM_VECTORIZE void softmax_forward(float* P, const float* S, const uint8_t* mask, int R, int C) {
    // P [R,C], S [R,C], mask [R,C] or null
    for (int r = 0; r < R; r++) {
        const float* s = S + (size_t)r * C;
        const uint8_t* m = mask ? mask + (size_t)r * C : nullptr;
        float* p = P + (size_t)r * C;
        float mx = -INFINITY;
        for (int c = 0; c < C; c++)
            if ((!m || m[c]) && s[c] > mx) mx = s[c];
        if (mx == -INFINITY)
            throw std::invalid_argument("softmax: row " + std::to_string(r) +
                                        " has no allowed key (mask row is all 0)");
        double sum = 0.0;
        if (m)
            for (int c = 0; c < C; c++) {
                const float e = fast_exp(s[c] - mx);  // computed for every column: a
                p[c] = m[c] ? e : 0.0f;               // select, no branch, so it vectorizes
            }
        else
            for (int c = 0; c < C; c++) p[c] = fast_exp(s[c] - mx);
        for (int c = 0; c < C; c++) sum += p[c];
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < C; c++) p[c] *= inv;
    }
}

FAM_SIMD_CLONES FAM_VECTORIZE void softmax_backward(float* dS, const float* dP, const float* P, int R, int C) {
    for (int r = 0; r < R; r++) {
        const float* p = P + (size_t)r * C;
        const float* dp = dP + (size_t)r * C;
        double dot = 0.0;
        for (int c = 0; c < C; c++) dot += (double)p[c] * dp[c];
        float* ds = dS + (size_t)r * C;
        for (int c = 0; c < C; c++) ds[c] += p[c] * (dp[c] - (float)dot);
    }
}

// ---- cross-entropy ----------------------------------------------------------------------

float cross_entropy_forward(float* losses, float* probs, const float* logits, const int* targets,
                            const float* weights, int T, int V, float* weight_sum) {
    double total = 0.0, wsum = 0.0;
    for (int t = 0; t < T; t++) {
        softmax_forward(probs + (size_t)t * V, logits + (size_t)t * V, nullptr, 1, V);
        losses[t] = 0.0f;
        int y = targets[t];
        if (y < 0) continue;  // ignored position
        if (y >= V)
            throw std::invalid_argument("target " + std::to_string(y) + " at position " +
                                        std::to_string(t) + " is outside the vocabulary [0, " +
                                        std::to_string(V) + ")");
        float w = weights ? weights[t] : 1.0f;
        // log-softmax computed from the logits directly, so tiny probabilities stay finite
        const float* z = logits + (size_t)t * V;
        float mx = z[0];
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        double se = 0.0;
        for (int v = 0; v < V; v++) se += std::exp((double)z[v] - mx);
        losses[t] = (float)(std::log(se) + mx - z[y]);
        total += (double)w * losses[t];
        wsum += w;
    }
    if (weight_sum) *weight_sum = (float)wsum;
    if (wsum <= 0.0)
        throw std::invalid_argument("cross-entropy: no position has a target with positive weight");
    return (float)(total / wsum);
}

void cross_entropy_backward(float* dlogits, const float* probs, const int* targets,
                            const float* weights, float dloss, int T, int V) {
    double wsum = 0.0;
    for (int t = 0; t < T; t++)
        if (targets[t] >= 0) wsum += weights ? weights[t] : 1.0f;
    if (wsum <= 0.0) return;
    for (int t = 0; t < T; t++) {
        int y = targets[t];
        if (y < 0) continue;
        float scale = (float)(dloss * (weights ? weights[t] : 1.0f) / wsum);
        const float* p = probs + (size_t)t * V;
        float* d = dlogits + (size_t)t * V;
        for (int v = 0; v < V; v++) d[v] += scale * (p[v] - (v == y ? 1.0f : 0.0f));
    }
}
