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

// ---- the right OpenBLAS kernel for this CPU ------------------------------------
// Debian's OpenBLAS (DYNAMIC_ARCH) picks its kernel from cpuid when it loads. On a
// CPU it does not know it falls back to an old one ("Prescott", SSE3) although the
// CPU may have AVX2 or AVX-512: 4-6x slower products. Every program of the project
// links src/blas.cpp, whose start-up code (it runs after OpenBLAS has loaded,
// before main) then asks for the matching kernel: it sets OPENBLAS_CORETYPE
// (SkylakeX, Haswell or Zen) and runs the program again (exec of /proc/self/exe,
// same argv); the new run checks one product against gemm_naive and, if it is
// wrong, runs once more with OpenBLAS' own choice. The rules:
//   - a user's own OPENBLAS_CORETYPE always wins: nothing is changed;
//   - FAM_BLAS_AUTO is the guard (it records what was done; never set it by hand);
//   - nothing happens under a debugger (TracerPid != 0) or when /proc/self/exe
//     cannot be run: OpenBLAS keeps its own choice.
// Test-only: FAM_BLAS_TEST=fallback treats the kernel OpenBLAS picked as a
// fallback (so the path runs on a CPU OpenBLAS knows); ",badcheck" makes the
// check fail, ",noexe" makes the exec fail (tests/test_blas.cpp).

// What the CPU can do, as far as the choice of kernel goes.
struct CpuFeatures {
    bool avx2 = false, fma = false;
    bool avx512 = false;  // AVX-512 F, BW, DQ and VL (what OpenBLAS' SkylakeX kernel uses)
    bool amd = false;     // vendor AMD (its AVX2 kernel is "Zen")
};
CpuFeatures cpu_features();  // this CPU (GCC's __builtin_cpu_supports)
// Is `kernel` one of OpenBLAS' pre-AVX2 kernels (Prescott, Core2, Nehalem, Atom,
// Barcelona, Sandybridge, ...)? Case-insensitive.
bool blas_kernel_is_fallback(const char* kernel);
// The decision, a pure function: the kernel to ask for when OpenBLAS picked
// `picked` on a CPU with `cpu`, or nullptr to leave OpenBLAS alone.
//   fallback + AVX-512 -> "SkylakeX";  fallback + AVX2/FMA -> "Zen" (AMD) or "Haswell"
const char* blas_better_kernel(const char* picked, const CpuFeatures& cpu);
// How the running kernel was chosen, for --version and reports:
//   "chosen by OpenBLAS", "set by OPENBLAS_CORETYPE",
//   "auto-selected; OpenBLAS picked Prescott",
//   "auto-selection of Haswell failed its check; OpenBLAS' own choice"
const char* blas_kernel_source();
// true when this run's kernel was auto-selected (the third case above).
bool blas_kernel_auto();

// "OpenBLAS 0.3.21 ..." as reported by the library at run time.
const char* blas_name();
// The kernel OpenBLAS picked for this CPU at run time, e.g. "Zen", "Haswell"
// ("unknown" if it does not say). Seeded runs are reproducible bit for bit only
// on the same kernel.
const char* blas_corename();
// Limit BLAS threads (1 = deterministic single-thread runs; 0 = library default).
void blas_set_threads(int n);
