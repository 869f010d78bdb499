// config.h: FamConfig, the hyperparameters of the reference model
// (docs/spec.md, "Symbols"; paper Section 2 and Table 3).
#pragma once

#include <string>

// Which keys token rows see (docs/spec.md, "Which keys a token sees").
enum class AttentionKind { Full, Bswa, Fam };

struct FamConfig {
    int V = 0;              // vocabulary size
    int D = 0;              // model width
    int H = 1;              // heads; head width Dh = D / H (must be even for RoPE)
    int N = 1;              // layers
    int Dff = 0;            // feed-forward width
    AttentionKind attention = AttentionKind::Fam;
    int B = 1;              // block size (BSWA stride)
    int M = 0;              // memory segments: previous blocks each block attends to
    int F = 0;              // FAM length per layer (0 = no FAM)
    float rope_base = 10000.0f;

    int Dh() const { return D / H; }
    // The FAM length that is actually used: F for `fam`, 0 for `bswa` and `full`.
    int fam_len() const { return attention == AttentionKind::Fam ? F : 0; }
    // Throws std::invalid_argument naming the first impossible value
    // (e.g. "D = 10 is not divisible by H = 4").
    void validate() const;
    // One line, e.g. "fam V=32 D=64 H=4 N=2 Dff=256 B=16 M=0 F=8 rope_base=10000".
    std::string describe() const;
};

const char* attention_name(AttentionKind a);           // "full" | "bswa" | "fam"
AttentionKind parse_attention(const std::string& s);    // throws std::invalid_argument
