// 08_text.cpp: a TransformerFAM that reads real text, byte by byte (the
// counterpart of the paper's long-context language modelling, Section 3), and
// what its FAM does while it reads (Section 2.2, Algorithm 2 steps 6-8).
//
// [1/5] the corpus: Genesis 1:1-2:3 (King James Version, public domain), built in,
//       or any file with --data; one token per byte (src/app/text.h)
// [2/5] training a tiny FAM model for a few seconds (src/app/train.h, the same loop
//       as `fam train --task text`): the held-out loss falls below the unigram entropy
// [3/5] sampling from it, through the constant-memory FamState (src/fam_state.h)
// [4/5] what the FAM holds while reading: how far each FAM row moves per block
// [5/5] the model, saved for `fam generate --prompt`
//
// Docs: docs/walkthroughs/08_text.md
// Run: build/walkthroughs/08_text [--out DIR] [--data FILE] [--steps S] [--seed S] [--prompt TEXT]
//      (--help lists them; the defaults give the docs' output)
#include <chrono>
#include <cmath>
#include <cstdio>

#include "blas.h"
#include "fam_state.h"
#include "model.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/text.h"
#include "app/train.h"
#include "app/viz.h"

// Genesis 1:1-2:3, King James Version (public domain), one verse per line.
static const char* kGenesis = R"KJV(In the beginning God created the heaven and the earth.
And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.
And God said, Let there be light: and there was light.
And God saw the light, that it was good: and God divided the light from the darkness.
And God called the light Day, and the darkness he called Night. And the evening and the morning were the first day.
And God said, Let there be a firmament in the midst of the waters, and let it divide the waters from the waters.
And God made the firmament, and divided the waters which were under the firmament from the waters which were above the firmament: and it was so.
And God called the firmament Heaven. And the evening and the morning were the second day.
And God said, Let the waters under the heaven be gathered together unto one place, and let the dry land appear: and it was so.
And God called the dry land Earth; and the gathering together of the waters called he Seas: and God saw that it was good.
And God said, Let the earth bring forth grass, the herb yielding seed, and the fruit tree yielding fruit after his kind, whose seed is in itself, upon the earth: and it was so.
And the earth brought forth grass, and herb yielding seed after his kind, and the tree yielding fruit, whose seed was in itself, after his kind: and God saw that it was good.
And the evening and the morning were the third day.
And God said, Let there be lights in the firmament of the heaven to divide the day from the night; and let them be for signs, and for seasons, and for days, and years:
And let them be for lights in the firmament of the heaven to give light upon the earth: and it was so.
And God made two great lights; the greater light to rule the day, and the lesser light to rule the night: he made the stars also.
And God set them in the firmament of the heaven to give light upon the earth,
And to rule over the day and over the night, and to divide the light from the darkness: and God saw that it was good.
And the evening and the morning were the fourth day.
And God said, Let the waters bring forth abundantly the moving creature that hath life, and fowl that may fly above the earth in the open firmament of heaven.
And God created great whales, and every living creature that moveth, which the waters brought forth abundantly, after their kind, and every winged fowl after his kind: and God saw that it was
good.
And God blessed them, saying, Be fruitful, and multiply, and fill the waters in the seas, and let fowl multiply in the earth.
And the evening and the morning were the fifth day.
And God said, Let the earth bring forth the living creature after his kind, cattle, and creeping thing, and beast of the earth after his kind: and it was so.
And God made the beast of the earth after his kind, and cattle after their kind, and every thing that creepeth upon the earth after his kind: and God saw that it was good.
And God said, Let us make man in our image, after our likeness: and let them have dominion over the fish of the sea, and over the fowl of the air, and over the cattle, and over all the earth, and
over every creeping thing that creepeth upon the earth.
So God created man in his own image, in the image of God created he him; male and female created he them.
And God blessed them, and God said unto them, Be fruitful, and multiply, and replenish the earth, and subdue it: and have dominion over the fish of the sea, and over the fowl of the air, and over
every living thing that moveth upon the earth.
And God said, Behold, I have given you every herb bearing seed, which is upon the face of all the earth, and every tree, in the which is the fruit of a tree yielding seed; to you it shall be for
meat.
And to every beast of the earth, and to every fowl of the air, and to every thing that creepeth upon the earth, wherein there is life, I have given every green herb for meat: and it was so.
And God saw every thing that he had made, and, behold, it was very good. And the evening and the morning were the sixth day.
Thus the heavens and the earth were finished, and all the host of them.
And on the seventh day God ended his work which he had made; and he rested on the seventh day from all his work which he had made.
And God blessed the seventh day, and sanctified it: because that in it he had rested from all his work which God created and made.
)KJV";

// The FAM change picture of [4/5]: x = block k, y = layer and FAM row j;
// colour = ||F_{k+1}[j] - F_k[j]||, how far row j moved while reading block k.
static HeatFigure fam_change_figure(const std::vector<float>& change, int blocks, const FamConfig& cfg,
                                    const std::vector<std::string>& block_text) {
    const int rows = cfg.N * cfg.F;  // change is [blocks, N, F]
    HeatPanel p;
    p.rows = rows;
    p.cols = blocks;
    p.v.resize((size_t)rows * blocks);
    for (int k = 0; k < blocks; k++)
        for (int r = 0; r < rows; r++) p.v[(size_t)r * blocks + k] = change[(size_t)k * rows + r];
    p.col.name = "block k (B = " + std::to_string(cfg.B) + " bytes): F_k -> F_{k+1}";
    for (int k = 0; k < blocks; k++) {
        p.col.label.push_back(k % 4 == 0 ? std::to_string(k) : "");
        p.col.group.push_back(0);
    }
    p.row.name = "layer, FAM row j";
    for (int r = 0; r < rows; r++) {
        p.row.label.push_back("L" + std::to_string(r / cfg.F) + " row " + std::to_string(r % cfg.F));
        p.row.group.push_back(r / cfg.F);  // a line between the layers
        p.row.fam.push_back(1);
    }
    HeatFigure f;
    f.title = "What the FAM does while reading: ||F_{k+1}[j] - F_k[j]|| per block k (layer, FAM row j)";
    f.panels.push_back(p);
    f.cell_px = 14;
    f.row_px = 14;
    f.scale = "how far the row moved (L2 norm)";
    f.boundary_caption = "line between layers";
    f.notes.push_back("block 0 starts from the initial FAM (the prompt pass, App. B.1) and its update uses a zero "
                      "residual; the text of each block is printed by the program");
    if (!block_text.empty()) f.notes.push_back("block 0 = \"" + block_text[0] + "\"");
    return f;
}

static int run(int argc, char** argv) {
    ArgParser args("08_text", "A tiny TransformerFAM learns text byte by byte, writes some, and shows its FAM reading.");
    args.option("out", "DIR", "where to write the pictures and the model", "build/walkthroughs/out")
        .option("data", "FILE", "train on this file instead of the built-in Genesis 1:1-2:3")
        .option("steps", "S", "training steps (windows of 64 bytes, 8 per step)", "150")
        .option("seed", "S", "seed of the weights, the windows and the sampling", "1")
        .option("prompt", "TEXT", "the prompt of [3/5]", "And God said, Let ");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const uint64_t seed = (uint64_t)args.integer("seed", 0);
    const int steps = (int)args.integer("steps", 1, 1000000);
    const std::string out = args.str("out") + "/08";
    make_dirs(out);
    blas_set_threads(1);

    // ---- [1/5] the corpus
    const TextCorpus corpus = args.given("data") ? load_text_corpus(args.str("data"), 10.0)
                                                 : make_text_corpus(kGenesis, 10.0, "Genesis 1:1-2:3 (built in)");
    std::printf("[1/5] corpus: %s, %ld bytes = %ld tokens (one per byte, V = 256)\n", corpus.name.c_str(),
                corpus.size(), corpus.size());
    std::printf("      training split: the first %ld bytes; validation split: the last 10%% = %ld bytes\n",
                corpus.n_train, corpus.n_val());
    const double unigram = unigram_entropy_bits(corpus.tokens, corpus.n_train, corpus.size());
    std::printf("      unigram entropy of the validation split: %.3f bits/byte (a model that ignores context)\n", unigram);

    // ---- [2/5] train
    FamConfig c;
    c.V = kByteVocab;
    c.D = 32;
    c.H = 2;
    c.N = 2;
    c.Dff = 96;
    c.attention = AttentionKind::Fam;
    c.B = 8;
    c.M = 1;
    c.F = 4;
    c.validate();
    ModelWeights w(c);
    init_weights(w, seed);
    TrainConfig tc;
    tc.task = "text";
    tc.window = 64;
    tc.val_percent = 10.0f;
    tc.steps = steps;
    tc.batch = 8;
    tc.opt.lr = 1e-2f;
    tc.opt.warmup = 20;
    tc.opt.schedule = "cosine";
    tc.opt.total_steps = steps;
    tc.seed = seed;
    tc.threads = 2;
    TextSource source(corpus, tc.window);
    const int val_window = (int)std::min<long>(tc.window, corpus.n_val() - 1);
    const std::vector<int> edges{0, val_window};
    std::printf("[2/5] training %s (%zu parameters), %d steps x %d windows of %d bytes\n", c.describe().c_str(),
                count_params(c), steps, tc.batch, tc.window);
    auto t0 = std::chrono::steady_clock::now();
    TrainState st;
    train(w, st, tc, source, [&](const StepStats& s, const TrainState&) {
        if (s.step % 50 == 0 || s.step == steps) {
            TextLoss v = eval_text(w, corpus, val_window, 1 << 20, edges, 2);
            std::printf("      step %4ld: training loss %.3f bits/byte, validation %.3f bits/byte\n", s.step,
                        s.loss / std::log(2.0), v.bits_per_byte);
        }
    });
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const TextLoss v = eval_text(w, corpus, val_window, 1 << 20, edges, 2);
    std::printf("      validation: %.3f bits/byte = %.0f%% of the unigram entropy (trained in %.1f s)\n",
                v.bits_per_byte, 100.0 * v.bits_per_byte / unigram, sec);

    // ---- [3/5] sample through the streaming state (constant memory, App. D.4)
    const std::string prompt = args.str("prompt");
    if (prompt.empty()) throw UsageError("08_text: --prompt must not be empty");
    std::vector<int> ptok = text_to_tokens(prompt), gen(160);
    FamState fs(w.cfg);
    stream_reset(fs, w);
    stream_generate(fs, w, ptok.data(), (int)ptok.size(), (int)gen.size(), 0.7f, 10, seed, gen.data());
    std::printf("[3/5] a sample (temperature 0.7, top-10, seed %llu) after the prompt \"%s\":\n\n%s\n\n",
                (unsigned long long)seed, prompt.c_str(), printable_text(prompt + tokens_to_text(gen)).c_str());

    // ---- [4/5] the FAM while reading the first 32 blocks of the validation text
    const int blocks = (int)std::min<long>(32, (corpus.n_val() - 1) / c.B);
    const int* text = corpus.tokens.data() + corpus.n_train;
    FamState rs(w.cfg);
    stream_reset(rs, w);
    std::vector<float> prev = stream_fam(rs), change((size_t)blocks * c.N * c.F);  // [blocks, N, F]
    std::vector<std::string> block_text;
    std::printf("[4/5] reading %d blocks of validation text: how far each layer's FAM moves per block\n", blocks);
    std::printf("      (mean over its %d rows of ||F_{k+1}[j] - F_k[j]||; Alg. 2 steps 6-8 run once per block)\n", c.F);
    std::printf("      %5s  %-*s  %8s %8s\n", "block", c.B + 2, "text", "layer 0", "layer 1");
    for (int k = 0; k < blocks; k++) {
        stream_prefill(rs, w, text + (size_t)k * c.B, c.B, nullptr);
        std::vector<float> now = stream_fam(rs);  // [N, F, D]
        double layer_mean[2] = {0, 0};
        for (int l = 0; l < c.N; l++)
            for (int j = 0; j < c.F; j++) {
                double s = 0;
                for (int d = 0; d < c.D; d++) {
                    const size_t i = ((size_t)l * c.F + j) * c.D + d;
                    s += (double)(now[i] - prev[i]) * (now[i] - prev[i]);
                }
                change[((size_t)k * c.N + l) * c.F + j] = (float)std::sqrt(s);
                if (l < 2) layer_mean[l] += std::sqrt(s) / c.F;
            }
        std::string bt = printable_text(tokens_to_text(std::vector<int>(text + (size_t)k * c.B, text + (size_t)(k + 1) * c.B)));
        for (char& ch : bt)
            if (ch == '\n') ch = '/';  // one line per block
        block_text.push_back(bt);
        if (k < 12 || k == blocks - 1)
            std::printf("      %5d  \"%s\"  %8.3f %8.3f\n", k, bt.c_str(), layer_mean[0], layer_mean[1]);
        else if (k == 12)
            std::printf("      %5s\n", "...");
        prev = now;
    }
    HeatFigure fig = fam_change_figure(change, blocks, c, block_text);
    heatmap_figure_png(out + "/fam_change.png", fig);
    write_file_atomic(out + "/fam_change.svg", heatmap_figure_svg(fig));
    std::printf("      picture: %s/fam_change.png (.svg): every FAM row of both layers, one column per block\n",
                out.c_str());

    // ---- [5/5] save for fam generate
    const std::string path = out + "/text_fam.safetensors";
    const std::map<std::string, std::string> task_meta{{"task.tokenizer", kByteTokenizer}, {"task.vocab_size", "256"}};
    save_train_checkpoint(path, w, st, tc, task_meta);
    std::printf("[5/5] wrote %s; try:\n      build/fam generate --model %s --prompt \"And God \" --max-new 120 "
                "--temperature 0.7 --top-k 10\n",
                path.c_str(), path.c_str());
    return 0;
}

int main(int argc, char** argv) { return run_program("08_text", argc, argv, run); }
