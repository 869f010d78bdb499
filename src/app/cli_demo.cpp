// cli_demo.cpp: `fam demo`, the quick start's first command: the whole paper in
// a few minutes on a laptop. It checks the fast paths against the readable ones
// (an OpenBLAS product, the blockwise TransformerFAM against the naive one),
// shows the FAM mask (paper Fig. 2), trains a small TransformerFAM on PassKey
// (Section 3.2), lets it retrieve a pass key from far beyond anything it was
// trained on, and writes the pictures (attention over time, what the FAM wrote)
// into a folder. `--quick` stops after the checks.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "blas.h"
#include "fam_state.h"
#include "masks.h"
#include "model.h"
#include "naive.h"
#include "tensor.h"
#include "app/args.h"
#include "app/cli.h"
#include "app/render.h"
#include "app/tasks.h"
#include "app/train.h"
#include "app/version.h"
#include "app/viz.h"

// [1/4] and [2/4]: the building blocks, checked against their readable twins.
static void demo_checks(Rng& rng, uint64_t seed) {
    const int T = 6, D = 4;
    Tensor x("x", {T, D}), w("W", {D, D}), y("y = x W^T", {T, D}), y_ref("y_naive", {T, D});
    fill_normal(x, rng, 1.0f);
    fill_normal(w, rng, 0.5f);
    matmul_forward(y.data, x.data, w.data, T, D, D, Trans::BT);
    gemm_naive(false, true, T, D, D, 1.0f, x.data, D, w.data, D, 0.0f, y_ref.data, D);
    std::printf("[1/4] which keys each query sees in one FAM block (B=4, M=1, F=2; paper Fig. 2)\n");
    std::printf("%s\n", mask_ascii(fam_block_mask(4, 1, 2, 1, 4)).c_str());

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
    std::printf("[2/4] the fast paths against the readable ones\n");
    std::printf("      OpenBLAS x W^T vs the triple loop:            max |diff| = %.1e\n",
                max_abs_diff(y.data, y_ref.data, y.size()));
    std::printf("      a tiny TransformerFAM (%s), 14 tokens:\n", c.describe().c_str());
    std::printf("      blockwise (Alg. 2) vs readable, logits:        max |diff| = %.1e\n",
                max_abs_diff(cache.logits.data(), ref.logits.data(), ref.logits.size()));
    std::printf("      blockwise (Alg. 2) vs readable, final FAM F_3: max |diff| = %.1e   (F_3: the FAM after blocks 0-2)\n\n",
                max_abs_diff(cache.fam_final.data(), ref.fam_final.data(), ref.fam_final.size()));
}

// The words of a PassKey example with the filler elided, e.g. "... The pass key is 7 1 4 ...".
static std::string passkey_text(const Vocab& v, const PasskeyExample& ex, int from, int to) {
    std::vector<int> part(ex.tokens.begin() + from, ex.tokens.begin() + to);
    return v.decode(part);
}

int cmd_demo(int argc, char** argv) {
    ArgParser args("fam demo",
                   "The quick-start demo: checks, the FAM mask, then a small TransformerFAM trained on\n"
                   "PassKey that retrieves a pass key from far beyond its training length, with pictures.");
    args.option("seed", "S", "random seed", "42")
        .option("steps", "S", "PassKey training steps", "1200")
        .option("out", "DIR", "where the model and the pictures go", "build/demo")
        .option("threads", "N", "sequences trained in parallel", "2")
        .option("model", "FILE", "skip training: use this `fam train` / demo checkpoint (FAM, PassKey vocabulary)")
        .flag("quick", "only the checks (seconds)");
    if (!args.parse(argc, argv)) return 0;
    const uint64_t seed = (uint64_t)args.integer("seed", 0);
    Rng rng(seed);
    std::printf("TransformerFAM reference implementation (arXiv 2404.09173)\nBLAS: %s\nBLAS kernel: %s\n\n",
                blas_name(), blas_kernel_line().c_str());
    demo_checks(rng, seed);
    if (args.flag_set("quick")) return 0;

    // [3/4] train a small TransformerFAM on PassKey: no memory segment (M = 0), so the
    // only way from the pass key to the question is the FAM, block after block
    const std::string out = args.str("out");
    make_dirs(out);
    Vocab vocab = passkey_vocab();
    FamConfig c = passkey_model_config(vocab.size());
    TrainConfig tc;
    tc.filler_min = 0;
    tc.filler_max = 100;
    tc.curriculum = 300;
    tc.steps = (int)args.integer("steps", 1, 1000000);
    tc.batch = 16;
    tc.opt.lr = 3e-3f;
    tc.opt.schedule = "cosine";
    tc.opt.total_steps = tc.steps;
    tc.seed = seed;
    tc.threads = (int)args.integer("threads", 1, 64);
    ModelWeights w(c);
    if (args.given("model")) {
        TrainState st;
        Vocab v2;
        load_train_checkpoint(args.str("model"), w, st, &v2);
        if (v2.words != vocab.words || w.cfg.fam_len() == 0)
            throw std::invalid_argument(args.str("model") + ": not a PassKey model with a FAM");
        c = w.cfg;
        std::printf("[3/4] using the trained model %s (%s)\n", args.str("model").c_str(), c.describe().c_str());
    } else {
        init_weights(w, seed);
        TrainState st;
        std::printf("[3/4] training %s on PassKey (filler 0-100 tokens, %d steps x 16 sequences)\n",
                    c.describe().c_str(), tc.steps);
        auto t0 = std::chrono::steady_clock::now();
        double acc = 0;
        int n = 0;
        train(w, st, tc, vocab, [&](const StepStats& s, const TrainState&) {
            acc += s.accuracy;
            n++;
            if (s.step % 200 == 0 || s.step == tc.steps) {
                double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                std::printf("      step %5ld/%d  loss %.3f  batch accuracy %.2f  (%.0f s, about %.0f s to go)\n",
                            s.step, tc.steps, s.loss, acc / n, el, el / s.step * (tc.steps - s.step));
                std::fflush(stdout);
                acc = 0;
                n = 0;
            }
        });
        save_train_checkpoint(out + "/passkey_fam.safetensors", w, st, tc, vocab);
    }

    // [4/4] the FAM remembers: a pass key behind twice the longest filler training showed
    const int far = 200;
    Rng erng(seed + 1);
    PasskeyExample ex = make_passkey_example(vocab, erng, far);
    FamState fs(c);
    stream_reset(fs, w);
    stream_prefill(fs, w, ex.tokens.data(), ex.answer_pos - 1, nullptr);
    std::vector<float> logits((size_t)ex.key.size() * c.V);
    stream_prefill(fs, w, ex.tokens.data() + ex.answer_pos - 1, (int)ex.key.size(), logits.data());
    PasskeyExample tail = ex;
    tail.answer_pos = 1;
    std::printf("\n[4/4] a pass key behind %d filler tokens (%d FAM updates per layer; training saw at most 100):\n",
                far, (ex.answer_pos - 1) / c.B);
    std::printf("      \"... %s ... (%d filler tokens) ... %s\"\n",
                passkey_text(vocab, ex, ex.key_pos - 4, ex.key_pos + (int)ex.key.size() + 1).c_str(), far,
                passkey_text(vocab, ex, ex.answer_pos - 10, ex.answer_pos).c_str());
    const std::string answer = passkey_prediction(logits.data(), c.V, tail);
    std::printf("      key %s, the model answers %s (%s)\n", ex.key.c_str(), answer.c_str(),
                answer == ex.key ? "right" : "wrong");
    std::printf("      exact-match accuracy over 50 keys (streaming, constant memory):\n     ");
    for (int f : {50, 100, 200, 400, 800})  // the last two: 4x and 8x the training fillers
        std::printf("  filler %d: %.2f", f, eval_passkey(w, vocab, f, 50, seed, 5, tc.threads).exact);
    std::printf("\n");

    // the pictures: one shorter example (so the timeline stays small enough to draw)
    Rng vrng(seed + 2);
    PasskeyExample vex = make_passkey_example(vocab, vrng, 60);
    std::vector<std::string> words;
    for (int t : vex.tokens) words.push_back(vocab.words[t]);
    VizRun run = viz_run(w, vex.tokens, words, "fam");
    VizOptions opt;
    for (size_t i = 0; i < vex.key.size(); i++) opt.highlight.push_back(vex.key_pos + (int)i);
    for (size_t i = 0; i < vex.key.size(); i++) opt.queries.push_back(vex.answer_pos - 1 + (int)i);
    opt.blocks = {vex.key_pos / c.B, (vex.answer_pos - 1) / c.B};  // Fig. 11 maps: where the key is written, and read
    opt.title = "fam demo: a TransformerFAM trained on PassKey";
    viz_write_all(out + "/viz", run, nullptr, opt);
    FocusStats fsx = focus_stats(run, 0, opt.highlight, opt.queries);
    std::printf("\n      what the FAM wrote (layer 0): its update put %.3f of its attention on each pass-key digit,\n"
                "      %.3f on each other token of that block; the answer rows read the FAM with %.2f of their\n"
                "      attention (other rows %.2f)\n",
                fsx.write_on, fsx.write_off, fsx.read_on, fsx.read_off);
    std::printf("\npictures: %s/viz/index.html (attention over time, paper Fig. 4; block maps, Fig. 11;\n"
                "          what the memory wrote), %s/viz/animation.html; model: %s/passkey_fam.safetensors\n",
                out.c_str(), out.c_str(), out.c_str());
    std::printf("next: make test | docs/walkthroughs/ | make reproduce-passkey (the full Fig. 3a analog)\n");
    return 0;
}
