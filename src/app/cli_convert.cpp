// cli_convert.cpp: `fam convert`: a trained BSWA model becomes a TransformerFAM
// model with the same weights plus the F x D `fam_prompt` (src/app/convert.h).
#include <cstdio>

#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/convert.h"

int cmd_convert(int argc, char** argv) {
    ArgParser a("fam convert",
                "Turn a trained BSWA model into a TransformerFAM model with the same weights plus the\n"
                "F x D fam_prompt (paper Section 2.2: FAM needs no new weights; App. B.1: the initial FAM\n"
                "is a learned prompt). Every other tensor is copied bit for bit; fam_prompt starts as a\n"
                "fresh model's (N(0, 1) entries, --seed). The task metadata (tokenizer, vocabulary) is\n"
                "kept; the optimizer and training state are dropped. Continue with\n"
                "`fam train --init OUT` to fine-tune.\n\n"
                "example: fam convert --model bswa.safetensors --attention fam --fam 16 --out fam.safetensors");
    a.option("model", "FILE", "a bswa model or training checkpoint", "", true)
        .option("attention", "KIND", "the attention to convert to (fam)", "fam")
        .option("fam", "F", "FAM rows per layer (>= 1)", "", true)
        .option("seed", "S", "seed of fam_prompt's initial values", "1")
        .option("out", "FILE", "where to write (.safetensors, temp file + rename)", "", true);
    if (!a.parse(argc, argv)) return 0;
    a.choice("attention", {"fam"});
    const long long F = a.integer("fam", -(1LL << 30), 1 << 20);
    if (F <= 0) throw UsageError("fam convert: --fam must be >= 1, got " + std::to_string(F));
    const std::string in = a.str("model"), out = a.str("out");
    if (out.empty()) throw UsageError("fam convert: --out must name a file");
    SafeTensors st = safetensors_load(in);
    ModelWeights bswa = model_from_safetensors(st);
    ModelWeights fam;
    try {
        fam = convert_bswa_to_fam(bswa, (int)F, (uint64_t)a.integer("seed", 0));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(in + ": " + e.what());
    }
    std::map<std::string, std::string> meta;  // the task's metadata travels along
    for (const auto& kv : st.metadata)
        if (kv.first == "task" || kv.first.rfind("task.", 0) == 0) meta[kv.first] = kv.second;
    meta["converted_from"] = bswa.cfg.describe();
    save_model(out, fam, meta);
    std::printf("wrote %s: %s\n  from %s: %s\n  %zu -> %zu parameters (+%zu = F x D = %lld x %d, fam_prompt)\n",
                out.c_str(), fam.cfg.describe().c_str(), in.c_str(), bswa.cfg.describe().c_str(), bswa.buffer.size(),
                fam.buffer.size(), fam.buffer.size() - bswa.buffer.size(), F, fam.cfg.D);
    return 0;
}
