// config.h: FamConfig, the hyperparameters of the reference model
// (docs/spec.md, "Symbols"; paper Section 2 and Table 3).
#pragma once

#include <cstdint>
#include <string>

// Which keys token rows see (docs/spec.md, "Which keys a token sees").
enum class AttentionKind { Full, Bswa, Fam };

struct FamConfig {
    int V = 0;              // vocabulary size
    int D = 0;              // model width
    int H = 1;              // heads; head width Dh = D / H (must be even for RoPE)
    int N = 1;              // layers
    int Dff = 0;            // feed-forward width
    AttentionKind attention = AttentionKind::Fam;
    int B = 1;              // block size (BSWA stride)
    int M = 0;              // memory segments: previous blocks each block attends to
    int F = 0;              // FAM length per layer (0 = no FAM)
    float rope_base = 10000.0f;

    int Dh() const { return D / H; }
    // The FAM length that is actually used: F for `fam`, 0 for `bswa` and `full`.
    int fam_len() const { return attention == AttentionKind::Fam ? F : 0; }
    // Throws std::invalid_argument naming the first impossible value
    // (e.g. "D = 10 is not divisible by H = 4"): each field within its range below
    // (kMax*), and every size the model computes in `int` for this config (key
    // columns C = M*B + F + B, C*D, H*(B+F)*C, V*D, Dff*D) at most INT_MAX.
    void validate() const;
    // One line, e.g. "fam V=32 D=64 H=4 N=2 Dff=256 B=16 M=0 F=8 rope_base=10000".
    std::string describe() const;
};

const char* attention_name(AttentionKind a);           // "full" | "bswa" | "fam"
AttentionKind parse_attention(const std::string& s);    // throws std::invalid_argument

// ---- limits (docs/robustness.md) ---------------------------------------------
// Upper bounds of the fields, far above anything this CPU code can train, low
// enough that sizes computed in 64-bit from them never overflow.
constexpr int kMaxVocab = 1 << 24;   // V
constexpr int kMaxWidth = 1 << 16;   // D, and H <= D
constexpr int kMaxLayers = 4096;     // N
constexpr int kMaxFf = 1 << 20;      // Dff
constexpr int kMaxBlock = 1 << 20;   // B
constexpr int kMaxMem = 1 << 20;     // M
constexpr int kMaxFam = 1 << 16;     // F
// Positions are float32 (RoPE): integers are exact up to 2^24, so one forward
// pass takes at most that many tokens (a stream may go further, with a warning).
constexpr int64_t kMaxTokens = 1 << 24;
// The default memory limit of the resource check: 4 GiB (override: --max-memory).
constexpr uint64_t kDefaultMemoryLimit = 4ull << 30;

// What a config asks for, computed in 64-bit (saturating at UINT64_MAX): bytes of
// the buffers the model would allocate, and multiply-adds per token.
struct ResourceUse {
    uint64_t weights = 0;   // the parameters, float32 (a gradient or an optimizer moment is as big again)
    uint64_t forward = 0;   // a blockwise forward over T tokens: ModelCache (caches for backward), plan masks
    uint64_t stream = 0;    // a FamState (constant for bswa and fam; full: after T tokens)
    uint64_t madds = 0;     // multiply-adds per token of a forward (projections, attention, FFN, head)
};
// T = tokens of one forward (or of a full-attention stream); T >= 1.
ResourceUse resource_use(const FamConfig& c, int64_t T);

// The process-wide memory limit (bytes) the checks below refuse above.
uint64_t memory_limit();
void set_memory_limit(uint64_t bytes);
// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(uint64_t bytes);

// Before a forward (and backward) over T tokens: T in [1, kMaxTokens], the int
// sizes T*D, T*V, T*Dff and (full attention) H*T*T at most INT_MAX, and weights +
// forward bytes (times `copies` of the caches, e.g. 2 for forward + backward, or the
// number of sequences run side by side) within memory_limit(). Throws
// std::invalid_argument with one line naming the quantity, its value and the limit.
void check_forward_resources(const FamConfig& c, int64_t T, int copies = 1);
// Before allocating the weights: their bytes within memory_limit().
void check_weights_resources(const FamConfig& c);
// Before a FamState: weights + stream bytes within memory_limit() (full: after T tokens).
void check_stream_resources(const FamConfig& c, int64_t T = 1);
