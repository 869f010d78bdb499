// fuzz_util.h: what the libFuzzer harnesses of tests/fuzz share.
//
// Each harness hands the fuzzer's bytes to one reader, exactly as a user's
// file would reach it, and accepts only one outcome besides success: a
// std::exception (the reader's "FILE: what is wrong" line). A crash, a
// sanitizer report, an exception of another type, a hang or an allocation
// above libFuzzer's -malloc_limit_mb is a finding. `make fuzz` runs them
// (mk/fuzz.mk; tests/fuzz/README.md).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config.h"

namespace fuzz {

// A file of this process under /tmp that the readers open by name (the readers
// that take a path are fuzzed through it, so their file handling is covered too).
inline const std::string& temp_path(const char* ext) {
    static const std::string path = "/tmp/fam_fuzz_" + std::to_string(getpid()) + ext;
    return path;
}

inline void write_temp(const std::string& path, const std::string& bytes) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();  // the harness itself is broken: stop loudly
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
}

// Models the readers build are checked against the resource limit before
// anything is allocated (src/config.h); keep it well under the fuzzer's own
// -malloc_limit_mb so that a refusal, not an out-of-memory report, is the answer.
inline void set_small_memory_limit() { set_memory_limit(64ull << 20); }

}  // namespace fuzz
