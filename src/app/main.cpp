// main.cpp: `fam SUBCOMMAND [options]`, the project's one command-line tool.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "blas.h"
#include "config.h"
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
    std::fprintf(out,
                 "\nevery subcommand also takes --max-memory BYTES (default 4G): configs, files and runs\n"
                 "needing more are refused before anything is allocated (docs/robustness.md).\n"
                 "errors: one line 'fam CMD: error: ...', exit 2 for usage, 1 for bad files or failed writes.\n");
}

// ---- one error path (docs/robustness.md) ----------------------------------------------
// Whatever a command throws becomes one line "fam CMD: error: <what, where,
// expected>" on stderr. Exit 2 for a usage error (a flag, a value, a config the
// flags describe), 1 for everything else (a bad file, a failed write, no memory).

// Library texts that mean nothing to a user, as sentences.
static std::string sentence(const std::exception& e) {
    std::string m = e.what();
    if (m == "stoi" || m == "stol" || m == "stoll" || m == "stoul" || m == "stoull" || m == "stof" || m == "stod")
        return "a number in the input is malformed or out of range (" + m + ")";
    if (m.find("max_size") != std::string::npos || m == "vector::_M_default_append" ||
        m == "vector::reserve" || m == "basic_string::_M_create" || m == "basic_string::_M_replace_aux")
        return "a size is too large to allocate (" + m + "); the input asks for more than this program can hold";
    if (m.rfind("[json.exception.", 0) == 0) {
        size_t close = m.find("] ");
        return "malformed JSON: " + (close == std::string::npos ? m : m.substr(close + 2));
    }
    return m;
}

// One line: newlines folded, and the "fam CMD: " a message may already carry not repeated.
static void print_error(const std::string& cmd, std::string msg) {
    const std::string self = "fam " + cmd + ": ";
    if (msg.rfind(self, 0) == 0) msg = msg.substr(self.size());
    for (char& c : msg)
        if (c == '\n' || c == '\r') c = ' ';
    if (msg.size() > 600) msg = msg.substr(0, 600) + "...";
    std::fprintf(stderr, "fam %s: error: %s\n", cmd.c_str(), msg.c_str());
}

static int run_command(const Command& c, int argc, char** argv) {
    try {
        return c.run(argc, argv);
    } catch (const UsageError& e) {
        print_error(c.name, e.what());
        return 2;
    } catch (const std::bad_alloc&) {
        print_error(c.name, "out of memory: an allocation failed (lower the sizes, or check --max-memory; "
                            "docs/robustness.md)");
        return 1;
    } catch (const std::invalid_argument& e) {  // bad input: flags, config, tokens
        print_error(c.name, sentence(e));
        return 2;
    } catch (const std::exception& e) {
        print_error(c.name, sentence(e));
        return 1;
    } catch (...) {
        print_error(c.name, "an unknown error stopped the command");
        return 1;
    }
}

// Takes the options every command shares out of argv: --max-memory BYTES.
// Returns the new argc.
static int take_common_options(const std::string& cmd, int argc, char** argv) {
    int out = 0;
    for (int i = 0; i < argc; i++) {
        std::string a = argv[i], value;
        if (a == "--max-memory") {
            if (i + 1 >= argc) throw UsageError("fam " + cmd + ": --max-memory needs a value (BYTES, e.g. 8G)");
            value = argv[++i];
        } else if (a.rfind("--max-memory=", 0) == 0) {
            value = a.substr(13);
        } else {
            argv[out++] = argv[i];
            continue;
        }
        uint64_t bytes = 0;
        if (!parse_byte_count(value, &bytes) || bytes == 0)
            throw UsageError("fam " + cmd + ": --max-memory expects a byte count such as 4G, 512M or 1000000, got '" +
                             value.substr(0, 48) + "'");
        set_memory_limit(bytes);
    }
    return out;
}

// Standard output is a file like any other: a full disk (or /dev/full) must not
// end in exit 0 with the output silently lost.
static int check_stdout(const std::string& cmd, int rc) {
    std::cout.flush();
    if (rc != 0) return rc;  // the command has already said what went wrong, in one line
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) {
        const int e = errno;
        print_error(cmd, std::string("cannot write to standard output (") + (e ? std::strerror(e) : "write error") + ")");
        return rc == 0 ? 1 : rc;
    }
    return rc;
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
        return check_stdout("help", 0);
    }
    if (sub == "--version") sub = "version";
    set_common_options_help(
        "  --max-memory BYTES      refuse a model, state or run needing more memory than this\n"
        "                          (default 4G; e.g. 512M, 16G; docs/robustness.md)\n");
    for (const Command& c : kCommands) {
        if (sub != c.name) continue;
        int n = argc - 2;
        try {
            n = take_common_options(c.name, n, argv + 2);
        } catch (const UsageError& e) {
            print_error(c.name, e.what());
            return 2;
        }
        return check_stdout(c.name, run_command(c, n, argv + 2));
    }
    std::fprintf(stderr, "fam: error: unknown subcommand '%.48s' (see fam --help)\n", sub.c_str());
    return 2;
}
