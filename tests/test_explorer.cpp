// test_explorer.cpp: the explorer page (`make explorer`, docs/explorer.md) in a real
// browser. Headless Chromium opens the built page from file:// with
// ?selftest=[20 settings]; the page moves its sliders to each setting (a value and an
// input event per control, as a user would), reads every drawn mask back from the
// canvas pixels and writes them into <pre id="selftest">. The test reads that text
// through the DevTools protocol over --remote-debugging-pipe (a few JSON messages on
// two pipes, below), polling in real time until the page says "done": the module
// compiles asynchronously, so a fixed --dump-dom moment could come too early.
// Each drawn mask must equal, cell for cell, the .npy that `fam mask --format npy`
// writes for the same settings (cmd_mask, the CLI's own code, run here in-process);
// the page's PassKey run must give the native forward's answer and FAM-write numbers;
// the console must stay free of errors.
//
// Runs only when chromium is installed and the page is built (FAM_EXPLORER_DIR, else
// build/explorer): otherwise it says that it was skipped and why.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

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

// A minimal DevTools-protocol client: headless Chromium started with
// --remote-debugging-pipe reads NUL-terminated JSON commands on its fd 3 and writes
// replies and events on its fd 4.
struct Chromium {
    pid_t pid = -1;
    int to = -1, from = -1;  // our ends: commands to Chromium, messages from it
    int next_id = 1;
    std::string buffer;

    Chromium(const std::string& profile, const std::string& log_file) {
        int in[2], out[2];
        REQUIRE(pipe(in) == 0);
        REQUIRE(pipe(out) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // the child: fds 3 and 4 as the protocol wants them, output to the log
            const int r = fcntl(in[0], F_DUPFD, 10), w = fcntl(out[1], F_DUPFD, 10);
            dup2(r, 3);
            dup2(w, 4);
            const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(log, 1);
            dup2(log, 2);
            for (int fd = 5; fd < 256; fd++) close(fd);
            const std::string user_data = "--user-data-dir=" + profile;
            execlp("chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--remote-debugging-pipe", "--enable-logging=stderr", "--v=0", user_data.c_str(), "about:blank",
                   (char*)nullptr);
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        to = in[1];
        from = out[0];
    }
    ~Chromium() {
        if (to >= 0) close(to);
        if (from >= 0) close(from);
        if (pid > 0) {  // closing the pipe ends the browser; make sure of it
            for (int i = 0; i < 50 && waitpid(pid, nullptr, WNOHANG) == 0; i++)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (waitpid(pid, nullptr, WNOHANG) == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
    }
    // Sends one command and waits (up to `seconds`) for its reply; events are skipped.
    nlohmann::json send(const std::string& method, const nlohmann::json& params, const std::string& session = "",
                        double seconds = 30) {
        nlohmann::json cmd = {{"id", next_id++}, {"method", method}, {"params", params}};
        if (!session.empty()) cmd["sessionId"] = session;
        const std::string text = cmd.dump() + std::string(1, '\0');
        REQUIRE_MESSAGE(write(to, text.data(), text.size()) == (ssize_t)text.size(), "cannot write to chromium");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds((int)(seconds * 1000));
        for (;;) {
            size_t end;
            while ((end = buffer.find('\0')) != std::string::npos) {
                nlohmann::json msg = nlohmann::json::parse(buffer.substr(0, end));
                buffer.erase(0, end + 1);
                if (msg.contains("id") && msg["id"] == cmd["id"]) {
                    REQUIRE_MESSAGE(!msg.contains("error"), method << ": " << msg["error"].dump());
                    return msg["result"];
                }
            }
            const int left = (int)std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - std::chrono::steady_clock::now()).count();
            REQUIRE_MESSAGE(left > 0, "chromium did not answer " << method << " in " << seconds << " s");
            pollfd p = {from, POLLIN, 0};
            if (poll(&p, 1, left) <= 0) continue;
            char chunk[65536];
            const ssize_t n = read(from, chunk, sizeof chunk);
            REQUIRE_MESSAGE(n > 0, "chromium closed the protocol pipe (it exited?)");
            buffer.append(chunk, (size_t)n);
        }
    }
};

// Opens `url` in a new tab and returns the text of <pre id="selftest"> once it ends
// with "done" (polled every 100 ms, up to `seconds`).
std::string page_selftest(const std::string& url, const std::string& profile, const std::string& log_file,
                          double seconds = 90) {
    signal(SIGPIPE, SIG_IGN);  // a browser that dies must fail the test, not kill it
    Chromium c(profile, log_file);
    const std::string target = c.send("Target.createTarget", {{"url", url}})["targetId"];
    const std::string session = c.send("Target.attachToTarget", {{"targetId", target}, {"flatten", true}})["sessionId"];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds((int)(seconds * 1000));
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
        nlohmann::json r = c.send("Runtime.evaluate",
                                  {{"expression", "(document.getElementById('selftest') || {}).textContent || ''"},
                                   {"returnByValue", true}}, session);
        text = r["result"].value("value", std::string());
        if (text.size() >= 4 && text.compare(text.size() - 4, 4, "done") == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    c.send("Browser.close", nlohmann::json::object());
    return text;
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

    // Chromium with its own profile (others may run Chromium at the same time)
    const std::string url = "file://" + std::filesystem::absolute(dir).string() + "/index.html?selftest=" + url_encode(list);
    const std::string log_file = tmp.path + "/chromium.log";
    const std::string text = page_selftest(url, tmp.path + "/profile", log_file);
    REQUIRE_MESSAGE(!text.empty(), "the page wrote no self-test output in 90 s; chromium log: " << log_file);
    std::istringstream lines(text);

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
