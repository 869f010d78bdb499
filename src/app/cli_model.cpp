// cli_model.cpp: `fam init`, `fam forward`, `fam grad`: make a model, run it,
// differentiate it, on any checkpoint that follows docs/spec.md.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "fam_state.h"
#include "model.h"
#include "naive.h"
#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/safe_file.h"

std::vector<int> parse_ids(const ArgParser& a, const std::string& flag, int V, bool allow_ignore) {
    std::vector<long long> raw = a.int_list(flag);
    std::vector<int> ids;
    for (size_t i = 0; i < raw.size(); i++) {
        long long x = raw[i];
        if ((x < 0 && !(allow_ignore && x == -1)) || x >= V)
            throw UsageError(a.command() + ": --" + flag + ": id " + std::to_string(x) + " at index " + std::to_string(i) +
                             " is outside the vocabulary [0, " + std::to_string(V) + ")" +
                             (allow_ignore ? " (or -1 for no target)" : ""));
        ids.push_back((int)x);
    }
    return ids;
}

static void make_dir(const std::string& dir) {
    std::string path;
    std::stringstream ss(dir);
    std::string part;
    if (!dir.empty() && dir[0] == '/') path = "/";
    while (std::getline(ss, part, '/')) {
        if (part.empty()) continue;
        path += part + "/";
        if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
            throw std::runtime_error(dir + ": cannot create directory " + path + " (" + std::strerror(errno) + ")");
    }
}

void add_model_options(ArgParser& a, bool sizes_have_defaults) {
    auto size = [&](const char* name, const char* meta, const char* help, const char* def) {
        a.option(name, meta, help, sizes_have_defaults ? def : "", !sizes_have_defaults);
    };
    size("d-model", "D", "model width", "64");
    size("heads", "H", "attention heads (D % H == 0, D/H even)", "4");
    size("layers", "N", "layers", "2");
    size("d-ff", "Dff", "feed-forward width", "256");
    a.option("attention", "KIND", "full | bswa | fam", "fam")
        .option("block", "B", "block size (bswa, fam)", "16")
        .option("mem", "M", "memory segments (bswa, fam)", sizes_have_defaults ? "0" : "1")
        .option("fam", "F", "FAM length (fam; default 8, must be 0 for bswa)")
        .option("rope-base", "R", "RoPE base", "10000");
}

FamConfig model_config_from_args(const ArgParser& a, int V) {
    FamConfig c;
    c.V = V;
    // each flag range-checked in 64 bits before it is narrowed to int (config.h: kMax*)
    c.D = (int)a.integer("d-model", 1, kMaxWidth);
    c.H = (int)a.integer("heads", 1, kMaxWidth);
    c.N = (int)a.integer("layers", 1, kMaxLayers);
    c.Dff = (int)a.integer("d-ff", 1, kMaxFf);
    c.attention = parse_attention(a.choice("attention", {"full", "bswa", "fam"}));
    c.B = (int)a.integer("block", 1, kMaxBlock);
    c.M = (int)a.integer("mem", 0, kMaxMem);
    c.F = a.given("fam") ? (int)a.integer("fam", 0, kMaxFam) : (c.attention == AttentionKind::Fam ? 8 : 0);
    c.rope_base = (float)a.number("rope-base", 1e-6, 1e30);
    try {
        c.validate();                 // the products the model computes in int fit
        check_weights_resources(c);   // and the weights fit the memory limit
    } catch (const std::invalid_argument& e) {
        throw UsageError(a.command() + ": " + e.what());
    }
    return c;
}

int cmd_init(int argc, char** argv) {
    ArgParser a("fam init", "Write a randomly initialized model (GPT-2 style init, seeded) as safetensors.");
    a.option("vocab", "V", "vocabulary size", "", true);
    add_model_options(a, false);
    a.option("seed", "S", "random seed", "1234")
        .option("out", "FILE", "output .safetensors file", "", true)
        .flag("quiet", "print nothing on success")
        .example("fam init --vocab 32 --d-model 64 --heads 4 --layers 2 --d-ff 256 --block 16 --mem 1 --fam 8 --out m.safetensors",
                 "a 2-layer TransformerFAM with blocks of 16 tokens, 1 memory block, an 8-row FAM")
        .example("fam init --vocab 32 --d-model 64 --heads 4 --layers 2 --d-ff 256 --attention bswa --fam 0 --out bswa.safetensors");
    if (!a.parse(argc, argv)) return 0;
    FamConfig c = model_config_from_args(a, (int)a.integer("vocab", 1, kMaxVocab));
    check_writable(a.str("out"), "--out");
    ModelWeights w(c);
    init_weights(w, (uint64_t)a.integer("seed", 0));
    save_model(a.str("out"), w);
    if (!a.flag_set("quiet"))
        std::printf("wrote %s: %s, %zu parameters\n", a.str("out").c_str(), c.describe().c_str(), count_params(c));
    return 0;
}

int cmd_forward(int argc, char** argv) {
    ArgParser a("fam forward", "Run a model over a token sequence; write DIR/logits.npy (float32 [T, V]) and,\n"
                               "for a FAM model, DIR/fam_final.npy (float32 [N, F, D]: each layer's FAM after\n"
                               "the last complete block).");
    a.option("model", "FILE", "model .safetensors", "", true)
        .option("tokens", "IDS", "comma-separated token ids, e.g. 3,1,4,1,5", "", true)
        .option("path", "P", "naive (readable) | blockwise (the paper's way) | stream (token by token)", "blockwise")
        .option("out", "DIR", "output directory (created if missing)", "", true)
        .flag("quiet", "print nothing on success")
        .example("fam forward --model m.safetensors --tokens 3,1,4,1,5 --out run", "run/logits.npy [5, V]")
        .example("fam forward --model m.safetensors --tokens 3,1,4,1,5 --path naive --out run_naive",
                 "the readable path, for comparison");
    if (!a.parse(argc, argv)) return 0;
    std::string path = a.choice("path", {"naive", "blockwise", "stream"});
    if (a.str("out").empty()) throw UsageError("fam forward: --out is empty; expected a directory name");
    ModelWeights w = load_model(a.str("model"));
    std::vector<int> tokens = parse_ids(a, "tokens", w.cfg.V, false);
    const int T = (int)tokens.size(), N = w.cfg.N, F = w.cfg.fam_len(), D = w.cfg.D;
    if (path == "stream") check_stream_resources(w.cfg, T);
    else check_forward_resources(w.cfg, T);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<float> logits, fam_final;
    if (path == "naive") {
        NaiveResult r = naive_forward(w, tokens.data(), T);
        logits = r.logits;
        fam_final = r.fam_final;
    } else if (path == "stream") {
        FamState st(w.cfg);  // one token at a time, as generation sees them
        stream_reset(st, w);
        logits.resize((size_t)T * w.cfg.V);
        for (int t = 0; t < T; t++) stream_step(st, w, tokens[t], &logits[(size_t)t * w.cfg.V]);
        fam_final = stream_fam(st);
    } else {
        ModelCache c;
        model_forward(c, w, tokens.data(), T);
        logits = c.logits;
        fam_final = c.fam_final;
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::string dir = a.str("out");
    make_dir(dir);
    npy_save_f32(dir + "/logits.npy", logits.data(), {T, w.cfg.V});
    if (F > 0) npy_save_f32(dir + "/fam_final.npy", fam_final.data(), {N, F, D});
    if (a.flag_set("quiet")) return 0;
    std::printf("%s: %s, T=%d, path %s, %.2f ms\nwrote %s/logits.npy [%d, %d]", a.str("model").c_str(),
                w.cfg.describe().c_str(), T, path.c_str(), ms, dir.c_str(), T, w.cfg.V);
    if (F > 0) std::printf(" and %s/fam_final.npy [%d, %d, %d]", dir.c_str(), N, F, D);
    std::printf("\n");
    return 0;
}

int cmd_grad(int argc, char** argv) {
    ArgParser a("fam grad", "Gradient of the mean cross-entropy over targeted positions with respect to every\n"
                            "parameter, written under the parameter names with the loss in __metadata__[\"loss\"].");
    a.option("model", "FILE", "model .safetensors", "", true)
        .option("tokens", "IDS", "comma-separated token ids", "", true)
        .option("targets", "IDS", "one target per token, -1 = no target", "", true)
        .flag("mem-stop-grad", "the paper's M_SG ablation: no gradient into memory segments")
        .option("out", "FILE", "output .safetensors with the gradients (never the --model file)", "", true)
        .flag("quiet", "print nothing on success")
        .example("fam grad --model m.safetensors --tokens 3,1,4,1 --targets 1,4,1,-1 --out grad.safetensors",
                 "dL/dw of the mean loss over the three targeted positions");
    if (!a.parse(argc, argv)) return 0;
    // the gradients load as a model too: writing them over the model would lose it
    refuse_same_file(a.str("model"), "--model", a.str("out"), "--out");
    check_writable(a.str("out"), "--out");
    ModelWeights w = load_model(a.str("model"));
    std::vector<int> tokens = parse_ids(a, "tokens", w.cfg.V, false);
    std::vector<int> targets = parse_ids(a, "targets", w.cfg.V, true);
    if (targets.size() != tokens.size())
        throw UsageError("fam grad: --targets has " + std::to_string(targets.size()) + " ids but --tokens has " +
                         std::to_string(tokens.size()) + " (one target per token, -1 = none)");
    const int T = (int)tokens.size();
    check_forward_resources(w.cfg, T, 2);  // the forward's caches and backward's scratch
    ModelCache c;
    model_forward(c, w, tokens.data(), T);
    float loss = model_loss(c, w, targets.data(), nullptr);  // throws if no target
    ModelWeights dw(w.cfg);
    model_backward(dw, c, w, targets.data(), nullptr, 1.0f, a.flag_set("mem-stop-grad"));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", loss);
    save_model(a.str("out"), dw, {{"loss", buf}});
    if (a.flag_set("quiet")) return 0;
    double norm = 0;
    for (float g : dw.buffer) norm += (double)g * g;
    std::printf("loss %.6f (%d targeted positions), gradient norm %.6f\nwrote %s\n", loss,
                (int)std::count_if(targets.begin(), targets.end(), [](int t) { return t >= 0; }),
                std::sqrt(norm), a.str("out").c_str());
    return 0;
}
