// config.cpp: see config.h.
#include "config.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <sstream>
#include <stdexcept>

static void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("config: " + what);
}

// 64-bit sizes that stop at UINT64_MAX instead of wrapping: a product of
// hostile fields compares as "too big", never as a small wrapped number.
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
    return a * b;
}
static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
static uint64_t mul3(uint64_t a, uint64_t b, uint64_t c) { return sat_mul(sat_mul(a, b), c); }

static void require_range(const char* what, long long v, long long lo, long long hi) {
    require(v >= lo && v <= hi, std::string(what) + " must be in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "], got " + std::to_string(v));
}

// A size the model computes in `int`: refuse it before it can overflow.
static void require_int(const std::string& what, uint64_t v) {
    require(v <= (uint64_t)INT_MAX, what + " = " + (v == UINT64_MAX ? std::string("more than 2^64") : std::to_string(v)) +
                                        " is over the limit " + std::to_string(INT_MAX) +
                                        " (the model indexes with int); use smaller sizes");
}

void FamConfig::validate() const {
    require_range("vocabulary size V", V, 1, kMaxVocab);
    require_range("model width D", D, 1, kMaxWidth);
    require_range("heads H", H, 1, D);
    require(D % H == 0, "D = " + std::to_string(D) + " is not divisible by H = " + std::to_string(H));
    require(Dh() % 2 == 0, "head width Dh = D/H = " + std::to_string(Dh()) +
                               " must be even (RoPE rotates pairs)");
    require_range("layers N", N, 1, kMaxLayers);
    require_range("feed-forward width Dff", Dff, 1, kMaxFf);
    require(rope_base > 0.0f && rope_base <= 1e30f, "rope_base must be in (0, 1e30], got " + std::to_string(rope_base));
    if (attention != AttentionKind::Full) {
        require_range("block size B", B, 1, kMaxBlock);
        require_range("memory segments M", M, 0, kMaxMem);
        require_range("FAM length F", F, 0, kMaxFam);
    }
    if (attention == AttentionKind::Bswa)
        require(F == 0, "bswa has no FAM: F must be 0, got " + std::to_string(F) +
                            " (use attention fam for a FAM)");
    require_int("V*D (embedding and head size)", sat_mul(V, D));
    require_int("Dff*D (feed-forward matrix size)", sat_mul(Dff, D));
    if (attention != AttentionKind::Full) {
        // key columns of a block [M*B memory | F FAM | B block], and what is sized by them
        const uint64_t f = (uint64_t)fam_len(), C = sat_add(sat_mul(M, B), f + B);
        require_int("key columns C = M*B + F + B (B=" + std::to_string(B) + ", M=" + std::to_string(M) + ")", C);
        require_int("C*D (keys per layer, C = M*B + F + B)", sat_mul(C, D));
        require_int("H*(B+F)*C (attention weights of a block)", mul3(H, B + f, C));
    }
}

// ---- resources ----------------------------------------------------------------------

static uint64_t g_memory_limit = kDefaultMemoryLimit;
uint64_t memory_limit() { return g_memory_limit; }
void set_memory_limit(uint64_t bytes) { g_memory_limit = bytes; }

std::string format_bytes(uint64_t b) {
    char buf[64];
    if (b == UINT64_MAX) return "more than 16 EiB";
    if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
    else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
    else if (b >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
    return buf;
}

// Floats of the caches for R rows: QkvCache (x, xn, q, k, v + 3 per row) and
// OutCache (att, a, an + 2 per row + h, g of width Dff).
static uint64_t qkv_floats(uint64_t R, uint64_t D) { return sat_add(sat_mul(5 * R, D), 3 * R); }
static uint64_t out_floats(uint64_t R, uint64_t D, uint64_t Dff) {
    return sat_add(sat_add(sat_mul(3 * R, D), 2 * R), sat_mul(2 * R, Dff));
}
// A Mask of rows x cols: one byte per cell and about 64 bytes of labels per row/column.
static uint64_t mask_bytes(uint64_t rows, uint64_t cols) {
    return sat_add(sat_mul(rows, cols), sat_mul(64, rows + cols));
}

ResourceUse resource_use(const FamConfig& c, int64_t T_) {
    ResourceUse r;
    const uint64_t T = T_ < 1 ? 1 : (uint64_t)T_;
    const uint64_t V = c.V, D = c.D, H = c.H, N = c.N, Dff = c.Dff;
    const bool full = c.attention == AttentionKind::Full;
    const uint64_t F = full ? 0 : (uint64_t)c.fam_len(), B = full ? T : (uint64_t)c.B, M = full ? 0 : (uint64_t)c.M;
    const uint64_t C = sat_add(sat_mul(M, B), F + B);  // key columns of a block
    const uint64_t nb = (T + B - 1) / B;               // blocks of the sequence
    const uint64_t L = std::min(B, T);                 // rows of a block (a short sequence: one partial block)

    // weights: tok_emb, fam_prompt, N layers (4 D*D + 4 D + 2 Dff*D), ln_f, lm_head
    uint64_t layer = sat_add(sat_mul(4 * D, D), sat_add(4 * D, sat_mul(2 * Dff, D)));
    r.weights = sat_mul(4, sat_add(sat_add(sat_mul(2 * V, D), sat_mul(F, D)), sat_add(sat_mul(N, layer), 2 * D)));

    // forward: per layer the token rows' caches and one BlockCache per block
    uint64_t per_block = qkv_floats(F, D);                                  // F_tau through QKV
    per_block = sat_add(per_block, sat_mul(2 * C, D));                      // K^, V^ [C, D]
    per_block = sat_add(per_block, mul3(H, L, C));                          // P [H, len, C]
    if (F > 0 && T >= B)                                                   // the FAM update of a complete block
        per_block = sat_add(per_block, sat_add(sat_add(sat_mul(3 * F, D), sat_mul(2 * (F + B), D)),
                                               sat_add(mul3(H, F, F + B), out_floats(F, D, Dff))));
    uint64_t per_layer = sat_add(qkv_floats(T, D), sat_add(sat_mul(T, D), out_floats(T, D, Dff)));
    per_layer = sat_add(per_layer, sat_mul(nb, per_block));
    uint64_t fwd = sat_add(sat_mul(N, per_layer), sat_mul(N + 2, sat_mul(T, D)));  // layers, xs, xf
    fwd = sat_add(fwd, sat_add(sat_mul(2 * T, V), 4 * T));                       // logits, probs, LN_f, losses
    fwd = sat_add(fwd, sat_mul(N, sat_add(sat_add(qkv_floats(F, D), out_floats(F, D, Dff)), mul3(H, F, F))));  // prompt
    const uint64_t nmasks = std::min<uint64_t>(nb, M + 2);
    r.forward = sat_add(sat_mul(4, fwd), sat_mul(nmasks, mask_bytes(L + F, C)));

    // stream: per layer the FAM and the key/value ring [C, D]; scratch for a block
    const uint64_t Cs = full ? T : sat_add(sat_mul(M + 1, B), F);
    const uint64_t Rb = full ? 64 : B;
    uint64_t st = sat_mul(N, sat_add(sat_mul(2 * F, D) + F, sat_mul(2 * Cs, D)));
    st = sat_add(st, sat_add(sat_mul(2 * Cs, D), mul3(H, Rb, Cs)));  // s.k, s.v, s.P
    st = sat_add(st, sat_add(qkv_floats(Rb, D), sat_add(qkv_floats(F, D), out_floats(Rb, D, Dff))));
    st = sat_add(st, sat_add(sat_mul(6 * Rb, D), 2 * V));
    r.stream = sat_add(sat_mul(4, st), sat_mul(Rb, Cs));  // + the row mask
    if (!full) r.stream = sat_add(r.stream, sat_mul(M + 1, mask_bytes(B + F, C)));  // the plan's masks

    // multiply-adds per token: QKV + Wo (4 D^2), FFN (2 D Dff), attention over C keys (2 C D), head (V D)
    r.madds = sat_add(sat_mul(N, sat_add(sat_add(sat_mul(4 * D, D), sat_mul(2 * D, Dff)), sat_mul(2 * C, D))),
                      sat_mul(V, D));
    return r;
}

static void require_memory(const std::string& what, uint64_t bytes) {
    if (bytes <= g_memory_limit) return;
    throw std::invalid_argument("resources: " + what + " needs " + format_bytes(bytes) + ", over the memory limit of " +
                                format_bytes(g_memory_limit) + " (raise it with --max-memory BYTES, e.g. 8G)");
}

void check_forward_resources(const FamConfig& c, int64_t T, int copies) {
    c.validate();
    if (T < 1 || T > kMaxTokens)
        throw std::invalid_argument("resources: a forward pass takes 1.." + std::to_string(kMaxTokens) +
                                    " tokens (positions are float32, exact up to 2^24), got " + std::to_string(T));
    require_int("T*D (tokens x width)", sat_mul(T, c.D));
    require_int("T*V (logits)", sat_mul(T, c.V));
    require_int("T*Dff (feed-forward activations)", sat_mul(T, c.Dff));
    if (c.attention == AttentionKind::Full) require_int("H*T*T (full attention weights)", mul3(c.H, T, T));
    const ResourceUse r = resource_use(c, T);
    require_memory("a forward over T=" + std::to_string(T) + " tokens of '" + c.describe() + "' (weights " +
                       format_bytes(r.weights) + ", caches " + format_bytes(r.forward) +
                       (copies > 1 ? " x " + std::to_string(copies) : "") + ")",
                   sat_add(r.weights, sat_mul(r.forward, copies < 1 ? 1 : copies)));
}

void check_weights_resources(const FamConfig& c) {
    c.validate();
    require_memory("the weights of '" + c.describe() + "'", resource_use(c, 1).weights);
}

void check_stream_resources(const FamConfig& c, int64_t T) {
    c.validate();
    const ResourceUse r = resource_use(c, T);
    require_memory("a stream state of '" + c.describe() + "' (weights " + format_bytes(r.weights) + ", state " +
                       format_bytes(r.stream) + ")",
                   sat_add(r.weights, r.stream));
}

std::string FamConfig::describe() const {
    std::ostringstream os;
    os << attention_name(attention) << " V=" << V << " D=" << D << " H=" << H << " N=" << N
       << " Dff=" << Dff;
    if (attention != AttentionKind::Full) os << " B=" << B << " M=" << M;
    if (attention == AttentionKind::Fam) os << " F=" << F;
    os << " rope_base=" << rope_base;
    return os.str();
}

const char* attention_name(AttentionKind a) {
    switch (a) {
        case AttentionKind::Full: return "full";
        case AttentionKind::Bswa: return "bswa";
        case AttentionKind::Fam: return "fam";
    }
    return "?";
}

AttentionKind parse_attention(const std::string& s) {
    if (s == "full") return AttentionKind::Full;
    if (s == "bswa") return AttentionKind::Bswa;
    if (s == "fam") return AttentionKind::Fam;
    throw std::invalid_argument("attention must be full, bswa or fam, got '" + s + "'");
}
