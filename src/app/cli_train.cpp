// cli_train.cpp: `fam train` and `fam eval` for the PassKey task (paper
// Section 3.2, Appendix D.1) and for text (byte-level language modelling on any
// file, src/app/text.h): train a model with the paper's options, then measure
// exact-match retrieval at chosen filler lengths, or the loss by position.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/interrupt.h"
#include "app/safe_file.h"
#include "app/text.h"
#include "app/train.h"

static std::string fmt_duration(double s) {
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", (int)(s / 3600), (int)std::fmod(s / 60, 60));
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", (int)(s / 60), (int)std::fmod(s, 60));
    else std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

int cmd_train(int argc, char** argv) {
    ArgParser a("fam train",
                "Train a model on PassKey retrieval (paper Section 3.2) or, with --task text --data FILE,\n"
                "on any file byte by byte (V = 256, token = byte; the last --val-percent of the file is\n"
                "held out, its loss and bits per byte join the progress line). Prints a progress line\n"
                "every --log-every steps; writes --out atomically at the end and every --save-every steps.\n"
                "With --resume FILE, model, optimizer, step, RNG and training options come from FILE\n"
                "(only --steps, --threads, --log-every, --save-every, --data may change) and training\n"
                "continues bit for bit as if it had never stopped. With --init FILE training starts from\n"
                "FILE's weights and shape (e.g. a `fam convert` output) with a fresh optimizer.\n\n"
                "example: fam train --task text --data book.txt --attention fam --fam 16 --steps 2000 --out lm.safetensors");
    a.option("task", "NAME", "training task: passkey | text", "passkey")
        .option("data", "FILE", "text: the file to learn (any bytes)")
        .option("window", "T", "text: tokens per training window", "256")
        .option("val-percent", "P", "text: the last P% of the file is the validation split", "5")
        .option("val-windows", "K", "text: validation windows (of --window tokens) per progress line", "8")
        .option("init", "FILE", "start from this model's weights and shape (fresh optimizer)");
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
        .option("rsp-ramp", "S", "DEVIATION: grow the RSP probability from 0 to P over S steps after --rsp-from (0 = off)", "0")
        .flag("mem-stop-grad", "stop-gradient on memory segments (the paper's M_SG ablation)")
        .option("fam-l2", "X", "DEVIATION: weight of a penalty on the squared FAM update size (0 = off)", "0")
        .option("fam-l1", "X", "DEVIATION: weight of a penalty on the FAM update size, unsquared (0 = off)", "0")
        .option("fam-noise", "S", "DEVIATION: noise of S x the FAM's rms on the FAM --tbptt carries in (0 = off)", "0")
        .option("penalty-blocks", "WHICH", "DEVIATION: blocks whose FAM updates --fam-l2/--fam-l1 count: all | filler (PassKey: only blocks of filler)", "all")
        .option("answer-cut", "P", "probability of moving an example's filler (by < B) so a block boundary cuts the answer", "0")
        .option("tbptt", "T", "train only the last ~T tokens of longer examples, carrying the FAM in (fam, M = 0)", "0")
        .option("seed", "S", "seed for init, data, RPO and RSP", "1")
        .option("threads", "N", "sequences trained in parallel (results do not depend on it)", "2")
        .option("log-every", "N", "progress line every N steps", "50")
        .option("save-every", "N", "checkpoint every N steps (0 = only at the end)", "0")
        .option("resume", "FILE", "continue from a `fam train` checkpoint")
        .option("out", "FILE", "checkpoint to write (.safetensors)", "", true);
    if (!a.parse(argc, argv)) return 0;
    const std::string task = a.choice("task", {"passkey", "text"});
    if (a.given("resume") && a.given("init"))
        throw UsageError("fam train: --resume and --init exclude each other (resume continues a run, init starts one)");
    // Nothing lost: the output must be writable before any training starts, and may not
    // be the --init model (--out equal to --resume is fine: the checkpoint moves on).
    const std::string out = a.str("out");
    check_writable(out, "--out");
    if (a.given("init")) refuse_same_file(a.str("init"), "--init", out, "--out");
    if (a.given("resume"))  // a resumed run keeps its settings: say so rather than ignore a flag
        for (const std::string& name : a.given_names())
            if (name != "resume" && name != "out" && name != "steps" && name != "threads" && name != "log-every" &&
                name != "save-every" && name != "data" && name != "task")
                throw UsageError("fam train: --" + name + " cannot change a resumed run (its settings come from " +
                                 a.str("resume") + "; only --steps, --threads, --log-every, --save-every, --data may)");

    ModelWeights w;
    TrainState st;
    TrainConfig tc;
    Vocab vocab;
    TextCorpus corpus;  // task text: the file, split, read before anything else can go wrong
    if (a.given("resume")) {
        std::map<std::string, std::string> meta;
        load_train_checkpoint(a.str("resume"), w, st, nullptr, &meta);
        if (!meta.count("train.config"))
            throw std::invalid_argument(a.str("resume") + ": not a training checkpoint (no train.config)");
        tc = train_config_from_json_text(meta["train.config"]);
        if (tc.task == "passkey") {
            if (!meta.count("task.vocab"))
                throw std::invalid_argument(a.str("resume") + ": a passkey checkpoint without task.vocab");
            vocab = Vocab::deserialize(meta["task.vocab"]);
        }
        if (a.given("task") && task != tc.task)
            throw UsageError("fam train: " + a.str("resume") + " was trained on " + tc.task + ", not " + task);
        if (a.given("data")) tc.data = a.str("data");
        if (tc.task == "text") corpus = load_text_corpus(tc.data, tc.val_percent);
        if (a.given("steps")) tc.steps = (int)a.integer("steps", 1, 100000000);
        std::printf("resuming %s at step %ld of %d\n", a.str("resume").c_str(), st.step, tc.steps);
    } else {
        tc.task = task;
        if (task == "passkey") vocab = passkey_vocab();
        if (task == "text") {
            if (!a.given("data")) throw UsageError("fam train: --task text needs --data FILE");
            tc.data = a.str("data");
            tc.window = (int)a.integer("window", 1, 1 << 24);
            tc.val_percent = (float)a.number("val-percent", 1e-6, 99.999);
            corpus = load_text_corpus(tc.data, tc.val_percent);
            TextSource check(corpus, tc.window);      // throws if either split is shorter than a window
            validation_starts(corpus, tc.window, 1);
        } else if (a.given("data")) {
            throw UsageError("fam train: --data is for --task text");
        }
        FamConfig c;
        if (a.given("init")) {
            for (const char* flag : {"d-model", "heads", "layers", "d-ff", "attention", "block", "mem", "fam", "rope-base"})
                if (a.given(flag))
                    throw UsageError(std::string("fam train: --") + flag + " cannot change the shape of the --init model");
            std::map<std::string, std::string> meta;
            TrainState ignored;
            load_train_checkpoint(a.str("init"), w, ignored, nullptr, &meta);
            c = w.cfg;
            if (task == "text" && c.V != kByteVocab)
                throw std::invalid_argument(a.str("init") + ": V = " + std::to_string(c.V) +
                                            ", but the text task needs a byte model (V = 256)");
            if (task == "passkey" && c.V < vocab.size())
                throw std::invalid_argument(a.str("init") + ": V = " + std::to_string(c.V) + " is too small for passkey");
        } else {
            c = model_config_from_args(a, task == "text" ? kByteVocab : vocab.size());
        }
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
        tc.rsp_ramp = (int)a.integer("rsp-ramp", 0, 100000000);
        tc.mem_stop_grad = a.flag_set("mem-stop-grad");
        tc.tbptt = (int)a.integer("tbptt", 0, 100000000);
        tc.fam_l2 = (float)a.number("fam-l2", 0, 1e6);
        tc.fam_l1 = (float)a.number("fam-l1", 0, 1e6);
        tc.penalty_blocks = a.choice("penalty-blocks", {"all", "filler"});
        tc.fam_noise = (float)a.number("fam-noise", 0, 100);
        tc.answer_cut = (float)a.number("answer-cut", 0, 1);
        tc.seed = (uint64_t)a.integer("seed", 0);
        if (!a.given("init")) {
            w = ModelWeights(c);
            init_weights(w, tc.seed);
        }
        std::string from = a.given("init") ? " from " + a.str("init") : "";
        if (task == "passkey")
            std::printf("training %s (%zu parameters)%s on passkey, filler %d:%d, %d steps x %d sequences\n",
                        c.describe().c_str(), count_params(c), from.c_str(), tc.filler_min, tc.filler_max, tc.steps,
                        tc.batch);
        else
            std::printf("training %s (%zu parameters)%s on text, %d steps x %d windows of %d bytes\n",
                        c.describe().c_str(), count_params(c), from.c_str(), tc.steps, tc.batch, tc.window);
    }
    tc.opt.total_steps = tc.steps;
    tc.threads = (int)a.integer("threads", 1, 256);
    tc.log_every = (int)a.integer("log-every", 1, 100000000);
    tc.save_every = (int)a.integer("save-every", 0, 100000000);

    // the task: where the sequences come from, what the checkpoint says about it
    std::unique_ptr<ExampleSource> source;
    std::map<std::string, std::string> task_meta;
    std::vector<int> val_edges;
    int val_windows = 0;
    if (tc.task == "text") {
        source.reset(new TextSource(corpus, tc.window));
        val_windows = (int)std::min<long>(a.integer("val-windows", 1, 1 << 20),
                                          (long)validation_starts(corpus, tc.window, 1 << 30).size());
        val_edges = {0, tc.window};
        task_meta = {{"task.tokenizer", kByteTokenizer}, {"task.vocab_size", std::to_string(kByteVocab)}};
        std::printf("text %s: %ld bytes; training split %ld bytes (unigram entropy %.3f bits/byte), validation "
                    "split the last %g%% = %ld bytes (unigram entropy %.3f bits/byte; %d windows of %d scored per "
                    "progress line)\n",
                    tc.data.c_str(), corpus.size(), corpus.n_train,
                    unigram_entropy_bits(corpus.tokens, 0, corpus.n_train), (double)tc.val_percent, corpus.n_val(),
                    unigram_entropy_bits(corpus.tokens, corpus.n_train, corpus.size()), val_windows, tc.window);
    } else {
        source.reset(new PasskeySource(tc, vocab, w.cfg.B));
        task_meta = {{"task.vocab", vocab.serialize()}, {"task.key_digits", std::to_string(tc.key_digits)}};
        if (tc.filler_min < 0 || tc.filler_max < tc.filler_min)
            throw std::invalid_argument("filler range must satisfy 0 <= MIN <= MAX");
    }
    // the memory a step needs (the longest sequence, forward and backward caches for each
    // of the batch's sequences), checked before the first step allocates it
    long longest = tc.window;
    if (tc.task == "passkey") {
        Rng probe(0);
        longest = (long)make_passkey_example(vocab, probe, tc.filler_max + w.cfg.B, tc.key_digits).tokens.size();
    }
    check_forward_resources(w.cfg, longest, 2 * tc.batch);

    install_interrupt_handlers();
    auto start = std::chrono::steady_clock::now();
    long start_step = st.step, tokens = 0;
    double loss_sum = 0, acc_sum = 0, pen_sum = 0;
    int window = 0;
    train(w, st, tc, *source, [&](const StepStats& s, const TrainState& state) {
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
            char val_note[64] = "";  // text: the held-out loss and bits per byte
            if (tc.task == "text") {
                TextLoss v = eval_text(w, corpus, tc.window, val_windows, val_edges, tc.threads);
                std::snprintf(val_note, sizeof val_note, " | val %.4f (%.3f bpb)", v.loss, v.bits_per_byte);
            }
            std::printf("step %6ld/%d | loss %.4f%s | acc %.2f%s | lr %.2e | |g| %.3f | %.1fk tok/s | %s elapsed, ETA %s\n",
                        s.step, tc.steps, loss_sum / window, val_note, acc_sum / window, fam_note, s.lr, s.grad_norm,
                        tokens / el / 1000.0, fmt_duration(el).c_str(),
                        fmt_duration(per_step * (tc.steps - s.step)).c_str());
            std::fflush(stdout);
            loss_sum = acc_sum = pen_sum = 0;
            window = 0;
        }
        if (tc.save_every > 0 && s.step % tc.save_every == 0 && s.step < tc.steps)
            save_train_checkpoint(out, w, state, tc, task_meta);
    }, [] { return interrupted(); });  // Ctrl-C / SIGTERM: stop after the step in flight
    save_train_checkpoint(out, w, st, tc, task_meta);
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (interrupted()) {
        std::fprintf(stderr, "fam train: interrupted at step %ld of %d; wrote %s (continue: fam train --resume %s --out %s)\n",
                     st.step, tc.steps, out.c_str(), out.c_str(), out.c_str());
        return interrupt_exit_code();
    }
    std::printf("wrote %s after %ld steps (%s)\n", out.c_str(), st.step, fmt_duration(el).c_str());
    return 0;
}

// `fam eval --task text`: the loss by position bucket over long validation
// windows, and optionally PassKey in real text; a table, or with --json only JSON.
static int eval_text_task(const ArgParser& a) {
    ModelWeights w;
    TrainState st;
    std::map<std::string, std::string> meta;
    const std::string path = a.str("model");
    load_train_checkpoint(path, w, st, nullptr, &meta);
    if (!is_text_model(meta))
        throw std::invalid_argument(path + ": not a text model (no task.tokenizer = bytes in its metadata)");
    if (!a.given("data")) throw UsageError("fam eval: --task text needs --data FILE");
    double val_percent = 5.0;
    if (meta.count("train.config")) val_percent = train_config_from_json_text(meta["train.config"]).val_percent;
    if (a.given("val-percent")) val_percent = a.number("val-percent", 1e-6, 99.999);
    const int window = (int)a.integer("window", 1, 1 << 24), windows = (int)a.integer("windows", 1, 1 << 20);
    const int bucket = (int)a.integer("bucket", 1, 1 << 24), threads = (int)a.integer("threads", 1, 256);
    const bool json = a.flag_set("json");
    const TextCorpus corpus = load_text_corpus(a.str("data"), val_percent);
    auto t0 = std::chrono::steady_clock::now();
    TextLoss r = eval_text(w, corpus, window, windows, position_buckets(window, bucket), threads);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json buckets = nlohmann::json::array();
    for (size_t k = 0; k + 1 < r.edges.size(); k++)
        buckets.push_back({{"from", r.edges[k]}, {"to", r.edges[k + 1]}, {"loss", r.bucket_loss[k]},
                           {"bits_per_byte", r.bucket_loss[k] / std::log(2.0)}});
    nlohmann::json out{{"model", path},
                       {"config", w.cfg.describe()},
                       {"data", corpus.name},
                       {"val_percent", val_percent},
                       {"val_bytes", corpus.n_val()},
                       {"unigram_bits_per_byte", unigram_entropy_bits(corpus.tokens, corpus.n_train, corpus.size())},
                       {"window", window},
                       {"windows", r.windows},
                       {"loss", r.loss},
                       {"bits_per_byte", r.bits_per_byte},
                       {"accuracy", r.accuracy},
                       {"seconds", sec},
                       {"buckets", buckets}};
    if (!json) {
        std::printf("%s: %s\n%s: validation split = the last %g%% (%ld bytes), %d windows of %d bytes, %.1f s\n",
                    path.c_str(), w.cfg.describe().c_str(), corpus.name.c_str(), val_percent, corpus.n_val(),
                    r.windows, window, sec);
        std::printf("loss %.4f nats/byte = %.3f bits/byte, next-byte accuracy %.3f (unigram entropy of the split: "
                    "%.3f bits/byte)\n", r.loss, r.bits_per_byte, r.accuracy, out["unigram_bits_per_byte"].get<double>());
        std::printf("%18s %12s %12s\n", "positions", "loss", "bits/byte");
        for (size_t k = 0; k + 1 < r.edges.size(); k++) {
            std::string span = "[" + std::to_string(r.edges[k]) + ", " + std::to_string(r.edges[k + 1]) + ")";
            std::printf("%18s %12.4f %12.3f\n", span.c_str(), r.bucket_loss[k], r.bucket_loss[k] / std::log(2.0));
        }
    }
    if (a.given("passkey-filler")) {
        const int samples = (int)a.integer("passkey-samples", 1, 1000000);
        const uint64_t seed = (uint64_t)a.integer("seed", 0);
        nlohmann::json pk = nlohmann::json::array();
        if (!json)
            std::printf("PassKey in real text (%d examples per filler, 5 digits):\n%10s %10s %10s %14s\n", samples,
                        "filler", "exact", "digits", "answer bits");
        for (long long f : a.int_list("passkey-filler")) {
            if (f < 0 || f > 100000000) throw UsageError("fam eval: --passkey-filler lengths must be in [0, 1e8]");
            TextPasskeyScore x = eval_text_passkey(w, corpus, (int)f, samples, seed, 5, threads);
            pk.push_back({{"filler", f}, {"exact", x.exact}, {"digit", x.digit}, {"answer_bits", x.answer_bits}});
            if (!json) std::printf("%10lld %10.3f %10.3f %14.3f\n", f, x.exact, x.digit, x.answer_bits);
        }
        out["passkey"] = pk;
        out["passkey_samples"] = samples;
    }
    if (json) std::printf("%s\n", out.dump().c_str());
    return 0;
}

int cmd_eval(int argc, char** argv) {
    ArgParser a("fam eval", "Exact-match PassKey accuracy of a trained model at each filler length.\n"
                            "Exact match: every answer digit right (the arg-max at its position); the\n"
                            "columns on the right give each answer digit's accuracy on its own and, for\n"
                            "FAM models, the root-mean-square entry of each layer's FAM when the\n"
                            "question starts (how far the memory drifted over the filler).\n"
                            "With --json stdout is one line {\"accuracy\": {\"L1\": a1, ...}, \"digit_accuracy\": {\"L1\": [d1, ...], ...},\n"
                            "\"fam_rms\": {\"L1\": [layer 0, ...], ...}} (fam_rms for FAM models only).\n\n"
                            "--task text --data FILE: the next-byte loss of a text model over long windows of the\n"
                            "file's validation split, by position bucket inside the window (how much the model\n"
                            "gains from far context), and with --passkey-filler PassKey hidden in real text\n"
                            "(scored on the key's digits; chance is log2 10 = 3.32 answer bits per digit).\n"
                            "example: fam eval --task text --model lm.safetensors --data book.txt --window 1024 --json");
    a.option("task", "NAME", "task: passkey | text (text: see below)", "passkey")
        .option("model", "FILE", "checkpoint written by fam train", "", true)
        .option("filler", "L1,L2,...", "passkey: filler lengths in tokens (required)")
        .option("samples", "K", "passkey: examples per filler length", "50")
        .option("seed", "S", "seed of the evaluation examples", "1")
        .option("threads", "N", "examples evaluated in parallel", "2")
        .flag("json", "print ONLY JSON on stdout (passkey: the table goes to stderr)")
        .option("data", "FILE", "text: the file (its validation split is scored)")
        .option("val-percent", "P", "text: the held-out share (default: the one the model trained with, else 5)")
        .option("window", "T", "text: tokens per validation window (long: beyond the training window)", "1024")
        .option("windows", "K", "text: validation windows scored (consecutive from the split's start)", "16")
        .option("bucket", "B", "text: the first position bucket; then doubling: [0,B) [B,2B) [2B,4B) ...", "64")
        .option("passkey-filler", "L1,...", "text: also PassKey in real text at these filler lengths (bytes)")
        .option("passkey-samples", "K", "text: PassKey-in-text examples per filler length", "50");
    if (!a.parse(argc, argv)) return 0;
    if (a.choice("task", {"passkey", "text"}) == "text") return eval_text_task(a);
    if (!a.given("filler")) throw UsageError("fam eval: --task passkey needs --filler L1,L2,...");
    ModelWeights w;
    TrainState st;
    Vocab vocab;
    std::map<std::string, std::string> meta;
    load_train_checkpoint(a.str("model"), w, st, nullptr, &meta);
    if (is_text_model(meta))
        throw UsageError("fam eval: " + a.str("model") + " is a text model: use --task text --data FILE");
    if (!meta.count("task.vocab"))
        throw std::invalid_argument(a.str("model") + ": no task vocabulary in the metadata (not a `fam train` checkpoint)");
    vocab = Vocab::deserialize(meta["task.vocab"]);
    const std::string digits_text = meta.count("task.key_digits") ? meta["task.key_digits"] : "5";
    if (digits_text.empty() || digits_text.size() > 2 || digits_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits_text) < 1 || std::stoi(digits_text) > 64)
        throw std::invalid_argument(a.str("model") + ": metadata task.key_digits = '" + digits_text.substr(0, 24) +
                                    "' is not a digit count in [1, 64]");
    const int digits = std::stoi(digits_text);
    std::vector<long long> fillers = a.int_list("filler");
    for (long long f : fillers)
        if (f < 0 || f > 100000000) throw UsageError("fam eval: --filler lengths must be in [0, 1e8], got " + std::to_string(f));
    int samples = (int)a.integer("samples", 1, 1000000);
    uint64_t seed = (uint64_t)a.integer("seed", 0);
    int threads = (int)a.integer("threads", 1, 256);
    // with --json, stdout carries only the JSON line; the human table goes to stderr
    FILE* table = a.flag_set("json") ? stderr : stdout;
    std::fprintf(table, "%s: %s\n%10s %10s %10s %10s   %-*s%s\n", a.str("model").c_str(), w.cfg.describe().c_str(), "filler",
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
        std::fprintf(table, "%10lld %10d %10.3f %10.1f  ", f, T, x.exact, s);
        for (double d : x.digit) std::fprintf(table, " %.2f", d);
        std::fprintf(table, "   ");
        for (double r : x.fam_rms) std::fprintf(table, " %.2f", r);
        std::fprintf(table, "\n");
        std::fflush(table);
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
