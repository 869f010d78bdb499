// test_ops.cpp: every op's backward against central finite differences on
// several small random shapes (odd sizes included), plus each op's defining
// properties.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "attention.h"
#include "gradcheck.h"
#include "ops.h"

TEST_CASE("embedding: lookup, scatter-add backward, bad ids refused") {
    Rng rng(1);
    const int V = 7, D = 5, T = 6;
    Tensor emb = random_tensor("tok_emb", {V, D}, rng);
    int tokens[T] = {3, 1, 4, 1, 5, 6};
    Tensor out("h", {T, D}), w = random_tensor("w", {T, D}, rng);
    embedding_forward(out.data, tokens, emb.data, T, D, V);
    CHECK(out.at(2, 3) == emb.at(4, 3));
    Tensor demb("dtok_emb", {V, D});
    embedding_backward(demb.data, w.data, tokens, T, D);
    grad_check("dtok_emb", emb.data, emb.size(), demb.data, [&]() {
        embedding_forward(out.data, tokens, emb.data, T, D, V);
        return weighted_sum(out.data, w.data, out.size());
    });
    int bad[2] = {0, 7};
    CHECK_THROWS_AS(embedding_forward(out.data, bad, emb.data, 2, D, V), std::invalid_argument);
    bad[1] = -1;
    CHECK_THROWS_AS(embedding_forward(out.data, bad, emb.data, 2, D, V), std::invalid_argument);
}

TEST_CASE("linear: gradient check on several shapes") {
    Rng rng(2);
    const int shapes[][3] = {{1, 3, 2}, {4, 5, 7}, {9, 2, 3}};
    for (auto& s : shapes) {
        int T = s[0], I = s[1], O = s[2];
        Tensor x = random_tensor("x", {T, I}, rng), W = random_tensor("W", {O, I}, rng);
        Tensor y("y", {T, O}), w = random_tensor("w", {T, O}, rng);
        auto loss = [&]() {
            linear_forward(y.data, x.data, W.data, T, I, O);
            return weighted_sum(y.data, w.data, y.size());
        };
        Tensor dx("dx", {T, I}), dW("dW", {O, I});
        linear_backward(dx.data, dW.data, w.data, x.data, W.data, T, I, O);
        grad_check("linear dx", x.data, x.size(), dx.data, loss);
        grad_check("linear dW", W.data, W.size(), dW.data, loss);
    }
}

TEST_CASE("layernorm: normalizes rows and passes the gradient check") {
    Rng rng(3);
    const int shapes[][2] = {{1, 4}, {3, 7}, {5, 16}};
    for (auto& s : shapes) {
        int T = s[0], D = s[1];
        Tensor x = random_tensor("x", {T, D}, rng, 2.0f), g = random_tensor("g", {D}, rng);
        Tensor b = random_tensor("b", {D}, rng), y("y", {T, D}), w = random_tensor("w", {T, D}, rng);
        std::vector<float> mean(T), rstd(T);
        auto loss = [&]() {
            layernorm_forward(y.data, mean.data(), rstd.data(), x.data, g.data, b.data, T, D);
            return weighted_sum(y.data, w.data, y.size());
        };
        loss();
        // with g = 1, b = 0 each row has mean 0 and (biased) variance var/(var+eps) ~ 1
        Tensor ones("ones", {D}), zeros("zeros", {D}), yn("yn", {T, D});
        ones.fill(1.0f);
        layernorm_forward(yn.data, mean.data(), rstd.data(), x.data, ones.data, zeros.data, T, D);
        for (int t = 0; t < T; t++) {
            double m = 0, v = 0;
            for (int i = 0; i < D; i++) m += yn.at(t, i);
            m /= D;
            for (int i = 0; i < D; i++) v += (yn.at(t, i) - m) * (yn.at(t, i) - m);
            CHECK(std::abs(m) < 1e-5);
            CHECK(std::abs(v / D - 1.0) < 1e-3);
        }
        loss();
        Tensor dx("dx", {T, D}), dg("dg", {D}), db("db", {D});
        layernorm_backward(dx.data, dg.data, db.data, w.data, x.data, mean.data(), rstd.data(),
                           g.data, T, D);
        grad_check("layernorm dx", x.data, x.size(), dx.data, loss);
        grad_check("layernorm dg", g.data, g.size(), dg.data, loss);
        grad_check("layernorm db", b.data, b.size(), db.data, loss);
    }
}

TEST_CASE("gelu: tanh approximation values and gradient check") {
    float x[3] = {0.0f, 1.0f, -2.0f}, y[3];
    gelu_forward(y, x, 3);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == doctest::Approx(0.8411920).epsilon(1e-6));   // 0.5 (1 + tanh(sqrt(2/pi) 1.044715))
    CHECK(y[2] == doctest::Approx(-0.0454023).epsilon(1e-5));
    Rng rng(4);
    for (int n : {1, 7, 30}) {
        Tensor a = random_tensor("x", {n}, rng, 2.0f), out("y", {n}), w = random_tensor("w", {n}, rng);
        Tensor da("dx", {n});
        gelu_backward(da.data, w.data, a.data, n);
        grad_check("gelu dx", a.data, a.size(), da.data, [&]() {
            gelu_forward(out.data, a.data, n);
            return weighted_sum(out.data, w.data, out.size());
        }, 1e-3);
    }
}

TEST_CASE("rope: rotate-half values, norms preserved, q.k depends only on the offset") {
    // hand-checkable: Dh = 2, theta_0 = 1, position pi/2 rotates (1, 0) to (0, 1)
    float x[2] = {1.0f, 0.0f}, y[2], p = (float)(M_PI / 2);
    rope_forward(y, x, &p, 1, 1, 2, 10000.0f);
    CHECK(y[0] == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(1.0));
    // rotate-half pairing: index i pairs with i + Dh/2 (not 2i, 2i+1)
    float x4[4] = {1, 0, 0, 0}, y4[4], p1 = 1.0f;
    rope_forward(y4, x4, &p1, 1, 1, 4, 10000.0f);
    CHECK(y4[0] == doctest::Approx(std::cos(1.0)));
    CHECK(y4[2] == doctest::Approx(std::sin(1.0)));
    CHECK(y4[1] == 0.0f);

    Rng rng(5);
    const int H = 3, Dh = 8, D = H * Dh;
    Tensor q = random_tensor("q", {1, D}, rng), k = random_tensor("k", {1, D}, rng);
    Tensor qr("qr", {1, D}), kr("kr", {1, D});
    for (float base : {10000.0f, 500.0f}) {
        // norms preserved per head
        float pos = 123.456f;
        rope_forward(qr.data, q.data, &pos, 1, H, Dh, base);
        for (int h = 0; h < H; h++) {
            double n0 = 0, n1 = 0;
            for (int i = 0; i < Dh; i++) {
                n0 += q.data[h * Dh + i] * q.data[h * Dh + i];
                n1 += qr.data[h * Dh + i] * qr.data[h * Dh + i];
            }
            CHECK(n1 == doctest::Approx(n0).epsilon(1e-5));
        }
        // q.k depends on the position difference only (float positions too)
        auto dot_at = [&](float pq, float pk) {
            rope_forward(qr.data, q.data, &pq, 1, H, Dh, base);
            rope_forward(kr.data, k.data, &pk, 1, H, Dh, base);
            double s = 0;
            for (int i = 0; i < D; i++) s += qr.data[i] * kr.data[i];
            return s;
        };
        double ref = dot_at(10.0f, 3.0f);
        CHECK(dot_at(107.0f, 100.0f) == doctest::Approx(ref).epsilon(1e-4));
        CHECK(dot_at(-3.5f, -10.5f) == doctest::Approx(ref).epsilon(1e-4));
        CHECK(dot_at(10.0f, 4.0f) != doctest::Approx(ref).epsilon(1e-4));
    }
    // gradient check, several shapes, float and negative positions
    const int shapes[][3] = {{1, 1, 2}, {3, 2, 4}, {5, 3, 6}};
    for (auto& s : shapes) {
        int T = s[0], Hh = s[1], Dhh = s[2];
        Tensor a = random_tensor("x", {T, Hh * Dhh}, rng), out("y", {T, Hh * Dhh});
        Tensor w = random_tensor("w", {T, Hh * Dhh}, rng), da("dx", {T, Hh * Dhh});
        std::vector<float> pos(T);
        for (int t = 0; t < T; t++) pos[t] = rng.uniform(-20.0f, 20.0f);
        rope_backward(da.data, w.data, pos.data(), T, Hh, Dhh, 10000.0f);
        grad_check("rope dx", a.data, a.size(), da.data, [&]() {
            rope_forward(out.data, a.data, pos.data(), T, Hh, Dhh, 10000.0f);
            return weighted_sum(out.data, w.data, out.size());
        });
    }
    float odd[3];
    CHECK_THROWS_AS(rope_forward(odd, odd, &p, 1, 1, 3, 10000.0f), std::invalid_argument);
}

TEST_CASE("softmax: rows sum to 1, masked entries exactly 0, empty rows refused") {
    Rng rng(6);
    const int R = 5, C = 6;
    Tensor S = random_tensor("S", {R, C}, rng, 3.0f), P("P", {R, C});
    std::vector<uint8_t> mask(R * C);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) mask[r * C + c] = (c <= r) || (c == 5);
    softmax_forward(P.data, S.data, mask.data(), R, C);
    for (int r = 0; r < R; r++) {
        double s = 0;
        for (int c = 0; c < C; c++) {
            s += P.at(r, c);
            if (!mask[r * C + c]) CHECK(P.at(r, c) == 0.0f);
            else CHECK(P.at(r, c) > 0.0f);
        }
        CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
    }
    // huge scores do not overflow
    float big[2] = {1e30f, 0.0f}, pb[2];
    softmax_forward(pb, big, nullptr, 1, 2);
    CHECK(pb[0] == 1.0f);
    CHECK(pb[1] == 0.0f);
    // a row with no allowed key is an error, not NaN
    uint8_t none[2] = {0, 0};
    CHECK_THROWS_AS(softmax_forward(pb, big, none, 1, 2), std::invalid_argument);
    // gradient check through the mask
    Tensor w = random_tensor("w", {R, C}, rng), dP = w.clone(), dS("dS", {R, C});
    softmax_forward(P.data, S.data, mask.data(), R, C);
    softmax_backward(dS.data, w.data, P.data, R, C);
    grad_check("softmax dS", S.data, S.size(), dS.data, [&]() {
        softmax_forward(P.data, S.data, mask.data(), R, C);
        return weighted_sum(P.data, w.data, P.size());
    }, 1e-3);
}

TEST_CASE("fast_exp: within 1.1e-7 of e^x, and the same bits alone or inside a vectorized softmax") {
    // over [-87.3, 88] (e^x a normal float): 2 million evenly spaced x, plus the ends
    double worst = 0.0;
    float worst_x = 0.0f;
    const int n = 2000000;
    for (int i = 0; i <= n; i++) {
        const float x = -87.3f + (float)((88.0 + 87.3) * i / n);
        const double exact = std::exp((double)x);
        const double rel = std::fabs(fast_exp(x) - exact) / exact;
        if (rel > worst) worst = rel, worst_x = x;
    }
    MESSAGE("fast_exp: largest relative error " << worst << " at x = " << worst_x);
    CHECK(worst < 1.1e-7);
    CHECK(fast_exp(0.0f) == 1.0f);
    // the ends: 0 far below (no subnormal garbage, no NaN), a finite e^88 far above;
    // NaN stays NaN
    CHECK(fast_exp(-88.0f) == 0.0f);
    CHECK(fast_exp(-1e30f) == 0.0f);
    CHECK(fast_exp(88.0f) == doctest::Approx(1.6516363e38).epsilon(1e-6));
    CHECK(fast_exp(1e30f) == fast_exp(88.0f));
    CHECK(std::isfinite(fast_exp(1e30f)));
    CHECK(std::isnan(fast_exp(NAN)));

    // softmax_forward's loop takes columns four or eight at a time (SSE2 or AVX2: this
    // checks the copy this CPU runs) and the rest one at a time; every column must get
    // the value fast_exp gives it alone, whatever the row's length (this is what lets a
    // streamed row equal the same row of a batch). Some scores are extreme, so that the
    // clamps work inside the vector loop too: -100 and -1e30 (far below the others),
    // 1e30 (the row's maximum when allowed, a masked column's far-above value when not)
    float (*volatile alone)(float) = [](float x) { return fast_exp(x); };  // never vectorized
    Rng rng(11);
    for (int C = 1; C <= 37; C++) {
        Tensor S = random_tensor("S", {1, C}, rng, 4.0f), P("P", {1, C});
        if (C > 7) S.data[2] = -100.0f, S.data[4] = 1e30f, S.data[6] = -1e30f;
        std::vector<uint8_t> mask(C);
        for (int c = 0; c < C; c++) mask[c] = c % 3 != 1;  // columns 1, 4, 7, ... masked
        for (const uint8_t* m : {(const uint8_t*)nullptr, (const uint8_t*)mask.data()}) {
            softmax_forward(P.data, S.data, m, 1, C);
            float mx = -INFINITY;
            for (int c = 0; c < C; c++)
                if ((!m || m[c]) && S.data[c] > mx) mx = S.data[c];
            std::vector<float> e(C);
            double sum = 0.0;
            for (int c = 0; c < C; c++) sum += (e[c] = (!m || m[c]) ? alone(S.data[c] - mx) : 0.0f);
            const float inv = (float)(1.0 / sum);
            int same = 0;
            for (int c = 0; c < C; c++) same += std::memcmp(&P.data[c], &(e[c] *= inv), sizeof(float)) == 0;
            CHECK_MESSAGE(same == C, "row of " << C << (m ? " masked" : "") << " columns");
        }
    }
}

TEST_CASE("cross-entropy: value, weights, ignored positions, gradient") {
    // uniform logits over V classes: CE = log V
    const int V = 4;
    float logits[2 * V] = {0}, probs[2 * V], losses[2];
    int targets[2] = {2, -1};
    float loss = cross_entropy_forward(losses, probs, logits, targets, nullptr, 2, V);
    CHECK(loss == doctest::Approx(std::log(4.0)));
    CHECK(losses[1] == 0.0f);
    int none[2] = {-1, -1};
    CHECK_THROWS_AS(cross_entropy_forward(losses, probs, logits, none, nullptr, 2, V),
                    std::invalid_argument);
    int oob[2] = {4, 0};
    CHECK_THROWS_AS(cross_entropy_forward(losses, probs, logits, oob, nullptr, 2, V),
                    std::invalid_argument);

    Rng rng(7);
    const int shapes[][2] = {{1, 3}, {5, 7}, {6, 11}};
    for (auto& s : shapes) {
        int T = s[0], Vv = s[1];
        Tensor z = random_tensor("logits", {T, Vv}, rng, 2.0f), p("probs", {T, Vv});
        std::vector<int> y(T);
        std::vector<float> wts(T), ls(T);
        for (int t = 0; t < T; t++) {
            y[t] = (t % 3 == 1 && T > 1) ? -1 : rng.randint(0, Vv - 1);
            wts[t] = rng.uniform(0.1f, 2.0f);
        }
        // weighted mean by hand
        float wsum = 0;
        float L = cross_entropy_forward(ls.data(), p.data, z.data, y.data(), wts.data(), T, Vv, &wsum);
        double num = 0, den = 0;
        for (int t = 0; t < T; t++)
            if (y[t] >= 0) {
                num += wts[t] * ls[t];
                den += wts[t];
            }
        CHECK(L == doctest::Approx(num / den));
        CHECK(wsum == doctest::Approx(den));
        Tensor dz("dlogits", {T, Vv});
        cross_entropy_backward(dz.data, p.data, y.data(), wts.data(), 1.0f, T, Vv);
        grad_check("cross-entropy dlogits", z.data, z.size(), dz.data, [&]() {
            return (double)cross_entropy_forward(ls.data(), p.data, z.data, y.data(), wts.data(), T, Vv);
        }, 1e-3);
    }
}

TEST_CASE("attention: BLAS path == naive path, gradient check, masked rows refused") {
    Rng rng(8);
    const int shapes[][4] = {{1, 1, 4, 1}, {3, 5, 6, 2}, {7, 4, 8, 4}, {5, 9, 6, 3}};  // R C D H
    for (auto& s : shapes) {
        int R = s[0], C = s[1], D = s[2], H = s[3];
        Tensor q = random_tensor("q", {R, D}, rng), k = random_tensor("k", {C, D}, rng);
        Tensor v = random_tensor("v", {C, D}, rng);
        std::vector<uint8_t> mask(R * C);
        for (int i = 0; i < R * C; i++) mask[i] = rng.uniform() < 0.6f;
        for (int r = 0; r < R; r++) mask[r * C + (r % C)] = 1;  // every row sees something
        Tensor out("out", {R, D}), ref("ref", {R, D}), P("P", {H, R, C}), Pref("Pref", {H, R, C});
        attention_forward(out.data, P.data, q.data, k.data, v.data, mask.data(), R, C, D, H);
        attention_forward_naive(ref.data, Pref.data, q.data, k.data, v.data, mask.data(), R, C, D, H);
        check_close("attention out (blas vs naive)", out.data, ref.data, out.size(), 1e-5f);
        check_close("attention P (blas vs naive)", P.data, Pref.data, P.size(), 1e-6f);
        Tensor w = random_tensor("w", {R, D}, rng);
        Tensor dq("dq", {R, D}), dk("dk", {C, D}), dv("dv", {C, D});
        attention_backward(dq.data, dk.data, dv.data, w.data, P.data, q.data, k.data, v.data, R, C, D, H);
        auto loss = [&]() {
            attention_forward(out.data, P.data, q.data, k.data, v.data, mask.data(), R, C, D, H);
            return weighted_sum(out.data, w.data, out.size());
        };
        grad_check("attention dq", q.data, q.size(), dq.data, loss);
        grad_check("attention dk", k.data, k.size(), dk.data, loss);
        grad_check("attention dv", v.data, v.size(), dv.data, loss);
    }
    float q[2] = {1, 1}, out[2], P[1];
    uint8_t none[1] = {0};
    CHECK_THROWS_AS(attention_forward(out, P, q, q, q, none, 1, 1, 2, 1), std::invalid_argument);
    CHECK_THROWS_AS(attention_forward(out, P, q, q, q, nullptr, 1, 1, 3, 2), std::invalid_argument);
}
