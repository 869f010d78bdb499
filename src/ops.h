// ops.h: the element-wise and row-wise operations of the model, each as a
// forward / backward pair (paper Section 2.1, "One layer" in
// docs/spec.md).
//
// Argument order everywhere (as in llm.c): outputs, then what is cached for
// backward, then inputs and weights, then sizes. Every backward ACCUMULATES
// (+=) into its gradient buffers, so gradients from several uses of one tensor
// (a key seen by many blocks, a weight shared by tokens and FAM rows) add up.
// Gradient buffers passed as nullptr are skipped.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

// Element-wise loops marked FAM_VECTORIZE are compiled to SIMD instructions. GCC's -O2
// vectorizes only loops that need no remainder loop or alias check (its "very cheap" cost
// model), which excludes loops over n elements; the attribute asks for its usual model
// for that one function. Each element still goes through the same float operations in
// the same order (no sum is reordered), so the results are the same bits. Two more options:
// "no-trapping-math" lets GCC turn a float comparison into a select, as in fast_exp below
// (same values; only the floating-point exception flags, which nothing here reads, may
// differ), and "fp-contract=off" forbids fusing a*b+c into one FMA instruction, which
// rounds once instead of twice, so that a build for a CPU with FMA (-march=native) still
// computes every element the same way in a vector and alone. (GCC does not inline a
// function with other options into one without them: gelu_forward, the plain one, calls
// fast_tanh element by element.)
#if defined(__GNUC__) && !defined(__clang__)
#define FAM_VECTORIZE \
    __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math", "fp-contract=off")))
#else
#define FAM_VECTORIZE
#endif

// The hottest of those loops (GELU, softmax, the LayerNorm and RoPE rows) are compiled
// twice on x86-64: for AVX2 (8 floats per instruction) and for any x86-64 (SSE2, 4);
// the program picks the AVX2 copy when it starts on a CPU that has it (GCC's
// target_clones, which needs the GNU C library's ifuncs). Neither copy uses FMA (see
// fp-contract above), so both give the same bits: a CPU without AVX2 gets the same
// numbers, slower. Four training checkpoints were byte-identical built with and
// without the clones (docs/performance.md).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define FAM_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FAM_SIMD_CLONES
#endif

// ---- exp -------------------------------------------------------------------
// e^x for a float, in plain float arithmetic (no libm call), so that the loops of
// softmax and GELU that call it are vectorized:
//   x = n ln2 + r   with n = round(x / ln2), |r| <= ln2/2 (ln2 in two parts, so
//                   that n * ln2 loses nothing)
//   e^x = 2^n e^r   e^r by its Taylor series up to r^7 (the next term is < 1e-8 of e^r),
//                   2^n written straight into the float's exponent bits
// Within 1.1e-7 of e^x, relatively (libm's expf: 6e-8), for x in [-87.3, 88]. At the
// ends it saturates instead: 0 below about -87.68 (where libm still gives subnormal
// floats, down to -103.9), and e^88 = 1.65e38 from 88 up (e^x overflows to inf only
// above 88.72). Softmax calls it with x <= 0, and tanh saturates at both ends anyway.
// Every element goes through the same float operations, whether a loop takes it in a
// group of four (SSE2), of eight (AVX2) or alone, so a row's values do not depend on
// its length or on where it starts (streaming and batch agree); nor on the C library,
// whose expf may differ between versions. tests/test_ops.cpp holds it to e^x.
// The rounding step needs IEEE single-precision arithmetic, as written:
#if defined(__FAST_MATH__)
#error "fast_exp (src/ops.h) needs exact float rounding: do not build with -ffast-math or -Ofast"
#endif
FAM_VECTORIZE inline float fast_exp(float x) {
    x = x < -88.0f ? -88.0f : x;  // keeps n in [-127, 127], so that the exponent field
    x = x > 88.0f ? 88.0f : x;    // n + 127 below fits in [0, 254]
    // round(x / ln2): adding 1.5 * 2^23 leaves no bits for a fraction, and puts n in
    // the low bits of t's mantissa
    const float t = x * 1.44269504088896341f + 12582912.0f;
    const float n = t - 12582912.0f;
    float r = x - n * 0.693145751953125f;        // ln2's leading bits: n * this is exact
    r = r - n * 1.42860682030941723e-6f;         // the rest of ln2
    float p = 1.0f / 5040.0f;                    // e^r = 1 + r + r^2/2! + ... + r^7/7!, Horner
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits;  // the float 2^n: exponent field n + 127 (n = -127 gives 0, i.e. +0.0f)
    std::memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;  // 0x4B400000: the bits of 1.5 * 2^23 (n = 0)
    float two_n;
    std::memcpy(&two_n, &bits, sizeof two_n);
    return p * two_n;
}

// ---- embedding: out[t] = emb[tokens[t]] ------------------------------------
// out [T,D], tokens [T] (each in [0,V)), emb [V,D]. Throws on a bad token id.
void embedding_forward(float* out, const int* tokens, const float* emb, int T, int D, int V);
// demb [V,D] += scatter of dout [T,D]
void embedding_backward(float* demb, const float* dout, const int* tokens, int T, int D);

// ---- linear (no bias): out = x W^T ------------------------------------------
// out [T,O], x [T,I], w [O,I]
void linear_forward(float* out, const float* x, const float* w, int T, int I, int O);
// dx [T,I] += dout W; dw [O,I] += dout^T x
void linear_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                     int T, int I, int O);

// ---- LayerNorm: out = (x - mean) * rstd * g + b, rstd = 1/sqrt(var + 1e-5) --
// Biased variance, per row. out [T,D]; cache mean [T], rstd [T]; x [T,D]; g, b [D]
constexpr float kLayerNormEps = 1e-5f;
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* g,
                       const float* b, int T, int D);
void layernorm_backward(float* dx, float* dg, float* db, const float* dout, const float* x,
                        const float* mean, const float* rstd, const float* g, int T, int D);

// ---- GELU, tanh approximation ------------------------------------------------
// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); n elements
void gelu_forward(float* out, const float* x, int64_t n);
void gelu_backward(float* dx, const float* dout, const float* x, int64_t n);
// Fast-path sibling for inference, bit-identical to gelu_forward, vectorized: three
// passes (u, then tanh(u) in out, then gelu). out != x.
void gelu_forward_fast(float* out, const float* x, int64_t n);
// Fast-path siblings for training, bit-identical to the two above: the forward also
// keeps th [n] = tanh(u), and the backward uses it instead of recomputing (no exp).
void gelu_forward_keep_tanh(float* out, float* th, const float* x, int64_t n);
void gelu_backward_from_tanh(float* dx, const float* dout, const float* x, const float* th, int64_t n);

// ---- RoPE, rotate-half pairing, per head --------------------------------------
// x, out [T, H*Dh] (out may equal x); pos [T] float positions; theta_i = base^(-2i/Dh):
//   y_i        = x_i cos(p theta_i) - x_{i+Dh/2} sin(p theta_i)
//   y_{i+Dh/2} = x_i sin(p theta_i) + x_{i+Dh/2} cos(p theta_i)
void rope_forward(float* out, const float* x, const float* pos, int T, int H, int Dh, float base);
// dx += R(p)^T dout: the rotation by -p (rotations are orthogonal)
void rope_backward(float* dx, const float* dout, const float* pos, int T, int H, int Dh,
                   float base);
// Fast-path siblings for the layers, bit-identical to the two above: the cos and sin of
// every (row, i) kept in a table, so that Q and K share them, and so that a cache reused
// by the next block or training step (same positions) computes no cos/sin at all.
//   cos, sin [R, Dh/2]: cos/sin(sign * pos[r] * theta_i), sign +1 forward, -1 backward
//   pos [R]: the position each row was computed at (rows are recomputed when it changes)
struct RopeTable {
    int half = 0;
    float base = 0.0f, sign = 0.0f;
    int valid = 0;  // rows 0..valid-1 hold the angles of their pos (for this half, base, sign)
    std::vector<float> pos, cos, sin;
    void reserve(int R, int Dh);  // size for R rows now (streaming then never allocates)
};
// Makes rows 0..R-1 of t hold the angles sign * pos[r] * theta_i (theta_i = base^(-2i/Dh)),
// exactly as rope_forward (sign +1) / rope_backward (sign -1) compute them.
void rope_table_update(RopeTable& t, const float* pos, int R, int Dh, float base, float sign);
// out [R, H*Dh] = (accumulate ? out + : ) the rotation of x [R, H*Dh] by t's angles (out may equal x).
void rope_apply(float* out, const float* x, const RopeTable& t, int R, int H, int Dh, bool accumulate);

// ---- row softmax with a boolean mask -----------------------------------------
// P [R,C] = softmax over the allowed columns of S [R,C]; mask [R,C] (1 = allowed,
// may be nullptr for "all allowed"). Masked entries are exactly 0. A row with no
// allowed column throws std::invalid_argument (never produces NaN).
void softmax_forward(float* P, const float* S, const uint8_t* mask, int R, int C);
// dS [R,C] += P * (dP - rowsum(P * dP))
void softmax_backward(float* dS, const float* dP, const float* P, int R, int C);

// ---- cross-entropy with per-position weights and ignored positions ------------
// logits [T,V]; targets [T] (-1 = no target); weights [T] or nullptr (all 1).
// Writes probs [T,V] (softmax of logits) and losses [T] (CE_t, 0 where ignored).
// Returns the weighted mean sum_t w_t CE_t / sum_t w_t over targeted positions;
// *weight_sum (if given) receives sum_t w_t. Throws if no position has a target.
float cross_entropy_forward(float* losses, float* probs, const float* logits, const int* targets,
                            const float* weights, int T, int V, float* weight_sum = nullptr);
// dlogits [T,V] += dloss * w_t / sum(w) * (probs_t - onehot(target_t)) at targeted t
void cross_entropy_backward(float* dlogits, const float* probs, const int* targets,
                            const float* weights, float dloss, int T, int V);
