// blas.h: every matrix product of the project goes through here (OpenBLAS
// cblas_sgemm), with a naive triple-loop twin that the tests hold it to.
//
// Conventions (row-major, as PyTorch): a linear weight W is [out, in] and a
// linear layer is y = x W^T. The three products attention and the layers need:
//   X W^T   out[M,N] = a[M,K] * b[N,K]^T      (Trans::BT)   linear layers, Q K^T
//   P V     out[M,N] = a[M,K] * b[K,N]        (Trans::B)    attention output
// Strided operands (one head's columns of a [rows, D] buffer) pass their
// leading dimension; 0 means "packed" (the row length implied by the shape).
#pragma once

enum class Trans { B, BT };  // is b used as stored ([K,N]) or transposed ([N,K])?

// out[M,N] = a[M,K] op(b) (+ out[M,N] when accumulate). lda/ldb/ldc: row strides.
void matmul_forward(float* out, const float* a, const float* b, int M, int K, int N, Trans tb,
                    bool accumulate = false, int lda = 0, int ldb = 0, int ldc = 0);

// Backward of out = a op(b): accumulates da += dout op(b)^T and db += (dout^T a or a^T dout).
// Either of da / db may be null when that gradient is not needed.
void matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b,
                     int M, int K, int N, Trans tb, int lda = 0, int ldb = 0, int ldc = 0);

// The readable reference: general C[M,N] = alpha op(A) op(B) + beta C, triple loop.
void gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                int lda, const float* B, int ldb, float beta, float* C, int ldc);
// The same contract over cblas_sgemm (row-major).
void gemm_blas(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
               int lda, const float* B, int ldb, float beta, float* C, int ldc);

// "OpenBLAS 0.3.21 ..." as reported by the library at run time.
const char* blas_name();
// The kernel OpenBLAS picked for this CPU at run time, e.g. "Zen", "Haswell"
// ("unknown" if it does not say). Seeded runs are reproducible bit for bit only
// on the same kernel.
const char* blas_corename();
// Limit BLAS threads (1 = deterministic single-thread runs; 0 = library default).
void blas_set_threads(int n);
