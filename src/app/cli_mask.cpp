// cli_mask.cpp: `fam mask` and `fam receptive-field`, the paper's Fig. 1 (SWA,
// BSWA, receptive field) and Fig. 2 (BSWA and FAM attention) drawn from the same
// mask functions the attention code uses (masks.h), rendered by render.h.
//
// Output of `fam mask`: ASCII on stdout by default; --out FILE writes the chosen
// format to FILE atomically; SVG without --out goes to stdout; PNG and .npy need --out.
#include <cstdio>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "masks.h"
#include "app/args.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/safe_file.h"

// Which flags mean something for each --kind (the rest are refused, so that a
// misspelt combination never silently draws a different picture).
static const std::set<std::string>& flags_of(const std::string& kind) {
    static const std::set<std::string> causal = {"len"}, swa = {"len", "window"},
                                        bswa = {"len", "block", "mem", "depth"},
                                        fam = {"len", "block", "mem", "fam", "view", "index"};
    return kind == "causal" ? causal : kind == "swa" ? swa : kind == "bswa" ? bswa : fam;
}

// Refuse pictures whose grid would not fit comfortably in memory.
static void check_cells(long long rows, long long cols) {
    const long long limit = 1LL << 26;
    if (rows * cols > limit)
        throw UsageError("fam mask: the mask would have " + std::to_string(rows) + " x " + std::to_string(cols) +
                         " cells (limit " + std::to_string(limit) + "); use smaller --len/--block/--mem/--fam");
}

int cmd_mask(int argc, char** argv) {
    ArgParser args("fam mask",
                   "Draw an attention mask (rows are queries, columns are keys; 1 = may attend):\n"
                   "  causal   row t sees 0..t\n"
                   "  swa      row t sees t-W+1..t (paper Fig. 1a)\n"
                   "  bswa     block sliding window: M whole previous blocks + causal block (Fig. 1b/1c);\n"
                   "           --depth N draws it composed over N layers (the receptive field, Fig. 1d)\n"
                   "  fam      --view block: one complete block tau with memory, FAM keys and FAM rows\n"
                   "           (Fig. 2b, Alg. 2); --view timeline: [F_0, block 0, F_1, block 1, ...]\n"
                   "           F<k>.<j> is row j of F_k, the FAM after k blocks: block tau's FAM keys are\n"
                   "           F<tau>.<j>, its FAM query rows F<tau+1>.<j> (the FAM their update writes)\n"
                   "ascii goes to stdout unless --out is given; svg too; png and npy need --out.");
    args.option("kind", "K", "causal | swa | bswa | fam", "", true)
        .option("len", "T", "sequence length (all kinds but --kind fam --view block)")
        .option("window", "W", "swa: window in tokens, self included", "3")
        .option("block", "B", "bswa, fam: block size", "2")
        .option("mem", "M", "bswa, fam: memory segments (previous blocks seen whole)", "1")
        .option("fam", "F", "fam: FAM length (0 gives BSWA)", "2")
        .option("view", "V", "fam: block | timeline", "block")
        .option("index", "TAU", "fam --view block: block index (default: M, the first block with all its memory)")
        .option("depth", "N", "bswa: compose the mask over N layers (receptive field, Fig. 1d)", "1")
        .option("format", "FMT", "ascii | svg | png | npy", "ascii")
        .option("out", "FILE", "write to FILE (required for png and npy)")
        .option("cell", "PX", "svg, png: pixels per cell (0 = automatic)", "0")
        .example("fam mask --kind bswa --len 12 --block 2 --mem 1", "paper Fig. 1b as ASCII")
        .example("fam mask --kind fam --block 4 --mem 1 --fam 2 --format svg --out fam_block.svg",
                 "paper Fig. 2b as an SVG picture");
    if (!args.parse(argc, argv)) return 0;

    const std::string kind = args.choice("kind", {"causal", "swa", "bswa", "fam"});
    const std::string format = args.choice("format", {"ascii", "svg", "png", "npy"});
    const std::string view = args.choice("view", {"block", "timeline"});
    for (const char* f : {"len", "window", "block", "mem", "fam", "view", "index", "depth"})
        if (args.given(f) && !flags_of(kind).count(f))
            throw UsageError(std::string("fam mask: --") + f + " does not apply to --kind " + kind + " (see --help)");
    const bool block_view = kind == "fam" && view == "block";
    if (kind == "fam" && !block_view && args.given("index"))
        throw UsageError("fam mask: --index applies to --view block only");
    if (block_view && args.given("len"))
        throw UsageError("fam mask: --len does not apply to --view block (it draws one complete block of B "
                         "tokens; use --view timeline for T tokens)");
    if (!block_view && !args.given("len"))
        throw UsageError("fam mask: --kind " + kind + (kind == "fam" ? " --view timeline" : "") + " needs --len T");
    if ((format == "png" || format == "npy") && !args.given("out"))
        throw UsageError("fam mask: --format " + format + " needs --out FILE");
    if (args.given("out")) check_writable(args.str("out"), "--out");

    const int T = block_view ? 0 : (int)args.integer("len", 1, 8192);
    const int w = (int)args.integer("window", 1, 8192);
    const int B = (int)args.integer("block", 1, 4096);
    const int M = (int)args.integer("mem", 0, 4096);
    const int F = (int)args.integer("fam", 0, 4096);
    const int depth = (int)args.integer("depth", 1, 128);
    const int cell = (int)args.integer("cell", 0, 64);

    Mask mk;
    if (kind == "causal") {
        mk = causal_mask(T);
    } else if (kind == "swa") {
        mk = swa_mask(T, w);
    } else if (kind == "bswa") {
        // composing the picture costs about T^3 per layer, so keep it to picture sizes
        if (depth > 1 && T > 512) throw UsageError("fam mask: --depth above 1 needs --len <= 512, got " + std::to_string(T));
        mk = depth == 1 ? bswa_mask(T, B, M) : receptive_field_mask(T, B, M, depth);
    } else if (block_view) {
        // the steady state by default: block tau = M is the first with all M memory blocks
        const int tau = args.given("index") ? (int)args.integer("index", 0, 1 << 20) : M;
        check_cells((long long)B + F, (long long)M * B + F + B);
        mk = fam_block_mask(B, M, F, tau, B);
    } else {
        long long n = (long long)T + (long long)F * (T / B + 1);
        check_cells(n, n);
        mk = fam_timeline_mask(T, B, M, F);
    }

    const std::string out = args.given("out") ? args.str("out") : "";
    if (format == "npy") {
        mask_npy(out, mk);
    } else if (format == "png") {
        mask_png(out, mk, cell);
    } else {
        std::string text = format == "svg" ? mask_svg(mk, cell) : mask_ascii(mk);
        if (out.empty()) {
            std::fputs(text.c_str(), stdout);
            return 0;
        }
        safe_write_file(out, text);
    }
    std::printf("wrote %s (%s, %s: [%d, %d])\n", out.c_str(), format.c_str(), mk.title.c_str(), mk.rows, mk.cols);
    return 0;
}

int cmd_receptive_field(int argc, char** argv) {
    ArgParser args("fam receptive-field",
                   "How far back can the last token t = T-1 see after N layers (paper Fig. 1d, Sec. 1)?\n"
                   "BSWA: by reachability (the BSWA mask composed over N layers) beside the closed form\n"
                   "max(0, (floor(t/B) - N*M) * B). FAM: by reachability through the FAM timeline mask,\n"
                   "where each layer's FAM chain reaches back to position 0.");
    args.option("block", "B", "block size", "", true)
        .option("mem", "M", "memory segments", "", true)
        .option("depth", "N", "number of layers", "", true)
        .option("len", "T", "sequence length (the last token is t = T-1)", "", true)
        .option("fam", "F", "FAM length used for the FAM line (any F >= 1 gives the same reach)", "1")
        .flag("json", "print one line {\"earliest\": E, \"size\": S} for BSWA and nothing else")
        .example("fam receptive-field --block 4 --mem 1 --depth 3 --len 64",
                 "BSWA reaches back 3 blocks; FAM reaches position 0");
    if (!args.parse(argc, argv)) return 0;
    const int B = (int)args.integer("block", 1, 4096);
    const int M = (int)args.integer("mem", 0, 4096);
    const int depth = (int)args.integer("depth", 1, 128);
    const int T = (int)args.integer("len", 1, 4096);
    const int F = (int)args.integer("fam", 1, 64);
    const int t = T - 1;

    // the FAM line (not printed with --json) composes the timeline mask [n, n]: refuse sizes that would not fit
    long long n = (long long)T + (long long)F * (T / B + 1);
    if (!args.flag_set("json") && n * n > (1LL << 27))
        throw UsageError("fam receptive-field: the FAM timeline mask would be " + std::to_string(n) + " x " +
                         std::to_string(n) + "; use a smaller --len or --fam");

    const int earliest = receptive_field_earliest(T, B, M, depth, t);
    const int size = t - earliest + 1;
    if (args.flag_set("json")) {
        std::printf("{\"earliest\": %d, \"size\": %d}\n", earliest, size);  // the documented form, spaces included
        return 0;
    }
    const int closed = receptive_field_earliest_closed_form(B, M, depth, t);
    std::printf("receptive field of the last token t = %d (T=%d, B=%d, M=%d, %d layers)\n", t, T, B, M, depth);
    std::printf("  BSWA by reachability (the BSWA mask composed over %d layers): earliest position %d, "
                "size %d tokens (%d..%d)\n", depth, earliest, size, earliest, t);
    std::printf("  BSWA closed form max(0, (floor(t/B) - depth*M) * B) = max(0, (%d - %d*%d) * %d) = %d: %s\n",
                t / B, depth, M, B, closed, closed == earliest ? "agrees" : "DISAGREES");

    const int fam_earliest = fam_receptive_field_earliest(T, B, M, F, depth, t);
    std::printf("  FAM (F=%d) by reachability through the timeline mask over %d layers: earliest position %d, "
                "size %d tokens%s\n", F, depth, fam_earliest, t - fam_earliest + 1,
                fam_earliest == 0 ? ": every earlier token is reachable (F_k -> F_{k-1} -> ... -> block 0)"
                                  : "");
    return closed == earliest ? 0 : 1;
}
