// train.cpp: see train.h.
#include "app/train.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "fam_penalty.h"
#include "fam_state.h"
#include "model.h"
#include "app/checkpoint.h"

void parallel_for(int n, int threads, const std::function<void(int)>& fn) {
    threads = std::max(1, std::min(threads, n));
    if (threads == 1) {
        for (int i = 0; i < n; i++) fn(i);
        return;
    }
    // Each thread takes the next item not yet taken: a thread that drew short items
    // does not wait for one that drew long ones. Which thread runs an item changes no
    // number (every item writes only its own outputs).
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    for (int k = 0; k < threads; k++)
        pool.emplace_back([&, k]() {
            try {
                for (int i = next++; i < n; i = next++) fn(i);
            } catch (...) {
                errors[k] = std::current_exception();
                next = n;  // the others stop after their current item
            }
        });
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// The filler range at `step` under the optional curriculum.
static int filler_max_at(const TrainConfig& cfg, long step) {
    if (cfg.curriculum <= 0 || step >= cfg.curriculum) return cfg.filler_max;
    double f = (double)(step + 1) / cfg.curriculum;
    return cfg.filler_min + (int)std::lround(f * (cfg.filler_max - cfg.filler_min));
}

TrainExample PasskeySource::draw(Rng& rng, long step) const {
    const TrainConfig& cfg = cfg_;
    int fmax = filler_max_at(cfg, step);
    int filler = rng.randint(cfg.filler_min, std::max(cfg.filler_min, fmax));
    // DEVIATION: --answer-cut, not in the paper (docs/spec.md, "Training options")
    if (cfg.answer_cut > 0.0f && rng.uniform() < cfg.answer_cut)
        filler = passkey_filler_cutting_answer(vocab_, filler, rng.randint(0, 1 << 20), B_, cfg.filler_min,
                                               std::max(cfg.filler_min, fmax), cfg.key_digits);
    PasskeyExample p = make_passkey_example(vocab_, rng, filler, cfg.key_digits, cfg.lm_weight);
    TrainExample ex;
    ex.tokens = std::move(p.tokens);
    ex.targets = std::move(p.targets);
    ex.weights = std::move(p.weights);
    ex.score_from = p.answer_pos - 1;  // the rows that predict the answer digits
    ex.score_len = (int)p.key.size();
    ex.quiet_from = p.filler_pos;
    ex.quiet_len = p.filler_len;
    return ex;
}

// The accuracy of one sequence (TrainExample::score_from/score_len) from the logits
// [T - s0, V] of its rows s0.. (s0 > 0: the rows before ran forward only, --tbptt).
static float example_accuracy(const float* logits, int V, const TrainExample& ex, int s0) {
    auto argmax = [&](int row) {  // row: position in the whole sequence
        const float* z = logits + (size_t)(row - s0) * V;
        int best = 0;
        for (int j = 1; j < V; j++)
            if (z[j] > z[best]) best = j;
        return best;
    };
    if (ex.score_len > 0) {  // exact match over the scored rows
        for (int r = ex.score_from; r < ex.score_from + ex.score_len; r++)
            if (argmax(r) != ex.targets[r]) return 0.0f;
        return 1.0f;
    }
    int right = 0, scored = 0;
    for (int r = s0; r < (int)ex.targets.size(); r++)
        if (ex.targets[r] >= 0) {
            scored++;
            right += argmax(r) == ex.targets[r];
        }
    return scored ? (float)right / scored : 0.0f;
}

void train(ModelWeights& w, TrainState& st, const TrainConfig& cfg, const Vocab& vocab,
           const std::function<void(const StepStats&, const TrainState&)>& on_step) {
    if (cfg.filler_min < 0 || cfg.filler_max < cfg.filler_min)
        throw std::invalid_argument("filler range must satisfy 0 <= MIN <= MAX");
    train(w, st, cfg, PasskeySource(cfg, vocab, w.cfg.B), on_step);
}

void perturb_fam(std::vector<float>& fam, int N, int F, int D, float sigma, Rng& rng) {
    const size_t FD = (size_t)F * D;
    for (int l = 0; l < N; l++) {
        float* x = fam.data() + l * FD;
        double ss = 0.0;
        for (size_t i = 0; i < FD; i++) ss += (double)x[i] * x[i];
        const float s = sigma * (float)std::sqrt(ss / FD);
        for (size_t i = 0; i < FD; i++) x[i] += s * rng.normal();
    }
}

// The cache is reused from step to step, so every block is set.
void mark_penalized_blocks(ModelCache& c, const TrainExample& ex, int s0, int B, bool filler_only) {
    for (LayerCache& l : c.layers)
        for (BlockCache& b : l.blocks) {
            const int first = s0 + b.tau * B, last = first + b.len;  // tokens [first, last)
            b.penalize = !filler_only || (first >= ex.quiet_from && last <= ex.quiet_from + ex.quiet_len);
        }
}

float rsp_probability(const TrainConfig& cfg, int step) {
    if (cfg.rsp <= 0.0f || step < cfg.rsp_from) return 0.0f;
    if (cfg.rsp_ramp <= 0) return cfg.rsp;
    double ramp = std::min(1.0, (double)(step - cfg.rsp_from) / cfg.rsp_ramp);
    return (float)(cfg.rsp * ramp);
}

void train(ModelWeights& w, TrainState& st, const TrainConfig& cfg, const ExampleSource& source,
           const std::function<void(const StepStats&, const TrainState&)>& on_step,
           const std::function<bool()>& stop) {
    const FamConfig& mc = w.cfg;
    const int K = cfg.batch, F = mc.fam_len();
    if (K < 1) throw std::invalid_argument("batch must be >= 1");
    if (source.vocab_size() > mc.V)
        throw std::invalid_argument("the task needs a vocabulary of " + std::to_string(source.vocab_size()) +
                                    " tokens but the model has V = " + std::to_string(mc.V));
    if (cfg.tbptt > 0 && (F == 0 || mc.M != 0))
        throw std::invalid_argument("--tbptt carries only the FAM: it needs attention fam with M = 0");
    if (cfg.fam_noise > 0.0f && cfg.tbptt == 0)
        throw std::invalid_argument("--fam-noise perturbs the FAM that --tbptt carries in: it needs --tbptt");
    if (st.opt.m.size() != w.buffer.size()) st.opt = AdamW(cfg.opt, w.buffer.size());
    st.opt.cfg = cfg.opt;
    Rng rng(st.rng_state ? st.rng_state : cfg.seed * 0x9E3779B97F4A7C15ULL + 1);

    // weight decay on matrices only (not on LayerNorm gains/biases)
    std::vector<uint8_t> decay(w.buffer.size(), 0);
    for (const Param& p : w.params)
        if (p.shape.size() == 2 && p.name != "fam_prompt")
            std::fill(decay.begin() + (p.data - w.buffer.data()), decay.begin() + (p.data - w.buffer.data()) + p.size, 1);

    std::vector<ModelWeights> dws;  // one gradient buffer per sequence: a fixed reduction order
    for (int i = 0; i < K; i++) dws.emplace_back(mc);
    std::vector<ModelCache> caches(K);
    std::vector<float> grad(w.buffer.size());

    for (; st.step < cfg.steps; ) {
        auto t0 = std::chrono::steady_clock::now();
        // ---- draw the batch (all randomness comes from `rng`, in a fixed order)
        std::vector<TrainExample> batch;
        std::vector<float> offsets(K, 0.0f);
        std::vector<uint64_t> noise_seed(K, 0);
        for (int i = 0; i < K; i++) {
            batch.push_back(source.draw(rng, st.step));
            // DEVIATION: --fam-noise; drawn here, in batch order, so threads do not matter
            if (cfg.fam_noise > 0.0f) noise_seed[i] = rng.next_u64();
            // DEVIATION (in effect only): RPO as the paper specifies it, but it shifts every
            // position of the sequence alike (tokens, FAM, prompt) and RoPE sees only
            // differences, so it changes nothing beyond float rounding (tests/test_model.cpp).
            if (cfg.rpo) {  // App. B.2.2: offset in [0, 2 pi base), zeroed with probability 0.5
                float off = rng.uniform(0.0f, (float)(2.0 * M_PI) * mc.rope_base);
                offsets[i] = rng.uniform() < 0.5f ? 0.0f : off;
            }
        }
        // App. B.2.3 RSP. DEVIATION: the passed-in FAM sits at positions -F..-1 of the new
        // sequence (src/model.cpp); the paper does not say where.
        // DEVIATION: --rsp-ramp grows p linearly from 0 (off by default: p is constant).
        bool use_rsp = F > 0 && cfg.rsp > 0.0f && st.step >= cfg.rsp_from && !st.rsp_fam.empty() &&
                       rng.uniform() < rsp_probability(cfg, st.step);
        // ---- truncation points (TBPTT): tokens [0, split) run forward only.
        // DEVIATION: --tbptt, not in the paper (docs/spec.md, "Training options").
        std::vector<int> split(K, 0);
        if (cfg.tbptt > 0)
            for (int i = 0; i < K; i++) {
                int T = (int)batch[i].tokens.size();
                if (T > cfg.tbptt) split[i] = ((T - cfg.tbptt) / mc.B) * mc.B;
            }
        // ---- each sequence's share of the batch loss: its weight sum over the total
        std::vector<float> wsum(K, 0.0f);
        double total_w = 0.0;
        for (int i = 0; i < K; i++) {
            for (size_t t = split[i]; t < batch[i].targets.size(); t++)
                if (batch[i].targets[t] >= 0) wsum[i] += batch[i].weights[t];
            total_w += wsum[i];
        }
        std::vector<float> losses(K), penalties(K), accuracy(K);
        // longest sequences first, so that the threads finish together (the order of the
        // work changes no number: sequence i writes only losses[i], dws[i], caches[i])
        std::vector<int> order(K);
        for (int i = 0; i < K; i++) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
            return batch[a].tokens.size() > batch[b].tokens.size();
        });
        parallel_for(K, cfg.threads, [&](int j) {
            const int i = order[j];
            const TrainExample& ex = batch[i];
            ForwardOptions opt;
            opt.pos_offset = offsets[i];
            opt.fam_start = use_rsp ? st.rsp_fam.data() : nullptr;
            ModelCache& c = caches[i];
            const int s0 = split[i], T = (int)ex.tokens.size() - s0;
            std::vector<float> carried;
            if (s0 > 0) {
                // forward only over the first s0 tokens (whole blocks); keep the FAM they leave.
                // It enters the trained part at positions s0-F..s0-1 (pos_offset + s0 - F + j),
                // exactly where the last block's update put it.
                model_forward(c, w, ex.tokens.data(), s0, opt);
                carried = c.fam_final;
                if (cfg.fam_noise > 0.0f) {  // DEVIATION: --fam-noise
                    Rng noise(noise_seed[i]);
                    perturb_fam(carried, mc.N, F, mc.D, cfg.fam_noise, noise);
                }
                opt.fam_start = carried.data();
                opt.pos_offset += (float)s0;
            }
            model_forward(c, w, ex.tokens.data() + s0, T, opt);
            mark_penalized_blocks(c, ex, s0, mc.B, cfg.penalty_blocks == "filler");
            losses[i] = model_loss(c, w, ex.targets.data() + s0, ex.weights.data() + s0);
            accuracy[i] = example_accuracy(c.logits.data(), mc.V, ex, s0);
            penalties[i] = fam_penalty(c, mc);
            dws[i].zero();
            model_backward(dws[i], c, w, ex.targets.data() + s0, ex.weights.data() + s0,
                           // DEVIATION: the --fam-l2 / --fam-l1 update penalties (not in the paper)
                           (float)(wsum[i] / total_w), cfg.mem_stop_grad, cfg.fam_l2 / K,
                           cfg.fam_l1 / K);
        });
        // ---- reduce in sequence order, then one AdamW step
        std::fill(grad.begin(), grad.end(), 0.0f);
        double loss = 0.0;
        long tokens = 0;
        float acc = 0.0f;
        double s_penalty = 0.0;
        for (int i = 0; i < K; i++) {
            for (size_t j = 0; j < grad.size(); j++) grad[j] += dws[i].buffer[j];
            loss += losses[i] * wsum[i] / total_w;
            tokens += (long)batch[i].tokens.size();
            acc += accuracy[i];
            s_penalty += penalties[i] / K;
        }
        StepStats s;
        s.lr = st.opt.lr_at(st.opt.step);
        s.grad_norm = st.opt.update(w.buffer.data(), grad.data(), grad.size(), decay.data());
        // App. B.2.3: keep the first sequence's final FAM (no gradient) for the next step
        if (F > 0 && cfg.rsp > 0.0f) st.rsp_fam = caches[0].fam_final;
        st.step++;
        st.rng_state = rng.state;
        s.step = st.step;
        s.loss = (float)loss;
        s.accuracy = acc / K;
        s.tokens = tokens;
        s.rsp_used = use_rsp;
        s.fam_penalty = (float)s_penalty;
        s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        on_step(s, st);
        if (stop && stop()) break;  // after a whole step: the state resumes exactly here
    }
}

FamConfig passkey_model_config(int V) {
    FamConfig c;
    c.V = V;
    c.D = 64;
    c.H = 4;
    c.N = 2;
    c.Dff = 256;
    c.attention = AttentionKind::Fam;
    c.B = 16;
    c.M = 0;
    c.F = 8;
    return c;
}

// ---- checkpoints ------------------------------------------------------------------

// The shortest decimal that reads back as the same float: the metadata says
// 0.9 rather than 0.8999999761581421, and loading it gives the float it came from.
static double short_decimal(float x) {
    for (int digits = 1; digits < 9; digits++) {
        char b[32];
        std::snprintf(b, sizeof b, "%.*g", digits, (double)x);
        double d = std::strtod(b, nullptr);
        if ((float)d == x) return d;
    }
    return (double)x;
}

static nlohmann::json train_config_json(const TrainConfig& c) {
    auto f = short_decimal;
    return {{"task", c.task},          {"filler_min", c.filler_min}, {"filler_max", c.filler_max},
            {"curriculum", c.curriculum}, {"key_digits", c.key_digits}, {"lm_weight", f(c.lm_weight)},
            {"steps", c.steps},        {"batch", c.batch},           {"lr", f(c.opt.lr)},
            {"beta1", f(c.opt.beta1)}, {"beta2", f(c.opt.beta2)},    {"weight_decay", f(c.opt.weight_decay)},
            {"clip", f(c.opt.clip)},   {"warmup", c.opt.warmup},     {"schedule", c.opt.schedule},
            {"rpo", c.rpo},            {"rsp", f(c.rsp)},            {"rsp_from", c.rsp_from},
            {"mem_stop_grad", c.mem_stop_grad}, {"tbptt", c.tbptt}, {"fam_l2", f(c.fam_l2)}, {"fam_l1", f(c.fam_l1)},
            {"answer_cut", f(c.answer_cut)}, {"seed", c.seed}};
}

// The text task's options join train.config only for text (PassKey files stay as they were).
static nlohmann::json train_config_json_all(const TrainConfig& c) {
    nlohmann::json j = train_config_json(c);
    // only when used: files made without these options stay byte for byte
    if (c.rsp_ramp > 0) j["rsp_ramp"] = c.rsp_ramp;
    if (c.penalty_blocks != "all") j["penalty_blocks"] = c.penalty_blocks;
    if (c.fam_noise > 0.0f) j["fam_noise"] = short_decimal(c.fam_noise);
    if (c.task == "text") {
        j["data"] = c.data;
        j["window"] = c.window;
        j["val_percent"] = short_decimal(c.val_percent);
    }
    return j;
}

TrainConfig train_config_from_json_text(const std::string& text) {
    const nlohmann::json j = nlohmann::json::parse(text);
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
    c.rsp_ramp = j.value("rsp_ramp", 0);
    c.penalty_blocks = j.value("penalty_blocks", std::string("all"));
    c.fam_noise = j.value("fam_noise", 0.0f);
    c.mem_stop_grad = j.at("mem_stop_grad");
    c.tbptt = j.value("tbptt", 0);
    c.fam_l2 = j.value("fam_l2", 0.0f);
    c.fam_l1 = j.value("fam_l1", 0.0f);
    c.answer_cut = j.value("answer_cut", 0.0f);
    c.seed = j.at("seed");
    c.data = j.value("data", std::string());
    c.window = j.value("window", 256);
    c.val_percent = j.value("val_percent", 5.0f);
    validate_train_config(c);
    return c;
}

void validate_train_config(const TrainConfig& c) {
    auto in = [](const char* field, double v, double lo, double hi) {
        if (!(v >= lo && v <= hi)) {  // NaN fails too
            char buf[200];
            std::snprintf(buf, sizeof buf, "train.config: %s = %.9g is outside [%.9g, %.9g]", field, v, lo, hi);
            throw std::invalid_argument(buf);
        }
    };
    if (c.task != "passkey" && c.task != "text")
        throw std::invalid_argument("train.config: task '" + c.task.substr(0, 40) + "' is not passkey or text");
    // the same ranges as fam train's flags (src/app/cli_train.cpp)
    in("filler_min", c.filler_min, 0, 1e7);
    in("filler_max", c.filler_max, c.filler_min, 1e7);
    in("curriculum", c.curriculum, 0, 1e8);
    in("key_digits", c.key_digits, 1, 64);
    in("lm_weight", c.lm_weight, 0, 1e6);
    in("steps", c.steps, 1, 1e8);
    in("batch", c.batch, 1, 1 << 16);
    in("lr", c.opt.lr, 1e-12, 10);
    in("beta1", c.opt.beta1, 0, 0.999999);
    in("beta2", c.opt.beta2, 0, 0.999999);
    in("weight_decay", c.opt.weight_decay, 0, 10);
    in("clip", c.opt.clip, 0, 1e9);
    in("warmup", c.opt.warmup, 0, 1e8);
    if (c.opt.schedule != "constant" && c.opt.schedule != "cosine")
        throw std::invalid_argument("train.config: schedule '" + c.opt.schedule.substr(0, 40) + "' is not constant or cosine");
    in("rsp", c.rsp, 0, 1);
    in("rsp_from", c.rsp_from, 0, 1e8);
    in("rsp_ramp", c.rsp_ramp, 0, 1e8);
    in("tbptt", c.tbptt, 0, 1e8);
    in("fam_l2", c.fam_l2, 0, 1e6);
    in("fam_l1", c.fam_l1, 0, 1e6);
    in("answer_cut", c.answer_cut, 0, 1);
    in("fam_noise", c.fam_noise, 0, 100);
    if (c.penalty_blocks != "all" && c.penalty_blocks != "filler")
        throw std::invalid_argument("train.config: penalty_blocks '" + c.penalty_blocks.substr(0, 40) + "' is not all or filler");
    in("window", c.window, 1, 1 << 24);
    in("val_percent", c.val_percent, 1e-6, 99.999);
}

void save_train_checkpoint(const std::string& path, const ModelWeights& w, const TrainState& s,
                           const TrainConfig& cfg, const Vocab& vocab) {
    save_train_checkpoint(path, w, s, cfg,
                          {{"task.vocab", vocab.serialize()}, {"task.key_digits", std::to_string(cfg.key_digits)}});
}

void save_train_checkpoint(const std::string& path, const ModelWeights& w, const TrainState& s,
                           const TrainConfig& cfg, const std::map<std::string, std::string>& task_metadata) {
    SafeTensors st = model_to_safetensors(w);
    st.metadata["task"] = cfg.task;
    for (const auto& kv : task_metadata) st.metadata[kv.first] = kv.second;
    st.metadata["train.step"] = std::to_string(s.step);
    st.metadata["train.rng"] = std::to_string(s.rng_state);
    st.metadata["train.config"] = train_config_json_all(cfg).dump();
    st.metadata["optim.step"] = std::to_string(s.opt.step);
    const int n = (int)w.buffer.size();
    if (s.opt.m.size() == w.buffer.size()) {
        Tensor m("optim.m", {n}), v("optim.v", {n});
        std::memcpy(m.data, s.opt.m.data(), sizeof(float) * n);
        std::memcpy(v.data, s.opt.v.data(), sizeof(float) * n);
        st.tensors["optim.m"] = m;
        st.tensors["optim.v"] = v;
    }
    if (!s.rsp_fam.empty()) {
        Tensor r("train.rsp_fam", {w.cfg.N, w.cfg.fam_len(), w.cfg.D});
        std::memcpy(r.data, s.rsp_fam.data(), sizeof(float) * r.size());
        st.tensors["train.rsp_fam"] = r;
    }
    safetensors_save(path, st);
}

// A step count from the metadata: digits only, at most 1e12 (no sign, no junk).
static long parse_meta_count(const std::string& path, const char* key, const std::string& text) {
    const bool digits = !text.empty() && text.size() <= 12 &&
                        text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits)
        throw std::invalid_argument(path + ": metadata " + key + " = '" + text.substr(0, 24) +
                                    "' is not a step count (0 or more)");
    return std::stol(text);
}

void load_train_checkpoint(const std::string& path, ModelWeights& w, TrainState& s, Vocab* vocab,
                           std::map<std::string, std::string>* metadata) {
    SafeTensors st = safetensors_load(path);
    w = model_from_safetensors(st);
    s = TrainState();
    if (metadata) *metadata = st.metadata;
    if (vocab) {
        auto it = st.metadata.find("task.vocab");
        if (it == st.metadata.end())
            throw std::runtime_error(path + ": no task vocabulary in the metadata (not a `fam train` checkpoint)");
        *vocab = Vocab::deserialize(it->second);
    }
    auto step = st.metadata.find("train.step");
    if (step == st.metadata.end()) return;  // a model-only file: fresh training state
    s.step = parse_meta_count(path, "train.step", step->second);
    s.rng_state = std::stoull(st.meta("train.rng"));
    const int n = (int)w.buffer.size();
    if (st.tensors.count("optim.m")) {
        s.opt.m.assign(st.get("optim.m", {n}).data, st.get("optim.m", {n}).data + n);
        s.opt.v.assign(st.get("optim.v", {n}).data, st.get("optim.v", {n}).data + n);
        s.opt.step = parse_meta_count(path, "optim.step", st.meta("optim.step"));
    }
    if (st.tensors.count("train.rsp_fam")) {
        const Tensor& r = st.get("train.rsp_fam", {w.cfg.N, w.cfg.fam_len(), w.cfg.D});
        s.rsp_fam.assign(r.data, r.data + r.size());
    }
}

// ---- evaluation ------------------------------------------------------------------------

PasskeyScore eval_passkey(const ModelWeights& w, const Vocab& vocab, int filler, int samples,
                          uint64_t seed, int key_digits, int threads) {
    if (samples < 1) throw std::invalid_argument("samples must be >= 1");
    // every (seed, filler) pair has its own example stream, independent of the others
    Rng rng(seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)filler << 20) ^ 0xE7A1);
    std::vector<PasskeyExample> examples;
    for (int i = 0; i < samples; i++) examples.push_back(make_passkey_example(vocab, rng, filler, key_digits));
    std::vector<std::string> predicted(samples);
    const int V = w.cfg.V, N = w.cfg.N, FD = w.cfg.fam_len() * w.cfg.D;
    std::vector<double> rms((size_t)samples * N, 0.0);  // [samples, N]
    parallel_for(samples, threads, [&](int i) {
        // Streaming (src/fam_state.h): constant memory however long the filler. The
        // prompt up to the question runs without logits; only the positions that
        // predict the answer digits produce them.
        const PasskeyExample& ex = examples[i];
        FamState st(w.cfg);
        stream_reset(st, w);
        const int head = ex.answer_pos - 1, n = (int)ex.key.size();
        stream_prefill(st, w, ex.tokens.data(), head, nullptr);
        if (FD > 0) {
            std::vector<float> fam = stream_fam(st);  // [N, F, D]
            for (int l = 0; l < N; l++) {
                double ss = 0;
                for (int j = 0; j < FD; j++) ss += (double)fam[(size_t)l * FD + j] * fam[(size_t)l * FD + j];
                rms[(size_t)i * N + l] = std::sqrt(ss / FD);
            }
        }
        std::vector<float> logits((size_t)n * V);
        stream_prefill(st, w, ex.tokens.data() + head, n, logits.data());
        PasskeyExample tail;  // logits row 0 is the position answer_pos - 1
        tail.key = ex.key;
        tail.answer_pos = 1;
        predicted[i] = passkey_prediction(logits.data(), V, tail);
    });
    PasskeyScore score;
    score.digit.assign(key_digits, 0.0);
    int exact = 0;
    for (int i = 0; i < samples; i++) {
        exact += predicted[i] == examples[i].key;
        for (int d = 0; d < key_digits; d++) score.digit[d] += predicted[i][d] == examples[i].key[d];
    }
    score.exact = (double)exact / samples;
    for (double& x : score.digit) x /= samples;
    if (FD > 0) {
        score.fam_rms.assign(N, 0.0);
        for (int i = 0; i < samples; i++)
            for (int l = 0; l < N; l++) score.fam_rms[l] += rms[(size_t)i * N + l] / samples;
    }
    return score;
}
