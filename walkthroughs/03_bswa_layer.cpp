// 03_bswa_layer.cpp: one BSWA layer, step by step (paper §2.1, Algorithm 1), on
// a model small enough to print: D = 4, H = 2 heads of Dh = 2, B = 2, M = 1, T = 6.
// We compute block tau = 2 (tokens 4, 5) by hand with the same building blocks the
// library uses (src/layer.h, src/attention.h, src/masks.h), then check against the
// library's fam_layer_forward (src/fam_layer.cpp) and the naive path (src/naive.cpp).
//
// Docs: docs/walkthroughs/03_bswa_layer.md
// Run: build/walkthroughs/03_bswa_layer [--out DIR] [--mem M] [--head H] [--seed S]
//      (--help lists them; the defaults give the output shown in the docs)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "attention.h"
#include "blas.h"
#include "fam_layer.h"
#include "layer.h"
#include "masks.h"
#include "model.h"
#include "naive.h"
#include "ops.h"
#include "tensor.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/viz.h"

// Print rows [r0, r0+n) of a [rows, cols] buffer under a name.
// Rows are labelled row_name=first, first+1, ... (positions, not buffer indices).
static void show(const char* name, const float* x, int r0, int n, int cols, const char* row_name = "t",
                 int first = -1) {
    std::printf("      %s\n", name);
    for (int r = r0; r < r0 + n; r++) {
        std::printf("        %s=%d:", row_name, (first < 0 ? r0 : first) + r - r0);
        for (int c = 0; c < cols; c++) std::printf(" %7.3f", x[(size_t)r * cols + c]);
        std::printf("\n");
    }
}

static int run(int argc, char** argv) {
    ArgParser args("03_bswa_layer", "One BSWA layer (paper Algorithm 1), step by step.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out")
        .option("mem", "M", "memory blocks (M >= 3 = T / B: every block sees all earlier ones, i.e. full attention)", "1")
        .option("head", "H", "the head whose softmax [4/6] recomputes by hand (0 or 1)", "0")
        .option("seed", "S", "seed of the random weights", "3");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const int head = (int)args.integer("head", 0, 1);
    const std::string out = args.str("out") + "/03";
    make_dirs(out);
    blas_set_threads(1);

    FamConfig cfg;
    cfg.V = 8;
    cfg.D = 4;
    cfg.H = 2;
    cfg.N = 1;
    cfg.Dff = 8;
    cfg.attention = AttentionKind::Bswa;
    cfg.B = 2;
    cfg.M = (int)args.integer("mem", 0, 8);
    ModelWeights w(cfg);
    init_weights(w, (uint64_t)args.integer("seed", 0));
    const LayerWeights& L = w.layers[0];
    const int tokens[6] = {3, 1, 4, 1, 5, 2};
    const int T = 6, D = cfg.D, H = cfg.H, B = cfg.B, M = cfg.M, tau = 2, t0 = tau * B;

    std::printf("[1/6] %s, T = %d tokens %d %d %d %d %d %d: blocks {0,1} {2,3} {4,5}\n", cfg.describe().c_str(), T,
                tokens[0], tokens[1], tokens[2], tokens[3], tokens[4], tokens[5]);
    std::vector<float> I((size_t)T * D);
    embedding_forward(I.data(), tokens, w.tok_emb, T, D, cfg.V);  // h = tok_emb[token]
    show("I = tok_emb[token] [6, 4] (the layer input)", I.data(), 0, T, D);
    std::printf("\n");

    std::printf("[2/6] [Alg.1 step 1] Q, K, V <- QKV(PreLN(I)), every row at once; RoPE at positions 0..5\n");
    std::vector<float> pos(T);
    for (int t = 0; t < T; t++) pos[t] = (float)t;
    QkvCache qkv;
    qkv_forward(qkv, I.data(), pos.data(), T, L, cfg);
    show("q [6, 4] (heads: columns 0-1 and 2-3)", qkv.q.data(), 0, T, D);
    show("k [6, 4]", qkv.k.data(), 0, T, D);
    show("v [6, 4]", qkv.v.data(), 0, T, D);
    std::printf("\n");

    // memory: blocks max(0, tau-M)..tau-1, seen whole; a slot before block 0 does not exist
    const int mem_first = std::max(0, tau - M);
    std::string mem_text;
    if (M == 0) mem_text = "no memory (M = 0): the block sees only its own keys, causally";
    else if (mem_first == tau - 1)
        mem_text = "memory = block " + std::to_string(tau - 1) + " (keys " + std::to_string((tau - 1) * B) + ", " +
                   std::to_string((tau - 1) * B + 1) + ", seen whole), then the block's own keys, causally";
    else
        mem_text = "memory = blocks " + std::to_string(mem_first) + ".." + std::to_string(tau - 1) + " (keys " +
                   std::to_string(mem_first * B) + ".." + std::to_string(t0 - 1) + ", seen whole" +
                   (tau - M < 0 ? "; columns m<i> stand for blocks before 0, which do not exist: masked" : "") +
                   "), then the block's own keys, causally";
    std::printf("[3/6] [Alg.1 step 2] block tau = 2 (tokens 4, 5): K^ <- Concat(K_mem, K_tau,:t)\n      %s\n",
                mem_text.c_str());
    Mask mk = fam_block_mask(B, M, 0, tau, B);  // F = 0: the BSWA block view
    std::printf("%s", mask_ascii(mk).c_str());
    const int R = mk.rows, C = mk.cols;  // 2 rows, M*B + 2 keys (4 for M = 1)
    std::vector<float> q((size_t)R * D), k((size_t)C * D, 0.0f), v((size_t)C * D, 0.0f);
    std::memcpy(q.data(), &qkv.q[(size_t)t0 * D], sizeof(float) * R * D);
    for (int c = 0; c < C; c++) {  // column c holds the key at position col_axis.pos[c]; absent memory stays 0
        const int p = mk.col_axis.pos[c];
        if (p < 0) continue;
        std::memcpy(&k[(size_t)c * D], &qkv.k[(size_t)p * D], sizeof(float) * D);
        std::memcpy(&v[(size_t)c * D], &qkv.v[(size_t)p * D], sizeof(float) * D);
    }
    std::string cols_text, mem_cols;  // "2, 3, 4, 5" (labels of the key columns), "2, 3" (the memory ones)
    for (int c = 0; c < C; c++) cols_text += (c ? ", " : "") + mk.col_axis.label[c];
    for (int c = 0; c < M * B; c++) mem_cols += (c ? ", " : "") + mk.col_axis.label[c];
    {
        std::string title = "K^ [" + std::to_string(C) + ", 4] = ";
        if (M == 0) title += "k rows 4, 5 (block)";
        else if (tau - M >= 0) title += "k rows " + mem_cols + " (memory), 4, 5 (block)";
        else title += "k rows " + mem_cols + " (memory; m<i>: no block there, left 0), 4, 5 (block)";
        std::printf("      %s\n", title.c_str());
        for (int c = 0; c < C; c++) {
            std::printf("        key=%s:", mk.col_axis.label[c].c_str());
            for (int d = 0; d < D; d++) std::printf(" %7.3f", k[(size_t)c * D + d]);
            std::printf("\n");
        }
    }
    std::printf("\n");

    std::printf("[4/6] [Alg.1 step 3] a_t <- SelfAttention(q_t, K^, V^) + i_t\n");
    std::vector<float> P((size_t)H * R * C), att((size_t)R * D);
    attention_forward(att.data(), P.data(), q.data(), k.data(), v.data(), mk.m.data(), R, C, D, H);
    for (int h = 0; h < H; h++) {
        char name[160];
        std::snprintf(name, sizeof name, "P head %d [2, %d] (rows t = 4, 5; keys %s)", h, C, cols_text.c_str());
        show(name, &P[(size_t)h * R * C], 0, R, C, "t", t0);
    }
    // by hand: head `head` (columns 2h, 2h+1 of q and K^), row t = 4: scores q_4 . k_j / sqrt(Dh)
    // over the keys its mask row allows (default: 2, 3, 4; key 5 is in its future)
    const float Dh = (float)cfg.Dh();
    std::vector<double> s;
    std::string masked_text;
    double z = 0;
    for (int c = 0; c < C; c++) {
        if (!mk.at(0, c)) {
            if (mk.col_axis.pos[c] >= 0) masked_text += ", key " + mk.col_axis.label[c] + ": 0";
            continue;
        }
        const int o = head * cfg.Dh();
        s.push_back((q[o] * k[c * D + o] + q[o + 1] * k[c * D + o + 1]) / std::sqrt(Dh));
        z += std::exp(s.back());
    }
    std::printf("      by hand, head %d, t = 4: S = q.k/sqrt(2) =", head);
    for (double x : s) std::printf(" %.3f", x);
    std::printf(" -> softmax");
    for (double x : s) std::printf(" %.3f", std::exp(x) / z);
    std::printf("%s\n", masked_text.c_str());
    OutCache oc;
    std::vector<float> O((size_t)R * D);
    out_forward(O.data(), oc, &I[(size_t)t0 * D], att.data(), R, L, cfg);  // A = I + att Wo^T, then step 4
    show("att = P v, heads concatenated [2, 4]", att.data(), 0, R, D, "t", t0);
    show("A = I + att Wo^T [2, 4]", oc.a.data(), 0, R, D, "t", t0);
    std::printf("\n");

    std::printf("[5/6] [Alg.1 step 4] O <- FF(PreLN(A)) + A, FF = W2 gelu(W1 x)\n");
    show("O [2, 4]: the layer's output for tokens 4, 5", O.data(), 0, R, D, "t", t0);
    std::printf("\n");

    std::printf("[6/6] the library does the same for every block in one call (fam_layer_forward)\n");
    BlockPlan plan = make_block_plan(cfg, T);
    LayerCache lc;
    std::vector<float> Olib((size_t)T * D);
    fam_layer_forward(Olib.data(), nullptr, lc, I.data(), T, 0.0f, FamIn{}, plan, L, cfg);  // F = 0: no FAM
    std::printf("      max |by hand - fam_layer_forward| on tokens 4, 5: %.1e\n",
                max_abs_diff(O.data(), &Olib[(size_t)t0 * D], O.size()));
    ModelCache mc;
    model_forward(mc, w, tokens, T);
    NaiveResult nv = naive_forward(w, tokens, T);
    std::printf("      and the whole model: max |blockwise - naive| logits = %.1e\n",
                max_abs_diff(mc.logits.data(), nv.logits.data(), nv.logits.size()));
    if (M * B >= T) {  // every block sees all earlier ones: the same weights as full causal attention
        w.cfg.attention = AttentionKind::Full;
        ModelCache mf;
        model_forward(mf, w, tokens, T);
        w.cfg.attention = AttentionKind::Bswa;
        std::printf("      M = %d >= T / B = %d: the same weights with full causal attention, max |bswa - full| logits = %.1e\n",
                    M, T / B, max_abs_diff(mc.logits.data(), mf.logits.data(), mf.logits.size()));
    }
    std::printf("\n");

    write_file_atomic(out + "/block2_mask.svg", mask_svg(mk));
    write_file_atomic(out + "/block2_P_head0.svg", heatmap_svg(P.data(), R, C, 40, "block 2, head 0: memory 2 3, block 4 5", &mk));
    npy_save_f32(out + "/block2_P.npy", P.data(), {H, R, C});
    std::printf("wrote %s/block2_mask.svg, block2_P_head0.svg, block2_P.npy\n\n", out.c_str());

    std::printf("try next: no memory: K^ loses the memory block\n"
                "            build/walkthroughs/03_bswa_layer --mem 0\n"
                "          M >= T / B: every block sees all earlier ones, BSWA equals full causal attention\n"
                "            build/walkthroughs/03_bswa_layer --mem 3\n"
                "          the by-hand softmax of [4/6] for head 1\n"
                "            build/walkthroughs/03_bswa_layer --head 1\n");
    std::printf("set a breakpoint at fam_layer_forward (src/fam_layer.cpp) under the tag [Alg.1 step 3]\n"
                "          (break-tag, tools/gdb) with `condition 1 tau == 2`: `pmask mask`, `pfloats b.k b.C 4`,\n"
                "          then after attention_forward `pfloats b.P b.len b.C` (head 0 of [4/6]; docs/debugging.md).\n");
    return 0;
}

int main(int argc, char** argv) { return run_program("03_bswa_layer", argc, argv, run); }
