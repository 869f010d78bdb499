// attention.cpp: see attention.h.
#include "attention.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "blas.h"
#include "ops.h"

static void check_heads(int D, int H) {
    if (H <= 0 || D % H != 0)
        throw std::invalid_argument("attention: D = " + std::to_string(D) +
                                    " is not divisible by H = " + std::to_string(H));
}

void attention_forward(float* out, float* P, const float* q, const float* k, const float* v,
                       const uint8_t* mask, int R, int C, int D, int H) {
    // out [R,D], P [H,R,C], q [R,D], k [C,D], v [C,D], mask [R,C]
    check_heads(D, H);
    int Dh = D / H;
    float scale = 1.0f / std::sqrt((float)Dh);
    for (int h = 0; h < H; h++) {
        float* Ph = P + (size_t)h * R * C;
        // pass 1: scores S_h[R,C] = q_h k_h^T / sqrt(Dh), written into P_h
        gemm_blas(false, true, R, C, Dh, scale, q + h * Dh, D, k + h * Dh, D, 0.0f, Ph, C);
        // pass 2: masked softmax over each row, in place
        softmax_forward(Ph, Ph, mask, R, C);
        // pass 3: out_h[R,Dh] = P_h v_h
        gemm_blas(false, false, R, Dh, C, 1.0f, Ph, C, v + h * Dh, D, 0.0f, out + h * Dh, D);
    }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* P,
                        const float* q, const float* k, const float* v, int R, int C, int D,
                        int H) {
    check_heads(D, H);
    int Dh = D / H;
    float scale = 1.0f / std::sqrt((float)Dh);
    // scratch: dL/dP_h and dL/dS_h of one head  [R, C]. Kept per thread, so that the
    // blocks of a backward reuse one buffer instead of allocating (and page-faulting)
    // R*C floats per call; it only grows.
    thread_local std::vector<float> dP, dS;
    if (dP.size() < (size_t)R * C) {
        dP.resize((size_t)R * C);
        dS.resize((size_t)R * C);
    }
    for (int h = 0; h < H; h++) {
        const float* Ph = P + (size_t)h * R * C;
        // undo pass 3 (out_h = P_h v_h): dP_h = dout_h v_h^T, dv_h += P_h^T dout_h
        gemm_blas(false, true, R, C, Dh, 1.0f, dout + h * Dh, D, v + h * Dh, D, 0.0f, dP.data(), C);
        gemm_blas(true, false, C, Dh, R, 1.0f, Ph, C, dout + h * Dh, D, 1.0f, dv + h * Dh, D);
        // undo pass 2 (softmax): dS = P * (dP - rowsum(P dP)); masked entries have P = 0
        for (size_t i = 0; i < (size_t)R * C; i++) dS[i] = 0.0f;
        softmax_backward(dS.data(), dP.data(), Ph, R, C);
        // undo pass 1 (S = q k^T scale): dq_h += scale dS k_h, dk_h += scale dS^T q_h
        gemm_blas(false, false, R, Dh, C, scale, dS.data(), C, k + h * Dh, D, 1.0f, dq + h * Dh, D);
        gemm_blas(true, false, C, Dh, R, scale, dS.data(), C, q + h * Dh, D, 1.0f, dk + h * Dh, D);
    }
}

void attention_forward_naive(float* out, float* P, const float* q, const float* k, const float* v,
                             const uint8_t* mask, int R, int C, int D, int H) {
    check_heads(D, H);
    int Dh = D / H;
    double scale = 1.0 / std::sqrt((double)Dh);
    std::vector<double> p(C);
    for (int h = 0; h < H; h++) {
        for (int i = 0; i < R; i++) {
            // which keys may row i see, and how much does it like each of them?
            double mx = -INFINITY;
            for (int j = 0; j < C; j++) {
                if (mask && !mask[(size_t)i * C + j]) continue;
                double s = 0.0;
                for (int d = 0; d < Dh; d++)
                    s += (double)q[(size_t)i * D + h * Dh + d] * k[(size_t)j * D + h * Dh + d];
                p[j] = s * scale;
                if (p[j] > mx) mx = p[j];
            }
            if (mx == -INFINITY)
                throw std::invalid_argument("attention: query row " + std::to_string(i) +
                                            " has no allowed key");
            double sum = 0.0;
            for (int j = 0; j < C; j++) {
                bool allowed = !mask || mask[(size_t)i * C + j];
                p[j] = allowed ? std::exp(p[j] - mx) : 0.0;
                sum += p[j];
            }
            for (int d = 0; d < Dh; d++) {
                double acc = 0.0;
                for (int j = 0; j < C; j++) acc += p[j] / sum * v[(size_t)j * D + h * Dh + d];
                out[(size_t)i * D + h * Dh + d] = (float)acc;
            }
            if (P)
                for (int j = 0; j < C; j++) P[((size_t)h * R + i) * C + j] = (float)(p[j] / sum);
        }
    }
}
