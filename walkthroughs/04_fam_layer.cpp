// 04_fam_layer.cpp: one TransformerFAM layer, Algorithm 2 printed line by line
// with its numbers (paper §2.2). D = 4, H = 2, B = 2, M = 1, F = 2, T = 4 tokens =
// blocks {0,1} {2,3}. Block 0 is computed quietly (its FAM update is the fresh
// one: zero residual, App. B.1); block 1, the general case, step by step; then the
// library's fam_layer_forward and the naive path must agree.
//
// Docs: docs/walkthroughs/04_fam_layer.md
// Run: build/walkthroughs/04_fam_layer [--out DIR] [--mem M] [--fam F] [--no-fresh] [--seed S]
//      (--help lists them; the defaults give the output shown in the docs)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

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

static bool verbose = false;

// Print n rows of a [n, cols] buffer, labelled name[first], name[first+1], ...
// FAM rows use the labels of docs/spec.md: name "F1." gives F1.0, F1.1 (rows of F_1).
static void show(const char* title, const float* x, int n, int cols, const char* name, int first) {
    if (!verbose) return;
    if (*title) std::printf("      %s\n", title);
    for (int r = 0; r < n; r++) {
        std::printf("        %s%d:", name, first + r);
        for (int c = 0; c < cols; c++) std::printf(" %7.3f", x[(size_t)r * cols + c]);
        std::printf("\n");
    }
}
#define SAY(...) \
    do {                                \
        if (verbose) std::printf(__VA_ARGS__); \
    } while (0)

// "F1.0, F1.1" for two rows, "F1.0 .. F1.3" for more: rows 0..F-1 of F_k.
static std::string fam_rows(int k, int F) {
    if (F <= 2) {
        std::string s;
        for (int j = 0; j < F; j++) s += (j ? ", " : "") + fam_label(k, j);
        return s;
    }
    return fam_label(k, 0) + " .. " + fam_label(k, F - 1);
}
// "0, 1" from a list of positions
static std::string pos_list(const std::vector<float>& p) {
    std::string s;
    for (size_t i = 0; i < p.size(); i++) s += (i ? ", " : "") + std::to_string((int)std::lround(p[i]));
    return s;
}

struct Fam {
    std::vector<float> x;    // [F, D] the FAM
    std::vector<float> pos;  // [F] its positions
    bool fresh = true;       // the initial FAM: its first update has a zero residual
};

// Algorithm 2 for block tau (counted from 0), with the same building blocks as
// src/fam_layer.cpp. Takes F_tau, returns F_{tau+1}; writes the block's outputs O
// into out (rows tau*B ..).
static Fam fam_block(float* out, const Fam& Fin, int tau, const QkvCache& tok, const float* I,
                     const LayerWeights& L, const FamConfig& cfg, std::vector<float>* P_out) {
    const int D = cfg.D, H = cfg.H, B = cfg.B, M = cfg.M, F = cfg.F, t0 = tau * B, len = B;
    // row labels: F_tau's rows (the FAM keys this block reads) and F_{tau+1}'s (the FAM
    // query rows, which write F_{tau+1})
    const std::string Fin_lab = "F" + std::to_string(tau) + ".", Fout_lab = "F" + std::to_string(tau + 1) + ".";
    SAY("      [Alg.2 step 1] Q_tau, K_tau, V_tau <- QKV(PreLN(I_tau)): rows t = %d, %d of [2/9]\n", t0, t0 + 1);
    show("q_tau", &tok.q[(size_t)t0 * D], len, D, "t", t0);

    SAY("\n      [Alg.2 step 2] Q^F, K^F, V^F <- QKV(PreLN(F_%d)): the FAM re-projected by this layer,\n"
        "      RoPE at the FAM's positions %s\n", tau, pos_list(Fin.pos).c_str());
    QkvCache fam;
    qkv_forward(fam, Fin.x.data(), Fin.pos.data(), F, L, cfg);
    show("q^F", fam.q.data(), F, D, Fin_lab.c_str(), 0);
    show("k^F", fam.k.data(), F, D, Fin_lab.c_str(), 0);

    const std::string mem_keys = M == 0 ? "" : M == 1 || tau - M < 0 ? "memory block " + std::to_string(tau - 1) + " | "
                                                    : "memory blocks " + std::to_string(tau - M) + ".." +
                                                          std::to_string(tau - 1) + " | ";
    SAY("\n      [Alg.2 step 3] K^ <- Concat(K_mem, K^F, K_tau,:t): keys [%sFAM | block %d]\n", mem_keys.c_str(), tau);
    Mask mk = fam_block_mask(B, M, F, tau, len);
    if (verbose) std::printf("%s", mask_ascii(mk).c_str());
    const int C = mk.cols;  // M*B + F + B
    std::vector<float> k((size_t)C * D, 0.0f), v((size_t)C * D, 0.0f);
    for (int i = 0; i < M; i++) {  // memory slot i: block tau-M+i (absent before block 0: stays 0 and masked)
        const int mb = tau - M + i;
        if (mb < 0) continue;
        std::memcpy(&k[(size_t)i * B * D], &tok.k[(size_t)mb * B * D], sizeof(float) * B * D);
        std::memcpy(&v[(size_t)i * B * D], &tok.v[(size_t)mb * B * D], sizeof(float) * B * D);
    }
    std::memcpy(&k[(size_t)M * B * D], fam.k.data(), sizeof(float) * F * D);
    std::memcpy(&v[(size_t)M * B * D], fam.v.data(), sizeof(float) * F * D);
    std::memcpy(&k[(size_t)(M * B + F) * D], &tok.k[(size_t)t0 * D], sizeof(float) * B * D);
    std::memcpy(&v[(size_t)(M * B + F) * D], &tok.v[(size_t)t0 * D], sizeof(float) * B * D);

    SAY("\n      [Alg.2 step 4] a_t <- SelfAttention(q_t, K^, V^) + i_t: block rows read memory, FAM, own prefix\n");
    std::vector<float> Pb((size_t)H * len * C), att((size_t)len * D);
    attention_forward(att.data(), Pb.data(), &tok.q[(size_t)t0 * D], k.data(), v.data(), mk.m.data(), len, C, D, H);
    std::string mem_lab, fam_lab;  // "m0 m1 | " and "F1.0 F1.1"
    for (int i = 0; i < M * B; i++) mem_lab += "m" + std::to_string(i) + (i + 1 < M * B ? " " : " | ");
    for (int j = 0; j < F; j++) fam_lab += (j ? " " : "") + fam_label(tau, j);
    const std::string keys_blk = "P head 0, block rows (keys: " + mem_lab + fam_lab + " | b0 b1)";
    show(keys_blk.c_str(), Pb.data(), len, C, "t", t0);
    if (verbose) {
        double fam_mass = 0;
        for (int h = 0; h < H; h++)
            for (int r = 0; r < len; r++)
                for (int j = 0; j < F; j++) fam_mass += Pb[((size_t)h * len + r) * C + M * B + j];
        std::printf("        \"attention to feedback\": mean mass on the FAM keys = %.3f\n", fam_mass / (H * len));
    }
    OutCache oc;
    out_forward(out + (size_t)t0 * D, oc, I + (size_t)t0 * D, att.data(), len, L, cfg);
    show("A_tau = I_tau + att Wo^T", oc.a.data(), len, D, "t", t0);

    SAY("\n      [Alg.2 step 5] O_tau <- FF(PreLN(A_tau)) + A_tau\n");
    show("O_tau (the block's output)", out + (size_t)t0 * D, len, D, "t", t0);

    SAY("\n      [Alg.2 step 6] K~ <- Concat(K^F, K_tau): the FAM keys and the WHOLE block, no memory\n"
        "      (rows %s of the mask above: the FAM queries that write F_%d)\n", fam_rows(tau + 1, F).c_str(), tau + 1);
    SAY("\n      [Alg.2 step 7] A^F <- SelfAttention(Q^F, K~, V~) + F_%d%s\n", tau,
        Fin.fresh ? "   (fresh FAM: zero residual, App. B.1)" : "");
    SAY("      [Alg.2 step 8] F_%d <- FF(PreLN(A^F)) + A^F, at the last F positions of the block\n", tau + 1);
    SAY("      (steps 6-8 are one function every path calls: fam_update, src/fam_update.cpp)\n");
    FamUpdateCache upd;
    Fam Fout;
    Fout.x.resize((size_t)F * D);
    Fout.pos.resize(F);
    Fout.fresh = false;
    fam_update(Fout.x.data(), Fout.pos.data(), upd, FamIn{Fin.x.data(), Fin.pos.data(), Fin.fresh}, fam.q.data(),
               fam.k.data(), fam.v.data(), &tok.k[(size_t)t0 * D], &tok.v[(size_t)t0 * D], t0, 0.0f, L, cfg);
    const std::string keys_fam = "P head 0, FAM rows (keys: " + fam_lab + " | b0 b1)";
    show(keys_fam.c_str(), upd.P.data(), F, F + B, Fout_lab.c_str(), 0);
    show("A^F", upd.out.a.data(), F, D, Fout_lab.c_str(), 0);
    if (verbose) std::printf("      F_%d, the FAM leaving block %d (it enters block %d), positions %s\n", tau + 1, tau,
                             tau + 1, pos_list(Fout.pos).c_str());
    show("", Fout.x.data(), F, D, Fout_lab.c_str(), 0);
    if (P_out) {  // [H, len, C] of the block rows, as the library keeps them (BlockCache::P)
        P_out->assign(Pb.begin(), Pb.end());
        P_out->insert(P_out->end(), upd.P.begin(), upd.P.begin() + (size_t)H * F * (F + B));  // then BlockCache::upd.P
    }
    return Fout;
}

static int run(int argc, char** argv) {
    ArgParser args("04_fam_layer", "One TransformerFAM layer (paper Algorithm 2), line by line.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out")
        .option("mem", "M", "memory blocks (0: the FAM is the only way back to block 0)", "1")
        .option("fam", "F", "FAM rows (0: no FAM; the program then checks that F = 0 is BSWA and stops)", "2")
        .flag("no-fresh", "treat F_0 as not fresh in the hand-written blocks: block 0's update adds F_0 as its\n"
                          "                          residual (the library keeps App. B.1's zero residual, so [5/9] disagrees)")
        .option("seed", "S", "seed of the random weights", "4");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const bool no_fresh = args.flag_set("no-fresh");
    const std::string outdir = args.str("out") + "/04";
    make_dirs(outdir);
    blas_set_threads(1);

    FamConfig cfg;
    cfg.V = 8;
    cfg.D = 4;
    cfg.H = 2;
    cfg.N = 1;
    cfg.Dff = 8;
    cfg.attention = AttentionKind::Fam;
    cfg.B = 2;
    cfg.M = (int)args.integer("mem", 0, 2);
    cfg.F = (int)args.integer("fam", 0, 4);
    ModelWeights w(cfg);
    init_weights(w, (uint64_t)args.integer("seed", 0));
    const LayerWeights& L = w.layers[0];
    const int tokens[4] = {3, 1, 4, 1};
    const int T = 4, D = cfg.D, F = cfg.F;

    verbose = true;
    std::printf("[1/9] %s, T = 4 tokens %d %d %d %d = blocks {0,1} {2,3}\n", cfg.describe().c_str(), tokens[0],
                tokens[1], tokens[2], tokens[3]);
    if (F == 0) {  // no FAM to walk: F = 0 is exactly BSWA (walkthrough 03 walks that layer)
        ModelCache mc;
        model_forward(mc, w, tokens, T);
        w.cfg.attention = AttentionKind::Bswa;  // the same weights, as a BSWA model
        ModelCache mb;
        model_forward(mb, w, tokens, T);
        std::printf("      F = 0: no FAM, nothing for Algorithm 2 to add; the same weights as a BSWA model give\n"
                    "      max |fam F=0 - bswa| logits = %.1e (a test holds this); walk that layer in\n"
                    "      build/walkthroughs/03_bswa_layer\n",
                    max_abs_diff(mc.logits.data(), mb.logits.data(), mb.logits.size()));
        return 0;
    }
    std::vector<float> I((size_t)T * D), O((size_t)T * D);
    embedding_forward(I.data(), tokens, w.tok_emb, T, D, cfg.V);
    show("I = tok_emb[token]", I.data(), T, D, "t", 0);
    Fam F0;  // [App. B.1] with one layer, the initial FAM of layer 0 is fam_prompt itself
    F0.x.assign(w.fam_prompt, w.fam_prompt + F * D);
    for (int j = 0; j < F; j++) F0.pos.push_back((float)(j - F));  // -F..-1
    const std::string f0_title = "F_0 = fam_prompt (the initial FAM of layer 0, positions " + pos_list(F0.pos) + ")";
    show(f0_title.c_str(), F0.x.data(), F, D, "F0.", 0);

    std::printf("\n[2/9] every token row's Q, K, V at once (Alg.2 step 1 for all blocks; RoPE at 0..3)\n");
    std::vector<float> pos = {0, 1, 2, 3};
    QkvCache tok;
    qkv_forward(tok, I.data(), pos.data(), T, L, cfg);
    show("k", tok.k.data(), T, D, "t", 0);

    if (no_fresh)
        std::printf("\n[3/9] block 0 quietly: no memory yet, and F_0 is treated as NOT fresh (--no-fresh): its update\n"
                    "      adds F_0 as the residual (the library keeps App. B.1's zero residual)\n");
    else
        std::printf("\n[3/9] block 0 quietly: no memory yet, and F_0 is fresh, so its update has a zero residual\n");
    verbose = false;
    F0.fresh = !no_fresh;
    Fam F1 = fam_block(O.data(), F0, 0, tok, I.data(), L, cfg, nullptr);
    verbose = true;
    const std::string f1_title = "F_1 = the FAM after block 0 (positions " + pos_list(F1.pos) + ")";
    show(f1_title.c_str(), F1.x.data(), F, D, "F1.", 0);

    std::printf("\n[4/9] block 1, Algorithm 2 line by line\n");
    std::vector<float> P1;
    Fam F2 = fam_block(O.data(), F1, 1, tok, I.data(), L, cfg, &P1);

    std::printf("\n[5/9] the library, fam_layer_forward, on the whole sequence in one call\n");
    BlockPlan plan = make_block_plan(cfg, T);
    LayerCache lc;
    std::vector<float> Olib((size_t)T * D), Flib((size_t)F * D);
    fam_layer_forward(Olib.data(), Flib.data(), lc, I.data(), T, 0.0f, FamIn{F0.x.data(), F0.pos.data(), true}, plan,
                      L, cfg);
    std::vector<float> Plib = lc.blocks[1].P;
    Plib.insert(Plib.end(), lc.blocks[1].upd.P.begin(), lc.blocks[1].upd.P.end());
    std::printf("      max |by hand - library| outputs O = %.1e, final FAM F_2 = %.1e, P of block 1 = %.1e\n",
                max_abs_diff(O.data(), Olib.data(), O.size()), max_abs_diff(F2.x.data(), Flib.data(), Flib.size()),
                max_abs_diff(P1.data(), Plib.data(), P1.size()));
    if (no_fresh)
        std::printf("      (--no-fresh: by hand, block 0's update added F_0 to A^F in step 7, so F_1 differs, and with\n"
                    "       it F_2, block 1's weights and outputs; block 0's outputs read F_0 either way and agree)\n");
    else
        std::printf("      (the library batches step 1 and steps 4-5 over all tokens: the same numbers up to the\n"
                    "       last bits, which depend on how the CPU's BLAS kernel splits the sums)\n");

    std::printf("\n[6/9] and the readable naive path (src/naive.cpp: an explicit key list per row)\n");
    ModelCache mc;
    model_forward(mc, w, tokens, T);
    NaiveResult nv = naive_forward(w, tokens, T);
    std::printf("      max |blockwise - naive| logits = %.1e, FAM = %.1e\n",
                max_abs_diff(mc.logits.data(), nv.logits.data(), nv.logits.size()),
                max_abs_diff(mc.fam_final.data(), nv.fam_final.data(), nv.fam_final.size()));

    std::printf("\n[7/9] where the FAM sits on the timeline: [F_0 | block 0 | F_1 | block 1 | F_2]\n");
    Mask tlm = fam_timeline_mask(T, cfg.B, cfg.M, F);
    std::printf("%s", mask_ascii(tlm).c_str());

    std::printf("\n[8/9] the FAM changed: |F_1 - F_0| = %.3f, |F_2 - F_1| = %.3f (L2 over all F x D values)\n",
                [&] {
                    double s = 0;
                    for (int i = 0; i < F * D; i++) s += std::pow(F1.x[i] - F0.x[i], 2);
                    return std::sqrt(s);
                }(),
                [&] {
                    double s = 0;
                    for (int i = 0; i < F * D; i++) s += std::pow(F2.x[i] - F1.x[i], 2);
                    return std::sqrt(s);
                }());

    std::printf("\n[9/9] pictures\n");
    write_file_atomic(outdir + "/block1_mask.svg", mask_svg(fam_block_mask(cfg.B, cfg.M, F, 1, cfg.B)));
    write_file_atomic(outdir + "/timeline_mask.svg", mask_svg(tlm));
    // the block view of block 1's weights, [H, B + F, C]: the block rows over [m | F_1 | block],
    // then the FAM rows (writing F_2) over [F_1 | block], 0 on the memory they never see
    const int B = cfg.B, C = cfg.M * B + F + B, H = cfg.H;
    std::vector<float> view((size_t)H * (B + F) * C, 0.0f);
    for (int h = 0; h < H; h++) {
        for (int r = 0; r < B; r++)
            for (int c = 0; c < C; c++) view[((size_t)h * (B + F) + r) * C + c] = P1[((size_t)h * B + r) * C + c];
        const float* Pf = &P1[(size_t)H * B * C + (size_t)h * F * (F + B)];
        for (int j = 0; j < F; j++)
            for (int c = 0; c < F + B; c++) view[((size_t)h * (B + F) + B + j) * C + cfg.M * B + c] = Pf[(size_t)j * (F + B) + c];
    }
    const Mask view_mask = fam_block_mask(B, cfg.M, F, 1, B);  // its labels: rows 2 3 F2.0 F2.1, keys 0 1 F1.0 F1.1 2 3
    write_file_atomic(outdir + "/block1_P_head0.svg",
                      heatmap_svg(view.data(), B + F, C, 40, "block 1, head 0: the block rows and the FAM rows that write F_2",
                                  &view_mask));
    npy_save_f32(outdir + "/block1_P.npy", view.data(), {H, B + F, C});
    std::printf("      wrote %s/block1_mask.svg, timeline_mask.svg, block1_P_head0.svg, block1_P.npy\n\n", outdir.c_str());

    std::printf("try next: no memory: the FAM is then the only way from block 1 back to block 0\n"
                "            build/walkthroughs/04_fam_layer --mem 0\n"
                "          F_0 not fresh in the hand-written blocks: the library (App. B.1's zero residual) disagrees\n"
                "            build/walkthroughs/04_fam_layer --no-fresh\n"
                "          one FAM row (or --fam 4)\n"
                "            build/walkthroughs/04_fam_layer --fam 1\n"
                "          F = 0 is exactly BSWA (walkthrough 03)\n"
                "            build/walkthroughs/04_fam_layer --fam 0\n");
    std::printf("set a breakpoint at fam_block_readable (src/naive.cpp), which reads Algorithm 2 in order:\n"
                "          `grep -n \"Alg.2 step\" src/naive.cpp`; steps 6-8 are `break fam_update`, then\n"
                "          `p in.fresh` and `p t0` (docs/debugging.md).\n");
    return 0;
}

int main(int argc, char** argv) { return run_program("04_fam_layer", argc, argv, run); }
