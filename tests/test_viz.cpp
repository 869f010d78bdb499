// test_viz.cpp: the observer hook (src/fam_layer.h) and the pictures built on it
// (src/viz.h): every (layer, block) is seen once, attention rows sum to 1, the hook
// changes nothing, the timeline assembly agrees with fam_timeline_mask, the .npy
// dumps load back with the right shapes, the HTML needs no network.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "masks.h"
#include "model.h"
#include "model_util.h"
#include "temp_dir.h"
#include "app/npy.h"
#include "app/viz.h"

namespace {

struct Case {
    AttentionKind a;
    int B, M, F, T;
};
const Case kCases[] = {
    {AttentionKind::Fam, 3, 1, 2, 10},   // partial last block
    {AttentionKind::Fam, 4, 0, 3, 8},    // M = 0, complete blocks only
    {AttentionKind::Fam, 2, 2, 3, 9},    // F > B, two memory blocks
    {AttentionKind::Fam, 4, 1, 2, 3},    // T < B: no FAM update at all
    {AttentionKind::Bswa, 3, 1, 0, 10},  // F = 0
    {AttentionKind::Full, 1, 0, 0, 6},   // one causal block
};

std::string cfg_name(const FamConfig& c, int T) { return c.describe() + " T=" + std::to_string(T); }

}  // namespace

TEST_CASE("viz: the observer sees every (layer, block) once; its P rows sum to 1; hook off == same logits") {
    Rng rng(11);
    for (const Case& cs : kCases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 9, 8, 2, 2, 12);
        ModelWeights w = random_model(cfg, 77);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        INFO(cfg_name(cfg, cs.T));

        ModelCache plain, watched;
        model_forward(plain, w, tokens.data(), cs.T);  // hook off (the default)
        VizRecorder rec(cfg.H);
        BlockObserver obs = rec.observer();
        ForwardOptions opt;
        opt.observer = &obs;
        model_forward(watched, w, tokens.data(), cs.T, opt);
        // bit for bit: the observer only reads
        REQUIRE(plain.logits.size() == watched.logits.size());
        CHECK(std::memcmp(plain.logits.data(), watched.logits.data(), 4 * plain.logits.size()) == 0);
        REQUIRE(plain.fam_final.size() == watched.fam_final.size());
        if (!plain.fam_final.empty())  // memcmp of two null pointers is undefined even for 0 bytes
            CHECK(std::memcmp(plain.fam_final.data(), watched.fam_final.data(), 4 * plain.fam_final.size()) == 0);

        const int nblocks = plain.plan.nblocks;
        REQUIRE((int)rec.blocks.size() == cfg.N * nblocks);
        std::vector<int> seen(cfg.N * nblocks, 0);
        for (size_t i = 0; i < rec.blocks.size(); i++) {
            const VizBlock& b = rec.blocks[i];
            CHECK(b.layer == (int)i / nblocks);  // layer by layer, blocks in order
            CHECK(b.tau == (int)i % nblocks);
            seen[b.layer * nblocks + b.tau]++;
            REQUIRE(b.P.size() == (size_t)cfg.H * b.R * b.C);
            REQUIRE(b.mask.rows == b.R);
            REQUIRE(b.mask.cols == b.C);
            // the same numbers the blockwise cache keeps: block rows from BlockCache::P
            // [H, len, C], FAM rows from the FAM update's P [H, F, F+B] at the FAM column
            const BlockCache& bc = plain.layers[b.layer].blocks[b.tau];
            const int F = bc.update ? bc.upd.F : 0, W = F + bc.upd.B;
            REQUIRE(b.R == bc.len + F);
            for (int h = 0; h < cfg.H; h++)
                for (int r = 0; r < b.R; r++)
                    for (int c = 0; c < b.C; c++) {
                        float want = 0.0f;
                        if (r < bc.len)
                            want = bc.P[((size_t)h * bc.len + r) * bc.C + c];
                        else if (c >= b.C - W)
                            want = bc.upd.P[((size_t)h * F + r - bc.len) * W + c - (b.C - W)];
                        CHECK(b.P[((size_t)h * b.R + r) * b.C + c] == want);
                    }
            for (int h = 0; h < cfg.H; h++)
                for (int r = 0; r < b.R; r++) {
                    double sum = 0;
                    for (int c = 0; c < b.C; c++) {
                        float p = b.P[((size_t)h * b.R + r) * b.C + c];
                        if (!b.mask.at(r, c)) CHECK(p == 0.0f);
                        sum += p;
                    }
                    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
                }
        }
        for (int s : seen) CHECK(s == 1);
    }
}

TEST_CASE("viz: the timeline order is fam_timeline_mask's; timeline attention lives where the mask allows") {
    Rng rng(12);
    for (const Case& cs : kCases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 9, 8, 2, 2, 12);
        ModelWeights w = random_model(cfg, 78);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        INFO(cfg_name(cfg, cs.T));
        VizRun r = viz_run(w, tokens);
        const Timeline tl = make_timeline(r);
        const Mask mk = fam_timeline_mask(r.T, r.B, r.M, r.F);
        REQUIRE(tl.n == mk.rows);
        for (int t = 0; t < r.T; t++) CHECK(mk.row_axis.pos[tl.token_index(t)] == t);
        for (int k = 0; k <= tl.ncomplete; k++)
            for (int j = 0; j < r.F; j++) {
                CHECK(mk.row_axis.fam[tl.fam_index(k, j)] == j);
                CHECK(mk.row_axis.group[tl.fam_index(k, j)] == k);
            }
        for (int l = 0; l < r.N; l++)
            for (int head = -1; head < r.H; head++) {
                std::vector<float> a = timeline_attention(r, l, head);
                REQUIRE(a.size() == (size_t)tl.n * tl.n);
                for (int i = 0; i < tl.n; i++) {
                    double sum = 0;
                    for (int c = 0; c < tl.n; c++) {
                        float x = a[(size_t)i * tl.n + c];
                        if (x != 0.0f) CHECK(mk.at(i, c) == 1);  // nonzero only where the mask allows
                        sum += x;
                    }
                    // FAM_0 rows come from the prompt pass, not the block loop: left empty
                    const bool fam0 = mk.row_axis.fam[i] >= 0 && mk.row_axis.group[i] == 0;
                    CHECK(sum == doctest::Approx(fam0 ? 0.0 : 1.0).epsilon(1e-5));
                }
            }
        // the FAM update reads only FAM keys and its block: write + keep = 1 per update
        if (r.F > 0) {
            std::vector<float> wr = fam_write(r), kp = fam_keep(r);
            for (int l = 0; l < r.N; l++)
                for (int tau = 0; tau < r.nblocks; tau++) {
                    if (!r.blocks[l][tau].update) {
                        CHECK(std::isnan(kp[l * r.nblocks + tau]));
                        continue;
                    }
                    double s = kp[l * r.nblocks + tau];
                    for (int t = tau * r.B; t < (tau + 1) * r.B; t++) s += wr[l * r.T + t];
                    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
                }
        }
    }
}

TEST_CASE("viz: FAM states over time start at the prompt pass and end at fam_final") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 3, 1, 2, 9, 8, 2, 2, 12);
    ModelWeights w = random_model(cfg, 79);
    Rng rng(13);
    std::vector<int> tokens = random_tokens(11, cfg.V, rng);  // 3 complete blocks + 2
    VizRun r = viz_run(w, tokens);
    ModelCache c;
    model_forward(c, w, tokens.data(), 11);
    std::vector<float> st = fam_states(r), ch = fam_change(r);
    const size_t FD = (size_t)r.F * r.D;
    REQUIRE(st.size() == (size_t)r.N * (r.nblocks + 1) * FD);
    for (int l = 0; l < r.N; l++) {
        const float* first = &st[(size_t)l * (r.nblocks + 1) * FD];
        const float* last = first + (size_t)r.nblocks * FD;
        CHECK(std::memcmp(first, &c.fam_init[l * FD], 4 * FD) == 0);
        CHECK(std::memcmp(last, &c.fam_final[l * FD], 4 * FD) == 0);
        // the partial last block changes nothing
        for (int j = 0; j < r.F; j++) CHECK(ch[((size_t)l * r.nblocks + r.nblocks - 1) * r.F + j] == 0.0f);
    }
}

TEST_CASE("viz: viz_write_all writes .npy files that load back with the right shapes, HTML without network") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 4, 0, 2, 9, 8, 2, 2, 12);
    FamConfig cb = make_cfg(AttentionKind::Bswa, 4, 1, 0, 9, 8, 2, 2, 12);
    ModelWeights w = random_model(cfg, 80), wb = random_model(cb, 81);
    Rng rng(14);
    std::vector<int> tokens = random_tokens(14, cfg.V, rng);  // 3 complete blocks + 2
    std::vector<std::string> words;
    for (int t : tokens) words.push_back("w" + std::to_string(t));
    VizRun r = viz_run(w, tokens, words, "fam"), rb = viz_run(wb, tokens, words, "bswa");
    VizOptions opt;
    opt.highlight = {5, 6};
    opt.queries = {13};
    opt.blocks = {1, 3};
    TempDir dir("fam_test_viz");
    std::vector<std::string> files = viz_write_all(dir.path, r, &rb, opt);
    CHECK(files.size() > 20);
    for (const std::string& f : files) CHECK_MESSAGE(std::filesystem::exists(dir.path + "/" + f), f);

    const Timeline tl = make_timeline(r);
    const int N = r.N, H = r.H, n = tl.n;
    std::vector<int> shape;
    std::vector<float> a = npy_load(dir.path + "/attention_timeline.npy", &shape);
    CHECK(shape == std::vector<int>{N, H, n, n});
    std::vector<float> a01 = timeline_attention(r, 0, 1);
    CHECK(std::memcmp(&a[(size_t)1 * n * n], a01.data(), 4 * a01.size()) == 0);
    npy_load(dir.path + "/attention_timeline_mean.npy", &shape);
    CHECK(shape == std::vector<int>{N, n, n});
    std::vector<float> m = npy_load(dir.path + "/timeline_mask.npy", &shape);
    CHECK(shape == std::vector<int>{n, n});
    npy_load(dir.path + "/fam_states.npy", &shape);
    CHECK(shape == std::vector<int>{N, r.nblocks + 1, r.F, r.D});
    npy_load(dir.path + "/fam_change.npy", &shape);
    CHECK(shape == std::vector<int>{N, r.nblocks, r.F});
    std::vector<float> wr = npy_load(dir.path + "/fam_write.npy", &shape);
    CHECK(shape == std::vector<int>{N, r.T});
    CHECK(std::isnan(wr[r.T - 1]));  // the partial block updates no FAM
    npy_load(dir.path + "/fam_read.npy", &shape);
    CHECK(shape == std::vector<int>{N, r.T});
    npy_load(dir.path + "/fam_update_attention.npy", &shape);
    CHECK(shape == std::vector<int>{N, r.ncomplete, H, r.F, r.F + r.B});
    std::vector<float> P1 = npy_load(dir.path + "/block1_P.npy", &shape);
    CHECK(shape == std::vector<int>{N, H, r.B + r.F, r.F + r.B});
    CHECK(std::memcmp(P1.data(), r.blocks[0][1].P.data(), 4 * r.blocks[0][1].P.size()) == 0);
    std::vector<float> P3 = npy_load(dir.path + "/block3_P.npy", &shape);  // partial: 2 rows, no FAM rows
    CHECK(shape == std::vector<int>{N, H, 2, r.F + r.B});
    npy_load(dir.path + "/logits.npy", &shape);
    CHECK(shape == std::vector<int>{r.T, cfg.V});
    const Timeline tb = make_timeline(rb);
    npy_load(dir.path + "/compare/attention_timeline.npy", &shape);
    CHECK(shape == std::vector<int>{N, H, tb.n, tb.n});

    // no network: no URL outside the inlined data: URIs (whose base64 has no ':')
    for (const char* page : {"index.html", "animation.html", "compare.html", "compare/index.html"}) {
        std::string html = read_file(dir.path + "/" + page);
        REQUIRE(html.size() > 100);
        CHECK(html.find("http:") == std::string::npos);
        CHECK(html.find("https:") == std::string::npos);
        std::string text;  // the page without its base64 payloads
        for (size_t i = 0; i < html.size();) {
            size_t d = html.find("base64,", i);
            text += html.substr(i, d == std::string::npos ? std::string::npos : d - i);
            if (d == std::string::npos) break;
            i = html.find('"', d);
            REQUIRE(i != std::string::npos);
        }
        CHECK_MESSAGE(text.find("http") == std::string::npos, page);
        CHECK_MESSAGE(text.find("//") == std::string::npos, page);  // no protocol-relative URL either
        CHECK(text.find("<script src") == std::string::npos);
        CHECK(text.find("<link") == std::string::npos);
    }
    // the animation has one frame per block
    std::string anim = read_file(dir.path + "/animation.html");
    for (int k = 0; k < r.nblocks; k++) CHECK(anim.find("id=\"f" + std::to_string(k) + "\"") != std::string::npos);
    CHECK(std::filesystem::exists(dir.path + "/frames/frame_003.png"));
}

TEST_CASE("viz: errors name what is wrong") {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 3, 1, 2);
    ModelWeights w = random_model(cfg, 82);
    CHECK_THROWS_WITH_AS(viz_run(w, {}), doctest::Contains("empty"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(viz_run(w, {1, 2}, {"a"}), doctest::Contains("1 words for 2 tokens"), std::invalid_argument);
    VizRun r = viz_run(w, {1, 2, 3, 4});
    CHECK_THROWS_WITH_AS(timeline_attention(r, 5), doctest::Contains("no layer 5"), std::invalid_argument);
    VizOptions opt;
    opt.blocks = {7};
    TempDir dir("fam_test_viz");
    CHECK_THROWS_WITH_AS(viz_write_all(dir.path, r, nullptr, opt), doctest::Contains("block 7"), std::invalid_argument);
}
