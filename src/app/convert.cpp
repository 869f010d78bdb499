// convert.cpp: see convert.h.
#include "app/convert.h"

#include <cstring>
#include <stdexcept>
#include <string>

ModelWeights convert_bswa_to_fam(const ModelWeights& bswa, int F, uint64_t seed) {
    const FamConfig& b = bswa.cfg;
    if (b.attention == AttentionKind::Fam)
        throw std::invalid_argument("the model is already a FAM model (attention fam, F = " + std::to_string(b.F) +
                                    "): only a bswa model converts");
    if (b.attention != AttentionKind::Bswa)
        throw std::invalid_argument(std::string("the model has attention ") + attention_name(b.attention) +
                                    ": only a bswa model (blocks and memory segments) converts to fam");
    if (F <= 0) throw std::invalid_argument("the FAM length F must be >= 1, got " + std::to_string(F));
    FamConfig c = b;
    c.attention = AttentionKind::Fam;
    c.F = F;
    c.validate();
    ModelWeights fam(c);
    // fam_prompt: as a fresh FAM model's (init_weights), from the same seed
    ModelWeights fresh(c);
    init_weights(fresh, seed);
    for (const Param& p : fam.params) {
        const Param& src = p.name == "fam_prompt" ? fresh.param(p.name) : bswa.param(p.name);
        if (src.size != p.size) throw std::logic_error("convert: parameter " + p.name + " changed size");
        std::memcpy(p.data, src.data, sizeof(float) * p.size);
    }
    return fam;
}
