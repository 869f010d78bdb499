// cli_viz.cpp: `fam viz`, pictures of a model at work (paper Fig. 4, Fig. 11, the
// FAM as working memory over time). The drawing lives in src/viz.h; this file
// picks the tokens (given ids or a PassKey example), runs the model(s) with the
// observer hook and prints what the memory did.
#include <cmath>
#include <cstdio>
#include <memory>

#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/safe_file.h"
#include "app/safetensors.h"
#include "app/tasks.h"
#include "app/viz.h"

// A model and, if its checkpoint carries one (`fam train`), its vocabulary.
struct LoadedModel {
    ModelWeights w;
    Vocab vocab;
    bool has_vocab = false;
};

static LoadedModel load(const std::string& path) {
    SafeTensors st = safetensors_load(path);
    LoadedModel m;
    m.w = model_from_safetensors(st);
    auto it = st.metadata.find("task.vocab");
    if (it != st.metadata.end()) {
        m.vocab = Vocab::deserialize(it->second);
        m.has_vocab = m.vocab.size() == m.w.cfg.V;
    }
    return m;
}

static std::vector<int> positions_arg(const ArgParser& a, const std::string& flag, int T) {
    std::vector<int> out;
    if (!a.given(flag)) return out;
    for (long long p : a.int_list(flag)) {
        if (p < 0 || p >= T)
            throw UsageError("--" + flag + ": position " + std::to_string(p) + " is outside the sequence [0, " +
                             std::to_string(T) + ")");
        out.push_back((int)p);
    }
    return out;
}

int cmd_viz(int argc, char** argv) {
    ArgParser a("fam viz",
                "Pictures of a model at work, written to --out DIR: attention over time (paper Fig. 4), the\n"
                "attention maps of chosen blocks with the FAM prepended (Fig. 11), the FAM state after each\n"
                "block, how much it changed and what each FAM update attended to, an HTML animation with a\n"
                "slider (one frame per block), and .npy dumps of everything drawn. Open DIR/index.html.\n"
                "With --compare FILE2 (e.g. a BSWA model) the same for FILE2 under DIR/compare/ and\n"
                "DIR/compare.html side by side. See docs/gallery.md.");
    a.option("model", "FILE", "model .safetensors (fam, bswa or full)", "", true)
        .option("tokens", "IDS", "comma-separated token ids (or use --task passkey)")
        .option("task", "NAME", "passkey: draw one PassKey example (paper App. D.1)")
        .option("filler", "L", "PassKey filler tokens", "100")
        .option("digits", "K", "PassKey key digits", "5")
        .option("seed", "S", "seed of the PassKey example", "1")
        .option("compare", "FILE2", "a second model on the same tokens (e.g. BSWA next to FAM)")
        .option("blocks", "LIST", "blocks for the Fig. 11 maps (default: first and last; PassKey: the key's blocks and the last)")
        .option("highlight", "POS", "token positions to mark (default for PassKey: the key digits)")
        .option("svg-max", "N", "write timeline SVGs only up to N timeline rows", "400")
        .option("out", "DIR", "output directory (created if missing)", "", true)
        .flag("quiet", "print nothing on success")
        .example("fam viz --model models/passkey_fam.safetensors --task passkey --filler 60 --out viz",
                 "what the shipped model's FAM wrote on a PassKey example; open viz/index.html")
        .example("fam viz --model fam.safetensors --compare bswa.safetensors --tokens 3,1,4,1,5,9,2,6 --out cmp");
    if (!a.parse(argc, argv)) return 0;
    if (a.str("out").empty()) throw UsageError("fam viz: --out is empty; expected a directory name");
    if (a.given("tokens") == a.given("task"))
        throw UsageError("fam viz: give exactly one of --tokens IDS and --task passkey");

    LoadedModel m = load(a.str("model"));
    const FamConfig& cfg = m.w.cfg;
    std::vector<int> tokens;
    VizOptions opt;
    opt.svg_max = (int)a.integer("svg-max", 0, 100000);
    PasskeyExample ex;
    const bool passkey = a.given("task");
    if (passkey) {
        if (a.str("task") != "passkey") throw UsageError("--task: only 'passkey' is known, got '" + a.str("task") + "'");
        if (!m.has_vocab) m.vocab = passkey_vocab(), m.has_vocab = true;
        if (m.vocab.size() != cfg.V)
            throw std::invalid_argument(a.str("model") + ": vocabulary size " + std::to_string(cfg.V) +
                                        " is not the PassKey vocabulary's " + std::to_string(m.vocab.size()));
        Rng rng((uint64_t)a.integer("seed", 0));
        const int digits = (int)a.integer("digits", 1, 64);
        ex = make_passkey_example(m.vocab, rng, (int)a.integer("filler", 0, 100000), digits);
        tokens = ex.tokens;
        // the key's two mentions ("The pass key is K . Remember it . K is the pass key .")
        for (int i = 0; i < digits; i++) opt.highlight.push_back(ex.key_pos + i);
        for (int i = 0; i < digits; i++) opt.highlight.push_back(ex.key_pos + digits + 4 + i);
        // the rows that predict the answer digits read the memory
        for (int i = 0; i < digits; i++) opt.queries.push_back(ex.answer_pos - 1 + i);
    } else {
        tokens = parse_ids(a, "tokens", cfg.V, false);
    }
    const int T = (int)tokens.size();
    check_forward_resources(cfg, T, 2);  // the run and its recorded pictures
    if (a.given("highlight")) opt.highlight = positions_arg(a, "highlight", T);
    std::vector<std::string> words;
    if (m.has_vocab)
        for (int t : tokens) words.push_back(m.vocab.words[t]);

    VizRun run = viz_run(m.w, tokens, words, attention_name(cfg.attention));
    if (a.given("blocks")) {
        for (long long b : a.int_list("blocks", 0, run.nblocks - 1)) opt.blocks.push_back((int)b);
    } else if (passkey) {
        opt.blocks = {ex.key_pos / run.B, (ex.key_pos + 2 * (int)ex.key.size() + 3) / run.B, run.nblocks - 1};
    }
    for (int b : opt.blocks)
        if (b < 0 || b >= run.nblocks)
            throw UsageError("--blocks: block " + std::to_string(b) + " does not exist (the sequence has " +
                             std::to_string(run.nblocks) + " blocks of " + std::to_string(run.B) + ")");

    std::unique_ptr<LoadedModel> m2;
    VizRun run2;
    if (a.given("compare")) {
        m2.reset(new LoadedModel(load(a.str("compare"))));
        check_forward_resources(m2->w.cfg, T, 2);
        if (m2->w.cfg.V != cfg.V)
            throw std::invalid_argument(a.str("compare") + ": vocabulary size " + std::to_string(m2->w.cfg.V) +
                                        " differs from --model's " + std::to_string(cfg.V));
        run2 = viz_run(m2->w, tokens, words, attention_name(m2->w.cfg.attention));
        if (run2.name == run.name) run.name += " (model)", run2.name += " (compare)";
    }

    // what to print (and to put on the pages): the PassKey answer, then what the memory did
    std::string notes;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: %s\nT = %d tokens, %d blocks of B = %d (%d complete), timeline %d rows\n",
                  a.str("model").c_str(), cfg.describe().c_str(), T, run.nblocks, run.B, run.ncomplete,
                  make_timeline(run).n);
    notes += buf;
    if (passkey) {
        std::snprintf(buf, sizeof buf,
                      "pass key %s at positions %d..%d and %d..%d (blocks %d, %d); answer rows %d..%d (block %d)\n",
                      ex.key.c_str(), ex.key_pos, ex.key_pos + (int)ex.key.size() - 1,
                      ex.key_pos + (int)ex.key.size() + 4, ex.key_pos + 2 * (int)ex.key.size() + 3, ex.key_pos / run.B,
                      (ex.key_pos + 2 * (int)ex.key.size() + 3) / run.B, ex.answer_pos - 1,
                      ex.answer_pos + (int)ex.key.size() - 2, (ex.answer_pos - 1) / run.B);
        notes += buf;
        notes += "predicted " + passkey_prediction(run.logits.data(), cfg.V, ex) + " (" + run.name + ")";
        if (m2) notes += ", " + passkey_prediction(run2.logits.data(), cfg.V, ex) + " (" + run2.name + ")";
        notes += "\n";
    }
    if (run.F > 0) {
        notes += "\nwhat the FAM wrote (per block: |dF| = change of the FAM, kept = mass on its own keys, the\n"
                 "three tokens the FAM update attended to most, mass averaged over FAM rows and heads):\n";
        for (int l = 0; l < run.N; l++) notes += memory_write_ascii(run, l, 3);
        if (!opt.highlight.empty()) {
            notes += "\nfocus (fam_write: mean mass per token; fam_read: mean mass on the FAM keys):\n";
            for (int l = 0; l < run.N; l++) {
                FocusStats s = focus_stats(run, l, opt.highlight, opt.queries);
                std::snprintf(buf, sizeof buf,
                              "layer %d: FAM update -> highlighted tokens %.3f per token vs %.3f for the other tokens "
                              "of their blocks (x%.1f)\n",
                              l, s.write_on, s.write_off, s.write_on / s.write_off);
                notes += buf;
                if (!opt.queries.empty()) {
                    std::snprintf(buf, sizeof buf,
                                  "         answer rows -> FAM keys %.3f vs %.3f for every other token row (x%.1f)\n",
                                  s.read_on, s.read_off, s.read_on / s.read_off);
                    notes += buf;
                }
            }
        }
    }
    opt.notes = notes;
    opt.title = "fam viz: " + run.name + (passkey ? " on a PassKey example (filler " + std::to_string(ex.filler_len) + ")" : "");
    std::vector<std::string> files = viz_write_all(a.str("out"), run, m2 ? &run2 : nullptr, opt);
    if (a.flag_set("quiet")) return 0;
    std::printf("%s\nwrote %zu files to %s/: open %s/index.html (overview), %s/animation.html (slider)%s\n",
                notes.c_str(), files.size(), a.str("out").c_str(), a.str("out").c_str(), a.str("out").c_str(),
                m2 ? (", " + a.str("out") + "/compare.html").c_str() : "");
    return 0;
}
