// test_hostile.cpp: a hostile-input sweep of build/fam (docs/robustness.md).
//
// Each case runs the `fam` next to this test binary in a child process with a
// 10 s alarm and a 2 GiB address-space limit (under ASan: a 2 GiB allocation cap), and checks what a careful user
// expects of a refusal: no crash (no signal), no hang, a non-zero exit (2 for a
// usage error, 1 for a bad file or a failed write), and exactly one line on
// stderr, "fam CMD: error: ...", that contains the words naming the problem.
// The classes: bad flags, impossible configs (flags and checkpoint metadata),
// truncated and hostile checkpoints and stream states, NaN / infinite weights,
// duplicate names, devices and FIFOs as input, unwritable outputs, /dev/full as
// stdout, an output that is one of the command's inputs. Then the safe-write
// API itself: a planted symlink at the old temporary name, a user's own OUT.tmp,
// failed writes that leave the old file.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model_util.h"
#include "temp_dir.h"
#include "weights.h"
#include "app/checkpoint.h"
#include "app/safe_file.h"
#include "app/safetensors.h"
#include "app/state_file.h"
#include "app/train.h"

namespace fs = std::filesystem;

namespace {

std::string fam_binary() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    REQUIRE(n > 0);
    buf[n] = '\0';
    return (fs::path(buf).parent_path() / "fam").string();
}

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

struct Result {
    bool exited = false;  // false: killed by a signal (a crash, or the alarm: a hang)
    int code = -1, signal = 0;
    std::string out, err;
};

// Runs fam with args; stdout to `stdout_path` ("" = a temp file), stdin from /dev/null.
Result run_fam(const std::vector<std::string>& args, const std::string& dir, const std::string& stdout_path = "") {
    static const std::string bin = fam_binary();
    setenv("OPENBLAS_NUM_THREADS", "1", 1);  // inherited by the child
    const std::string out = stdout_path.empty() ? dir + "/stdout.txt" : stdout_path, err = dir + "/stderr.txt";
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
#if defined(__SANITIZE_ADDRESS__)
        // ASan reserves terabytes of shadow address space, so no RLIMIT_AS; its own
        // allocator refuses (bad_alloc) any single allocation over 2 GiB instead
        setenv("ASAN_OPTIONS", "allocator_may_return_null=1:max_allocation_size_mb=2048", 1);
#else
        struct rlimit as = {2ull << 30, 2ull << 30};  // 2 GiB of address space: a 4 GiB allocation fails
        setrlimit(RLIMIT_AS, &as);
#endif
        alarm(10);  // a hang becomes SIGALRM
        int in = open("/dev/null", O_RDONLY);
        int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0) o = open(out.c_str(), O_WRONLY);  // /dev/full
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(bin.c_str()));
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.exited = WIFEXITED(status);
    r.code = r.exited ? WEXITSTATUS(status) : -1;
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (stdout_path.empty()) r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

std::string joined(const std::vector<std::string>& args) {
    std::string s = "fam";
    for (const std::string& a : args) s += " '" + (a.size() > 60 ? a.substr(0, 60) + "..." : a) + "'";
    return s;
}

int g_cases = 0;

// One refusal: no signal, the expected exit code (0 = any non-zero), one stderr line
// "fam CMD: error: ..." containing `needle`.
void refused(const std::vector<std::string>& args, int code, const std::string& needle, const std::string& dir,
             const std::string& stdout_path = "") {
    g_cases++;
    Result r = run_fam(args, dir, stdout_path);
    INFO(joined(args));
    INFO("stderr: " << r.err);
    CHECK_MESSAGE(r.exited, "killed by signal " << r.signal << (r.signal == SIGALRM ? " (hang: over 10 s)" : ""));
    if (code) CHECK(r.code == code);
    else CHECK(r.code != 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.back() == '\n');
    const std::string cmd = args.empty() ? "" : args[0];
    CHECK(r.err.rfind("fam " + cmd + ": error: ", 0) == 0);
    CHECK(r.err.find(needle) != std::string::npos);
}

// ---- files to attack ---------------------------------------------------------------

FamConfig tiny(AttentionKind k = AttentionKind::Fam) {  // F = 2 for fam, 0 otherwise
    return make_cfg(k, /*B=*/2, /*M=*/1, /*F=*/2, /*V=*/8, /*D=*/8, /*H=*/2, /*N=*/1, /*Dff=*/16);
}

std::string le64(uint64_t v) {
    std::string s;
    for (int i = 0; i < 8; i++) s += (char)((v >> (8 * i)) & 0xff);
    return s;
}

// The model file with one metadata value replaced (a valid file otherwise).
std::string with_meta(const SafeTensors& model, const std::string& key, const std::string& value) {
    SafeTensors st = model;
    st.metadata[key] = value;
    return safetensors_serialize(st);
}

// Starts `fam args...` in the background with stdout on a pipe (its read end returned in
// *out_fd) and stderr into the file `err`, for tests that signal a running command.
pid_t spawn_fam(const std::vector<std::string>& args, const std::string& err, int* out_fd, int alarm_s = 30) {
    static const std::string bin = fam_binary();
    int p[2];
    REQUIRE(pipe(p) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(alarm_s);  // a hang becomes SIGALRM
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(p[1], 1);
        dup2(e, 2);
        close(p[0]);
        std::vector<char*> argv{const_cast<char*>(bin.c_str())};
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

// Reads the child's stdout until `lines` lines starting with "step" went by.
void wait_for_steps(int fd, int lines) {
    std::string seen;
    char buf[4096];
    int count = 0;
    while (count < lines) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        seen.append(buf, (size_t)n);
        count = 0;
        for (size_t at = seen.find("\nstep"); at != std::string::npos; at = seen.find("\nstep", at + 1)) count++;
    }
}

// The temporary files (NAME.tmp.<pid>.<random>) the safe writes left in `dir`.
int temp_files(const std::string& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
}

}  // namespace

TEST_CASE("hostile: bad flags and impossible configs are refused with one line, exit 2") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, m = d + "/m.st";
    save_model(m, [] {
        ModelWeights w(tiny());
        init_weights(w, 1);
        return w;
    }());
    const std::vector<std::string> init = {"init", "--vocab", "8", "--d-model", "8", "--heads", "2",
                                           "--layers", "1", "--d-ff", "16", "--out", d + "/new.st"};
    auto init_with = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = init;
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    int before = g_cases;
    // flags the parser refuses
    refused({"init", "--bogus"}, 2, "unknown option --bogus", d);
    refused(init_with({"--seed"}), 2, "--seed needs a value", d);
    refused({"init", "--vocab", "8"}, 2, "missing required option", d);
    refused({"init", "stray"}, 2, "unexpected argument 'stray'", d);
    refused(init_with({"--seed", "x"}), 2, "--seed expects an integer", d);
    refused(init_with({"--seed", "99999999999999999999"}), 2, "--seed expects an integer", d);
    refused(init_with({"--block", "4294967296"}), 2, "--block must be in [1, 1048576]", d);
    refused(init_with({"--block", "-1"}), 2, "--block must be in", d);
    refused(init_with({"--mem", "-5"}), 2, "--mem must be in", d);
    refused(init_with({"--fam", "-1"}), 2, "--fam must be in", d);
    refused(init_with({"--rope-base", "nan"}), 2, "--rope-base expects a number", d);
    refused(init_with({"--rope-base", "-1"}), 2, "--rope-base must be in", d);
    refused(init_with({"--attention", "sparse"}), 2, "--attention must be one of full|bswa|fam", d);
    refused(init_with({"--max-memory", "lots"}), 2, "--max-memory expects a byte count", d);
    refused(init_with({"--max-memory", "0"}), 2, "--max-memory expects a byte count", d);
    refused(init_with({"--max-memory"}), 2, "--max-memory needs a value", d);
    refused({"init", "--vocab", "0", "--d-model", "8", "--heads", "2", "--layers", "1", "--d-ff", "16", "--out", m},
            2, "--vocab must be in", d);
    refused({"init", "--vocab", "2147483648", "--d-model", "8", "--heads", "2", "--layers", "1", "--d-ff", "16",
             "--out", m}, 2, "--vocab must be in", d);
    // impossible configs
    refused({"init", "--vocab", "8", "--d-model", "10", "--heads", "4", "--layers", "1", "--d-ff", "16", "--out", m},
            2, "not divisible by H", d);
    refused({"init", "--vocab", "8", "--d-model", "6", "--heads", "2", "--layers", "1", "--d-ff", "16", "--out", m},
            2, "must be even", d);
    refused({"init", "--vocab", "8", "--d-model", "8", "--heads", "2", "--layers", "0", "--d-ff", "16", "--out", m},
            2, "--layers must be in", d);
    refused({"init", "--vocab", "8", "--d-model", "8", "--heads", "16", "--layers", "1", "--d-ff", "16", "--out", m},
            2, "heads H must be in [1, 8]", d);
    refused(init_with({"--block", "4097", "--mem", "1048320"}), 2, "key columns C = M*B + F + B", d);
    refused(init_with({"--block", "16777216"}), 2, "--block must be in [1, 1048576]", d);
    refused(init_with({"--block", "1048576", "--mem", "0"}), 2, "H*(B+F)*C", d);
    refused(init_with({"--attention", "bswa", "--fam", "2"}), 2, "bswa has no FAM", d);
    refused({"init", "--vocab", "16777216", "--d-model", "65536", "--heads", "2", "--layers", "1", "--d-ff", "16",
             "--out", m}, 2, "V*D", d);
    refused({"init", "--vocab", "256", "--d-model", "4096", "--heads", "8", "--layers", "512", "--d-ff", "4096",
             "--out", d + "/big.st"}, 2, "over the memory limit of 4.00 GiB", d);
    refused(init_with({"--max-memory", "1K"}), 2, "over the memory limit of 1.0 KiB", d);
    // token lists and counts
    refused({"forward", "--model", m, "--tokens", "1,,2", "--out", d + "/f"}, 2, "empty item", d);
    refused({"forward", "--model", m, "--tokens", "9", "--out", d + "/f"}, 2, "outside the vocabulary [0, 8)", d);
    refused({"forward", "--model", m, "--tokens", "-1", "--out", d + "/f"}, 2, "outside the vocabulary", d);
    refused({"forward", "--model", m, "--tokens", "4294967296", "--out", d + "/f"}, 2, "outside the vocabulary", d);
    refused({"forward", "--model", m, "--tokens", "1,x", "--out", d + "/f"}, 2, "'x' is not an integer", d);
    refused({"forward", "--model", m, "--tokens", "", "--out", d + "/f"}, 2, "the list is empty", d);
    refused({"forward", "--model", m, "--tokens", "1,2", "--path", "fast", "--out", d + "/f"}, 2, "--path must be one of", d);
    refused({"forward", "--model", m, "--tokens", "1,2", "--out", ""}, 2, "--out is empty", d);
    refused({"forward", "--model", m, "--tokens", "1,2,3", "--out", d + "/f", "--max-memory", "2K"}, 0,
            "over the", d);  // the file (3 KB) or the run
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "1", "--out", d + "/g.st"}, 2, "one target per token", d);
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "-1,-1", "--out", d + "/g.st"}, 2, "no position has a target", d);
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "4294967296"}, 2, "--max-new must be in", d);
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "2147483647"}, 2, "--max-new must be in", d);
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "-1"}, 2, "--max-new must be in", d);
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "3", "--temperature", "-1"}, 2,
            "--temperature must be in", d);
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "3", "--top-k", "x"}, 2,
            "--top-k expects an integer", d);
    refused({"stream", "--model", m, "--tokens-file", d + "/none.txt", "--report-every", "-1"}, 2,
            "--report-every must be in", d);
    refused({"mask", "--kind", "causal", "--len", "0"}, 2, "--len must be in", d);
    refused({"mask", "--kind", "causal", "--len", "1000000000"}, 2, "--len must be in", d);
    refused({"mask", "--kind", "wavy", "--len", "4"}, 2, "--kind must be one of", d);
    refused({"mask", "--kind", "causal", "--len", "4", "--format", "png"}, 2, "needs --out FILE", d);
    refused({"mask", "--kind", "swa", "--len", "4", "--block", "2"}, 2, "does not apply", d);
    refused({"mask", "--kind", "fam", "--block", "4096", "--mem", "4096", "--fam", "4"}, 2, "cells", d);
    refused({"receptive-field", "--block", "2", "--mem", "1", "--depth", "1"}, 2, "missing required option --len", d);
    refused({"receptive-field", "--block", "0", "--mem", "1", "--depth", "1", "--len", "4"}, 2, "--block must be in", d);
    refused({"viz", "--model", m, "--tokens", "1,2,3", "--blocks", "4294967296", "--out", d + "/v"}, 2,
            "--blocks: item 0 is 4294967296", d);
    refused({"viz", "--model", m, "--tokens", "1,2", "--task", "passkey", "--out", d + "/v"}, 2, "exactly one of", d);
    refused({"version", "extra"}, 2, "takes no arguments", d);
    MESSAGE((g_cases - before) << " flag and config cases");
    CHECK(g_cases - before >= 55);  // the sweep keeps at least 100 cases in all
    // an unknown subcommand has no command name: "fam: error: ..."
    Result r = run_fam({"nosuchcommand"}, d);
    CHECK(r.code == 2);
    CHECK(r.err == "fam: error: unknown subcommand 'nosuchcommand' (see fam --help)\n");
}

TEST_CASE("hostile: damaged and hostile checkpoints are refused with one line naming file and problem") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, m = d + "/m.st";
    {
        ModelWeights w(tiny());
        init_weights(w, 1);
        save_model(m, w);
    }
    const std::string good = slurp(m);
    const SafeTensors model = safetensors_parse(good, m);
    int before = g_cases;
    // each file is used by forward; a few by generate, stream, grad, viz too
    auto bad_model = [&](const std::string& name, const std::string& bytes, const std::string& needle) {
        const std::string p = d + "/" + name;
        spit(p, bytes);
        refused({"forward", "--model", p, "--tokens", "1,2,3", "--out", d + "/f"}, 1, needle, d);
        return p;
    };
    // structure
    bad_model("empty.st", "", "shorter than 8 bytes");
    bad_model("short.st", "1234567", "shorter than 8 bytes");
    bad_model("len0.st", le64(0) + "{}", "header length 0");
    bad_model("huge_len.st", le64(~0ull) + "{}", "over the 100 MB limit");
    bad_model("beyond.st", le64(1000) + "{}", "reaches beyond the file");
    bad_model("notjson.st", le64(8) + "{\"a\": [}", "header is not valid JSON");
    bad_model("array.st", le64(8) + "[1,2,3] ", "not a JSON object");
    bad_model("nul.st", le64(8) + std::string("{}\0     ", 8), "NUL byte");
    bad_model("truncated.st", good.substr(0, good.size() - 10), "beyond the data section");
    bad_model("trailing.st", good + "garbage!", "bytes after the last tensor");
    bad_model("halfheader.st", good.substr(0, 20), "reaches beyond the file");
    {
        std::string dup = le64(0);
        std::string h = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
        bad_model("dup.st", le64(h.size()) + h + std::string(8, '\0'), "'x' twice (duplicate key)");
        h = R"({"__metadata__":{"format":"a","format":"famlm-v1"}})";
        bad_model("dupmeta.st", le64(h.size()) + h, "'format' twice");
        h = R"({"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})";
        bad_model("f16.st", le64(h.size()) + h + "\0\0", "only F32");
        h = R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})";
        bad_model("negdim.st", le64(h.size()) + h + std::string(4, '\0'), "negative dimension");
        h = R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})";
        bad_model("bigdim.st", le64(h.size()) + h + std::string(4, '\0'), "too large");
        h = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
        bad_model("mismatch.st", le64(h.size()) + h + std::string(4, '\0'), "shape/offset mismatch");
        h = R"({"__metadata__":{"n":1}})";
        bad_model("metanum.st", le64(h.size()) + h, "is not a string");
    }
    // metadata: impossible or huge configs, refused before any weight is allocated
    bad_model("layers.st", with_meta(model, "n_layers", "1000000"), "layers N must be in [1, 4096], got 1000000");
    bad_model("block1e9.st", with_meta(model, "block_size", "1000000000"), "block size B must be in");
    bad_model("blockneg.st", with_meta(model, "block_size", "-5"), "block size B must be in [1, 1048576], got -5");
    bad_model("memneg.st", with_meta(model, "mem_segments", "-1"), "memory segments M");
    bad_model("famneg.st", with_meta(model, "fam_len", "-3"), "FAM length F");
    {
        SafeTensors st = model;  // issue 13's crash, through the metadata
        st.metadata["mem_segments"] = "1048320";
        st.metadata["block_size"] = "4097";
        bad_model("memhuge.st", safetensors_serialize(st), "key columns C");
    }
    bad_model("dmodel0.st", with_meta(model, "d_model", "0"), "model width D");
    bad_model("heads3.st", with_meta(model, "n_heads", "3"), "not divisible");
    bad_model("vocab2e9.st", with_meta(model, "vocab_size", "2000000000"), "'vocab_size' must be an integer");
    bad_model("vocabbig.st", with_meta(model, "vocab_size", "99999999999999999999"), "must be an integer");
    bad_model("vocabtext.st", with_meta(model, "vocab_size", "eight"), "must be an integer");
    bad_model("format.st", with_meta(model, "format", "gguf"), "expected 'famlm-v1'");
    bad_model("rope_nan.st", with_meta(model, "rope_base", "nan"), "rope_base");
    bad_model("rope_zero.st", with_meta(model, "rope_base", "0"), "rope_base");
    bad_model("attention.st", with_meta(model, "attention", "sparse"), "attention must be");
    {
        SafeTensors st = model;
        st.metadata["d_model"] = "65536";
        st.metadata["vocab_size"] = "65536";
        bad_model("wide.st", safetensors_serialize(st), "V*D");
    }
    {
        SafeTensors st = model;
        st.metadata.erase("d_model");
        bad_model("nokey.st", safetensors_serialize(st), "metadata key 'd_model' missing");
        st = model;
        st.tensors.erase("lm_head");
        bad_model("notensor.st", safetensors_serialize(st), "tensor 'lm_head' missing");
        st = model;
        st.tensors["lm_head"] = Tensor("lm_head", {2, 2});
        bad_model("misshapen.st", safetensors_serialize(st), "expected [8, 8]");
        // big metadata within a legal header: 10^9 layers as a string is still refused by range
        st = model;
        st.metadata["n_layers"] = std::string(5000, '9');
        bad_model("longnum.st", safetensors_serialize(st), "must be an integer");
    }
    // non-finite weights: refused by name, never "softmax: row 0 has no allowed key"
    // (the last cases built from `model`: Tensor copies share their data, and these write into it)
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
        SafeTensors st = model;
        st.tensors["layers.0.attn.wq"].data[3] = bad;
        const std::string p = bad_model(std::isnan(bad) ? "nan.st" : bad > 0 ? "inf.st" : "ninf.st",
                                        safetensors_serialize(st), "tensor 'layers.0.attn.wq' has a non-finite value");
        refused({"generate", "--model", p, "--prompt-tokens", "1", "--max-new", "3"}, 1, "non-finite", d);
    }
    // not files
    refused({"forward", "--model", "/dev/zero", "--tokens", "1", "--out", d + "/f"}, 1, "not a regular file", d);
    refused({"forward", "--model", "/dev/null", "--tokens", "1", "--out", d + "/f"}, 1, "not a regular file", d);
    refused({"forward", "--model", d, "--tokens", "1", "--out", d + "/f"}, 1, "is a directory", d);
    refused({"forward", "--model", d + "/missing.st", "--tokens", "1", "--out", d + "/f"}, 1, "cannot open", d);
    refused({"forward", "--model", "", "--tokens", "1", "--out", d + "/f"}, 1, "input path is empty", d);
    REQUIRE(mkfifo((d + "/fifo").c_str(), 0600) == 0);
    refused({"forward", "--model", d + "/fifo", "--tokens", "1", "--out", d + "/f"}, 1, "not a regular file", d);
    refused({"generate", "--model", "/dev/zero", "--prompt-tokens", "1", "--max-new", "1"}, 1, "not a regular file", d);
    refused({"stream", "--model", "/dev/zero", "--tokens-file", "-"}, 1, "not a regular file", d);
    refused({"grad", "--model", "/dev/zero", "--tokens", "1", "--targets", "1", "--out", d + "/g.st"}, 1,
            "not a regular file", d);
    refused({"viz", "--model", "/dev/zero", "--tokens", "1", "--out", d + "/v"}, 1, "not a regular file", d);
    refused({"forward", "--model", m, "--tokens", "1", "--out", d + "/f", "--max-memory", "1K"}, 1,
            "over the limit of 1024 bytes", d);  // the file itself is larger than the limit
    MESSAGE((g_cases - before) << " checkpoint cases");
    CHECK(g_cases - before >= 50);  // the sweep keeps at least 100 cases in all
}

TEST_CASE("hostile: stream states and token files: damaged, hostile, or for another model") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, m = d + "/m.st", m2 = d + "/m2.st", toks = d + "/toks.txt", s = d + "/s.st";
    {
        ModelWeights w(tiny());
        init_weights(w, 1);
        save_model(m, w);
        init_weights(w, 2);
        save_model(m2, w);
    }
    spit(toks, "1 2 3 4 5\n");
    Result ok = run_fam({"stream", "--model", m, "--tokens-file", toks, "--state-out", s, "--quiet"}, d);
    REQUIRE(ok.code == 0);
    CHECK(ok.err.empty());
    const SafeTensors state = safetensors_parse(slurp(s), s);
    int before = g_cases;
    auto bad_state = [&](const std::string& name, const std::string& bytes, const std::string& needle, int code = 1) {
        const std::string p = d + "/" + name;
        spit(p, bytes);
        refused({"stream", "--model", m, "--tokens-file", toks, "--state-in", p}, code, needle, d);
    };
    bad_state("model_as_state.st", slurp(m), "not a stream state", 2);
    bad_state("truncated.st", slurp(s).substr(0, 100), "beyond the file");
    bad_state("format.st", with_meta(state, "state.format", "famstate-v0"), "expected 'famstate-v1'", 2);
    bad_state("pos_neg.st", with_meta(state, "state.pos", "-5"), "'state.pos' must be an integer in");
    bad_state("pos_text.st", with_meta(state, "state.pos", "five"), "'state.pos' must be an integer in");
    bad_state("head.st", with_meta(state, "state.ring_head", "1"), "contradict state.pos");
    bad_state("len.st", with_meta(state, "state.block_len", "999999999999"), "'state.block_len' must be");
    bad_state("fresh.st", with_meta(state, "state.fresh", "1,1,1"), "'state.fresh' has 3 flags");
    bad_state("fresh2.st", with_meta(state, "state.fresh", "x"), "'state.fresh' must be");
    bad_state("checksum.st", with_meta(state, "state.model_checksum", "0000000000000000"), "other weights", 2);
    bad_state("config.st", with_meta(state, "block_size", "4"), "belongs to a model", 2);
    bad_state("hugecfg.st", with_meta(state, "n_layers", "1000000"), "layers N must be in");
    bad_state("loss.st", with_meta(state, "stream.loss_count", "99999"), "'stream.loss_count' must be");
    bad_state("losssum.st", with_meta(state, "stream.loss_sum", "nan"), "'stream.loss_sum' must be");
    {
        SafeTensors st = state;
        st.tensors.erase("state.layers.0.fam");
        bad_state("nofam.st", safetensors_serialize(st), "'state.layers.0.fam' missing");
        st = state;
        st.tensors["state.layers.0.v"] = Tensor("state.layers.0.v", {1, 8});
        bad_state("vshape.st", safetensors_serialize(st), "expected [6, 8]");  // C = F + (M+1)*B rows
        // last: Tensor copies share their data, so this NaN would reach the cases above
        st = state;
        st.tensors["state.layers.0.k"].data[0] = std::numeric_limits<float>::quiet_NaN();
        bad_state("nan.st", safetensors_serialize(st), "'state.layers.0.k' has a non-finite value");
    }
    refused({"stream", "--model", m2, "--tokens-file", toks, "--state-in", s}, 2, "other weights", d);
    refused({"stream", "--model", m, "--tokens-file", toks, "--state-in", "/dev/zero"}, 1, "not a regular file", d);
    // token files
    auto bad_tokens = [&](const std::string& name, const std::string& bytes, const std::string& needle,
                          std::vector<std::string> extra = {}) {
        const std::string p = d + "/" + name;
        spit(p, bytes);
        std::vector<std::string> a = {"stream", "--model", m, "--tokens-file", p};
        a.insert(a.end(), extra.begin(), extra.end());
        refused(a, 2, needle, d);
    };
    bad_tokens("word.txt", "1 2 three", "'three' at position 2 is not a token id");
    bad_tokens("range.txt", "1 2 8", "token id 8 at position 2 is outside the vocabulary");
    bad_tokens("neg.txt", "-1", "token id -1");
    bad_tokens("huge.txt", "99999999999999999999999", "is not a token id");
    bad_tokens("long.txt", std::string(1 << 20, '7'), "is not a token id");
    bad_tokens("nul.txt", std::string(1 << 20, '\0'), "is not a token id");  // as /dev/zero reads in text mode
    bad_tokens("odd.bin", std::string(6, '\0'), "2 trailing byte(s)", {"--binary"});
    bad_tokens("big.bin", std::string("\xff\xff\xff\xff", 4), "token id 4294967295", {"--binary"});
    refused({"stream", "--model", m, "--tokens-file", "/dev/zero"}, 2, "is not a token id", d);
    refused({"stream", "--model", m, "--tokens-file", d + "/missing.txt"}, 2, "cannot open", d);
    MESSAGE((g_cases - before) << " stream-state and token-file cases");
    CHECK(g_cases - before >= 25);  // the sweep keeps at least 100 cases in all
}

TEST_CASE("hostile: outputs: never an input, never a device, checked before the work, stdout checked") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, m = d + "/m.st", toks = d + "/toks.txt";
    {
        ModelWeights w(tiny());
        init_weights(w, 1);
        save_model(m, w);
    }
    spit(toks, "1 2 3\n");
    const std::string model_bytes = slurp(m);
    int before = g_cases;
    // an output that is an input of the same command: refused, the input untouched
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "2,3", "--out", m}, 2,
            "--out " + m + " is the same file as --model", d);
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "2,3", "--out", d + "/./m.st"}, 2, "same file", d);
    fs::create_symlink(m, d + "/link.st");
    refused({"grad", "--model", d + "/link.st", "--tokens", "1,2", "--targets", "2,3", "--out", m}, 2, "same file", d);
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "2,3", "--out", d + "/link.st"}, 2, "same file", d);
    refused({"stream", "--model", m, "--tokens-file", toks, "--state-out", m}, 2, "same file as --model", d);
    refused({"stream", "--model", m, "--tokens-file", toks, "--state-out", toks}, 2, "same file as --tokens-file", d);
    CHECK(slurp(m) == model_bytes);
    CHECK(slurp(toks) == "1 2 3\n");
    // outputs that cannot be written: refused before the work, with the flag and the reason
    const std::vector<std::string> init = {"init", "--vocab", "8", "--d-model", "8", "--heads", "2",
                                           "--layers", "1", "--d-ff", "16", "--out"};
    auto init_to = [&](const std::string& out) {
        std::vector<std::string> a = init;
        a.push_back(out);
        return a;
    };
    refused(init_to(""), 1, "--out is empty", d);
    refused(init_to(d + "/no/such/dir/m.st"), 1, "does not exist", d);
    refused(init_to(d), 1, "is a directory", d);
    refused(init_to(d + "/"), 1, "is a directory", d);
    refused(init_to("/dev/full"), 1, "not a regular file", d);
    refused(init_to("/dev/null"), 1, "not a regular file", d);
    REQUIRE(mkfifo((d + "/fifo2").c_str(), 0600) == 0);
    refused(init_to(d + "/fifo2"), 1, "not a regular file", d);
    refused({"grad", "--model", m, "--tokens", "1,2", "--targets", "2,3", "--out", "/dev/full"}, 1,
            "not a regular file", d);
    refused({"stream", "--model", m, "--tokens-file", toks, "--state-out", d + "/nodir/s.st"}, 1, "does not exist", d);
    refused({"mask", "--kind", "causal", "--len", "4", "--out", d + "/nodir/mask.txt"}, 1, "does not exist", d);
    refused({"mask", "--kind", "causal", "--len", "4", "--format", "png", "--out", "/dev/full"}, 1,
            "not a regular file", d);
    // a full disk on stdout exits non-zero with one line
    refused({"version"}, 1, "cannot write to standard output", d, "/dev/full");
    refused({"mask", "--kind", "causal", "--len", "8"}, 1, "cannot write to standard output", d, "/dev/full");
    refused({"receptive-field", "--block", "2", "--mem", "1", "--depth", "2", "--len", "16"}, 1,
            "cannot write to standard output", d, "/dev/full");
    refused({"generate", "--model", m, "--prompt-tokens", "1", "--max-new", "2"}, 1, "cannot write to standard output",
            d, "/dev/full");
    MESSAGE((g_cases - before) << " output cases");
    CHECK(g_cases - before >= 18);  // the sweep keeps at least 100 cases in all
}

TEST_CASE("hostile: Ctrl-C during fam stream saves a state that resumes, exit 130, nothing on stderr") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, m = d + "/m.st", fifo = d + "/tokens", s = d + "/s.st";
    {
        ModelWeights w(tiny());
        init_weights(w, 1);
        save_model(m, w);
    }
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    const std::string err = d + "/stderr.txt";
    int out = -1;
    pid_t pid = spawn_fam({"stream", "--model", m, "--tokens-file", fifo, "--state-out", s}, err, &out, 20);
    int fd = open(fifo.c_str(), O_WRONLY);  // returns once fam has opened the other end
    REQUIRE(fd >= 0);
    const std::string five = "1 2 3 4 5 ";
    REQUIRE(write(fd, five.data(), five.size()) == (ssize_t)five.size());
    usleep(1000 * 1000);  // fam reads them and blocks on the pipe, which stays open
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fd);
    close(out);
    INFO("stderr: " << slurp(err));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(slurp(err).empty());
    // the saved state holds exactly the five tokens and loads with the model
    FamState st(tiny());
    ModelWeights w = load_model(m);
    fam_state_load(s, st, w);
    CHECK(st.pos == 5);
}

// ---- fam train / fam eval ------------------------------------------------------------

// A tiny PassKey training run's flags (one layer of width 8: a step takes milliseconds).
static std::vector<std::string> tiny_train(const std::string& out, const std::string& steps) {
    return {"train", "--d-model", "8", "--heads", "2", "--layers", "1", "--d-ff", "16", "--block", "4", "--fam", "2",
            "--filler", "0:4", "--batch", "2", "--threads", "1", "--steps", steps, "--out", out};
}

TEST_CASE("hostile: fam train re-checks a resumed run's settings, checks --out first; eval --json is only JSON") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, ck = d + "/ck.st";
    Result made = run_fam(tiny_train(ck, "2"), d);
    REQUIRE_MESSAGE(made.code == 0, made.err);
    const SafeTensors good = safetensors_load(ck);
    const int before = g_cases;
    // a checkpoint's training settings are held to the flags' ranges
    nlohmann::json cfg = nlohmann::json::parse(good.metadata.at("train.config"));
    for (const auto& bad : std::vector<std::pair<std::string, nlohmann::json>>{
             {"batch", 2147483647}, {"key_digits", 100000000}, {"steps", 0}, {"lr", -1.0},
             {"rsp", 2.0}, {"filler_max", -3}, {"window", 0}, {"schedule", "sideways"}}) {
        nlohmann::json c = cfg;
        c[bad.first] = bad.second;
        spit(d + "/bad.st", with_meta(good, "train.config", c.dump()));
        refused({"train", "--resume", d + "/bad.st", "--out", d + "/o.st"}, 0, bad.first, d);
    }
    for (const char* step : {"-5", "1e3", "", "99999999999999999999"}) {
        spit(d + "/bad.st", with_meta(good, "train.step", step));
        refused({"train", "--resume", d + "/bad.st", "--out", d + "/o.st"}, 0, "train.step", d);
    }
    spit(d + "/bad.st", with_meta(good, "task.key_digits", "100000000"));
    refused({"eval", "--model", d + "/bad.st", "--filler", "0"}, 0, "task.key_digits", d);
    // a flag that a resumed run would ignore is refused instead
    refused({"train", "--resume", ck, "--d-model", "32", "--out", d + "/o.st"}, 2, "cannot change a resumed run", d);
    refused({"train", "--resume", ck, "--batch", "8", "--out", d + "/o.st"}, 2, "--batch", d);
    // the output is checked before training (10^8 steps would end in the 10 s alarm)
    std::vector<std::string> long_run = tiny_train(d + "/missing/dir/out.st", "100000000");
    refused(long_run, 0, "--out", d);
    long_run.back() = "/dev/full";
    refused(long_run, 0, "/dev/full", d);
    std::vector<std::string> init = tiny_train(ck, "1");
    init.erase(init.begin() + 1, init.begin() + 13);  // the shape comes from --init
    init.insert(init.begin() + 1, {"--init", ck});
    refused(init, 2, "same file", d);
    MESSAGE((g_cases - before) << " train/eval cases");
    // --json: stdout is exactly one JSON line, the table goes to stderr
    Result r = run_fam({"eval", "--model", ck, "--filler", "0,4", "--samples", "2", "--json"}, d);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    nlohmann::json j;
    CHECK_NOTHROW(j = nlohmann::json::parse(r.out));
    CHECK(j.at("accuracy").size() == 2);
    CHECK(r.err.find("filler") != std::string::npos);  // the human table
    // resuming into the same file is allowed: the checkpoint moves on
    Result on = run_fam({"train", "--resume", ck, "--out", ck, "--steps", "3"}, d);
    CHECK_MESSAGE(on.code == 0, on.err);
    CHECK(safetensors_load(ck).metadata.at("train.step") == "3");
}

TEST_CASE("hostile: Ctrl-C during fam train saves a checkpoint that resumes (exit 130); kill -9 never breaks one") {
    TempDir dir("fam_hostile");
    const std::string d = dir.path, ck = d + "/ck.st", err = d + "/stderr.txt";
    std::vector<std::string> args = tiny_train(ck, "100000000");
    args.insert(args.end(), {"--log-every", "1"});
    int fd = -1;
    pid_t pid = spawn_fam(args, err, &fd);
    wait_for_steps(fd, 3);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fd);
    INFO("stderr: " << slurp(err));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(slurp(err).find("interrupted at step") != std::string::npos);
    ModelWeights w;
    TrainState st;
    REQUIRE_NOTHROW(load_train_checkpoint(ck, w, st, nullptr));
    CHECK(st.step >= 3);
    Result r = run_fam({"train", "--resume", ck, "--out", ck, "--steps", std::to_string(st.step + 2)}, d);
    CHECK_MESSAGE(r.code == 0, r.err);
    TrainState after;
    load_train_checkpoint(ck, w, after, nullptr);
    CHECK(after.step == st.step + 2);
    // kill -9 while a checkpoint is saved every step: what is on disk always loads
    args.insert(args.end(), {"--save-every", "1"});
    int kills = 0;
    for (int delay_ms : {0, 3, 17, 41}) {
        kills++;
        pid = spawn_fam(args, err, &fd);
        wait_for_steps(fd, 2);
        usleep(1000 * delay_ms);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        close(fd);
        CHECK(WIFSIGNALED(status));
        TrainState s;
        CHECK_NOTHROW(load_train_checkpoint(ck, w, s, nullptr));
        CHECK(temp_files(d) <= kills);  // at most one per kill (the save it cut short), never in place of ck
    }
}

// ---- the safe-write API (src/app/safe_file.h) -----------------------------------------

TEST_CASE("hostile: safe_write_file never follows a planted symlink, never clobbers the user's OUT.tmp") {
    TempDir dir("fam_hostile");
    const std::string out = dir.path + "/out.st", victim = dir.path + "/victim.txt";
    spit(victim, "precious");
    fs::create_symlink(victim, out + ".tmp");  // the old fixed temporary name
    safe_write_file(out, "new contents");
    CHECK(slurp(out) == "new contents");
    CHECK(slurp(victim) == "precious");
    CHECK(fs::is_symlink(out + ".tmp"));
    // the user's own file with that name survives too
    fs::remove(out + ".tmp");
    spit(out + ".tmp", "mine");
    safe_write_file(out, "newer");
    CHECK(slurp(out + ".tmp") == "mine");
    CHECK(slurp(out) == "newer");
    // no temporary file is left behind
    CHECK(temp_files(dir.path) == 0);
}

TEST_CASE("hostile: a failed write leaves the old file and no temporary file; messages name the path") {
    TempDir dir("fam_hostile");
    const std::string out = dir.path + "/out.st";
    spit(out, "old");
    {
        AtomicWriter w(out);
        w.write("partial", 7);
        CHECK(fs::exists(w.temp_path()));
        // no commit: an exception or early return
    }
    CHECK(slurp(out) == "old");
    int files = 0;
    for (auto it = fs::directory_iterator(dir.path); it != fs::directory_iterator(); ++it) files++;
    CHECK(files == 1);
    CHECK_THROWS_WITH_AS(safe_write_file("", "x"), "output path is empty; expected a file name", std::runtime_error);
    CHECK_THROWS_WITH_AS(safe_write_file("/dev/full", "x"), doctest::Contains("/dev/full: is not a regular file"),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(safe_write_file(dir.path + "/no/x", "x"), doctest::Contains("cannot create a temporary file"),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(check_writable(dir.path + "/no/x", "--out"), doctest::Contains("--out"), std::runtime_error);
    CHECK_NOTHROW(check_writable(out, "--out"));
    CHECK_NOTHROW(check_writable(dir.path + "/new.st", "--out"));
    CHECK(!fs::exists(dir.path + "/new.st"));
}

TEST_CASE("hostile: read_file_bounded refuses devices, FIFOs, directories and files over the limit") {
    TempDir dir("fam_hostile");
    CHECK_THROWS_WITH_AS(read_file_bounded("/dev/zero"), doctest::Contains("not a regular file"), std::runtime_error);
    CHECK_THROWS_WITH_AS(read_file_bounded(dir.path), doctest::Contains("is a directory"), std::runtime_error);
    REQUIRE(mkfifo((dir.path + "/fifo").c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(read_file_bounded(dir.path + "/fifo"), doctest::Contains("not a regular file"),
                         std::runtime_error);  // and does not wait for a writer
    spit(dir.path + "/ten", "0123456789");
    CHECK(read_file_bounded(dir.path + "/ten", 10) == "0123456789");
    CHECK_THROWS_WITH_AS(read_file_bounded(dir.path + "/ten", 9),
                         doctest::Contains("file is 10 bytes, over the limit of 9 bytes"), std::runtime_error);
}

TEST_CASE("hostile: same_file sees through ./, symlinks and hard links, and compares missing paths by name") {
    TempDir dir("fam_hostile");
    const std::string a = dir.path + "/a";
    spit(a, "x");
    fs::create_symlink(a, dir.path + "/sym");
    fs::create_hard_link(a, dir.path + "/hard");
    CHECK(same_file(a, dir.path + "/./a"));
    CHECK(same_file(a, dir.path + "/sym"));
    CHECK(same_file(a, dir.path + "/hard"));
    CHECK(!same_file(a, dir.path + "/b"));
    CHECK(same_file(dir.path + "/new", dir.path + "/../" + fs::path(dir.path).filename().string() + "/new"));
    CHECK_THROWS_WITH_AS(refuse_same_file(a, "--model", dir.path + "/sym", "--out"),
                         doctest::Contains("is the same file as --model"), std::invalid_argument);
}
