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

// The attention half's output projection and residual: A = resid + att Wo^T. resid may be null.
std::vector<float> attention_out(const std::vector<float>& att, const float* resid, int R,
                                 const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D;
    std::vector<float> a((size_t)R * D);
    linear_forward(a.data(), att.data(), w.wo, R, D, D);
    if (resid)
        for (size_t i = 0; i < a.size(); i++) a[i] += resid[i];
    return a;
}

// The FFN half: O = A + W2 gelu(W1 LN2(A)).
std::vector<float> ffn(const std::vector<float>& a, int R, const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, Dff = cfg.Dff;
    std::vector<float> an((size_t)R * D), mean(R), rstd(R), h((size_t)R * Dff), g((size_t)R * Dff);
    std::vector<float> o((size_t)R * D);
    layernorm_forward(an.data(), mean.data(), rstd.data(), a.data(), w.ln2_g, w.ln2_b, R, D);
    linear_forward(h.data(), an.data(), w.w1, R, D, Dff);
    gelu_forward(g.data(), h.data(), R * Dff);
    linear_forward(o.data(), g.data(), w.w2, R, Dff, D);
    for (size_t i = 0; i < o.size(); i++) o[i] += a[i];
    return o;
}

}  // namespace

// Algorithm 2, Xformer_FAM(I_tau, K_mem, V_mem, F_tau) -> (O_tau, F_{tau+1}).
// The paper counts blocks from 1 and writes F_{tau-1} for the FAM entering block
// tau; here blocks count from 0, so the FAM entering block tau is F_tau (docs/spec.md,
// "FAM index convention"). Each step below quotes the paper's line in that notation.
ReadableBlock fam_block_readable(const float* I, int t0, int len, const float* K_mem,
                                 const float* V_mem, int n_mem, const FamIn& fam_in,
                                 float pos_offset, const LayerWeights& w, const FamConfig& cfg) {
    const int D = cfg.D, F = cfg.fam_len();
    std::vector<float> x(I, I + (size_t)len * D), pos(len);
    for (int i = 0; i < len; i++) pos[i] = (float)(t0 + i) + pos_offset;
    ReadableBlock out;

    // [Alg.2 step 1] Q_tau, K_tau, V_tau <- QKV(PreLN(I_tau))
    Projected blk = project(x, pos, len, w, cfg);

    // [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_tau))
    Projected fam;
    if (F > 0) fam = project(std::vector<float>(fam_in.fam, fam_in.fam + (size_t)F * D),
                             std::vector<float>(fam_in.pos, fam_in.pos + F), F, w, cfg);

    std::vector<float> att((size_t)len * D);
    for (int i = 0; i < len; i++) {
        // [Alg.2 step 3] K^_t <- Concat(K_mem, K^F, K_{tau,:t}); V^_t likewise
        //   every memory key (whole blocks), all F FAM keys, the block up to t itself
        std::vector<Key> keys;
        for (int j = 0; j < n_mem; j++) keys.push_back({K_mem + (size_t)j * D, V_mem + (size_t)j * D});
        for (int j = 0; j < F; j++) keys.push_back({&fam.k[(size_t)j * D], &fam.v[(size_t)j * D]});
        for (int j = 0; j <= i; j++) keys.push_back({&blk.k[(size_t)j * D], &blk.v[(size_t)j * D]});
        // [Alg.2 step 4] a_t <- SelfAttention(q_t, K^_t, V^_t) + i_t   (the "+ i_t" just below)
        attend(&att[(size_t)i * D], &blk.q[(size_t)i * D], keys, cfg);
    }
    std::vector<float> A = attention_out(att, x.data(), len, w, cfg);  // A_tau = a Wo^T + I_tau

    // [Alg.2 step 5] O_tau <- FF(PreLN(A_tau)) + A_tau
    out.O = ffn(A, len, w, cfg);
    out.K = blk.k;
    out.V = blk.v;

    if (F > 0 && len == cfg.B) {  // only a complete block updates the FAM
        // [Alg.2 step 6] K~_tau <- Concat(K^F, K_tau); V~_tau likewise (the whole block)
        // [Alg.2 step 7] A^F <- SelfAttention(Q^F, K~_tau, V~_tau) + F_tau (0 if F_tau is fresh)
        // [Alg.2 step 8] F_{tau+1} <- FF(PreLN(A^F)) + A^F; it takes the last F positions
        // Steps 6-8 are the one FAM update every path shares (src/fam_update.cpp).
        FamUpdateCache scratch;
        out.fam_out.resize((size_t)F * D);
        out.fam_out_pos.resize(F);
        fam_update(out.fam_out.data(), out.fam_out_pos.data(), scratch, fam_in, fam.q.data(),
                   fam.k.data(), fam.v.data(), blk.k.data(), blk.v.data(), t0, pos_offset, w, cfg);
    }
    return out;
}

// [App. B.1] The prompt pass: P^0 = fam_prompt, P^(l+1) = Layer_l(P^l) with full
// bidirectional attention among the F prompt rows. Returns the initial FAM of every layer.
static std::vector<std::vector<float>> prompt_pass(const ModelWeights& w, const std::vector<float>& prompt_pos) {
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, F = cfg.fam_len();
    std::vector<std::vector<float>> fam_init(N);
    std::vector<float> p(w.fam_prompt, w.fam_prompt + (size_t)F * D);
    for (int l = 0; l < N; l++) {
        fam_init[l] = p;
        Projected pr = project(p, prompt_pos, F, w.layers[l], cfg);
        std::vector<Key> all;  // every prompt row sees every prompt row
        for (int j = 0; j < F; j++) all.push_back({&pr.k[(size_t)j * D], &pr.v[(size_t)j * D]});
        std::vector<float> att((size_t)F * D);
        for (int i = 0; i < F; i++) attend(&att[(size_t)i * D], &pr.q[(size_t)i * D], all, cfg);
        p = ffn(attention_out(att, p.data(), F, w.layers[l], cfg), F, w.layers[l], cfg);
    }
    return fam_init;
}

NaiveResult naive_forward(const ModelWeights& w, const int* tokens, int T, float pos_offset) {
    if (T <= 0) throw std::invalid_argument("sequence is empty (T = 0)");
    FamConfig cfg = w.cfg;
    if (cfg.attention == AttentionKind::Full) {  // full attention: one block of T tokens, causal
        cfg.B = T;
        cfg.M = 0;
    }
    const int N = cfg.N, D = cfg.D, V = cfg.V, F = cfg.fam_len(), B = cfg.B, M = cfg.M;

    // h = tok_emb[token] (no positional embedding: RoPE is the only position signal)
    std::vector<float> x((size_t)T * D);
    embedding_forward(x.data(), tokens, w.tok_emb, T, D, V);

    // F_0 of every layer: the prompt rows as they enter that layer, at positions -F..-1
    std::vector<float> prompt_pos(F);
    for (int j = 0; j < F; j++) prompt_pos[j] = (float)(j - F) + pos_offset;
    std::vector<std::vector<float>> fam_init;
    if (F > 0) fam_init = prompt_pass(w, prompt_pos);

    NaiveResult res;
    res.fam_final.assign((size_t)N * F * D, 0.0f);
    for (int l = 0; l < N; l++) {
        std::vector<float> next((size_t)T * D), K((size_t)T * D), V_((size_t)T * D);
        std::vector<float> fam = F ? fam_init[l] : std::vector<float>(), fam_pos = prompt_pos;
        bool fresh = true;
        for (int tau = 0; tau * B < T; tau++) {
            const int t0 = tau * B, len = std::min(B, T - t0);
            const int first_mem = std::max(0, tau - M) * B;  // memory: blocks max(0, tau-M)..tau-1
            ReadableBlock r = fam_block_readable(&x[(size_t)t0 * D], t0, len, &K[(size_t)first_mem * D],
                                                 &V_[(size_t)first_mem * D], t0 - first_mem,
                                                 FamIn{fam.data(), fam_pos.data(), fresh}, pos_offset,
                                                 w.layers[l], cfg);
            std::copy(r.O.begin(), r.O.end(), next.begin() + (size_t)t0 * D);
            std::copy(r.K.begin(), r.K.end(), K.begin() + (size_t)t0 * D);
            std::copy(r.V.begin(), r.V.end(), V_.begin() + (size_t)t0 * D);
            if (!r.fam_out.empty()) {  // F_{tau+1} enters block tau+1
                fam = r.fam_out;
                fam_pos = r.fam_out_pos;
                fresh = false;
            }
        }
        std::copy(fam.begin(), fam.end(), res.fam_final.begin() + (size_t)l * F * D);
        x = next;
    }

    // logits = LN_f(h) W_out^T
    std::vector<float> xf((size_t)T * D), mean(T), rstd(T);
    layernorm_forward(xf.data(), mean.data(), rstd.data(), x.data(), w.lnf_g, w.lnf_b, T, D);
    res.logits.resize((size_t)T * V);
    linear_forward(res.logits.data(), xf.data(), w.lm_head, T, D, V);
    return res;
}
