// checkpoint.cpp: see checkpoint.h.
#include "app/checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

std::map<std::string, std::string> config_to_metadata(const FamConfig& c) {
    std::ostringstream base;
    base << c.rope_base;
    return {
        {"format", "famlm-v1"},
        {"vocab_size", std::to_string(c.V)},
        {"d_model", std::to_string(c.D)},
        {"n_heads", std::to_string(c.H)},
        {"n_layers", std::to_string(c.N)},
        {"d_ff", std::to_string(c.Dff)},
        {"attention", attention_name(c.attention)},
        {"block_size", std::to_string(c.B)},
        {"mem_segments", std::to_string(c.M)},
        {"fam_len", std::to_string(c.F)},
        {"rope_base", base.str()},
    };
}

static std::runtime_error bad(const SafeTensors& st, const std::string& what) {
    return std::runtime_error((st.source.empty() ? "<memory>" : st.source) + ": " + what);
}

static std::string clip(const std::string& s) { return s.size() <= 40 ? s : s.substr(0, 40) + "..."; }

static int meta_int(const SafeTensors& st, const std::string& key) {
    const std::string& s = st.meta(key);
    errno = 0;
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || v < -1000000000L || v > 1000000000L)
        throw bad(st, "metadata '" + key + "' must be an integer in [-1e9, 1e9], got '" + clip(s) + "'");
    return (int)v;
}

FamConfig config_from_metadata(const SafeTensors& st) {
    if (st.meta("format") != "famlm-v1")
        throw bad(st, "metadata 'format' is '" + clip(st.meta("format")) + "', expected 'famlm-v1'");
    FamConfig c;
    c.V = meta_int(st, "vocab_size");
    c.D = meta_int(st, "d_model");
    c.H = meta_int(st, "n_heads");
    c.N = meta_int(st, "n_layers");
    c.Dff = meta_int(st, "d_ff");
    try {
        c.attention = parse_attention(st.meta("attention"));
    } catch (const std::invalid_argument& e) {
        throw bad(st, std::string("metadata ") + e.what());
    }
    c.B = meta_int(st, "block_size");
    c.M = meta_int(st, "mem_segments");
    c.F = meta_int(st, "fam_len");
    const std::string& rb = st.meta("rope_base");
    char* end = nullptr;
    c.rope_base = std::strtof(rb.c_str(), &end);
    if (rb.empty() || *end != '\0' || !(c.rope_base > 0.0f) || !std::isfinite(c.rope_base))
        throw bad(st, "metadata 'rope_base' must be a positive finite number, got '" + clip(rb) + "'");
    if (c.attention == AttentionKind::Full) c.F = 0;  // B, M, F are ignored by full attention
    try {
        c.validate();                 // each field in range, every int size the model computes fits
        check_weights_resources(c);   // before the weights are allocated
    } catch (const std::invalid_argument& e) {
        throw bad(st, std::string("metadata ") + e.what());  // "metadata config: D = ..."
    }
    return c;
}

SafeTensors model_to_safetensors(const ModelWeights& w,
                                 const std::map<std::string, std::string>& extra) {
    SafeTensors st;
    st.metadata = config_to_metadata(w.cfg);
    for (const auto& kv : extra) st.metadata[kv.first] = kv.second;
    for (const Param& p : w.params) {
        Tensor t(p.name, p.shape);
        std::memcpy(t.data, p.data, sizeof(float) * p.size);
        st.tensors[p.name] = t;
    }
    return st;
}

ModelWeights model_from_safetensors(const SafeTensors& st) {
    ModelWeights w(config_from_metadata(st));
    for (const Param& p : w.params) {
        const Tensor& t = st.get(p.name, p.shape);  // throws if missing or misshapen
        std::memcpy(p.data, t.data, sizeof(float) * p.size);
    }
    try {
        check_finite(w, st.source.empty() ? "<memory>" : st.source);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());  // a bad file: a runtime error, not a usage error
    }
    return w;
}

void save_model(const std::string& path, const ModelWeights& w,
                const std::map<std::string, std::string>& extra) {
    safetensors_save(path, model_to_safetensors(w, extra));
}

ModelWeights load_model(const std::string& path) { return model_from_safetensors(safetensors_load(path)); }
