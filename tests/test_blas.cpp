// test_blas.cpp: cblas_sgemm wrappers against the naive triple loop, every transpose.
#include <doctest/doctest.h>

#include <vector>

#include "blas.h"
#include "gradcheck.h"

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
