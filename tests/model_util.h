// model_util.h: helpers shared by the model tests.
#pragma once

#include <string>
#include <vector>

#include "tensor.h"
#include "weights.h"

// A config from a compact description, e.g. cfg_of("fam", 3, 1, 2).
inline FamConfig make_cfg(AttentionKind a, int B, int M, int F, int V = 7, int D = 8, int H = 2,
                          int N = 2, int Dff = 12, float rope_base = 10000.0f) {
    FamConfig c;
    c.V = V;
    c.D = D;
    c.H = H;
    c.N = N;
    c.Dff = Dff;
    c.attention = a;
    c.B = B;
    c.M = M;
    c.F = a == AttentionKind::Fam ? F : 0;
    c.rope_base = rope_base;
    return c;
}

// Weights large enough that every path matters (the default init's 0.02 would
// make attention nearly uniform and hide mistakes): matrices N(0, 0.4^2),
// gains 1 + N(0, 0.1^2), biases N(0, 0.1^2), embeddings and prompt N(0, 1).
inline ModelWeights random_model(const FamConfig& cfg, uint64_t seed) {
    ModelWeights w(cfg);
    Rng rng(seed);
    for (const Param& p : w.params) {
        bool gain = p.name.find("ln") != std::string::npos && p.name.find(".weight") != std::string::npos;
        bool bias = p.name.find(".bias") != std::string::npos;
        bool emb = p.name == "tok_emb" || p.name == "fam_prompt";
        for (size_t i = 0; i < p.size; i++)
            p.data[i] = gain ? 1.0f + 0.1f * rng.normal()
                        : bias ? 0.1f * rng.normal()
                        : emb  ? rng.normal()
                               : 0.4f * rng.normal();
    }
    return w;
}

inline std::vector<int> random_tokens(int T, int V, Rng& rng) {
    std::vector<int> t(T);
    for (int& x : t) x = rng.randint(0, V - 1);
    return t;
}
