// naive.cpp: see naive.h. Paper Section 2.2 / Algorithm 2, read literally.
#include "naive.h"

#include <cmath>
#include <stdexcept>

#include "ops.h"

namespace {

// The rows of one group after the first half of the layer: q, k (RoPE'd), v.
struct Projected {
    std::vector<float> q, k, v;  // [R, D]
};

Projected project(const std::vector<float>& x, const std::vector<float>& pos, int R,
                  const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D;
    std::vector<float> xn((size_t)R * D), mean(R), rstd(R);
    layernorm_forward(xn.data(), mean.data(), rstd.data(), x.data(), w.ln1_g, w.ln1_b, R, D);
    Projected p;
    p.q.resize((size_t)R * D);
    p.k.resize((size_t)R * D);
    p.v.resize((size_t)R * D);
    linear_forward(p.q.data(), xn.data(), w.wq, R, D, D);
    linear_forward(p.k.data(), xn.data(), w.wk, R, D, D);
    linear_forward(p.v.data(), xn.data(), w.wv, R, D, D);
    rope_forward(p.q.data(), p.q.data(), pos.data(), R, cfg.H, cfg.Dh(), cfg.rope_base);
    rope_forward(p.k.data(), p.k.data(), pos.data(), R, cfg.H, cfg.Dh(), cfg.rope_base);
    return p;
}

// One key a query may see: pointers to its key and value rows [D].
struct Key {
    const float* k;
    const float* v;
};

// a = sum_j softmax_j(q . k_j / sqrt(Dh)) v_j over exactly `keys`, per head. out [D].
void attend(float* out, const float* q, const std::vector<Key>& keys, const FamConfig& cfg) {
    const int H = cfg.H, Dh = cfg.Dh();
    if (keys.empty()) throw std::logic_error("naive attention: a row with no keys");
    std::vector<double> s(keys.size());
    for (int h = 0; h < H; h++) {
        double mx = -INFINITY;
        for (size_t j = 0; j < keys.size(); j++) {
            double dot = 0.0;
            for (int d = 0; d < Dh; d++) dot += (double)q[h * Dh + d] * keys[j].k[h * Dh + d];
            s[j] = dot / std::sqrt((double)Dh);
            mx = std::fmax(mx, s[j]);
        }
        double sum = 0.0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int d = 0; d < Dh; d++) {
            double acc = 0.0;
            for (size_t j = 0; j < keys.size(); j++) acc += s[j] / sum * keys[j].v[h * Dh + d];
            out[h * Dh + d] = (float)acc;
        }
    }
}

// Second half of the layer: A = resid + att Wo^T; O = A + W2 gelu(W1 LN2(A)). resid may be null.
std::vector<float> finish(const std::vector<float>& att, const float* resid, int R,
                          const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, Dff = cfg.Dff;
    std::vector<float> a((size_t)R * D), an((size_t)R * D), mean(R), rstd(R);
    std::vector<float> h((size_t)R * Dff), g((size_t)R * Dff), o((size_t)R * D);
    linear_forward(a.data(), att.data(), w.wo, R, D, D);
    if (resid)
        for (size_t i = 0; i < a.size(); i++) a[i] += resid[i];
    layernorm_forward(an.data(), mean.data(), rstd.data(), a.data(), w.ln2_g, w.ln2_b, R, D);
    linear_forward(h.data(), an.data(), w.w1, R, D, Dff);
    gelu_forward(g.data(), h.data(), R * Dff);
    linear_forward(o.data(), g.data(), w.w2, R, Dff, D);
    for (size_t i = 0; i < o.size(); i++) o[i] += a[i];
    return o;
}

}  // namespace

NaiveResult naive_forward(const ModelWeights& w, const int* tokens, int T, float pos_offset) {
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, V = cfg.V, F = cfg.fam_len();
    if (T <= 0) throw std::invalid_argument("sequence is empty (T = 0)");
    const bool full = cfg.attention == AttentionKind::Full;
    const int B = cfg.B, M = cfg.M;

    std::vector<float> x((size_t)T * D);
    embedding_forward(x.data(), tokens, w.tok_emb, T, D, V);
    std::vector<float> tok_pos(T);
    for (int t = 0; t < T; t++) tok_pos[t] = (float)t + pos_offset;

    // Initial FAM of every layer: the prompt rows as they enter that layer (App. B.1).
    std::vector<float> prompt_pos(F);
    for (int j = 0; j < F; j++) prompt_pos[j] = (float)(j - F) + pos_offset;
    std::vector<std::vector<float>> fam_init(N);
    if (F > 0) {
        std::vector<float> p(w.fam_prompt, w.fam_prompt + (size_t)F * D);
        for (int l = 0; l < N; l++) {
            fam_init[l] = p;
            Projected pr = project(p, prompt_pos, F, w.layers[l], cfg);
            std::vector<float> att((size_t)F * D);
            std::vector<Key> all;  // full bidirectional attention among the prompt rows
            for (int j = 0; j < F; j++) all.push_back({&pr.k[(size_t)j * D], &pr.v[(size_t)j * D]});
            for (int i = 0; i < F; i++) attend(&att[(size_t)i * D], &pr.q[(size_t)i * D], all, cfg);
            p = finish(att, p.data(), F, w.layers[l], cfg);
        }
    }

    NaiveResult res;
    res.fam_final.assign((size_t)N * F * D, 0.0f);
    for (int l = 0; l < N; l++) {
        const LayerWeights& lw = w.layers[l];
        Projected tok = project(x, tok_pos, T, lw, cfg);
        std::vector<float> att((size_t)T * D);
        auto token_key = [&](int j) { return Key{&tok.k[(size_t)j * D], &tok.v[(size_t)j * D]}; };

        if (full) {
            for (int t = 0; t < T; t++) {  // keys 0..t
                std::vector<Key> keys;
                for (int j = 0; j <= t; j++) keys.push_back(token_key(j));
                attend(&att[(size_t)t * D], &tok.q[(size_t)t * D], keys, cfg);
            }
        } else {
            std::vector<float> fam = fam_init[l];  // the FAM entering the current block
            std::vector<float> fam_pos = prompt_pos;
            bool fresh = true;
            for (int tau = 0; tau * B < T; tau++) {
                const int t0 = tau * B, len = std::min(B, T - t0);
                Projected fp;
                if (F > 0) fp = project(fam, fam_pos, F, lw, cfg);
                // token rows: memory blocks max(0, tau-M)..tau-1 whole, all F FAM keys,
                // then the block causally up to t
                for (int t = t0; t < t0 + len; t++) {
                    std::vector<Key> keys;
                    for (int j = std::max(0, tau - M) * B; j < t0; j++) keys.push_back(token_key(j));
                    for (int j = 0; j < F; j++)
                        keys.push_back({&fp.k[(size_t)j * D], &fp.v[(size_t)j * D]});
                    for (int j = t0; j <= t; j++) keys.push_back(token_key(j));
                    attend(&att[(size_t)t * D], &tok.q[(size_t)t * D], keys, cfg);
                }
                // FAM rows: only on a complete block, over all F FAM keys and all B block keys
                if (F > 0 && len == B) {
                    std::vector<Key> keys;
                    for (int j = 0; j < F; j++)
                        keys.push_back({&fp.k[(size_t)j * D], &fp.v[(size_t)j * D]});
                    for (int j = t0; j < t0 + B; j++) keys.push_back(token_key(j));
                    std::vector<float> fatt((size_t)F * D);
                    for (int i = 0; i < F; i++)
                        attend(&fatt[(size_t)i * D], &fp.q[(size_t)i * D], keys, cfg);
                    // zero residual on the first update of a fresh FAM
                    fam = finish(fatt, fresh ? nullptr : fam.data(), F, lw, cfg);
                    for (int j = 0; j < F; j++) fam_pos[j] = (float)(t0 + B - F + j) + pos_offset;
                    fresh = false;
                }
            }
            for (size_t i = 0; i < fam.size(); i++) res.fam_final[(size_t)l * F * D + i] = fam[i];
        }
        x = finish(att, x.data(), T, lw, cfg);
    }

    std::vector<float> xf((size_t)T * D), mean(T), rstd(T);
    layernorm_forward(xf.data(), mean.data(), rstd.data(), x.data(), w.lnf_g, w.lnf_b, T, D);
    res.logits.resize((size_t)T * V);
    linear_forward(res.logits.data(), xf.data(), w.lm_head, T, D, V);
    return res;
}
