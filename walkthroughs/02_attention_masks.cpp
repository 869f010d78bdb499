// 02_attention_masks.cpp: attention with a mask (paper §2.1), and the masks of
// paper Fig. 1: causal, sliding window (SWA), block sliding window (BSWA), and how
// far back a token can see after several layers (the receptive field, Fig. 1d).
//
// Docs: docs/walkthroughs/02_attention_masks.md
// Run: build/walkthroughs/02_attention_masks [--out DIR]
#include <cmath>
#include <cstdio>

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

int main(int argc, char** argv) {
    ArgParser args("02_attention_masks", "Attention with a mask; the masks of paper Fig. 1.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const std::string out = args.str("out") + "/02";
    make_dirs(out);
    blas_set_threads(1);

    std::printf("[1/6] the causal mask: token t sees keys 0..t (rows are queries, columns keys)\n");
    Mask causal = causal_mask(6);
    std::printf("%s", mask_ascii(causal).c_str());
    row_counts(causal);
    std::printf("\n");

    std::printf("[2/6] sliding window, w = 3 (paper Fig. 1a): token t sees t-2..t, a window that slides by one\n");
    Mask swa = swa_mask(8, 3);
    std::printf("%s", mask_ascii(swa).c_str());
    row_counts(swa);
    std::printf("\n");

    std::printf("[3/6] block sliding window, B = 2, M = 1 (paper Fig. 1b, Eq. 1): a block sees the whole\n"
                "      previous block (memory, no mask inside) and itself causally; rows alternate 3 and 4 ones\n");
    Mask bswa = bswa_mask(8, 2, 1);
    std::printf("%s", mask_ascii(bswa).c_str());
    row_counts(bswa);
    std::printf("\n");

    std::printf("[4/6] attention under that mask, one head, Dh = 2: S = q k^T / sqrt(2), P = softmax over the\n"
                "      allowed keys (masked entries exactly 0), out = P v\n");
    const int T = 8, D = 2;
    Tensor q("q", {T, D}), k("k", {T, D}), v("v", {T, D});
    // keys point in 8 directions; every query looks the same way; v = (t, 1) so out[.][0] is
    // the mean position the row attends to
    for (int t = 0; t < T; t++) {
        k.at(t, 0) = std::cos(0.8f * t);
        k.at(t, 1) = std::sin(0.8f * t);
        q.at(t, 0) = 2.0f;
        q.at(t, 1) = 0.0f;
        v.at(t, 0) = (float)t;
        v.at(t, 1) = 1.0f;
    }
    Tensor P("P", {T, T}), o("out = P v", {T, D}), P_ref("P_naive", {T, T}), o_ref("out_naive", {T, D});
    attention_forward(o.data, P.data, q.data, k.data, v.data, bswa.m.data(), T, T, D, 1);
    attention_forward_naive(o_ref.data, P_ref.data, q.data, k.data, v.data, bswa.m.data(), T, T, D, 1);
    std::printf("%s", tensor_str(P, 8, 8, 3).c_str());
    std::printf("%s", tensor_str(o, 8, 2, 3).c_str());
    // row 5 by hand: allowed keys 2, 3, 4, 5; scores q.k/sqrt(2) = 2 cos(0.8 s) / sqrt(2)
    double e[4], z = 0;
    for (int s = 2; s <= 5; s++) z += e[s - 2] = std::exp(2.0 * std::cos(0.8 * s) / std::sqrt(2.0));
    std::printf("      row 5 by hand: keys 2..5, S = sqrt(2) cos(0.8 s) = %.3f %.3f %.3f %.3f\n",
                std::sqrt(2.0) * std::cos(1.6), std::sqrt(2.0) * std::cos(2.4), std::sqrt(2.0) * std::cos(3.2),
                std::sqrt(2.0) * std::cos(4.0));
    std::printf("                     P = exp(S) / sum = %.3f %.3f %.3f %.3f (sum 1), keys 0, 1, 6, 7: 0\n",
                e[0] / z, e[1] / z, e[2] / z, e[3] / z);
    std::printf("      out[5][0] = sum_s P[5][s] * s = %.3f: the row's mean key position\n", o.at(5, 0));
    std::printf("      max |blas - naive| P = %.1e, out = %.1e\n\n", max_abs_diff(P.data, P_ref.data, P.size()),
                max_abs_diff(o.data, o_ref.data, o.size()));

    std::printf("[5/6] the receptive field (paper Fig. 1d): stack layers and each token reads what its keys\n"
                "      read. B = 2, M = 1, 4 layers: row t is filled wherever a position can reach t\n");
    Mask rf = receptive_field_mask(12, 2, 1, 4);
    std::printf("%s", mask_ascii(rf).c_str());
    std::printf("      earliest position that reaches token 11, by layers:");
    for (int d = 1; d <= 5; d++) std::printf(" %d", receptive_field_earliest(12, 2, 1, d, 11));
    std::printf("\n      closed form max(0, (floor(t/B) - depth*M) * B):      ");
    for (int d = 1; d <= 5; d++) std::printf(" %d", receptive_field_earliest_closed_form(2, 1, d, 11));
    std::printf("\n      so about depth x M x B tokens back; the paper: 18 layers x 2k memory = 36k tokens\n\n");

    std::printf("[6/6] with a FAM (F = 1) the same question has another answer: the FAM chain carries\n"
                "      every block forward, so token 11 reaches position 0 after one layer already\n");
    for (int d = 1; d <= 3; d++)
        std::printf("      depth %d: BSWA earliest %d, FAM earliest %d\n", d, receptive_field_earliest(12, 2, 1, d, 11),
                    fam_receptive_field_earliest(12, 2, 1, 1, d, 11));
    std::printf("\n");

    write_file_atomic(out + "/causal.svg", mask_svg(causal));
    write_file_atomic(out + "/swa.svg", mask_svg(swa));
    write_file_atomic(out + "/bswa.svg", mask_svg(bswa));
    write_file_atomic(out + "/receptive_field.svg", mask_svg(rf));
    write_file_atomic(out + "/P.svg", heatmap_svg(P.data, T, T, 28, "P = softmax(q k^T / sqrt(2)) under BSWA B=2 M=1", &bswa));
    std::printf("wrote %s/{causal,swa,bswa,receptive_field,P}.svg\n\n", out.c_str());

    std::printf("try next: in [4/6] make q[t] = (0, 2) and predict which key each row prefers; swap bswa\n"
                "          for swa in [4/6]; build/fam mask --kind bswa --len 12 --block 2 --mem 2 (Fig. 1c).\n");
    std::printf("set a breakpoint at attention_forward (src/attention.cpp): pass 1 computes S, pass 2 the\n"
                "          masked softmax; `p/d *mask@8` shows row 0 of the mask, `p *P@8` row 0 of P after it.\n");
    return 0;
}
