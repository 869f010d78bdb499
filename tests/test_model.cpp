// test_model.cpp: the blockwise model (src/model.h) against the naive one
// (src/naive.h), the spec's equivalences, and finite-difference checks of every
// parameter's gradient, including through the FAM chain and the prompt pass.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "fam_penalty.h"
#include "gradcheck.h"
#include "model.h"
#include "model_util.h"
#include "naive.h"

static std::string name_of(const FamConfig& c, int T) { return c.describe() + " T=" + std::to_string(T); }

TEST_CASE("model: blockwise == naive (logits and FAM states) over many configs") {
    struct Case {
        AttentionKind a;
        int B, M, F, T, N, H;
    };
    const AttentionKind fam = AttentionKind::Fam, bswa = AttentionKind::Bswa, full = AttentionKind::Full;
    const Case cases[] = {
        {fam, 3, 1, 2, 10, 2, 2},  {fam, 1, 0, 1, 5, 2, 2},   {fam, 1, 2, 2, 6, 1, 1},   // B = 1
        {fam, 4, 1, 2, 3, 2, 2},   {fam, 4, 0, 3, 4, 2, 2},                              // T < B, T = B
        {fam, 3, 0, 2, 11, 3, 2},  {fam, 2, 0, 3, 7, 3, 1},   {fam, 2, 1, 5, 9, 2, 2},   // M = 0, F > B, N = 3, H = 1
        {fam, 4, 2, 2, 17, 2, 4},  {fam, 5, 3, 4, 12, 1, 2},  {fam, 3, 1, 1, 1, 2, 2},   // T = 1
        {bswa, 3, 1, 0, 10, 2, 2}, {bswa, 2, 0, 0, 7, 3, 1},  {bswa, 1, 3, 0, 6, 2, 2},
        {bswa, 4, 2, 0, 13, 2, 4}, {full, 1, 0, 0, 9, 2, 2},  {full, 1, 0, 0, 1, 3, 1},
    };
    Rng rng(100);
    int k = 0;
    for (const Case& cs : cases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 11, 8, cs.H, cs.N, 12);
        ModelWeights w = random_model(cfg, 1000 + k++);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        ModelCache c;
        model_forward(c, w, tokens.data(), cs.T);
        NaiveResult ref = naive_forward(w, tokens.data(), cs.T);
        check_close("logits " + name_of(cfg, cs.T), c.logits.data(), ref.logits.data(),
                    ref.logits.size(), 2e-5f);
        if (cfg.fam_len() > 0)
            check_close("fam_final " + name_of(cfg, cs.T), c.fam_final.data(),
                        ref.fam_final.data(), ref.fam_final.size(), 2e-5f);
    }
}

TEST_CASE("model: blockwise == naive with a position offset (RPO) and large positions") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 3, 1, 2);
    ModelWeights w = random_model(cfg, 7);
    Rng rng(7);
    std::vector<int> tokens = random_tokens(10, cfg.V, rng);
    ForwardOptions opt;
    opt.pos_offset = 12345.678f;
    ModelCache c;
    model_forward(c, w, tokens.data(), 10, opt);
    NaiveResult ref = naive_forward(w, tokens.data(), 10, opt.pos_offset);
    check_close("logits with offset", c.logits.data(), ref.logits.data(), ref.logits.size(), 2e-5f);
    // RoPE is relative and RPO shifts every position of the sequence alike (tokens,
    // FAM, prompt), so the offset changes nothing but float rounding.
    NaiveResult ref0 = naive_forward(w, tokens.data(), 10, 0.0f);
    check_close("logits: offset invariance", ref0.logits.data(), ref.logits.data(), ref.logits.size(), 2e-3f);
}

TEST_CASE("model: fam with F = 0 is exactly bswa; bswa with M >= T/B is exactly full") {
    Rng rng(200);
    for (int T : {1, 5, 12}) {
        std::vector<int> tokens = random_tokens(T, 7, rng);
        FamConfig cf = make_cfg(AttentionKind::Fam, 3, 1, 0), cb = make_cfg(AttentionKind::Bswa, 3, 1, 0);
        ModelWeights wf = random_model(cf, 5), wb = random_model(cb, 5);  // same layout when F = 0
        ModelCache a, b;
        model_forward(a, wf, tokens.data(), T);
        model_forward(b, wb, tokens.data(), T);
        check_close("fam F=0 vs bswa, T=" + std::to_string(T), a.logits.data(), b.logits.data(),
                    a.logits.size(), 0.0f);
        FamConfig cfull = make_cfg(AttentionKind::Full, 1, 0, 0);
        ModelWeights wfull = random_model(cfull, 5);
        for (int B : {1, 2, 5}) {
            FamConfig cw = make_cfg(AttentionKind::Bswa, B, (T + B - 1) / B, 0);
            ModelWeights ww = random_model(cw, 5);
            ModelCache x, y;
            model_forward(x, ww, tokens.data(), T);
            model_forward(y, wfull, tokens.data(), T);
            check_close("bswa M>=T/B vs full, T=" + std::to_string(T) + " B=" + std::to_string(B),
                        x.logits.data(), y.logits.data(), x.logits.size(), 2e-6f);
        }
    }
}

TEST_CASE("model: causal: a token never influences earlier logits; with FAM it reaches every later block") {
    for (AttentionKind a : {AttentionKind::Full, AttentionKind::Bswa, AttentionKind::Fam}) {
        FamConfig cfg = make_cfg(a, 2, 0, 2, 7, 8, 2, 2, 12);  // M = 0: BSWA sees only its own block
        ModelWeights w = random_model(cfg, 9);
        Rng rng(9);
        const int T = 10, changed = 3;  // token 3 sits in block 1
        std::vector<int> t1 = random_tokens(T, cfg.V, rng), t2 = t1;
        t2[changed] = (t1[changed] + 1) % cfg.V;
        ModelCache c1, c2;
        model_forward(c1, w, t1.data(), T);
        model_forward(c2, w, t2.data(), T);
        for (int t = 0; t < T; t++) {
            float d = max_abs_diff(&c1.logits[(size_t)t * cfg.V], &c2.logits[(size_t)t * cfg.V], cfg.V);
            if (t < changed) CHECK(d == 0.0f);
            else if (t == changed || a != AttentionKind::Bswa) CHECK(d > 0.0f);   // full and FAM carry it on
            else if (t / 2 > changed / 2) CHECK(d == 0.0f);  // BSWA M=0 forgets it after its block
        }
    }
}

// Finite differences of the mean cross-entropy against model_backward for every parameter.
static void check_model_grads(const FamConfig& cfg, int T, uint64_t seed, const ForwardOptions& opt,
                              const std::string& tag) {
    ModelWeights w = random_model(cfg, seed);
    Rng rng(seed);
    std::vector<int> tokens = random_tokens(T, cfg.V, rng), targets = random_tokens(T, cfg.V, rng);
    std::vector<float> weights(T);
    for (int t = 0; t < T; t++) weights[t] = 0.5f + rng.uniform();
    targets[0] = -1;  // an ignored position
    ModelCache c;
    model_forward(c, w, tokens.data(), T, opt);
    model_loss(c, w, targets.data(), weights.data());
    ModelWeights dw(cfg);
    model_backward(dw, c, w, targets.data(), weights.data());
    auto loss = [&]() {
        ModelCache cc;
        model_forward(cc, w, tokens.data(), T, opt);
        return (double)model_loss(cc, w, targets.data(), weights.data());
    };
    for (size_t i = 0; i < w.params.size(); i++)
        grad_check(tag + " d" + w.params[i].name, w.params[i].data, w.params[i].size,
                   dw.params[i].data, loss, 1e-3, 2e-2);
}

TEST_CASE("model: finite-difference check of every parameter's gradient, each attention kind") {
    ForwardOptions none;
    check_model_grads(make_cfg(AttentionKind::Full, 1, 0, 0), 6, 1, none, "full");
    check_model_grads(make_cfg(AttentionKind::Bswa, 2, 1, 0), 7, 2, none, "bswa B2 M1");
    // through the FAM chain (4 updates) and the prompt pass, partial last block
    check_model_grads(make_cfg(AttentionKind::Fam, 2, 1, 2), 9, 3, none, "fam B2 M1 F2");
    // F > B, M = 0, three layers, one head
    check_model_grads(make_cfg(AttentionKind::Fam, 2, 0, 3, 7, 6, 1, 3, 10), 7, 4, none, "fam B2 M0 F3 N3 H1");
}

TEST_CASE("model: RSP start state: not fresh, residual kept, no gradient into fam_prompt") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 2, 1, 2);
    Rng rng(5);
    std::vector<float> start((size_t)cfg.N * cfg.F * cfg.D);
    for (float& x : start) x = rng.normal();
    ForwardOptions opt;
    opt.fam_start = start.data();
    opt.pos_offset = 3.0f;
    check_model_grads(cfg, 7, 6, opt, "fam RSP");
    ModelWeights w = random_model(cfg, 6);
    std::vector<int> tokens = random_tokens(7, cfg.V, rng), targets = random_tokens(7, cfg.V, rng);
    ModelCache c;
    model_forward(c, w, tokens.data(), 7, opt);
    model_loss(c, w, targets.data(), nullptr);
    ModelWeights dw(cfg);
    model_backward(dw, c, w, targets.data(), nullptr);
    const Param& dp = dw.param("fam_prompt");
    for (size_t i = 0; i < dp.size; i++) CHECK(dp.data[i] == 0.0f);
}

TEST_CASE("model: M_SG stop-gradient: memory segments pass no gradient back") {
    // BSWA, M = 1, one layer: block 1 reads block 0 only through memory. With the
    // loss on block 1 alone, M_SG leaves block 0's embeddings without gradient.
    FamConfig cfg = make_cfg(AttentionKind::Bswa, 3, 1, 0, 12, 8, 2, 1, 12);
    ModelWeights w = random_model(cfg, 8);
    std::vector<int> tokens = {0, 1, 2, 3, 4, 5}, targets = {-1, -1, -1, 6, 7, 8};
    for (bool sg : {false, true}) {
        ModelCache c;
        model_forward(c, w, tokens.data(), 6);
        model_loss(c, w, targets.data(), nullptr);
        ModelWeights dw(cfg);
        model_backward(dw, c, w, targets.data(), nullptr, 1.0f, sg);
        double g0 = 0, g1 = 0;
        for (int tok = 0; tok < 3; tok++)
            for (int i = 0; i < cfg.D; i++) g0 += std::fabs(dw.tok_emb[tok * cfg.D + i]);
        for (int tok = 3; tok < 6; tok++)
            for (int i = 0; i < cfg.D; i++) g1 += std::fabs(dw.tok_emb[tok * cfg.D + i]);
        CHECK(g1 > 0.0);
        if (sg) CHECK(g0 == 0.0);
        else CHECK(g0 > 0.0);
    }
}

TEST_CASE("model: bad input is refused with a clear error") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 2, 1, 2);
    ModelWeights w = random_model(cfg, 1);
    ModelCache c;
    int bad[2] = {0, 7};
    CHECK_THROWS_WITH_AS(model_forward(c, w, bad, 2), doctest::Contains("outside the vocabulary"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(model_forward(c, w, bad, 0), doctest::Contains("empty"), std::invalid_argument);
    FamConfig b = cfg;
    b.B = 0;
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("block size B"), std::invalid_argument);
    b = cfg;
    b.D = 10;
    b.H = 4;
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("not divisible"), std::invalid_argument);
    b = cfg;
    b.F = -1;
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("FAM length F"), std::invalid_argument);
    b = cfg;
    b.D = 6;
    b.H = 2;  // Dh = 3: odd
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains("even"), std::invalid_argument);
}

TEST_CASE("model: a FAM carried across chunks (M = 0) continues the sequence exactly (TBPTT, eval)") {
    // Running tokens [0, s) and then [s, T) from the FAM the first part left, at
    // position offset s, is the same computation as one pass over [0, T) when
    // M = 0 and s is a whole number of blocks: the FAM is all that crosses blocks.
    for (int F : {1, 3, 6}) {
        FamConfig cfg = make_cfg(AttentionKind::Fam, 4, 0, F);
        ModelWeights w = random_model(cfg, 40 + F);
        Rng rng(F);
        const int T = 23;
        std::vector<int> tokens = random_tokens(T, cfg.V, rng);
        ModelCache whole;
        model_forward(whole, w, tokens.data(), T);
        for (int s : {4, 12, 20}) {
            ModelCache head, tail;
            model_forward(head, w, tokens.data(), s);
            std::vector<float> carried = head.fam_final;
            ForwardOptions opt;
            opt.fam_start = carried.data();
            opt.pos_offset = (float)s;
            model_forward(tail, w, tokens.data() + s, T - s, opt);
            check_close("chunked logits F=" + std::to_string(F) + " s=" + std::to_string(s), tail.logits.data(),
                        whole.logits.data() + (size_t)s * cfg.V, tail.logits.size(), 2e-5f);
            check_close("chunked fam_final", tail.fam_final.data(), whole.fam_final.data(), whole.fam_final.size(), 2e-5f);
        }
    }
}

TEST_CASE("model: gradient of the FAM update-size penalty (training option) by finite differences") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 2, 1, 2);
    ModelWeights w = random_model(cfg, 11);
    Rng rng(11);
    const int T = 9;  // 4 updates, the first one fresh (not penalized)
    std::vector<int> tokens = random_tokens(T, cfg.V, rng), targets = random_tokens(T, cfg.V, rng);
    const float lambda = 0.05f;
    ModelCache c;
    model_forward(c, w, tokens.data(), T);
    model_loss(c, w, targets.data(), nullptr);
    CHECK(fam_penalty(c, cfg) > 0.0f);
    ModelWeights dw(cfg);
    model_backward(dw, c, w, targets.data(), nullptr, 1.0f, false, lambda);
    auto objective = [&]() {
        ModelCache cc;
        model_forward(cc, w, tokens.data(), T);
        return (double)model_loss(cc, w, targets.data(), nullptr) + lambda * (double)fam_penalty(cc, cfg);
    };
    for (size_t i = 0; i < w.params.size(); i++)
        grad_check("penalty d" + w.params[i].name, w.params[i].data, w.params[i].size, dw.params[i].data,
                   objective, 1e-3, 2e-2);
}

TEST_CASE("model: gradient of the FAM update-norm penalty (training option) by finite differences") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 2, 1, 2);
    ModelWeights w = random_model(cfg, 12);
    Rng rng(12);
    const int T = 9;  // 4 updates, the first one fresh (not penalized)
    std::vector<int> tokens = random_tokens(T, cfg.V, rng), targets = random_tokens(T, cfg.V, rng);
    const float l2 = 0.03f, l1 = 0.05f;  // both penalties at once: their gradients add up
    ModelCache c;
    model_forward(c, w, tokens.data(), T);
    model_loss(c, w, targets.data(), nullptr);
    // the norm penalty is the mean row norm, so its square is at most the squared penalty (Jensen)
    const double pn = fam_norm_penalty(c, cfg), p2 = fam_penalty(c, cfg);
    CHECK(pn > 0.0);
    CHECK(pn * pn <= p2 * (1 + 1e-5));
    ModelWeights dw(cfg);
    model_backward(dw, c, w, targets.data(), nullptr, 1.0f, false, l2, l1);
    auto objective = [&]() {
        ModelCache cc;
        model_forward(cc, w, tokens.data(), T);
        return (double)model_loss(cc, w, targets.data(), nullptr) + l2 * (double)fam_penalty(cc, cfg) +
               l1 * (double)fam_norm_penalty(cc, cfg);
    };
    for (size_t i = 0; i < w.params.size(); i++)
        grad_check("norm penalty d" + w.params[i].name, w.params[i].data, w.params[i].size, dw.params[i].data,
                   objective, 1e-3, 2e-2);
}
