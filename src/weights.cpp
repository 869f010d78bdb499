// weights.cpp: see weights.h.
#include "weights.h"

#include <cmath>
#include <stdexcept>

#include "tensor.h"

// The parameter list in checkpoint order; `buffer` must already have its size.
static void layout(ModelWeights& w) {
    const FamConfig& c = w.cfg;
    const int D = c.D, V = c.V, Dff = c.Dff, F = c.fam_len();
    size_t offset = 0;
    w.params.clear();
    auto take = [&](const std::string& name, std::vector<int> shape) -> float* {
        size_t n = 1;
        for (int s : shape) n *= (size_t)s;
        float* p = w.buffer.empty() ? nullptr : w.buffer.data() + offset;
        w.params.push_back({name, shape, p, n});
        offset += n;
        return p;
    };
    w.tok_emb = take("tok_emb", {V, D});
    w.fam_prompt = F > 0 ? take("fam_prompt", {F, D}) : nullptr;
    w.layers.assign(c.N, LayerWeights{});
    for (int l = 0; l < c.N; l++) {
        std::string p = "layers." + std::to_string(l) + ".";
        LayerWeights& L = w.layers[l];
        L.ln1_g = take(p + "ln1.weight", {D});
        L.ln1_b = take(p + "ln1.bias", {D});
        L.wq = take(p + "attn.wq", {D, D});
        L.wk = take(p + "attn.wk", {D, D});
        L.wv = take(p + "attn.wv", {D, D});
        L.wo = take(p + "attn.wo", {D, D});
        L.ln2_g = take(p + "ln2.weight", {D});
        L.ln2_b = take(p + "ln2.bias", {D});
        L.w1 = take(p + "ffn.w1", {Dff, D});
        L.w2 = take(p + "ffn.w2", {D, Dff});
    }
    w.lnf_g = take("ln_f.weight", {D});
    w.lnf_b = take("ln_f.bias", {D});
    w.lm_head = take("lm_head", {V, D});
    if (!w.buffer.empty() && offset != w.buffer.size())
        throw std::logic_error("weights layout does not fill the buffer");
}

size_t count_params(const FamConfig& cfg) {
    ModelWeights probe;
    probe.cfg = cfg;
    layout(probe);  // with an empty buffer: only counts
    size_t n = 0;
    for (const Param& p : probe.params) n += p.size;
    return n;
}

ModelWeights::ModelWeights(const FamConfig& c) {
    check_weights_resources(c);  // validates c, then the bytes against the memory limit
    cfg = c;
    buffer.assign(count_params(c), 0.0f);
    layout(*this);
}

void ModelWeights::zero() {
    for (float& x : buffer) x = 0.0f;
}

const Param& ModelWeights::param(const std::string& name) const {
    for (const Param& p : params)
        if (p.name == name) return p;
    throw std::invalid_argument("no parameter named '" + name + "'");
}

void init_weights(ModelWeights& w, uint64_t seed) {
    Rng rng(seed);
    const int N = w.cfg.N;
    for (const Param& p : w.params) {
        const std::string& n = p.name;
        bool is_gain = n.find("ln") != std::string::npos && n.find(".weight") != std::string::npos;
        bool is_bias = n.find(".bias") != std::string::npos;
        bool is_resid = n.find("attn.wo") != std::string::npos || n.find("ffn.w2") != std::string::npos;
        // fan-in scaling keeps unit-variance activations; residual writers shrink with depth
        float s = 1.0f;  // tok_emb, fam_prompt: unit rows (both are layer-normed before use)
        if (p.shape.size() == 2 && n != "tok_emb" && n != "fam_prompt") {
            s = 1.0f / std::sqrt((float)p.shape[1]);
            if (is_resid) s /= std::sqrt(2.0f * N);
        }
        for (size_t i = 0; i < p.size; i++)
            p.data[i] = is_gain ? 1.0f : is_bias ? 0.0f : s * rng.normal();
    }
}

void check_finite(const ModelWeights& w, const std::string& source) {
    for (const Param& p : w.params)
        for (size_t i = 0; i < p.size; i++)
            if (!std::isfinite(p.data[i]))
                throw std::invalid_argument(source + ": tensor '" + p.name + "' has a non-finite value (" +
                                            (std::isnan(p.data[i]) ? "nan" : p.data[i] > 0 ? "inf" : "-inf") +
                                            ") at index " + std::to_string(i) + "; weights must be finite");
}
