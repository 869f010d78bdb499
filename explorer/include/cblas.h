// cblas.h (explorer build only): the few CBLAS declarations src/blas.cpp needs, for
// the WebAssembly build of `make explorer`, where OpenBLAS does not exist. The
// definitions are plain loops in explorer/cblas_wasm.cpp. The native build never sees
// this file: it includes OpenBLAS's own cblas.h.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a, enum CBLAS_TRANSPOSE trans_b, int M,
                 int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                 float* C, int ldc);
void cblas_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, int M, int N, float alpha, const float* A,
                 int lda, const float* x, int incx, float beta, float* y, int incy);

#ifdef __cplusplus
}
#endif
