// attention.h: multi-head scaled dot-product attention over an explicit key
// set with a boolean mask (paper Section 2.1, SelfAttention in Alg. 1 / Alg. 2).
//
// R query rows attend to C key rows; mask [R,C] says which (1 = may attend).
// Heads are column slices of width Dh = D/H of the [rows, D] buffers:
//   S_h = q_h k_h^T / sqrt(Dh)          [R,C]
//   P_h = softmax over allowed keys      [R,C]   (masked entries exactly 0)
//   out_h = P_h v_h                      [R,Dh]  -> out [R,D] (heads concatenated)
// The output projection Wo and the residual are NOT part of this function;
// they belong to the layer (src/layer.h).
#pragma once

#include <cstdint>

// out [R,D]; P [H,R,C] (cached for backward); q [R,D]; k, v [C,D]; mask [R,C] or null.
// Matrix products via OpenBLAS. Throws if some row has no allowed key.
void attention_forward(float* out, float* P, const float* q, const float* k, const float* v,
                       const uint8_t* mask, int R, int C, int D, int H);

// Accumulates dq [R,D], dk [C,D], dv [C,D] given dout [R,D] and the cached P.
// Pass 1..3 of the forward undone in reverse order.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* P,
                        const float* q, const float* k, const float* v, int R, int C, int D,
                        int H);

// The readable reference: one query row at a time, explicit loops, no BLAS.
// Same contract as attention_forward (P may be null if not wanted).
void attention_forward_naive(float* out, float* P, const float* q, const float* k, const float* v,
                             const uint8_t* mask, int R, int C, int D, int H);
