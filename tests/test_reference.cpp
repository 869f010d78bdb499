// test_reference.cpp: the C++ model against the independent float64 PyTorch
// reference (tests/reference/make_fixtures.py, fixtures committed). The
// checkpoints were written by Python, so this also proves that `fam` reads
// files another program wrote following docs/spec.md.
//
// Tolerance: float32 C++ against float64 truth, relative to the largest
// magnitude of each tensor: 1e-4 for logits, FAM states, loss and every gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model.h"
#include "naive.h"
#include "app/checkpoint.h"
#include "app/npy.h"

namespace fs = std::filesystem;

static fs::path fixtures_dir() {
    // tests run from the repository root (make test); __FILE__ is tests/test_reference.cpp
    return fs::path(__FILE__).parent_path() / "reference" / "fixtures";
}

static double rel_err(const float* got, const float* want, size_t n) {
    double err = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        err = std::fmax(err, std::fabs((double)got[i] - want[i]));
        scale = std::fmax(scale, std::fabs((double)want[i]));
    }
    return err / scale;
}

static void check_rel(const std::string& name, const float* got, const float* want, size_t n, double tol) {
    double e = rel_err(got, want, n);
    char line[256];
    std::snprintf(line, sizeof line, "%-7s %-50s rel err %.2e (tol %.0e)", e <= tol ? "OK" : "NOT OK", name.c_str(), e, tol);
    if (!(e <= tol)) std::printf("%s\n", line);
    INFO(line);
    CHECK(e <= tol);
}

TEST_CASE("reference: C++ matches the float64 PyTorch fixtures (logits, FAM, loss, gradients)") {
    fs::path root = fixtures_dir();
    REQUIRE_MESSAGE(fs::is_directory(root), "fixtures missing: " << root.string());
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (!entry.is_directory()) continue;
        const fs::path dir = entry.path();
        const std::string name = dir.filename().string();
        std::ifstream jf(dir / "case.json");
        nlohmann::json cs = nlohmann::json::parse(jf);
        std::vector<int> tokens = cs["tokens"].get<std::vector<int>>();
        std::vector<int> targets = cs["targets"].get<std::vector<int>>();
        const int T = (int)tokens.size();

        ModelWeights w = load_model((dir / "model.safetensors").string());
        std::vector<int> shape;
        std::vector<float> want_logits = npy_load((dir / "logits.npy").string(), &shape);
        REQUIRE(shape == std::vector<int>{T, w.cfg.V});

        ModelCache c;
        model_forward(c, w, tokens.data(), T);
        check_rel(name + " logits (blockwise)", c.logits.data(), want_logits.data(), want_logits.size(), 1e-4);
        NaiveResult naive = naive_forward(w, tokens.data(), T);
        check_rel(name + " logits (naive)", naive.logits.data(), want_logits.data(), want_logits.size(), 1e-4);
        if (w.cfg.fam_len() > 0) {
            std::vector<float> want_fam = npy_load((dir / "fam_final.npy").string(), &shape);
            REQUIRE(shape == std::vector<int>{w.cfg.N, w.cfg.F, w.cfg.D});
            check_rel(name + " fam_final (blockwise)", c.fam_final.data(), want_fam.data(), want_fam.size(), 1e-4);
            check_rel(name + " fam_final (naive)", naive.fam_final.data(), want_fam.data(), want_fam.size(), 1e-4);
        }

        float loss = model_loss(c, w, targets.data(), nullptr);
        double want_loss = cs["loss"].get<double>();
        CHECK(std::fabs(loss - want_loss) <= 1e-4 * std::fabs(want_loss));
        ModelWeights dw(w.cfg);
        model_backward(dw, c, w, targets.data(), nullptr);
        SafeTensors grads = safetensors_load((dir / "grads.safetensors").string());
        CHECK(std::fabs(std::stod(grads.meta("loss")) - want_loss) < 1e-12);
        for (const Param& p : dw.params) {
            const Tensor& g = grads.get(p.name, p.shape);
            check_rel(name + " d" + p.name, p.data, g.data, p.size, 1e-4);
        }
        cases++;
    }
    CHECK(cases >= 6);
}
