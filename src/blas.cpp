// blas.cpp: see blas.h.
#include "blas.h"

#include <cblas.h>

extern "C" {
// OpenBLAS extensions (declared in its cblas.h, repeated here so the file also
// compiles against another CBLAS that provides them).
char* openblas_get_config(void);
char* openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
}

void gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float& c = C[(size_t)i * ldc + j];
            c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c));
        }
}

void gemm_blas(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
               int lda, const float* B, int ldb, float beta, float* C, int ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {  // BLAS may skip scaling C; make the empty sum explicit
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] *= beta;
        return;
    }
    if (M == 1) {
        // One row (streaming a single token): a matrix-vector product. sgemm would
        // first copy the whole of B into its packed layout, every call.
        int incx = trans_a ? lda : 1;
        if (trans_b)  // C[j] = sum_k A[k] B[j,k]: B [N,K] times the vector A
            cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, incx, beta, C, 1);
        else          // C[j] = sum_k A[k] B[k,j]: B^T [N,K] times the vector A
            cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, A, incx, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void matmul_forward(float* out, const float* a, const float* b, int M, int K, int N, Trans tb,
                    bool accumulate, int lda, int ldb, int ldc) {
    // a [M,K]; b [N,K] (BT) or [K,N] (B); out [M,N]
    if (!lda) lda = K;
    if (!ldb) ldb = tb == Trans::BT ? K : N;
    if (!ldc) ldc = N;
    gemm_blas(false, tb == Trans::BT, M, N, K, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, out,
              ldc);
}

void matmul_backward(float* da, float* db, const float* dout, const float* a, const float* b,
                     int M, int K, int N, Trans tb, int lda, int ldb, int ldc) {
    // forward: out[M,N] = a[M,K] op(b); dout [M,N]
    if (!lda) lda = K;
    if (!ldb) ldb = tb == Trans::BT ? K : N;
    if (!ldc) ldc = N;
    if (da) {
        // da[M,K] += dout[M,N] op(b)^T: with b [N,K] (BT) that is dout b; with b [K,N] it is dout b^T
        gemm_blas(false, tb == Trans::B, M, K, N, 1.0f, dout, ldc, b, ldb, 1.0f, da, lda);
    }
    if (db) {
        if (tb == Trans::BT)  // db[N,K] += dout^T[N,M] a[M,K]
            gemm_blas(true, false, N, K, M, 1.0f, dout, ldc, a, lda, 1.0f, db, ldb);
        else                  // db[K,N] += a^T[K,M] dout[M,N]
            gemm_blas(true, false, K, N, M, 1.0f, a, lda, dout, ldc, 1.0f, db, ldb);
    }
}

const char* blas_name() { return openblas_get_config(); }

const char* blas_corename() {
    const char* c = openblas_get_corename();
    return c && *c ? c : "unknown";
}

void blas_set_threads(int n) {
    if (n > 0) openblas_set_num_threads(n);
}
