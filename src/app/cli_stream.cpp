// cli_stream.cpp: `fam generate` and `fam stream`: inference with constant
// memory through a FamState (src/fam_state.h; paper Section 1 and App. D.4:
// "O(L) compute, O(1) memory"; Section 2.2, Algorithm 2).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "blas.h"
#include "fam_state.h"
#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/interrupt.h"
#include "app/safe_file.h"
#include "app/state_file.h"
#include "app/text.h"

// One-row gemms are too small for OpenBLAS's threads: they only add
// synchronisation (docs/performance.md measures it). OPENBLAS_NUM_THREADS wins.
static void single_thread_blas() {
    if (!std::getenv("OPENBLAS_NUM_THREADS")) blas_set_threads(1);
}

static double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int cmd_generate(int argc, char** argv) {
    ArgParser a("fam generate",
                "Generate tokens after a prompt, one at a time through a constant-memory FamState:\n"
                "the prompt is prefilled a block at a time, then each new token is one step\n"
                "(paper Section 1, App. D.4). Greedy at temperature 0, else sampled (seeded).\n"
                "Prints the generated ids, comma-separated; for a text model (fam train --task text)\n"
                "prompted with --prompt, the prompt and the generated text.");
    a.option("model", "FILE", "model .safetensors", "", true)
        .option("prompt-tokens", "IDS", "comma-separated prompt token ids (at least one)")
        .option("prompt", "TEXT", "text models: the prompt as text (its bytes are the tokens)")
        .option("max-new", "K", "how many tokens to generate", "", true)
        .option("temperature", "X", "0 = greedy (argmax); > 0 samples softmax(logits / X)", "0")
        .option("top-k", "K", "sample among the K most likely ids only (0 = all)", "0")
        .option("seed", "S", "random seed for sampling", "1234")
        .flag("quiet", "no summary line on stderr")
        .example("fam generate --model m.safetensors --prompt-tokens 3,1,4 --max-new 20", "greedy")
        .example("fam generate --model m.safetensors --prompt-tokens 3,1,4 --max-new 20 --temperature 0.8 --top-k 5 --seed 7",
                 "sampled, reproducible with the seed");
    if (!a.parse(argc, argv)) return 0;
    single_thread_blas();
    // positions are float32: exact up to 2^24, which also bounds the output buffer
    const long long max_new = a.integer("max-new", 0, kMaxTokens);
    const float temperature = (float)a.number("temperature", 0.0, 1e6);
    const int top_k = (int)a.integer("top-k", 0, 1 << 30);
    const uint64_t seed = (uint64_t)a.integer("seed", 0);
    const SafeTensors file = safetensors_load(a.str("model"));
    ModelWeights w = model_from_safetensors(file);
    const bool text = a.given("prompt");  // text in, text out (src/app/text.h: one token per byte)
    if (text == a.given("prompt-tokens")) throw UsageError("fam generate: give exactly one of --prompt and --prompt-tokens");
    if (text && !is_text_model(file.metadata))
        throw UsageError("fam generate: --prompt needs a text model (task.tokenizer = bytes); use --prompt-tokens");
    if (text && a.str("prompt").empty()) throw UsageError("fam generate: --prompt must not be empty");
    std::vector<int> prompt = text ? text_to_tokens(a.str("prompt")) : parse_ids(a, "prompt-tokens", w.cfg.V, false);
    if ((long long)prompt.size() + max_new > kMaxTokens)
        throw UsageError("fam generate: prompt (" + std::to_string(prompt.size()) + ") + --max-new (" +
                         std::to_string(max_new) + ") tokens is over " + std::to_string(kMaxTokens) +
                         " (positions are float32, exact up to 2^24)");
    check_stream_resources(w.cfg);
    FamState st(w.cfg);
    stream_reset(st, w);
    std::vector<int> out((size_t)max_new);
    auto t0 = std::chrono::steady_clock::now();
    stream_generate(st, w, prompt.data(), (int)prompt.size(), (int)max_new, temperature, top_k, seed, out.data());
    double sec = seconds_since(t0);
    if (text) {
        std::printf("%s\n", printable_text(a.str("prompt") + tokens_to_text(out)).c_str());
    } else {
        for (size_t i = 0; i < out.size(); i++) std::printf("%s%d", i ? "," : "", out[i]);
        std::printf("\n");
    }
    // the ids before the summary on stderr, also when both go to one pipe; a failed
    // write (a full disk) is the error, not a summary line
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
        throw std::runtime_error(std::string("cannot write to standard output (") + std::strerror(errno) + ")");
    if (!a.flag_set("quiet"))
        std::fprintf(stderr, "%s: prompt %zu tokens, generated %lld (%s, seed %llu) in %.3f s\n", a.str("model").c_str(),
                 prompt.size(), max_new, temperature == 0.0f ? "greedy" : "sampled", (unsigned long long)seed, sec);
    return 0;
}

// A word from a token file as it may appear in a message: control and non-ASCII
// bytes as '?', at most 40 characters.
static std::string printable(const std::string& w) {
    std::string out;
    for (char c : w) out += (c >= 32 && c < 127) ? c : '?';
    return out.size() > 40 ? out.substr(0, 40) + "..." : out;
}

// Reads token ids one at a time from a file or stdin without holding the
// stream: text (whitespace-separated decimal ids) or raw little-endian uint32.
class TokenReader {
  public:
    TokenReader(const std::string& path, bool binary) : path_(path), binary_(binary) {
        if (path == "-") {
            f_ = stdin;
            name_ = "<stdin>";
        } else {
            f_ = std::fopen(path.c_str(), "rb");
            name_ = path;
            if (!f_)
                throw std::invalid_argument("--tokens-file " + path + ": cannot open (" + std::strerror(errno) + ")");
        }
        buf_.resize(1 << 16);
    }
    ~TokenReader() {
        if (f_ && f_ != stdin) std::fclose(f_);
    }
    TokenReader(const TokenReader&) = delete;
    TokenReader& operator=(const TokenReader&) = delete;

    // The next id (unchecked against the vocabulary; may be out of range). False at the end.
    bool next(long long& id) {
        return binary_ ? next_binary(id) : next_text(id);
    }
    long long count() const { return count_; }  // ids read so far
    const std::string& name() const { return name_; }

  private:
    std::string path_, name_;
    bool binary_;
    FILE* f_ = nullptr;
    std::vector<unsigned char> buf_;
    size_t at_ = 0, end_ = 0;
    long long count_ = 0;

    int getc_buffered() {  // -1 at the end
        if (at_ == end_) {
            // read(2), not fread: from a pipe it returns what has arrived instead of
            // waiting for a full buffer, so tokens are processed as they come
            ssize_t n;
            do {
                n = ::read(fileno(f_), buf_.data(), buf_.size());
            } while (n < 0 && errno == EINTR && !interrupted());
            if (n < 0 && !interrupted())  // Ctrl-C ends a blocked read: the stream stops there
                throw std::runtime_error(name_ + ": read error (" + std::strerror(errno) + ")");
            at_ = 0;
            end_ = n > 0 ? (size_t)n : 0;
            if (end_ == 0) return -1;
        }
        return buf_[at_++];
    }
    bool next_binary(long long& id) {
        unsigned char b[4];
        int n = 0;
        for (; n < 4; n++) {
            int c = getc_buffered();
            if (c < 0) break;
            b[n] = (unsigned char)c;
        }
        if (n == 0 || (n < 4 && interrupted())) return false;  // a token cut by Ctrl-C is not read
        if (n < 4)
            throw std::invalid_argument(name_ + ": " + std::to_string(n) + " trailing byte(s) after token " +
                                        std::to_string(count_) + " (--binary expects little-endian uint32 ids)");
        id = (long long)b[0] | (long long)b[1] << 8 | (long long)b[2] << 16 | (long long)b[3] << 24;
        count_++;
        return true;
    }
    bool next_text(long long& id) {
        int c = getc_buffered();
        while (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ',') c = getc_buffered();
        if (c < 0) return false;
        std::string word;
        while (c >= 0 && !(c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ',')) {
            word += (char)c;
            if (word.size() >= 40) break;  // no id is that long: refuse now, not after an endless word
            c = getc_buffered();
        }
        if (c < 0 && interrupted()) return false;  // a token cut by Ctrl-C is not read
        char* end = nullptr;
        errno = 0;
        id = std::strtoll(word.c_str(), &end, 10);
        if (word.empty() || *end != '\0' || errno == ERANGE || word.size() >= 40)
            throw std::invalid_argument(name_ + ": '" + printable(word) + "' at position " + std::to_string(count_) +
                                        " is not a token id (expected whitespace-separated integers, or --binary)");
        count_++;
        return true;
    }
};

// -log softmax(logits)[target], in double. logits [V].
static double next_token_loss(const float* logits, int V, int target) {
    float mx = logits[0];
    for (int i = 1; i < V; i++) mx = std::fmax(mx, logits[i]);
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += std::exp((double)logits[i] - mx);
    return std::log(sum) + mx - logits[target];
}

int cmd_stream(int argc, char** argv) {
    ArgParser a("fam stream",
                "Stream a token file of any length through the model one token at a time with a\n"
                "constant-memory FamState (paper Section 1, App. D.4), reading it incrementally.\n"
                "Prints the mean next-token loss, tokens/s and peak resident memory as it goes.\n"
                "--state-out saves the state (and the running loss) so that --state-in continues\n"
                "the stream later with identical results; Ctrl-C (or SIGTERM) stops the stream,\n"
                "saves the state of the tokens consumed so far and exits with 130 (143).");
    a.option("model", "FILE", "model .safetensors", "", true)
        .option("tokens-file", "FILE", "token ids: whitespace-separated text, or '-' for stdin", "", true)
        .flag("binary", "the file holds raw little-endian uint32 ids instead of text")
        .option("report-every", "N", "a progress line every N tokens (0 = only the summary)", "100000")
        .option("state-in", "FILE", "continue from a state saved by --state-out")
        .option("state-out", "FILE", "save the state at the end (atomic write; never the --model or --tokens-file file)")
        .flag("quiet", "only the final summary line (no header, no progress)")
        .example("fam stream --model m.safetensors --tokens-file book.txt --state-out book.state",
                 "stream a file, keep the state")
        .example("fam stream --model m.safetensors --tokens-file more.txt --state-in book.state --state-out book.state",
                 "continue where the last run stopped (same results as one long run)");
    if (!a.parse(argc, argv)) return 0;
    single_thread_blas();
    const long long every = a.integer("report-every", 0);
    const bool quiet = a.flag_set("quiet");
    if (a.given("state-out")) {
        // --state-in == --state-out is fine (read first, replaced atomically at the end)
        refuse_same_file(a.str("model"), "--model", a.str("state-out"), "--state-out");
        refuse_same_file(a.str("tokens-file"), "--tokens-file", a.str("state-out"), "--state-out");
        check_writable(a.str("state-out"), "--state-out");  // before the stream, not after
    }
    ModelWeights w = load_model(a.str("model"));
    const int V = w.cfg.V;
    check_stream_resources(w.cfg);
    FamState st(w.cfg);
    // the running loss crosses a save/resume with the state: the first token of the
    // next file is predicted by the last logits of this one
    double loss_sum = 0.0;
    long long loss_count = 0;
    std::vector<float> prev(V), cur(V);
    bool have_prev = false;
    if (a.given("state-in")) {
        SafeTensors f = fam_state_load(a.str("state-in"), st, w);
        if (f.metadata.count("stream.loss_sum")) {
            const std::string& x = f.meta("stream.loss_sum");
            char* end = nullptr;
            loss_sum = std::strtod(x.c_str(), &end);
            if (x.empty() || *end != '\0' || !std::isfinite(loss_sum) || loss_sum < 0)
                throw std::runtime_error(a.str("state-in") + ": metadata 'stream.loss_sum' must be a finite number >= 0");
        }
        if (f.metadata.count("stream.loss_count")) {
            const std::string& x = f.meta("stream.loss_count");
            char* end = nullptr;
            errno = 0;
            loss_count = std::strtoll(x.c_str(), &end, 10);
            if (x.empty() || *end != '\0' || errno == ERANGE || loss_count < 0 || loss_count > st.pos)
                throw std::runtime_error(a.str("state-in") + ": metadata 'stream.loss_count' must be an integer in [0, " +
                                         std::to_string(st.pos) + "] (state.pos)");
        }
        if (f.tensors.count("stream.last_logits")) {
            const Tensor& t = f.get("stream.last_logits", {V});
            std::copy(t.data, t.data + V, prev.begin());
            have_prev = true;
        }
    } else {
        stream_reset(st, w);
    }
    const long long start_pos = st.pos;
    if (!quiet) std::printf("%s: %s, streaming %s from position %lld\n", a.str("model").c_str(), w.cfg.describe().c_str(),
                a.str("tokens-file").c_str(), start_pos);
    std::fflush(stdout);

    TokenReader in(a.str("tokens-file"), a.flag_set("binary"));
    if (a.given("state-out")) install_interrupt_handlers();  // stop cleanly, keep the state
    auto t0 = std::chrono::steady_clock::now();
    auto report = [&](const char* what) {
        double sec = seconds_since(t0);
        long long n = in.count();
        std::printf("%s tokens %lld (position %lld)  mean loss %.4f  tokens/s %.0f  peak RSS %.1f MB\n", what, n,
                    (long long)st.pos, loss_count ? loss_sum / loss_count : NAN, sec > 0 ? n / sec : 0.0,
                    peak_rss_bytes() / 1048576.0);
        std::fflush(stdout);
    };
    // RoPE positions are float32, exact integers only up to 2^24: say so once when
    // the stream gets there (the numbers after it drift from an exact-position model)
    auto warn_positions = [](long long pos) {
        std::fprintf(stderr, "fam stream: warning: position %lld: positions are float32 and no longer exact "
                             "beyond 2^24, so the logits drift slowly from here on\n", pos);
    };
    if (st.pos > kMaxTokens) warn_positions(st.pos);
    long long id;
    while (!interrupted() && in.next(id)) {
        if (id < 0 || id >= V)
            throw std::invalid_argument(in.name() + ": token id " + std::to_string(id) + " at position " +
                                        std::to_string(in.count() - 1) + " is outside the vocabulary [0, " +
                                        std::to_string(V) + ")");
        if (have_prev) {
            loss_sum += next_token_loss(prev.data(), V, (int)id);
            loss_count++;
        }
        stream_step(st, w, (int)id, cur.data());
        std::swap(prev, cur);
        have_prev = true;
        if (every > 0 && !quiet && in.count() % every == 0) report("  ");
        if (st.pos == kMaxTokens) warn_positions(st.pos);
    }
    report(interrupted() ? "interrupted:" : "done:");
    if (a.given("state-out")) {
        SafeTensors extra;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", loss_sum);
        extra.metadata["stream.loss_sum"] = buf;
        extra.metadata["stream.loss_count"] = std::to_string(loss_count);
        if (have_prev) {
            Tensor t("stream.last_logits", {V});
            std::copy(prev.begin(), prev.end(), t.data);
            extra.tensors["stream.last_logits"] = t;
        }
        fam_state_save(a.str("state-out"), st, w, &extra);
        if (!quiet) std::printf("wrote %s (stream position %lld)\n", a.str("state-out").c_str(), (long long)st.pos);
    }
    return interrupted() ? interrupt_exit_code() : 0;
}
