// bindings.cpp: the C functions the explorer page (explorer/app.js) calls in the
// WebAssembly build of `make explorer`. They only compose functions of src/:
//
//   the masks        src/masks.h: swa_mask, bswa_mask, receptive_field_mask,
//                    fam_block_mask, fam_timeline_mask, chosen exactly as
//                    `fam mask` chooses them (src/app/cli_mask.cpp), so the page
//                    and `fam mask --format npy` draw the same grid
//   receptive field  src/masks.h: receptive_field_mask (paper Fig. 1d),
//                    receptive_field_earliest(_closed_form), fam_receptive_field_earliest
//   the tiny model   src/app/checkpoint.h: load_model (the shipped PassKey model,
//                    embedded in the page at /models/passkey_fam.safetensors);
//                    src/app/tasks.h: make_passkey_example, passkey_prediction;
//                    src/app/viz.h: viz_run (one forward with the BlockObserver hook),
//                    make_timeline, timeline_attention (paper Fig. 4), fam_write,
//                    fam_read, fam_keep, fam_change, focus_stats, memory_write_ascii
//
// so every number on the page is computed by the compiled C++ of src/; app.js only
// draws. Each function returns JSON text (valid until the next call of the same
// function); bad input comes back as {"error": "..."}, the library's own message.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "masks.h"
#include "app/checkpoint.h"
#include "app/tasks.h"
#include "app/viz.h"

using nlohmann::json;

namespace {

// A JSON result handed to JavaScript: kept alive in a per-function string.
const char* reply(std::string& keep, const json& j) {
    keep = j.dump();
    return keep.c_str();
}

// NaN and infinities are not JSON: they become null (app.js draws them as "no value").
json finite_or_null(float x) { return std::isfinite(x) ? json(x) : json(nullptr); }
json floats(const std::vector<float>& v) {
    json a = json::array();
    for (float x : v) a.push_back(finite_or_null(x));
    return a;
}

// One mask axis as plain arrays; fam >= 0 marks a FAM row or key.
json axis_json(const MaskAxis& a) {
    return json{{"label", a.label}, {"pos", a.pos}, {"fam", a.fam}, {"group", a.group}};
}

json mask_json(const Mask& mk) {
    std::string bits(mk.m.size(), '0');
    for (size_t i = 0; i < mk.m.size(); i++) bits[i] = mk.m[i] ? '1' : '0';
    return json{{"title", mk.title}, {"rows", mk.rows},         {"cols", mk.cols},
                {"bits", bits},      {"row", axis_json(mk.row_axis)}, {"col", axis_json(mk.col_axis)}};
}

// The loaded model and the last PassKey run (the page shows one at a time).
struct Session {
    bool loaded = false;
    ModelWeights w;
    Vocab vocab;
    VizRun run;
    bool has_run = false;
    std::vector<float> attention;  // [n, n] timeline_attention of the last request
};
Session S;

}  // namespace

extern "C" {

// The mask `fam mask` draws for the same settings (src/app/cli_mask.cpp):
//   kind "swa"                   swa_mask(T, W)
//   kind "bswa"                  bswa_mask(T, B, M), or over depth > 1 layers receptive_field_mask(T, B, M, depth)
//   kind "fam", view "block"     fam_block_mask(B, M, F, tau, B): one complete block tau
//   kind "fam", view "timeline"  fam_timeline_mask(T, B, M, F)
const char* fx_mask(const char* kind, const char* view, int T, int W, int B, int M, int F, int tau, int depth) {
    static std::string keep;
    try {
        const std::string k = kind, v = view;
        Mask mk;
        if (k == "swa") mk = swa_mask(T, W);
        else if (k == "bswa") mk = depth == 1 ? bswa_mask(T, B, M) : receptive_field_mask(T, B, M, depth);
        else if (k == "fam" && v == "block") mk = fam_block_mask(B, M, F, tau, B);
        else if (k == "fam" && v == "timeline") mk = fam_timeline_mask(T, B, M, F);
        else throw std::invalid_argument("fx_mask: unknown kind '" + k + "' / view '" + v + "'");
        return reply(keep, mask_json(mk));
    } catch (const std::exception& e) {
        return reply(keep, json{{"error", e.what()}});
    }
}

// The receptive field of token t through depth 1..depth (paper Fig. 1d, §1):
// per depth d, row t of receptive_field_mask(T, B, M, d) (which tokens can reach t
// after d BSWA layers), the earliest position by reachability and by the closed form,
// and, for FAM with F rows, the earliest position reachable through the FAM chain.
const char* fx_receptive_field(int T, int B, int M, int F, int depth, int t) {
    static std::string keep;
    try {
        if (t < 0 || t >= T)
            throw std::invalid_argument("fx_receptive_field: token " + std::to_string(t) + " is outside [0, " +
                                        std::to_string(T) + ")");
        json layers = json::array();
        for (int d = 1; d <= depth; d++) {
            Mask mk = receptive_field_mask(T, B, M, d);  // [T, T], row t: what reaches t after d layers
            std::string row(T, '0');
            for (int s = 0; s < T; s++) row[s] = mk.at(t, s) ? '1' : '0';
            layers.push_back(json{{"depth", d},
                                  {"bswa_row", row},
                                  {"bswa_earliest", receptive_field_earliest(T, B, M, d, t)},
                                  {"closed_form", receptive_field_earliest_closed_form(B, M, d, t)},
                                  {"fam_earliest", F > 0 ? fam_receptive_field_earliest(T, B, M, F, d, t) : -1}});
        }
        return reply(keep, json{{"t", t}, {"layers", layers}});
    } catch (const std::exception& e) {
        return reply(keep, json{{"error", e.what()}});
    }
}

// Loads the shipped model (load_model validates the file and its config).
const char* fx_model_load(const char* path) {
    static std::string keep;
    try {
        S.w = load_model(path);
        S.vocab = passkey_vocab();
        if (S.vocab.size() != S.w.cfg.V)
            throw std::invalid_argument(std::string(path) + ": vocabulary size " + std::to_string(S.w.cfg.V) +
                                        " is not the PassKey vocabulary's " + std::to_string(S.vocab.size()));
        S.loaded = true;
        const FamConfig& c = S.w.cfg;
        return reply(keep, json{{"describe", c.describe()}, {"V", c.V}, {"D", c.D}, {"H", c.H}, {"N", c.N},
                                {"B", c.B}, {"M", c.M}, {"F", c.F}, {"path", path}});
    } catch (const std::exception& e) {
        return reply(keep, json{{"error", e.what()}});
    }
}

// One PassKey example (make_passkey_example with Rng(seed), 5 digits) through the
// model with the observer attached (viz_run). `key`: "" keeps the drawn key; five
// digits replace it in all three places (the two mentions and the answer).
const char* fx_passkey_run(int filler, int seed, const char* key) {
    static std::string keep;
    try {
        if (!S.loaded) throw std::logic_error("fx_passkey_run: no model loaded");
        const int digits = 5;
        Rng rng((uint64_t)seed);
        PasskeyExample ex = make_passkey_example(S.vocab, rng, filler, digits);
        const std::string k = key;
        if (!k.empty()) {
            if ((int)k.size() != digits || k.find_first_not_of("0123456789") != std::string::npos)
                throw std::invalid_argument("the pass key must be " + std::to_string(digits) + " digits, got '" + k + "'");
            // the three places make_passkey_example wrote the key (src/app/tasks.h, the prompt above it)
            const int at[3] = {ex.key_pos, ex.key_pos + digits + 4, ex.answer_pos};
            for (int p : at)
                for (int i = 0; i < digits; i++) {
                    if (ex.tokens[p + i] != S.vocab.id(std::string(1, ex.key[i])))
                        throw std::logic_error("fx_passkey_run: the key is not where tasks.h puts it");
                    ex.tokens[p + i] = S.vocab.id(std::string(1, k[i]));
                }
            ex.key = k;
        }
        std::vector<std::string> words;
        for (int t : ex.tokens) words.push_back(S.vocab.words[t]);
        S.run = viz_run(S.w, ex.tokens, words, "fam");
        S.has_run = true;
        const VizRun& r = S.run;

        std::vector<int> highlight, queries;  // the key's two mentions; the rows that predict the answer
        for (int i = 0; i < digits; i++) highlight.push_back(ex.key_pos + i);
        for (int i = 0; i < digits; i++) highlight.push_back(ex.key_pos + digits + 4 + i);
        for (int i = 0; i < digits; i++) queries.push_back(ex.answer_pos - 1 + i);

        Timeline tl = make_timeline(r);
        Mask tmask = fam_timeline_mask(r.T, r.B, r.M, r.F);
        json focus = json::array(), ascii = json::array();
        for (int l = 0; l < r.N; l++) {
            FocusStats s = focus_stats(r, l, highlight, queries);
            focus.push_back(json{{"write_on", finite_or_null(s.write_on)}, {"write_off", finite_or_null(s.write_off)},
                                 {"read_on", finite_or_null(s.read_on)}, {"read_off", finite_or_null(s.read_off)}});
            ascii.push_back(memory_write_ascii(r, l, 3));
        }
        const std::string predicted = passkey_prediction(r.logits.data(), r.cfg.V, ex);
        return reply(keep, json{{"T", r.T}, {"N", r.N}, {"H", r.H}, {"D", r.D}, {"B", r.B}, {"M", r.M}, {"F", r.F},
                                {"nblocks", r.nblocks}, {"ncomplete", r.ncomplete},
                                {"words", r.words}, {"tokens", r.tokens},
                                {"key", ex.key}, {"key_pos", ex.key_pos}, {"answer_pos", ex.answer_pos},
                                {"filler", ex.filler_len}, {"highlight", highlight}, {"queries", queries},
                                {"predicted", predicted}, {"right", predicted == ex.key},
                                {"timeline", json{{"n", tl.n}, {"fam_start", tl.fam_start},
                                                  {"block_start", tl.block_start}, {"mask", mask_json(tmask)}}},
                                {"fam_write", floats(fam_write(r))},    // [N, T]
                                {"fam_read", floats(fam_read(r))},      // [N, T]
                                {"fam_keep", floats(fam_keep(r))},      // [N, nblocks]
                                {"fam_change", floats(fam_change(r))},  // [N, nblocks, F]
                                {"focus", focus}, {"memory_ascii", ascii}});
    } catch (const std::exception& e) {
        return reply(keep, json{{"error", e.what()}});
    }
}

// timeline_attention(run, layer, head) of the last run, [n, n] floats in wasm memory
// (head < 0: the mean over heads). Returns the address (0 on error); n is the
// timeline's size from fx_passkey_run.
float* fx_timeline_attention(int layer, int head) {
    if (!S.has_run || layer < 0 || layer >= S.run.N || head >= S.run.H) return nullptr;
    S.attention = timeline_attention(S.run, layer, head);
    return S.attention.data();
}

}  // extern "C"
