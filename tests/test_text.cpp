// test_text.cpp: the text task (src/app/text.h: byte tokenizer, corpus split,
// training windows, validation loss by position, PassKey in real text) and the
// retrofit of FAM onto BSWA (src/app/convert.h), with the token path of the
// converted model held exactly to the BSWA model's when the FAM keys are masked.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "fam_layer.h"
#include "model.h"
#include "ops.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/convert.h"
#include "app/text.h"
#include "app/train.h"
#include "model_util.h"
#include "run_cli.h"
#include "temp_dir.h"

// A small structured text made here (tests never read a corpus from disk): short
// sentences from a few words, so a tiny model learns it in a few dozen steps.
static std::string small_text(int sentences, uint64_t seed) {
    static const char* subj[] = {"The king", "A shepherd", "His servant", "The people", "My brother"};
    static const char* verb[] = {" went up to", " spoke unto", " looked upon", " came down to"};
    static const char* obj[] = {" the city", " the mountain", " the river", " the house of God"};
    Rng rng(seed);
    std::string s;
    for (int i = 0; i < sentences; i++)
        s += std::string(subj[rng.randint(0, 4)]) + verb[rng.randint(0, 3)] + obj[rng.randint(0, 3)] + ".\n";
    return s;
}

TEST_CASE("text: the byte tokenizer is the identity on bytes, and printable_text escapes the rest") {
    std::string all;
    for (int b = 0; b < 256; b++) all += (char)b;
    std::vector<int> ids = text_to_tokens(all);
    REQUIRE(ids.size() == 256);
    for (int b = 0; b < 256; b++) CHECK(ids[b] == b);
    CHECK(tokens_to_text(ids) == all);
    CHECK_THROWS_AS(tokens_to_text({65, 256}), std::invalid_argument);
    CHECK_THROWS_AS(tokens_to_text({-1}), std::invalid_argument);
    CHECK(printable_text("a\x01\n\xC3\xA9\xFF") == "a\\x01\n\xC3\xA9\\xFF");  // valid UTF-8 kept whole
    CHECK(is_text_model({{"task.tokenizer", "bytes"}}));
    CHECK_FALSE(is_text_model({{"task", "passkey"}}));
}

TEST_CASE("text: the corpus split holds out the last val_percent of the file; too short files are refused") {
    std::string text = small_text(200, 1);
    TextCorpus c = make_text_corpus(text, 10.0, "mem");
    CHECK(c.size() == (long)text.size());
    CHECK(c.n_val() == std::lround(text.size() * 0.10));
    CHECK(c.n_train + c.n_val() == c.size());
    CHECK_THROWS_AS(make_text_corpus("short text", 10.0, "tiny"), std::invalid_argument);
    CHECK_THROWS_AS(make_text_corpus(text, 0.0, "mem"), std::invalid_argument);
    CHECK_THROWS_AS(make_text_corpus(text, 100.0, "mem"), std::invalid_argument);
    CHECK_THROWS_AS(load_text_corpus("/nonexistent/book.txt", 5.0), std::invalid_argument);
    // unigram entropy: 0 for one symbol, 1 bit for two equally frequent ones
    std::vector<int> ab = text_to_tokens("aaaabbbb");
    CHECK(unigram_entropy_bits(ab, 0, 4) == 0.0);
    CHECK(unigram_entropy_bits(ab, 0, 8) == doctest::Approx(1.0));
}

TEST_CASE("text: training windows are contiguous training text with the next byte as target everywhere") {
    TextCorpus c = make_text_corpus(small_text(200, 2), 10.0, "mem");
    const int window = 40;
    TextSource src(c, window);
    Rng rng(3), rng2(3);
    std::set<int> starts_seen;
    for (int k = 0; k < 200; k++) {
        TrainExample ex = src.draw(rng, k);
        REQUIRE(ex.tokens.size() == (size_t)window);
        REQUIRE(ex.targets.size() == (size_t)window);
        for (int t = 0; t + 1 < window; t++) CHECK(ex.targets[t] == ex.tokens[t + 1]);
        for (float x : ex.weights) CHECK(x == 1.0f);
        CHECK(ex.score_len == 0);
        // find where it came from: it must lie inside the training part, target included
        long start = -1;
        for (long s = 0; s + window < c.size() && start < 0; s++)
            if (std::equal(ex.tokens.begin(), ex.tokens.end(), c.tokens.begin() + s) &&
                c.tokens[s + window] == ex.targets[window - 1])
                start = s;
        REQUIRE(start >= 0);
        CHECK(start + window + 1 <= c.n_train);
        starts_seen.insert((int)start);
        TrainExample again = src.draw(rng2, k);  // deterministic in the generator
        CHECK(again.tokens == ex.tokens);
    }
    CHECK(starts_seen.size() > 100);  // random starts, not one window over and over
    CHECK_THROWS_AS(TextSource(c, (int)c.n_train), std::invalid_argument);
}

TEST_CASE("text: eval_text's buckets add up to its loss, match model_forward, and ignore the thread count") {
    TextCorpus c = make_text_corpus(small_text(300, 4), 20.0, "mem");
    FamConfig cfg = make_cfg(AttentionKind::Fam, 8, 1, 4, kByteVocab, 16, 2, 2, 32);
    ModelWeights w = random_model(cfg, 5);
    const int window = 50;
    std::vector<int> edges = position_buckets(window, 8);
    CHECK(edges == std::vector<int>{0, 8, 16, 32, 50});
    TextLoss a = eval_text(w, c, window, 3, edges, 2), b = eval_text(w, c, window, 3, edges, 1);
    CHECK(a.loss == b.loss);
    CHECK(a.bucket_loss == b.bucket_loss);
    CHECK(a.windows == 3);
    double weighted = 0;
    for (size_t k = 0; k + 1 < edges.size(); k++) weighted += a.bucket_loss[k] * (edges[k + 1] - edges[k]);
    CHECK(weighted / window == doctest::Approx(a.loss).epsilon(1e-9));
    CHECK(a.bits_per_byte == doctest::Approx(a.loss / std::log(2.0)));
    // by hand: the first validation window through model_forward + model_loss
    std::vector<long> starts = validation_starts(c, window, 3);
    REQUIRE(starts.size() == 3);
    CHECK(starts[0] == c.n_train);
    CHECK(starts[1] == c.n_train + window);
    double by_hand = 0;
    for (long s : starts) {
        ModelCache mc;
        model_forward(mc, w, c.tokens.data() + s, window);
        by_hand += model_loss(mc, w, c.tokens.data() + s + 1, nullptr);
    }
    CHECK(a.loss == doctest::Approx(by_hand / 3).epsilon(1e-6));
}

TEST_CASE("text: a small model trained on text beats the unigram entropy and resumes bit for bit") {
    TempDir dir("fam_test_text");
    TextCorpus c = make_text_corpus(small_text(400, 6), 10.0, "mem");
    FamConfig cfg = make_cfg(AttentionKind::Fam, 8, 0, 4, kByteVocab, 32, 2, 1, 64);
    TrainConfig tc;
    tc.task = "text";
    tc.data = "mem";
    tc.window = 32;
    tc.steps = 60;
    tc.batch = 4;
    tc.opt.lr = 1e-2f;
    tc.opt.warmup = 5;
    tc.seed = 7;
    tc.threads = 2;
    tc.opt.total_steps = tc.steps;
    TextSource src(c, tc.window);
    const std::map<std::string, std::string> meta{{"task.tokenizer", kByteTokenizer}};

    ModelWeights wa(cfg);
    init_weights(wa, tc.seed);
    TrainState sa;
    const std::string mid = dir.path + "/mid.safetensors";
    train(wa, sa, tc, src, [&](const StepStats& s, const TrainState& st) {
        if (s.step == 30) save_train_checkpoint(mid, wa, st, tc, meta);
    });
    const std::vector<int> edges{0, tc.window};
    TextLoss v = eval_text(wa, c, tc.window, 8, edges, 2);
    const double unigram = unigram_entropy_bits(c.tokens, c.n_train, c.size());
    INFO("validation " << v.bits_per_byte << " bits/byte, unigram entropy " << unigram);
    CHECK(v.bits_per_byte < 0.8 * unigram);  // it uses context, not just byte frequencies

    // resume from step 30 on one thread: the same weights, bit for bit
    ModelWeights wb;
    TrainState sb;
    std::map<std::string, std::string> got;
    load_train_checkpoint(mid, wb, sb, nullptr, &got);
    CHECK(is_text_model(got));
    CHECK(got.at("task") == "text");
    TrainConfig tb = train_config_from_json_text(got.at("train.config"));
    CHECK(tb.task == "text");
    CHECK(tb.window == tc.window);
    CHECK(tb.val_percent == tc.val_percent);
    CHECK(tb.data == "mem");
    tb.threads = 1;
    tb.opt.total_steps = tb.steps;
    train(wb, sb, tb, src, [](const StepStats&, const TrainState&) {});
    REQUIRE(wb.buffer.size() == wa.buffer.size());
    CHECK(std::memcmp(wb.buffer.data(), wa.buffer.data(), sizeof(float) * wa.buffer.size()) == 0);
}

TEST_CASE("text: PassKey in real text hides the key in held-out corpus text and asks for it at the end") {
    TextCorpus c = make_text_corpus(small_text(300, 8), 20.0, "mem");
    Rng rng(9);
    TextPasskey ex = make_text_passkey(c, rng, 120, 5);
    std::string s = tokens_to_text(ex.tokens);
    REQUIRE(ex.key.size() == 5);
    CHECK(ex.key[0] != '0');
    CHECK(s.rfind("The pass key is " + ex.key + ". Remember it. " + ex.key + " is the pass key. ", 0) == 0);
    CHECK(s.substr(ex.answer_pos) == ex.key);
    CHECK(s.substr(ex.answer_pos - 39, 39) == " What is the pass key? The pass key is ");
    const int head = (int)(std::string("The pass key is ") + ex.key + ". Remember it. " + ex.key + " is the pass key. ").size();
    CHECK(ex.answer_pos - 39 - head == 120);
    // the filler is a contiguous slice of the validation part
    std::vector<int> filler(ex.tokens.begin() + head, ex.tokens.begin() + head + 120);
    bool found = false;
    for (long p = c.n_train; p + 120 <= c.size() && !found; p++)
        found = std::equal(filler.begin(), filler.end(), c.tokens.begin() + p);
    CHECK(found);
    CHECK_THROWS_AS(make_text_passkey(c, rng, (int)c.n_val() + 1, 5), std::invalid_argument);

    FamConfig cfg = make_cfg(AttentionKind::Fam, 8, 0, 4, kByteVocab, 16, 2, 1, 32);
    ModelWeights w = random_model(cfg, 10);
    TextPasskeyScore a = eval_text_passkey(w, c, 40, 6, 1, 5, 2), b = eval_text_passkey(w, c, 40, 6, 1, 5, 1);
    CHECK(a.exact == b.exact);
    CHECK(a.digit == b.digit);
    CHECK(a.answer_bits == doctest::Approx(b.answer_bits));
    CHECK((a.exact >= 0 && a.exact <= a.digit && a.digit <= 1));
    CHECK((std::isfinite(a.answer_bits) && a.answer_bits > 0));
}

// ---- fam convert --------------------------------------------------------------------------

TEST_CASE("convert: a BSWA model becomes a FAM model with every weight kept and exactly F x D new parameters") {
    for (int M : {0, 2}) {
        FamConfig bc = make_cfg(AttentionKind::Bswa, 4, M, 0, 11, 8, 2, 2, 12);
        ModelWeights b = random_model(bc, 21);
        const int F = 3;
        ModelWeights f = convert_bswa_to_fam(b, F, 5);
        CHECK(f.cfg.attention == AttentionKind::Fam);
        CHECK(f.cfg.F == F);
        CHECK(f.cfg.M == M);
        CHECK(f.cfg.B == bc.B);
        CHECK(f.buffer.size() == b.buffer.size() + (size_t)F * bc.D);
        CHECK(count_params(f.cfg) == count_params(bc) + (size_t)F * bc.D);
        for (const Param& p : b.params) {
            const Param& q = f.param(p.name);
            REQUIRE(q.size == p.size);
            CHECK_MESSAGE(std::memcmp(q.data, p.data, sizeof(float) * p.size) == 0, p.name);
        }
        // fam_prompt: a fresh FAM model's, from the seed
        ModelWeights fresh(f.cfg);
        init_weights(fresh, 5);
        CHECK(std::memcmp(f.fam_prompt, fresh.fam_prompt, sizeof(float) * F * bc.D) == 0);
    }
    FamConfig bc = make_cfg(AttentionKind::Bswa, 4, 1, 0);
    ModelWeights b = random_model(bc, 1);
    CHECK_THROWS_AS(convert_bswa_to_fam(b, 0, 1), std::invalid_argument);
    CHECK_THROWS_AS(convert_bswa_to_fam(b, -2, 1), std::invalid_argument);
    ModelWeights f = convert_bswa_to_fam(b, 2, 1);
    CHECK_THROWS_WITH_AS(convert_bswa_to_fam(f, 2, 1), doctest::Contains("already a FAM model"), std::invalid_argument);
    ModelWeights full = random_model(make_cfg(AttentionKind::Full, 4, 0, 0), 1);
    CHECK_THROWS_AS(convert_bswa_to_fam(full, 2, 1), std::invalid_argument);
}

// The converted model's token path, run layer by layer through fam_layer_forward
// with a block plan whose masks hide the FAM key columns from the token rows:
// token rows then see exactly the BSWA keys (memory blocks + causal block).
// Returns the logits [T, V] (and every layer's output in xs).
static std::vector<float> token_path_without_fam(const ModelWeights& f, const std::vector<int>& tokens, bool mask_fam,
                                                 std::vector<std::vector<float>>& xs) {
    const FamConfig& cfg = f.cfg;
    const int T = (int)tokens.size(), D = cfg.D, F = cfg.F, N = cfg.N;
    BlockPlan plan = make_block_plan(cfg, T);
    int hidden = 0;
    if (mask_fam)
        for (Mask& m : plan.masks)
            for (int r = 0; r < m.rows; r++) {
                if (m.row_axis.pos[r] < 0) continue;  // FAM query rows: their update is not the token path
                for (int j = 0; j < F; j++) {
                    hidden += m.m[(size_t)r * m.cols + plan.fam_col() + j];
                    m.m[(size_t)r * m.cols + plan.fam_col() + j] = 0;
                }
            }
    if (mask_fam) REQUIRE(hidden > 0);  // the plan's masks did give token rows the FAM keys
    std::vector<float> fam0 = initial_fam(f), fam_final((size_t)F * D), pos(F);
    for (int j = 0; j < F; j++) pos[j] = (float)(j - F);
    xs.assign(N + 1, std::vector<float>((size_t)T * D));
    embedding_forward(xs[0].data(), tokens.data(), f.tok_emb, T, D, cfg.V);
    for (int l = 0; l < N; l++) {
        LayerCache lc;
        const FamIn in{&fam0[(size_t)l * F * D], pos.data(), true};
        fam_layer_forward(xs[l + 1].data(), fam_final.data(), lc, xs[l].data(), T, 0.0f, in, plan, f.layers[l], cfg);
    }
    std::vector<float> xf((size_t)T * D), mean(T), rstd(T), logits((size_t)T * cfg.V);
    layernorm_forward(xf.data(), mean.data(), rstd.data(), xs[N].data(), f.lnf_g, f.lnf_b, T, D);
    linear_forward(logits.data(), xf.data(), f.lm_head, T, D, cfg.V);
    return logits;
}

static double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (size_t i = 0; i < a.size(); i++) m = std::max(m, (double)std::fabs(a[i] - b[i]));
    return m;
}

TEST_CASE("convert: with the FAM keys masked out, the converted model's token path computes the BSWA model") {
    // B = 4, T = 22: five complete blocks and a partial one; M = 0, 1, 2 memory blocks
    for (int M : {0, 1, 2}) {
        CAPTURE(M);
        FamConfig bc = make_cfg(AttentionKind::Bswa, 4, M, 0, 13, 8, 2, 2, 12);
        ModelWeights b = random_model(bc, 30 + M);
        ModelWeights f = convert_bswa_to_fam(b, 3, 2);
        Rng rng(40 + M);
        std::vector<int> tokens = random_tokens(22, bc.V, rng);

        ModelCache c;  // the BSWA model, the library's own path
        model_forward(c, b, tokens.data(), (int)tokens.size());

        std::vector<std::vector<float>> xs;
        std::vector<float> logits = token_path_without_fam(f, tokens, true, xs);
        // every layer's token rows and the logits: the same numbers (to float rounding:
        // the masked keys add exact zeros, but the products are blocked differently)
        for (int l = 1; l <= bc.N; l++) CHECK(max_abs_diff(xs[l], c.xs[l]) < 1e-5);
        CHECK(max_abs_diff(logits, c.logits) < 1e-5);

        // the same run with the FAM visible is a different model: the mask was the difference
        std::vector<std::vector<float>> xs2;
        std::vector<float> with_fam = token_path_without_fam(f, tokens, false, xs2);
        CHECK(max_abs_diff(with_fam, c.logits) > 1e-2);
        ModelCache cf;  // and that visible run is the converted model itself
        model_forward(cf, f, tokens.data(), (int)tokens.size());
        CHECK(max_abs_diff(with_fam, cf.logits) < 1e-5);
    }
}

// `fam convert ARGS` in-process, its stdout sent to /dev/null.
static int run_convert(std::vector<std::string> args) { return run_cli(cmd_convert, std::move(args)); }

TEST_CASE("convert: fam convert keeps the task metadata, drops the optimizer and training state, refuses nonsense") {
    TempDir dir("fam_test_convert");
    FamConfig bc = make_cfg(AttentionKind::Bswa, 4, 1, 0, kByteVocab, 8, 2, 1, 12);
    ModelWeights b = random_model(bc, 3);
    TrainState st;
    st.step = 7;
    st.opt = AdamW(AdamWConfig(), b.buffer.size());  // a checkpoint with optimizer moments
    TrainConfig tc;
    tc.task = "text";
    const std::string in = dir.path + "/bswa.safetensors", out = dir.path + "/fam.safetensors";
    save_train_checkpoint(in, b, st, tc, std::map<std::string, std::string>{{"task.tokenizer", kByteTokenizer}});
    REQUIRE(run_convert({"--model", in, "--attention", "fam", "--fam", "3", "--out", out}) == 0);
    SafeTensors f = safetensors_load(out);
    CHECK(is_text_model(f.metadata));
    CHECK(f.metadata.at("task") == "text");
    CHECK(f.metadata.count("converted_from") == 1);
    CHECK(f.metadata.count("train.step") == 0);
    CHECK(f.metadata.count("train.config") == 0);
    CHECK(f.tensors.count("optim.m") == 0);
    ModelWeights w = model_from_safetensors(f);
    CHECK(w.buffer.size() == b.buffer.size() + 3 * 8);
    // nonsense: F <= 0, another attention, a FAM model, a missing file
    CHECK_THROWS_AS(run_convert({"--model", in, "--fam", "0", "--out", out}), UsageError);
    CHECK_THROWS_AS(run_convert({"--model", in, "--attention", "bswa", "--fam", "2", "--out", out}), UsageError);
    CHECK_THROWS_WITH_AS(run_convert({"--model", out, "--fam", "2", "--out", dir.path + "/x.safetensors"}),
                         doctest::Contains("already a FAM model"), std::invalid_argument);
    CHECK_THROWS(run_convert({"--model", dir.path + "/missing.safetensors", "--fam", "2", "--out", out}));
}
