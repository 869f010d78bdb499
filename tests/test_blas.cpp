// test_blas.cpp: cblas_sgemm wrappers against the naive triple loop, every transpose.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "blas.h"
#include "gradcheck.h"
#include "temp_dir.h"

TEST_CASE("blas: gemm_blas == gemm_naive for every transpose combination and odd sizes") {
    Rng rng(11);
    const int shapes[][3] = {{1, 1, 1}, {1, 7, 5}, {1, 64, 64}, {3, 5, 7}, {8, 1, 13}, {17, 9, 4}, {33, 31, 29}};  // M = 1 goes through sgemv
    for (auto& s : shapes) {
        int M = s[0], N = s[1], K = s[2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int lda = ta ? M : K, ldb = tb ? K : N;
                Tensor A = random_tensor("A", {M * K}, rng), B = random_tensor("B", {K * N}, rng);
                Tensor C1 = random_tensor("C", {M * N}, rng), C2 = C1.clone();
                gemm_blas(ta, tb, M, N, K, 0.7f, A.data, lda, B.data, ldb, 0.3f, C1.data, N);
                gemm_naive(ta, tb, M, N, K, 0.7f, A.data, lda, B.data, ldb, 0.3f, C2.data, N);
                std::string name = "gemm M" + std::to_string(M) + " N" + std::to_string(N) + " K" +
                                   std::to_string(K) + (ta ? " A^T" : " A") + (tb ? " B^T" : " B");
                check_close(name, C1.data, C2.data, C1.size(), 1e-4f);
            }
    }
}

TEST_CASE("blas: matmul_forward X W^T, Q K^T and P V, with strided head slices") {
    Rng rng(12);
    const int M = 5, K = 6, N = 7;
    Tensor a = random_tensor("a", {M, K}, rng), w = random_tensor("w", {N, K}, rng);
    Tensor b = random_tensor("b", {K, N}, rng);
    Tensor out("out", {M, N}), ref("ref", {M, N});
    matmul_forward(out.data, a.data, w.data, M, K, N, Trans::BT);  // X W^T
    gemm_naive(false, true, M, N, K, 1, a.data, K, w.data, K, 0, ref.data, N);
    check_close("X W^T", out.data, ref.data, out.size(), 1e-5f);
    matmul_forward(out.data, a.data, b.data, M, K, N, Trans::B);  // P V
    gemm_naive(false, false, M, N, K, 1, a.data, K, b.data, N, 0, ref.data, N);
    check_close("P V", out.data, ref.data, out.size(), 1e-5f);
    // one head's columns: q [M, 2*K] and k [N, 2*K], head 1 = columns K..2K-1 (ld = 2K)
    Tensor q = random_tensor("q", {M, 2 * K}, rng), k = random_tensor("k", {N, 2 * K}, rng);
    matmul_forward(out.data, q.data + K, k.data + K, M, K, N, Trans::BT, false, 2 * K, 2 * K, N);
    gemm_naive(false, true, M, N, K, 1, q.data + K, 2 * K, k.data + K, 2 * K, 0, ref.data, N);
    check_close("Q_h K_h^T (strided)", out.data, ref.data, out.size(), 1e-5f);
}

TEST_CASE("blas: matmul_backward matches finite differences (both transposes)") {
    Rng rng(13);
    const int dims[][3] = {{3, 4, 5}, {1, 7, 2}, {6, 3, 1}};
    for (auto& d : dims) {
        int M = d[0], K = d[1], N = d[2];
        for (Trans tb : {Trans::BT, Trans::B}) {
            Tensor a = random_tensor("a", {M, K}, rng);
            Tensor b = random_tensor("b", {tb == Trans::BT ? N : K, tb == Trans::BT ? K : N}, rng);
            Tensor wout = random_tensor("w", {M, N}, rng), out("out", {M, N});
            auto loss = [&]() {
                matmul_forward(out.data, a.data, b.data, M, K, N, tb);
                return weighted_sum(out.data, wout.data, out.size());
            };
            Tensor da("da", {M, K}), db("db", {b.shape[0], b.shape[1]});
            matmul_backward(da.data, db.data, wout.data, a.data, b.data, M, K, N, tb);
            std::string tag = std::string(tb == Trans::BT ? " (a b^T)" : " (a b)");
            grad_check("matmul da" + tag, a.data, a.size(), da.data, loss);
            grad_check("matmul db" + tag, b.data, b.size(), db.data, loss);
        }
    }
}

TEST_CASE("blas: accumulate adds to the output") {
    float a[2] = {1, 2}, b[2] = {3, 4}, c[1] = {10};
    matmul_forward(c, a, b, 1, 2, 1, Trans::BT, true);
    CHECK(c[0] == doctest::Approx(21.0));
}

// ---- the right OpenBLAS kernel at start-up (src/blas.h) --------------------------------

TEST_CASE("blas: the kernel decision, corename + CPU flags -> the kernel to ask for") {
    CpuFeatures avx2, avx512, amd, sse;
    avx2.avx2 = avx2.fma = true;
    avx512 = avx2;
    avx512.avx512 = true;
    amd = avx2;
    amd.amd = true;
    // the case: a Xeon with AVX-512 that OpenBLAS 0.3.21 does not know gets Prescott
    CHECK(std::string(blas_better_kernel("Prescott", avx512)) == "SkylakeX");
    CHECK(std::string(blas_better_kernel("Prescott", avx2)) == "Haswell");
    CHECK(std::string(blas_better_kernel("Prescott", amd)) == "Zen");
    for (const char* old : {"Core2", "Nehalem", "Atom", "Barcelona", "Sandybridge", "penryn"})
        CHECK_MESSAGE(blas_better_kernel(old, avx2) != nullptr, old);
    // a kernel OpenBLAS chose knowingly is left alone, whatever the CPU
    for (const char* good : {"Zen", "Haswell", "SkylakeX", "Cooperlake", "SapphireRapids"}) {
        CHECK_MESSAGE(blas_better_kernel(good, avx512) == nullptr, good);
        CHECK_MESSAGE(!blas_kernel_is_fallback(good), good);
    }
    // an old CPU keeps its old kernel; AVX2 without FMA is not what the Haswell kernel needs
    CHECK(blas_better_kernel("Prescott", sse) == nullptr);
    CpuFeatures nofma = avx2;
    nofma.fma = false;
    CHECK(blas_better_kernel("Prescott", nofma) == nullptr);
    CHECK(blas_better_kernel(nullptr, avx512) == nullptr);
}

// The child half of the start-up tests below. Run by them (FAM_BLAS_CHILD_OUT set), it
// writes what this run's start-up did: kernel, how it was chosen, the two variables, and
// argv exactly as the kernel has it (/proc/self/cmdline, NULs shown as '|'). In a plain
// run it checks that the report agrees with the environment.
TEST_CASE("blas: start-up kernel report") {
    const char* out = std::getenv("FAM_BLAS_CHILD_OUT");
    const char* user = std::getenv("OPENBLAS_CORETYPE");
    const char* guard = std::getenv("FAM_BLAS_AUTO");
    if (!out) {
        const std::string src = blas_kernel_source();
        if (!guard) CHECK(src == (user ? "set by OPENBLAS_CORETYPE" : "chosen by OpenBLAS"));
        else CHECK(src.rfind("auto-", 0) == 0);
        CHECK(blas_kernel_auto() == (src.rfind("auto-selected", 0) == 0));
        if (!user && !guard) CHECK(blas_better_kernel(blas_corename(), cpu_features()) == nullptr);  // the fix held
        return;
    }
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& ch : cmdline)
        if (ch == '\0') ch = '|';
    std::ofstream(out) << blas_corename() << "\n" << blas_kernel_source() << "\n" << (user ? user : "-") << "\n"
                       << (guard ? guard : "-") << "\n" << cmdline << "\n";
}

struct StartupReport {
    std::string kernel, source, coretype, guard, cmdline;
};

// Runs this test binary again with `env` (after clearing the three variables), only the
// report case, and two arguments that must arrive untouched.
static StartupReport run_startup_child(const std::string& env) {
    TempDir dir;
    const std::string file = dir.path + "/report.txt";
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string cmd = "env -u OPENBLAS_CORETYPE -u FAM_BLAS_AUTO -u FAM_BLAS_TEST " + env +
                            " FAM_BLAS_CHILD_OUT='" + file + "' '" + exe +
                            "' '-tc=blas: start-up kernel report' '--x-keep=two  spaces' '' > /dev/null 2>&1";
    const int rc = std::system(cmd.c_str());
    REQUIRE_MESSAGE(rc == 0, cmd);
    std::ifstream in(file);
    StartupReport r;
    std::getline(in, r.kernel);
    std::getline(in, r.source);
    std::getline(in, r.coretype);
    std::getline(in, r.guard);
    std::getline(in, r.cmdline);
    r.cmdline.resize(r.cmdline.size() - 1);  // the trailing separator
    return r;
}

TEST_CASE("blas: start-up selects the kernel, re-runs with argv intact, and a user's OPENBLAS_CORETYPE wins") {
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string argv = exe + "|-tc=blas: start-up kernel report|--x-keep=two  spaces|";
    const char* want = blas_better_kernel("Prescott", cpu_features());  // what this CPU should get
    REQUIRE_MESSAGE(want, "this CPU has neither AVX2 nor AVX-512: nothing to select");

    // FAM_BLAS_TEST=fallback: the kernel OpenBLAS picked counts as a fallback -> re-run
    StartupReport a = run_startup_child("FAM_BLAS_TEST=fallback");
    CHECK(a.kernel == want);
    CHECK(a.coretype == want);
    CHECK(a.source.rfind("auto-selected; OpenBLAS picked ", 0) == 0);
    const std::string native = a.source.substr(std::string("auto-selected; OpenBLAS picked ").size());
    CHECK(a.guard == "ok " + native + " " + want);
    CHECK(a.cmdline == argv);  // the exec kept argv exactly

    // the user's own kernel (even an old one) is never replaced
    StartupReport u = run_startup_child("OPENBLAS_CORETYPE=Prescott FAM_BLAS_TEST=fallback");
    CHECK(u.kernel == "Prescott");
    CHECK(u.source == "set by OPENBLAS_CORETYPE");
    CHECK(u.guard == "-");

    // the check of the chosen kernel fails -> one more run with OpenBLAS' own choice
    StartupReport b = run_startup_child("FAM_BLAS_TEST=fallback,badcheck");
    CHECK(b.kernel == native);
    CHECK(b.coretype == "-");
    CHECK(b.source == std::string("auto-selection of ") + want + " failed its check; OpenBLAS' own choice");
    CHECK(b.cmdline == argv);

    // /proc/self/exe cannot be run -> OpenBLAS is left alone, the variables cleaned up
    StartupReport c = run_startup_child("FAM_BLAS_TEST=fallback,noexe");
    CHECK(c.kernel == native);
    CHECK(c.source == "chosen by OpenBLAS");
    CHECK(c.coretype == "-");
    CHECK(c.guard == "-");
}
