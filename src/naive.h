// naive.h: the readable path. One block of one layer is one function,
// fam_block_readable, that reads Algorithm 2 (paper Section 2.2) top to bottom,
// steps 1 to 8, with the paper's line above the code: for every token row it
// writes down the explicit list of keys the spec allows (docs/spec.md, "Which
// keys a token sees") and attends over exactly those, one row at a time, with
// the attention sums in double precision. The FAM update (steps 6-8) is the same
// function every path calls (src/fam_update.h). Written for reading and for
// holding the fast blockwise path (src/model.h) to account, not for speed.
#pragma once

#include <vector>

#include "fam_update.h"
#include "weights.h"

// What Algorithm 2 returns for one block (and what the next blocks need).
struct ReadableBlock {
    std::vector<float> O;            // [len, D] O_tau, the block's output rows
    std::vector<float> K, V;         // [len, D] K_tau (after RoPE), V_tau: memory for later blocks
    std::vector<float> fam_out;      // [F, D]   F_{tau+1} (empty if the block was partial or F = 0)
    std::vector<float> fam_out_pos;  // [F]      its positions
};

// Xformer_FAM(I_tau, K_mem, V_mem, F_tau) -> (O_tau, F_{tau+1}) for block tau (from 0)
// of one layer; Algorithm 1 (BSWA) when F = 0.
//   I [len, D]             the block's input rows; token t0+i sits at position t0+i+pos_offset
//   K_mem, V_mem [n_mem, D] the keys (after RoPE) and values of the memory blocks, oldest first
//   fam_in                 F_tau, its positions, fresh or not (ignored when F = 0)
// The FAM is updated only when the block is complete (len == B) and F > 0.
ReadableBlock fam_block_readable(const float* I, int t0, int len, const float* K_mem,
                                 const float* V_mem, int n_mem, const FamIn& fam_in,
                                 float pos_offset, const LayerWeights& w, const FamConfig& cfg);

struct NaiveResult {
    std::vector<float> logits;     // [T, V]
    std::vector<float> fam_final;  // [N, F, D] the FAM after the last complete block
};

// The whole model the readable way: embedding, the prompt pass (App. B.1), then
// for every layer fam_block_readable block after block, then LN_f and the head.
// `full` attention is one block of T tokens with no memory and no FAM.
// pos_offset: the RPO offset added to every position (0 at inference).
NaiveResult naive_forward(const ModelWeights& w, const int* tokens, int T, float pos_offset = 0.0f);
