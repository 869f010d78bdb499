// train_bench.cpp: training and forward throughput of the blockwise path
// (src/model.h) on random tokens, against the machine's sgemm peak.
//
// One training step is what `fam train` does per step (src/app/train.cpp): the
// batch's sequences split over threads (parallel_for: each thread takes the next one; OpenBLAS
// single-threaded in each), model_forward, model_loss, model_backward into a
// gradient buffer per sequence, the buffers summed in sequence order, one AdamW
// step. The forward measurement is model_forward + model_loss, split the same way.
// Every position has a target (the next random token). Four shapes: the PassKey
// toy model of `fam train` (FAM) and its BSWA twin, and a D = 512, 6-layer model
// with FAM and with BSWA; training and forward of each cover the six rows of issue
// 12's table. bench/peer/train_peer.py is the same in PyTorch (make bench-peer).
//
//   build/bench/train_bench                 the table of docs/performance.md (under a minute on 2 cores)
//   build/bench/train_bench --quick         half a second per measurement, no warmup (~30 s; rougher numbers)
//   build/bench/train_bench --threads 4     sequences in parallel (and sgemm peak threads); default 2
//   build/bench/train_bench --json          one JSON object per configuration per line
//   build/bench/train_bench --only "FAM D64"  only the configurations whose name contains the text
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "blas.h"
#include "fam_layer.h"
#include "model.h"
#include "tensor.h"
#include "weights.h"
#include "app/optim.h"
#include "app/train.h"
#include "app/version.h"
#include "../tests/model_util.h"  // make_cfg
#include "rate.h"

// One benchmark configuration: the model, the sequence length T and the batch.
struct BenchConfig {
    std::string name;
    FamConfig cfg;
    int T = 0, batch = 0;
};

static BenchConfig bench_config(AttentionKind a, int D, int H, int N, int Dff, int B, int M, int F, int T,
                                int batch) {
    BenchConfig b;
    FamConfig& c = b.cfg;
    // random tokens: the vocabulary (64) only sizes the embedding and lm_head
    c = make_cfg(a, B, M, F, /*V=*/64, D, H, N, Dff);
    c.validate();
    b.T = T;
    b.batch = batch;
    b.name = std::string(a == AttentionKind::Fam ? "FAM" : "BSWA") + " D" + std::to_string(D) + " H" +
             std::to_string(H) + " N" + std::to_string(N) + " Dff" + std::to_string(Dff) + " B" +
             std::to_string(B) + " M" + std::to_string(M) +
             (a == AttentionKind::Fam ? " F" + std::to_string(F) : std::string()) + " T" + std::to_string(T) +
             " bs" + std::to_string(batch);
    return b;
}

// ---- FLOPs of one forward ---------------------------------------------------------
// Matrix products only (what BLAS does), 2 FLOPs per multiply-add, counted as the
// code computes them: attention multiplies every key column of a block, including
// memory columns that do not exist yet (tau < M) and masked ones.

static double linear_flops(double rows, double in, double out) { return 2.0 * rows * in * out; }

// [R, C] attention over D = H * Dh: Q K^T and P V, every head
static double attention_flops(double R, double C, double D) { return 2.0 * 2.0 * R * C * D; }

// Wo, W1, W2 over R rows (out_forward)
static double out_flops(double R, const FamConfig& c) {
    return linear_flops(R, c.D, c.D) + linear_flops(R, c.D, c.Dff) + linear_flops(R, c.Dff, c.D);
}

static double forward_flops(const FamConfig& c, int T) {
    const BlockPlan plan = make_block_plan(c, T);
    const int F = plan.F, D = c.D;
    double layer = 3 * linear_flops(T, D, D) + out_flops(T, c);  // token rows: QKV, Wo, FFN
    for (int tau = 0; tau < plan.nblocks; tau++) {
        const int len = plan.len(tau);
        layer += attention_flops(len, plan.cols(), D);  // block rows over [memory | FAM | block]
        if (F > 0) layer += 3 * linear_flops(F, D, D);  // [Alg.2 step 2] QKV of F_tau
        if (F > 0 && len == plan.B)                     // [Alg.2 steps 7-8] the FAM update
            layer += attention_flops(F, F + plan.B, D) + out_flops(F, c);
    }
    double total = c.N * layer + linear_flops(T, D, c.V);  // + lm_head
    if (F > 0)  // [App. B.1] the prompt pass: F rows through layers 0..N-2
        total += (c.N - 1) * (3 * linear_flops(F, D, D) + attention_flops(F, F, D) + out_flops(F, c));
    return total;
}

// ---- the batch over threads, as `fam train` runs it ---------------------------------


// A model, its optimizer and one batch of random sequences.
struct Bench {
    const BenchConfig& bc;
    int threads;
    ModelWeights w;
    std::vector<ModelWeights> dws;         // one gradient buffer per sequence (train.cpp)
    std::vector<ModelCache> caches;        // one per sequence
    std::vector<std::vector<int>> seqs;    // [batch][T + 1] tokens; targets are the next token
    std::vector<float> grad, losses;
    std::vector<uint8_t> decay;
    AdamW opt;

    Bench(const BenchConfig& b, int threads_) : bc(b), threads(threads_), w(b.cfg) {
        init_weights(w, 1234);
        for (int i = 0; i < b.batch; i++) dws.emplace_back(b.cfg);
        caches.resize(b.batch);
        Rng rng(99);
        seqs.assign(b.batch, std::vector<int>(b.T + 1));
        for (auto& s : seqs)
            for (int& t : s) t = rng.randint(0, b.cfg.V - 1);
        grad.resize(w.buffer.size());
        losses.resize(b.batch);
        // weight decay on matrices only, as train.cpp
        decay.assign(w.buffer.size(), 0);
        for (const Param& p : w.params)
            if (p.shape.size() == 2 && p.name != "fam_prompt")
                std::fill(decay.begin() + (p.data - w.buffer.data()),
                          decay.begin() + (p.data - w.buffer.data()) + p.size, 1);
        AdamWConfig oc;
        oc.weight_decay = 0.1f;
        opt = AdamW(oc, w.buffer.size());
    }

    // model_forward + model_loss of every sequence (loss on every position)
    void forward() {
        parallel_for(bc.batch, threads, [&](int i) {
            model_forward(caches[i], w, seqs[i].data(), bc.T);
            losses[i] = model_loss(caches[i], w, seqs[i].data() + 1, nullptr);
        });
    }

    // one step of `fam train`: forward, loss, backward per sequence, reduce, AdamW
    void train_step() {
        const int K = bc.batch;
        parallel_for(K, threads, [&](int i) {
            ModelCache& c = caches[i];
            model_forward(c, w, seqs[i].data(), bc.T);
            losses[i] = model_loss(c, w, seqs[i].data() + 1, nullptr);
            dws[i].zero();
            model_backward(dws[i], c, w, seqs[i].data() + 1, nullptr, 1.0f / K);  // equal weights
        });
        std::fill(grad.begin(), grad.end(), 0.0f);
        for (int i = 0; i < K; i++)
            for (size_t j = 0; j < grad.size(); j++) grad[j] += dws[i].buffer[j];
        opt.update(w.buffer.data(), grad.data(), grad.size(), decay.data());
    }

    bool finite() const {
        for (float l : losses)
            if (!std::isfinite(l)) return false;
        return true;
    }
};

// GFLOP/s of one 1024 x 1024 x 1024 cblas_sgemm with OpenBLAS on `threads` threads.
static double sgemm_peak(int threads, double budget) {
    const int n = 1024;
    std::vector<float> a((size_t)n * n), b((size_t)n * n), c((size_t)n * n);
    Rng rng(7);
    for (float& x : a) x = rng.uniform(-1.0f, 1.0f);
    for (float& x : b) x = rng.uniform(-1.0f, 1.0f);
    blas_set_threads(threads);
    double calls = rate([&]() { gemm_blas(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); },
                        1, budget, 1);
    return calls * 2.0 * n * n * n / 1e9;
}

static void usage(FILE* out) {
    std::fprintf(out,
                 "usage: train_bench [--quick] [--threads N] [--json] [--only TEXT] [--help]\n"
                 "  training-step and forward throughput (random tokens, loss on every position) of\n"
                 "  four model shapes, the batch split over N threads as `fam train` does (default 2),\n"
                 "  against the sgemm peak (n = 1024, N OpenBLAS threads) measured in the same run.\n"
                 "  Each measurement: ~3 s and at least 3 calls (--quick: half a second, 1 call);\n"
                 "  --json: one JSON object per configuration per line instead of the table;\n"
                 "  --only TEXT: the configurations whose name contains TEXT (e.g. \"FAM D64\").\n");
}

int main(int argc, char** argv) {
    bool quick = false, json = false;
    int threads = 2;
    std::string only;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--quick")) quick = true;
        else if (!std::strcmp(argv[i], "--json")) json = true;
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
            if (threads < 1) {
                std::fprintf(stderr, "train_bench: --threads needs a positive integer, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "train_bench: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    const double budget = quick ? 0.5 : 3.0;  // seconds per measurement, after the warmup
    const int warmup = quick ? 0 : 1;
    const int min_calls = quick ? 1 : 3;  // timed calls per measurement, at least
    using A = AttentionKind;
    const std::vector<BenchConfig> configs = {
        bench_config(A::Fam, 64, 4, 2, 256, 16, 0, 8, 256, 16),           // (a) the PassKey toy model of `fam train`
        bench_config(A::Bswa, 64, 4, 2, 256, 16, 1, 0, 256, 16),          // (b) its BSWA twin with one memory block
        bench_config(A::Fam, 512, 8, 6, 2048, 256, 1, 64, 1024, 2),       // (c) a wider, deeper FAM
        bench_config(A::Bswa, 512, 8, 6, 2048, 256, 1, 0, 1024, 2),       // (d) its BSWA twin
    };

    const std::string cpu = cpu_model(), core = blas_corename();
    if (!json) {
        std::printf("train_bench: %s%s", quick ? "(--quick) " : "", version_text().c_str());
        std::printf("threads: %d (sequences of a batch in parallel, OpenBLAS 1 thread each, as `fam train`); "
                    "random tokens, V = 64, seed 1234\n",
                    threads);
        std::fflush(stdout);
    }
    const double peak = sgemm_peak(threads, quick ? 0.5 : 2.0);
    // the model runs: OpenBLAS single-threaded, parallelism over sequences (src/app/main.cpp)
    const char* env = std::getenv("OPENBLAS_NUM_THREADS");
    blas_set_threads(env ? std::max(1, std::atoi(env)) : 1);
    if (!json) {
        std::printf("sgemm peak: %.1f GFLOP/s (1024 x 1024 x 1024, %d OpenBLAS threads)\n\n", peak, threads);
        std::printf("%-46s %12s %12s %10s %9s %8s %10s %8s\n", "config", "train tok/s", "fwd tok/s", "fwd GFLOP",
                    "GFLOP/s", "of peak", "train GF/s", "of peak");
        std::fflush(stdout);
    }
    for (const BenchConfig& bc : configs) {
        if (!only.empty() && bc.name.find(only) == std::string::npos) continue;
        Bench b(bc, threads);
        const double tokens = (double)bc.T * bc.batch;
        const double fwd_rate = rate([&]() { b.forward(); }, warmup, budget, min_calls);
        const double train_rate = rate([&]() { b.train_step(); }, warmup, budget, min_calls);
        if (!b.finite()) {
            std::fprintf(stderr, "train_bench: %s: the loss is not finite\n", bc.name.c_str());
            return 1;
        }
        const double flops = forward_flops(bc.cfg, bc.T);  // one sequence
        const double gflops = fwd_rate * bc.batch * flops / 1e9;
        // a training step multiplies 3x the forward's FLOPs: every forward product
        // (Y = X W^T, S = Q K^T, O = P V) has two backward products of its size
        const double train_gflops = train_rate * bc.batch * 3.0 * flops / 1e9;
        if (json) {
            nlohmann::ordered_json j = {{"config", bc.name},
                                        {"train_tok_s", std::llround(train_rate * tokens)},
                                        {"forward_tok_s", std::llround(fwd_rate * tokens)},
                                        {"forward_gflops", std::round(gflops * 100) / 100},
                                        {"sgemm_peak_gflops", std::round(peak * 100) / 100},
                                        {"share_of_peak", std::round(gflops / peak * 1000) / 1000},
                                        {"train_gflops", std::round(train_gflops * 100) / 100},
                                        {"train_share_of_peak", std::round(train_gflops / peak * 1000) / 1000},
                                        {"forward_gflop_per_seq", std::round(flops / 1e6) / 1000},
                                        {"threads", threads},
                                        {"quick", quick},
                                        {"cpu", cpu},
                                        {"blas_core", core},
                                        {"blas_core_source", blas_kernel_source()},
                                        {"blas_core_auto", blas_kernel_auto()}};
            std::printf("%s\n", j.dump().c_str());
        } else {
            std::printf("%-46s %12.0f %12.0f %10.3f %9.1f %7.1f%% %10.1f %7.1f%%\n", bc.name.c_str(),
                        train_rate * tokens, fwd_rate * tokens, flops / 1e9, gflops, 100.0 * gflops / peak,
                        train_gflops, 100.0 * train_gflops / peak);
        }
        std::fflush(stdout);
    }
    if (!json)
        std::printf("\nfwd GFLOP: matrix-product FLOPs of one sequence's forward (QKV, Wo, FFN, attention over every\n"
                    "key column incl. memory and FAM, the FAM updates, the prompt pass, lm_head); GFLOP/s: the\n"
                    "forward measurement's rate; of peak: GFLOP/s over the sgemm peak above; train GF/s: 3 x fwd\n"
                    "GFLOP per sequence at the training rate (each forward product has two backward products of\n"
                    "its size), and its share of the peak.\n");
    return 0;
}
