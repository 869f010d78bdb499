// masks.cpp: which key each query may attend to. Paper Fig. 1a (SWA), Fig. 1b/1c
// and Eq. 1 (BSWA), Fig. 1d (receptive field), Fig. 2 and Alg. 2 steps 3, 6-7
// (FAM). The rules are the table in docs/spec.md, "Which keys
// a token sees"; the layouts are documented in masks.h.
//
// Everything here is a plain loop over (row, col) asking one yes/no question,
// so that a reader can check any cell by hand against the paper.
#include "masks.h"

#include <algorithm>
#include <stdexcept>

// ---- argument checks: each message names the paper symbol and the value -------

static void require(bool ok, const char* fn, const std::string& what) {
    if (!ok) throw std::invalid_argument(std::string(fn) + ": " + what);
}
static void check_T(const char* fn, int T) {
    require(T >= 1, fn, "sequence length T must be >= 1, got " + std::to_string(T));
}
static void check_B(const char* fn, int B) {
    require(B >= 1, fn, "block size B must be >= 1, got " + std::to_string(B));
}
static void check_M(const char* fn, int M) {
    require(M >= 0, fn, "memory segments M must be >= 0, got " + std::to_string(M));
}
static void check_F(const char* fn, int F) {
    require(F >= 0, fn, "FAM length F must be >= 0, got " + std::to_string(F));
}
static void check_depth(const char* fn, int depth) {
    // depth 0 would be "the token itself", which the closed form does not describe
    require(depth >= 1, fn, "depth (number of layers) must be >= 1, got " + std::to_string(depth));
}
static void check_t(const char* fn, int T, int t) {
    require(t >= 0 && t < T, fn,
            "token t must be in 0..T-1 (T=" + std::to_string(T) + "), got " + std::to_string(t));
}

// ---- axis helpers ---------------------------------------------------------------

static void push_token(MaskAxis& a, int pos, int group) {
    a.pos.push_back(pos);
    a.fam.push_back(-1);
    a.group.push_back(group);
    a.label.push_back(std::to_string(pos));
}
static void push_fam(MaskAxis& a, int j, int group, const std::string& label) {
    a.pos.push_back(-1);
    a.fam.push_back(j);
    a.group.push_back(group);
    a.label.push_back(label);
}
// The one FAM label of pictures and printouts: "F<k>.<j>" is row j of F_k, the FAM
// after k completed blocks (F_0 enters block 0; code block tau reads F_tau and writes
// F_{tau+1}; docs/spec.md).
std::string fam_label(int k, int j) { return "F" + std::to_string(k) + "." + std::to_string(j); }

static Mask new_mask(const std::string& title, int rows, int cols) {
    Mask mk;
    mk.title = title;
    mk.rows = rows;
    mk.cols = cols;
    mk.m.assign((size_t)rows * cols, 0);
    return mk;
}
static void set(Mask& mk, int r, int c) { mk.m[(size_t)r * mk.cols + c] = 1; }

// The BSWA rule (Eq. 1) for token positions t (query) and s (key): s is in one of
// the M blocks before t's block (seen whole) or in t's block up to t (causal).
// Blocks before 0 do not exist, so nothing special happens for tau < M.
static bool bswa_sees(int t, int s, int B, int M) { return s <= t && s / B >= t / B - M; }

// ---- token masks [T, T] -----------------------------------------------------------

// Token axes for a [T, T] mask; group = block index (0 for masks without blocks).
static void token_axes(Mask& mk, int T, int B) {
    for (int t = 0; t < T; t++) {
        push_token(mk.row_axis, t, B > 0 ? t / B : 0);
        push_token(mk.col_axis, t, B > 0 ? t / B : 0);
    }
}

Mask causal_mask(int T) {
    check_T("causal_mask", T);
    Mask mk = new_mask("causal, T=" + std::to_string(T), T, T);
    token_axes(mk, T, 0);
    for (int t = 0; t < T; t++)
        for (int s = 0; s <= t; s++) set(mk, t, s);
    return mk;
}

Mask swa_mask(int T, int w) {
    check_T("swa_mask", T);
    require(w >= 1, "swa_mask", "window w must be >= 1, got " + std::to_string(w));
    Mask mk = new_mask("SWA w=" + std::to_string(w) + ", T=" + std::to_string(T), T, T);
    token_axes(mk, T, 0);
    // [paper §2.1] "SWA uses K_{t-w:t}": w keys, self included
    for (int t = 0; t < T; t++)
        for (int s = t - w + 1 < 0 ? 0 : t - w + 1; s <= t; s++) set(mk, t, s);
    return mk;
}

Mask bswa_mask(int T, int B, int M) {
    check_T("bswa_mask", T);
    check_B("bswa_mask", B);
    check_M("bswa_mask", M);
    Mask mk = new_mask("BSWA B=" + std::to_string(B) + " M=" + std::to_string(M) +
                           ", T=" + std::to_string(T), T, T);
    token_axes(mk, T, B);
    // [Alg.1 step 2] K_hat_t = Concat(K_mem, K_{tau,:t})
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++)
            if (bswa_sees(t, s, B, M)) set(mk, t, s);
    return mk;
}

// ---- FAM, block view ---------------------------------------------------------------

Mask fam_block_mask(int B, int M, int F, int tau, int len) {
    const char* fn = "fam_block_mask";
    check_B(fn, B);
    check_M(fn, M);
    check_F(fn, F);
    require(tau >= 0, fn, "block index tau must be >= 0, got " + std::to_string(tau));
    require(len >= 1 && len <= B, fn,
            "block length len must be in 1..B (B=" + std::to_string(B) + "), got " + std::to_string(len));
    // A partial block (len < B) updates no FAM (spec step 6), so it has no FAM rows.
    const int nF_rows = len == B ? F : 0;
    const int rows = len + nF_rows, cols = M * B + F + B;
    // With F = 0 this is BSWA's block (paper Fig. 2a); say so in the picture.
    Mask mk = new_mask((F == 0 ? "BSWA block view (F=0) B=" : "FAM block view B=") + std::to_string(B) +
                           " M=" + std::to_string(M) + (F == 0 ? "" : " F=" + std::to_string(F)) +
                           ", block tau=" + std::to_string(tau) +
                           (len < B ? " (partial, len=" + std::to_string(len) + ")" : ""),
                       rows, cols);

    // rows [len block rows | F FAM rows]. A FAM query row j is the query of the FAM
    // update that writes row j of F_{tau+1} (docs/spec.md, "FAM index convention"), so it
    // is labelled F<tau+1>.<j>, as the same row is in fam_timeline_mask.
    for (int i = 0; i < len; i++) push_token(mk.row_axis, tau * B + i, tau);
    for (int j = 0; j < nF_rows; j++) push_fam(mk.row_axis, j, tau, fam_label(tau + 1, j));

    // cols [M*B memory | F FAM | B block]; absent memory blocks (index < 0) get
    // pos -1 and label "m<i>" since they stand for no token at all.
    for (int c = 0; c < M * B; c++) {
        int blk = tau - M + c / B, pos = (tau - M) * B + c;
        if (blk >= 0) {
            push_token(mk.col_axis, pos, blk);
        } else {
            mk.col_axis.pos.push_back(-1);
            mk.col_axis.fam.push_back(-1);
            mk.col_axis.group.push_back(blk);
            mk.col_axis.label.push_back("m" + std::to_string(c));
        }
    }
    // FAM key columns: the rows of F_tau, the FAM that entered block tau
    for (int j = 0; j < F; j++) push_fam(mk.col_axis, j, tau, fam_label(tau, j));
    for (int i = 0; i < B; i++) push_token(mk.col_axis, tau * B + i, tau);

    fam_block_fill(mk, B, M, F, len);
    return mk;
}

void fam_block_fill(Mask& mk, int B, int M, int F, int len) {
    const int fam0 = M * B, blk0 = M * B + F;
    for (int i = 0; i < len; i++) {
        // [Alg.2 step 3] K_hat_t = Concat(K_mem, K^F, K_{tau,:t})
        for (int c = 0; c < M * B; c++)
            if (mk.col_axis.pos[c] >= 0) set(mk, i, c);  // memory blocks that exist, whole
        for (int j = 0; j < F; j++) set(mk, i, fam0 + j);
        for (int s = 0; s <= i; s++) set(mk, i, blk0 + s);
    }
    for (int r = len; r < mk.rows; r++) {
        // [Alg.2 step 6] K_tilde = Concat(K^F, K_tau): FAM compresses the whole
        // block, full (bidirectional) among FAM rows, no memory keys
        for (int j = 0; j < F; j++) set(mk, r, fam0 + j);
        for (int s = 0; s < B; s++) set(mk, r, blk0 + s);
    }
}

// ---- FAM, timeline view ---------------------------------------------------------------

Mask fam_timeline_mask(int T, int B, int M, int F) {
    const char* fn = "fam_timeline_mask";
    check_T(fn, T);
    check_B(fn, B);
    check_M(fn, M);
    check_F(fn, F);
    const int n_blocks = (T + B - 1) / B;  // the last one may be partial
    const int n_complete = T / B;          // F_1..F_{n_complete} exist
    const int n = T + F * (n_complete + 1);

    // The interleaved order [F_0, block 0, F_1, block 1, ..., F_n]; remember
    // where each F_k and each block starts, in that order.
    MaskAxis ax;
    std::vector<int> fam_start(n_complete + 1), block_start(n_blocks);
    for (int k = 0; k <= n_blocks; k++) {
        if (k <= n_complete) {
            fam_start[k] = (int)ax.pos.size();
            for (int j = 0; j < F; j++) push_fam(ax, j, k, fam_label(k, j));
        }
        if (k < n_blocks) {
            block_start[k] = (int)ax.pos.size();
            for (int t = k * B; t < T && t < (k + 1) * B; t++) push_token(ax, t, k);
        }
    }

    Mask mk = new_mask("FAM timeline B=" + std::to_string(B) + " M=" + std::to_string(M) +
                           " F=" + std::to_string(F) + ", T=" + std::to_string(T), n, n);
    mk.row_axis = ax;
    mk.col_axis = ax;

    // F_0 (the initial FAM, paper §B.1): full attention among its own F rows.
    for (int a = 0; a < F; a++)
        for (int b = 0; b < F; b++) set(mk, fam_start[0] + a, fam_start[0] + b);
    for (int k = 0; k < n_blocks; k++) {
        // [Alg.2 step 3] a token of block k sees its memory blocks, F_k and its causal prefix
        for (int t = k * B; t < T && t < (k + 1) * B; t++) {
            int r = block_start[k] + (t - k * B);
            for (int j = 0; j < F; j++) set(mk, r, fam_start[k] + j);
            for (int kk = k - M < 0 ? 0 : k - M; kk <= k; kk++)
                for (int s = kk * B; s < T && s < (kk + 1) * B; s++)
                    if (bswa_sees(t, s, B, M)) set(mk, r, block_start[kk] + (s - kk * B));
        }
        // [Alg.2 steps 6-8] F_{k+1} compresses F_k and all of block k (complete blocks only)
        if (k < n_complete)
            for (int j = 0; j < F; j++) {
                int r = fam_start[k + 1] + j;
                for (int jj = 0; jj < F; jj++) set(mk, r, fam_start[k] + jj);
                for (int s = 0; s < B; s++) set(mk, r, block_start[k] + s);
            }
    }
    return mk;
}

// ---- receptive field (paper Fig. 1d) ------------------------------------------------

// One layer of reachability on a [T, T] token mask: the keys of every reached row.
static std::vector<uint8_t> reach_step(const Mask& mk, const std::vector<uint8_t>& reached) {
    std::vector<uint8_t> next(mk.cols, 0);
    for (int r = 0; r < mk.rows; r++) {
        if (!reached[r]) continue;
        const uint8_t* row = &mk.m[(size_t)r * mk.cols];
        for (int c = 0; c < mk.cols; c++) next[c] |= row[c];
    }
    return next;
}

int receptive_field_earliest(int T, int B, int M, int depth, int t) {
    const char* fn = "receptive_field_earliest";
    check_T(fn, T);
    check_B(fn, B);
    check_M(fn, M);
    check_depth(fn, depth);
    check_t(fn, T, t);
    // Output row t of layer `depth` depends on the rows it attends to in layer
    // depth-1, which depend on theirs, ...: depth steps through the same mask.
    Mask mk = bswa_mask(T, B, M);
    std::vector<uint8_t> reached(T, 0);
    reached[t] = 1;
    for (int l = 0; l < depth; l++) {
        std::vector<uint8_t> next = reach_step(mk, reached);
        if (next == reached) break;  // a fixed point: every further layer gives the same set
        reached = next;
    }
    for (int s = 0; s < T; s++)
        if (reached[s]) return s;
    return t;  // unreachable: the diagonal is always 1
}

int receptive_field_earliest_closed_form(int B, int M, int depth, int t) {
    const char* fn = "receptive_field_earliest_closed_form";
    check_B(fn, B);
    check_M(fn, M);
    check_depth(fn, depth);
    require(t >= 0, fn, "token t must be >= 0, got " + std::to_string(t));
    // each layer reaches M whole blocks further back than the block it starts from
    long long e = ((long long)(t / B) - (long long)depth * M) * B;
    return e < 0 ? 0 : (int)e;
}

Mask receptive_field_mask(int T, int B, int M, int depth) {
    const char* fn = "receptive_field_mask";
    check_T(fn, T);
    check_B(fn, B);
    check_M(fn, M);
    check_depth(fn, depth);
    Mask layer = bswa_mask(T, B, M);
    Mask mk = layer;
    mk.title = "BSWA B=" + std::to_string(B) + " M=" + std::to_string(M) + ", T=" +
               std::to_string(T) + ", reach after " + std::to_string(depth) + " layers";
    // R_d = R_{d-1} composed with the layer mask, row by row
    for (int l = 1; l < depth; l++) {
        Mask next = mk;
        for (int t = 0; t < T; t++) {
            std::vector<uint8_t> row(mk.m.begin() + (size_t)t * T, mk.m.begin() + (size_t)(t + 1) * T);
            std::vector<uint8_t> r = reach_step(layer, row);
            std::copy(r.begin(), r.end(), next.m.begin() + (size_t)t * T);
        }
        if (next.m == mk.m) break;  // a fixed point: further layers change nothing
        mk = next;
    }
    return mk;
}

int fam_receptive_field_earliest(int T, int B, int M, int F, int depth, int t) {
    const char* fn = "fam_receptive_field_earliest";
    check_T(fn, T);
    check_B(fn, B);
    check_M(fn, M);
    check_F(fn, F);
    check_depth(fn, depth);
    check_t(fn, T, t);
    Mask tl = fam_timeline_mask(T, B, M, F);
    const int n = tl.rows;  // rows and columns share the interleaved order
    std::vector<uint8_t> reached(n, 0);
    for (int r = 0; r < n; r++)
        if (tl.row_axis.pos[r] == t) reached[r] = 1;
    for (int l = 0; l < depth; l++) {
        // Within one layer a FAM key is that layer's own state, so follow it back
        // (F_k -> F_{k-1}, block k-1 -> ...); token keys are the layer's inputs,
        // i.e. the previous layer's outputs, where the next layer's search starts.
        std::vector<uint8_t> next(n, 0), fam_seen(n, 0);
        std::vector<int> stack;
        for (int r = 0; r < n; r++)
            if (reached[r]) stack.push_back(r);
        while (!stack.empty()) {
            int r = stack.back();
            stack.pop_back();
            for (int c = 0; c < n; c++) {
                if (!tl.at(r, c)) continue;
                if (tl.col_axis.fam[c] < 0) {
                    next[c] = 1;
                } else if (!fam_seen[c]) {
                    fam_seen[c] = 1;
                    stack.push_back(c);
                }
            }
        }
        if (next == reached) break;  // a fixed point: further layers change nothing
        reached = next;
    }
    int earliest = t;
    for (int r = 0; r < n; r++)
        if (reached[r] && tl.row_axis.pos[r] >= 0 && tl.row_axis.pos[r] < earliest) earliest = tl.row_axis.pos[r];
    return earliest;
}
