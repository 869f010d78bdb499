// stream_bench.cpp: streaming inference, constant memory vs a growing cache
// (paper Section 1 and App. D.4: TransformerFAM infers in O(L) compute and O(1)
// memory; Tables 13-14 measure it on TPUs). Streams 1K .. 1M tokens one token
// at a time (stream_step, as in generation) through a small random FAM model
// and through the same model with full attention, each length in its own
// forked child so that the peak resident memory (VmHWM) is that run's alone.
//
//   build/bench/stream_bench            the table of docs/performance.md (a few minutes on 2 cores)
//   build/bench/stream_bench --quick    up to 128K tokens, full attention under 10 s per run
//   build/bench/stream_bench --threads 0   OpenBLAS's default thread count instead of 1
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blas.h"
#include "fam_state.h"
#include "weights.h"

// The small model: V=64, D=64, H=4, N=2, Dff=256, B=64, M=1, F=8 (full: same weights' shapes, no FAM).
static FamConfig bench_config(AttentionKind a) {
    FamConfig c;
    c.V = 64;
    c.D = 64;
    c.H = 4;
    c.N = 2;
    c.Dff = 256;
    c.attention = a;
    c.B = 64;
    c.M = 1;
    c.F = a == AttentionKind::Fam ? 8 : 0;
    return c;
}

struct RunResult {
    double seconds = 0;       // the streaming loop alone, wall clock
    double cpu = 0;           // the same in CPU time (user + system): robust to a busy machine
    size_t peak_rss = 0;      // VmHWM of the child at the end
    size_t state_bytes = 0;   // FamState::capacity_bytes() at the end
    long long done = 0;       // tokens streamed (fewer than asked when over the time budget)
    int ok = 0;
};

static double cpu_seconds() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// In the child: build the model and the state, stream `tokens` random ids (stop
// early once `budget` seconds have passed).
static RunResult run_child(AttentionKind a, long long tokens, double budget) {
    FamConfig cfg = bench_config(a);
    ModelWeights w(cfg);
    init_weights(w, 1234);
    FamState st(cfg);
    stream_reset(st, w);
    std::vector<float> logits(cfg.V);
    Rng rng(99);
    const double cpu0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&]() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    RunResult r;
    for (r.done = 0; r.done < tokens; r.done++) {
        if (r.done % 1024 == 0 && elapsed() > budget) break;
        stream_step(st, w, rng.randint(0, cfg.V - 1), logits.data());
    }
    r.seconds = elapsed();
    r.cpu = cpu_seconds() - cpu0;
    r.peak_rss = peak_rss_bytes();
    r.state_bytes = st.capacity_bytes();
    r.ok = logits[0] == logits[0];  // not NaN
    return r;
}

// Fork, run, collect the child's result through a pipe.
static RunResult run_forked(AttentionKind a, long long tokens, double budget) {
    int fd[2];
    if (pipe(fd) != 0) {
        std::perror("pipe");
        std::exit(1);
    }
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("fork");
        std::exit(1);
    }
    if (pid == 0) {
        close(fd[0]);
        RunResult r = run_child(a, tokens, budget);
        ssize_t n = write(fd[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    RunResult r;
    ssize_t n = read(fd[0], &r, sizeof r);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (n != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0) r.ok = 0;
    return r;
}

static std::string human(long long n) {
    if (n >= (1 << 20) && n % (1 << 20) == 0) return std::to_string(n >> 20) + "M";
    if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + "K";
    return std::to_string(n);
}

// "  12345 (  13456)     6.1 MB   770.4 KB": the numbers of the tokens the run got through.
static void format_cols(char* out, size_t size, const RunResult& r) {
    double wall = r.ok && r.seconds > 0 ? r.done / r.seconds : 0.0, cpu = r.ok && r.cpu > 0 ? r.done / r.cpu : 0.0;
    std::snprintf(out, size, "%8.0f (%8.0f) %8.1f MB %8.1f KB", wall, cpu, r.peak_rss / 1048576.0,
                  r.state_bytes / 1024.0);
}

int main(int argc, char** argv) {
    bool quick = false;
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--quick")) quick = true;
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: stream_bench [--quick] [--threads N (0 = OpenBLAS default)]\n");
            return 2;
        }
    }
    // one-row gemms: OpenBLAS threads only add synchronisation (docs/performance.md)
    if (threads > 0) blas_set_threads(threads);
    const double budget = quick ? 10.0 : 60.0;  // full attention: skip a run predicted to take longer
    std::vector<long long> lengths = {1 << 10, 16 << 10, 32 << 10, 128 << 10};
    if (!quick) lengths.push_back(1 << 20);

    FamConfig fc = bench_config(AttentionKind::Fam);
    std::printf("stream_bench: one token at a time (stream_step), %s, BLAS threads %s\n", fc.describe().c_str(),
                threads > 0 ? std::to_string(threads).c_str() : "default");
    std::printf("tok/s: tokens per second of wall clock (per CPU second); peak RSS: VmHWM of the run's process;\n"
                "state: FamState::capacity_bytes() at the end (caches and scratch)\n\n");
    std::printf("%-6s | %-43s | %-43s\n", "", "FAM (B=64, M=1, F=8)", "full attention");
    std::printf("%-6s | %-19s %11s %11s | %-19s %11s %11s\n", "tokens", "tok/s (CPU)", "peak RSS", "state",
                "tok/s (CPU)", "peak RSS", "state");
    double full_last_s = 0;
    long long full_last_n = 0;
    bool full_stopped = false;
    for (long long n : lengths) {
        RunResult f = run_forked(AttentionKind::Fam, n, 1e30);
        char fam_cols[64], full_cols[128];
        format_cols(fam_cols, sizeof fam_cols, f);
        // Full attention costs ~ n^2 once its attention dominates (a run of a few
        // seconds): skip a run predicted to exceed the budget; a run that still
        // does is stopped at the budget.
        double r = (double)n / (full_last_n ? full_last_n : n);
        double predicted = full_last_s > 2.0 ? full_last_s * r * r : 0.0;
        if (full_stopped || predicted > budget) {
            std::string why = full_stopped ? "skipped" : "skipped (~" + std::to_string((int)predicted) + " s)";
            std::snprintf(full_cols, sizeof full_cols, "%s", why.c_str());
        } else {
            RunResult g = run_forked(AttentionKind::Full, n, budget);
            full_last_s = g.seconds;
            full_last_n = n;
            format_cols(full_cols, sizeof full_cols, g);
            if (g.done < n) {  // the numbers are those of the tokens it got through
                full_stopped = true;
                std::string note = "  (stopped at " + std::to_string((int)budget) + " s, " + human(g.done) + " tokens)";
                std::strncat(full_cols, note.c_str(), sizeof full_cols - std::strlen(full_cols) - 1);
            }
        }
        std::printf("%-6s | %s | %s\n", human(n).c_str(), fam_cols, full_cols);
        if (!f.ok) {
            std::fprintf(stderr, "stream_bench: the FAM run of %lld tokens failed\n", n);
            return 1;
        }
    }
    return 0;
}
