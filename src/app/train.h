// train.h: training a model (paper Section 3.2, App. B.2): batches of
// sequences from a task (an ExampleSource: PassKey here, text in src/app/text.h),
// AdamW with clipping, the paper's options RPO (random position offset), RSP
// (random state passing) and the M_SG stop-gradient ablation; deterministic
// given a seed, checkpoints that resume bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model.h"
#include "weights.h"
#include "app/optim.h"
#include "app/tasks.h"

struct TrainConfig {
    std::string task = "passkey";  // passkey | text
    // task text (src/app/text.h): the file, the training window, the held-out share
    std::string data;
    int window = 256;
    float val_percent = 5.0f;
    int filler_min = 0, filler_max = 200;  // filler tokens, drawn uniformly per example
    int curriculum = 0;        // > 0: the filler maximum grows linearly from filler_min over this many steps
    int key_digits = 5;
    float lm_weight = 0.0f;    // loss weight of the non-answer positions (0 = answer digits only)
    int steps = 1000;          // total optimizer steps
    int batch = 16;            // sequences per step
    AdamWConfig opt;
    bool rpo = false;          // App. B.2.2: random position offset per sequence (changes only
                               // rounding here: DEVIATION note in train.cpp)
    float rsp = 0.0f;          // App. B.2.3: probability of starting from the last step's final FAM
                               // (the paper's best is 0.8; 0 = off)
    int rsp_from = 0;          // RSP only from this step on
    // DEVIATION (the paper's p is constant): > 0 makes the RSP probability grow
    // linearly from 0 at step rsp_from to `rsp` at step rsp_from + rsp_ramp, so the
    // model meets carried-in FAMs (and the old keys in them) gradually. 0 = off.
    int rsp_ramp = 0;
    bool mem_stop_grad = false;  // M_SG ablation
    // DEVIATION (a training option the paper does not have): truncated
    // backpropagation through the FAM chain (fam with M = 0 only): an
    // example longer than `tbptt` tokens runs its first whole blocks forward only,
    // and the FAM they leave is carried (as a constant) into the last ~tbptt
    // tokens, which are trained. Short examples teach storing the key; long ones
    // teach keeping it over many FAM updates at the cost of a forward pass. 0 = off.
    int tbptt = 0;
    // DEVIATION (a training option the paper does not use): weight of the penalty on
    // the size of each FAM update, mean (1/F)||F_{tau+1} - F_tau||^2 over the
    // non-fresh updates (src/fam_penalty.h, fam_update_penalty). 0 = off.
    float fam_l2 = 0.0f;
    // DEVIATION, likewise: weight of the penalty on the unsquared size of each FAM
    // row's update, mean (1/F) sum_rows ||F_{tau+1} - F_tau|| (fam_update_norm_penalty).
    float fam_l1 = 0.0f;
    // DEVIATION, likewise: which blocks' updates the two penalties count: "all" (every
    // non-fresh update) or "filler" (only blocks made entirely of filler tokens, where
    // the FAM has nothing to write; the key and the question may be written freely).
    std::string penalty_blocks = "all";
    // DEVIATION, likewise (needs --tbptt): Gaussian noise of this many times each
    // layer's FAM rms is added to the FAM carried into the trained part of a long
    // example, so the answer must be read from a FAM that has moved, as it does over
    // fillers far longer than training shows. 0 = off.
    float fam_noise = 0.0f;
    // DEVIATION (a training option the paper does not have): probability that an
    // example's filler length is moved (by less than a block)
    // so that a block boundary falls between two answer digits
    // (passkey_filler_cutting_answer): with M = 0 the hardest case, which a uniform
    // filler length gives only (digits - 1) / B of the time. 0 = off.
    float answer_cut = 0.0f;
    uint64_t seed = 1;
    int threads = 2;           // sequences of a batch run in parallel; results do not depend on it
    int log_every = 50;
    int save_every = 0;        // also checkpoint every this many steps (0 = only at the end)
};

// What a checkpoint holds beyond the weights, so that training resumes bit for bit.
struct TrainState {
    long step = 0;                // completed steps
    uint64_t rng_state = 0;       // the data/RPO/RSP generator
    std::vector<float> rsp_fam;   // [N, F, D] the last step's final FAM (empty: none yet)
    AdamW opt;
};

struct StepStats {
    long step = 0;
    float loss = 0.0f, grad_norm = 0.0f, lr = 0.0f, accuracy = 0.0f;
    float fam_penalty = 0.0f;  // mean FAM update-size penalty of the batch (before its weight)
    long tokens = 0;
    double seconds = 0.0;
    bool rsp_used = false;
};

// One training sequence.
struct TrainExample {
    std::vector<int> tokens;     // [T]
    std::vector<int> targets;    // [T] next-token target where a loss applies, -1 elsewhere
    std::vector<float> weights;  // [T] loss weight per position
    // The rows the progress line's accuracy scores: with score_len > 0, exact match
    // of the arg-max at rows [score_from, score_from + score_len) against their
    // targets (PassKey: the rows that predict the answer digits); with
    // score_len = 0, the fraction of targeted rows whose arg-max is the target.
    int score_from = 0, score_len = 0;
    // Tokens [quiet_from, quiet_from + quiet_len) carry nothing the task asks about
    // (PassKey: the filler). With --penalty-blocks filler the FAM update penalties
    // count only the blocks made of them (DEVIATION).
    int quiet_from = 0, quiet_len = 0;
};

// A task: where train() gets its sequences. draw() takes all its randomness from
// `rng`; train() calls it once per sequence, in batch order, so a run is
// reproducible from the seed and resumes from the generator's state.
class ExampleSource {
  public:
    virtual ~ExampleSource() = default;
    virtual TrainExample draw(Rng& rng, long step) const = 0;
    virtual int vocab_size() const = 0;  // ids the task uses: [0, vocab_size)
};

// PassKey (src/app/tasks.h) under the filler options of cfg: filler length
// uniform in [filler_min, the curriculum's maximum at `step`], --answer-cut.
class PasskeySource : public ExampleSource {
  public:
    PasskeySource(const TrainConfig& cfg, const Vocab& vocab, int B) : cfg_(cfg), vocab_(vocab), B_(B) {}
    TrainExample draw(Rng& rng, long step) const override;
    int vocab_size() const override { return vocab_.size(); }

  private:
    const TrainConfig& cfg_;
    const Vocab& vocab_;
    int B_;
};

// The toy TransformerFAM the demo, the walkthroughs and `fam train`'s defaults use
// for PassKey: D = 64, H = 4, N = 2, Dff = 256, B = 16, F = 8 and no memory
// segment (M = 0), so that everything older than the current block must come
// through the FAM. V: the task's vocabulary size.
FamConfig passkey_model_config(int V);

// Runs fn(i) for i in [0, n) on `threads` threads, each thread taking the next item
// not yet taken (in the order 0, 1, 2, ...). Item i always goes to the same place in
// the output, so results never depend on the thread count or on which thread ran
// what. The first exception thrown by any item is rethrown (items not yet started
// are then skipped).
void parallel_for(int n, int threads, const std::function<void(int)>& fn);

// Trains w in place from `state` (fresh or loaded) until cfg.steps on the
// sequences `source` draws. `on_step` is called after every step (progress
// printing, periodic checkpoints). `stop`, if given, is asked after every step
// and ends training early when it says true (Ctrl-C: `fam train` then saves a
// checkpoint that resumes exactly where it stopped).
void train(ModelWeights& w, TrainState& state, const TrainConfig& cfg, const ExampleSource& source,
           const std::function<void(const StepStats&, const TrainState&)>& on_step,
           const std::function<bool()>& stop = nullptr);
// The same on PassKey: train(w, state, cfg, PasskeySource(cfg, vocab, w.cfg.B), on_step).
void train(ModelWeights& w, TrainState& state, const TrainConfig& cfg, const Vocab& vocab,
           const std::function<void(const StepStats&, const TrainState&)>& on_step);

// A training checkpoint: model + optimizer moments (optim.m, optim.v) + step, RNG
// state, RSP state (train.*) + the task's vocabulary and the TrainConfig, in one
// safetensors file, written atomically.
void save_train_checkpoint(const std::string& path, const ModelWeights& w, const TrainState& s,
                           const TrainConfig& cfg, const Vocab& vocab);
// The same for any task: `task_metadata` holds its task.* keys (e.g. the text
// task's task.tokenizer), written beside "task" = cfg.task.
void save_train_checkpoint(const std::string& path, const ModelWeights& w, const TrainState& s,
                           const TrainConfig& cfg, const std::map<std::string, std::string>& task_metadata);
// Loads what save_train_checkpoint wrote. A model-only file gives a fresh TrainState.
// vocab: the PassKey vocabulary (an error if the file has none); null for other tasks.
void load_train_checkpoint(const std::string& path, ModelWeights& w, TrainState& s, Vocab* vocab,
                           std::map<std::string, std::string>* metadata = nullptr);

// Refuses a TrainConfig outside the ranges `fam train` accepts on its command line
// (batch 1..65536, key digits 1..64, steps 1..1e8, ...), with one line naming the
// field, its value and the range: a checkpoint's train.config is checked like flags.
void validate_train_config(const TrainConfig& c);

// DEVIATION (--penalty-blocks): mark which FAM updates of `c` (a forward over the
// example's tokens [s0, T)) the update penalties count: every one, or with
// filler_only only those of blocks whose tokens all lie in [ex.quiet_from,
// ex.quiet_from + ex.quiet_len) (PassKey: the filler).
// DEVIATION (--fam-noise): add N(0, (sigma * rms_l)^2) to every entry of layer l's
// FAM in fam [N, F, D], rms_l the root-mean-square entry of that layer's FAM.
void perturb_fam(std::vector<float>& fam, int N, int F, int D, float sigma, Rng& rng);

void mark_penalized_blocks(ModelCache& c, const TrainExample& ex, int s0, int B, bool filler_only);

// The RSP probability at `step`: cfg.rsp from cfg.rsp_from on, reached linearly over
// cfg.rsp_ramp steps when that is > 0 (DEVIATION), 0 before.
float rsp_probability(const TrainConfig& cfg, int step);

// The TrainConfig a checkpoint's train.config metadata holds (validated).
TrainConfig train_config_from_json_text(const std::string& json);

// PassKey accuracy at one filler length: exact match (every answer digit right)
// and, per answer digit, how often that digit alone is right. Both are counts
// over samples, so they print exactly (0.94, not 0.9399999976).
struct PasskeyScore {
    double exact = 0;                  // fraction of examples with every digit right
    std::vector<double> digit;         // [key_digits] fraction right at each answer digit
    std::vector<double> fam_rms;       // [N] per layer, the FAM's root-mean-square entry when the
                                       // question starts, averaged over examples (empty without FAM):
                                       // how far the memory has drifted over the filler
};

// Accuracy of the model on `samples` PassKey examples with `filler` filler
// tokens, seeded. Runs through the streaming path (src/fam_state.h), so memory
// stays constant however long the filler (except for full attention).
PasskeyScore eval_passkey(const ModelWeights& w, const Vocab& vocab, int filler, int samples,
                          uint64_t seed, int key_digits = 5, int threads = 2);
