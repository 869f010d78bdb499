// text.h: language modelling on any file, one byte per token (the counterpart of
// the paper's long-context language modelling, Section 3 with PG-19).
//
// Tokenizer: byte-level, V = 256, token id = byte value (0..255), no special
// tokens. Any file is a token sequence, UTF-8 or binary; decoding is the bytes
// themselves. A checkpoint trained on text says so in its metadata:
//   task = "text", task.tokenizer = "bytes" (kByteTokenizer).
//
// The file is split once: the first (100 - val_percent)% of its bytes train,
// the last val_percent% are held out for validation. Training windows are
// contiguous slices of `window` + 1 bytes of the training part at random starts;
// every position carries the next-byte loss. Validation windows are consecutive
// slices of the held-out part, the same every time (no randomness).
//
// PassKey in real text (paper Section 3.2's PassKey, with corpus text as the
// filler instead of "The grass is green ..."):
//   The pass key is 71432. Remember it. 71432 is the pass key.<corpus text>
//   What is the pass key? The pass key is 71432
// scored on the key's digit bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor.h"
#include "weights.h"
#include "app/train.h"

constexpr int kByteVocab = 256;
constexpr const char* kByteTokenizer = "bytes";

// One token per byte: ids 0..255.
std::vector<int> text_to_tokens(const std::string& bytes);
// The bytes back (throws std::invalid_argument for an id outside 0..255).
std::string tokens_to_text(const std::vector<int>& ids);
// For terminals and reports: printable ASCII and newlines as they are, other
// bytes as \xNN (UTF-8 sequences are kept whole when they are valid).
std::string printable_text(const std::string& bytes);

// True when the checkpoint metadata says the model reads bytes (task.tokenizer).
bool is_text_model(const std::map<std::string, std::string>& metadata);

struct TextCorpus {
    std::string name;          // the file it came from (for messages)
    std::vector<int> tokens;   // [n] the whole file, one token per byte
    long n_train = 0;          // tokens [0, n_train) train, [n_train, n) validate
    double val_percent = 0;    // the held-out share, as given
    long size() const { return (long)tokens.size(); }
    long n_val() const { return size() - n_train; }
};

// The corpus from bytes in memory; val_percent in (0, 100). Throws
// std::invalid_argument (naming `name`) when either part is shorter than
// min_part tokens.
TextCorpus make_text_corpus(const std::string& bytes, double val_percent, const std::string& name,
                            long min_part = 64);
// The corpus from a file (throws naming the file if it cannot be read or is too short).
TextCorpus load_text_corpus(const std::string& path, double val_percent, long min_part = 64);

// Unigram entropy of tokens [from, to) in bits per byte: the loss (in bits) of
// the best model that ignores context. A trained model should fall well below it.
double unigram_entropy_bits(const std::vector<int>& tokens, long from, long to);

// Training windows: `window` tokens from a uniform random start inside the
// training part, each predicting the next byte (loss weight 1 everywhere).
class TextSource : public ExampleSource {
  public:
    TextSource(const TextCorpus& corpus, int window);
    TrainExample draw(Rng& rng, long step) const override;
    int vocab_size() const override { return kByteVocab; }

  private:
    const TextCorpus& corpus_;
    int window_;
};

// The starts of up to max_windows validation windows of `window` tokens (each
// with its next-byte targets), consecutive from the start of the held-out part.
std::vector<long> validation_starts(const TextCorpus& corpus, int window, int max_windows);

// Next-byte loss of a model over validation windows, overall and by position
// inside the window: bucket k covers positions [edges[k], edges[k+1]).
struct TextLoss {
    double loss = 0;                    // mean cross-entropy in nats per byte
    double bits_per_byte = 0;           // loss / ln 2
    double accuracy = 0;                // fraction of positions whose arg-max is the next byte
                                        // (the paper's PG-19 metric is next-token accuracy)
    long tokens = 0;                    // positions scored
    int windows = 0, window = 0;
    std::vector<int> edges;             // [nb + 1] bucket edges (positions)
    std::vector<double> bucket_loss;    // [nb] mean loss in nats per bucket
};
// Bucket edges 0, b, 2b, 4b, ... up to `window` (b = first_bucket): the far
// positions, where only a memory can help, get their own buckets.
std::vector<int> position_buckets(int window, int first_bucket);
TextLoss eval_text(const ModelWeights& w, const TextCorpus& corpus, int window, int max_windows,
                   const std::vector<int>& edges, int threads);

// PassKey in real text.
struct TextPasskey {
    std::vector<int> tokens;   // [T] prompt + answer digits
    std::string key;           // e.g. "71432"
    int answer_pos = 0;        // position of the answer's first digit
    int filler_len = 0;        // corpus bytes between the key sentence and the question
};
// `filler_len` bytes of held-out corpus text from a random start (the validation
// part: the model never trained on it) between the key and the question.
TextPasskey make_text_passkey(const TextCorpus& corpus, Rng& rng, int filler_len, int digits = 5);

struct TextPasskeyScore {
    double exact = 0;          // fraction with every digit the arg-max
    double digit = 0;          // fraction of answer digits right
    double answer_bits = 0;    // mean loss of the answer digits, bits per digit (chance: log2 10 = 3.32)
};
// Scores `samples` examples through the streaming path (constant memory), seeded.
TextPasskeyScore eval_text_passkey(const ModelWeights& w, const TextCorpus& corpus, int filler, int samples,
                                   uint64_t seed, int digits, int threads);
