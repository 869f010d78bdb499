// 06_streaming.cpp: streaming inference with constant memory (paper §1: "O(L)
// compute, O(1) memory"; §2.1 the ring buffer; App. D.4). A FamState
// (src/fam_state.h) holds, per layer, the FAM and a ring buffer of keys/values for
// the M memory blocks plus the current block; tokens go in one at a time
// (stream_step) or a block at a time (stream_prefill), and nothing grows.
//
// Docs: docs/walkthroughs/06_streaming.md
// Run: build/walkthroughs/06_streaming [--out DIR] [--block B] [--mem M] [--fam F] [--seed S]
//      [--save-state FILE] [--load-state FILE]   (--help lists them; the defaults give the docs' output)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "blas.h"
#include "fam_state.h"
#include "model.h"
#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/state_file.h"
#include "app/viz.h"

static double l2(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return std::sqrt(s);
}

// The picture of [6/6]: x = F_k (the FAM after k blocks, token position k*B), y =
// layer, FAM row j and dimension d; colour = the value, blue < 0 < red.
static HeatFigure fam_over_time_figure(const std::vector<float>& fam, int blocks, const FamConfig& cfg) {
    const int dims = cfg.N * cfg.F * cfg.D;  // fam is [blocks, N, F, D]
    HeatPanel p;
    p.rows = dims;
    p.cols = blocks;
    p.v.resize((size_t)dims * blocks);
    for (int k = 0; k < blocks; k++)
        for (int i = 0; i < dims; i++) p.v[(size_t)i * blocks + k] = fam[(size_t)k * dims + i];  // transpose
    p.col.name = "F_k: the FAM after k blocks (token position k*B = " + std::to_string(cfg.B) + "k)";
    for (int k = 0; k < blocks; k++) {
        p.col.label.push_back(k % 5 == 0 ? "F" + std::to_string(k) : "");
        p.col.group.push_back(0);
    }
    p.row.name = "layer, FAM row j, dim d";
    for (int i = 0; i < dims; i++) {
        const int l = i / (cfg.F * cfg.D), j = i / cfg.D % cfg.F;
        p.row.label.push_back(i % cfg.D == 0 ? "L" + std::to_string(l) + " row " + std::to_string(j) : "");
        p.row.group.push_back(i / cfg.D);  // a line between FAM rows
        p.row.fam.push_back(1);
    }
    HeatFigure f;
    f.title = "The FAM over time while streaming: every value of F_0 .. F_" + std::to_string(blocks - 1) + " (" +
              std::to_string(cfg.N) + " layers x F=" + std::to_string(cfg.F) + " rows x D=" + std::to_string(cfg.D) + ")";
    f.panels.push_back(p);
    f.cell_px = 12;
    f.row_px = 6;
    f.palette = Palette::Diverging;
    f.scale = "FAM value (blue < 0 < red)";
    f.boundary_caption = "line between FAM rows";
    f.notes.push_back("column k is F_k, the FAM after k blocks (F_0: the initial FAM, from the prompt pass); a column "
                      "changes once per block, never in between; raw values in fam_over_time.npy [blocks, N, F, D]");
    return f;
}

static int run(int argc, char** argv) {
    ArgParser args("06_streaming", "Streaming a TransformerFAM token by token with constant memory.");
    args.option("out", "DIR", "where to write the pictures", "build/walkthroughs/out")
        .option("block", "B", "block size", "4")
        .option("mem", "M", "memory blocks (0: the ring has one slot, the current block)", "1")
        .option("fam", "F", "FAM rows (0: no FAM)", "2")
        .option("seed", "S", "seed of the random weights and tokens", "6")
        .option("save-state", "FILE", "after [2/6], save the state with fam_state_save (src/app/state_file.h)")
        .option("load-state", "FILE", "after [2/6], load FILE (saved by --save-state, e.g. by another process) into a\n"
                                      "                          new FamState and continue both it and the state in memory");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    const uint64_t seed = (uint64_t)args.integer("seed", 0);
    const std::string out = args.str("out") + "/06";
    make_dirs(out);
    blas_set_threads(1);

    FamConfig cfg;
    cfg.V = 16;
    cfg.D = 16;
    cfg.H = 2;
    cfg.N = 2;
    cfg.Dff = 32;
    cfg.attention = AttentionKind::Fam;
    cfg.B = (int)args.integer("block", 1, 64);
    cfg.M = (int)args.integer("mem", 0, 16);
    cfg.F = (int)args.integer("fam", 0, 16);
    ModelWeights w(cfg);
    init_weights(w, seed);
    Rng rng(seed);
    std::vector<int> tokens(12);
    for (int& t : tokens) t = rng.randint(0, cfg.V - 1);

    std::printf("[1/6] a FamState for %s\n", cfg.describe().c_str());
    FamState st(cfg);
    stream_reset(st, w);  // the initial FAM of every layer by the prompt pass (App. B.1)
    std::printf("      per layer: the FAM [F, D] = [%d, %d] and one key/value buffer of C = F + (M+1)*B = %d rows:\n"
                "      rows 0..%d hold K^F, V^F of the FAM; then M + 1 = %d ring slots of B = %d rows (memory + current)\n",
                cfg.F, cfg.D, st.C, cfg.F - 1, cfg.M + 1, cfg.B);
    std::printf("      all buffers together: %zu bytes, allocated once\n\n", st.capacity_bytes());

    std::printf("[2/6] twelve tokens, one stream_step each; a completed block updates every layer's FAM\n");
    std::printf("      the token          | the state after it\n");
    std::printf("       t  token  block slot | len  memory blocks  the FAM of layer 0 moved by\n");
    std::vector<float> logits_stream((size_t)tokens.size() * cfg.V);
    for (size_t t = 0; t < tokens.size(); t++) {
        std::vector<float> before = stream_fam(st);
        const int tau = (int)(st.pos / cfg.B), slot = st.head;
        stream_step(st, w, tokens[t], &logits_stream[t * cfg.V]);
        std::vector<float> after = stream_fam(st);
        std::vector<float> b0(before.begin(), before.begin() + (size_t)st.F * cfg.D),
            a0(after.begin(), after.begin() + (size_t)st.F * cfg.D);
        double moved = l2(a0, b0);
        char note[96] = "0";
        if (moved > 0) std::snprintf(note, sizeof note, "%.3f  (block %d complete: Alg. 2 steps 6-8)", moved, tau);
        std::printf("      %2zu  %5d  %5d %4d | %3d  %13d  %s\n", t, tokens[t], tau, slot, st.len, st.nmem, note);
    }
    std::printf("      (slot: the ring slot tau %% (M+1) holding the token's block; len: tokens of the current\n"
                "      block so far; memory blocks: earlier blocks the next token attends to, at most M)\n");
    if (args.given("save-state")) {
        fam_state_save(args.str("save-state"), st, w);
        std::printf("      saved the state after %lld tokens to %s (fam_state_save)\n", (long long)st.pos,
                    args.str("save-state").c_str());
    }
    if (args.given("load-state")) {  // the state as another process left it, against the one still in memory
        FamState loaded(cfg), kept = st;
        fam_state_load(args.str("load-state"), loaded, w);
        const int more[4] = {1, 2, 3, 4};
        std::vector<float> la((size_t)4 * cfg.V), lb((size_t)4 * cfg.V);
        for (int i = 0; i < 4; i++) {
            stream_step(loaded, w, more[i], &la[(size_t)i * cfg.V]);
            stream_step(kept, w, more[i], &lb[(size_t)i * cfg.V]);
        }
        std::printf("      loaded %s (fam_state_load: position %lld, ring slot %d) into a new FamState;\n"
                    "      4 more tokens 1 2 3 4 through it and through the state that stayed in memory:\n"
                    "      max |loaded - in memory| logits = %.1e, FAM = %.1e\n",
                    args.str("load-state").c_str(), (long long)st.pos, st.head,
                    max_abs_diff(la.data(), lb.data(), la.size()),
                    max_abs_diff(stream_fam(loaded).data(), stream_fam(kept).data(), stream_fam(kept).size()));
    }
    std::printf("\n");

    std::printf("[3/6] the same tokens through the blockwise model (src/model.h): the same numbers\n");
    ModelCache mc;
    model_forward(mc, w, tokens.data(), (int)tokens.size());
    std::vector<float> fam_stream = stream_fam(st);
    std::printf("      max |stream - blockwise| logits = %.1e, FAM = %.1e\n\n",
                max_abs_diff(logits_stream.data(), mc.logits.data(), mc.logits.size()),
                max_abs_diff(fam_stream.data(), mc.fam_final.data(), mc.fam_final.size()));

    std::printf("[4/6] stream_prefill feeds a block at a time (one gemm per projection): equal to stream_step\n");
    FamState sp(cfg);
    stream_reset(sp, w);
    std::vector<float> logits_prefill(logits_stream.size());
    stream_prefill(sp, w, tokens.data(), (int)tokens.size(), logits_prefill.data());
    std::printf("      max |prefill - step| logits = %.1e\n\n",
                max_abs_diff(logits_prefill.data(), logits_stream.data(), logits_stream.size()));

    std::printf("[5/6] constant memory: 20000 more tokens through the same state\n");
    const size_t cap0 = st.capacity_bytes();
    std::vector<int> chunk(1000);
    auto t0 = std::chrono::steady_clock::now();
    // the FAM after every block of the first 160 tokens, for the picture: [blocks, N*F*D]
    std::vector<float> fam_over_time = fam_stream;
    int blocks_recorded = 1;
    for (int c = 0; c < 20; c++) {
        for (int& x : chunk) x = rng.randint(0, cfg.V - 1);
        if (c == 0)
            for (int i = 0; i < 160; i += cfg.B) {  // a block at a time, keeping each FAM
                stream_prefill(st, w, &chunk[i], cfg.B, nullptr);
                std::vector<float> f = stream_fam(st);
                fam_over_time.insert(fam_over_time.end(), f.begin(), f.end());
                blocks_recorded++;
            }
        const int from = c == 0 ? 160 : 0;
        stream_prefill(st, w, &chunk[from], (int)chunk.size() - from, nullptr);
        if (c % 5 == 4)
            std::printf("      after %6lld tokens: %zu bytes of state (%s)\n", (long long)st.pos, st.capacity_bytes(),
                        st.capacity_bytes() == cap0 ? "unchanged" : "GREW");
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("      %.0f tokens/s on one core (prefill); generation would use stream_step per token\n", 20000 / secs);
    FamConfig fc = cfg;
    fc.attention = AttentionKind::Full;
    ModelWeights wf(fc);
    init_weights(wf, 6);
    FamState sf(fc);
    stream_reset(sf, wf);
    const size_t f0 = sf.capacity_bytes();
    std::vector<int> some(2000, 1);
    stream_prefill(sf, wf, some.data(), (int)some.size(), nullptr);
    std::printf("      full attention for comparison keeps every key: %zu bytes at 0 tokens, %zu after 2000\n\n", f0,
                sf.capacity_bytes());

    std::printf("[6/6] the FAM over time (layer 0 and 1, F x D values per block), as a picture\n");
    npy_save_f32(out + "/fam_over_time.npy", fam_over_time.data(), {blocks_recorded, cfg.N, cfg.F, cfg.D});
    heatmap_figure_png(out + "/fam_over_time.png", fam_over_time_figure(fam_over_time, blocks_recorded, cfg));
    std::printf("      wrote %s/fam_over_time.png and .npy [%d blocks, N=%d, F=%d, D=%d]: column k = F_k, the FAM\n"
                "      after k blocks (column 0: F_0, the initial FAM); it changes once per block, never in between\n\n",
                out.c_str(), blocks_recorded, cfg.N, cfg.F, cfg.D);

    std::printf("try next: no memory: 'memory blocks' stays 0 and the ring has one slot\n"
                "            build/walkthroughs/06_streaming --mem 0\n"
                "          save the state after [2/6], load it in a new process and continue: the logits do not change\n"
                "            build/walkthroughs/06_streaming --save-state /tmp/s.safetensors\n"
                "            build/walkthroughs/06_streaming --load-state /tmp/s.safetensors\n"
                "          other sizes: a bigger state, still constant\n"
                "            build/walkthroughs/06_streaming --block 8 --mem 2 --fam 4\n"
                "          a token file of any length, peak memory printed: build/fam stream --help\n");
    std::printf("set a breakpoint at stream_step (src/fam_state.cpp) with `condition 1 st.len == %d` to stop on\n"
                "          the token that completes a block, then `finish` and `p st.head`, `p st.nmem`.\n",
                cfg.B - 1);
    return 0;
}

int main(int argc, char** argv) { return run_program("06_streaming", argc, argv, run); }
