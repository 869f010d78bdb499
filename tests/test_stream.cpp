// test_stream.cpp: streaming inference (src/fam_state.h; paper Section 1 and
// App. D.4, "O(1) memory") against the blockwise model (src/model.h) and the
// naive one (src/naive.h): logits and FAM states for every attention kind,
// prefill == token by token, save/resume bit for bit, deterministic generation,
// and a state that does not grow.
//
// Tolerance: 2e-5 absolute on logits and FAM rows with tests/model_util.h's
// random_model weights (the same as test_model.cpp's blockwise == naive). The
// paths differ only in float rounding: 1-row gemms instead of T-row ones, keys
// in ring order instead of [memory | FAM | block], float vs double (naive).
// FAM rows have no final LayerNorm: the residual of each update adds up, so they
// grow with the number of blocks (|F| ~ 100 after 30 updates) and so does their
// rounding; they are compared at 2e-5 relative to their largest entry.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unistd.h>

#include "fam_state.h"
#include "gradcheck.h"
#include "model.h"
#include "model_util.h"
#include "naive.h"
#include "app/checkpoint.h"
#include "app/state_file.h"

static const float kTol = 2e-5f;

// The FAM [N, F, D] at kTol relative to its largest entry (at least 1).
static void check_fam(const std::string& name, const std::vector<float>& got, const std::vector<float>& want) {
    float scale = 1.0f;
    for (float x : want) scale = std::max(scale, std::fabs(x));
    check_close(name, got.data(), want.data(), want.size(), kTol * scale);
}

static std::string name_of(const FamConfig& c, int T) { return c.describe() + " T=" + std::to_string(T); }

// Logits [T, V] of a whole sequence fed token by token.
static std::vector<float> stream_tokens(FamState& st, const ModelWeights& w, const std::vector<int>& tokens) {
    std::vector<float> logits(tokens.size() * w.cfg.V);
    for (size_t t = 0; t < tokens.size(); t++) stream_step(st, w, tokens[t], &logits[t * w.cfg.V]);
    return logits;
}

// Logits [T, V]: the first `k` tokens one by one, the rest by stream_prefill in pieces of `piece`.
static std::vector<float> stream_mixed(FamState& st, const ModelWeights& w, const std::vector<int>& tokens,
                                       int k, int piece) {
    const int T = (int)tokens.size(), V = w.cfg.V;
    std::vector<float> logits((size_t)T * V);
    for (int t = 0; t < k && t < T; t++) stream_step(st, w, tokens[t], &logits[(size_t)t * V]);
    for (int t = k; t < T; t += piece) {
        int n = std::min(piece, T - t);
        stream_prefill(st, w, tokens.data() + t, n, &logits[(size_t)t * V]);
    }
    return logits;
}

static std::string tmp_path(const std::string& stem) {
    return "/tmp/famtest_" + std::to_string(getpid()) + "_" + stem + ".safetensors";
}

struct Case {
    AttentionKind a;
    int B, M, F, T, N, H;
};
static const AttentionKind fam = AttentionKind::Fam, bswa = AttentionKind::Bswa, full = AttentionKind::Full;
static const Case kCases[] = {
    {fam, 3, 1, 2, 10, 2, 2},  {fam, 1, 0, 1, 5, 2, 2},   {fam, 1, 2, 2, 6, 1, 1},   // B = 1
    {fam, 4, 1, 2, 3, 2, 2},   {fam, 4, 0, 3, 4, 2, 2},                              // T < B, T = B
    {fam, 3, 0, 2, 11, 3, 2},  {fam, 2, 0, 3, 7, 3, 1},   {fam, 2, 1, 5, 9, 2, 2},   // M = 0, F > B, N = 3, H = 1
    {fam, 4, 2, 2, 17, 2, 4},  {fam, 5, 3, 4, 12, 1, 2},  {fam, 3, 1, 1, 1, 2, 2},   // T = 1
    {fam, 3, 2, 2, 40, 2, 2},  {fam, 2, 1, 4, 33, 3, 1},                             // the ring turns many times
    {bswa, 3, 1, 0, 10, 2, 2}, {bswa, 2, 0, 0, 7, 3, 1},  {bswa, 1, 3, 0, 6, 2, 2},
    {bswa, 4, 2, 0, 13, 2, 4}, {bswa, 3, 1, 0, 31, 2, 2},
    {full, 1, 0, 0, 9, 2, 2},  {full, 1, 0, 0, 1, 3, 1},  {full, 1, 0, 0, 150, 2, 2},  // > one prefill chunk
};

TEST_CASE("stream: token by token == blockwise == naive (logits and FAM) over many configs") {
    Rng rng(300);
    int k = 0;
    float worst_block = 0, worst_naive = 0;
    for (const Case& cs : kCases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 11, 8, cs.H, cs.N, 12);
        ModelWeights w = random_model(cfg, 2000 + k++);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        ModelCache c;
        model_forward(c, w, tokens.data(), cs.T);
        NaiveResult ref = naive_forward(w, tokens.data(), cs.T);
        FamState st(cfg);
        stream_reset(st, w);
        std::vector<float> logits = stream_tokens(st, w, tokens);
        check_close("stream vs blockwise " + name_of(cfg, cs.T), logits.data(), c.logits.data(), logits.size(), kTol);
        check_close("stream vs naive " + name_of(cfg, cs.T), logits.data(), ref.logits.data(), logits.size(), kTol);
        worst_block = std::max(worst_block, max_abs_diff(logits.data(), c.logits.data(), logits.size()));
        worst_naive = std::max(worst_naive, max_abs_diff(logits.data(), ref.logits.data(), logits.size()));
        CHECK(st.pos == cs.T);
        if (cfg.fam_len() > 0) {
            // the FAM after the stream is model_forward's fam_final (the FAM after the last complete block)
            std::vector<float> f = stream_fam(st);
            check_fam("stream FAM vs blockwise fam_final " + name_of(cfg, cs.T), f, c.fam_final);
            check_fam("stream FAM vs naive fam_final " + name_of(cfg, cs.T), f, ref.fam_final);
        }
    }
    MESSAGE("stream vs blockwise: max |diff| " << worst_block << ", vs naive " << worst_naive << " (tol " << kTol << ")");
}

TEST_CASE("stream: prefill (a block at a time, and mixed with single steps) == token by token") {
    Rng rng(301);
    int k = 0;
    float worst = 0;
    for (const Case& cs : kCases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 11, 8, cs.H, cs.N, 12);
        ModelWeights w = random_model(cfg, 3000 + k++);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        FamState st(cfg);
        stream_reset(st, w);
        std::vector<float> one = stream_tokens(st, w, tokens);
        std::vector<float> fam_one = stream_fam(st);
        // whole sequence in one call (cut into blocks inside), then: 1 step + the rest,
        // B+1 steps (past a block edge) + pieces of 2, pieces of 3 from the start
        const int splits[][2] = {{0, 1 << 20}, {1, 1 << 20}, {cs.B + 1, 2}, {0, 3}};
        for (const auto& sp : splits) {
            stream_reset(st, w);
            std::vector<float> pre = stream_mixed(st, w, tokens, sp[0], sp[1]);
            std::string tag = name_of(cfg, cs.T) + " steps " + std::to_string(sp[0]) + " then pieces of " +
                              std::to_string(std::min(sp[1], cs.T));
            check_close("prefill vs steps " + tag, pre.data(), one.data(), one.size(), kTol);
            worst = std::max(worst, max_abs_diff(pre.data(), one.data(), one.size()));
            std::vector<float> f = stream_fam(st);
            check_fam("prefill FAM vs steps " + tag, f, fam_one);
            CHECK(st.pos == cs.T);
        }
    }
    MESSAGE("prefill vs token by token: max |diff| " << worst << " (tol " << kTol << ")");
}

TEST_CASE("stream: save in the middle of a block, load, continue: identical logits, bit for bit") {
    Rng rng(302);
    const Case cases[] = {{fam, 4, 1, 2, 23, 2, 2}, {fam, 3, 0, 5, 17, 3, 1}, {bswa, 4, 2, 0, 22, 2, 2},
                          {full, 1, 0, 0, 21, 2, 2}};
    int k = 0;
    for (const Case& cs : cases) {
        FamConfig cfg = make_cfg(cs.a, cs.B, cs.M, cs.F, 11, 8, cs.H, cs.N, 12);
        ModelWeights w = random_model(cfg, 4000 + k++);
        std::vector<int> tokens = random_tokens(cs.T, cfg.V, rng);
        FamState st(cfg);
        stream_reset(st, w);
        std::vector<float> whole = stream_tokens(st, w, tokens);
        const int cut = 2 * cs.B + 1;  // inside block 2 (past the first FAM update)
        std::vector<int> head(tokens.begin(), tokens.begin() + cut), tail(tokens.begin() + cut, tokens.end());
        FamState a(cfg);
        stream_reset(a, w);
        stream_tokens(a, w, head);
        std::string path = tmp_path("resume" + std::to_string(k));
        fam_state_save(path, a, w);
        FamState b(cfg);  // a different state object: nothing carried over but the file
        fam_state_load(path, b, w);
        std::remove(path.c_str());
        CHECK(b.pos == cut);
        std::vector<float> rest = stream_tokens(b, w, tail);
        float d = max_abs_diff(rest.data(), &whole[(size_t)cut * cfg.V], rest.size());
        INFO(name_of(cfg, cs.T) << ": resumed vs uninterrupted max |diff| " << d);
        CHECK(d == 0.0f);
        std::vector<float> fa = stream_fam(st), fb = stream_fam(b);
        CHECK(max_abs_diff(fa.data(), fb.data(), fa.size()) == 0.0f);
    }
}

TEST_CASE("stream: a fresh state (position 0) saves and loads for every kind") {
    Rng rng(303);
    for (AttentionKind a : {fam, bswa, full}) {
        FamConfig cfg = make_cfg(a, 3, 1, 2);
        ModelWeights w = random_model(cfg, 10);
        std::vector<int> tokens = random_tokens(8, cfg.V, rng);
        FamState st(cfg);
        stream_reset(st, w);
        std::string path = tmp_path(std::string("fresh_") + attention_name(a));
        fam_state_save(path, st, w);  // full: k, v of shape [0, D]
        std::vector<float> want = stream_tokens(st, w, tokens);
        FamState b(cfg);
        fam_state_load(path, b, w);
        std::remove(path.c_str());
        std::vector<float> got = stream_tokens(b, w, tokens);
        INFO(attention_name(a));
        CHECK(max_abs_diff(got.data(), want.data(), want.size()) == 0.0f);
    }
}

TEST_CASE("stream: loading refuses a state that does not belong to the model") {
    FamConfig cfg = make_cfg(fam, 3, 1, 2);
    ModelWeights w = random_model(cfg, 5);
    FamState st(cfg);
    stream_reset(st, w);
    int toks[4] = {1, 2, 3, 4};
    stream_prefill(st, w, toks, 4, nullptr);
    std::string path = tmp_path("refuse");
    fam_state_save(path, st, w);

    FamConfig other = make_cfg(fam, 4, 1, 2);  // another block size
    ModelWeights wo = random_model(other, 5);
    FamState so(other);
    CHECK_THROWS_WITH_AS(fam_state_load(path, so, wo), doctest::Contains("belongs to a model 'fam V=7 D=8 H=2 N=2 Dff=12 B=3"),
                         std::invalid_argument);
    ModelWeights w2 = random_model(cfg, 6);  // same config, other weights
    CHECK_THROWS_WITH_AS(fam_state_load(path, st, w2), doctest::Contains("other weights"), std::invalid_argument);
    // a model checkpoint is not a state
    std::string mpath = tmp_path("model");
    save_model(mpath, w);
    CHECK_THROWS_WITH_AS(fam_state_load(mpath, st, w), doctest::Contains("not a stream state"), std::invalid_argument);
    std::remove(mpath.c_str());
    // ring fields that contradict the position counter
    SafeTensors t = fam_state_to_safetensors(st, w);
    t.metadata["state.ring_head"] = "0";  // pos 4, B 3, M 1: the head must be slot 1
    safetensors_save(path, t);
    CHECK_THROWS_WITH_AS(fam_state_load(path, st, w), doctest::Contains("contradict state.pos"), std::runtime_error);
    t = fam_state_to_safetensors(st, w);
    t.metadata["state.fresh"] = "1,0";  // a block has completed: no layer is fresh any more
    safetensors_save(path, t);
    CHECK_THROWS_WITH_AS(fam_state_load(path, st, w), doctest::Contains("state.fresh of layer 0"), std::runtime_error);
    t = fam_state_to_safetensors(st, w);
    t.tensors.erase("state.layers.1.v");
    safetensors_save(path, t);
    CHECK_THROWS_WITH_AS(fam_state_load(path, st, w), doctest::Contains("state.layers.1.v"), std::runtime_error);
    std::remove(path.c_str());
}

TEST_CASE("stream: the state does not grow (bswa, fam); the full-attention cache does") {
    for (AttentionKind a : {fam, bswa, full}) {
        FamConfig cfg = make_cfg(a, 4, 2, 3);
        ModelWeights w = random_model(cfg, 7);
        FamState st(cfg);
        stream_reset(st, w);
        Rng rng(7);
        std::vector<float> logits(cfg.V);
        stream_step(st, w, 1, logits.data());
        const size_t before = st.capacity_bytes();
        for (int t = 0; t < 10 * cfg.B; t++) stream_step(st, w, rng.randint(0, cfg.V - 1), logits.data());
        std::vector<int> more = random_tokens(10 * cfg.B, cfg.V, rng);
        stream_prefill(st, w, more.data(), (int)more.size(), nullptr);
        const size_t after = st.capacity_bytes();
        INFO(attention_name(a) << ": state " << before << " bytes before, " << after << " after " << st.pos << " tokens");
        if (a == full) CHECK(after > before);
        else CHECK(after == before);
    }
}

TEST_CASE("stream: generation: greedy follows the model's argmax; a fixed seed repeats itself") {
    FamConfig cfg = make_cfg(fam, 3, 1, 2, 11);
    ModelWeights w = random_model(cfg, 8);
    FamState st(cfg);
    const std::vector<int> prompt = {1, 5, 2, 7};
    const int K = 12;
    std::vector<int> greedy(K);
    stream_reset(st, w);
    stream_generate(st, w, prompt.data(), (int)prompt.size(), K, 0.0f, 0, 1, greedy.data());
    // each greedy token is the argmax of the blockwise model's logits on everything before it
    std::vector<int> seq = prompt;
    seq.insert(seq.end(), greedy.begin(), greedy.end());
    ModelCache c;
    model_forward(c, w, seq.data(), (int)seq.size() - 1);
    for (int i = 0; i < K; i++) {
        const float* l = &c.logits[(size_t)(prompt.size() - 1 + i) * cfg.V];
        CHECK(greedy[i] == (int)(std::max_element(l, l + cfg.V) - l));
    }
    CHECK(st.pos == (int64_t)(prompt.size() + K - 1));  // the last generated token is not fed back

    std::vector<int> s1(K), s2(K), s3(K), top1(K);
    stream_reset(st, w);
    stream_generate(st, w, prompt.data(), (int)prompt.size(), K, 1.0f, 0, 42, s1.data());
    stream_reset(st, w);
    stream_generate(st, w, prompt.data(), (int)prompt.size(), K, 1.0f, 0, 42, s2.data());
    stream_reset(st, w);
    stream_generate(st, w, prompt.data(), (int)prompt.size(), K, 1.0f, 0, 43, s3.data());
    stream_reset(st, w);
    stream_generate(st, w, prompt.data(), (int)prompt.size(), K, 1.0f, 1, 44, top1.data());
    CHECK(s1 == s2);
    CHECK(s1 != s3);        // another seed, another sample (12 draws from 11 ids)
    CHECK(top1 == greedy);  // top-k = 1 leaves only the argmax
}

TEST_CASE("stream: bad input is refused with a clear error") {
    FamConfig cfg = make_cfg(fam, 3, 1, 2);
    ModelWeights w = random_model(cfg, 9);
    FamState st(cfg);
    std::vector<float> logits(cfg.V);
    CHECK_THROWS_WITH_AS(stream_step(st, w, 0, logits.data()), doctest::Contains("before stream_reset"),
                         std::invalid_argument);
    stream_reset(st, w);
    stream_step(st, w, 0, logits.data());
    CHECK_THROWS_WITH_AS(stream_step(st, w, 7, logits.data()), doctest::Contains("token id 7 at position 1"),
                         std::invalid_argument);
    int toks[3] = {1, 2, -1};
    CHECK_THROWS_WITH_AS(stream_prefill(st, w, toks, 3, nullptr), doctest::Contains("token id -1 at position 3"),
                         std::invalid_argument);
    CHECK(st.pos == 1);  // a refused prefill changes nothing
    ModelWeights wo = random_model(make_cfg(fam, 2, 1, 2), 9);
    CHECK_THROWS_WITH_AS(stream_step(st, wo, 0, logits.data()), doctest::Contains("allocated for"),
                         std::invalid_argument);
}
