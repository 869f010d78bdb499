// 05_fam_memory_passkey.cpp: the FAM as working memory, on a model that learned
// to use it: a small TransformerFAM trained on PassKey retrieval (paper §3.2,
// App. D.1). By default it loads the model shipped in models/ (trained by this
// very program with --train: 1500 steps, about 4-8 minutes on 2 cores), then
// watches what the FAM wrote when the pass key went by and who read it when the
// question came. M = 0: a block sees no earlier block at all, so the FAM is the
// only way the key can reach the answer.
//
// Docs: docs/walkthroughs/05_fam_memory_passkey.md
// Run: build/walkthroughs/05_fam_memory_passkey [--out DIR] [--model FILE] [--train [--steps S]]
//      [--filler L] [--seed S] [--layer l] [--eval L,...] [--samples N]
//      (--help lists them; the defaults give the output shown in the docs)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sys/stat.h>

#include "blas.h"
#include "model.h"
#include "app/args.h"
#include "app/checkpoint.h"
#include "app/tasks.h"
#include "app/train.h"
#include "app/viz.h"

static std::string bar(double v, double vmax, int width) {
    int n = vmax > 0 ? (int)std::lround(width * v / vmax) : 0;
    return std::string(std::max(0, std::min(width, n)), '#');
}

static int run(int argc, char** argv) {
    ArgParser args("05_fam_memory_passkey", "A small FAM model trained on PassKey, and what its memory does.");
    args.option("out", "DIR", "where to write the pictures (and the model, with --train)", "build/walkthroughs/out")
        .option("model", "FILE", "the trained checkpoint to look at", "models/passkey_fam.safetensors")
        .flag("train", "train the model here instead of loading one (about 4-8 minutes on 2 cores)")
        .option("steps", "S", "training steps with --train", "1500")
        .option("filler", "L", "filler tokens of the example watched in [1/6] and [4/6]-[6/6] (training saw 0..100)", "100")
        .option("seed", "S", "seed of that example (another seed, another key)", "1")
        .option("layer", "l", "the layer whose FAM [4/6] and [5/6] look at", "0")
        .option("eval", "L,...", "filler lengths [3/6] measures the accuracy at", "0,100,200")
        .option("samples", "N", "examples per filler length in [3/6]", "50");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const int filler = (int)args.integer("filler", 0, 100000), layer = (int)args.integer("layer", 0, 64),
              samples = (int)args.integer("samples", 1, 100000);
    const std::vector<long long> evals = args.int_list("eval");
    const std::string out = args.str("out") + "/05";
    make_dirs(out);
    blas_set_threads(1);
    const Vocab vocab = passkey_vocab();

    std::printf("[1/6] the task (paper App. D.1): find the pass key after the filler; loss on the answer only\n");
    Rng ex_rng((uint64_t)args.integer("seed", 0));
    PasskeyExample ex = make_passkey_example(vocab, ex_rng, filler, 5);
    const int T = (int)ex.tokens.size(), B = 16;
    std::printf("      %d tokens, blocks of B = %d:\n", T, B);
    for (int t = 0; t < T; t++) {
        if (t % B == 0) std::printf("%s      |%d ", t ? "\n" : "", t / B);
        std::printf("%s ", vocab.words[ex.tokens[t]].c_str());
    }
    const int k2 = ex.key_pos + 5 + 4;  // "The pass key is K . Remember it . K is the pass key ."
    std::printf("\n      key %s at t = %d..%d and %d..%d (block %d); the answer is predicted at t = %d..%d (block %d)\n\n",
                ex.key.c_str(), ex.key_pos, ex.key_pos + 4, k2, k2 + 4, ex.key_pos / B, ex.answer_pos - 1,
                ex.answer_pos + 3, (ex.answer_pos - 1) / B);

    std::printf("[2/6] a small TransformerFAM and its training (paper §3.2: PassKey fine-tuning)\n");
    ModelWeights w;
    if (!args.flag_set("train")) {
        const std::string path = args.str("model");
        struct stat sb;
        if (stat(path.c_str(), &sb) != 0) {
            std::fprintf(stderr, "05_fam_memory_passkey: no model at %s (run from the repository root, pass --model FILE, "
                                 "or --train to train one here)\n", path.c_str());
            return 1;
        }
        TrainState st;
        Vocab v2;
        load_train_checkpoint(path, w, st, &v2);
        std::printf("      loaded %s: %s\n      (trained by this program with --train; no training now)\n\n", path.c_str(),
                    w.cfg.describe().c_str());
    } else {
        // D=64 H=4 N=2 Dff=256 B=16 F=8, and no memory segment (M = 0): everything
        // older than the block must come through the FAM
        FamConfig c = passkey_model_config(vocab.size());
        TrainConfig tc;
        tc.filler_min = 0;
        tc.filler_max = 100;
        tc.steps = (int)args.integer("steps", 1, 1000000);
        tc.batch = 16;
        tc.opt.lr = 2e-3f;
        tc.opt.total_steps = tc.steps;
        tc.seed = 1;
        tc.threads = 2;
        w = ModelWeights(c);
        init_weights(w, tc.seed);
        std::printf("      %s, %zu parameters\n", c.describe().c_str(), count_params(c));
        std::printf("      AdamW lr %.0e, %d steps x %d sequences, filler 0..100 tokens; this takes about\n"
                    "      2-4 minutes on 2 idle cores (same as: build/fam train --attention fam --block 16 --fam 8\n"
                    "      --mem 0 --filler 0:100 --steps %d --seed 1 --out m.safetensors)\n",
                    tc.opt.lr, tc.steps, tc.batch, tc.steps);
        TrainState st;
        auto t0 = std::chrono::steady_clock::now();
        double loss = 0, acc = 0;
        int n = 0;
        train(w, st, tc, vocab, [&](const StepStats& s, const TrainState&) {
            loss += s.loss, acc += s.accuracy, n++;
            if (s.step % 100 == 0 || s.step == tc.steps) {
                double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                std::printf("      step %4ld/%d  loss %.3f  train accuracy %.2f  (%.0f s, about %.0f s to go)\n", s.step,
                            tc.steps, loss / n, acc / n, el, el / s.step * (tc.steps - s.step));
                std::fflush(stdout);
                loss = acc = 0, n = 0;
            }
        });
        save_train_checkpoint(out + "/passkey_fam.safetensors", w, st, tc, vocab);
        std::printf("      saved %s/passkey_fam.safetensors (next time: --model that file skips training;\n"
                    "      walkthrough 07 picks it up from there)\n\n", out.c_str());
    }

    if (w.cfg.fam_len() == 0 || layer >= w.cfg.N) {
        std::fprintf(stderr, "05_fam_memory_passkey: %s; this walkthrough needs a FAM model (F > 0) and --layer < N "
                             "(compare a BSWA model with build/fam viz --compare)\n", w.cfg.describe().c_str());
        return 1;
    }
    std::printf("[3/6] does it work? exact match of all 5 digits, %d fresh examples per filler length\n", samples);
    std::string longer;  // "200" or "200, 400": fillers longer than any training example
    int nlonger = 0;
    for (long long fl : evals) {
        if (fl < 0) throw UsageError("05_fam_memory_passkey: --eval lengths must be >= 0");
        std::printf("      filler %3lld: accuracy %.2f\n", fl, eval_passkey(w, vocab, (int)fl, samples, 7).exact);
        if (fl > 100) longer += (nlonger++ ? ", " : "") + std::to_string(fl);
    }
    if (nlonger)
        std::printf("      (chance is 1e-5; filler%s %s %s longer than anything seen in training)\n\n", nlonger > 1 ? "s" : "",
                    longer.c_str(), nlonger > 1 ? "are" : "is");
    else
        std::printf("      (chance is 1e-5)\n\n");

    std::vector<std::string> words;
    for (int t : ex.tokens) words.push_back(vocab.words[t]);
    VizRun r = viz_run(w, ex.tokens, words, "fam");  // model_forward with the observer hook attached
    std::printf("[4/6] what the FAM wrote when the key went by: layer %d, block %d, the FAM update's attention\n"
                "      mass on each token of the block (mean over the %d FAM rows and %d heads; Alg. 2 step 7)\n",
                layer, ex.key_pos / B, r.F, r.H);
    const std::vector<float> wr_all = fam_write(r);  // [N, T]
    const float* wr = &wr_all[(size_t)layer * T];
    const int kb = ex.key_pos / B;
    double wmax = 0;
    for (int t = kb * B; t < kb * B + B; t++) wmax = std::max(wmax, (double)wr[t]);
    for (int t = kb * B; t < kb * B + B; t++) {
        const bool key = (t >= ex.key_pos && t < ex.key_pos + 5) || (t >= k2 && t < k2 + 5);
        std::printf("      t=%3d %-9s %.3f %s%s\n", t, words[t].c_str(), wr[t], bar(wr[t], wmax, 30).c_str(),
                    key ? "  <- key" : "");
    }
    // The FAM rows of block kb's update write F_{kb+1} (docs/spec.md, "FAM index
    // convention"): row j is labelled F<kb+1>.<j>.
    std::string heads = "head 0";  // "head 0 + 1 + 2 + 3"
    for (int h = 1; h < r.H; h++) heads += " + " + std::to_string(h);
    std::printf("      and which block token each FAM row read most (%s); row j of the\n"
                "      update writes row j of F_%d (F%d.j), the FAM leaving block %d:\n      ",
                heads.c_str(), kb + 1, kb + 1, kb);
    {
        const VizBlock& b = r.blocks[layer][kb];
        for (int j = 0; j < r.F; j++) {
            int best = 0;
            double bv = -1;
            for (int s = 0; s < B; s++) {
                double m = 0;
                for (int h = 0; h < r.H; h++) m += b.P[((size_t)h * b.R + B + j) * b.C + r.M * r.B + r.F + s];
                if (m > bv) bv = m, best = s;
            }
            std::printf("F%d.%d->%s(t%d) ", kb + 1, j, words[kb * B + best].c_str(), kb * B + best);
            if (j == r.F / 2 - 1) std::printf("\n      ");
        }
    }
    if (kb + 3 < (ex.answer_pos - 1) / B) {  // block kb+3 lies in the filler
        std::printf("\n      a block far from the key writes filler instead:\n");
        std::string ascii = memory_write_ascii(r, layer, 3);  // one line per block
        size_t a = 0;
        for (int i = 0; i < kb + 3; i++) a = ascii.find('\n', a) + 1;
        std::printf("      %s", ascii.substr(a, ascii.find('\n', a) + 1 - a).c_str());
    } else {
        std::printf("\n      (the filler is too short for a block far from the key)\n");
    }
    FocusStats f0 = focus_stats(r, layer, [&] {
        std::vector<int> p;
        for (int i = 0; i < 5; i++) p.push_back(ex.key_pos + i), p.push_back(k2 + i);
        return p;
    }(), {ex.answer_pos - 1, ex.answer_pos, ex.answer_pos + 1, ex.answer_pos + 2, ex.answer_pos + 3});
    std::printf("      layer %d: %.3f per key token vs %.3f per other token of block %d: x%.0f\n\n", layer, f0.write_on,
                f0.write_off, kb, f0.write_on / f0.write_off);

    const int ab = (ex.answer_pos - 1) / B;
    std::printf("[5/6] who reads the memory when the question comes: layer %d, the rows that predict the\n"
                "      answer digits, their attention on the %d FAM keys, the rows of F_%d that entered\n"
                "      block %d (mean over heads; Alg. 2 step 4)\n",
                layer, r.F, ab, ab);
    {
        const VizBlock& b = r.blocks[layer][ab];
        std::printf("                  ");
        for (int j = 0; j < r.F; j++) std::printf(" %5s", ("F" + std::to_string(ab) + "." + std::to_string(j)).c_str());
        std::printf("   sum\n");
        for (int t = ex.answer_pos - 1; t < ex.answer_pos + 4; t++) {
            const int i = t - ab * B;
            double sum = 0;
            std::printf("      t=%3d %-6s", t, words[t].c_str());
            for (int j = 0; j < r.F; j++) {
                double m = 0;
                for (int h = 0; h < r.H; h++) m += b.P[((size_t)h * b.R + i) * b.C + r.M * r.B + j];
                std::printf(" %5.2f", m / r.H);
                sum += m / r.H;
            }
            std::printf(" %5.2f  -> predicts %s\n", sum, passkey_prediction(r.logits.data(), w.cfg.V, ex).substr(t - ex.answer_pos + 1, 1).c_str());
        }
        std::printf("      every other token row puts %.2f on the FAM keys on average (layer %d); prediction %s,\n"
                    "      key %s\n\n",
                    f0.read_off, layer, passkey_prediction(r.logits.data(), w.cfg.V, ex).c_str(), ex.key.c_str());
    }

    std::printf("[6/6] pictures: attention over time (paper Fig. 4), block maps (Fig. 11), the memory strips\n");
    VizOptions opt;
    for (int i = 0; i < 5; i++) opt.highlight.push_back(ex.key_pos + i), opt.highlight.push_back(k2 + i);
    for (int i = 0; i < 5; i++) opt.queries.push_back(ex.answer_pos - 1 + i);
    opt.blocks = {kb, r.nblocks - 1};
    opt.title = "05: the FAM of a PassKey model";
    std::vector<std::string> files = viz_write_all(out + "/viz", r, nullptr, opt);
    std::printf("      wrote %zu files to %s/viz/: open index.html and animation.html (slider at block %d)\n\n",
                files.size(), out.c_str(), kb);

    const std::string model_path = args.flag_set("train") ? out + "/passkey_fam.safetensors" : args.str("model");
    std::printf("try next: a filler 3x longer than training: does layer 0 still write the key, do the answer rows read it?\n"
                "            build/walkthroughs/05_fam_memory_passkey --filler 300 --eval 300,600\n"
                "          another key, and layer 1's memory\n"
                "            build/walkthroughs/05_fam_memory_passkey --seed 2 --layer 1\n"
                "          BSWA with M = 1 next to this model (its answer rows cannot see the key):\n"
                "            build/fam train --attention bswa --mem 1 --fam 0 --filler 0:100 --steps 1500 --seed 1 --out bswa.safetensors\n"
                "            build/fam eval --model bswa.safetensors --filler 0,100,200\n"
                "            build/fam viz --model %s --compare bswa.safetensors --task passkey --out /tmp/v\n"
                "          random state passing (App. B.2.3), then this walkthrough on the result:\n"
                "            build/fam train --attention fam --block 16 --fam 8 --mem 0 --filler 0:100 --steps 1500 --seed 1\n"
                "              --rsp 0.8 --out rsp.safetensors\n"
                "            build/walkthroughs/05_fam_memory_passkey --model rsp.safetensors --eval 0,100,200,400\n",
                model_path.c_str());
    std::printf("set a breakpoint at VizRecorder::record (src/app/viz.cpp), condition `layer == %d && b.tau == %d`:\n"
                "          b is the BlockCache (src/fam_layer.h); `p b.update`, then `pfloats b.upd.P %d %d` (tools/gdb)\n"
                "          shows head 0's FAM rows (F_%d being written) over [F_%d keys | block %d], the map of [4/6]\n"
                "          for one head; the update itself: fam_update (src/fam_update.cpp), tag [Alg.2 step 7].\n",
                layer, kb, r.F, r.F + B, kb + 1, kb, kb);
    return 0;
}

int main(int argc, char** argv) { return run_program("05_fam_memory_passkey", argc, argv, run); }
