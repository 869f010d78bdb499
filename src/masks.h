// masks.h: which key each query may attend to (paper Fig. 1 and Fig. 2).
//
// A Mask is a [rows, cols] grid of 0/1 (1 = the query row may attend to the key
// column), plus labels so that pictures can show block boundaries and FAM
// rows/columns. The attention code builds its masks with these same functions,
// so the pictures are the code's own truth. Conventions:
// docs/spec.md, "Which keys a token sees".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// What a row or column of a mask stands for.
struct MaskAxis {
    std::vector<int> pos;      // token position (>= 0) or -1 for a FAM row/key
    std::vector<int> fam;      // for FAM entries: index j in 0..F-1 of the FAM row; else -1
    std::vector<int> group;    // block index tau of the entry (F_k entries: k, see timeline)
    std::vector<std::string> label;  // short label for pictures, e.g. "7", "F2.0", "m3"
};

// The label of row j of F_k, the FAM after k completed blocks: "F<k>.<j>". F_0 is the
// FAM entering block 0; code block tau (tokens tau*B..tau*B+B-1) reads F_tau and, when
// complete, writes F_{tau+1} (docs/spec.md, "FAM index convention"). Every picture and
// printout names FAM rows with this.
std::string fam_label(int k, int j);

struct Mask {
    std::string title;          // e.g. "BSWA B=2 M=1, T=12"
    int rows = 0, cols = 0;
    std::vector<uint8_t> m;     // [rows, cols], row-major, values 0/1
    MaskAxis row_axis, col_axis;
    uint8_t at(int r, int c) const { return m[(size_t)r * cols + c]; }
};

// Causal: row t sees keys 0..t. [T, T]
Mask causal_mask(int T);
// Sliding window of w tokens, self included: row t sees keys t-w+1..t (paper Fig. 1a). [T, T]
Mask swa_mask(int T, int w);
// Block sliding window (paper Fig. 1b/1c, Eq. 1): token t in block tau = t/B sees
// every key of blocks max(0, tau-M)..tau-1 and keys tau*B..t. [T, T]
Mask bswa_mask(int T, int B, int M);

// FAM, block view (paper Fig. 2b; Alg. 2 steps 3 and 6-7) for block index tau
// holding `len` tokens (len = B unless it is a partial last block):
//   rows = [len block rows, then F FAM rows (only when len == B)]
//   cols = [M*B memory keys (blocks tau-M..tau-1), F keys of the FAM that
//           entered the block, B block keys]
// Labels: token rows/columns by position ("m<i>" for memory slot i of a block
// before block 0, which does not exist); FAM key columns are the rows of F_tau,
// "F<tau>.<j>"; FAM query rows are labelled by the FAM their update writes,
// "F<tau+1>.<j>" (the timeline view labels the same rows the same way).
// Block rows see the existing memory blocks, all F FAM keys and their causal
// prefix of the block; FAM rows see the F FAM keys and every block key, no memory.
// Memory columns of blocks that do not exist (tau < M) are all 0; block key
// columns >= len are all 0.
Mask fam_block_mask(int B, int M, int F, int tau, int len);
// The 1s of that block view, on a mask whose axes fam_block_mask has laid out
// (all cells 0; col_axis.pos[c] < 0 marks a memory column of a block before 0):
// row i < len sees the existing memory, all F FAM keys and block keys 0..i; a FAM
// row sees the F FAM keys and all B block keys. (exercises/01_block_mask)
void fam_block_fill(Mask& mk, int B, int M, int F, int len);

// FAM, timeline view over T tokens: rows = cols = the interleaved order
// [F_0, block 0, F_1, block 1, ..., F_n] where F_{k+1} is the FAM produced by
// compressing block k (only complete blocks produce one). Row F_{k+1} sees F_k and
// block k; a token row of block k sees its memory blocks, F_k and its causal prefix
// of block k. F_0 rows (the initial FAM) see only F_0. FAM entries are labelled
// "F<k>.<j>" (fam_label), group = k.
Mask fam_timeline_mask(int T, int B, int M, int F);

// Receptive field (paper Fig. 1d) by reachability: compose the BSWA mask over
// `depth` layers and return the earliest position that can influence token t.
int receptive_field_earliest(int T, int B, int M, int depth, int t);
// The closed form max(0, (floor(t/B) - depth*M) * B), for tests and docs.
int receptive_field_earliest_closed_form(int B, int M, int depth, int t);

// Added with masks.cpp (paper Fig. 1d and §1 "FAM ... infinite receptive field"):
//
// The receptive-field picture of Fig. 1d: the BSWA mask composed over `depth`
// layers. Row t holds 1 at every position that can influence token t after
// `depth` layers (boolean reachability; depth = 1 gives bswa_mask). [T, T]
Mask receptive_field_mask(int T, int B, int M, int depth);
// The same question for FAM, answered on fam_timeline_mask: inside one layer a
// token reaches its keys and, through F_k -> F_{k-1} -> ..., every block the
// FAM chain compressed; across layers the reached tokens start the next search.
// Returns the earliest reachable position (0 whenever F >= 1). F = 0 is BSWA.
int fam_receptive_field_earliest(int T, int B, int M, int F, int depth, int t);
