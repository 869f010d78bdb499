// config.cpp: see config.h.
#include "config.h"

#include <sstream>
#include <stdexcept>

static void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("config: " + what);
}

void FamConfig::validate() const {
    require(V >= 1, "vocabulary size V must be >= 1, got " + std::to_string(V));
    require(D >= 1, "model width D must be >= 1, got " + std::to_string(D));
    require(H >= 1, "heads H must be >= 1, got " + std::to_string(H));
    require(D % H == 0, "D = " + std::to_string(D) + " is not divisible by H = " + std::to_string(H));
    require(Dh() % 2 == 0, "head width Dh = D/H = " + std::to_string(Dh()) +
                               " must be even (RoPE rotates pairs)");
    require(N >= 1, "layers N must be >= 1, got " + std::to_string(N));
    require(Dff >= 1, "feed-forward width Dff must be >= 1, got " + std::to_string(Dff));
    require(rope_base > 0.0f, "rope_base must be > 0");
    if (attention != AttentionKind::Full) {
        require(B >= 1, "block size B must be >= 1, got " + std::to_string(B));
        require(M >= 0, "memory segments M must be >= 0, got " + std::to_string(M));
        require(F >= 0, "FAM length F must be >= 0, got " + std::to_string(F));
    }
    if (attention == AttentionKind::Bswa)
        require(F == 0, "bswa has no FAM: F must be 0, got " + std::to_string(F) +
                            " (use attention fam for a FAM)");
}

std::string FamConfig::describe() const {
    std::ostringstream os;
    os << attention_name(attention) << " V=" << V << " D=" << D << " H=" << H << " N=" << N
       << " Dff=" << Dff;
    if (attention != AttentionKind::Full) os << " B=" << B << " M=" << M;
    if (attention == AttentionKind::Fam) os << " F=" << F;
    os << " rope_base=" << rope_base;
    return os.str();
}

const char* attention_name(AttentionKind a) {
    switch (a) {
        case AttentionKind::Full: return "full";
        case AttentionKind::Bswa: return "bswa";
        case AttentionKind::Fam: return "fam";
    }
    return "?";
}

AttentionKind parse_attention(const std::string& s) {
    if (s == "full") return AttentionKind::Full;
    if (s == "bswa") return AttentionKind::Bswa;
    if (s == "fam") return AttentionKind::Fam;
    throw std::invalid_argument("attention must be full, bswa or fam, got '" + s + "'");
}
