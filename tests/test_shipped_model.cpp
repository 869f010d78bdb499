// test_shipped_model.cpp: the model shipped in models/ (what walkthroughs 05 and 07
// and lectures load instead of training) and `fam export`, which made it.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "model.h"
#include "app/cli.h"
#include "app/safetensors.h"
#include "app/tasks.h"
#include "app/train.h"
#include "temp_dir.h"

static std::string shipped_model() {
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / "models/passkey_fam.safetensors").string();
}

TEST_CASE("shipped model: models/passkey_fam.safetensors is walkthrough 05's model and retrieves pass keys") {
    ModelWeights w;
    TrainState st;
    Vocab vocab;
    load_train_checkpoint(shipped_model(), w, st, &vocab);
    const FamConfig want = passkey_model_config(vocab.size());
    CHECK(w.cfg.describe() == want.describe());
    CHECK(st.opt.m.empty());  // exported: no optimizer moments
    // it learned the task: at filler 100 (inside its training range) it read 0.74 over
    // 50 examples when shipped; 20 examples under 0.3 would mean a broken file or model
    PasskeyScore s = eval_passkey(w, vocab, 100, 20, 1, 5, 1);
    MESSAGE("shipped model, filler 100, 20 examples: exact match " << s.exact);
    CHECK(s.exact >= 0.3);
}

TEST_CASE("fam export: the same weights and vocabulary, no optimizer state; bad input refused") {
    TempDir dir;
    // a training checkpoint with optimizer moments, as fam train writes it
    ModelWeights w(passkey_model_config(passkey_vocab().size()));
    init_weights(w, 7);
    TrainState st;
    st.step = 3;
    st.opt.m.assign(w.buffer.size(), 0.25f);
    st.opt.v.assign(w.buffer.size(), 0.5f);
    TrainConfig tc;
    const std::string ckpt = dir.path + "/ckpt.safetensors", out = dir.path + "/model.safetensors";
    save_train_checkpoint(ckpt, w, st, tc, passkey_vocab());
    std::vector<std::string> args = {"--model", ckpt, "--out", out};
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(&s[0]);
    CHECK(cmd_export((int)argv.size(), argv.data()) == 0);

    SafeTensors f = safetensors_load(out);
    for (const auto& kv : f.tensors) CHECK_MESSAGE(kv.first.rfind("optim.", 0) != 0, kv.first);
    CHECK(f.metadata.count("task.vocab") == 1);
    ModelWeights w2;
    TrainState st2;
    Vocab v2;
    load_train_checkpoint(out, w2, st2, &v2);
    REQUIRE(w2.buffer.size() == w.buffer.size());
    CHECK(std::memcmp(w2.buffer.data(), w.buffer.data(), sizeof(float) * w.buffer.size()) == 0);
    CHECK(v2.size() == passkey_vocab().size());
    CHECK(std::filesystem::file_size(out) * 2 < std::filesystem::file_size(ckpt));

    // not a checkpoint: one clear error, nothing written
    std::string bad = dir.path + "/not_a_model", out2 = dir.path + "/x.safetensors";
    { std::FILE* fp = std::fopen(bad.c_str(), "wb"); std::fputs("hello", fp); std::fclose(fp); }
    std::vector<std::string> args2 = {"--model", bad, "--out", out2};
    std::vector<char*> argv2;
    for (std::string& s : args2) argv2.push_back(&s[0]);
    CHECK_THROWS(cmd_export((int)argv2.size(), argv2.data()));
    CHECK(!std::filesystem::exists(out2));
}
