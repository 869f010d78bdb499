// fam_state.cpp: see fam_state.h. Paper Section 1 and Appendix D.4 (O(1)
// memory inference), Section 2.1 (the KV ring buffer of BSWA), Algorithm 2
// (the FAM step of a block); docs/spec.md, "The FAM".
#include "fam_state.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "attention.h"
#include "model.h"
#include "ops.h"

// `full` has no block to cut a prefill at: it goes through in chunks of this many rows.
static const int kFullChunk = 64;

bool is_full(const FamConfig& c) { return c.attention == AttentionKind::Full; }

static void presize_qkv(QkvCache& c, int R, int D, int Dh) {
    // qkv_forward only grows its buffers: sizing them now means it never allocates
    for (auto* v : {&c.x, &c.xn, &c.q, &c.k, &c.v}) v->resize((size_t)R * D);
    for (auto* v : {&c.ln1_mean, &c.ln1_rstd, &c.pos}) v->resize(R);
    c.rope.reserve(R, Dh);
}
static void presize_out(OutCache& c, int R, int D, int Dff) {
    for (auto* v : {&c.att, &c.a, &c.an}) v->resize((size_t)R * D);
    for (auto* v : {&c.ln2_mean, &c.ln2_rstd}) v->resize(R);
    for (auto* v : {&c.h, &c.g}) v->resize((size_t)R * Dff);
}
static void presize_fam_update(FamUpdateCache& c, int F, int B, int D, int H, int Dff) {
    // fam_update only grows its buffers: sized now, it never allocates
    c.q.resize((size_t)F * D);
    c.k.resize((size_t)(F + B) * D);
    c.v.resize((size_t)(F + B) * D);
    c.P.resize((size_t)H * F * (F + B));
    c.att.resize((size_t)F * D);
    presize_out(c.out, F, D, Dff);
}

FamState::FamState(const FamConfig& c) : cfg(c) {
    cfg.validate();
    const int D = cfg.D, H = cfg.H, N = cfg.N;
    F = cfg.fam_len();
    layers.resize(N);
    // token rows in flight per call: one block (full: one chunk)
    const int Rb = is_full(cfg) ? kFullChunk : cfg.B;
    if (!is_full(cfg)) {
        C = F + (cfg.M + 1) * cfg.B;
        for (FamLayerState& L : layers) {
            L.fam.assign((size_t)F * D, 0.0f);
            L.fam_pos.assign(F, 0.0f);
            L.q_fam.assign((size_t)F * D, 0.0f);
            L.k.assign((size_t)C * D, 0.0f);
            L.v.assign((size_t)C * D, 0.0f);
        }
        // the masks of complete blocks tau = 0..M (tau >= M looks like tau = M), as fam_layer uses
        plan = make_block_plan(cfg, (cfg.M + 1) * cfg.B);
        s.k.assign((size_t)C * D, 0.0f);
        s.v.assign((size_t)C * D, 0.0f);
        s.P.assign((size_t)H * Rb * C, 0.0f);
        s.mask.assign((size_t)Rb * C, 0);
    }
    s.x.assign((size_t)Rb * D, 0.0f);
    s.x_next.assign((size_t)Rb * D, 0.0f);
    s.pos.assign(Rb, 0.0f);
    presize_qkv(s.qkv, Rb, D, cfg.Dh());
    presize_qkv(s.qkv_fam, F, D, cfg.Dh());
    presize_out(s.out, Rb, D, cfg.Dff);
    presize_fam_update(s.upd, F, cfg.B, D, H, cfg.Dff);
    s.att.assign((size_t)Rb * D, 0.0f);
    s.fam_new.assign((size_t)F * D, 0.0f);
    s.fam_new_pos.assign(F, 0.0f);
    s.xf.assign((size_t)Rb * D, 0.0f);
    s.lnf_mean.assign(Rb, 0.0f);
    s.lnf_rstd.assign(Rb, 0.0f);
    s.probs.assign(cfg.V, 0.0f);
    s.order.assign(cfg.V, 0);
}

template <class T>
static size_t cap(const std::vector<T>& v) {
    return v.capacity() * sizeof(T);
}

size_t FamState::capacity_bytes() const {
    size_t n = 0;
    for (const FamLayerState& L : layers) n += cap(L.fam) + cap(L.fam_pos) + cap(L.q_fam) + cap(L.k) + cap(L.v);
    for (const QkvCache* c : {&s.qkv, &s.qkv_fam})
        n += cap(c->x) + cap(c->ln1_mean) + cap(c->ln1_rstd) + cap(c->xn) + cap(c->q) + cap(c->k) +
             cap(c->v) + cap(c->pos) + cap(c->rope.pos) + cap(c->rope.cos) + cap(c->rope.sin);
    for (const OutCache* c : {&s.out, &s.upd.out})
        n += cap(c->att) + cap(c->a) + cap(c->ln2_mean) + cap(c->ln2_rstd) + cap(c->an) + cap(c->h) + cap(c->g);
    n += cap(s.upd.q) + cap(s.upd.k) + cap(s.upd.v) + cap(s.upd.P) + cap(s.upd.att);
    n += cap(s.x) + cap(s.x_next) + cap(s.pos) + cap(s.k) + cap(s.v) + cap(s.att) + cap(s.P) +
         cap(s.mask) + cap(s.fam_new) + cap(s.fam_new_pos) + cap(s.xf) + cap(s.lnf_mean) + cap(s.lnf_rstd) + cap(s.probs) +
         cap(s.order);
    for (const Mask& m : plan.masks) n += cap(m.m);
    return n;
}

// ---- checks -------------------------------------------------------------------

bool same_config(const FamConfig& a, const FamConfig& b) {
    bool same = a.V == b.V && a.D == b.D && a.H == b.H && a.N == b.N && a.Dff == b.Dff &&
                a.attention == b.attention && a.rope_base == b.rope_base;
    if (!is_full(a)) same = same && a.B == b.B && a.M == b.M && a.fam_len() == b.fam_len();
    return same;
}

static void check_model(const FamState& st, const ModelWeights& w) {
    if (!same_config(st.cfg, w.cfg))
        throw std::invalid_argument("stream state was allocated for '" + st.cfg.describe() +
                                    "' but the model is '" + w.cfg.describe() + "'");
}

void check_ready(const FamState& st, const ModelWeights& w) {
    check_model(st, w);
    if (!st.ready) throw std::invalid_argument("stream state used before stream_reset (or a load)");
}

static void check_token(const FamState& st, int token, int64_t pos) {
    if (token < 0 || token >= st.cfg.V)
        throw std::invalid_argument("token id " + std::to_string(token) + " at position " +
                                    std::to_string(pos) + " is outside the vocabulary [0, " +
                                    std::to_string(st.cfg.V) + ")");
}

// ---- the pieces of a step -----------------------------------------------------

// [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_tau)): done once per block, when
// the FAM enters it; K^F, V^F go to rows 0..F-1 of the layer's key/value buffer.
static void project_fam(FamState& st, int l, const ModelWeights& w) {
    FamLayerState& L = st.layers[l];
    const size_t FD = (size_t)st.F * st.cfg.D;
    if (st.F == 0) return;
    qkv_forward(st.s.qkv_fam, L.fam.data(), L.fam_pos.data(), st.F, w.layers[l], st.cfg);
    std::memcpy(L.q_fam.data(), st.s.qkv_fam.q.data(), sizeof(float) * FD);
    std::memcpy(L.k.data(), st.s.qkv_fam.k.data(), sizeof(float) * FD);
    std::memcpy(L.v.data(), st.s.qkv_fam.v.data(), sizeof(float) * FD);
}

// logits [n, V] = LN_f(x) W_out^T for the n rows in flight (token rows only).
static void head_forward(FamState& st, const ModelWeights& w, int n, float* logits) {
    if (!logits) return;
    const int D = st.cfg.D;
    layernorm_forward(st.s.xf.data(), st.s.lnf_mean.data(), st.s.lnf_rstd.data(), st.s.x.data(), w.lnf_g,
                      w.lnf_b, n, D);
    linear_forward(logits, st.s.xf.data(), w.lm_head, n, D, st.cfg.V);
}

int ring_slot(int head, int age, int M) {
    const int S = M + 1;  // the ring holds the current block and M memory blocks
    return ((head - age) % S + S) % S;
}

// Ring slot of the block `age` blocks before the current one (age 0 = current).
static int slot_of(const FamState& st, int age) { return ring_slot(st.head, age, st.cfg.M); }

// [Alg.2 steps 6-8] the FAM update of layer l once its block (tokens t0..t0+B-1)
// is complete, on the ring buffer as it stands: F_{tau+1} from F_tau (rows 0..F-1
// of the key/value buffer hold K^F, V^F) and the B keys of the current slot.
static void compress_block(FamState& st, int l, const ModelWeights& w, int64_t t0) {
    FamLayerState& L = st.layers[l];
    StreamScratch& s = st.s;
    const int D = st.cfg.D, B = st.cfg.B, F = st.F;
    const size_t cur = (size_t)F + (size_t)st.head * B;  // the current slot's first key row
    fam_update(s.fam_new.data(), s.fam_new_pos.data(), s.upd, FamIn{L.fam.data(), L.fam_pos.data(), L.fresh},
               L.q_fam.data(), L.k.data(), L.v.data(), &L.k[cur * D], &L.v[cur * D], t0, 0.0f,
               w.layers[l], st.cfg);
    std::memcpy(L.fam.data(), s.fam_new.data(), sizeof(float) * F * D);
    std::memcpy(L.fam_pos.data(), s.fam_new_pos.data(), sizeof(float) * F);
    L.fresh = false;
    // [Alg.2 step 2] for block tau+1: project the new FAM once
    project_fam(st, l, w);
}

// The block is complete: the ring turns. The oldest memory slot becomes the new
// current block (its keys stay until overwritten; the masks never select them).
static void rotate(FamState& st) {
    st.head = (st.head + 1) % (st.cfg.M + 1);
    st.nmem = std::min(st.nmem + 1, st.cfg.M);
    st.len = 0;
}

// `full` only: make room for `rows` keys. The one place a state grows, on
// purpose: full attention is the O(T)-memory baseline the paper compares
// against (App. D.4). Doubling keeps it to O(log T) allocations over a stream.
void grow_rows(std::vector<float>& v, size_t rows, int D) {
    size_t need = rows * D;
    if (v.capacity() < need) v.reserve(std::max(need, 2 * v.capacity()));
    if (v.size() < need) v.resize(need);
}
template <class T>
static void grow_to(std::vector<T>& v, size_t n) {
    if (v.capacity() < n) v.reserve(std::max(n, 2 * v.capacity()));
    if (v.size() < n) v.resize(n);
}

// ---- reset ------------------------------------------------------------------------

void stream_reset(FamState& st, const ModelWeights& w) {
    check_model(st, w);
    const int N = st.cfg.N, D = st.cfg.D, F = st.F;
    // [App. B.1] the initial FAM of every layer: the prompt pass, exactly as model_forward
    std::vector<float> fam0 = initial_fam(w);
    for (int l = 0; l < N; l++) {
        FamLayerState& L = st.layers[l];
        std::copy(fam0.begin() + (size_t)l * F * D, fam0.begin() + (size_t)(l + 1) * F * D, L.fam.begin());
        // DEVIATION: positions -F..-1 for the initial FAM, as model_forward (the paper gives none)
        for (int j = 0; j < F; j++) L.fam_pos[j] = (float)(j - F);
        L.fresh = true;
        if (is_full(st.cfg)) {
            L.k.clear();  // keeps the capacity
            L.v.clear();
        } else {
            std::fill(L.k.begin(), L.k.end(), 0.0f);
            std::fill(L.v.begin(), L.v.end(), 0.0f);
        }
    }
    if (is_full(st.cfg)) st.C = 0;
    st.pos = 0;
    st.head = st.len = st.nmem = 0;
    for (int l = 0; l < N; l++) project_fam(st, l, w);  // [Alg.2 step 2] for block 0
    st.ready = true;
}

// ---- one token ----------------------------------------------------------------------

static void step_full(FamState& st, const ModelWeights& w, int token, float* logits) {
    StreamScratch& s = st.s;
    const FamConfig& cfg = st.cfg;
    const int D = cfg.D, H = cfg.H;
    const int C = (int)st.pos + 1;  // keys 0..t: the whole past, causal by construction
    grow_to(s.P, (size_t)H * C);
    const float p = (float)st.pos;
    embedding_forward(s.x.data(), &token, w.tok_emb, 1, D, cfg.V);
    for (int l = 0; l < cfg.N; l++) {
        FamLayerState& L = st.layers[l];
        qkv_forward(s.qkv, s.x.data(), &p, 1, w.layers[l], cfg);
        grow_rows(L.k, C, D);
        grow_rows(L.v, C, D);
        std::memcpy(&L.k[(size_t)st.pos * D], s.qkv.k.data(), sizeof(float) * D);
        std::memcpy(&L.v[(size_t)st.pos * D], s.qkv.v.data(), sizeof(float) * D);
        attention_forward(s.att.data(), s.P.data(), s.qkv.q.data(), L.k.data(), L.v.data(), nullptr, 1, C, D, H);
        out_forward(s.x_next.data(), s.out, s.x.data(), s.att.data(), 1, w.layers[l], cfg);
        std::swap(s.x, s.x_next);
    }
    st.C = C;
    head_forward(st, w, 1, logits);
    st.pos++;
}

void stream_step(FamState& st, const ModelWeights& w, int token, float* logits) {
    check_ready(st, w);
    check_token(st, token, st.pos);
    if (is_full(st.cfg)) return step_full(st, w, token, logits);
    StreamScratch& s = st.s;
    const FamConfig& cfg = st.cfg;
    const int D = cfg.D, H = cfg.H, B = cfg.B, F = st.F, C = st.C;
    const float p = (float)st.pos;  // the token's position t (RPO offset 0 at inference)

    // Which keys token t (row `len` of block tau) sees, in the buffer's order: the F
    // FAM keys, the memory slots that exist (whole), its own slot up to itself.
    // Keys come in another order than the blockwise path's [memory | FAM | block];
    // softmax does not care, up to float rounding.
    uint8_t* m = s.mask.data();
    std::memset(m, 1, F);
    for (int age = 0; age <= cfg.M; age++) {
        uint8_t* slot = m + F + (size_t)slot_of(st, age) * B;
        if (age == 0) {
            std::memset(slot, 1, st.len + 1);
            std::memset(slot + st.len + 1, 0, B - st.len - 1);
        } else {
            std::memset(slot, age <= st.nmem ? 1 : 0, B);
        }
    }

    // h = tok_emb[token]
    embedding_forward(s.x.data(), &token, w.tok_emb, 1, D, cfg.V);
    const size_t row = (size_t)F + (size_t)st.head * B + st.len;  // the token's key row
    for (int l = 0; l < cfg.N; l++) {
        FamLayerState& L = st.layers[l];
        // [Alg.2 step 1] q, k, v <- QKV(PreLN(i_t)), RoPE at t; k, v join the ring
        qkv_forward(s.qkv, s.x.data(), &p, 1, w.layers[l], cfg);
        std::memcpy(&L.k[row * D], s.qkv.k.data(), sizeof(float) * D);
        std::memcpy(&L.v[row * D], s.qkv.v.data(), sizeof(float) * D);
        // [Alg.2 step 3] K^_t <- Concat(K_mem, K^F, K_{tau,:t}) (the mask row above)
        // [Alg.2 step 4] a_t <- SelfAttention(q_t, K^_t, V^_t) + i_t
        attention_forward(s.att.data(), s.P.data(), s.qkv.q.data(), L.k.data(), L.v.data(), m, 1, C, D, H);
        // [Alg.2 step 4-5] A = i_t + att Wo^T; o_t <- FF(PreLN(A)) + A
        out_forward(s.x_next.data(), s.out, s.x.data(), s.att.data(), 1, w.layers[l], cfg);
        std::swap(s.x, s.x_next);  // o_t enters the next layer
    }
    head_forward(st, w, 1, logits);
    st.pos++;
    st.len++;
    if (st.len == B) {
        // The block is complete: every layer compresses it into its next FAM
        // (layer l's FAM needs only layer l's keys, all in the ring now)...
        for (int l = 0; l < cfg.N && F > 0; l++) compress_block(st, l, w, st.pos - B);
        // ...and the ring turns.
        rotate(st);
    }
}

// ---- a block at a time ------------------------------------------------------------

// n rows of the current block (n <= B - len) with the blockwise machinery of
// fam_layer.cpp: one gemm per projection, keys gathered in block order
// [memory | FAM | block], one attention call under fam_block_mask, and the FAM
// rows riding in the same call when the chunk completes the block.
static void prefill_block(FamState& st, const ModelWeights& w, const int* tokens, int n, float* logits) {
    StreamScratch& s = st.s;
    const FamConfig& cfg = st.cfg;
    const int D = cfg.D, H = cfg.H, B = cfg.B, M = cfg.M, F = st.F, C = st.C;
    const int i0 = st.len;                 // first row of the chunk inside the block
    const bool complete = i0 + n == B;
    const bool update = complete && F > 0;
    const int64_t tau = st.pos / B;
    // Rows [B block rows; F FAM rows] x cols [M*B memory | F FAM | B block] of the
    // complete-block mask; block row i sees only block keys 0..i, so rows i0..i0+n-1
    // of it serve a chunk that starts mid-block.
    const Mask& mask = st.plan.mask((int)std::min<int64_t>(tau, M));
    const uint8_t* mrows = mask.m.data() + (size_t)i0 * mask.cols;

    for (int i = 0; i < n; i++) s.pos[i] = (float)(st.pos + i);
    embedding_forward(s.x.data(), tokens, w.tok_emb, n, D, cfg.V);
    const size_t cur = (size_t)F + (size_t)st.head * B;  // the current slot's first key row
    for (int l = 0; l < cfg.N; l++) {
        FamLayerState& L = st.layers[l];
        // [Alg.2 step 1] Q, K, V <- QKV(PreLN(I)): the chunk's rows in one gemm each
        qkv_forward(s.qkv, s.x.data(), s.pos.data(), n, w.layers[l], cfg);
        std::memcpy(&L.k[(cur + i0) * D], s.qkv.k.data(), sizeof(float) * n * D);
        std::memcpy(&L.v[(cur + i0) * D], s.qkv.v.data(), sizeof(float) * n * D);
        // [Alg.2 step 3] K^ <- Concat(K_mem, K^F, K_tau) in block order: memory block
        // tau-M+i in rows i*B.. (blocks before 0 are absent: the mask never selects
        // their rows, which keep whatever they held)
        for (int i = M - st.nmem; i < M; i++) {
            size_t src = (size_t)F + (size_t)slot_of(st, M - i) * B;
            std::memcpy(&s.k[(size_t)st.plan.mem_col(i) * D], &L.k[src * D], sizeof(float) * B * D);
            std::memcpy(&s.v[(size_t)st.plan.mem_col(i) * D], &L.v[src * D], sizeof(float) * B * D);
        }
        std::memcpy(&s.k[(size_t)st.plan.fam_col() * D], L.k.data(), sizeof(float) * F * D);
        std::memcpy(&s.v[(size_t)st.plan.fam_col() * D], L.v.data(), sizeof(float) * F * D);
        std::memcpy(&s.k[(size_t)st.plan.blk_col() * D], &L.k[cur * D], sizeof(float) * (i0 + n) * D);
        std::memcpy(&s.v[(size_t)st.plan.blk_col() * D], &L.v[cur * D], sizeof(float) * (i0 + n) * D);
        // [Alg.2 step 4] a_t <- SelfAttention(q_t, K^_t, V^_t) + i_t: one softmax per block
        // row over the memory, the FAM and its causal prefix (the mask rows i0..)
        attention_forward(s.att.data(), s.P.data(), s.qkv.q.data(), s.k.data(), s.v.data(), mrows, n, C, D, H);
        // [Alg.2 step 5] O <- FF(PreLN(A)) + A, A = I + att Wo^T
        out_forward(s.x_next.data(), s.out, s.x.data(), s.att.data(), n, w.layers[l], cfg);
        // [Alg.2 steps 6-8] the chunk completes the block: F_{tau+1} <- the FAM update
        if (update) compress_block(st, l, w, tau * B);
        std::swap(s.x, s.x_next);
    }
    head_forward(st, w, n, logits);
    st.pos += n;
    st.len += n;
    if (complete) rotate(st);
}

// `full`: n <= kFullChunk rows attend causally to the whole growing cache.
static void prefill_full(FamState& st, const ModelWeights& w, const int* tokens, int n, float* logits) {
    StreamScratch& s = st.s;
    const FamConfig& cfg = st.cfg;
    const int D = cfg.D, H = cfg.H;
    const int64_t t0 = st.pos;
    const int C = (int)t0 + n;
    grow_to(s.P, (size_t)H * n * C);
    grow_to(s.mask, (size_t)n * C);
    for (int i = 0; i < n; i++) {  // causal: row t0+i sees keys 0..t0+i
        s.pos[i] = (float)(t0 + i);
        std::memset(&s.mask[(size_t)i * C], 1, t0 + i + 1);
        std::memset(&s.mask[(size_t)i * C + t0 + i + 1], 0, n - i - 1);
    }
    embedding_forward(s.x.data(), tokens, w.tok_emb, n, D, cfg.V);
    for (int l = 0; l < cfg.N; l++) {
        FamLayerState& L = st.layers[l];
        qkv_forward(s.qkv, s.x.data(), s.pos.data(), n, w.layers[l], cfg);
        grow_rows(L.k, C, D);
        grow_rows(L.v, C, D);
        std::memcpy(&L.k[(size_t)t0 * D], s.qkv.k.data(), sizeof(float) * n * D);
        std::memcpy(&L.v[(size_t)t0 * D], s.qkv.v.data(), sizeof(float) * n * D);
        attention_forward(s.att.data(), s.P.data(), s.qkv.q.data(), L.k.data(), L.v.data(), s.mask.data(), n, C,
                          D, H);
        out_forward(s.x_next.data(), s.out, s.x.data(), s.att.data(), n, w.layers[l], cfg);
        std::swap(s.x, s.x_next);
    }
    st.C = C;
    head_forward(st, w, n, logits);
    st.pos += n;
}

void stream_prefill(FamState& st, const ModelWeights& w, const int* tokens, int n, float* logits) {
    check_ready(st, w);
    if (n < 0) throw std::invalid_argument("stream_prefill: n = " + std::to_string(n) + " < 0");
    for (int i = 0; i < n; i++) check_token(st, tokens[i], st.pos + i);  // before any state changes
    const int V = st.cfg.V;
    for (int done = 0; done < n;) {
        if (is_full(st.cfg)) {
            int k = std::min(n - done, kFullChunk);
            prefill_full(st, w, tokens + done, k, logits ? logits + (size_t)done * V : nullptr);
            done += k;
        } else {
            int k = std::min(n - done, st.cfg.B - st.len);  // up to the end of the current block
            prefill_block(st, w, tokens + done, k, logits ? logits + (size_t)done * V : nullptr);
            done += k;
        }
    }
}

std::vector<float> stream_fam(const FamState& st) {
    const size_t FD = (size_t)st.F * st.cfg.D;
    std::vector<float> out(st.layers.size() * FD);
    for (size_t l = 0; l < st.layers.size(); l++)
        std::copy(st.layers[l].fam.begin(), st.layers[l].fam.begin() + FD, out.begin() + l * FD);
    return out;
}

// ---- generation -------------------------------------------------------------------

int sample_next(FamState& st, const float* logits, float temperature, int top_k, Rng& rng) {
    const int V = st.cfg.V;
    if (!(temperature >= 0.0f)) throw std::invalid_argument("temperature must be >= 0");
    int* order = st.s.order.data();
    std::iota(order, order + V, 0);
    // most likely first; equal logits keep the lower id first (greedy is deterministic)
    auto better = [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    if (temperature == 0.0f) return *std::min_element(order, order + V, better);
    const int k = top_k <= 0 || top_k > V ? V : top_k;
    std::partial_sort(order, order + k, order + V, better);
    // softmax(logits / temperature) over the k candidates, then one uniform draw
    float* p = st.s.probs.data();
    double sum = 0.0;
    for (int i = 0; i < k; i++) sum += (p[i] = std::exp((logits[order[i]] - logits[order[0]]) / temperature));
    double u = rng.uniform() * sum, acc = 0.0;
    for (int i = 0; i < k; i++)
        if ((acc += p[i]) > u) return order[i];
    return order[k - 1];  // u landed on the rounding edge
}

void stream_generate(FamState& st, const ModelWeights& w, const int* prompt, int n, int max_new,
                     float temperature, int top_k, uint64_t seed, int* out) {
    if (n < 1) throw std::invalid_argument("generation needs a prompt of at least one token");
    if (max_new < 0) throw std::invalid_argument("max_new must be >= 0");
    std::vector<float> logits(st.cfg.V);  // once per call, not per token
    // the prompt a block at a time; only its last token's logits are needed
    stream_prefill(st, w, prompt, n - 1, nullptr);
    stream_step(st, w, prompt[n - 1], logits.data());
    Rng rng(seed);
    for (int i = 0; i < max_new; i++) {
        out[i] = sample_next(st, logits.data(), temperature, top_k, rng);
        if (i + 1 < max_new) stream_step(st, w, out[i], logits.data());
    }
}

size_t peak_rss_bytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, 6, "VmHWM:") == 0) return (size_t)std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) return (size_t)ru.ru_maxrss * 1024;  // kB on Linux
    return 0;
}
