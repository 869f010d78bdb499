// viz.h: seeing TransformerFAM work. Records one forward pass with the
// BlockObserver hook (src/fam_layer.h) and draws what the attention and the
// feedback memory did over time:
//
//   paper Fig. 4 (§B.3)  attention over time: every layer's attention weights laid on
//                        the timeline of the whole sequence, FAM rows/keys interleaved
//                        as in fam_timeline_mask (src/masks.h); one frame per block
//   paper Fig. 11        per block, layer and head the map [block rows; FAM rows] x
//                        [memory | FAM | block]: the FAM prepended at the bottom-left
//   working memory       the FAM state after every block, how much each FAM row
//                        changed, and which tokens each FAM update attended to
//                        ("what did the memory write"), next to the words
//
// Conventions as in src/render.h: rows are queries (top to bottom), columns are
// keys (left to right). Colours run from white (0) to dark blue (the largest
// value in the picture); masked cells are hatched grey, off the colour scale. Every
// picture has a title, axis names, tick labels and a legend with its colour bar, and
// a .npy twin with the raw numbers. FAM rows are "F<k>.<j>", row j of F_k, the FAM
// after k blocks (docs/spec.md, "FAM index convention").
//
// The analysis functions (timeline_attention, fam_write, ...) are plain
// functions of a VizRun, so tests and walkthroughs can check their numbers; the
// writers turn them into PNG / SVG / HTML files under an output directory.
#pragma once

#include <string>
#include <vector>

#include "app/render.h"
#include "fam_layer.h"
#include "masks.h"
#include "model.h"
#include "weights.h"

// ---- recording ----------------------------------------------------------------

// One block of one layer as the observer saw it (a copy: the forward's caches are reused).
struct VizBlock {
    int layer = 0, tau = 0, len = 0;  // tokens tau*B .. tau*B+len-1
    bool update = false;              // F_{tau+1} was computed (complete block, F > 0)
    int R = 0, C = 0;                 // rows [len block | F FAM if update], keys [M*B | F | B]
    std::vector<float> P;             // [H, R, C] attention weights (0 where masked)
    std::vector<float> fam_next;      // [F, D] F_{tau+1}, the FAM leaving block tau
    Mask mask;                        // [R, C] which key each row may see
};

// A BlockObserver that copies every (layer, block) it is shown, in call order.
//   VizRecorder rec(w.cfg.H);
//   BlockObserver obs = rec.observer();
//   ForwardOptions opt;  opt.observer = &obs;
//   model_forward(cache, w, tokens, T, opt);   // rec.blocks now holds N * nblocks entries
struct VizRecorder {
    int H = 1;  // the model's heads: BlockCache::P is [H, R, C]
    std::vector<VizBlock> blocks;
    explicit VizRecorder(int heads) : H(heads) {}
    BlockObserver observer();  // {on_block = VizRecorder::record, user = this}
    static void record(void* user, int layer, const BlockCache& b, const Mask& mask);
};

// Everything the pictures need from one forward pass over one sequence.
struct VizRun {
    FamConfig cfg;
    std::string name;                 // shown in titles, e.g. "fam" or "bswa"
    int T = 0, N = 0, H = 0, D = 0;
    int B = 0, M = 0, F = 0;          // of the block plan (full attention: B = T, M = F = 0)
    int nblocks = 0, ncomplete = 0;   // blocks; complete blocks (each updates the FAM)
    std::vector<int> tokens;          // [T]
    std::vector<std::string> words;   // [T] the decoded tokens (or their ids)
    std::vector<float> logits;        // [T, V]
    std::vector<float> fam_init;      // [N, F, D] the FAM entering block 0 (prompt pass, App. B.1)
    std::vector<std::vector<VizBlock>> blocks;  // [N][nblocks], from the observer
};

// Runs model_forward with a VizRecorder attached and files its blocks by layer.
// words: one per token (empty: the token ids are used).
VizRun viz_run(const ModelWeights& w, const std::vector<int>& tokens,
               const std::vector<std::string>& words = {}, const std::string& name = "");

// ---- the timeline (paper Fig. 4 analog) ---------------------------------------------

// Where each FAM and each token sits in the interleaved order of fam_timeline_mask:
// [F_0, block 0, F_1, block 1, ..., F_ncomplete]; F_{k+1} is the FAM that
// compressed block k (docs/spec.md, "FAM index convention").
struct Timeline {
    int T = 0, B = 0, M = 0, F = 0, nblocks = 0, ncomplete = 0;
    int n = 0;                     // T + F * (ncomplete + 1) rows = columns
    std::vector<int> fam_start;    // [ncomplete + 1] index of F_k's row 0
    std::vector<int> block_start;  // [nblocks] index of block k's first token
    int token_index(int t) const { return block_start[t / B] + t % B; }
    int fam_index(int k, int j) const { return fam_start[k] + j; }
};
Timeline make_timeline(int T, int B, int M, int F);
Timeline make_timeline(const VizRun& r);

// The attention weights of `layer` on the timeline, [n, n]: row = a query (a token
// or a FAM row of F_k, k >= 1), column = a key, value = its weight; head < 0
// averages the heads. F_0 rows stay 0: the initial FAM comes from the prompt pass
// (App. B.1), not from the block loop. Nonzero only where fam_timeline_mask allows;
// every other row sums to 1.
std::vector<float> timeline_attention(const VizRun& r, int layer, int head = -1);

// ---- working memory -----------------------------------------------------------------

// The FAM of every layer after every block, [N, nblocks + 1, F, D]: index k is F_k, the
// FAM after k blocks (F_0 the initial FAM; a partial last block repeats the entry before it).
std::vector<float> fam_states(const VizRun& r);
// How much each FAM row moved in code block tau: |F_{tau+1}[j] - F_tau[j]| (L2), [N, nblocks, F]
// (0 for a partial block, which writes no FAM).
std::vector<float> fam_change(const VizRun& r);
// "What did the memory write": for every token t of a complete block, the attention
// mass the FAM update of its block put on t (mean over heads and the F FAM rows),
// [N, T]. NaN for tokens of a partial last block (no FAM update read them) and for F = 0.
std::vector<float> fam_write(const VizRun& r);
// "Who read the memory": for every token row, the attention mass it put on the F FAM
// keys (mean over heads), [N, T]; 0 when F = 0.
std::vector<float> fam_read(const VizRun& r);
// The FAM update's mass on the FAM keys themselves (what it kept rather than wrote),
// mean over heads and FAM rows, [N, nblocks]; NaN where the block updated nothing.
std::vector<float> fam_keep(const VizRun& r);

// Mean FAM-write mass on a set of positions vs. the rest, and the FAM-read mass of a
// set of query rows vs. all other rows, for one layer: the numbers behind the
// gallery's "the FAM wrote the pass key" sentence.
struct FocusStats {
    int layer = 0;
    float write_on = 0, write_off = 0;  // mean fam_write over `positions` / over other tokens of their blocks
    float read_on = 0, read_off = 0;    // mean fam_read over `queries` / over every other token row
};
FocusStats focus_stats(const VizRun& r, int layer, const std::vector<int>& positions,
                       const std::vector<int>& queries);

// A text summary a terminal can show: per layer and block the FAM change, the FAM's
// kept mass and the `top` tokens the update wrote most (with their mass), e.g.
//   layer 1  block  2 (t 32..47)  |dF| 3.41  kept 0.12  wrote: 7 0.19 | 1 0.15 | 4 0.11
std::string memory_write_ascii(const VizRun& r, int layer, int top = 3);

// ---- writing pictures ---------------------------------------------------------------

struct VizOptions {
    std::vector<int> blocks;     // blocks for the Fig. 11 maps (empty: first and last)
    std::vector<int> highlight;  // token positions to mark in the strips (e.g. the pass key)
    std::vector<int> queries;    // token rows whose FAM read to report (e.g. the answer)
    int svg_max = 400;           // write timeline SVGs only up to this many timeline rows
    std::string title;           // headline of the HTML pages
    std::string notes;           // extra text (preformatted) for the HTML pages
};

// Writes every picture and .npy of one run into dir (created if missing), and, with
// `compare` (another model on the same tokens, e.g. BSWA next to FAM), the same for
// it under dir/compare/ plus dir/compare.html showing both side by side. Returns
// the paths written, relative to dir. See docs/gallery.md for what each one shows.
std::vector<std::string> viz_write_all(const std::string& dir, const VizRun& run,
                                       const VizRun* compare, const VizOptions& opt);

// Pieces of viz_write_all, usable on their own (walkthroughs, tests):

// Self-contained HTML with a slider stepping through the blocks (one frame per block,
// PNG frames inlined as base64 data URIs, inline script, no network). Also writes
// dir/frames/frame_KKK.png. Returns the page's text.
std::string write_animation(const std::string& dir, const VizRun& r, const VizOptions& opt);
// A labelled SVG of the FAM write strip of one layer: one line of words per block,
// each word's box coloured by the FAM update's mass on it, a bar below it for the
// token's own FAM read. standalone = false leaves out the xmlns (for inlining in HTML).
std::string memory_write_svg(const VizRun& r, int layer, const VizOptions& opt, bool standalone = true);
// The Fig. 11 grid of one block: per layer a labelled head-mean panel and (heads) one
// small panel per head. [block rows; FAM rows] x [memory | FAM | block]. opt (may be
// null) marks its highlighted tokens; heads = false puts the layers side by side.
std::string block_maps_svg(const VizRun& r, int tau, const VizOptions* opt = nullptr, bool heads = true,
                           bool standalone = true);
// The timeline attention of one layer (head < 0: mean) as a labelled SVG, colour
// sqrt(weight / max); masked cells hatched grey; opt (may be null) marks highlighted tokens.
std::string timeline_svg(const VizRun& r, int layer, int head, bool standalone = true,
                         const VizOptions* opt = nullptr);

// Create a directory and its parents (like mkdir -p); throws naming the path.
void make_dirs(const std::string& dir);
// Standard base64 of bytes (for data: URIs).
std::string base64(const std::string& bytes);

// ---- figures for slides (render.h's HeatFigure; heatmap_figure_slide lays them out) ------------

// The Fig. 11 map of block tau in one layer, head < 0: the mean of heads; the figure
// viz_write_all draws as fig11_block<tau>_L<layer>_*.png. opt (may be null) marks its
// highlighted tokens.
HeatFigure block_map_figure(const VizRun& r, int tau, int layer, int head = -1, const VizOptions* opt = nullptr);
// What the FAM wrote in one layer as a grid of words: one column per block (code block
// tau, whose update writes F_{tau+1}), one row per position in the block, each cell
// the token's word, coloured by fam_write (the mass its block's FAM update put on it);
// blocks holding a highlighted token get a red label. The notes give focus_stats.
HeatFigure memory_write_figure(const VizRun& r, int layer, const VizOptions& opt);
