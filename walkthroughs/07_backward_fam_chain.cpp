// 07_backward_fam_chain.cpp: watch a gradient travel from the answer back to the
// pass key through the FAM chain (paper §2.2: gradients flow through the whole FAM
// chain, no stop-gradient). The loss sits on the 5 answer digits at the end of a
// PassKey example; with M = 0 no block sees an earlier block, so every gradient
// that reaches an earlier block went back along the FAM chain, from dL/dF_{tau+1}
// (the FAM leaving block tau) to dL/dF_tau (the FAM entering it): Alg. 2 steps
// 6-8 undone by fam_update_backward, called from fam_layer_backward.
// FAM index convention (docs/spec.md): F_0 enters block 0; block tau (from 0)
// reads F_tau and, when complete, writes F_{tau+1}.
//
// Uses the model walkthrough 05 trained with --train (OUT/05/passkey_fam.safetensors)
// when it exists, else the shipped one (models/passkey_fam.safetensors, the same
// recipe); a --model that does not exist gives random weights (it says which).
// Docs: docs/walkthroughs/07_backward_fam_chain.md
// Run: build/walkthroughs/07_backward_fam_chain [--out DIR] [--model FILE] [--digit K] [--bswa-mem M]
//      [--filler L] [--seed S]   (--help lists them; the defaults give the output shown in the docs)
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "blas.h"
#include "fam_layer.h"
#include "model.h"
#include "ops.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/tasks.h"
#include "app/train.h"
#include "app/viz.h"

static std::string bar(double v, double vmax, int width) {
    int n = vmax > 0 ? (int)std::lround(width * v / vmax) : 0;
    if (v > 0 && n == 0) return ".";  // nonzero but below one character
    return std::string(std::max(0, std::min(width, n)), '#');
}
static double norm(const float* x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return std::sqrt(s);
}

// The backward of the loss to the inputs: model_backward (src/model.cpp) without the
// embedding scatter, keeping what it throws away. Returns dL/dx for the input rows of
// every layer, [N + 1][T, D] (index 0: the token embeddings), and dL/dF_0 for the FAM
// entering block 0 of each layer [N, F, D]. Weight gradients go to a scratch dw.
struct InputGrads {
    std::vector<std::vector<float>> dx;  // N + 1 buffers [T, D]
    std::vector<float> dfam0;            // [N, F, D] dL/dF_0 of each layer
};
static InputGrads backward_to_inputs(const ModelCache& c, const ModelWeights& w, const int* targets,
                                     const float* weights) {
    const FamConfig& cfg = w.cfg;
    const int T = c.T, N = cfg.N, D = cfg.D, V = cfg.V, F = cfg.fam_len();
    ModelWeights dw(cfg);
    std::vector<float> dlogits((size_t)T * V, 0.0f), dxf((size_t)T * D, 0.0f);
    InputGrads g;
    g.dx.assign(N + 1, std::vector<float>((size_t)T * D, 0.0f));
    g.dfam0.assign((size_t)N * F * D, 0.0f);
    cross_entropy_backward(dlogits.data(), c.probs.data(), targets, weights, 1.0f, T, V);   // dL/dlogits
    linear_backward(dxf.data(), dw.lm_head, dlogits.data(), c.xf.data(), w.lm_head, T, D, V);  // undo W_out
    layernorm_backward(g.dx[N].data(), dw.lnf_g, dw.lnf_b, dxf.data(), c.xs[N].data(), c.lnf_mean.data(),
                       c.lnf_rstd.data(), w.lnf_g, T, D);                                   // undo LN_f
    for (int l = N - 1; l >= 0; l--)  // undo each layer: blocks and the FAM chain, in reverse
        fam_layer_backward(g.dx[l].data(), F ? &g.dfam0[(size_t)l * F * D] : nullptr, dw.layers[l], g.dx[l + 1].data(),
                           nullptr, c.layers[l], c.plan, w.layers[l], cfg, false);
    return g;
}

static int run(int argc, char** argv) {
    ArgParser args("07_backward_fam_chain", "A gradient travels from the answer back to the key through the FAM.");
    args.option("out", "DIR", "where to write the pictures (and where 05 left its model)", "build/walkthroughs/out")
        .option("model", "FILE", "a trained checkpoint (default: OUT/05/passkey_fam.safetensors if walkthrough 05 "
                                 "trained one with --train, else the shipped models/passkey_fam.safetensors)")
        .option("digit", "K", "keep the loss on answer digit K only (0..4; -1: all five)", "-1")
        .option("bswa-mem", "M", "memory blocks of the BSWA model of [5/6]", "1")
        .option("filler", "L", "filler tokens of the PassKey example (walkthrough 05's: 100)", "100")
        .option("seed", "S", "seed of the example (another seed, another key)", "1");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const int digit = (int)args.integer("digit", -1, 4), bswa_mem = (int)args.integer("bswa-mem", 0, 64),
              filler = (int)args.integer("filler", 0, 100000);
    const std::string out = args.str("out") + "/07";
    make_dirs(out);
    blas_set_threads(1);
    const Vocab vocab = passkey_vocab();

    struct stat sb;
    std::string path = args.str("out") + "/05/passkey_fam.safetensors";  // trained by 05 --train, if it was
    if (args.given("model")) path = args.str("model");
    else if (stat(path.c_str(), &sb) != 0) path = "models/passkey_fam.safetensors";  // the shipped one
    ModelWeights w;
    if (stat(path.c_str(), &sb) == 0) {
        TrainState st;
        Vocab v2;
        load_train_checkpoint(path, w, st, &v2);
        std::printf("[1/6] model: %s (trained by walkthrough 05 --train)\n", path.c_str());
    } else {
        FamConfig c = passkey_model_config(vocab.size());  // the shape walkthrough 05 trains
        w = ModelWeights(c);
        init_weights(w, 1);
        std::printf("[1/6] model: random weights (no %s yet: run walkthrough 05 first for the trained one)\n",
                    path.c_str());
    }
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, F = cfg.fam_len(), B = cfg.B;
    std::printf("      %s\n", cfg.describe().c_str());
    Rng ex_rng((uint64_t)args.integer("seed", 0));
    PasskeyExample ex = make_passkey_example(vocab, ex_rng, filler, 5);  // the example of walkthrough 05
    if (digit >= 0)  // the loss on one answer digit only: the row answer_pos-1+digit predicts it
        for (int t = 0; t < (int)ex.weights.size(); t++)
            if (t != ex.answer_pos - 1 + digit) ex.weights[t] = 0.0f;
    const int T = (int)ex.tokens.size(), nblocks = (T + B - 1) / B, kb = ex.key_pos / B, ab = (ex.answer_pos - 1) / B;
    ModelCache c;
    model_forward(c, w, ex.tokens.data(), T);
    const float loss = model_loss(c, w, ex.targets.data(), ex.weights.data());
    if (digit < 0)
        std::printf("      PassKey, filler %d, key %s at t = %d.. (block %d); loss on the answer rows t = %d..%d\n"
                    "      (block %d) = %.4f, prediction %s\n\n",
                    filler, ex.key.c_str(), ex.key_pos, kb, ex.answer_pos - 1, ex.answer_pos + 3, ab, loss,
                    passkey_prediction(c.logits.data(), cfg.V, ex).c_str());
    else
        std::printf("      PassKey, filler %d, key %s at t = %d.. (block %d); loss on answer digit %d only (%c, predicted\n"
                    "      by row t = %d, block %d) = %.4f, prediction %s\n\n",
                    filler, ex.key.c_str(), ex.key_pos, kb, digit, ex.key[digit], ex.answer_pos - 1 + digit, ab, loss,
                    passkey_prediction(c.logits.data(), cfg.V, ex).c_str());

    std::printf("[2/6] backward to the inputs (model_backward's steps, keeping dL/dx of every layer input)\n");
    InputGrads g = backward_to_inputs(c, w, ex.targets.data(), ex.weights.data());
    {   // check against the library: scattering dL/dx_0 by token id is model_backward's dtok_emb
        ModelWeights dw(cfg);
        model_backward(dw, c, w, ex.targets.data(), ex.weights.data());
        std::vector<float> demb((size_t)cfg.V * D, 0.0f);
        embedding_backward(demb.data(), g.dx[0].data(), ex.tokens.data(), T, D);
        std::printf("      max |scatter(dL/dx_0) - model_backward's d tok_emb| = %.1e\n\n",
                    max_abs_diff(demb.data(), dw.tok_emb, demb.size()));
    }

    std::printf("[3/6] |dL/dx| at the input of layer 0 (the token embeddings), largest token of each block\n");
    std::vector<float> gnorm((size_t)(N + 1) * T);
    for (int l = 0; l <= N; l++)
        for (int t = 0; t < T; t++) gnorm[(size_t)l * T + t] = (float)norm(&g.dx[l][(size_t)t * D], D);
    double gmax = 0;
    for (int t = 0; t < T; t++) gmax = std::max(gmax, (double)gnorm[t]);
    for (int tau = 0; tau < nblocks; tau++) {
        int best = tau * B;
        for (int t = tau * B; t < std::min(T, (tau + 1) * B); t++)
            if (gnorm[t] > gnorm[best]) best = t;
        std::printf("      block %2d  %.2e  %-40s max at t=%3d %-6s%s\n", tau, gnorm[best], bar(gnorm[best], gmax, 40).c_str(),
                    best, vocab.words[ex.tokens[best]].c_str(),
                    tau == kb ? "  <- the key's block" : tau == ab ? "  <- the answer's block" : "");
    }
    std::printf("      inside the key's block, token by token:\n");
    double kmax = 0;
    for (int t = kb * B; t < (kb + 1) * B; t++) kmax = std::max(kmax, (double)gnorm[t]);
    for (int t = kb * B; t < (kb + 1) * B; t++)
        std::printf("      t=%3d %-9s %.2e %s\n", t, vocab.words[ex.tokens[t]].c_str(), gnorm[t], bar(gnorm[t], kmax, 30).c_str());
    std::printf("\n");

    std::printf("[4/6] |dL/dF_k| for the FAM leaving each complete block, per layer: the chain the\n"
                "      gradient walks (F_{tau+1} leaves block tau and enters block tau+1)\n");
    // dL/dF_{tau+1}: rerun the sequence from block tau+1 with F_{tau+1} (the FAM leaving block tau)
    // passed in (ForwardOptions::fam_start, positions shifted by pos_offset so every token keeps
    // its position), then backward to that FAM, which the rerun sees as its F_0. Exact because
    // M = 0: the rest of the sequence depends on the past only through F_{tau+1}.
    VizRun r = viz_run(w, ex.tokens);
    const std::vector<float> states = fam_states(r);  // [N, nblocks + 1, F, D]: index k holds F_k
    std::vector<float> fnorm((size_t)N * nblocks, 0.0f);  // [N, nblocks]: [l, tau] = |dL/dF_{tau+1}|, last column 0
    double worst = 0;
    if (cfg.M == 0 && F > 0) {
        for (int tau = 0; tau + 1 < nblocks; tau++) {
            std::vector<float> fam((size_t)N * F * D);  // F_{tau+1} of every layer
            for (int l = 0; l < N; l++)
                std::copy(&states[(((size_t)l * (nblocks + 1)) + tau + 1) * F * D],
                          &states[(((size_t)l * (nblocks + 1)) + tau + 2) * F * D], &fam[(size_t)l * F * D]);
            const int t0 = (tau + 1) * B, Ts = T - t0;
            ForwardOptions opt;
            opt.fam_start = fam.data();
            opt.pos_offset = (float)t0;
            ModelCache cs;
            model_forward(cs, w, &ex.tokens[t0], Ts, opt);
            worst = std::max(worst, (double)max_abs_diff(cs.logits.data(), &c.logits[(size_t)t0 * cfg.V], cs.logits.size()));
            model_loss(cs, w, &ex.targets[t0], &ex.weights[t0]);
            InputGrads gs = backward_to_inputs(cs, w, &ex.targets[t0], &ex.weights[t0]);
            for (int l = 0; l < N; l++) fnorm[(size_t)l * nblocks + tau] = (float)norm(&gs.dfam0[(size_t)l * F * D], F * D);
        }
        double fmax = 0;
        for (float x : fnorm) fmax = std::max(fmax, (double)x);
        std::printf("      (each rerun reproduces the original logits to %.1e)\n", worst);
        std::printf("      FAM   leaves   layer 0                          layer 1\n");
        for (int tau = 0; tau + 1 < nblocks; tau++) {
            std::printf("      F_%-3d block %-2d %.2e %-22s", tau + 1, tau, fnorm[tau], bar(fnorm[tau], fmax, 22).c_str());
            for (int l = 1; l < N; l++)
                std::printf("  %.2e %-22s", fnorm[(size_t)l * nblocks + tau], bar(fnorm[(size_t)l * nblocks + tau], fmax, 22).c_str());
            std::printf("%s\n", tau == kb ? "  <- written by the key's block" : tau + 1 == ab ? "  <- read by the answer's block" : "");
        }
    } else {
        std::printf("      (skipped: needs a FAM model with M = 0)\n");
    }
    std::printf("\n");

    std::printf("[5/6] the same backward through BSWA with M = %d (random weights, same tokens): the gradient\n"
                "      stops where the receptive field ends, N x M = %d blocks before the answer's block\n", bswa_mem,
                N * bswa_mem);
    FamConfig cb = cfg;
    cb.attention = AttentionKind::Bswa;
    cb.M = bswa_mem;
    cb.F = 0;
    ModelWeights wb(cb);
    init_weights(wb, 1);
    ModelCache cbc;
    model_forward(cbc, wb, ex.tokens.data(), T);
    model_loss(cbc, wb, ex.targets.data(), ex.weights.data());
    InputGrads gb = backward_to_inputs(cbc, wb, ex.targets.data(), ex.weights.data());
    std::vector<float> bnorm(nblocks, 0.0f);
    for (int tau = 0; tau < nblocks; tau++)
        for (int t = tau * B; t < std::min(T, (tau + 1) * B); t++)
            bnorm[tau] = std::max(bnorm[tau], (float)norm(&gb.dx[0][(size_t)t * D], D));
    double bmax = *std::max_element(bnorm.begin(), bnorm.end());
    for (int tau = 0; tau < nblocks; tau++)
        std::printf("      block %2d  %.2e %s\n", tau, bnorm[tau], bar(bnorm[tau], bmax, 40).c_str());
    if (ab - N * bswa_mem > 0)
        std::printf("      (exactly 0.00e+00 before block %d: no path of attention reaches the answer from there)\n\n",
                    ab - N * bswa_mem);
    else
        std::printf("      (N x M reaches block 0: every block is inside the receptive field)\n\n");

    std::printf("[6/6] pictures and arrays\n");
    npy_save_f32(out + "/grad_input_norm.npy", gnorm.data(), {N + 1, T});
    npy_save_f32(out + "/grad_fam_norm.npy", fnorm.data(), {N, nblocks});
    {   // one bar per token: |dL/dx_t| at the input of layer 0; key tokens red, answer rows orange
        const double bw = 6, H0 = 160, x0 = 78, y0 = 40;
        std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string((int)(x0 + T * bw + 40)) +
                          "\" height=\"" + std::to_string((int)(y0 + H0 + 60)) +
                          "\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
                          "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">|dL/dx| at each input token "
                          "(layer 0 input), loss on the answer digits</text>\n";
        for (int tau = 1; tau < nblocks; tau++)
            svg += "<line x1=\"" + std::to_string(x0 + tau * B * bw) + "\" y1=\"" + std::to_string(y0) + "\" x2=\"" +
                   std::to_string(x0 + tau * B * bw) + "\" y2=\"" + std::to_string(y0 + H0) + "\" stroke=\"#ccc\"/>\n";
        for (int t = 0; t < T; t++) {
            const bool key = (t >= ex.key_pos && t < ex.key_pos + 5) || (t >= ex.key_pos + 9 && t < ex.key_pos + 14);
            const bool ans = t >= ex.answer_pos - 1 && t < ex.answer_pos + 4;
            const double h = H0 * gnorm[t] / gmax;
            svg += "<rect x=\"" + std::to_string(x0 + t * bw) + "\" y=\"" + std::to_string(y0 + H0 - h) + "\" width=\"" +
                   std::to_string(bw - 1) + "\" height=\"" + std::to_string(h) + "\" fill=\"" +
                   (key ? "#d62728" : ans ? "#e8893a" : "#4678be") + "\"><title>t=" + std::to_string(t) + " " +
                   vocab.words[ex.tokens[t]] + "</title></rect>\n";
        }
        // y axis: 0 at the baseline, the largest norm at the top
        char top[32];
        std::snprintf(top, sizeof top, "%.1e", gmax);
        svg += "<line x1=\"" + std::to_string(x0 - 3) + "\" y1=\"" + std::to_string(y0) + "\" x2=\"" + std::to_string(x0 - 3) +
               "\" y2=\"" + std::to_string(y0 + H0) + "\" stroke=\"#333\"/>\n";
        svg += "<text x=\"" + std::to_string(x0 - 6) + "\" y=\"" + std::to_string(y0 + 4) +
               "\" font-size=\"10\" text-anchor=\"end\" fill=\"#333\">" + top + "</text>\n";
        svg += "<text x=\"" + std::to_string(x0 - 6) + "\" y=\"" + std::to_string(y0 + H0) +
               "\" font-size=\"10\" text-anchor=\"end\" fill=\"#333\">0</text>\n";
        svg += "<text transform=\"translate(14," + std::to_string(y0 + H0 / 2) + ") rotate(-90)\" font-size=\"11\" "
               "text-anchor=\"middle\" fill=\"#333\">|dL/dx_t| (L2 over D)</text>\n";
        for (int tau = 0; tau < nblocks; tau++)
            svg += "<text x=\"" + std::to_string(x0 + (tau * B + 0.5 * std::min(B, T - tau * B)) * bw) + "\" y=\"" + std::to_string(y0 + H0 + 16) +
                   "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">block " + std::to_string(tau) + "</text>\n";
        svg += "<text x=\"" + std::to_string(x0 + T * bw / 2) + "\" y=\"" + std::to_string(y0 + H0 + 30) +
               "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#333\">input token t (one bar per token; grey lines: block "
               "boundaries, B = " + std::to_string(B) + ")</text>\n";
        svg += "<text x=\"10\" y=\"" + std::to_string(y0 + H0 + 48) + "\" font-size=\"11\" fill=\"#555\">red: the pass "
               "key's digits (both mentions); orange: the answer rows that carry the loss; blue: every other token</text>\n</svg>\n";
        write_file_atomic(out + "/grad_input_norm.svg", svg);
    }
    std::printf("      wrote %s/grad_input_norm.npy [N+1, T],\n"
                "      grad_fam_norm.npy [N, nblocks] (column tau: |dL/dF_{tau+1}|; the last column is 0),\n"
                "      grad_input_norm.svg\n\n",
                out.c_str());

    std::printf("try next: BSWA with M = 2, zero region ends N x M = 4 blocks before the answer:\n"
                "            build/walkthroughs/07_backward_fam_chain --bswa-mem 2\n"
                "          the loss on one answer digit only, which key digit lights up in [3/6]:\n"
                "            build/walkthroughs/07_backward_fam_chain --digit 0   (and --digit 3)\n"
                "          the same on random weights: build/walkthroughs/07_backward_fam_chain --model /nonexistent\n");
    std::printf("set a breakpoint at fam_layer_backward (src/fam_layer.cpp), at the tag `undo [Alg.2 steps 6-8]`\n"
                "          (break-tag, tools/gdb): `p tau` walks down from the last block; `pfloats dF_out %d %d` shows\n"
                "          dL/dF_{tau+1}, the gradient on the FAM leaving block tau; after fam_update_backward (src/\n"
                "          fam_update.cpp) and the step 2 undo, the buffer dF_in holds dL/dF_tau (`fam-io` prints both).\n",
                F, D);
    return 0;
}

int main(int argc, char** argv) { return run_program("07_backward_fam_chain", argc, argv, run); }
