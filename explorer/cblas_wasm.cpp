// cblas_wasm.cpp: plain-loop cblas_sgemm / cblas_sgemv and the three OpenBLAS
// queries src/blas.cpp calls, for the WebAssembly build of `make explorer` only.
//
// Why: the explorer compiles the model code of src/ to WebAssembly so that the page
// shows what the very same lines compute, and OpenBLAS is not available for wasm.
// Every matrix product of src/ goes through gemm_blas (src/blas.cpp), which calls
// these. They are the row-major cases src/blas.cpp uses, written as loops (float
// accumulation, so the last bits may differ from OpenBLAS's kernels, as they differ
// between OpenBLAS kernels). The native build links OpenBLAS and never compiles this.
#include <cblas.h>

#include <cstdio>
#include <cstdlib>

// Row-major only: src/blas.cpp never asks for column-major.
static void require_row_major(enum CBLAS_ORDER order, const char* fn) {
    if (order != CblasRowMajor) {
        std::fprintf(stderr, "%s: only CblasRowMajor is implemented in the explorer build\n", fn);
        std::abort();
    }
}

// C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, where op(X) is X or X^T.
extern "C" void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a, enum CBLAS_TRANSPOSE trans_b,
                            int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                            float beta, float* C, int ldc) {
    require_row_major(order, "cblas_sgemm");
    const bool ta = trans_a != CblasNoTrans, tb = trans_b != CblasNoTrans;
    for (int i = 0; i < M; i++) {
        float* c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        // i-k-j order: the inner loop walks a row of B (when B is not transposed) and of C
        for (int k = 0; k < K; k++) {
            const float a = alpha * (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
            if (tb)
                for (int j = 0; j < N; j++) c[j] += a * B[(size_t)j * ldb + k];
            else {
                const float* b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    }
}

// y[rows of op(A)] = alpha op(A) x + beta y, A [M, N] row-major.
extern "C" void cblas_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, int M, int N, float alpha,
                            const float* A, int lda, const float* x, int incx, float beta, float* y, int incy) {
    require_row_major(order, "cblas_sgemv");
    const bool t = trans != CblasNoTrans;
    const int rows = t ? N : M, inner = t ? M : N;
    for (int i = 0; i < rows; i++) {
        float s = 0.0f;
        for (int k = 0; k < inner; k++) s += (t ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) * x[(size_t)k * incx];
        float& yi = y[(size_t)i * incy];
        yi = alpha * s + (beta == 0.0f ? 0.0f : beta * yi);
    }
}

// The OpenBLAS extensions src/blas.cpp reports (fam --version); here they name this file.
static char kName[] = "plain loops (explorer/cblas_wasm.cpp, WebAssembly)";
extern "C" char* openblas_get_config(void) { return kName; }
extern "C" char* openblas_get_corename(void) { return kName; }
extern "C" void openblas_set_num_threads(int) {}
