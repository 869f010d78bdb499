// test_explorer.cpp: the explorer page (`make explorer`, docs/explorer.md) in a real
// browser. Headless Chromium opens the built page from file:// with
// ?selftest=[20 settings]; the page moves its sliders to each setting (a value and an
// input event per control, as a user would), reads every drawn mask back from the
// canvas pixels and writes them into <pre id="selftest">, which --dump-dom prints.
// Each drawn mask must equal, cell for cell, the .npy that `fam mask --format npy`
// writes for the same settings (cmd_mask, the CLI's own code, run here in-process);
// the page's PassKey run must give the native forward's answer and FAM-write numbers;
// the console must stay free of errors.
//
// Runs only when chromium is installed and the page is built (FAM_EXPLORER_DIR, else
// build/explorer): otherwise it says that it was skipped and why.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/tasks.h"
#include "app/viz.h"
#include "temp_dir.h"
#include "tensor.h"

namespace {

std::string repo_path(const std::string& rel) {
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / rel).string();
}

// One setting of the page's controls (ranges as the sliders of explorer/index.html).
struct Setting {
    std::string kind;  // swa | bswa | fam
    int T, W, B, M, F, tau, depth, t;
    std::string json() const {
        std::ostringstream s;
        s << "{\"kind\":\"" << kind << "\",\"T\":" << T << ",\"W\":" << W << ",\"B\":" << B << ",\"M\":" << M
          << ",\"F\":" << F << ",\"tau\":" << tau << ",\"depth\":" << depth << ",\"t\":" << t << "}";
        return s.str();
    }
    // The `fam mask` arguments that draw the page's view `view` of this setting.
    std::vector<std::string> cli(const std::string& view) const {
        auto s = [](int x) { return std::to_string(x); };
        if (view == "rf") return {"--kind", "bswa", "--len", s(T), "--block", s(B), "--mem", s(M), "--depth", s(depth)};
        if (kind == "swa") return {"--kind", "swa", "--len", s(T), "--window", s(W)};
        if (kind == "bswa") return {"--kind", "bswa", "--len", s(T), "--block", s(B), "--mem", s(M)};
        if (view == "timeline")
            return {"--kind", "fam", "--view", "timeline", "--len", s(T), "--block", s(B), "--mem", s(M), "--fam", s(F)};
        return {"--kind", "fam", "--view", "block", "--block", s(B), "--mem", s(M), "--fam", s(F), "--index", s(tau)};
    }
};

// `fam mask ARGS --format npy --out FILE` through the CLI's own cmd_mask, its
// "wrote ..." line sent to /dev/null; returns the mask as a string of '0'/'1'.
std::string cli_mask_bits(const std::vector<std::string>& args, const std::string& file, int* rows, int* cols) {
    std::vector<std::string> a = args;  // cmd_mask takes the arguments after `fam mask`
    for (const char* x : {"--format", "npy", "--out"}) a.push_back(x);
    a.push_back(file);
    std::vector<char*> argv;
    for (std::string& x : a) argv.push_back(&x[0]);
    int rc = -1;
    std::string error;
    {
        std::fflush(stdout);
        const int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        try {
            rc = cmd_mask((int)argv.size(), argv.data());
        } catch (const std::exception& e) {
            error = e.what();
        }
        std::fflush(stdout);
        dup2(saved, 1);
        close(saved);
        close(devnull);
    }
    REQUIRE_MESSAGE(error.empty(), error);
    REQUIRE(rc == 0);
    std::vector<int> shape;
    std::vector<float> m = npy_load(file, &shape);
    REQUIRE(shape.size() == 2);
    *rows = shape[0];
    *cols = shape[1];
    std::string bits;
    for (float v : m) bits += v != 0.0f ? '1' : '0';
    return bits;
}

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

std::string url_encode(const std::string& s) {
    std::string out;
    const char* hex = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += (char)c;
        else out += '%', out += hex[c >> 4], out += hex[c & 15];
    }
    return out;
}

}  // namespace

TEST_CASE("explorer: in headless Chromium the page's masks equal `fam mask --format npy` for 20 random settings") {
    if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
        MESSAGE("explorer browser test SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    }
    const char* env = std::getenv("FAM_EXPLORER_DIR");
    const std::string dir = env && *env ? std::string(env) : repo_path("build/explorer");
    if (!std::filesystem::exists(dir + "/index.html") || !std::filesystem::exists(dir + "/fam_explorer.js")) {
        MESSAGE("explorer browser test SKIPPED: no built page in " << dir
                << " (run `make explorer`, or set FAM_EXPLORER_DIR to its output directory)");
        return;
    }
    TempDir tmp("fam_explorer");

    // 20 settings: every kind, sizes across the sliders' ranges (edges included)
    Rng rng(17);
    std::vector<Setting> settings;
    const char* kinds[] = {"swa", "bswa", "fam", "fam"};
    for (int i = 0; i < 20; i++) {
        Setting s;
        s.kind = kinds[i % 4];
        s.T = i == 0 ? 1 : i == 3 ? 64 : rng.randint(1, 64);
        s.W = rng.randint(1, 16);
        s.B = i == 3 ? 1 : rng.randint(1, 16);
        s.M = rng.randint(0, 4);
        s.F = i == 2 ? 0 : rng.randint(0, 8);
        s.tau = rng.randint(0, 8);
        s.depth = rng.randint(1, 6);
        s.t = rng.randint(0, s.T - 1);
        settings.push_back(s);
    }
    std::string list = "[";
    for (size_t i = 0; i < settings.size(); i++) list += (i ? "," : "") + settings[i].json();
    list += "]";

    // Chromium with its own profile; a few tries in case a slow start outruns the virtual time budget
    const std::string url = "file://" + std::filesystem::absolute(dir).string() + "/index.html?selftest=" + url_encode(list);
    std::string dom, log_file = tmp.path + "/chromium.log";
    for (int attempt = 1; attempt <= 3 && dom.find("\ndone") == std::string::npos; attempt++) {
        const std::string cmd = "timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run "
                                "--user-data-dir=" + tmp.path + "/profile --enable-logging=stderr --v=0 "
                                "--virtual-time-budget=" + std::to_string(10000 * attempt) +
                                " --dump-dom '" + url + "' 2>" + log_file;
        dom = run_capture(cmd);
    }
    const size_t at = dom.find("<pre id=\"selftest\">");
    REQUIRE_MESSAGE(at != std::string::npos, "the page wrote no self-test output; chromium log: " << log_file);
    std::istringstream lines(dom.substr(at + 19, dom.find("</pre>", at) - at - 19));

    std::map<std::string, std::string> drawn;  // "i view" -> "rows cols bits"
    std::vector<std::string> errors;
    std::string model_line, panel_line;
    std::map<int, std::vector<std::string>> fam_write_page;
    bool done = false;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream ls(line);
        std::string word;
        ls >> word;
        if (word == "mask") {
            std::string i, view, rows, cols, bits;
            ls >> i >> view >> rows >> cols >> bits;
            drawn[i + " " + view] = rows + " " + cols + " " + bits;
        } else if (word == "mismatch" || word == "error:") {
            errors.push_back(line);
        } else if (word == "model") {
            model_line = line;
        } else if (word == "panel") {  // the model panel after every layer, head and block step, play and pause
            panel_line = line;
        } else if (word == "fam_write") {
            int l;
            ls >> l;
            for (std::string v; ls >> v;) fam_write_page[l].push_back(v);
        } else if (word == "done") {
            done = true;
        }
    }
    REQUIRE(done);
    for (const std::string& e : errors) FAIL_CHECK(e);

    // every view of every setting, cell for cell against the CLI's .npy
    int compared = 0;
    for (size_t i = 0; i < settings.size(); i++) {
        const Setting& s = settings[i];
        std::vector<std::string> views = s.kind == "fam" ? std::vector<std::string>{"timeline", "block", "rf"}
                                                         : std::vector<std::string>{"main", "rf"};
        for (const std::string& view : views) {
            INFO("setting " << i << " " << s.json() << ", view " << view);
            const std::string key = std::to_string(i) + " " + view;
            REQUIRE_MESSAGE(drawn.count(key), "the page drew no " << view << " mask for setting " << i);
            int rows = 0, cols = 0;
            const std::string bits = cli_mask_bits(s.cli(view), tmp.path + "/m.npy", &rows, &cols);
            CHECK(drawn[key] == std::to_string(rows) + " " + std::to_string(cols) + " " + bits);
            compared++;
        }
    }
    CHECK(compared == 50);  // 10 fam settings x 3 views + 10 swa/bswa settings x 2

    // the page's PassKey run (filler 100, seed 1) against the native forward on the same example
    ModelWeights w = load_model(repo_path("models/passkey_fam.safetensors"));
    Vocab v = passkey_vocab();
    Rng ex_rng(1);
    PasskeyExample ex = make_passkey_example(v, ex_rng, 100, 5);
    std::vector<std::string> words;
    for (int t : ex.tokens) words.push_back(v.words[t]);
    VizRun run = viz_run(w, ex.tokens, words, "fam");
    const std::string predicted = passkey_prediction(run.logits.data(), w.cfg.V, ex);
    CHECK(model_line == "model filler 100 seed 1 key " + ex.key + " predicted " + predicted + " T " +
                            std::to_string(run.T));
    CHECK(panel_line == "panel " + std::to_string(run.nblocks) + " blocks drawn, play stopped");
    std::vector<float> fw = fam_write(run);
    REQUIRE(fam_write_page.size() == (size_t)run.N);
    for (int l = 0; l < run.N; l++) {
        REQUIRE(fam_write_page[l].size() == (size_t)run.T);
        for (int t = 0; t < run.T; t++) {
            const float native = fw[(size_t)l * run.T + t];
            const std::string& page = fam_write_page[l][t];
            if (std::isnan(native)) {
                CHECK(page == "nan");
            } else {
                INFO("layer " << l << " token " << t);
                CHECK(std::fabs(std::stof(page) - native) < 1e-4f);  // plain loops vs OpenBLAS: rounding only
            }
        }
    }

    // a clean console: the page's own capture is empty (checked above), and Chromium logged no error
    std::ifstream log(log_file);
    for (std::string line; std::getline(log, line);)
        if (line.find(":CONSOLE") != std::string::npos)
            CHECK_MESSAGE((line.find("rror") == std::string::npos && line.find("Uncaught") == std::string::npos), line);
}
