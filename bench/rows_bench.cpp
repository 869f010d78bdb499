// rows_bench.cpp: why the FAM update's products run slower per FLOP than the
// token rows' (docs/performance.md, "Three rounds, medians").
//
// The FAM update (paper Alg. 2 steps 6-8) multiplies only F rows per block, one
// block after the other (F_{tau+1} needs F_tau), while the token rows of a whole
// sequence go through QKV and the FFN in one product. OpenBLAS packs the whole
// weight matrix for every product however few rows it has, so a product of few
// rows runs below the speed of a large one. Two measurements, 1 thread:
//
//   1. one FFN product X [M, D] W1^T, W1 [4D, D], for M = F .. T rows: GFLOP/s, and
//      the share of the largest M's speed;
//   2. the F rows of S sequences through qkv_forward + out_forward (src/layer.h) as
//      S products of F rows, or as one product of S*F rows (what stacking the FAM
//      rows of several sequences would give; the code does the former).
//
//   build/bench/rows_bench            the toy model (D = 64, F = 8, 8 sequences) and D = 512 (F = 64, 2)
//   build/bench/rows_bench --quick    fewer repetitions
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "blas.h"
#include "layer.h"
#include "ops.h"
#include "tensor.h"
#include "weights.h"
#include "app/version.h"
#include "rate.h"

// seconds per call of fn: 3 warmup calls, then at least `budget` seconds and 3 calls
static double seconds_per_call(const std::function<void()>& fn, double budget) {
    return 1.0 / rate(fn, 3, budget, 3);
}

// A one-layer model of width D (Dff = 4D, Dh = 64 or D/4 when smaller) and FAM length F.
static FamConfig layer_config(int D, int F) {
    FamConfig c;
    c.V = 64;
    c.D = D;
    c.H = D >= 512 ? D / 64 : 4;
    c.N = 1;
    c.Dff = 4 * D;
    c.B = 16;
    c.F = F;
    return c;
}

static void ffn_rows(int D, const std::vector<int>& rows, double budget) {
    const int Dff = 4 * D, Mmax = rows.back();
    std::vector<float> x((size_t)Mmax * D), w((size_t)Dff * D), y((size_t)Mmax * Dff);
    Rng rng(5);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : w) v = rng.uniform(-0.05f, 0.05f);
    std::vector<double> gflops;
    for (int M : rows) {
        const double s = seconds_per_call([&]() { linear_forward(y.data(), x.data(), w.data(), M, D, Dff); }, budget);
        gflops.push_back(2.0 * M * D * Dff / s / 1e9);
    }
    std::printf("  one FFN product X [M, %d] W1^T [%d, %d]:\n", D, D, Dff);
    for (size_t i = 0; i < rows.size(); i++)
        std::printf("    M = %5d rows: %7.1f GFLOP/s  (%3.0f%% of M = %d)\n", rows[i], gflops[i],
                    100.0 * gflops[i] / gflops.back(), Mmax);
}

static void stacked(int D, int F, int S, double budget) {
    const FamConfig cfg = layer_config(D, F);
    ModelWeights w(cfg);
    init_weights(w, 1);
    const LayerWeights& lw = w.layers[0];
    const int R = S * F;
    std::vector<float> x((size_t)R * D), out((size_t)R * D), pos(R);
    Rng rng(6);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    for (int r = 0; r < R; r++) pos[r] = (float)(r % F);
    QkvCache qc;
    OutCache oc;
    oc.keep_tanh = true;  // as in training
    auto rows = [&](int r0, int n) {
        qkv_forward(qc, &x[(size_t)r0 * D], &pos[r0], n, lw, cfg);
        out_forward(&out[(size_t)r0 * D], oc, &x[(size_t)r0 * D], &x[(size_t)r0 * D], n, lw, cfg);
    };
    const double apart = seconds_per_call([&]() {
        for (int s = 0; s < S; s++) rows(s * F, F);
    }, budget);
    const double together = seconds_per_call([&]() { rows(0, R); }, budget);
    std::printf("  qkv_forward + out_forward on the FAM rows of %d sequences (F = %d):\n", S, F);
    std::printf("    %d products of %d rows: %9.1f us;  1 product of %d rows: %9.1f us  (%.0f%% less time)\n", S, F,
                apart * 1e6, R, together * 1e6, 100.0 * (1.0 - together / apart));
}

int main(int argc, char** argv) {
    double budget = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--quick")) {
            budget = 0.2;
        } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("usage: rows_bench [--quick] [--help]\n"
                        "  how fast OpenBLAS multiplies few rows (a FAM update's F) against many (a\n"
                        "  sequence's tokens), and what stacking the FAM rows of several sequences into\n"
                        "  one product would save; 1 thread; --quick: 0.2 s per measurement instead of 1 s.\n");
            return 0;
        } else {
            std::fprintf(stderr, "rows_bench: unknown argument '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    blas_set_threads(1);
    std::printf("rows_bench: %s", version_text().c_str());
    std::printf("1 thread\n\ntoy model (D = 64, F = 8; train_bench runs 8 sequences per thread):\n");
    ffn_rows(64, {8, 16, 64, 256}, budget);
    stacked(64, 8, 8, budget);
    std::printf("\nD = 512 (F = 64; train_bench runs 1 sequence per thread):\n");
    ffn_rows(512, {64, 256, 1024}, budget);
    stacked(512, 64, 2, budget);
    return 0;
}
