// test_train.cpp: the optimizer, the PassKey task, and a smoke version of the
// training pipeline (train, save, resume bit for bit, evaluate, loss goes down).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

#include "fam_penalty.h"
#include "gradcheck.h"
#include "model.h"
#include "model_util.h"
#include "app/checkpoint.h"
#include "app/optim.h"
#include "app/tasks.h"
#include "app/train.h"

TEST_CASE("adamw: one step by hand, decoupled weight decay, clipping, schedule") {
    AdamWConfig c;
    c.lr = 0.1f;
    c.warmup = 0;
    c.weight_decay = 0.5f;
    c.clip = 0.0f;
    AdamW opt(c, 2);
    float p[2] = {1.0f, -2.0f}, g[2] = {0.3f, -0.4f};
    uint8_t mask[2] = {1, 0};
    opt.update(p, g, 2, mask);
    // first step: mhat = g, vhat = g^2, so the Adam step is lr * sign(g) (up to eps)
    CHECK(p[0] == doctest::Approx(1.0 - 0.1 * (1.0 + 0.5 * 1.0)).epsilon(1e-5));  // with decay
    CHECK(p[1] == doctest::Approx(-2.0 + 0.1).epsilon(1e-5));                      // no decay
    // clipping scales the whole gradient to norm `clip`
    AdamWConfig cc = c;
    cc.clip = 1.0f;
    AdamW o2(cc, 2);
    float q[2] = {0, 0}, h[2] = {3.0f, 4.0f};
    float norm = o2.update(q, h, 2);
    CHECK(norm == doctest::Approx(5.0));
    CHECK(h[0] == doctest::Approx(0.6));
    CHECK(h[1] == doctest::Approx(0.8));
    // warmup then cosine down to 10%
    AdamWConfig sc;
    sc.lr = 1.0f;
    sc.warmup = 10;
    sc.schedule = "cosine";
    sc.total_steps = 110;
    AdamW o3(sc, 1);
    CHECK(o3.lr_at(0) == doctest::Approx(0.1));
    CHECK(o3.lr_at(9) == doctest::Approx(1.0));
    CHECK(o3.lr_at(60) == doctest::Approx(0.55));
    CHECK(o3.lr_at(109) == doctest::Approx(0.1).epsilon(1e-3));
}

TEST_CASE("passkey: the paper's prompt, digits as tokens, targets on the answer only") {
    Vocab v = passkey_vocab();
    CHECK(v.id("0") == 0);
    CHECK(v.id("9") == 9);
    CHECK(v.encode("The pass key is 70312.") ==
          std::vector<int>{v.id("The"), v.id("pass"), v.id("key"), v.id("is"), 7, 0, 3, 1, 2, v.id(".")});
    CHECK_THROWS_AS(v.encode("unknown"), std::invalid_argument);
    CHECK(Vocab::deserialize(v.serialize()).words == v.words);

    Rng rng(3);
    PasskeyExample ex = make_passkey_example(v, rng, 37);
    std::string text = v.decode(ex.tokens);
    CHECK(text.rfind("There is an important info hidden inside a lot of irrelevant text .", 0) == 0);
    std::string spaced;
    for (char ch : ex.key) spaced += std::string(spaced.empty() ? "" : " ") + ch;
    CHECK(text.find("The pass key is " + spaced + " . Remember it . " + spaced + " is the pass key . The grass is green .") != std::string::npos);
    CHECK(text.find("What is the pass key ? The pass key is " + spaced) == text.size() - (39 + spaced.size()));
    CHECK(ex.key.size() == 5);
    CHECK(ex.key[0] != '0');
    // exactly 37 filler tokens between the key sentence and the question
    PasskeyExample ex0 = make_passkey_example(v, rng, 0);
    CHECK(ex.tokens.size() == ex0.tokens.size() + 37);
    // targets: the 5 positions that predict the answer digits, nowhere else
    int n = 0;
    for (size_t t = 0; t < ex.tokens.size(); t++)
        if (ex.targets[t] >= 0) {
            CHECK((int)t >= ex.answer_pos - 1);
            CHECK(ex.targets[t] == ex.tokens[t + 1]);
            n++;
        }
    CHECK(n == 5);
    CHECK(std::string(1, (char)('0' + ex.tokens[ex.key_pos])) == ex.key.substr(0, 1));
    // exact match reads the arg-max at each answer position
    std::vector<float> logits(ex.tokens.size() * v.size(), 0.0f);
    for (int i = 0; i < 5; i++) logits[(ex.answer_pos - 1 + i) * v.size() + (ex.key[i] - '0')] = 1.0f;
    CHECK(passkey_correct(logits.data(), v.size(), ex));
    logits[(ex.answer_pos + 3) * v.size() + (ex.key[4] - '0')] = 0.0f;
    CHECK_FALSE(passkey_correct(logits.data(), v.size(), ex));
}

static FamConfig tiny_cfg() {
    FamConfig c;
    c.V = passkey_vocab().size();
    c.D = 16;
    c.H = 2;
    c.N = 1;
    c.Dff = 32;
    c.attention = AttentionKind::Fam;
    c.B = 8;
    c.M = 0;
    c.F = 2;
    return c;
}

// A tiny model trained on PassKey from scratch with `c` (initialised from c.seed).
static ModelWeights train_tiny(const TrainConfig& c, const Vocab& vocab,
                               const std::function<void(const StepStats&, const TrainState&)>& on_step =
                                   [](const StepStats&, const TrainState&) {}) {
    ModelWeights w(tiny_cfg());
    init_weights(w, c.seed);
    TrainState st;
    train(w, st, c, vocab, on_step);
    return w;
}

TEST_CASE("passkey: moving the filler so that a block boundary cuts the answer") {
    const Vocab v = passkey_vocab();
    for (int B : {4, 16}) {
        for (int digits : {2, 5}) {
            int seen_targets = 0;
            std::vector<int> places(B, 0);
            for (int filler = 0; filler <= 200; filler++) {
                for (int pick = 0; pick < 8; pick++) {
                    const int f = passkey_filler_cutting_answer(v, filler, pick, B, 0, 200, digits);
                    REQUIRE((f >= 0 && f <= 200));
                    CHECK(std::abs(f - filler) < B);
                    // the rows predicting the answer digits straddle a multiple of B
                    Rng rng(1);
                    const PasskeyExample ex = make_passkey_example(v, rng, f, digits);
                    const int first = ex.answer_pos - 1, last = first + digits - 1;
                    CHECK(first / B != last / B);
                    places[first % B]++;
                    seen_targets++;
                }
            }
            // every place a boundary can cut the answer is used, and no other
            for (int r = 0; r < B; r++) {
                const bool cuts = r >= B - (std::min(digits, B) - 1);
                CHECK((places[r] > 0) == cuts);
            }
            CHECK(seen_targets == 201 * 8);
        }
    }
    // a range narrower than a block keeps the filler as it is when nothing in it cuts the answer
    CHECK(passkey_filler_cutting_answer(v, 5, 0, 16, 5, 5) == 5);
}

TEST_CASE("parallel_for: every item runs once, whatever the thread count; an item's exception reaches the caller") {
    for (int threads : {1, 2, 3, 8})
        for (int n : {0, 1, 2, 7, 40}) {
            std::vector<std::atomic<int>> runs(n);
            for (auto& r : runs) r = 0;
            parallel_for(n, threads, [&](int i) { runs[i]++; });
            for (int i = 0; i < n; i++) CHECK(runs[i] == 1);
        }
    std::atomic<int> started{0};
    CHECK_THROWS_WITH_AS(parallel_for(50, 2,
                                      [&](int i) {
                                          started++;
                                          if (i == 3) throw std::runtime_error("item 3 failed");
                                      }),
                         "item 3 failed", std::runtime_error);
    CHECK(started >= 4);  // items 0..3 at least (the others may be skipped once 3 throws)
}

TEST_CASE("train: smoke: loss goes down, checkpoint resumes bit for bit, eval runs") {
    Vocab vocab = passkey_vocab();
    TrainConfig tc;
    tc.filler_min = 0;
    tc.filler_max = 10;
    tc.steps = 24;
    tc.batch = 4;
    tc.opt.lr = 3e-3f;
    tc.opt.warmup = 2;
    tc.rpo = true;
    tc.rsp = 0.5f;
    tc.lm_weight = 0.1f;
    tc.seed = 5;
    tc.threads = 2;

    // A: 24 steps straight, saving at step 12
    ModelWeights wa(tiny_cfg());
    init_weights(wa, tc.seed);
    TrainState sa;
    std::vector<float> losses;
    const std::string mid = "/tmp/fam_test_train_mid.safetensors";
    train(wa, sa, tc, vocab, [&](const StepStats& s, const TrainState& st) {
        losses.push_back(s.loss);
        if (s.step == 12) save_train_checkpoint(mid, wa, st, tc, vocab);
    });
    CHECK(sa.step == 24);
    double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[21] + losses[22] + losses[23]) / 3;
    INFO("loss first 3 steps " << first << ", last 3 steps " << last);
    CHECK(last < first);

    // B: resume from step 12 with a different thread count: identical weights, bit for bit
    ModelWeights wb;
    TrainState sb;
    Vocab vb;
    load_train_checkpoint(mid, wb, sb, &vb);
    CHECK(sb.step == 12);
    CHECK(vb.words == vocab.words);
    TrainConfig tb = tc;
    tb.threads = 1;
    train(wb, sb, tb, vb, [](const StepStats&, const TrainState&) {});
    REQUIRE(wb.buffer.size() == wa.buffer.size());
    CHECK(std::memcmp(wb.buffer.data(), wa.buffer.data(), sizeof(float) * wa.buffer.size()) == 0);
    CHECK(std::memcmp(sb.opt.m.data(), sa.opt.m.data(), sizeof(float) * sa.opt.m.size()) == 0);
    CHECK(sb.rng_state == sa.rng_state);

    // eval: deterministic whatever the thread count, in [0, 1]; exact match is
    // never above any single digit's accuracy
    PasskeyScore a1 = eval_passkey(wa, vocab, 5, 6, 1), a2 = eval_passkey(wa, vocab, 5, 6, 1, 5, 1);
    CHECK(a1.exact == a2.exact);
    CHECK(a1.digit == a2.digit);
    CHECK((a1.exact >= 0.0 && a1.exact <= 1.0));
    REQUIRE(a1.digit.size() == 5);
    for (double d : a1.digit) CHECK((d >= a1.exact && d <= 1.0));
    REQUIRE(a1.fam_rms.size() == (size_t)wa.cfg.N);  // a FAM model: one drift figure per layer
    for (double r : a1.fam_rms) CHECK((std::isfinite(r) && r > 0.0));
    std::remove(mid.c_str());
}

TEST_CASE("train: PasskeySource draws exactly the PassKey examples of the filler options, from the same generator") {
    // train() takes its sequences from an ExampleSource; PassKey's must draw what
    // the options say, in the generator order that earlier checkpoints were made with:
    // filler length, then (with --answer-cut) the cut, then the example itself.
    Vocab v = passkey_vocab();
    TrainConfig tc;
    tc.filler_min = 3;
    tc.filler_max = 60;
    tc.curriculum = 10;
    tc.answer_cut = 0.5f;
    tc.lm_weight = 0.25f;
    PasskeySource src(tc, v, 16);
    CHECK(src.vocab_size() == v.size());
    Rng a(11), b(11);
    for (long step = 0; step < 30; step++) {
        TrainExample ex = src.draw(a, step);
        // by hand, as the training loop drew examples before there was a source
        const int fmax = step >= tc.curriculum ? tc.filler_max
                                               : tc.filler_min + (int)std::lround((double)(step + 1) / tc.curriculum *
                                                                                  (tc.filler_max - tc.filler_min));
        int filler = b.randint(tc.filler_min, fmax);
        if (b.uniform() < tc.answer_cut)
            filler = passkey_filler_cutting_answer(v, filler, b.randint(0, 1 << 20), 16, tc.filler_min, fmax);
        PasskeyExample p = make_passkey_example(v, b, filler, 5, tc.lm_weight);
        CHECK(ex.tokens == p.tokens);
        CHECK(ex.targets == p.targets);
        CHECK(ex.weights == p.weights);
        CHECK(ex.score_from == p.answer_pos - 1);  // the rows that predict the answer digits
        CHECK(ex.score_len == 5);
        for (int d = 0; d < 5; d++) CHECK(ex.targets[ex.score_from + d] == v.id(std::string(1, p.key[d])));
    }
    CHECK(a.state == b.state);
}

TEST_CASE("train: --rsp-ramp (DEVIATION) grows the RSP probability linearly, and only when asked") {
    TrainConfig tc;
    tc.rsp = 0.8f;
    tc.rsp_from = 100;
    // no ramp: the paper's constant p from rsp_from on
    CHECK(rsp_probability(tc, 99) == 0.0f);
    CHECK(rsp_probability(tc, 100) == 0.8f);
    CHECK(rsp_probability(tc, 5000) == 0.8f);
    // ramp over 400 steps: 0 at step 100, half-way at 300, p from 500 on
    tc.rsp_ramp = 400;
    CHECK(rsp_probability(tc, 99) == 0.0f);
    CHECK(rsp_probability(tc, 100) == 0.0f);
    CHECK(rsp_probability(tc, 300) == doctest::Approx(0.4f));
    CHECK(rsp_probability(tc, 500) == 0.8f);
    CHECK(rsp_probability(tc, 90000) == 0.8f);
    tc.rsp = 0.0f;  // RSP off: the ramp changes nothing
    CHECK(rsp_probability(tc, 300) == 0.0f);

    // training: with the ramp, the steps that start from a carried-in FAM become more
    // frequent; without it every step from rsp_from on may. Same seed, same draws.
    Vocab vocab = passkey_vocab();
    TrainConfig t;
    t.filler_min = 0;
    t.filler_max = 4;
    t.steps = 60;
    t.batch = 1;
    t.rsp = 1.0f;
    t.rsp_from = 0;
    t.seed = 3;
    t.threads = 1;
    auto used = [&](const TrainConfig& c) {
        std::vector<int> u;
        train_tiny(c, vocab, [&](const StepStats& s, const TrainState&) { u.push_back(s.rsp_used ? 1 : 0); });
        return u;
    };
    std::vector<int> constant = used(t);
    t.rsp_ramp = 60;
    std::vector<int> ramped = used(t);
    REQUIRE(constant.size() == 60);
    REQUIRE(ramped.size() == 60);
    int c_first = 0, r_first = 0, r_last = 0;
    for (int i = 0; i < 30; i++) c_first += constant[i], r_first += ramped[i], r_last += ramped[30 + i];
    CHECK(constant[0] == 0);         // nothing to pass at the very first step
    CHECK(c_first == 29);            // p = 1: every later step
    CHECK(r_first < r_last);         // the ramp: rarer early than late
    CHECK(r_first < c_first);

    // the option survives a checkpoint's train.config, and a run without it writes no key
    // (so files made before the option existed are unchanged)
    const std::string path = "/tmp/fam_test_rsp_ramp.safetensors";
    ModelWeights w(tiny_cfg());
    init_weights(w, 1);
    TrainState st;
    save_train_checkpoint(path, w, st, t, vocab);
    std::map<std::string, std::string> meta;
    ModelWeights w2;
    TrainState st2;
    load_train_checkpoint(path, w2, st2, nullptr, &meta);
    CHECK(train_config_from_json_text(meta.at("train.config")).rsp_ramp == 60);
    t.rsp_ramp = 0;
    save_train_checkpoint(path, w, st, t, vocab);
    load_train_checkpoint(path, w2, st2, nullptr, &meta);
    CHECK(meta.at("train.config").find("rsp_ramp") == std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("train: --penalty-blocks filler (DEVIATION): the penalties count only the filler blocks' updates") {
    // A PassKey example with 40 filler tokens through a tiny FAM model (B = 8): some blocks
    // lie wholly in the filler, the others hold the prompt, the key or the question.
    FamConfig cfg = tiny_cfg();
    cfg.N = 2;
    ModelWeights w = random_model(cfg, 21);
    Vocab v = passkey_vocab();
    Rng rng(4);
    PasskeyExample p = make_passkey_example(v, rng, 40);
    REQUIRE(p.filler_pos > 0);
    for (int t = p.filler_pos; t < p.filler_pos + p.filler_len; t++) CHECK(v.words[p.tokens[t]] != "pass");
    TrainExample ex;
    ex.tokens = p.tokens;
    ex.targets = p.targets;
    ex.quiet_from = p.filler_pos;
    ex.quiet_len = p.filler_len;
    const int s0 = 8;  // as after a --tbptt head of one block: block tau holds tokens s0 + tau*B ..
    const int T = (int)ex.tokens.size() - s0;
    ForwardOptions opt;
    ModelCache c;
    model_forward(c, w, ex.tokens.data() + s0, T, opt);
    model_loss(c, w, ex.targets.data() + s0, nullptr);
    const float all = fam_penalty(c, cfg);
    mark_penalized_blocks(c, ex, s0, cfg.B, true);
    int quiet = 0, loud = 0;
    for (const BlockCache& b : c.layers[0].blocks) {
        const int first = s0 + b.tau * cfg.B, last = first + b.len;
        const bool in_filler = first >= p.filler_pos && last <= p.filler_pos + p.filler_len;
        CHECK(b.penalize == in_filler);
        if (b.update && !b.fresh) (in_filler ? quiet : loud)++;
    }
    REQUIRE(quiet >= 2);
    REQUIRE(loud >= 2);
    // the value: the mean over the marked updates only, computed here by hand
    double by_hand = 0.0;
    for (const LayerCache& l : c.layers) {
        double sum = 0.0;
        int n = 0;
        for (const BlockCache& b : l.blocks) {
            if (!(b.update && !b.fresh && b.penalize)) continue;
            for (int i = 0; i < cfg.F * cfg.D; i++) {
                const double d = (double)b.fam_out[i] - b.fam.x[i];
                sum += d * d;
            }
            n++;
        }
        by_hand += sum / ((double)n * cfg.F) / cfg.N;
    }
    const float filler_only = fam_penalty(c, cfg);
    CHECK(filler_only == doctest::Approx(by_hand).epsilon(1e-5));
    CHECK(filler_only != doctest::Approx(all).epsilon(1e-3));  // the mark changes what is counted
    // marking every block again gives back the plain penalty
    mark_penalized_blocks(c, ex, s0, cfg.B, false);
    CHECK(fam_penalty(c, cfg) == all);

    // the gradient of loss + l2 * (filler-only penalty) by finite differences
    mark_penalized_blocks(c, ex, s0, cfg.B, true);
    const float l2 = 0.05f, l1 = 0.02f;
    ModelWeights dw(cfg);
    model_backward(dw, c, w, ex.targets.data() + s0, nullptr, 1.0f, false, l2, l1);
    auto objective = [&]() {
        ModelCache cc;
        model_forward(cc, w, ex.tokens.data() + s0, T, opt);
        mark_penalized_blocks(cc, ex, s0, cfg.B, true);
        return (double)model_loss(cc, w, ex.targets.data() + s0, nullptr) + l2 * (double)fam_penalty(cc, cfg) +
               l1 * (double)fam_norm_penalty(cc, cfg);
    };
    for (const char* name : {"layers.0.attn.wq", "layers.1.attn.wo", "fam_prompt", "tok_emb"})
        for (size_t i = 0; i < w.params.size(); i++)
            if (w.params[i].name.find(name) != std::string::npos)
                grad_check(std::string("filler-only penalty d") + w.params[i].name, w.params[i].data, w.params[i].size,
                           dw.params[i].data, objective, 1e-3, 2e-2);
}

TEST_CASE("train: --fam-noise (DEVIATION) perturbs the carried-in FAM by sigma x its rms, per layer, deterministically") {
    // perturb_fam: layer l's noise has standard deviation sigma * rms_l
    const int N = 2, F = 8, D = 64;
    std::vector<float> fam(N * F * D);
    Rng init(9);
    for (int i = 0; i < F * D; i++) fam[i] = 5.0f * init.normal();          // layer 0: rms ~5
    for (int i = F * D; i < N * F * D; i++) fam[i] = 0.5f * init.normal();  // layer 1: rms ~0.5
    auto rms = [&](const std::vector<float>& x, int l) {
        double ss = 0.0;
        for (int i = 0; i < F * D; i++) ss += (double)x[l * F * D + i] * x[l * F * D + i];
        return std::sqrt(ss / (F * D));
    };
    std::vector<float> a = fam, b = fam;
    Rng r1(77), r2(77);
    perturb_fam(a, N, F, D, 0.3f, r1);
    perturb_fam(b, N, F, D, 0.3f, r2);
    CHECK(a == b);  // the same seed, the same noise
    for (int l = 0; l < N; l++) {
        std::vector<float> diff(N * F * D);
        for (size_t i = 0; i < diff.size(); i++) diff[i] = a[i] - fam[i];
        const double want = 0.3 * rms(fam, l), got = rms(diff, l);
        INFO("layer " << l << ": noise rms " << got << ", wanted " << want);
        CHECK(got > 0.85 * want);
        CHECK(got < 1.15 * want);
    }

    // training: needs --tbptt; with it, results do not depend on the thread count, and
    // the noise changes them
    Vocab vocab = passkey_vocab();
    TrainConfig t;
    t.filler_min = 20;
    t.filler_max = 40;
    t.steps = 6;
    t.batch = 4;
    t.tbptt = 24;
    t.fam_noise = 0.5f;
    t.seed = 2;
    auto run = [&](const TrainConfig& c) { return train_tiny(c, vocab).buffer; };
    t.threads = 1;
    std::vector<float> one = run(t);
    t.threads = 2;
    CHECK(run(t) == one);
    t.fam_noise = 0.0f;
    CHECK(run(t) != one);
    t.fam_noise = 0.5f;
    t.tbptt = 0;
    CHECK_THROWS_AS(run(t), std::invalid_argument);
}
