// test_python.cpp: the Python readers (python/famio.py) and the NumPy forward
// (python/fam_numpy.py) against files made here by the C++: models of the three
// attention kinds and their `fam forward` dumps, a `fam grad` file, a `fam train`
// checkpoint, stream states, a mask and token ids. python/check_files.py does the
// checking and prints one OK / NOT OK line per check; this test shows its output
// and fails on any NOT OK. Without python3 + numpy the test says SKIPPED (visible
// in the output) and passes: the C++ needs no Python. docs/formats.md is the
// contract both sides follow.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "model.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/tasks.h"
#include "app/train.h"
#include "model_util.h"
#include "run_cmd.h"
#include "temp_dir.h"

namespace {

// The first interpreter that imports numpy: $FAM_PYTHON, python3, /usr/bin/python3
// (a pyenv or venv python3 may not see Debian's python3-numpy). "" if none.
std::string find_python() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("FAM_PYTHON")) candidates.push_back(env);
    candidates.push_back("python3");
    candidates.push_back("/usr/bin/python3");
    for (const std::string& py : candidates) {
        int rc = 0;
        run_cmd(py + " -c 'import numpy' >/dev/null", &rc);
        if (rc == 0) return py;
    }
    return "";
}

// python/ next to tests/ (as tests/test_reference.cpp finds its fixtures).
std::string python_dir() {
    const std::filesystem::path p = std::filesystem::path(__FILE__).parent_path().parent_path() / "python";
    return p.empty() ? "python" : p.string();
}

// Calls a `fam` subcommand in process; args are what follows the command name.
int fam(int (*cmd)(int, char**), std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    return cmd((int)args.size(), argv.data());
}

std::string ids(const std::vector<int>& t) {
    std::string s;
    for (size_t i = 0; i < t.size(); i++) s += (i ? "," : "") + std::to_string(t[i]);
    return s;
}

}  // namespace

TEST_CASE("python: famio reads every kind of file and fam_numpy reproduces fam forward to 1e-5") {
    const std::string py = find_python();
    if (py.empty()) {
        MESSAGE("SKIPPED: no python3 with numpy found (tried $FAM_PYTHON, python3, /usr/bin/python3); "
                "install python3-numpy to run the Python checks");
        return;
    }
    REQUIRE_MESSAGE(std::ifstream(python_dir() + "/check_files.py").good(), "python/ not found: " << python_dir());
    TempDir dir("fam_python");
    const std::string d = dir.path + "/";
    Rng rng(5);

    // three models, one per attention kind; F > B in the FAM model, so FAM rows sit
    // before their block (docs/spec.md, "Positions"); T = 17 leaves a partial block
    struct Case {
        std::string name;
        FamConfig cfg;
    };
    const std::vector<Case> cases = {
        {"fam", make_cfg(AttentionKind::Fam, 3, 1, 4, 11, 16, 2, 3, 24)},
        {"bswa", make_cfg(AttentionKind::Bswa, 4, 2, 0, 11, 16, 2, 2, 24)},
        {"full", make_cfg(AttentionKind::Full, 4, 0, 0, 11, 16, 4, 2, 24)},
    };
    const std::vector<int> tokens = random_tokens(17, 11, rng);
    std::string forward_json, states_json;
    for (const Case& c : cases) {
        ModelWeights w = random_model(c.cfg, 11);
        save_model(d + c.name + ".safetensors", w);
        REQUIRE(fam(cmd_forward, {"--model", d + c.name + ".safetensors", "--tokens", ids(tokens), "--out",
                                  d + c.name + "_out"}) == 0);
        forward_json += std::string(forward_json.empty() ? "" : ",") + "{\"model\": \"" + c.name +
                        ".safetensors\", \"out\": \"" + c.name + "_out\", \"tokens\": [" + ids(tokens) + "]}";
        // a stream state after the first 14 tokens (fam: block 4 of B = 3 is partial)
        const std::vector<int> head(tokens.begin(), tokens.begin() + 14);
        {
            std::ofstream f(d + c.name + "_tokens.txt");
            for (int t : head) f << t << "\n";
        }
        REQUIRE(fam(cmd_stream, {"--model", d + c.name + ".safetensors", "--tokens-file",
                                 d + c.name + "_tokens.txt", "--report-every", "0", "--state-out",
                                 d + c.name + "_state.safetensors"}) == 0);
        states_json += std::string(states_json.empty() ? "" : ",") + "{\"model\": \"" + c.name +
                       ".safetensors\", \"state\": \"" + c.name + "_state.safetensors\", \"tokens\": [" + ids(head) +
                       "]}";
    }

    // gradients of the FAM model
    std::vector<int> targets = random_tokens(17, 11, rng);
    targets[0] = targets[5] = -1;
    REQUIRE(fam(cmd_grad, {"--model", d + "fam.safetensors", "--tokens", ids(tokens), "--targets",
                           ids(targets), "--out", d + "grad.safetensors"}) == 0);

    // a real `fam train` checkpoint (two tiny steps, RSP on so train.rsp_fam exists)
    REQUIRE(fam(cmd_train, {"--d-model", "16", "--heads", "2", "--layers", "2", "--d-ff", "24", "--block",
                            "4", "--fam", "2", "--filler", "0:6", "--digits", "2", "--steps", "2", "--batch", "2",
                            "--threads", "1", "--warmup", "0", "--rsp", "1", "--out", d + "train.safetensors"}) == 0);

    // the optimizer's flat order: m = 0, 1, 2, ..., v = 0, -1, -2, ... (exact in float32)
    {
        FamConfig c = make_cfg(AttentionKind::Fam, 4, 0, 2, passkey_vocab().size(), 8, 2, 2, 12);
        ModelWeights w = random_model(c, 3);
        TrainState s;
        s.step = 1;
        s.opt.step = 1;
        for (size_t i = 0; i < w.buffer.size(); i++) {
            s.opt.m.push_back((float)i);
            s.opt.v.push_back(-(float)i);
        }
        save_train_checkpoint(d + "order.safetensors", w, s, TrainConfig(), passkey_vocab());
    }

    // dumps: token ids (int32) and a BSWA mask (uint8)
    std::vector<int32_t> tok32(tokens.begin(), tokens.end());
    npy_save_i32(d + "tokens.npy", tok32.data(), {(int)tok32.size()});
    REQUIRE(fam(cmd_mask, {"--kind", "bswa", "--len", "9", "--block", "2", "--mem", "1", "--format", "npy",
                           "--out", d + "mask.npy"}) == 0);

    {
        std::ofstream m(d + "manifest.json");
        m << "{\"forward\": [" << forward_json << "],\n"
          << " \"states\": [" << states_json << "],\n"
          << " \"grad\": {\"model\": \"fam.safetensors\", \"grad\": \"grad.safetensors\", \"tokens\": [" << ids(tokens)
          << "], \"targets\": [" << ids(targets)
          << "], \"check\": [\"fam_prompt\", \"layers.0.attn.wq\", \"layers.2.ffn.w2\", \"tok_emb\", \"lm_head\"]},\n"
          << " \"train\": {\"file\": \"train.safetensors\", \"steps\": 2, \"batch\": 2, \"digits\": 2},\n"
          << " \"optimizer_order\": {\"file\": \"order.safetensors\"},\n"
          << " \"npy\": {\"tokens_npy\": \"tokens.npy\", \"tokens\": [" << ids(tokens)
          << "], \"mask\": \"mask.npy\", \"mask_T\": 9, \"mask_B\": 2, \"mask_M\": 1},\n"
          << " \"refuse\": [";
        const char* hostile[] = {"duplicate", "layers", "nan", "train_step", "vocab"};
        for (int i = 0; i < 5; i++)
            m << (i ? ", " : "") << "\"" << python_dir() << "/../tests/fuzz/corpus/checkpoint/hostile_" << hostile[i]
              << ".safetensors\"";
        m << "],\n"
          << " \"info\": [\"fam.safetensors\", \"grad.safetensors\", \"train.safetensors\", \"fam_state.safetensors\", "
             "\"full_state.safetensors\", \"fam_out/logits.npy\", \"tokens.npy\", \"mask.npy\"]}\n";
    }

    int rc = 0;
    const std::string out = run_cmd(py + " " + python_dir() + "/check_files.py " + dir.path, &rc);
    MESSAGE("python/check_files.py (" << py << "):\n" << out);
    CHECK(out.find("NOT OK") == std::string::npos);
    CHECK(out.find("\n0 failed") != std::string::npos);
    CHECK(rc == 0);

    // the CLI: `famio.py info` on a file it must refuse says so in one line and exits 1
    {
        std::ofstream bad(d + "bad.safetensors");
        bad << "not a model";
    }
    const std::string info = run_cmd(py + " " + python_dir() + "/famio.py info " + d + "bad.safetensors", &rc);
    CHECK(rc == 1);
    CHECK(info.find("famio info: error: ") != std::string::npos);
}

TEST_CASE("npy: int32 token ids round-trip; the reader refuses damaged headers with a clear error") {
    TempDir dir("fam_npy");
    const std::vector<int32_t> ids = {0, 1, 16777217, -1, 2147483647};  // 2^24 + 1 does not survive float32
    npy_save_i32(dir.path + "/t.npy", ids.data(), {5});
    std::vector<int> shape;
    CHECK(npy_load_i32(dir.path + "/t.npy", &shape) == ids);
    CHECK(shape == std::vector<int>{5});
    CHECK_THROWS_WITH(npy_load(dir.path + "/t.npy", &shape), doctest::Contains("only <f4 and |u1"));

    const std::string good = read_file(dir.path + "/t.npy");
    auto refuses = [&](std::string bytes, const char* why) {
        CHECK_THROWS_WITH_AS(npy_parse(bytes, "x.npy"), doctest::Contains(why), std::runtime_error);
    };
    refuses("", "not a .npy file");
    refuses(good.substr(0, good.size() - 1), "needs more data than the file's 19 bytes");
    refuses(good + "xyzw", "data is 24 bytes but the shape needs 20");
    refuses(good.substr(0, 30), "reaches beyond the file");
    std::string s = good;
    s.replace(s.find("(5,)"), 4, "(9999999999999,)");  // too big for int, and far beyond the data
    refuses(s, "shape dimension larger than");
    s = good;
    s.replace(s.find("(5,)"), 4, "(2000,)");  // fits int, needs more than the file holds
    refuses(s, "more data than the file");
    s = good;
    s.replace(s.find("False"), 5, "True ");
    refuses(s, "Fortran-order");
    s = good;
    s.replace(s.find("<i4"), 3, ">i4");
    refuses(s, "not supported");
    s = good;
    s[6] = 9;
    refuses(s, "version 9");
}
