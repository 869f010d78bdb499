// main.cpp: `fam SUBCOMMAND [options]`, the project's one command-line tool.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "blas.h"
#include "app/args.h"
#include "app/cli.h"
#include "app/version.h"

// `fam version` / `fam --version`: the version, the CPU and the OpenBLAS build and kernel.
static int cmd_version(int argc, char** /*argv*/) {
    if (argc > 0) throw UsageError("fam version: takes no arguments");
    std::fputs(version_text().c_str(), stdout);
    return 0;
}

struct Command {
    const char* name;
    int (*run)(int argc, char** argv);
    const char* summary;
};

static const Command kCommands[] = {
    {"demo", cmd_demo, "the quick-start demo: checks, the FAM mask, a FAM trained on PassKey, pictures"},
    {"mask", cmd_mask, "draw an attention mask: causal, SWA, BSWA, FAM (paper Fig. 1, 2)"},
    {"receptive-field", cmd_receptive_field, "how far back a token sees after N layers (paper Fig. 1d)"},
    {"init", cmd_init, "write a randomly initialized model (safetensors)"},
    {"forward", cmd_forward, "run a model: logits.npy and fam_final.npy (naive, blockwise or stream path)"},
    {"grad", cmd_grad, "gradients of the loss for every parameter (safetensors)"},
    {"generate", cmd_generate, "generate tokens after a prompt, constant memory (paper App. D.4)"},
    {"stream", cmd_stream, "stream a token file of any length: loss, tokens/s, peak memory"},
    {"train", cmd_train, "train on PassKey (paper Section 3.2) or on any text file, byte by byte"},
    {"eval", cmd_eval, "PassKey exact-match accuracy per filler length; text: loss by position"},
    {"export", cmd_export, "a trained model for sharing: weights and vocabulary, no optimizer state"},
    {"convert", cmd_convert, "retrofit FAM onto a trained BSWA model: same weights + the F x D fam_prompt"},
    {"viz", cmd_viz, "pictures: attention and FAM memory over time, HTML animation (paper Fig. 4, 11)"},
    {"slides", cmd_slides, "slide-ready 16:9 figures (SVG + PNG, 1920x1080) with an index page, for lectures"},
    {"version", cmd_version, "the version, the CPU and the OpenBLAS build and kernel (also: fam --version)"},
};

static void print_usage(FILE* out) {
    std::fprintf(out,
                 "usage: fam SUBCOMMAND [options]   (fam SUBCOMMAND --help for its options)\n\n"
                 "TransformerFAM reference implementation (arXiv 2404.09173).\n\nsubcommands:\n");
    for (const Command& c : kCommands) std::fprintf(out, "  %-18s %s\n", c.name, c.summary);
}

int main(int argc, char** argv) {
    // The toy models multiply small matrices, where OpenBLAS's own threads cost more
    // than they give; parallelism comes from running sequences side by side instead.
    // OPENBLAS_NUM_THREADS still overrides this.
    if (!std::getenv("OPENBLAS_NUM_THREADS")) blas_set_threads(1);
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    std::string sub = argv[1];
    if (sub == "--help" || sub == "-h" || sub == "help") {
        print_usage(stdout);
        return 0;
    }
    if (sub == "--version") sub = "version";
    for (const Command& c : kCommands) {
        if (sub != c.name) continue;
        try {
            return c.run(argc - 2, argv + 2);
        } catch (const UsageError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 2;
        } catch (const std::invalid_argument& e) {  // bad input: flags, config, tokens
            std::fprintf(stderr, "fam %s: error: %s\n", c.name, e.what());
            return 2;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "fam %s: error: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "fam: unknown subcommand '%s' (see fam --help)\n", sub.c_str());
    return 2;
}
