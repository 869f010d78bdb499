// version.h: `fam --version`, the project version and what the numbers depend on:
// the CPU and the OpenBLAS build and kernel (results are reproducible bit for bit
// only on the same kernel; README "Quick start"). Header-only so that the tests
// and the benchmarks (bench/train_bench.cpp) print the same block.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "blas.h"


constexpr const char* kFamVersion = "0.2.0";

// The "model name" of the first processor in a /proc/cpuinfo text ("unknown" if none).
inline std::string cpu_model_from_cpuinfo(const std::string& cpuinfo) {
    std::istringstream in(cpuinfo);
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, 10, "model name") != 0) continue;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        size_t b = line.find_first_not_of(" \t", colon + 1);
        if (b == std::string::npos) continue;
        return line.substr(b, line.find_last_not_of(" \t\r") + 1 - b);
    }
    return "unknown";
}

// This machine's CPU model, from /proc/cpuinfo ("unknown" where there is none).
inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::stringstream s;
    s << f.rdbuf();
    return cpu_model_from_cpuinfo(s.str());
}


// The block `fam --version` prints, one field a line:
//   fam 0.2.0
//   CPU: AMD EPYC 7B13
//   BLAS: OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64
//   BLAS kernel: Zen (chosen by OpenBLAS)
// The parenthesis says how the kernel was chosen (src/blas.h, blas_kernel_source):
// by OpenBLAS, by the user's OPENBLAS_CORETYPE, or auto-selected at start-up
// because OpenBLAS fell back to an old kernel on a CPU that has AVX2 / AVX-512.
inline std::string blas_kernel_line() {
    return std::string(blas_corename()) + " (" + blas_kernel_source() + ")";
}

inline std::string version_text() {
    return std::string("fam ") + kFamVersion + "\nCPU: " + cpu_model() + "\nBLAS: " + blas_name() +
           "\nBLAS kernel: " + blas_kernel_line() + "\n";
}
