// convert.h: retrofitting FAM onto a trained BSWA model ("TransformerFAM
// requires no additional weights", paper abstract and Section 2.2; the paper
// turns pretrained checkpoints into TransformerFAM and fine-tunes them, Section
// 3.1, with the initial FAM learned like a soft prompt, App. B.1).
//
// Every parameter of the BSWA model is carried over bit for bit: the FAM rows go
// through each layer's own LN1, Wq, Wk, Wv, Wo, LN2 and FFN (docs/spec.md, "The
// FAM"), so the only new tensor is `fam_prompt` [F, D]. It starts as a fresh
// model's does (init_weights: N(0, 1) entries, from `seed`); the fine-tune learns it.
#pragma once

#include <cstdint>

#include "weights.h"

// The FAM model: bswa's config with attention fam and F rows, bswa's weights, and
// a fresh fam_prompt. Throws std::invalid_argument for a model that is not bswa
// (already fam, or full attention) and for F <= 0.
ModelWeights convert_bswa_to_fam(const ModelWeights& bswa, int F, uint64_t seed);
