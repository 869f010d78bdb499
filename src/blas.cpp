// blas.cpp: see blas.h.
#include "blas.h"

#include <cblas.h>
#include <strings.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

// ---- the right OpenBLAS kernel for this CPU (blas.h) -------------------------------

CpuFeatures cpu_features() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();  // needed when called before libgcc's own constructors
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    f.amd = __builtin_cpu_is("amd");
#endif  // elsewhere: no x86 features, so nothing is ever selected
    return f;
}

bool blas_kernel_is_fallback(const char* kernel) {
    // OpenBLAS' x86-64 kernels that predate AVX2 (its names, as openblas_get_corename says them)
    static const char* const old[] = {"Prescott", "Katmai",   "Coppermine", "Northwood",    "Banias",
                                      "Core2",    "Penryn",   "Dunnington", "Nehalem",      "Atom",
                                      "Athlon",   "Opteron",  "Opteron_SSE3", "Barcelona",  "Bobcat",
                                      "Sandybridge", "unknown"};
    if (!kernel) return false;
    for (const char* o : old)
        if (!strcasecmp(kernel, o)) return true;
    return false;
}

const char* blas_better_kernel(const char* picked, const CpuFeatures& cpu) {
    if (!blas_kernel_is_fallback(picked)) return nullptr;  // OpenBLAS knows this CPU
    if (cpu.avx512) return "SkylakeX";
    if (cpu.avx2 && cpu.fma) return cpu.amd ? "Zen" : "Haswell";
    return nullptr;  // an old CPU: the old kernel is the right one
}

// What start-up did, for blas_kernel_source(). The guard FAM_BLAS_AUTO carries it
// across the exec:  "try <picked> <choice>" -> "ok <picked> <choice>"
//                                            or "failed <picked> <choice>".
// Plain arrays, not std::string: start-up runs before (or after; the order is not
// specified) this file's dynamic initialisers, which must not overwrite it.
static char g_source[200];
static bool g_auto = false;

const char* blas_kernel_source() { return g_source[0] ? g_source : "chosen by OpenBLAS"; }
bool blas_kernel_auto() { return g_auto; }

// One product through OpenBLAS against the naive loop (odd sizes, so edge kernels run).
static bool blas_selfcheck(bool force_fail) {
    const int M = 37, N = 29, K = 45;
    std::vector<float> a((size_t)M * K), b((size_t)N * K), c1((size_t)M * N), c2((size_t)M * N);
    for (size_t i = 0; i < a.size(); i++) a[i] = (float)((i * 7919) % 97) / 97.0f - 0.5f;
    for (size_t i = 0; i < b.size(); i++) b[i] = (float)((i * 104729) % 89) / 89.0f - 0.5f;
    gemm_blas(false, true, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c1.data(), N);
    gemm_naive(false, true, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c2.data(), N);
    for (size_t i = 0; i < c1.size(); i++)
        if (!(std::fabs(c1[i] - c2[i]) <= 1e-4f * (1.0f + std::fabs(c2[i])))) return false;
    return !force_fail;
}

static bool being_traced() {  // under gdb/strace: do not exec behind the debugger's back
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    bool traced = false;
    while (std::fgets(line, sizeof line, f))
        if (!std::strncmp(line, "TracerPid:", 10)) traced = std::atoi(line + 10) != 0;
    std::fclose(f);
    return traced;
}

static bool test_flag(const char* flag) {  // FAM_BLAS_TEST=fallback[,badcheck][,noexe]
    const char* t = std::getenv("FAM_BLAS_TEST");
    return t && std::strstr(t, flag);
}

// exec this program again with the same argv; returns only if that failed
static void run_again(char** argv) {
    const char* exe = test_flag("noexe") ? "/nonexistent/fam-blas-test" : "/proc/self/exe";
    std::fflush(nullptr);
    execv(exe, argv);
}

// Runs after OpenBLAS' own constructor (the library is loaded and initialised
// before the program's constructors) and before main. glibc hands .init_array
// functions the program's argc, argv and environment.
[[maybe_unused]] static void blas_pick_kernel(int argc, char** argv, char**) {
    if (argc < 1 || !argv || !argv[0]) return;
    const char* guard = std::getenv("FAM_BLAS_AUTO");
    const char* user = std::getenv("OPENBLAS_CORETYPE");
    char state[16] = "", picked[64] = "", choice[64] = "";
    if (guard) std::sscanf(guard, "%15s %63s %63s", state, picked, choice);

    if (!std::strcmp(state, "try")) {  // we are the run with the chosen kernel: check it
        if (blas_selfcheck(test_flag("badcheck"))) {
            setenv("FAM_BLAS_AUTO", (std::string("ok ") + picked + " " + choice).c_str(), 1);
            g_auto = true;
            std::snprintf(g_source, sizeof g_source, "auto-selected; OpenBLAS picked %s", picked);
            return;
        }
        // wrong products: back to OpenBLAS' own choice (the user had set no kernel)
        setenv("FAM_BLAS_AUTO", (std::string("failed ") + picked + " " + choice).c_str(), 1);
        unsetenv("OPENBLAS_CORETYPE");
        run_again(argv);
        // the exec failed: carry on, saying so
        unsetenv("FAM_BLAS_AUTO");
        std::snprintf(g_source, sizeof g_source, "auto-selection of %s failed its check; could not re-run", choice);
        return;
    }
    if (!std::strcmp(state, "ok") && user && !std::strcmp(user, choice)) {  // inherited from a parent run
        g_auto = true;
        std::snprintf(g_source, sizeof g_source, "auto-selected; OpenBLAS picked %s", picked);
        return;
    }
    if (!std::strcmp(state, "failed")) {
        std::snprintf(g_source, sizeof g_source, "auto-selection of %s failed its check; OpenBLAS' own choice",
                      choice);
        return;
    }
    if (user) {  // a user's own OPENBLAS_CORETYPE always wins
        std::snprintf(g_source, sizeof g_source, "set by OPENBLAS_CORETYPE");
        return;
    }
    const char* now = openblas_get_corename();
    const char* seen = test_flag("fallback") ? "Prescott" : now;  // test-only: pretend a fallback
    const char* better = blas_better_kernel(seen, cpu_features());
    if (!better || being_traced()) return;
    setenv("FAM_BLAS_AUTO", (std::string("try ") + (now && *now ? now : "unknown") + " " + better).c_str(), 1);
    setenv("OPENBLAS_CORETYPE", better, 1);
    run_again(argv);
    // /proc/self/exe could not be run: leave OpenBLAS as it is
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("FAM_BLAS_AUTO");
}

#if defined(__GLIBC__) && !defined(__EMSCRIPTEN__)
__attribute__((section(".init_array"), used)) static void (*const blas_pick_kernel_at_start)(int, char**, char**) =
    blas_pick_kernel;
#endif
