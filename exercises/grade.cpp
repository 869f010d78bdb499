// grade.cpp: the grader of the course exercises (exercises/README.md).
//
// `make exercise N=k` links the student's function into the real model in place
// of the reference one (exercises/build.sh), then runs `grade k`: every check
// below calls the model as the rest of the program does, so a wrong answer shows
// up in real outputs (logits, FAM states, gradients, masks), and compares them
// with something the student's function did not compute: an independent
// construction from the spec's rules, the readable path, finite differences, or
// the float64 PyTorch fixtures in tests/reference/fixtures.
//
// Output, one line per check, then one summary line:
//   OK      block rows see memory, FAM and their causal prefix   (max |diff| = 0)
//   NOT OK  ... : what is wrong, in words
//   exercise 1: 3 passed, 1 failed
// Exit 0 only when every check passes.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "attention.h"
#include "fam_state.h"
#include "fam_update.h"
#include "layer.h"
#include "masks.h"
#include "model.h"
#include "naive.h"
#include "ops.h"
#include "app/checkpoint.h"
#include "app/npy.h"
#include "../tests/model_util.h"

namespace fs = std::filesystem;

// ---- reporting --------------------------------------------------------------------------

static int g_passed = 0, g_failed = 0;

// One check: `run` returns the max |diff| (or a count of wrong cells) and may set
// `why` to a sentence naming the problem; it passes when the diff is <= tol and
// nothing was said. An exception (e.g. the stub's "not written yet") fails it.
static void check(const std::string& name, double tol, const std::function<double(std::string& why)>& run) {
    std::string why;
    double diff = 0.0;
    try {
        diff = run(why);
    } catch (const std::exception& e) {
        why = std::string("threw: ") + e.what();
        diff = INFINITY;
    }
    const bool ok = why.empty() && diff <= tol;
    (ok ? g_passed : g_failed)++;
    std::printf("%-7s %-58s (max |diff| = %.2g)%s%s\n", ok ? "OK" : "NOT OK", name.c_str(), diff,
                ok ? "" : ": ", ok ? "" : (why.empty() ? "larger than the tolerance" : why.c_str()));
    std::fflush(stdout);
}

static fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path(); }

static std::vector<float> random_vec(size_t n, Rng& rng, float scale = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = scale * rng.normal();
    return v;
}

// ---- checks shared by several exercises -------------------------------------------------

// The model (blockwise and readable paths) against the float64 PyTorch fixtures:
// logits and FAM states (and, with grads, every parameter gradient), relative to the
// largest magnitude of each tensor. Returns the largest relative error.
static double against_fixtures(bool grads, std::string& why) {
    double worst = 0.0;
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(repo_root() / "tests/reference/fixtures")) {
        if (!entry.is_directory()) continue;
        const fs::path dir = entry.path();
        std::ifstream jf(dir / "case.json");
        nlohmann::json cs = nlohmann::json::parse(jf);
        std::vector<int> tokens = cs["tokens"].get<std::vector<int>>(), targets = cs["targets"].get<std::vector<int>>();
        const int T = (int)tokens.size();
        ModelWeights w = load_model((dir / "model.safetensors").string());
        auto rel = [&](const std::string& what, const float* got, const float* want, size_t n) {
            double err = 0, scale = 1e-12;
            for (size_t i = 0; i < n; i++) {
                err = std::fmax(err, std::fabs((double)got[i] - want[i]));
                scale = std::fmax(scale, std::fabs((double)want[i]));
            }
            if (!(err / scale <= 1e-4) && why.empty())
                why = dir.filename().string() + ": " + what + " differs from the PyTorch reference";
            worst = std::fmax(worst, std::isnan(err) ? INFINITY : err / scale);
        };
        std::vector<int> shape;
        std::vector<float> want_logits = npy_load((dir / "logits.npy").string(), &shape);
        ModelCache c;
        model_forward(c, w, tokens.data(), T);
        rel("logits (blockwise path)", c.logits.data(), want_logits.data(), want_logits.size());
        NaiveResult nv = naive_forward(w, tokens.data(), T);
        rel("logits (readable path)", nv.logits.data(), want_logits.data(), want_logits.size());
        if (w.cfg.fam_len() > 0) {
            std::vector<float> want_fam = npy_load((dir / "fam_final.npy").string(), &shape);
            rel("the final FAM (blockwise path)", c.fam_final.data(), want_fam.data(), want_fam.size());
        }
        if (grads) {
            model_loss(c, w, targets.data(), nullptr);
            ModelWeights dw(w.cfg);
            model_backward(dw, c, w, targets.data(), nullptr);
            SafeTensors g = safetensors_load((dir / "grads.safetensors").string());
            for (const Param& p : dw.params) rel("d" + p.name, p.data, g.get(p.name, p.shape).data, p.size);
        }
        cases++;
    }
    if (cases == 0) why = "no fixtures found under tests/reference/fixtures";
    return worst;
}

// Blockwise (masks, batched) against readable (explicit key lists) on random models.
static double blockwise_vs_readable(std::string& why) {
    double worst = 0.0;
    Rng rng(5);
    for (int M = 0; M <= 2; M++)
        for (int F : {0, 2, 3}) {
            FamConfig cfg = make_cfg(F ? AttentionKind::Fam : AttentionKind::Bswa, 3, M, F);
            ModelWeights w = random_model(cfg, 11 + M * 7 + F);
            std::vector<int> tokens = random_tokens(13, cfg.V, rng);
            ModelCache c;
            model_forward(c, w, tokens.data(), 13);
            NaiveResult nv = naive_forward(w, tokens.data(), 13);
            double d = max_abs_diff(c.logits.data(), nv.logits.data(), nv.logits.size());
            if (!(d <= 1e-4) && why.empty())
                why = "the blockwise path (which uses the masks) disagrees with the readable one (explicit key lists) for " +
                      cfg.describe();
            worst = std::fmax(worst, std::isnan(d) ? INFINITY : d);
        }
    return worst;
}

// Central finite differences of loss() with respect to x[0..n), against grad.
// Returns the largest error relative to the largest numeric gradient (floored at 1e-2).
static double finite_diff(float* x, size_t n, const float* grad, const std::function<double()>& loss) {
    double err = 0.0, scale = 1e-2;
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        const float old = x[i];
        x[i] = old + eps;
        const double lp = loss();
        x[i] = old - eps;
        const double lm = loss();
        x[i] = old;
        const double num = (lp - lm) / (2.0 * eps);
        scale = std::fmax(scale, std::fabs(num));
        err = std::fmax(err, std::isnan(grad[i]) ? INFINITY : std::fabs(num - grad[i]));
    }
    return err / scale;
}

// ---- 1: the block view mask -------------------------------------------------------------

// Which keys the spec lets row r of block tau's view see (docs/spec.md, "Which keys a
// token sees"), written from the rules, not from the code under test.
static bool spec_allows(int B, int M, int F, int tau, int len, int r, int c, std::string* rule) {
    const bool fam_row = r >= len;
    const int mem_end = M * B, fam_end = M * B + F;
    if (c < mem_end) {  // memory column: block tau - M + c / B
        const bool exists = tau - M + c / B >= 0;
        *rule = fam_row ? "FAM rows never see memory keys (Alg. 2 step 6: K~ = [K^F; K_tau])"
                        : exists ? "token rows see every key of the memory blocks that exist (whole blocks)"
                                 : "this memory column is a block before block 0, which does not exist: keep it 0";
        return !fam_row && exists;
    }
    if (c < fam_end) {
        *rule = fam_row ? "FAM rows see all F FAM keys (in both directions)"
                        : "token rows see all F keys of the FAM that entered the block (attention to feedback)";
        return true;
    }
    const int s = c - fam_end;  // block key s
    if (fam_row) {
        *rule = "FAM rows see the WHOLE block, not a causal prefix (the block is complete)";
        return true;
    }
    *rule = s == r ? "a token sees its own key (the causal block includes the diagonal)"
                   : "a token must not see later tokens of its block (causal)";
    return s <= r;
}

static double ex1_cells(bool fam_rows, std::string& why) {
    int wrong = 0;
    for (int B = 1; B <= 4; B++)
        for (int M = 0; M <= 2; M++)
            for (int F = 0; F <= 3; F++)
                for (int tau = 0; tau <= 3; tau++)
                    for (int len = 1; len <= B; len++) {
                        Mask mk = fam_block_mask(B, M, F, tau, len);
                        for (int r = fam_rows ? len : 0; r < (fam_rows ? mk.rows : len); r++)
                            for (int c = 0; c < mk.cols; c++) {
                                std::string rule;
                                const bool want = spec_allows(B, M, F, tau, len, r, c, &rule);
                                if ((mk.at(r, c) != 0) == want) continue;
                                if (wrong++ == 0)
                                    why = "B=" + std::to_string(B) + " M=" + std::to_string(M) + " F=" + std::to_string(F) +
                                          " tau=" + std::to_string(tau) + ", row " + mk.row_axis.label[r] + ", column " +
                                          mk.col_axis.label[c] + ": expected " + (want ? "1" : "0") + ", got " +
                                          std::to_string(mk.at(r, c)) + ". " + rule;
                            }
                    }
    return wrong;
}

static void exercise1() {
    check("token rows: memory, FAM keys, causal prefix (wrong cells)", 0, [](std::string& w) { return ex1_cells(false, w); });
    check("FAM rows: FAM keys and the whole block (wrong cells)", 0, [](std::string& w) { return ex1_cells(true, w); });
    check("blockwise model == readable model (logits)", 1e-4, blockwise_vs_readable);
}

// ---- 2: the receptive field in closed form ----------------------------------------------

static void exercise2() {
    check("closed form == reachability through the masks (cases wrong)", 0, [](std::string& why) {
        int wrong = 0;
        for (int B = 1; B <= 4; B++)
            for (int M = 0; M <= 2; M++)
                for (int depth = 1; depth <= 4; depth++)
                    for (int t = 0; t < 30; t++) {
                        const int want = receptive_field_earliest(30, B, M, depth, t);
                        const int got = receptive_field_earliest_closed_form(B, M, depth, t);
                        if (got == want) continue;
                        if (wrong++ == 0)
                            why = "B=" + std::to_string(B) + " M=" + std::to_string(M) + " depth=" + std::to_string(depth) +
                                  " t=" + std::to_string(t) + ": expected " + std::to_string(want) + ", got " +
                                  std::to_string(got) +
                                  (got < 0 ? ". Positions start at 0: clamp."
                                           : ". Each layer reaches M whole blocks before the token's own block "
                                             "floor(t/B); the answer is the first position of the earliest block.");
                    }
        return wrong;
    });
}

// ---- 3: the positions of the FAM ---------------------------------------------------------

static void exercise3() {
    check("positions = the block's last F positions (+ offset)", 0, [](std::string& why) {
        double worst = 0.0;
        for (int B : {1, 2, 4, 16})
            for (int F : {1, 2, 3, 8})
                for (int64_t t0 : {0LL, 4LL, 32LL, 1LL << 20})
                    for (float off : {0.0f, 123.5f}) {
                        if (t0 % B) continue;
                        std::vector<float> pos(F, NAN);
                        fam_positions(pos.data(), t0, B, F, off);
                        for (int j = 0; j < F; j++) {
                            const float want = (float)(t0 + B - F + j) + off;
                            const double d = std::fabs((double)pos[j] - want);
                            if (!(d == 0.0) && why.empty())
                                why = "B=" + std::to_string(B) + " F=" + std::to_string(F) + " t0=" + std::to_string(t0) +
                                      " j=" + std::to_string(j) + ": expected " + std::to_string(want) + ", got " +
                                      std::to_string(pos[j]) +
                                      ". Row j of F_{tau+1} takes the position of token t0 + B - F + j (the last F "
                                      "tokens of the block; F > B reaches back before it), plus the RPO offset";
                            worst = std::fmax(worst, std::isnan(d) ? INFINITY : d);
                        }
                    }
        return worst;
    });
    check("model == PyTorch reference (logits, FAM), rel. error", 1e-4,
          [](std::string& why) { return against_fixtures(false, why); });
}

// ---- 4: the FAM update (Alg. 2 steps 6-8) -------------------------------------------------

// F_{tau+1} computed here from the building blocks, independently of fam_update:
// the naive attention of the FAM queries over [K^F; K_tau], then Wo + residual + FFN.
static std::vector<float> update_by_hand(const float* fam, const float* qF, const float* kF, const float* vF,
                                         const float* K, const float* V, bool residual, const LayerWeights& w,
                                         const FamConfig& cfg) {
    const int F = cfg.F, B = cfg.B, D = cfg.D;
    std::vector<float> k((size_t)(F + B) * D), v((size_t)(F + B) * D), att((size_t)F * D), out((size_t)F * D);
    std::memcpy(k.data(), kF, sizeof(float) * F * D);
    std::memcpy(k.data() + (size_t)F * D, K, sizeof(float) * B * D);
    std::memcpy(v.data(), vF, sizeof(float) * F * D);
    std::memcpy(v.data() + (size_t)F * D, V, sizeof(float) * B * D);
    attention_forward_naive(att.data(), nullptr, qF, k.data(), v.data(), nullptr, F, F + B, D, cfg.H);
    OutCache oc;
    out_forward(out.data(), oc, residual ? fam : nullptr, att.data(), F, w, cfg);
    return out;
}

static double ex4_update(bool fresh, std::string& why) {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 3, 1, 2);
    ModelWeights mw = random_model(cfg, 21);
    const LayerWeights& w = mw.layers[0];
    Rng rng(4);
    const int F = cfg.F, B = cfg.B, D = cfg.D;
    std::vector<float> fam = random_vec((size_t)F * D, rng), pos = {7.0f, 8.0f};
    std::vector<float> qF = random_vec((size_t)F * D, rng), kF = random_vec((size_t)F * D, rng),
                       vF = random_vec((size_t)F * D, rng), K = random_vec((size_t)B * D, rng),
                       V = random_vec((size_t)B * D, rng);
    std::vector<float> out((size_t)F * D), out_pos(F);
    FamUpdateCache c;
    fam_update(out.data(), out_pos.data(), c, FamIn{fam.data(), pos.data(), fresh}, qF.data(), kF.data(), vF.data(),
               K.data(), V.data(), 9, 0.0f, w, cfg);
    std::vector<float> want = update_by_hand(fam.data(), qF.data(), kF.data(), vF.data(), K.data(), V.data(), !fresh, w, cfg);
    std::vector<float> other = update_by_hand(fam.data(), qF.data(), kF.data(), vF.data(), K.data(), V.data(), fresh, w, cfg);
    const double d = max_abs_diff(out.data(), want.data(), want.size());
    if (!(d <= 1e-4)) {
        if (max_abs_diff(out.data(), other.data(), other.size()) <= 1e-4)
            why = fresh ? "you added F_tau as the residual, but the first update of a fresh FAM uses a zero residual (App. B.1)"
                        : "the residual is missing: only a fresh FAM's first update drops it; every later one adds F_tau";
        else
            why = "F_{tau+1} differs from SelfAttention(Q^F, [K^F; K_tau], [V^F; V_tau]) Wo^T + residual, then + FF(PreLN(.))";
    }
    for (int j = 0; j < F && why.empty(); j++)
        if (out_pos[j] != (float)(9 + B - F + j)) why = "the positions of F_{tau+1} are wrong (the block's last F positions)";
    return std::isnan(d) ? INFINITY : d;
}

static void exercise4() {
    check("a FAM update with the residual F_tau", 1e-4, [](std::string& w) { return ex4_update(false, w); });
    check("the first update of a fresh FAM (zero residual)", 1e-4, [](std::string& w) { return ex4_update(true, w); });
    check("blockwise model == readable model (logits)", 1e-4, blockwise_vs_readable);
    check("model == PyTorch reference (logits, FAM), rel. error", 1e-4,
          [](std::string& why) { return against_fixtures(false, why); });
}

// ---- 5: the ring slot of streaming ---------------------------------------------------------

static void exercise5() {
    check("block tau lives in slot tau % (M+1) (cases wrong)", 0, [](std::string& why) {
        int wrong = 0;
        for (int M = 0; M <= 3; M++)
            for (int tau = 0; tau < 12; tau++)
                for (int age = 0; age <= std::min(M, tau); age++) {
                    const int want = (tau - age) % (M + 1), got = ring_slot(tau % (M + 1), age, M);
                    if (got == want) continue;
                    if (wrong++ == 0)
                        why = "M=" + std::to_string(M) + ", current block " + std::to_string(tau) + " (head " +
                              std::to_string(tau % (M + 1)) + "), age " + std::to_string(age) + ": expected slot " +
                              std::to_string(want) + ", got " + std::to_string(got) +
                              (got < 0 ? ". In C++ a negative number % n is negative: add n before taking it."
                                       : ". The block `age` blocks back sits `age` slots before head, modulo M+1.");
                }
        return wrong;
    });
    check("streaming token by token == blockwise (logits)", 1e-4, [](std::string& why) {
        double worst = 0.0;
        Rng rng(9);
        for (int M = 1; M <= 3; M++)
            for (int F : {0, 2}) {
                FamConfig cfg = make_cfg(F ? AttentionKind::Fam : AttentionKind::Bswa, 2, M, F);
                ModelWeights w = random_model(cfg, 31 + M + F);
                const int T = 11;
                std::vector<int> tokens = random_tokens(T, cfg.V, rng);
                ModelCache c;
                model_forward(c, w, tokens.data(), T);
                FamState st(cfg);
                stream_reset(st, w);
                std::vector<float> logits(cfg.V);
                for (int t = 0; t < T; t++) {
                    stream_step(st, w, tokens[t], logits.data());
                    double d = max_abs_diff(logits.data(), &c.logits[(size_t)t * cfg.V], cfg.V);
                    if (!(d <= 1e-4) && why.empty())
                        why = "token " + std::to_string(t) + " of " + cfg.describe() +
                              ": the stream read the wrong memory block from the ring";
                    worst = std::fmax(worst, std::isnan(d) ? INFINITY : d);
                }
            }
        return worst;
    });
}

// ---- 6: one undo step of the Algorithm 2 backward -------------------------------------------

static double ex6_gradcheck(bool fresh, std::string& why) {
    FamConfig cfg = make_cfg(AttentionKind::Fam, 3, 1, 2);
    ModelWeights mw = random_model(cfg, 41);
    LayerWeights& w = mw.layers[0];
    Rng rng(6);
    const int F = cfg.F, B = cfg.B, D = cfg.D;
    std::vector<float> fam = random_vec((size_t)F * D, rng), pos = {7.0f, 8.0f};
    std::vector<float> qF = random_vec((size_t)F * D, rng), kF = random_vec((size_t)F * D, rng),
                       vF = random_vec((size_t)F * D, rng), K = random_vec((size_t)B * D, rng),
                       V = random_vec((size_t)B * D, rng), r = random_vec((size_t)F * D, rng);
    // L = sum r . F_{tau+1}
    auto loss = [&]() {
        std::vector<float> out((size_t)F * D), out_pos(F);
        FamUpdateCache c;
        fam_update(out.data(), out_pos.data(), c, FamIn{fam.data(), pos.data(), fresh}, qF.data(), kF.data(), vF.data(),
                   K.data(), V.data(), 9, 0.0f, w, cfg);
        double s = 0;
        for (size_t i = 0; i < out.size(); i++) s += (double)r[i] * out[i];
        return s;
    };
    std::vector<float> out((size_t)F * D), out_pos(F);
    FamUpdateCache c;
    fam_update(out.data(), out_pos.data(), c, FamIn{fam.data(), pos.data(), fresh}, qF.data(), kF.data(), vF.data(),
               K.data(), V.data(), 9, 0.0f, w, cfg);
    std::vector<float> dfam((size_t)F * D, 0.5f), dqF((size_t)F * D, 0.0f), dkF(dqF), dvF(dqF), dK((size_t)B * D, 0.0f), dV(dK);
    ModelWeights dw(cfg);
    FamUpdateGradScratch s;
    fam_update_backward(dfam.data(), dqF.data(), dkF.data(), dvF.data(), dK.data(), dV.data(),
                        dw.layers[0], r.data(), c, s, w, cfg);
    double worst = 0.0;
    auto grad = [&](const char* name, std::vector<float>& x, const std::vector<float>& g) {
        double e = finite_diff(x.data(), x.size(), g.data(), loss);
        if (!(e <= 1e-2) && why.empty()) why = std::string("d") + name + " is wrong (finite differences disagree)";
        worst = std::fmax(worst, e);
    };
    if (!fresh) {
        std::vector<float> g = dfam;  // accumulated onto 0.5: compare the increment
        for (float& x : g) x -= 0.5f;
        grad("F_tau (the residual path)", fam, g);
    } else {
        double d = 0;
        for (float x : dfam) d = std::fmax(d, std::fabs(x - 0.5f));
        if (d > 0 && why.empty())
            why = "a fresh FAM's first update had a zero residual: no gradient flows back to F_tau along it";
        worst = std::fmax(worst, d);
    }
    grad("Q^F", qF, dqF);
    grad("K^F", kF, dkF);
    grad("V^F", vF, dvF);
    grad("K_tau", K, dK);
    grad("V_tau", V, dV);
    auto wgrad = [&](const char* name, float* x, const float* g, size_t n) {
        double e = finite_diff(x, n, g, loss);
        if (!(e <= 1e-2) && why.empty()) why = std::string("d") + name + " is wrong (finite differences disagree)";
        worst = std::fmax(worst, e);
    };
    wgrad("Wo", w.wo, dw.layers[0].wo, (size_t)D * D);
    wgrad("W1", w.w1, dw.layers[0].w1, (size_t)cfg.Dff * D);
    return worst;
}

static void exercise6() {
    check("gradients of a FAM update with its residual (rel. error)", 1e-2, [](std::string& w) { return ex6_gradcheck(false, w); });
    check("gradients of a fresh FAM's first update (rel. error)", 1e-2, [](std::string& w) { return ex6_gradcheck(true, w); });
    check("model gradients == PyTorch reference (rel. error)", 1e-4,
          [](std::string& why) { return against_fixtures(true, why); });
}

// ---- 7: RoPE's backward ------------------------------------------------------------------

static void exercise7() {
    check("rope_backward == finite differences of rope_forward", 1e-3, [](std::string& why) {
        Rng rng(8);
        const int T = 3, H = 2, Dh = 4, D = H * Dh;
        std::vector<float> x = random_vec((size_t)T * D, rng), r = random_vec((size_t)T * D, rng);
        std::vector<float> pos = {0.0f, 5.0f, 1234.5f};
        auto loss = [&]() {
            std::vector<float> y((size_t)T * D);
            rope_forward(y.data(), x.data(), pos.data(), T, H, Dh, 10000.0f);
            double s = 0;
            for (size_t i = 0; i < y.size(); i++) s += (double)r[i] * y[i];
            return s;
        };
        std::vector<float> dx((size_t)T * D, 0.0f);
        rope_backward(dx.data(), r.data(), pos.data(), T, H, Dh, 10000.0f);
        double e = finite_diff(x.data(), x.size(), dx.data(), loss);
        if (!(e <= 1e-3)) why = "dL/dx is not the transpose of the rotation: rotate dL/dy by -p theta_i, same pairs (i, i+Dh/2)";
        return e;
    });
    check("rope_backward accumulates into dx (+=)", 1e-5, [](std::string& why) {
        const int T = 1, H = 1, Dh = 2;
        std::vector<float> dx = {1.0f, 2.0f}, dy = {0.0f, 0.0f}, pos = {3.0f};
        rope_backward(dx.data(), dy.data(), pos.data(), T, H, Dh, 10000.0f);
        const double d = std::fmax(std::fabs(dx[0] - 1.0f), std::fabs(dx[1] - 2.0f));
        if (!(d <= 1e-5)) why = "a backward adds its contribution to dx; it must not overwrite what is there";
        return d;
    });
    check("model gradients == PyTorch reference (rel. error)", 1e-4,
          [](std::string& why) { return against_fixtures(true, why); });
}

int main(int argc, char** argv) {
    const int k = argc > 1 ? std::atoi(argv[1]) : 0;
    void (*exercises[])() = {exercise1, exercise2, exercise3, exercise4, exercise5, exercise6, exercise7};
    const int n = (int)(sizeof exercises / sizeof exercises[0]);
    if (k < 1 || k > n) {
        std::fprintf(stderr, "usage: grade K   (K = 1..%d; run it through `make exercise N=K`)\n", n);
        return 2;
    }
    exercises[k - 1]();
    std::printf("exercise %d: %d passed, %d failed\n", k, g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
