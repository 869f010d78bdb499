// state_file.cpp: see state_file.h.
#include "app/state_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "app/checkpoint.h"

// ---- save / load --------------------------------------------------------------------

uint64_t weights_checksum(const ModelWeights& w) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a, 64 bit
    const unsigned char* b = reinterpret_cast<const unsigned char*>(w.buffer.data());
    for (size_t i = 0, n = w.buffer.size() * sizeof(float); i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static std::string hex64(uint64_t x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)x);
    return buf;
}

static std::string layer_name(int l, const char* what) {
    return "state.layers." + std::to_string(l) + "." + what;
}

SafeTensors fam_state_to_safetensors(const FamState& st, const ModelWeights& w) {
    check_ready(st, w);
    const int D = st.cfg.D, F = st.F;
    SafeTensors t;
    t.metadata = config_to_metadata(st.cfg);
    std::string fresh;
    for (size_t l = 0; l < st.layers.size(); l++) fresh += (l ? "," : "") + std::string(st.layers[l].fresh ? "1" : "0");
    t.metadata["state.format"] = "famstate-v1";
    t.metadata["state.pos"] = std::to_string(st.pos);
    t.metadata["state.ring_head"] = std::to_string(st.head);
    t.metadata["state.block_len"] = std::to_string(st.len);
    t.metadata["state.mem_blocks"] = std::to_string(st.nmem);
    t.metadata["state.fresh"] = fresh;
    t.metadata["state.model_checksum"] = hex64(weights_checksum(w));
    // full keeps pos rows; the ring keeps all C rows (stale rows included: a resumed
    // stream then computes on the very same buffers, bit for bit)
    const int rows = is_full(st.cfg) ? (int)st.pos : st.C;
    auto put = [&](const std::string& name, const std::vector<float>& v, std::vector<int> shape) {
        Tensor x(name, shape);
        std::copy(v.begin(), v.begin() + x.size(), x.data);
        t.tensors[name] = x;
    };
    for (int l = 0; l < (int)st.layers.size(); l++) {
        const FamLayerState& L = st.layers[l];
        if (F > 0) {
            put(layer_name(l, "fam"), L.fam, {F, D});
            put(layer_name(l, "fam_pos"), L.fam_pos, {F});
            put(layer_name(l, "q_fam"), L.q_fam, {F, D});
        }
        put(layer_name(l, "k"), L.k, {rows, D});
        put(layer_name(l, "v"), L.v, {rows, D});
    }
    return t;
}

void fam_state_save(const std::string& path, const FamState& st, const ModelWeights& w, const SafeTensors* extra) {
    if (is_full(st.cfg) && st.pos > (1LL << 30)) throw std::invalid_argument(path + ": full-attention state too long to save");
    SafeTensors t = fam_state_to_safetensors(st, w);
    if (extra) {
        for (const auto& kv : extra->metadata) t.metadata[kv.first] = kv.second;
        for (const auto& kv : extra->tensors) t.tensors[kv.first] = kv.second;
    }
    safetensors_save(path, t);
}

static int64_t meta_i64(const SafeTensors& f, const std::string& key, int64_t lo, int64_t hi) {
    const std::string& s = f.meta(key);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        throw std::runtime_error(f.source + ": metadata '" + key + "' must be an integer in [" +
                                 std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + s + "'");
    return v;
}

SafeTensors fam_state_load(const std::string& path, FamState& st, const ModelWeights& w) {
    SafeTensors f = safetensors_load(path);
    auto it = f.metadata.find("state.format");
    if (it == f.metadata.end())
        throw std::invalid_argument(path + ": not a stream state (no 'state.format' in the metadata; a model "
                                    "checkpoint goes to --model)");
    if (it->second != "famstate-v1")
        throw std::invalid_argument(path + ": state.format is '" + it->second + "', expected 'famstate-v1'");
    FamConfig fc = config_from_metadata(f);
    if (!same_config(fc, w.cfg))
        throw std::invalid_argument(path + ": the state belongs to a model '" + fc.describe() +
                                    "', but the model given is '" + w.cfg.describe() + "'");
    const uint64_t sum = weights_checksum(w);
    if (f.meta("state.model_checksum") != hex64(sum))
        throw std::invalid_argument(path + ": the state was made with other weights (checksum " +
                                    f.meta("state.model_checksum") + ", this model's is " + hex64(sum) +
                                    "); its keys and FAM mean nothing to this model");
    if (!same_config(st.cfg, w.cfg) || st.layers.size() != (size_t)w.cfg.N) {
        check_stream_resources(w.cfg);  // before the state's buffers are allocated
        st = FamState(w.cfg);
    }
    const FamConfig& c = st.cfg;
    const int D = c.D, F = st.F, N = c.N;
    const int64_t pos = meta_i64(f, "state.pos", 0, is_full(c) ? (1LL << 30) : (1LL << 62));
    const int head = (int)meta_i64(f, "state.ring_head", 0, 1LL << 30);
    const int len = (int)meta_i64(f, "state.block_len", 0, 1LL << 30);
    const int nmem = (int)meta_i64(f, "state.mem_blocks", 0, 1LL << 30);
    // the ring fields follow from the position counter; a file where they do not is damaged
    const int64_t tau = is_full(c) ? 0 : pos / c.B;
    const int64_t want_head = is_full(c) ? 0 : tau % (c.M + 1), want_len = is_full(c) ? 0 : pos % c.B;
    const int64_t want_nmem = is_full(c) ? 0 : std::min<int64_t>(tau, c.M);
    if (head != want_head || len != want_len || nmem != want_nmem)
        throw std::runtime_error(path + ": ring fields (head " + std::to_string(head) + ", block_len " +
                                 std::to_string(len) + ", mem_blocks " + std::to_string(nmem) +
                                 ") contradict state.pos = " + std::to_string(pos) + " (expected " +
                                 std::to_string(want_head) + ", " + std::to_string(want_len) + ", " +
                                 std::to_string(want_nmem) + ")");
    std::vector<bool> fresh;
    {
        std::stringstream ss(f.meta("state.fresh"));
        std::string x;
        while (std::getline(ss, x, ',')) {
            if (x != "0" && x != "1")
                throw std::runtime_error(path + ": metadata 'state.fresh' must be N comma-separated 0/1 flags, got '" +
                                         f.meta("state.fresh") + "'");
            fresh.push_back(x == "1");
        }
        if ((int)fresh.size() != N)
            throw std::runtime_error(path + ": metadata 'state.fresh' has " + std::to_string(fresh.size()) +
                                     " flags, expected one per layer (" + std::to_string(N) + ")");
        // a FAM stays fresh exactly until the first block completes
        for (int l = 0; l < N && F > 0; l++)
            if (fresh[l] != (tau == 0))
                throw std::runtime_error(path + ": state.fresh of layer " + std::to_string(l) + " is " +
                                         (fresh[l] ? "1" : "0") + " but state.pos = " + std::to_string(pos) +
                                         " says " + (tau == 0 ? "no" : "a") + " block has completed");
    }
    const int rows = is_full(c) ? (int)pos : st.C;
    // a NaN or infinity in a saved state would turn every later logit into NaN
    auto finite = [&](const Tensor& t) -> const Tensor& {
        for (size_t i = 0; i < t.size(); i++)
            if (!std::isfinite(t.data[i]))
                throw std::runtime_error(path + ": tensor '" + t.name + "' has a non-finite value at index " +
                                         std::to_string(i) + "; a stream state must be finite");
        return t;
    };
    for (int l = 0; l < N; l++) {
        FamLayerState& L = st.layers[l];
        if (F > 0) {
            const Tensor& fam = finite(f.get(layer_name(l, "fam"), {F, D}));
            const Tensor& fp = finite(f.get(layer_name(l, "fam_pos"), {F}));
            const Tensor& qf = finite(f.get(layer_name(l, "q_fam"), {F, D}));
            std::copy(fam.data, fam.data + fam.size(), L.fam.begin());
            std::copy(fp.data, fp.data + fp.size(), L.fam_pos.begin());
            std::copy(qf.data, qf.data + qf.size(), L.q_fam.begin());
        }
        const Tensor& k = finite(f.get(layer_name(l, "k"), {rows, D}));
        const Tensor& v = finite(f.get(layer_name(l, "v"), {rows, D}));
        if (is_full(c)) {
            L.k.clear();
            L.v.clear();
            grow_rows(L.k, rows, D);
            grow_rows(L.v, rows, D);
        }
        std::copy(k.data, k.data + k.size(), L.k.begin());
        std::copy(v.data, v.data + v.size(), L.v.begin());
        L.fresh = fresh[l];
    }
    if (is_full(c)) st.C = rows;
    st.pos = pos;
    st.head = head;
    st.len = len;
    st.nmem = nmem;
    st.ready = true;
    return f;
}

