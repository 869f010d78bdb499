// test_masks.cpp: the masks of paper Fig. 1 (a-d) and Fig. 2 cell by cell, the
// boundary conventions of docs/spec.md ("Which keys a token
// sees"), the receptive field by reachability against the closed form, the
// renderers (ASCII, SVG, PNG, .npy) and the `fam mask` / `fam receptive-field`
// argument errors.
//
// The expected grids are typed by hand from the convention of the paper's Fig. 1
// (rows are queries, columns are keys; a block attends to M whole previous blocks
// and causally to itself), and the FAM timeline is checked against a construction
// written here from the spec's rules, so that no expectation comes from the code
// under test. FAM labels follow docs/spec.md, "FAM index convention".
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "masks.h"
#include "app/args.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/render.h"
#include "run_cli.h"

// stb_image decodes the PNGs the renderers write (its implementation: tests/stb_image.cpp)
#include "stb_image.h"

// ---- helpers ------------------------------------------------------------------------

// The mask as '#'/'.' lines, row by row: easy to compare with a typed grid.
static std::vector<std::string> grid(const Mask& mk) {
    std::vector<std::string> g(mk.rows, std::string(mk.cols, '.'));
    for (int r = 0; r < mk.rows; r++)
        for (int c = 0; c < mk.cols; c++)
            if (mk.at(r, c)) g[r][c] = '#';
    return g;
}

static void check_grid(const Mask& mk, const std::vector<std::string>& want) {
    REQUIRE(mk.rows == (int)want.size());
    REQUIRE(mk.m.size() == (size_t)mk.rows * mk.cols);
    std::vector<std::string> got = grid(mk);
    for (int r = 0; r < mk.rows; r++) {
        INFO(mk.title << ", row " << r);
        CHECK(got[r] == want[r]);
    }
}

static int ones(const Mask& mk) {
    int n = 0;
    for (uint8_t v : mk.m) n += v;
    return n;
}

static int count(const std::string& hay, const std::string& needle) {
    int n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
    return n;
}

static std::string tmp_path(const std::string& name) {
    return "/tmp/fam_test_masks_" + std::to_string(getpid()) + "_" + name;
}

static bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The message of the exception `f` throws ("" if it throws none).
template <class E, class Fn>
static std::string message_of(Fn f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "";
}

// ---- paper Fig. 1, typed from the caption's convention ----------------------------------

TEST_CASE("masks: Fig. 1a, SWA w=3 on 12 tokens: row t sees max(0, t-2)..t") {
    check_grid(swa_mask(12, 3), {
                                    "#...........",
                                    "##..........",
                                    "###.........",
                                    ".###........",
                                    "..###.......",
                                    "...###......",
                                    "....###.....",
                                    ".....###....",
                                    "......###...",
                                    ".......###..",
                                    "........###.",
                                    ".........###",
                                });
}

TEST_CASE("masks: Fig. 1b, BSWA B=2 M=1: rows alternate 3 and 4 ones, block 0 has 1 and 2") {
    check_grid(bswa_mask(12, 2, 1), {
                                        "#...........",
                                        "##..........",
                                        "###.........",
                                        "####........",
                                        "..###.......",
                                        "..####......",
                                        "....###.....",
                                        "....####....",
                                        "......###...",
                                        "......####..",
                                        "........###.",
                                        "........####",
                                    });
}

TEST_CASE("masks: Fig. 1c, BSWA B=2 M=2: row t sees 2(tau-2)..t") {
    check_grid(bswa_mask(12, 2, 2), {
                                        "#...........",
                                        "##..........",
                                        "###.........",
                                        "####........",
                                        "#####.......",
                                        "######......",
                                        "..#####.....",
                                        "..######....",
                                        "....#####...",
                                        "....######..",
                                        "......#####.",
                                        "......######",
                                    });
}

TEST_CASE("masks: Fig. 1d, B=2 M=1 after 4 layers token 11 reaches back to 2 (D*M*B + t%B + 1 = 10 tokens)") {
    CHECK(receptive_field_earliest(12, 2, 1, 4, 11) == 2);
    CHECK(receptive_field_earliest_closed_form(2, 1, 4, 11) == 2);
    Mask rf = receptive_field_mask(12, 2, 1, 4);
    CHECK(grid(rf)[11] == "..##########");
    CHECK(grid(rf)[7] == "########....");
    // one layer is the mask itself
    CHECK(grid(receptive_field_mask(12, 2, 1, 1)) == grid(bswa_mask(12, 2, 1)));
}

TEST_CASE("masks: causal and labels") {
    check_grid(causal_mask(4), {"#...", "##..", "###.", "####"});
    Mask mk = bswa_mask(5, 2, 1);
    CHECK(mk.row_axis.pos == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(mk.col_axis.group == std::vector<int>{0, 0, 1, 1, 2});
    CHECK(mk.col_axis.fam == std::vector<int>{-1, -1, -1, -1, -1});
    CHECK(mk.row_axis.label[4] == "4");
    CHECK(mk.title == "BSWA B=2 M=1, T=5");
}

// ---- boundary conventions ------------------------------------------------------------------

TEST_CASE("masks: BSWA boundaries: first block, partial last block, M=0, M >= T/B, T < B") {
    // first block: no memory exists, causal only; partial last block (T=5): 4 sees 2..4
    check_grid(bswa_mask(5, 2, 1), {"#....", "##...", "###..", "####.", "..###"});
    // M = 0: each block on its own, causal inside
    check_grid(bswa_mask(6, 3, 0), {"#.....", "##....", "###...", "...#..", "...##.", "...###"});
    // M >= T/B: every earlier block is memory, so BSWA is causal (spec: "exactly full")
    CHECK(grid(bswa_mask(9, 2, 5)) == grid(causal_mask(9)));
    // T < B: one partial block, causal
    CHECK(grid(bswa_mask(3, 8, 2)) == grid(causal_mask(3)));
    // SWA wider than the sequence is causal; w = 1 is the diagonal
    CHECK(grid(swa_mask(5, 9)) == grid(causal_mask(5)));
    check_grid(swa_mask(3, 1), {"#..", ".#.", "..#"});
}

TEST_CASE("masks: FAM block view, steady state (tau = M)") {
    // B=2 M=1 F=2, tau=1: cols [mem 0 1 | F1.0 F1.1 | 2 3], rows [2 3 | F2.0 F2.1]
    Mask mk = fam_block_mask(2, 1, 2, 1, 2);
    check_grid(mk, {
                       "#####.",  // token 2: memory block 0, FAM, itself
                       "######",  // token 3: memory block 0, FAM, 2..3
                       "..####",  // F2.0: FAM + the whole block, no memory
                       "..####",  // F2.1
                   });
    CHECK(mk.col_axis.pos == std::vector<int>{0, 1, -1, -1, 2, 3});
    CHECK(mk.col_axis.fam == std::vector<int>{-1, -1, 0, 1, -1, -1});
    CHECK(mk.col_axis.group == std::vector<int>{0, 0, 1, 1, 1, 1});
    CHECK(mk.col_axis.label == std::vector<std::string>{"0", "1", "F1.0", "F1.1", "2", "3"});
    CHECK(mk.row_axis.pos == std::vector<int>{2, 3, -1, -1});
    CHECK(mk.row_axis.fam == std::vector<int>{-1, -1, 0, 1});
    CHECK(mk.row_axis.group == std::vector<int>{1, 1, 1, 1});
    CHECK(mk.row_axis.label == std::vector<std::string>{"2", "3", "F2.0", "F2.1"});
}

// The label the convention gives row j of F_k: "F<k>.<j>" (docs/spec.md). Written
// here from the rule, not taken from masks.cpp.
static std::string want_fam(int k, int j) { return "F" + std::to_string(k) + "." + std::to_string(j); }

TEST_CASE("masks: FAM labels follow the index convention: block tau reads F_tau, its FAM rows write F_{tau+1}") {
    struct Case {
        int B, M, F, tau, len;
    };
    // several tau, with and without memory, memory that does not exist yet (tau < M),
    // F > B, and a partial block (no FAM rows: it writes nothing)
    for (Case cs : {Case{4, 1, 2, 1, 4}, Case{4, 1, 2, 0, 4}, Case{4, 0, 3, 5, 4}, Case{2, 3, 1, 1, 2},
                    Case{2, 2, 3, 7, 2}, Case{4, 1, 2, 3, 3}, Case{3, 0, 2, 12, 1}}) {
        INFO("B=" << cs.B << " M=" << cs.M << " F=" << cs.F << " tau=" << cs.tau << " len=" << cs.len);
        const Mask mk = fam_block_mask(cs.B, cs.M, cs.F, cs.tau, cs.len);
        // rows: the block's token positions, then (complete blocks only) row j of F_{tau+1}
        std::vector<std::string> rows;
        for (int i = 0; i < cs.len; i++) rows.push_back(std::to_string(cs.tau * cs.B + i));
        if (cs.len == cs.B)
            for (int j = 0; j < cs.F; j++) rows.push_back(want_fam(cs.tau + 1, j));
        CHECK(mk.row_axis.label == rows);
        // columns: memory positions (m<i> for a slot before block 0), row j of F_tau, the block
        std::vector<std::string> cols;
        for (int c = 0; c < cs.M * cs.B; c++) {
            int pos = (cs.tau - cs.M) * cs.B + c;
            cols.push_back(pos >= 0 ? std::to_string(pos) : "m" + std::to_string(c));
        }
        for (int j = 0; j < cs.F; j++) cols.push_back(want_fam(cs.tau, j));
        for (int i = 0; i < cs.B; i++) cols.push_back(std::to_string(cs.tau * cs.B + i));
        CHECK(mk.col_axis.label == cols);
        // the FAM rows' label names the FAM the timeline puts right after block tau
        if (cs.len == cs.B && cs.F > 0) {
            const int T = (cs.tau + 1) * cs.B;
            const Mask tl = fam_timeline_mask(T, cs.B, cs.M, cs.F);
            const int last = tl.rows - cs.F;  // F_{tau+1} closes the timeline of tau+1 complete blocks
            for (int j = 0; j < cs.F; j++) CHECK(tl.row_axis.label[last + j] == mk.row_axis.label[cs.len + j]);
        }
    }
}

TEST_CASE("masks: FAM timeline labels: F_k's rows before block k, F_{k+1} after block k") {
    for (int T : {1, 3, 8, 9, 10}) {
        const int B = 4, M = 1, F = 2;
        INFO("T=" << T);
        std::vector<std::string> want;
        for (int k = 0;; k++) {
            if (k == 0 || k * B <= T)  // F_k exists once k blocks are complete
                for (int j = 0; j < F; j++) want.push_back(want_fam(k, j));
            if (k * B >= T) break;
            for (int t = k * B; t < T && t < (k + 1) * B; t++) want.push_back(std::to_string(t));
        }
        const Mask mk = fam_timeline_mask(T, B, M, F);
        CHECK(mk.row_axis.label == want);
        CHECK(mk.col_axis.label == want);
    }
}

TEST_CASE("masks: FAM block view boundaries: first block, tau < M, len < B, F > B, F = 0, M = 0") {
    // first block (tau = 0): the one memory block does not exist
    check_grid(fam_block_mask(2, 1, 2, 0, 2), {"..###.", "..####", "..####", "..####"});
    // tau < M: B=2 M=3 F=1, tau=1; memory = blocks -2, -1 (absent, all 0) and 0
    Mask mk = fam_block_mask(2, 3, 1, 1, 2);
    check_grid(mk, {"....####.", "....#####", "......###"});
    CHECK(mk.col_axis.pos == std::vector<int>{-1, -1, -1, -1, 0, 1, -1, 2, 3});
    CHECK(mk.col_axis.group == std::vector<int>{-2, -2, -1, -1, 0, 0, 1, 1, 1});
    CHECK(mk.col_axis.label[0] == "m0");
    // partial block (len = 3 < B = 4): no FAM rows (no FAM update), key columns >= len all 0
    check_grid(fam_block_mask(4, 1, 2, 1, 3), {"#######...", "########..", "#########."});
    // F > B is allowed: 3 FAM rows and keys around a block of 2
    check_grid(fam_block_mask(2, 1, 3, 1, 2), {"######.", "#######", "..#####", "..#####", "..#####"});
    // F = 0: the BSWA block (Fig. 2a)
    check_grid(fam_block_mask(2, 1, 0, 1, 2), {"###.", "####"});
    // M = 0: FAM is the only way back
    check_grid(fam_block_mask(3, 0, 1, 5, 3), {"##..", "###.", "####", "####"});
}

// ---- FAM timeline against a construction written from the spec -----------------------------

// One entry of the interleaved order [FAM_0, block 0, FAM_1, block 1, ...].
struct Entry {
    bool fam;
    int k;    // FAM_k, or the block of the token
    int j;    // FAM row index, or -1
    int pos;  // token position, or -1
};

// The spec's key table, rule by rule, for a row and a column of the timeline.
static bool spec_allows(const Entry& q, const Entry& key, int B, int M) {
    if (q.fam && q.k == 0) return key.fam && key.k == 0;  // initial FAM: itself, fully
    if (q.fam)  // FAM_k compressed FAM_{k-1} and all of block k-1
        return (key.fam && key.k == q.k - 1) || (!key.fam && key.pos / B == q.k - 1);
    int tau = q.pos / B;
    if (key.fam) return key.k == tau;  // the FAM that entered the token's block
    int first = (tau - M > 0 ? tau - M : 0) * B;
    return key.pos >= first && key.pos <= q.pos;  // memory blocks whole, own block causal
}

static std::vector<Entry> spec_order(int T, int B, int F) {
    std::vector<Entry> e;
    for (int k = 0;; k++) {
        bool fam_exists = k == 0 || k * B <= T;  // FAM_k needs block k-1 complete
        bool block_exists = k * B < T;
        if (!fam_exists && !block_exists) break;
        if (fam_exists)
            for (int j = 0; j < F; j++) e.push_back({true, k, j, -1});
        for (int t = k * B; t < (k + 1) * B && t < T; t++) e.push_back({false, k, -1, t});
        if (!block_exists) break;
    }
    return e;
}

TEST_CASE("masks: FAM timeline equals the spec's key table, cell by cell") {
    int cases = 0;
    for (int T : {1, 2, 3, 5, 8, 9, 12})
        for (int B : {1, 2, 3, 4, 8})
            for (int M : {0, 1, 2})
                for (int F : {0, 1, 2, 3}) {
                    Mask mk = fam_timeline_mask(T, B, M, F);
                    std::vector<Entry> e = spec_order(T, B, F);
                    INFO("T=" << T << " B=" << B << " M=" << M << " F=" << F);
                    REQUIRE(mk.rows == (int)e.size());
                    REQUIRE(mk.cols == (int)e.size());
                    int bad = 0;
                    for (int r = 0; r < mk.rows; r++) {
                        const MaskAxis* axes[2] = {&mk.row_axis, &mk.col_axis};
                        for (const MaskAxis* a : axes) {
                            bad += a->pos[r] != e[r].pos;
                            bad += a->fam[r] != e[r].j;
                            bad += a->group[r] != e[r].k;
                        }
                        for (int c = 0; c < mk.cols; c++) bad += mk.at(r, c) != (uint8_t)spec_allows(e[r], e[c], B, M);
                    }
                    CHECK(bad == 0);
                    cases++;
                }
    CHECK(cases == 7 * 5 * 3 * 4);
}

TEST_CASE("masks: FAM timeline, small cases by hand; F = 0 is BSWA") {
    // T < B: [F0.0, 0, 1, 2], a partial block produces no FAM_1
    Mask mk = fam_timeline_mask(3, 8, 1, 1);
    check_grid(mk, {"#...", "##..", "###.", "####"});
    CHECK(mk.row_axis.label == std::vector<std::string>{"F0.0", "0", "1", "2"});
    // T=4 B=2 M=0 F=1: [F0, 0, 1, F1, 2, 3, F2]
    check_grid(fam_timeline_mask(4, 2, 0, 1), {
                                                  "#......",  // F0: only itself
                                                  "##.....",  // 0: F0 + 0
                                                  "###....",  // 1: F0 + 0..1
                                                  "###....",  // F1: F0 + block 0
                                                  "...##..",  // 2: F1 + 2 (M=0: no memory)
                                                  "...###.",  // 3: F1 + 2..3
                                                  "...###.",  // F2: F1 + block 1
                                              });
    CHECK(grid(fam_timeline_mask(10, 3, 1, 0)) == grid(bswa_mask(10, 3, 1)));
}

// ---- receptive field ---------------------------------------------------------------------------

TEST_CASE("masks: receptive field by reachability equals the closed form; FAM reaches position 0") {
    int checked = 0;
    for (int T = 1; T <= 16; T++)
        for (int B = 1; B <= 5; B++)
            for (int M = 0; M <= 3; M++)
                for (int depth = 1; depth <= 4; depth++) {
                    Mask rf = receptive_field_mask(T, B, M, depth);
                    for (int t = 0; t < T; t++) {
                        int e = receptive_field_earliest(T, B, M, depth, t);
                        INFO("T=" << T << " B=" << B << " M=" << M << " depth=" << depth << " t=" << t);
                        CHECK(e == receptive_field_earliest_closed_form(B, M, depth, t));
                        // the picture's row t is exactly the interval e..t
                        std::string want = std::string(e, '.') + std::string(t - e + 1, '#') + std::string(T - 1 - t, '.');
                        CHECK(grid(rf)[t] == want);
                        checked++;
                    }
                    // with FAM the chain FAM_k -> FAM_{k-1} -> ... reaches every earlier token
                    CHECK(fam_receptive_field_earliest(T, B, M, 1, depth, T - 1) == 0);
                    // F = 0 is BSWA again
                    CHECK(fam_receptive_field_earliest(T, B, M, 0, depth, T - 1) ==
                          receptive_field_earliest(T, B, M, depth, T - 1));
                }
    CHECK(checked == 16 * 17 / 2 * 5 * 4 * 4);
    // the paper's example: depth 18 x memory 2 blocks of 1024 = 36k tokens back
    CHECK(receptive_field_earliest_closed_form(1024, 2, 18, 40000) == (39 - 36) * 1024);
    CHECK(receptive_field_earliest_closed_form(1024, 2, 18, 1000) == 0);
}

// ---- argument checks -----------------------------------------------------------------------------

TEST_CASE("masks: bad arguments throw std::invalid_argument naming the parameter") {
    using IA = std::invalid_argument;
    CHECK(message_of<IA>([] { bswa_mask(12, 0, 1); }).find("block size B must be >= 1, got 0") != std::string::npos);
    CHECK(message_of<IA>([] { causal_mask(0); }).find("sequence length T must be >= 1, got 0") != std::string::npos);
    CHECK(message_of<IA>([] { bswa_mask(4, 2, -1); }).find("memory segments M must be >= 0, got -1") != std::string::npos);
    CHECK(message_of<IA>([] { swa_mask(4, 0); }).find("window w must be >= 1, got 0") != std::string::npos);
    CHECK(message_of<IA>([] { fam_block_mask(2, 1, -1, 0, 2); }).find("FAM length F must be >= 0, got -1") !=
          std::string::npos);
    CHECK(message_of<IA>([] { fam_block_mask(2, 1, 1, -1, 2); }).find("block index tau must be >= 0") != std::string::npos);
    CHECK(message_of<IA>([] { fam_block_mask(2, 1, 1, 0, 3); }).find("len must be in 1..B (B=2), got 3") !=
          std::string::npos);
    CHECK_THROWS_AS(fam_block_mask(2, 1, 1, 0, 0), IA);
    CHECK_THROWS_AS(fam_timeline_mask(0, 2, 1, 1), IA);
    CHECK_THROWS_AS(fam_timeline_mask(4, 2, 1, -2), IA);
    CHECK(message_of<IA>([] { receptive_field_earliest(12, 2, 1, 4, 12); }).find("token t must be in 0..T-1") !=
          std::string::npos);
    CHECK(message_of<IA>([] { receptive_field_earliest(12, 2, 1, 0, 3); }).find("depth") != std::string::npos);
    CHECK_THROWS_AS(receptive_field_earliest_closed_form(0, 1, 1, 3), IA);
    CHECK_THROWS_AS(receptive_field_mask(4, 2, 1, 0), IA);
    CHECK_THROWS_AS(fam_receptive_field_earliest(4, 2, 1, 1, 1, -1), IA);
    // valid edge values
    CHECK_NOTHROW(fam_block_mask(1, 0, 0, 0, 1));
    CHECK_NOTHROW(fam_timeline_mask(1, 1, 0, 0));
}

// ---- renderers -------------------------------------------------------------------------------------

TEST_CASE("render: ASCII has the legend, vertical column labels, boundaries and the rows") {
    std::string a = mask_ascii(bswa_mask(4, 2, 1));
    CHECK(a ==
          "BSWA B=2 M=1, T=4\n"
          "rows are queries, columns are keys: '#' attends, '.' masked; F = FAM row/key; "
          "'|' and '-' mark block boundaries\n"
          "  01 23\n"
          "0 #.|..\n"
          "1 ##|..\n"
          "  --+--\n"
          "2 ##|#.\n"
          "3 ##|##\n");
    std::string f = mask_ascii(fam_block_mask(2, 1, 1, 1, 2));
    CHECK(f.find("rows are queries, columns are keys") != std::string::npos);
    CHECK(f.find("\n        F\n        1\n        .\n") != std::string::npos);  // F1.0 stands on top
    CHECK(f.find("\n     01 0 23\n") != std::string::npos);
    CHECK(f.find("\n   2 ##|#|#.\n") != std::string::npos);
    CHECK(f.find("\nF2.0 ..|#|##\n") != std::string::npos);
}

TEST_CASE("render: SVG is self-contained, titled, and has one filled cell per 1") {
    for (const Mask& mk : {bswa_mask(12, 2, 1), fam_block_mask(4, 1, 2, 1, 4), fam_timeline_mask(10, 4, 1, 2),
                           swa_mask(12, 3)}) {
        std::string s = mask_svg(mk);
        INFO(mk.title);
        CHECK(s.rfind("<svg", 0) == 0);
        CHECK(s.find("</svg>") != std::string::npos);
        CHECK(s.find("<title>" + mk.title + "</title>") != std::string::npos);
        CHECK(count(s, "class=\"on") == ones(mk));
        CHECK(count(s, "<text") == count(s, "</text>"));
        CHECK(s.find("href") == std::string::npos);  // no external resources
        CHECK(s.find(">key<") != std::string::npos);
        CHECK(s.find(">query<") != std::string::npos);
        int fam_ones = 0;
        for (int r = 0; r < mk.rows; r++)
            for (int c = 0; c < mk.cols; c++)
                fam_ones += mk.at(r, c) && (mk.row_axis.fam[r] >= 0 || mk.col_axis.fam[c] >= 0);
        CHECK(count(s, "class=\"on fam\"") == fam_ones);
    }
    // tick labels from the axes on small masks
    std::string s = mask_svg(fam_block_mask(2, 1, 2, 1, 2));
    CHECK(s.find(">F1.1</text>") != std::string::npos);  // a FAM key: row 1 of F_1
    CHECK(s.find(">F2.0</text>") != std::string::npos);  // a FAM query row: its update writes F_2
    // large masks merge runs, so there are fewer rects than ones
    Mask big = bswa_mask(200, 16, 2);
    std::string b = mask_svg(big);
    CHECK(count(b, "class=\"on") > 0);
    CHECK(count(b, "class=\"on") < ones(big) / 4);
    CHECK_THROWS_AS(mask_svg(big, -1), std::invalid_argument);
}

// A PNG decoded to RGB, [h, w, 3], and how many of its pixels have one colour.
struct Decoded {
    int w = 0, h = 0;
    std::vector<uint8_t> px;
    int count(uint8_t r, uint8_t g, uint8_t b, int y0 = 0, int y1 = 1 << 30) const {
        int n = 0;
        for (int y = y0; y < std::min(h, y1); y++)
            for (int x = 0; x < w; x++) {
                const uint8_t* p = &px[((size_t)y * w + x) * 3];
                n += p[0] == r && p[1] == g && p[2] == b;
            }
        return n;
    }
};
static Decoded decode_png(const std::string& bytes) {
    Decoded d;
    int comp = 0;
    unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), (int)bytes.size(), &d.w,
                                             &d.h, &comp, 3);
    REQUIRE(p != nullptr);
    d.px.assign(p, p + (size_t)d.w * d.h * 3);
    stbi_image_free(p);
    return d;
}

TEST_CASE("render: PNGs carry a title, labels and a legend around the grid; files are written atomically") {
    Mask mk = bswa_mask(12, 2, 1);
    const std::string png = mask_png_bytes(mk, 3);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    Decoded d = decode_png(png);
    // the grid (12 cells of 3 px, 5 boundary lines, a frame) plus text around it
    CHECK(d.w > 12 * 3 + 5 + 2 + 100);
    CHECK(d.h > 12 * 3 + 5 + 2 + 100);
    CHECK(d.count(34, 34, 34, 0, 30) > 50);  // the title's dark text in the top rows
    CHECK(d.count(70, 120, 190) >= ones(mk) * 9);  // every attended cell, 3 x 3 blue pixels (and a legend swatch)
    // a larger cell makes a larger picture
    CHECK(decode_png(mask_png_bytes(mk, 6)).h > d.h);
    std::string path = tmp_path("mask.png");
    mask_png(path, fam_timeline_mask(9, 2, 1, 2));
    CHECK(file_exists(path));
    CHECK(!file_exists(path + ".tmp"));
    std::remove(path.c_str());

    // heatmap: [2, 3] values, 4 px cells; the NaN cell is hatched, not a colour of the scale
    float v[6] = {0.0f, 0.5f, 1.0f, 0.25f, std::nanf(""), 0.75f};
    std::string hp = tmp_path("heat.png");
    heatmap_png(hp, v, 2, 3, 4, "attention");
    Decoded h = decode_png(read_file(hp));
    CHECK(h.w > 3 * 4);
    CHECK(h.count(222, 222, 222) > 0);  // the hatch ...
    CHECK(h.count(150, 150, 150) > 0);  // ... and its stripes
    std::remove(hp.c_str());
    std::string hs = heatmap_svg(v, 2, 3, 10, "attention <weights>");
    CHECK(hs.rfind("<svg", 0) == 0);
    CHECK(hs.find("attention &lt;weights&gt;") != std::string::npos);
    CHECK_THROWS_AS(heatmap_svg(v, 0, 3, 10, "x"), std::invalid_argument);
    CHECK_THROWS_AS(heatmap_png(hp, nullptr, 2, 3, 4, "x"), std::invalid_argument);
}

TEST_CASE("render: heatmap SVG titles wrap instead of being cut; masked cells are hatched") {
    // a title far longer than the picture is wide: every word is still in the SVG
    const std::string title = "block 1, head 0: rows t2 t3 F2.0 F2.1, keys 0 1 F1.0 F1.1 2 3, a title that goes on and on";
    Mask mk = fam_block_mask(2, 1, 2, 1, 2);
    std::vector<float> w((size_t)mk.rows * mk.cols, 0.0f);
    for (int r = 0; r < mk.rows; r++) {
        int n = 0;
        for (int c = 0; c < mk.cols; c++) n += mk.at(r, c);
        for (int c = 0; c < mk.cols; c++)
            if (mk.at(r, c)) w[(size_t)r * mk.cols + c] = 1.0f / n;
    }
    for (const Mask* m : std::vector<const Mask*>{nullptr, &mk}) {
        std::string s = heatmap_svg(w.data(), mk.rows, mk.cols, 20, title, m);
        size_t from = 0;
        int lines = 0;
        std::string text;
        while ((from = s.find("font-weight=\"bold\">", from)) != std::string::npos) {
            from += 19;
            text += (lines++ ? " " : "") + s.substr(from, s.find("</text>", from) - from);
        }
        CHECK(lines >= 2);
        CHECK(text.find("goes on and on") != std::string::npos);
        // each masked cell is a hatched rect (runs of them merged), and the legend says so
        CHECK(count(s, "fill=\"url(#masked)\"") >= 2);
        CHECK(s.find("masked") != std::string::npos);
    }
    // with the mask, the axes carry its labels
    std::string s = heatmap_svg(w.data(), mk.rows, mk.cols, 20, "x", &mk);
    CHECK(s.find(">F2.1</text>") != std::string::npos);
    CHECK(s.find(">F1.0</text>") != std::string::npos);
}

TEST_CASE("render: .npy round-trips the exact 0/1 values") {
    Mask mk = fam_timeline_mask(7, 3, 1, 2);
    std::string path = tmp_path("mask.npy");
    mask_npy(path, mk);
    std::vector<int> shape;
    std::vector<float> back = npy_load(path, &shape);
    CHECK(shape == std::vector<int>{mk.rows, mk.cols});
    REQUIRE(back.size() == mk.m.size());
    int bad = 0;
    for (size_t i = 0; i < back.size(); i++) bad += back[i] != (float)mk.m[i];
    CHECK(bad == 0);
    std::remove(path.c_str());
}

// ---- the command line --------------------------------------------------------------------------------

TEST_CASE("cli: fam mask writes npy/svg/png, and refuses bad arguments with a clear message") {
    std::string npy = tmp_path("cli.npy");
    CHECK(run_cli(cmd_mask, {"--kind", "bswa", "--len", "12", "--block", "2", "--mem", "2", "--format", "npy",
                             "--out", npy}) == 0);
    std::vector<int> shape;
    std::vector<float> back = npy_load(npy, &shape);
    Mask want = bswa_mask(12, 2, 2);
    CHECK(shape == std::vector<int>{12, 12});
    int bad = 0;
    for (size_t i = 0; i < back.size(); i++) bad += back[i] != (float)want.m[i];
    CHECK(bad == 0);
    std::remove(npy.c_str());
    std::string svg = tmp_path("cli.svg");
    CHECK(run_cli(cmd_mask, {"--kind", "fam", "--block", "4", "--fam", "2", "--format", "svg", "--out", svg}) == 0);
    CHECK(file_exists(svg));
    std::remove(svg.c_str());

    auto usage = [](std::vector<std::string> a) {
        return message_of<UsageError>([&] { run_cli(cmd_mask, a); });
    };
    CHECK(usage({"--kind", "bswa", "--len", "12", "--block", "0"}).find("--block must be in [1,") != std::string::npos);
    CHECK(usage({"--kind", "nope", "--len", "12"}).find("--kind must be one of causal|swa|bswa|fam, got 'nope'") !=
          std::string::npos);
    CHECK(usage({"--kind", "bswa"}).find("needs --len T") != std::string::npos);
    CHECK(usage({"--kind", "swa", "--len", "5", "--block", "2"}).find("--block does not apply to --kind swa") !=
          std::string::npos);
    CHECK(usage({"--kind", "fam", "--len", "5"}).find("--len does not apply to --view block") != std::string::npos);
    CHECK(usage({"--kind", "fam", "--view", "timeline", "--len", "5", "--index", "1"}).find("--index") !=
          std::string::npos);
    CHECK(usage({"--kind", "causal", "--len", "4", "--format", "png"}).find("needs --out FILE") != std::string::npos);
    CHECK(usage({"--kind", "causal", "--len", "x"}).find("--len expects an integer") != std::string::npos);
    CHECK(usage({"--kind", "fam", "--view", "sideways"}).find("--view must be one of") != std::string::npos);
    CHECK(usage({"--len", "4"}).find("missing required option --kind") != std::string::npos);
    CHECK(usage({"--kind", "fam", "--block", "4096", "--mem", "4096"}).find("cells") != std::string::npos);
}

TEST_CASE("cli: fam receptive-field refuses bad arguments") {
    auto usage = [](std::vector<std::string> a) {
        return message_of<UsageError>([&] { run_cli(cmd_receptive_field, a); });
    };
    CHECK(usage({"--block", "2", "--mem", "1", "--depth", "0", "--len", "12"}).find("--depth must be in [1,") !=
          std::string::npos);
    CHECK(usage({"--block", "2", "--mem", "1", "--depth", "4"}).find("missing required option --len") !=
          std::string::npos);
    CHECK(run_cli(cmd_receptive_field, {"--block", "2", "--mem", "1", "--depth", "4", "--len", "12"}) == 0);
    CHECK(run_cli(cmd_receptive_field, {"--block", "2", "--mem", "1", "--depth", "4", "--len", "12", "--json"}) == 0);
}
