// test_fast_paths.cpp: the training fast paths (issue 12) against the code they stand
// in for. Each is meant to give the same bits, so the checks are exact (==), not close:
//   - gelu_forward_keep_tanh / gelu_backward_from_tanh == gelu_forward / gelu_backward
//   - gelu_forward_fast (inference) == gelu_forward
//   - out_forward / out_backward with keep_tanh == without
//   - rope's theta table == theta computed per row, also past the table (Dh > 512)
//   - the RoPE cos/sin table (rope_table_update / rope_apply) == rope_forward / rope_backward,
//     fresh and reused (positions moved, rows added or dropped, sign, base, Dh changed)
//   - backward scratch kept in the caches: a second step, a shorter sequence on a
//     used cache, give exactly what a fresh cache gives
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "layer.h"
#include "model.h"
#include "ops.h"
#include "gradcheck.h"
#include "model_util.h"

static std::vector<float> randv(size_t n, Rng& rng, float scale = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = scale * rng.normal();
    return v;
}

static bool same_bits(const std::vector<float>& a, const std::vector<float>& b, size_t n) {
    return a.size() >= n && b.size() >= n && std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0;
}

TEST_CASE("fast paths: gelu keeping its tanh gives gelu_forward / gelu_backward bit for bit") {
    Rng rng(21);
    const int n = 1000;
    std::vector<float> x = randv(n, rng, 3.0f), dout = randv(n, rng);
    x[0] = 0.0f, x[1] = 40.0f, x[2] = -40.0f;  // saturated tanh both ways
    std::vector<float> y1(n), y2(n), th(n), dx1(n, 0.5f), dx2(n, 0.5f);
    gelu_forward(y1.data(), x.data(), n);
    gelu_forward_keep_tanh(y2.data(), th.data(), x.data(), n);
    CHECK(same_bits(y1, y2, n));
    std::vector<float> y3(n);
    for (int m : {n, 7, 1}) {  // also lengths that are no multiple of the vector width
        std::fill(y3.begin(), y3.end(), 0.0f);
        gelu_forward_fast(y3.data(), x.data(), m);
        CHECK(same_bits(y1, y3, m));
    }
    gelu_backward(dx1.data(), dout.data(), x.data(), n);
    gelu_backward_from_tanh(dx2.data(), dout.data(), x.data(), th.data(), n);
    CHECK(same_bits(dx1, dx2, n));  // also accumulates (+=) like gelu_backward
}

TEST_CASE("fast paths: out_forward / out_backward with keep_tanh == without, bit for bit") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 4, 1, 2, 7, 8, 2, 1, 12);
    ModelWeights w = random_model(cfg, 5), dw1(cfg), dw2(cfg);
    Rng rng(22);
    const int R = 6, D = cfg.D;
    std::vector<float> resid = randv((size_t)R * D, rng), att = randv((size_t)R * D, rng),
                       dout = randv((size_t)R * D, rng);
    OutCache plain, kept;
    kept.keep_tanh = true;
    std::vector<float> o1((size_t)R * D), o2((size_t)R * D);
    out_forward(o1.data(), plain, resid.data(), att.data(), R, w.layers[0], cfg);
    out_forward(o2.data(), kept, resid.data(), att.data(), R, w.layers[0], cfg);
    CHECK(same_bits(o1, o2, o1.size()));
    std::vector<float> dr1((size_t)R * D, 0.0f), dr2(dr1), da1(dr1), da2(dr1);
    out_backward(dr1.data(), da1.data(), dw1.layers[0], dout.data(), plain, w.layers[0], cfg);
    out_backward(dr2.data(), da2.data(), dw2.layers[0], dout.data(), kept, w.layers[0], cfg);
    CHECK(same_bits(dr1, dr2, dr1.size()));
    CHECK(same_bits(da1, da2, da1.size()));
    CHECK(same_bits(dw1.buffer, dw2.buffer, dw1.buffer.size()));
}

TEST_CASE("fast paths: RoPE's theta table == theta per row, within and past the table") {
    Rng rng(23);
    for (int Dh : {8, 64, 520}) {  // 520: half = 260 > the 256-entry table
        const int T = 5, H = 2, D = H * Dh;
        std::vector<float> x = randv((size_t)T * D, rng), pos = {0.0f, 1.0f, 17.5f, -3.0f, 60000.0f};
        std::vector<float> y((size_t)T * D), ref((size_t)T * D);
        rope_forward(y.data(), x.data(), pos.data(), T, H, Dh, 10000.0f);
        for (int t = 0; t < T; t++)  // docs/spec.md, RoPE, written out (the arithmetic of ops.cpp)
            for (int i = 0; i < Dh / 2; i++) {
                const double ang = (double)pos[t] * std::pow(10000.0, -2.0 * i / Dh);
                const float c = (float)std::cos(ang), s = (float)std::sin(ang);
                for (int h = 0; h < H; h++) {
                    const size_t o = (size_t)t * D + (size_t)h * Dh;
                    ref[o + i] = x[o + i] * c - x[o + i + Dh / 2] * s;
                    ref[o + i + Dh / 2] = x[o + i] * s + x[o + i + Dh / 2] * c;
                }
            }
        INFO("Dh = " << Dh);
        CHECK(same_bits(y, ref, y.size()));
    }
}

TEST_CASE("fast paths: the RoPE cos/sin table == rope_forward / rope_backward, also when reused") {
    Rng rng(25);
    RopeTable fwd, back;  // reused across all cases below: stale rows must be recomputed
    for (int Dh : {8, 64, 520, 8}) {  // 520: past rope_rotate's 256-entry theta table; 8 again: a shrunk table
        const int H = 2, D = H * Dh;
        std::vector<std::vector<float>> positions = {
            {0.0f, 1.0f, 17.5f, -3.0f, 60000.0f},
            {0.0f, 1.0f, 18.5f, -3.0f, 60000.0f, 7.0f, 8.0f},  // row 2 moved, two rows more
            {0.0f, 1.0f, 18.5f},                               // fewer rows, same positions
            {-0.0f, 2.0f, 18.5f, 4.0f, 5.0f, 6.0f, 8.0f}};     // -0 is another bit pattern; row 6 kept from two calls ago
        for (const std::vector<float>& pos : positions) {
            const int T = (int)pos.size();
            std::vector<float> x = randv((size_t)T * D, rng), dy = randv((size_t)T * D, rng);
            std::vector<float> y1((size_t)T * D), y2((size_t)T * D), dx1 = randv((size_t)T * D, rng), dx2 = dx1;
            rope_forward(y1.data(), x.data(), pos.data(), T, H, Dh, 10000.0f);
            rope_table_update(fwd, pos.data(), T, Dh, 10000.0f, +1.0f);
            rope_apply(y2.data(), x.data(), fwd, T, H, Dh, false);
            rope_backward(dx1.data(), dy.data(), pos.data(), T, H, Dh, 10000.0f);
            rope_table_update(back, pos.data(), T, Dh, 10000.0f, -1.0f);
            rope_apply(dx2.data(), dy.data(), back, T, H, Dh, true);
            INFO("Dh = " << Dh << ", T = " << T);
            CHECK(same_bits(y1, y2, y1.size()));
            CHECK(same_bits(dx1, dx2, dx1.size()));  // accumulates (+=) like rope_backward
            std::vector<float> inplace = x;          // out == x, as qkv_forward calls it
            rope_apply(inplace.data(), inplace.data(), fwd, T, H, Dh, false);
            CHECK(same_bits(inplace, y1, y1.size()));
        }
        // the same table asked for the other sign or another base recomputes every row
        const std::vector<float> pos = {0.0f, 1.0f, 18.5f};
        std::vector<float> x = randv((size_t)3 * D, rng), y1((size_t)3 * D), y2((size_t)3 * D);
        rope_table_update(fwd, pos.data(), 3, Dh, 500.0f, +1.0f);
        rope_apply(y2.data(), x.data(), fwd, 3, H, Dh, false);
        rope_forward(y1.data(), x.data(), pos.data(), 3, H, Dh, 500.0f);
        CHECK(same_bits(y1, y2, y1.size()));
        rope_table_update(fwd, pos.data(), 3, Dh, 500.0f, -1.0f);
        std::vector<float> d1((size_t)3 * D, 0.0f), d2((size_t)3 * D, 0.0f);
        rope_apply(d2.data(), x.data(), fwd, 3, H, Dh, true);
        rope_backward(d1.data(), x.data(), pos.data(), 3, H, Dh, 500.0f);
        CHECK(same_bits(d1, d2, d1.size()));
        rope_table_update(fwd, pos.data(), 3, Dh, 10000.0f, +1.0f);  // back to the loop's base
    }
}

// One training step's gradient of a model on `tokens` through cache c.
static std::vector<float> step_grad(ModelCache& c, const ModelWeights& w, const std::vector<int>& tokens,
                                    float pos_offset = 0.0f) {
    const int T = (int)tokens.size() - 1;
    ModelWeights dw(w.cfg);
    ForwardOptions opt;
    opt.pos_offset = pos_offset;  // RPO: every position moves, so every cached RoPE row is stale
    model_forward(c, w, tokens.data(), T, opt);
    model_loss(c, w, tokens.data() + 1, nullptr);
    model_backward(dw, c, w, tokens.data() + 1, nullptr);
    return dw.buffer;
}

TEST_CASE("fast paths: backward scratch kept in the caches leaks nothing between steps") {
    for (AttentionKind a : {AttentionKind::Fam, AttentionKind::Bswa}) {
        FamConfig cfg = make_cfg(a, 4, 1, 3, 7, 8, 2, 2, 12);
        ModelWeights w = random_model(cfg, 6);
        Rng rng(24);
        std::vector<int> longer = random_tokens(23, cfg.V, rng), shorter = random_tokens(10, cfg.V, rng);
        ModelCache fresh1, fresh2, used;
        const std::vector<float> g_long = step_grad(fresh1, w, longer), g_short = step_grad(fresh2, w, shorter);
        INFO(attention_name(a));
        CHECK(same_bits(step_grad(used, w, longer), g_long, g_long.size()));
        CHECK(same_bits(step_grad(used, w, longer), g_long, g_long.size()));    // the same step again
        CHECK(same_bits(step_grad(used, w, shorter), g_short, g_short.size()));  // a shorter one after it
        CHECK(same_bits(step_grad(used, w, longer), g_long, g_long.size()));    // and back
        ModelCache fresh3;
        const std::vector<float> g_rpo = step_grad(fresh3, w, longer, 37.5f);
        CHECK(same_bits(step_grad(used, w, longer, 37.5f), g_rpo, g_rpo.size()));  // other positions
        CHECK(same_bits(step_grad(used, w, longer), g_long, g_long.size()));       // and back again
    }
}
