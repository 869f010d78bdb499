// cli_train.cpp: `fam train` and `fam eval` for the PassKey task (paper
// Section 3.2, Appendix D.1): train a model with the paper's options, then
// measure exact-match retrieval at chosen filler lengths.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/train.h"

static std::string fmt_duration(double s) {
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", (int)(s / 3600), (int)std::fmod(s / 60, 60));
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", (int)(s / 60), (int)std::fmod(s, 60));
    else std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

static TrainConfig train_config_from_json(const nlohmann::json& j) {
    TrainConfig c;
    c.task = j.at("task");
    c.filler_min = j.at("filler_min");
    c.filler_max = j.at("filler_max");
    c.curriculum = j.at("curriculum");
    c.key_digits = j.at("key_digits");
    c.lm_weight = j.at("lm_weight");
    c.steps = j.at("steps");
    c.batch = j.at("batch");
    c.opt.lr = j.at("lr");
    c.opt.beta1 = j.at("beta1");
    c.opt.beta2 = j.at("beta2");
    c.opt.weight_decay = j.at("weight_decay");
    c.opt.clip = j.at("clip");
    c.opt.warmup = j.at("warmup");
    c.opt.schedule = j.at("schedule");
    c.rpo = j.at("rpo");
    c.rsp = j.at("rsp");
    c.rsp_from = j.at("rsp_from");
    c.mem_stop_grad = j.at("mem_stop_grad");
    c.tbptt = j.value("tbptt", 0);
    c.fam_l2 = j.value("fam_l2", 0.0f);
    c.fam_l1 = j.value("fam_l1", 0.0f);
    c.answer_cut = j.value("answer_cut", 0.0f);
    c.seed = j.at("seed");
    return c;
}

int cmd_train(int argc, char** argv) {
    ArgParser a("fam train",
                "Train a model on PassKey retrieval (paper Section 3.2). Prints a progress line every\n"
                "--log-every steps; writes --out atomically at the end and every --save-every steps.\n"
                "With --resume FILE, model, optimizer, step, RNG and training options come from FILE\n"
                "(only --steps, --threads, --log-every, --save-every may change) and training\n"
                "continues bit for bit as if it had never stopped.");
    a.option("task", "NAME", "training task (passkey)", "passkey")
        ;
    add_model_options(a, true);
    a.option("filler", "MIN:MAX", "filler tokens per example, drawn uniformly", "0:200")
        .option("curriculum", "S", "grow the filler maximum from MIN to MAX over S steps (0 = off)", "0")
        .option("digits", "K", "digits of the pass key", "5")
        .option("lm-weight", "W", "loss weight of non-answer positions", "0")
        .option("steps", "S", "optimizer steps", "1000")
        .option("batch", "K", "sequences per step", "16")
        .option("lr", "X", "peak learning rate (AdamW)", "2e-3")
        .option("warmup", "S", "linear warmup steps", "100")
        .option("schedule", "S", "constant | cosine", "constant")
        .option("weight-decay", "X", "decoupled weight decay (matrices only)", "0")
        .option("clip", "X", "gradient-norm clip (0 = off)", "1")
        .flag("rpo", "random position offset per sequence (App. B.2.2)")
        .option("rsp", "P", "random state passing probability (App. B.2.3; 0 = off)", "0")
        .option("rsp-from", "S", "enable RSP from this step on", "0")
        .flag("mem-stop-grad", "stop-gradient on memory segments (the paper's M_SG ablation)")
        .option("fam-l2", "X", "DEVIATION: weight of a penalty on the squared FAM update size (0 = off)", "0")
        .option("fam-l1", "X", "DEVIATION: weight of a penalty on the FAM update size, unsquared (0 = off)", "0")
        .option("answer-cut", "P", "probability of moving an example's filler (by < B) so a block boundary cuts the answer", "0")
        .option("tbptt", "T", "train only the last ~T tokens of longer examples, carrying the FAM in (fam, M = 0)", "0")
        .option("seed", "S", "seed for init, data, RPO and RSP", "1")
        .option("threads", "N", "sequences trained in parallel (results do not depend on it)", "2")
        .option("log-every", "N", "progress line every N steps", "50")
        .option("save-every", "N", "checkpoint every N steps (0 = only at the end)", "0")
        .option("resume", "FILE", "continue from a `fam train` checkpoint")
        .option("out", "FILE", "checkpoint to write (.safetensors)", "", true);
    if (!a.parse(argc, argv)) return 0;
    a.choice("task", {"passkey"});

    ModelWeights w;
    TrainState st;
    TrainConfig tc;
    Vocab vocab;
    if (a.given("resume")) {
        std::map<std::string, std::string> meta;
        load_train_checkpoint(a.str("resume"), w, st, &vocab, &meta);
        if (!meta.count("train.config"))
            throw std::invalid_argument(a.str("resume") + ": not a training checkpoint (no train.config)");
        tc = train_config_from_json(nlohmann::json::parse(meta["train.config"]));
        if (a.given("steps")) tc.steps = (int)a.integer("steps", 1, 100000000);
        std::printf("resuming %s at step %ld of %d\n", a.str("resume").c_str(), st.step, tc.steps);
    } else {
        vocab = passkey_vocab();
        FamConfig c = model_config_from_args(a, vocab.size());
        std::string fr = a.str("filler");
        size_t colon = fr.find(':');
        if (colon == std::string::npos) throw UsageError("fam train: --filler expects MIN:MAX, got '" + fr + "'");
        std::vector<long long> lo = parse_int_list(fr.substr(0, colon), "fam train: --filler MIN");
        std::vector<long long> hi = parse_int_list(fr.substr(colon + 1), "fam train: --filler MAX");
        if (lo.size() != 1 || hi.size() != 1 || lo[0] < 0 || hi[0] < lo[0] || hi[0] > 10000000)
            throw UsageError("fam train: --filler needs 0 <= MIN <= MAX, got '" + fr + "'");
        tc.filler_min = (int)lo[0];
        tc.filler_max = (int)hi[0];
        tc.curriculum = (int)a.integer("curriculum", 0, 100000000);
        tc.key_digits = (int)a.integer("digits", 1, 64);
        tc.lm_weight = (float)a.number("lm-weight", 0, 1e6);
        tc.steps = (int)a.integer("steps", 1, 100000000);
        tc.batch = (int)a.integer("batch", 1, 1 << 16);
        tc.opt.lr = (float)a.number("lr", 1e-12, 10);
        tc.opt.warmup = (int)a.integer("warmup", 0, 100000000);
        tc.opt.schedule = a.choice("schedule", {"constant", "cosine"});
        tc.opt.weight_decay = (float)a.number("weight-decay", 0, 10);
        tc.opt.clip = (float)a.number("clip", 0, 1e9);
        tc.rpo = a.flag_set("rpo");
        tc.rsp = (float)a.number("rsp", 0, 1);
        tc.rsp_from = (int)a.integer("rsp-from", 0, 100000000);
        tc.mem_stop_grad = a.flag_set("mem-stop-grad");
        tc.tbptt = (int)a.integer("tbptt", 0, 100000000);
        tc.fam_l2 = (float)a.number("fam-l2", 0, 1e6);
        tc.fam_l1 = (float)a.number("fam-l1", 0, 1e6);
        tc.answer_cut = (float)a.number("answer-cut", 0, 1);
        tc.seed = (uint64_t)a.integer("seed", 0);
        w = ModelWeights(c);
        init_weights(w, tc.seed);
        std::printf("training %s (%zu parameters) on passkey, filler %d:%d, %d steps x %d sequences\n",
                    c.describe().c_str(), count_params(c), tc.filler_min, tc.filler_max, tc.steps, tc.batch);
    }
    tc.opt.total_steps = tc.steps;
    tc.threads = (int)a.integer("threads", 1, 256);
    tc.log_every = (int)a.integer("log-every", 1, 100000000);
    tc.save_every = (int)a.integer("save-every", 0, 100000000);
    const std::string out = a.str("out");

    auto start = std::chrono::steady_clock::now();
    long start_step = st.step, tokens = 0;
    double loss_sum = 0, acc_sum = 0, pen_sum = 0;
    int window = 0;
    train(w, st, tc, vocab, [&](const StepStats& s, const TrainState& state) {
        tokens += s.tokens;
        loss_sum += s.loss;
        acc_sum += s.accuracy;
        pen_sum += s.fam_penalty;
        window++;
        if (s.step % tc.log_every == 0 || s.step == tc.steps) {
            double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            double per_step = el / (s.step - start_step);
            char fam_note[48] = "";  // how far the FAM moves per update (the --fam-l2 penalty's measure)
            if (w.cfg.fam_len() > 0) std::snprintf(fam_note, sizeof fam_note, " | FAM update %.3g", pen_sum / window);
            std::printf("step %6ld/%d | loss %.4f | acc %.2f%s | lr %.2e | |g| %.3f | %.1fk tok/s | %s elapsed, ETA %s\n",
                        s.step, tc.steps, loss_sum / window, acc_sum / window, fam_note, s.lr, s.grad_norm,
                        tokens / el / 1000.0, fmt_duration(el).c_str(),
                        fmt_duration(per_step * (tc.steps - s.step)).c_str());
            std::fflush(stdout);
            loss_sum = acc_sum = pen_sum = 0;
            window = 0;
        }
        if (tc.save_every > 0 && s.step % tc.save_every == 0 && s.step < tc.steps)
            save_train_checkpoint(out, w, state, tc, vocab);
    });
    save_train_checkpoint(out, w, st, tc, vocab);
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("wrote %s after %ld steps (%s)\n", out.c_str(), st.step, fmt_duration(el).c_str());
    return 0;
}

int cmd_eval(int argc, char** argv) {
    ArgParser a("fam eval", "Exact-match PassKey accuracy of a trained model at each filler length.\n"
                            "Exact match: every answer digit right (the arg-max at its position); the\n"
                            "columns on the right give each answer digit's accuracy on its own and, for\n"
                            "FAM models, the root-mean-square entry of each layer's FAM when the\n"
                            "question starts (how far the memory drifted over the filler).\n"
                            "With --json the last line is {\"accuracy\": {\"L1\": a1, ...}, \"digit_accuracy\": {\"L1\": [d1, ...], ...},\n"
                            "\"fam_rms\": {\"L1\": [layer 0, ...], ...}} (fam_rms for FAM models only).");
    a.option("task", "NAME", "task (passkey)", "passkey")
        .option("model", "FILE", "checkpoint written by fam train", "", true)
        .option("filler", "L1,L2,...", "filler lengths in tokens", "", true)
        .option("samples", "K", "examples per filler length", "50")
        .option("seed", "S", "seed of the evaluation examples", "1")
        .option("threads", "N", "examples evaluated in parallel", "2")
        .flag("json", "print the accuracies as JSON on the last line");
    if (!a.parse(argc, argv)) return 0;
    a.choice("task", {"passkey"});
    ModelWeights w;
    TrainState st;
    Vocab vocab;
    std::map<std::string, std::string> meta;
    load_train_checkpoint(a.str("model"), w, st, &vocab, &meta);
    int digits = meta.count("task.key_digits") ? std::stoi(meta["task.key_digits"]) : 5;
    std::vector<long long> fillers = a.int_list("filler");
    for (long long f : fillers)
        if (f < 0 || f > 100000000) throw UsageError("fam eval: --filler lengths must be in [0, 1e8], got " + std::to_string(f));
    int samples = (int)a.integer("samples", 1, 1000000);
    uint64_t seed = (uint64_t)a.integer("seed", 0);
    int threads = (int)a.integer("threads", 1, 256);
    std::printf("%s: %s\n%10s %10s %10s %10s   %-*s%s\n", a.str("model").c_str(), w.cfg.describe().c_str(), "filler",
                "tokens", "accuracy", "seconds", 5 * digits + 3, "per answer digit",
                w.cfg.fam_len() > 0 ? "FAM rms per layer" : "");
    nlohmann::json acc = nlohmann::json::object(), per_digit = nlohmann::json::object(),
                   fam_rms = nlohmann::json::object();
    for (long long f : fillers) {
        auto t0 = std::chrono::steady_clock::now();
        PasskeyScore x = eval_passkey(w, vocab, (int)f, samples, seed, digits, threads);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        Rng probe(0);
        int T = (int)make_passkey_example(vocab, probe, (int)f, digits).tokens.size();
        std::printf("%10lld %10d %10.3f %10.1f  ", f, T, x.exact, s);
        for (double d : x.digit) std::printf(" %.2f", d);
        std::printf("   ");
        for (double r : x.fam_rms) std::printf(" %.2f", r);
        std::printf("\n");
        std::fflush(stdout);
        acc[std::to_string(f)] = x.exact;
        per_digit[std::to_string(f)] = x.digit;
        if (!x.fam_rms.empty()) fam_rms[std::to_string(f)] = x.fam_rms;
    }
    if (a.flag_set("json")) {
        nlohmann::json out{{"accuracy", acc}, {"digit_accuracy", per_digit}};
        if (!fam_rms.empty()) out["fam_rms"] = fam_rms;
        std::printf("%s\n", out.dump().c_str());
    }
    return 0;
}

int cmd_export(int argc, char** argv) {
    ArgParser a("fam export", "Write a trained model for sharing: its weights, task vocabulary and training\n"
                              "metadata, without the optimizer moments (optim.m, optim.v) and the RSP state,\n"
                              "about a third of a training checkpoint's size. The result loads everywhere a\n"
                              "checkpoint does (fam eval, fam viz, the walkthroughs); `fam train --resume` on it\n"
                              "restarts AdamW's moments from zero.\n\n"
                              "example: fam export --model pk.safetensors --out models/passkey_fam.safetensors");
    a.option("model", "FILE", "checkpoint written by fam train (or a model file)", "", true)
        .option("out", "FILE", "where to write (temp file + rename)", "", true);
    if (!a.parse(argc, argv)) return 0;
    const std::string in = a.str("model"), out = a.str("out");
    if (out.empty()) throw UsageError("fam export: --out must name a file");
    SafeTensors st = safetensors_load(in);
    ModelWeights w = model_from_safetensors(st);  // refuses a file that holds no valid model
    size_t dropped = 0;
    for (auto it = st.tensors.begin(); it != st.tensors.end();) {
        const bool optimizer = it->first.rfind("optim.", 0) == 0 || it->first == "train.rsp_fam";
        if (optimizer) {
            dropped += it->second.size();
            it = st.tensors.erase(it);
        } else {
            ++it;
        }
    }
    st.metadata.erase("optim.step");
    safetensors_save(out, st);
    std::printf("wrote %s: %s, %zu parameters (dropped %zu optimizer values)\n", out.c_str(), w.cfg.describe().c_str(),
                w.buffer.size(), dropped);
    return 0;
}
