// cli_demo.cpp: `fam demo`, the quick start's first command. It shows, on
// numbers small enough to read, the pieces the model is made of: a tensor, an
// OpenBLAS matrix product checked against the naive loop, and one head of
// causal block attention.
#include <cstdio>

#include "args.h"
#include "attention.h"
#include "blas.h"
#include "cli.h"
#include "tensor.h"

int cmd_demo(int argc, char** argv) {
    ArgParser args("fam demo", "A small tour of the building blocks (tensor, matmul, attention).");
    args.option("seed", "S", "random seed", "42");
    if (!args.parse(argc, argv)) return 0;
    Rng rng((uint64_t)args.integer("seed", 0));

    std::printf("TransformerFAM reference implementation (arXiv 2404.09173)\n");
    std::printf("BLAS: %s\n\n", blas_name());

    // [1/3] a tensor and a product through cblas_sgemm, checked against the loop
    const int T = 6, D = 4;
    Tensor x("x", {T, D}), w("W", {D, D}), y("y = x W^T", {T, D}), y_ref("y_naive", {T, D});
    fill_normal(x, rng, 1.0f);
    fill_normal(w, rng, 0.5f);
    matmul_forward(y.data, x.data, w.data, T, D, D, Trans::BT);
    gemm_naive(false, true, T, D, D, 1.0f, x.data, D, w.data, D, 0.0f, y_ref.data, D);
    std::printf("[1/2] y = x W^T through OpenBLAS\n%s", tensor_str(y).c_str());
    std::printf("      max |blas - naive| = %.2e\n\n", max_abs_diff(y.data, y_ref.data, y.size()));

    // [2/2] causal attention of the 6 rows over themselves (one head)
    uint8_t mask[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) mask[i * T + j] = j <= i;
    Tensor out("attention out", {T, D}), P("P (rows = queries, cols = keys)", {T, T});
    attention_forward(out.data, P.data, x.data, x.data, y.data, mask, T, T, D, 1);
    std::printf("[2/2] causal softmax(q k^T / sqrt(Dh)): masked entries are exactly 0\n%s\n",
                tensor_str(P, 6, 6, 3).c_str());
    return 0;
}
