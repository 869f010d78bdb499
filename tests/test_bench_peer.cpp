// test_bench_peer.cpp: bench/peer/side_by_side.py, the table `make bench-peer`
// prints, on made-up rounds whose medians and verdicts are known. The script is
// plain Python 3 (no torch, no numpy); without python3 the test says SKIPPED and
// passes.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "run_cmd.h"
#include "temp_dir.h"

namespace {

std::string script() {
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / "bench" / "peer" / "side_by_side.py")
        .string();
}

// One train_bench --json line (the keys side_by_side.py reads).
std::string cpp_line(const std::string& config, double train, double fwd, double share, double gflop_seq) {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "{\"config\": \"%s\", \"train_tok_s\": %.0f, \"forward_tok_s\": %.0f, \"forward_gflops\": 1.0, "
                  "\"sgemm_peak_gflops\": 200.0, \"share_of_peak\": %.3f, \"train_gflops\": 1.0, "
                  "\"train_share_of_peak\": 0.5, \"forward_gflop_per_seq\": %.3f, \"threads\": 2, \"quick\": false, "
                  "\"cpu\": \"test CPU\", \"blas_core\": \"Haswell\", \"blas_core_source\": \"test\"}\n",
                  config.c_str(), train, fwd, share, gflop_seq);
    return buf;
}

std::string peer_line(const std::string& config, double train, double fwd) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"config\": \"%s\", \"train_tok_s\": %.0f, \"forward_tok_s\": %.0f, \"forward_gflops\": 1.0, "
                  "\"threads\": 2, \"quick\": false, \"cpu\": \"test CPU\", \"torch\": \"0.test\"}\n",
                  config.c_str(), train, fwd);
    return buf;
}

}  // namespace

TEST_CASE("side_by_side.py: medians over rounds, ratios within a round, goals counted per round") {
    int rc = 0;
    run_cmd("python3 -c 'pass'", &rc);
    if (rc != 0) {
        MESSAGE("SKIPPED: no python3 to run bench/peer/side_by_side.py");
        return;
    }
    TempDir dir("fam_bench_peer");
    const std::string toy = "FAM D64 H4 N2 Dff256 B16 M0 F8 T256 bs16";
    const std::string fam = "FAM D512 H8 N6 Dff2048 B256 M1 F64 T1024 bs2";
    const std::string bswa = "BSWA D512 H8 N6 Dff2048 B256 M1 T1024 bs2";
    // three rounds; the toy's C++ / PyTorch training ratios are 12x, 8x, 9x (median 9x,
    // met in 1 of 3); D512 FAM is 1.2x BSWA's time per token in every round
    const double toy_cpp[3] = {120000, 80000, 90000}, toy_peer[3] = {10000, 10000, 10000};
    std::string args;
    for (int r = 0; r < 3; r++) {
        const std::string c = dir.path + "/c" + std::to_string(r) + ".jsonl";
        const std::string p = dir.path + "/p" + std::to_string(r) + ".jsonl";
        std::ofstream(c) << cpp_line(toy, toy_cpp[r], 2 * toy_cpp[r], 0.3, 0.083)
                         << cpp_line(fam, 1000, 3000, 0.7, 58.695) << cpp_line(bswa, 1200, 3600, 0.75, 45.164);
        std::ofstream(p) << peer_line(toy, toy_peer[r], 30000) << peer_line(fam, 300 + 50 * r, 900)
                         << peer_line(bswa, 500, 1400);
        args += " " + c + " " + p;
    }
    const std::string out = run_cmd("python3 " + script() + args, &rc);
    INFO(out);
    REQUIRE(rc == 0);
    CHECK(out.find("3 rounds") != std::string::npos);
    // the toy row: C++ median 90,000 (80,000-120,000), PyTorch 10,000, ratio 9.0x (8.0x-12.0x)
    CHECK(out.find("| 90,000 (80,000-120,000) | 10,000 (10,000-10,000) | 9.0x (8.0x-12.0x) |") != std::string::npos);
    CHECK(out.find("NOT met  FAM toy training >= 10x PyTorch: 9.000 (8.000-12.000); met in 1 of 3 rounds") !=
          std::string::npos);
    // D512 FAM against PyTorch: 1000 / 300, 350, 400 = 3.33, 2.86, 2.50 -> median 2.86, met once
    CHECK(out.find("NOT met  FAM D512 training >= 3x PyTorch: 2.857 (2.500-3.333); met in 1 of 3 rounds") !=
          std::string::npos);
    CHECK(out.find("met      D512 FAM forward >= 60% of the sgemm peak (share): 0.700") != std::string::npos);
    CHECK(out.find("met      D512 training: FAM time <= BSWA time x (1 + F/B + 5%) = x1.30: 1.200") !=
          std::string::npos);
    CHECK(out.find("= x1.300: the time ratio at equal speed per FLOP") != std::string::npos);

    // one round: plain figures, no ranges; an odd number of files is refused
    const std::string one = run_cmd("python3 " + script() + " " + dir.path + "/c0.jsonl " + dir.path + "/p0.jsonl", &rc);
    CHECK(rc == 0);
    CHECK(one.find("| 120,000 | 10,000 | 12.0x |") != std::string::npos);
    CHECK(one.find("met      FAM toy training >= 10x PyTorch: 12.000\n") != std::string::npos);
    run_cmd("python3 " + script() + " " + dir.path + "/c0.jsonl", &rc);
    CHECK(rc != 0);
}
