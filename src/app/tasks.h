// tasks.h: the PassKey retrieval task in the paper's format (Section 3.2,
// Appendix D.1, Fig. 10), with a word-level tokenizer over a fixed small
// vocabulary in which every digit is a token of its own.
//
//   There is an important info hidden inside a lot of irrelevant text . Find it
//   and memorize them . I will quiz you about the important information there .
//   The pass key is 7 1 4 3 2 . Remember it . 7 1 4 3 2 is the pass key .
//   The grass is green . The sky is blue . The sun is yellow . Here we go .
//   There and back again . (filler, repeated, cut to exactly L tokens)
//   What is the pass key ? The pass key is 7 1 4 3 2
//
// The loss is on the answer digits; exact match means every answer digit is the
// arg-max of its position's logits (with teacher forcing this is the same as
// greedy decoding: each step's input is then the correct previous digit).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor.h"

struct Vocab {
    std::vector<std::string> words;  // id -> word
    std::map<std::string, int> ids;  // word -> id
    int size() const { return (int)words.size(); }
    int id(const std::string& word) const;  // throws std::invalid_argument for an unknown word
    std::vector<int> encode(const std::string& text) const;  // splits words, '.', '?' and digits
    std::string decode(const std::vector<int>& ids) const;
    std::string serialize() const;                 // words joined by ' ' (for checkpoint metadata)
    static Vocab deserialize(const std::string& s);
};

// The fixed vocabulary of the PassKey task (words of the prompt, '.', '?', 0-9).
Vocab passkey_vocab();

struct PasskeyExample {
    std::vector<int> tokens;     // [T] the whole prompt including the answer digits
    std::vector<int> targets;    // [T] next-token target where a loss applies, -1 elsewhere
    std::vector<float> weights;  // [T] loss weight per position (1 on answer digits)
    std::string key;             // e.g. "71432"
    int key_pos = 0;             // position of the key's first digit (first mention)
    int answer_pos = 0;          // position of the answer's first digit
    int filler_len = 0;          // filler tokens between the key sentence and the question
    int filler_pos = 0;          // position of the first filler token
};

// One example with `filler_len` filler tokens and a random key of `digits` digits
// (first digit nonzero). lm_weight > 0 adds next-token loss on every other position.
PasskeyExample make_passkey_example(const Vocab& v, Rng& rng, int filler_len, int digits = 5,
                                    float lm_weight = 0.0f);

// DEVIATION (for the --answer-cut training option, not in the paper):
// the filler length nearest to `filler` (moved by less than a block, kept in
// [fmin, fmax]) at which a block boundary of size B falls between two of the rows
// that predict the answer digits; `pick` (any int) chooses among the B-aligned
// places where that happens. With no memory segment (M = 0) the rows after such a
// boundary see their own block and the FAM only, so the FAM must carry how much
// of the answer has been given: the hardest place for the answer to be. Returns
// `filler` unchanged when the range is too narrow or the key has one digit.
int passkey_filler_cutting_answer(const Vocab& v, int filler, int pick, int B, int fmin, int fmax, int digits = 5);

// Exact match: the arg-max of logits [T, V] at every answer position is the key digit.
bool passkey_correct(const float* logits, int V, const PasskeyExample& ex);
// Digits predicted for the answer (arg-max at each answer position), e.g. "71482".
std::string passkey_prediction(const float* logits, int V, const PasskeyExample& ex);
