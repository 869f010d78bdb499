// naive.h: the readable forward path. For every query row it writes down the
// explicit list of keys the spec's table allows ("Which keys a token sees" in
// docs/spec.md) and attends over exactly those, one row at a
// time, in double precision; the FAM chain is walked block by block. Written
// for reading and for holding the fast path (src/model.h) to account, not for
// speed.
#pragma once

#include <vector>

#include "weights.h"

struct NaiveResult {
    std::vector<float> logits;     // [T, V]
    std::vector<float> fam_final;  // [N, F, D] the FAM after the last complete block
};

// pos_offset: the RPO offset added to every position (0 at inference).
NaiveResult naive_forward(const ModelWeights& w, const int* tokens, int T, float pos_offset = 0.0f);
