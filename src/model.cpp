// model.cpp: see model.h.
#include "model.h"

#include <cstring>
#include <stdexcept>

#include "attention.h"
#include "fam_penalty.h"
#include "ops.h"

// [App. B.1] The prompt pass: P^0 = fam_prompt, P^(l+1) = Layer_l(P^l) with full
// bidirectional attention among the F prompt rows (no token keys). The initial
// FAM of layer l is P^l. Writes fam_init [N, F, D].
static void prompt_forward(ModelCache& c, const ModelWeights& w) {
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, H = cfg.H, F = cfg.fam_len();
    std::memcpy(c.fam_init.data(), w.fam_prompt, sizeof(float) * F * D);  // P^0
    c.prompt.resize(N - 1);
    for (int l = 0; l + 1 < N; l++) {
        PromptCache& p = c.prompt[l];
        const float* in = &c.fam_init[(size_t)l * F * D];
        float* out = &c.fam_init[(size_t)(l + 1) * F * D];
        qkv_forward(p.qkv, in, c.prompt_pos.data(), F, w.layers[l], cfg);
        p.out.keep_tanh = true;  // for prompt_backward: gelu keeps its tanh
        p.P.resize((size_t)H * F * F);
        p.att.resize((size_t)F * D);
        attention_forward(p.att.data(), p.P.data(), p.qkv.q.data(), p.qkv.k.data(),
                          p.qkv.v.data(), nullptr, F, F, D, H);  // no mask: bidirectional
        out_forward(out, p.out, in, p.att.data(), F, w.layers[l], cfg);
    }
}

// Backward of prompt_forward: dfam_init [N, F, D] holds dL/dP^l for every layer's
// initial FAM; walks P^l = Layer_{l-1}(P^(l-1)) back to P^0 and accumulates
// dw.fam_prompt and the weight gradients of layers 0..N-2:
//   dP^l = dfam_init[l] + Layer_l^T(dP^(l+1))
static void prompt_backward(ModelWeights& dw, const std::vector<float>& dfam_init,
                            const ModelCache& c, const ModelWeights& w) {
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, H = cfg.H, F = cfg.fam_len();
    std::vector<float> g((size_t)F * D, 0.0f), gin((size_t)F * D), datt((size_t)F * D);
    std::vector<float> dq((size_t)F * D), dk((size_t)F * D), dv((size_t)F * D);
    for (int l = N - 1; l >= 0; l--) {
        for (size_t i = 0; i < g.size(); i++) g[i] += dfam_init[(size_t)l * F * D + i];
        if (l == 0) break;
        const PromptCache& p = c.prompt[l - 1];  // P^l = Layer_{l-1}(P^(l-1))
        std::fill(gin.begin(), gin.end(), 0.0f);
        std::fill(datt.begin(), datt.end(), 0.0f);
        std::fill(dq.begin(), dq.end(), 0.0f);
        std::fill(dk.begin(), dk.end(), 0.0f);
        std::fill(dv.begin(), dv.end(), 0.0f);
        // undo the FFN, Wo and residual; then the bidirectional attention; then QKV(PreLN)
        out_backward(gin.data(), datt.data(), dw.layers[l - 1], g.data(), p.out, w.layers[l - 1], cfg);
        attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), p.P.data(), p.qkv.q.data(),
                           p.qkv.k.data(), p.qkv.v.data(), F, F, D, H);
        qkv_backward(gin.data(), dw.layers[l - 1], dq.data(), dk.data(), dv.data(), p.qkv,
                     w.layers[l - 1], cfg);
        std::swap(g, gin);
    }
    for (size_t i = 0; i < g.size(); i++) dw.fam_prompt[i] += g[i];
}

std::vector<float> initial_fam(const ModelWeights& w, float pos_offset) {
    const int N = w.cfg.N, D = w.cfg.D, F = w.cfg.fam_len();
    ModelCache c;  // the same prompt pass as model_forward, so the same bits
    c.fam_init.assign((size_t)N * F * D, 0.0f);
    c.prompt_pos.resize(F);
    for (int j = 0; j < F; j++) c.prompt_pos[j] = (float)(j - F) + pos_offset;
    if (F > 0) prompt_forward(c, w);
    return c.fam_init;
}

void model_forward(ModelCache& c, const ModelWeights& w, const int* tokens, int T,
                   const ForwardOptions& opt) {
    const FamConfig& cfg = w.cfg;
    const int N = cfg.N, D = cfg.D, V = cfg.V, F = cfg.fam_len();
    c.T = T;
    c.opt = opt;
    c.plan = make_block_plan(cfg, T);  // throws on T = 0
    c.tokens.assign(tokens, tokens + T);
    c.xs.resize(N + 1);
    for (auto& x : c.xs) x.resize((size_t)T * D);

    // h = tok_emb[token] (no positional embedding: RoPE is the only position signal)
    embedding_forward(c.xs[0].data(), tokens, w.tok_emb, T, D, V);

    // the FAM entering block 0 of each layer, at positions -F..-1
    c.fam_init.assign((size_t)N * F * D, 0.0f);
    c.fam_final.assign((size_t)N * F * D, 0.0f);
    // DEVIATION: the paper gives no positions for the initial FAM (nor for a FAM passed
    // in by RSP); both sit just before the first token, at -F..-1 (docs/spec.md)
    c.prompt_pos.resize(F);
    for (int j = 0; j < F; j++) c.prompt_pos[j] = (float)(j - F) + opt.pos_offset;
    bool fresh = opt.fam_start == nullptr;
    if (F > 0) {
        if (fresh)
            prompt_forward(c, w);
        else  // RSP: a FAM passed in from the previous step
            std::memcpy(c.fam_init.data(), opt.fam_start, sizeof(float) * N * F * D);
    }

    c.layers.resize(N);
    for (int l = 0; l < N; l++) {
        // F_0 of layer l: its rows, positions -F..-1 (+ offset), fresh unless passed in
        const FamIn fam0{F ? &c.fam_init[(size_t)l * F * D] : nullptr, c.prompt_pos.data(), fresh};
        fam_layer_forward(c.xs[l + 1].data(), F ? &c.fam_final[(size_t)l * F * D] : nullptr,
                          c.layers[l], c.xs[l].data(), T, opt.pos_offset, fam0, c.plan, w.layers[l],
                          cfg, LayerHooks{opt.observer, l});
    }

    // logits = LN_f(h) W_out^T, token rows only
    c.lnf_mean.resize(T);
    c.lnf_rstd.resize(T);
    c.xf.resize((size_t)T * D);
    c.logits.resize((size_t)T * V);
    layernorm_forward(c.xf.data(), c.lnf_mean.data(), c.lnf_rstd.data(), c.xs[N].data(), w.lnf_g,
                      w.lnf_b, T, D);
    linear_forward(c.logits.data(), c.xf.data(), w.lm_head, T, D, V);
}

float model_loss(ModelCache& c, const ModelWeights& w, const int* targets, const float* weights,
                 float* weight_sum) {
    const int T = c.T, V = w.cfg.V;
    c.probs.resize((size_t)T * V);
    c.losses.resize(T);
    return cross_entropy_forward(c.losses.data(), c.probs.data(), c.logits.data(), targets,
                                 weights, T, V, weight_sum);
}

void model_backward(ModelWeights& dw, const ModelCache& c, const ModelWeights& w,
                    const int* targets, const float* weights, float dloss, bool mem_stop_grad,
                    float fam_l2, float fam_l1) {
    const FamConfig& cfg = w.cfg;
    const int T = c.T, N = cfg.N, D = cfg.D, V = cfg.V, F = cfg.fam_len();
    if (c.probs.size() < (size_t)T * V) throw std::logic_error("model_backward before model_loss");
    // scratch kept in the cache (its buffers only grow): no allocation per step
    std::vector<float>&dlogits = c.dlogits, &dxf = c.dxf, &dnext = c.dnext, &dcur = c.dcur;
    dlogits.assign((size_t)T * V, 0.0f);
    dxf.assign((size_t)T * D, 0.0f);
    dnext.assign((size_t)T * D, 0.0f);
    dcur.resize((size_t)T * D);
    std::vector<float> dfam_init((size_t)N * F * D, 0.0f);

    cross_entropy_backward(dlogits.data(), c.probs.data(), targets, weights, dloss, T, V);
    linear_backward(dxf.data(), dw.lm_head, dlogits.data(), c.xf.data(), w.lm_head, T, D, V);
    layernorm_backward(dnext.data(), dw.lnf_g, dw.lnf_b, dxf.data(), c.xs[N].data(),
                       c.lnf_mean.data(), c.lnf_rstd.data(), w.lnf_g, T, D);
    std::vector<float> dfams;  // [nblocks+1, F, D] gradient on the FAM chain from outside the layer
    for (int l = N - 1; l >= 0; l--) {
        std::fill(dcur.begin(), dcur.end(), 0.0f);
        // DEVIATION: --fam-l2 / --fam-l1, penalties on the FAM updates (src/fam_penalty.h)
        if (fam_l2 > 0.0f || fam_l1 > 0.0f) fam_penalty_backward(dfams, c.layers[l], F, D, fam_l2 / N, fam_l1 / N);
        fam_layer_backward(dcur.data(), F ? &dfam_init[(size_t)l * F * D] : nullptr, dw.layers[l],
                           dnext.data(), dfams.empty() ? nullptr : dfams.data(), c.layers[l], c.plan,
                           w.layers[l], cfg, mem_stop_grad);
        std::swap(dnext, dcur);  // dnext = gradient of xs[l]
    }
    embedding_backward(dw.tok_emb, dnext.data(), c.tokens.data(), T, D);

    // [App. B.1] back through the prompt pass to fam_prompt (a passed-in RSP FAM gets none)
    if (F > 0 && c.opt.fam_start == nullptr) prompt_backward(dw, dfam_init, c, w);
}
