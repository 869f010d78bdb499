// 02_attention_masks.cpp: attention with a mask (paper §2.1), and the masks of
// paper Fig. 1: causal, sliding window (SWA), block sliding window (BSWA), and how
// far back a token can see after several layers (the receptive field, Fig. 1d).
//
// Docs: docs/walkthroughs/02_attention_masks.md
// Run: build/walkthroughs/02_attention_masks [--out DIR] [--block B] [--mem M] [--window W] [--attend KIND]
//      [--q Q0,Q1] [--depth L] [--fam F]   (--help lists them; the defaults give the output in the docs)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "attention.h"
#include "blas.h"
#include "masks.h"
#include "tensor.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/viz.h"

static void row_counts(const Mask& mk) {
    std::printf("      ones per row:");
    for (int r = 0; r < mk.rows; r++) {
        int n = 0;
        for (int c = 0; c < mk.cols; c++) n += mk.at(r, c);
        std::printf(" %d", n);
    }
    std::printf("\n");
}

// Key positions as one writes them: "2..5" for a run of 3 or more, else "0, 1, 6, 7".
static std::string key_list(const std::vector<int>& ks) {
    if (ks.empty()) return "none";
    bool run = ks.size() >= 3;
    for (size_t i = 1; i < ks.size(); i++) run = run && ks[i] == ks[i - 1] + 1;
    if (run) return std::to_string(ks.front()) + ".." + std::to_string(ks.back());
    std::string s;
    for (size_t i = 0; i < ks.size(); i++) s += (i ? ", " : "") + std::to_string(ks[i]);
    return s;
}

static int run(int argc, char** argv) {
    ArgParser args("02_attention_masks", "Attention with a mask; the masks of paper Fig. 1.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out")
        .option("block", "B", "block size of the BSWA mask in [3/6]-[6/6]", "2")
        .option("mem", "M", "memory blocks of the BSWA mask in [3/6]-[6/6] (M = 2 is paper Fig. 1c)", "1")
        .option("window", "W", "window of the SWA mask in [2/6] (tokens, the query's own included)", "3")
        .option("attend", "KIND", "the mask [4/6] attends under: bswa (of [3/6]) | swa (of [2/6]) | causal", "bswa")
        .option("q", "Q0,Q1", "the query every row of [4/6] uses (keys point in direction 0.8 t)", "2,0")
        .option("depth", "L", "layers stacked in the receptive-field picture of [5/6]", "4")
        .option("fam", "F", "FAM rows in [6/6] (0: no FAM, which is BSWA)", "1");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const int B = (int)args.integer("block", 1, 12), M = (int)args.integer("mem", 0, 12),
              Wn = (int)args.integer("window", 1, 8), depth = (int)args.integer("depth", 1, 12),
              Ff = (int)args.integer("fam", 0, 8);
    const std::string attend = args.choice("attend", {"bswa", "swa", "causal"});
    float q0 = 2.0f, q1 = 0.0f;
    {
        const std::string qs = args.str("q");
        char* end = nullptr;
        q0 = std::strtof(qs.c_str(), &end);
        if (end == qs.c_str() || *end != ',') throw UsageError("02_attention_masks: --q expects two numbers Q0,Q1");
        const char* second = end + 1;
        q1 = std::strtof(second, &end);
        if (end == second || *end) throw UsageError("02_attention_masks: --q expects two numbers Q0,Q1");
    }
    const std::string out = args.str("out") + "/02";
    make_dirs(out);
    blas_set_threads(1);

    std::printf("[1/6] the causal mask: token t sees keys 0..t (rows are queries, columns keys)\n");
    Mask causal = causal_mask(6);
    std::printf("%s", mask_ascii(causal).c_str());
    row_counts(causal);
    std::printf("\n");

    std::printf("[2/6] sliding window, w = %d (paper Fig. 1a): token t sees t-%d..t, a window that slides by one\n", Wn,
                Wn - 1);
    Mask swa = swa_mask(8, Wn);
    std::printf("%s", mask_ascii(swa).c_str());
    row_counts(swa);
    std::printf("\n");

    {
        const std::string fig = M == 1 ? "Fig. 1b" : M == 2 ? "Fig. 1c" : "Fig. 1b-c";
        const std::string sees = M == 0 ? "sees no earlier block (M = 0: no memory)"
                                        : M == 1 ? "sees the whole\n      previous block (memory, no mask inside)"
                                                 : "sees the whole\n      previous " + std::to_string(M) +
                                                       " blocks (memory, no mask inside)";
        char rows[96];
        if (B == 2) std::snprintf(rows, sizeof rows, "rows alternate %d and %d ones", M * B + 1, M * B + 2);
        else std::snprintf(rows, sizeof rows, "rows of a block hold %d..%d ones", M * B + 1, M * B + B);
        std::printf("[3/6] block sliding window, B = %d, M = %d (paper %s, Eq. 1): a block %s and itself causally; %s\n",
                    B, M, fig.c_str(), sees.c_str(), rows);
    }
    Mask bswa = bswa_mask(8, B, M);
    std::printf("%s", mask_ascii(bswa).c_str());
    row_counts(bswa);
    std::printf("\n");

    const Mask am = attend == "bswa" ? bswa : attend == "swa" ? swa : causal_mask(8);  // the mask of [4/6]
    std::printf("[4/6] attention under %s, one head, Dh = 2: S = q k^T / sqrt(2), P = softmax over the\n"
                "      allowed keys (masked entries exactly 0), out = P v\n",
                attend == "bswa" ? "that mask" : attend == "swa" ? "the SWA mask of [2/6]" : "the causal mask (T = 8)");
    const int T = 8, D = 2;
    Tensor q("q", {T, D}), k("k", {T, D}), v("v", {T, D});
    // keys point in 8 directions; every query looks the same way; v = (t, 1) so out[.][0] is
    // the mean position the row attends to
    for (int t = 0; t < T; t++) {
        k.at(t, 0) = std::cos(0.8f * t);
        k.at(t, 1) = std::sin(0.8f * t);
        q.at(t, 0) = q0;
        q.at(t, 1) = q1;
        v.at(t, 0) = (float)t;
        v.at(t, 1) = 1.0f;
    }
    Tensor P("P", {T, T}), o("out = P v", {T, D}), P_ref("P_naive", {T, T}), o_ref("out_naive", {T, D});
    attention_forward(o.data, P.data, q.data, k.data, v.data, am.m.data(), T, T, D, 1);
    attention_forward_naive(o_ref.data, P_ref.data, q.data, k.data, v.data, am.m.data(), T, T, D, 1);
    std::printf("%s", tensor_str(P, 8, 8, 3).c_str());
    std::printf("%s", tensor_str(o, 8, 2, 3).c_str());
    // row 5 by hand: the keys its mask allows (default BSWA: 2, 3, 4, 5); scores
    // q.k/sqrt(2) = (q0 cos(0.8 s) + q1 sin(0.8 s)) / sqrt(2), = sqrt(2) cos(0.8 s) for q = (2, 0)
    std::vector<int> allowed, masked;
    for (int s = 0; s < T; s++) (am.at(5, s) ? allowed : masked).push_back(s);
    std::vector<double> S5, e5;
    double z = 0;
    for (int s : allowed) {
        S5.push_back((q0 * std::cos(0.8 * s) + q1 * std::sin(0.8 * s)) / std::sqrt(2.0));
        e5.push_back(std::exp(S5.back()));
        z += e5.back();
    }
    char form[96];
    if (q0 == 2.0f && q1 == 0.0f) std::snprintf(form, sizeof form, "sqrt(2) cos(0.8 s)");
    else std::snprintf(form, sizeof form, "(%g cos(0.8 s) + %g sin(0.8 s)) / sqrt(2)", q0, q1);
    std::printf("      row 5 by hand: keys %s, S = %s =", key_list(allowed).c_str(), form);
    for (double x : S5) std::printf(" %.3f", x);
    std::printf("\n                     P = exp(S) / sum =");
    for (double x : e5) std::printf(" %.3f", x / z);
    std::printf(" (sum 1)%s%s%s\n", masked.empty() ? "" : ", keys ", key_list(masked).c_str(), masked.empty() ? "" : ": 0");
    std::printf("      out[5][0] = sum_s P[5][s] * s = %.3f: the row's mean key position\n", o.at(5, 0));
    std::printf("      max |blas - naive| P = %.1e, out = %.1e\n\n", max_abs_diff(P.data, P_ref.data, P.size()),
                max_abs_diff(o.data, o_ref.data, o.size()));

    std::printf("[5/6] the receptive field (paper Fig. 1d): stack layers and each token reads what its keys\n"
                "      read. B = %d, M = %d, %d layers: row t is filled wherever a position can reach t\n", B, M, depth);
    Mask rf = receptive_field_mask(12, B, M, depth);
    std::printf("%s", mask_ascii(rf).c_str());
    std::printf("      earliest position that reaches token 11, by layers:");
    for (int d = 1; d <= 5; d++) std::printf(" %d", receptive_field_earliest(12, B, M, d, 11));
    std::printf("\n      closed form max(0, (floor(t/B) - depth*M) * B):      ");
    for (int d = 1; d <= 5; d++) std::printf(" %d", receptive_field_earliest_closed_form(B, M, d, 11));
    std::printf("\n      so about depth x M x B tokens back; the paper: 18 layers x 2k memory = 36k tokens\n\n");

    if (Ff > 0)
        std::printf("[6/6] with a FAM (F = %d) the same question has another answer: the FAM chain carries\n"
                    "      every block forward, so token 11 reaches position 0 after one layer already\n", Ff);
    else
        std::printf("[6/6] with F = 0 there is no FAM chain: the FAM model is BSWA, and so is its receptive field\n");
    for (int d = 1; d <= 3; d++)
        std::printf("      depth %d: BSWA earliest %d, FAM earliest %d\n", d, receptive_field_earliest(12, B, M, d, 11),
                    fam_receptive_field_earliest(12, B, M, Ff, d, 11));
    std::printf("\n");

    write_file_atomic(out + "/causal.svg", mask_svg(causal));
    write_file_atomic(out + "/swa.svg", mask_svg(swa));
    write_file_atomic(out + "/bswa.svg", mask_svg(bswa));
    write_file_atomic(out + "/receptive_field.svg", mask_svg(rf));
    write_file_atomic(out + "/P.svg", heatmap_svg(P.data, T, T, 28, "P = softmax(q k^T / sqrt(2)) under " + am.title, &am));
    std::printf("wrote %s/{causal,swa,bswa,receptive_field,P}.svg\n\n", out.c_str());

    std::printf("try next: predict which key each row prefers with q = (0, 2), then run\n"
                "            build/walkthroughs/02_attention_masks --q 0,2\n"
                "          attend under the sliding window of [2/6] instead of BSWA\n"
                "            build/walkthroughs/02_attention_masks --attend swa\n"
                "          two memory blocks (Fig. 1c) and how far back they reach\n"
                "            build/walkthroughs/02_attention_masks --mem 2\n"
                "          (also build/fam mask --kind bswa --len 12 --block 2 --mem 2, and build/fam receptive-field)\n");
    std::printf("set a breakpoint at attention_forward (src/attention.cpp): pass 1 computes S, pass 2 the\n"
                "          masked softmax; `p/d *mask@8` shows row 0 of the mask, `p *P@8` row 0 of P after it.\n");
    return 0;
}

int main(int argc, char** argv) { return run_program("02_attention_masks", argc, argv, run); }
