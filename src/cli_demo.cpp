// cli_demo.cpp: `fam demo`, the quick start's first command. On numbers small
// enough to read, it shows the pieces the model is made of and checks the fast
// paths against the readable ones: an OpenBLAS product against the triple loop,
// the FAM mask (paper Fig. 2) that the attention code uses, and a tiny
// TransformerFAM whose blockwise forward (Alg. 2) matches the naive one.
#include <cmath>
#include <cstdio>

#include "args.h"
#include "blas.h"
#include "cli.h"
#include "masks.h"
#include "model.h"
#include "naive.h"
#include "render.h"
#include "tensor.h"

int cmd_demo(int argc, char** argv) {
    ArgParser args("fam demo", "A small tour: OpenBLAS matmul, the FAM mask, a tiny TransformerFAM (blockwise == naive).");
    args.option("seed", "S", "random seed", "42");
    if (!args.parse(argc, argv)) return 0;
    const uint64_t seed = (uint64_t)args.integer("seed", 0);
    Rng rng(seed);

    std::printf("TransformerFAM reference implementation (arXiv 2404.09173)\n");
    std::printf("BLAS: %s\n\n", blas_name());

    // [1/3] a product through cblas_sgemm, checked against the triple loop
    const int T = 6, D = 4;
    Tensor x("x", {T, D}), w("W", {D, D}), y("y = x W^T", {T, D}), y_ref("y_naive", {T, D});
    fill_normal(x, rng, 1.0f);
    fill_normal(w, rng, 0.5f);
    matmul_forward(y.data, x.data, w.data, T, D, D, Trans::BT);
    gemm_naive(false, true, T, D, D, 1.0f, x.data, D, w.data, D, 0.0f, y_ref.data, D);
    std::printf("[1/3] y = x W^T through OpenBLAS\n%s", tensor_str(y, 3, 4).c_str());
    std::printf("      max |blas - naive| = %.1e\n\n", max_abs_diff(y.data, y_ref.data, y.size()));

    // [2/3] the mask one TransformerFAM block uses (paper Fig. 2b, Alg. 2 steps 3 and 7)
    std::printf("[2/3] which keys each query sees in one FAM block (B=4, M=1, F=2)\n");
    std::printf("%s\n", mask_ascii(fam_block_mask(4, 1, 2, 1, 4)).c_str());

    // [3/3] a tiny random TransformerFAM: the paper's blockwise path against the naive one
    FamConfig c;
    c.V = 16;
    c.D = 16;
    c.H = 2;
    c.N = 2;
    c.Dff = 32;
    c.attention = AttentionKind::Fam;
    c.B = 4;
    c.M = 1;
    c.F = 2;
    ModelWeights mw(c);
    init_weights(mw, seed);
    std::vector<int> tokens(14);
    for (int& t : tokens) t = rng.randint(0, c.V - 1);
    ModelCache cache;
    model_forward(cache, mw, tokens.data(), (int)tokens.size());
    NaiveResult ref = naive_forward(mw, tokens.data(), (int)tokens.size());
    std::printf("[3/3] %s, %zu parameters, T = %zu tokens = 3 full blocks + 2\n", c.describe().c_str(),
                count_params(c), tokens.size());
    std::printf("      FAM updates per layer: 3 (a partial last block updates none)\n");
    std::printf("      max |blockwise - naive| logits    = %.1e\n",
                max_abs_diff(cache.logits.data(), ref.logits.data(), ref.logits.size()));
    std::printf("      max |blockwise - naive| FAM state = %.1e\n",
                max_abs_diff(cache.fam_final.data(), ref.fam_final.data(), ref.fam_final.size()));
    std::printf("\nnext: make test | build/fam --help | build/fam mask --kind fam --view timeline --len 12 --block 4 --fam 2\n");
    return 0;
}
