// fam_state.h: streaming inference with constant memory (paper Section 1,
// Section 2.1 "ring buffer", Section 2.2 / Algorithm 2, Appendix D.4).
//
// A FamState is what crosses blocks and streams: per layer the FAM that entered
// the current block, its projected keys/values, and a ring buffer of the keys
// and values of the M previous blocks plus the current (partial) block. It is
// allocated once from the config and never grows, however many tokens go
// through: the paper's "O(L) compute, O(1) memory" (Section 1, App. D.4).
//
// Per layer, keys and values sit in one buffer of C = F + (M+1)*B rows:
//
//   rows 0..F-1                  K^F, V^F of the FAM entering the current block
//   rows F + s*B .. F + s*B+B-1  ring slot s = 0..M, holding the block tau with
//                                tau % (M+1) == s (post-RoPE keys)
//
// The current block lives in slot `head`; the M slots before it (mod M+1) hold
// the memory blocks tau-1..tau-M that exist (`nmem` of them). When a block
// completes, each layer's FAM is updated from it (Alg. 2 steps 6-8) and the
// head moves on: the oldest memory block's slot becomes the new current block,
// so nothing is copied.
//
// `full` attention has no blocks: its cache is the growing list of all keys
// and values (the O(T)-memory baseline the paper compares against). It is the
// only kind whose state grows.
//
// Two ways to feed tokens, equal up to float rounding (tests/test_stream.cpp):
//   stream_step     one token: one row through every layer (generation)
//   stream_prefill  up to a block at a time with the blockwise machinery of
//                   src/fam_layer.cpp: one gemm per projection over the rows,
//                   one attention call under fam_block_mask (prompts, files)
// Both equal model_forward (src/model.h) and naive_forward (src/naive.h) on the
// same tokens: logits and the FAM after the last complete block.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "fam_layer.h"
#include "fam_update.h"
#include "layer.h"
#include "tensor.h"
#include "weights.h"

// The state of one layer.
struct FamLayerState {
    std::vector<float> fam;      // [F, D] F_tau: the FAM entering the current block tau
    std::vector<float> fam_pos;  // [F]    its positions (-F..-1 for the initial FAM)
    std::vector<float> q_fam;    // [F, D] Q^F of that FAM after RoPE (queries of the FAM update)
    std::vector<float> k;        // [C, D] [K^F | ring slots 0..M] after RoPE (full: [T, D], grows)
    std::vector<float> v;        // [C, D] [V^F | ring slots 0..M]            (full: [T, D], grows)
    bool fresh = true;           // fam is the initial FAM: its first update has a zero residual (App. B.1)
};

// Scratch for one call, allocated with the state so that no call allocates.
// R = B + F rows (a block and the FAM rows), C keys as above. For `full`, the
// buffers that depend on the sequence length (P, mask) grow with it.
struct StreamScratch {
    std::vector<float> x, x_next;  // [B, D]    the residual stream of the rows in flight
    std::vector<float> pos;        // [B]       their positions
    QkvCache qkv;                  // [B, D]... first half of the layer for the token rows
    QkvCache qkv_fam;              // [F, D]... first half for a new FAM (Alg. 2 step 2)
    OutCache out;                  // [B, D]... second half for the token rows
    FamUpdateCache upd;            // the FAM update (Alg. 2 steps 6-8, src/fam_update.h)
    std::vector<float> k, v;       // [C, D]    keys/values in block order [memory | FAM | block] (prefill)
    std::vector<float> att;        // [B, D]    attention output before Wo
    std::vector<float> P;          // [H, B, C] attention weights
    std::vector<uint8_t> mask;     // [B, C]    which key each row may see (step, full)
    std::vector<float> fam_new;    // [F, D]    F_{tau+1} while it is being computed
    std::vector<float> fam_new_pos;  // [F]     its positions
    std::vector<float> xf;         // [B, D]    LN_f of the last layer's output
    std::vector<float> lnf_mean, lnf_rstd;  // [B]
    std::vector<float> probs;      // [V]       sampling (stream_generate)
    std::vector<int> order;        // [V]       top-k candidates (stream_generate)
};

struct FamState {
    FamConfig cfg;
    int F = 0;                 // the FAM length in use (cfg.fam_len(): 0 for bswa and full)
    int C = 0;                 // key rows per layer, F + (M+1)*B (full: current length, grows)
    int64_t pos = 0;           // tokens consumed so far = the position of the next token
    int head = 0;              // ring slot of the current block, tau % (M+1)
    int len = 0;               // tokens of the current block so far, 0..B-1
    int nmem = 0;              // memory blocks present, min(tau, M)
    bool ready = false;        // stream_reset has run (or a state was loaded)
    std::vector<FamLayerState> layers;  // N
    BlockPlan plan;            // fam_block_mask for complete blocks tau = 0..M (prefill)
    StreamScratch s;

    FamState() = default;
    // Allocates every buffer for the config (validated). Call stream_reset before use.
    explicit FamState(const FamConfig& cfg);

    // Bytes held by all buffers (their capacity): constant for bswa
    // and fam however many tokens went through; grows for full.
    size_t capacity_bytes() const;
};

// A fresh sequence: the initial FAM of every layer by the prompt pass (App. B.1,
// the same function as model_forward), empty ring, position 0. Throws
// std::invalid_argument when w's config is not the state's.
void stream_reset(FamState& st, const ModelWeights& w);

// One token through every layer; logits [V] receives its next-token logits.
// When it completes a block, every layer's FAM is updated (Alg. 2 steps 6-8) and
// the ring turns. Throws std::invalid_argument on a token outside [0, V).
void stream_step(FamState& st, const ModelWeights& w, int token, float* logits);

// n tokens, a block at a time (cut at block boundaries, so the first chunk may
// finish a block that stream_step began). logits [n, V] (null: not wanted).
void stream_prefill(FamState& st, const ModelWeights& w, const int* tokens, int n, float* logits);

// The FAM of every layer now, [N, F, D]: after a stream of T tokens it equals
// model_forward's fam_final on them.
std::vector<float> stream_fam(const FamState& st);

// Next token from logits [V]: argmax when temperature == 0 (lowest id on ties),
// else a draw from softmax(logits / temperature) restricted to the top_k most
// likely ids (top_k = 0: all). Uses st's scratch; deterministic in rng.
int sample_next(FamState& st, const float* logits, float temperature, int top_k, Rng& rng);

// Prefill the prompt (n >= 1 tokens), then generate max_new tokens one by one
// into out [max_new], feeding each back with stream_step. Starts from st as it
// is (call stream_reset first for a fresh sequence).
void stream_generate(FamState& st, const ModelWeights& w, const int* prompt, int n, int max_new,
                     float temperature, int top_k, uint64_t seed, int* out);

// The ring slot (0..M) of the block `age` blocks before the current one (age 0 = the
// current block, in slot `head`; age 1..M its memory blocks). Block tau lives in slot
// tau % (M+1), so slots are reused in a circle and nothing is ever copied.
// (exercises/05_ring_slot)
int ring_slot(int head, int age, int M);

// ---- shared with the state file (src/app/state_file.h) ----------------------------
bool is_full(const FamConfig& c);                          // attention == full: no blocks
bool same_config(const FamConfig& a, const FamConfig& b);  // same model shape (B, M, F only if blocked)
void check_ready(const FamState& st, const ModelWeights& w);  // throws unless st fits w and is reset
// `full` only: make room for `rows` keys (doubling, so O(log T) allocations over a stream).
void grow_rows(std::vector<float>& v, size_t rows, int D);

// Peak resident memory of this process in bytes (VmHWM in /proc/self/status,
// else getrusage), for the streaming CLI and benchmark.
size_t peak_rss_bytes();
