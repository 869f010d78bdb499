// text.cpp: see text.h.
#include "app/text.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fam_state.h"
#include "model.h"

std::vector<int> text_to_tokens(const std::string& bytes) {
    std::vector<int> ids(bytes.size());
    for (size_t i = 0; i < bytes.size(); i++) ids[i] = (unsigned char)bytes[i];
    return ids;
}

std::string tokens_to_text(const std::vector<int>& ids) {
    std::string s(ids.size(), '\0');
    for (size_t i = 0; i < ids.size(); i++) {
        if (ids[i] < 0 || ids[i] >= kByteVocab)
            throw std::invalid_argument("token id " + std::to_string(ids[i]) + " is not a byte (0..255)");
        s[i] = (char)ids[i];
    }
    return s;
}

// The length of the valid UTF-8 sequence starting at s[i] (2..4), or 0.
static int utf8_len(const std::string& s, size_t i) {
    unsigned char c = s[i];
    int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (int k = 1; k < n; k++)
        if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
    return n;
}

std::string printable_text(const std::string& bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size(); i++) {
        unsigned char c = bytes[i];
        if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7F)) {
            out += (char)c;
        } else if (int n = c >= 0x80 ? utf8_len(bytes, i) : 0) {
            out.append(bytes, i, n);
            i += n - 1;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        }
    }
    return out;
}

bool is_text_model(const std::map<std::string, std::string>& metadata) {
    auto it = metadata.find("task.tokenizer");
    return it != metadata.end() && it->second == kByteTokenizer;
}

TextCorpus make_text_corpus(const std::string& bytes, double val_percent, const std::string& name, long min_part) {
    if (!(val_percent > 0 && val_percent < 100))
        throw std::invalid_argument("the validation share must be in (0, 100) percent, got " + std::to_string(val_percent));
    TextCorpus c;
    c.name = name;
    c.tokens = text_to_tokens(bytes);
    c.val_percent = val_percent;
    c.n_train = c.size() - (long)std::llround(c.size() * val_percent / 100.0);
    if (c.n_train < min_part || c.n_val() < min_part)
        throw std::invalid_argument(name + ": " + std::to_string(c.size()) + " bytes is too short: with " +
                                    std::to_string(val_percent) + "% held out, training and validation need " +
                                    std::to_string(min_part) + " bytes each");
    return c;
}

TextCorpus load_text_corpus(const std::string& path, double val_percent, long min_part) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument(path + ": cannot open (" + std::strerror(errno) + ")");
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) throw std::runtime_error(path + ": read error");
    return make_text_corpus(ss.str(), val_percent, path, min_part);
}

double unigram_entropy_bits(const std::vector<int>& tokens, long from, long to) {
    std::vector<long> count(kByteVocab, 0);
    for (long i = from; i < to; i++) count[tokens[i]]++;
    double h = 0, n = (double)(to - from);
    for (long k : count)
        if (k > 0) h -= k / n * std::log2(k / n);
    return h;
}

TextSource::TextSource(const TextCorpus& corpus, int window) : corpus_(corpus), window_(window) {
    if (window < 1) throw std::invalid_argument("the training window must be >= 1 token");
    if (window + 1 > corpus.n_train)
        throw std::invalid_argument(corpus.name + ": the training part (" + std::to_string(corpus.n_train) +
                                    " bytes) is shorter than one window of " + std::to_string(window) + " + 1");
}

TrainExample TextSource::draw(Rng& rng, long /*step*/) const {
    // a window of `window_` inputs and their next bytes: window_ + 1 bytes of training text
    const long last_start = corpus_.n_train - (window_ + 1);
    long start = (long)(rng.next_u64() % (uint64_t)(last_start + 1));
    TrainExample ex;
    const int* p = corpus_.tokens.data() + start;
    ex.tokens.assign(p, p + window_);
    ex.targets.assign(p + 1, p + window_ + 1);  // loss on every position
    ex.weights.assign(window_, 1.0f);
    return ex;
}

std::vector<long> validation_starts(const TextCorpus& corpus, int window, int max_windows) {
    std::vector<long> starts;
    for (long s = corpus.n_train; s + window + 1 <= corpus.size() && (int)starts.size() < max_windows; s += window)
        starts.push_back(s);
    if (starts.empty())
        throw std::invalid_argument(corpus.name + ": the validation part (" + std::to_string(corpus.n_val()) +
                                    " bytes) is shorter than one window of " + std::to_string(window) + " + 1");
    return starts;
}

std::vector<int> position_buckets(int window, int first_bucket) {
    if (first_bucket < 1) throw std::invalid_argument("the first bucket must hold >= 1 position");
    std::vector<int> edges{0};
    for (long e = first_bucket; e < window; e *= 2) edges.push_back((int)e);
    edges.push_back(window);
    return edges;
}

TextLoss eval_text(const ModelWeights& w, const TextCorpus& corpus, int window, int max_windows,
                   const std::vector<int>& edges, int threads) {
    const std::vector<long> starts = validation_starts(corpus, window, max_windows);
    const int n = (int)starts.size(), nb = (int)edges.size() - 1;
    if (nb < 1 || edges.front() != 0 || edges.back() != window)
        throw std::invalid_argument("bucket edges must run from 0 to the window");
    std::vector<std::vector<double>> sums(n, std::vector<double>(nb, 0.0));  // [windows, buckets]
    std::vector<long> right(n, 0);  // [windows] positions whose arg-max is the next byte
    parallel_for(n, threads, [&](int i) {
        const int* p = corpus.tokens.data() + starts[i];
        ModelCache c;
        model_forward(c, w, p, window);
        model_loss(c, w, p + 1, nullptr);  // c.losses [window]: every position's next-byte loss
        for (int k = 0; k < nb; k++)
            for (int t = edges[k]; t < edges[k + 1]; t++) sums[i][k] += c.losses[t];
        const int V = w.cfg.V;
        for (int t = 0; t < window; t++) {
            const float* z = &c.logits[(size_t)t * V];
            int best = 0;
            for (int j = 1; j < V; j++)
                if (z[j] > z[best]) best = j;
            right[i] += best == p[t + 1];
        }
    });
    TextLoss r;
    r.windows = n;
    r.window = window;
    r.edges = edges;
    r.tokens = (long)n * window;
    r.bucket_loss.assign(nb, 0.0);
    double total = 0;
    for (int k = 0; k < nb; k++) {  // summed in window order: the same whatever the thread count
        for (int i = 0; i < n; i++) r.bucket_loss[k] += sums[i][k];
        total += r.bucket_loss[k];
        r.bucket_loss[k] /= (double)n * (edges[k + 1] - edges[k]);
    }
    r.loss = total / r.tokens;
    long nright = 0;
    for (long x : right) nright += x;
    r.accuracy = (double)nright / r.tokens;
    r.bits_per_byte = r.loss / std::log(2.0);
    return r;
}

static const char* kKeyIntro = "The pass key is ";
static const char* kKeyOutro = ". Remember it. ";
static const char* kKeyAgain = " is the pass key. ";
static const char* kQuestion = " What is the pass key? The pass key is ";

TextPasskey make_text_passkey(const TextCorpus& corpus, Rng& rng, int filler_len, int digits) {
    if (filler_len < 0) throw std::invalid_argument("filler length must be >= 0");
    if (digits < 1) throw std::invalid_argument("the key needs at least one digit");
    if (filler_len > corpus.n_val())
        throw std::invalid_argument(corpus.name + ": the validation part (" + std::to_string(corpus.n_val()) +
                                    " bytes) is shorter than a filler of " + std::to_string(filler_len));
    TextPasskey ex;
    ex.filler_len = filler_len;
    for (int i = 0; i < digits; i++) ex.key += (char)('0' + (i == 0 ? rng.randint(1, 9) : rng.randint(0, 9)));
    long start = corpus.n_train + (long)(rng.next_u64() % (uint64_t)(corpus.n_val() - filler_len + 1));
    std::string text = std::string(kKeyIntro) + ex.key + kKeyOutro + ex.key + kKeyAgain;
    ex.tokens = text_to_tokens(text);
    ex.tokens.insert(ex.tokens.end(), corpus.tokens.begin() + start, corpus.tokens.begin() + start + filler_len);
    std::vector<int> q = text_to_tokens(kQuestion);
    ex.tokens.insert(ex.tokens.end(), q.begin(), q.end());
    ex.answer_pos = (int)ex.tokens.size();
    std::vector<int> key = text_to_tokens(ex.key);
    ex.tokens.insert(ex.tokens.end(), key.begin(), key.end());
    return ex;
}

TextPasskeyScore eval_text_passkey(const ModelWeights& w, const TextCorpus& corpus, int filler, int samples,
                                   uint64_t seed, int digits, int threads) {
    if (samples < 1) throw std::invalid_argument("samples must be >= 1");
    Rng rng(seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)filler << 20) ^ 0x7E47);
    std::vector<TextPasskey> examples;
    for (int i = 0; i < samples; i++) examples.push_back(make_text_passkey(corpus, rng, filler, digits));
    std::vector<int> right(samples);
    std::vector<double> bits(samples);
    const int V = w.cfg.V;
    parallel_for(samples, threads, [&](int i) {
        // streaming (src/fam_state.h): constant memory; logits only at the answer rows
        const TextPasskey& ex = examples[i];
        FamState st(w.cfg);
        stream_reset(st, w);
        const int head = ex.answer_pos - 1;
        stream_prefill(st, w, ex.tokens.data(), head, nullptr);
        std::vector<float> logits((size_t)digits * V);
        stream_prefill(st, w, ex.tokens.data() + head, digits, logits.data());
        for (int d = 0; d < digits; d++) {
            const float* z = &logits[(size_t)d * V];
            const int target = ex.tokens[ex.answer_pos + d];
            int best = 0;
            double mx = z[0];
            for (int j = 1; j < V; j++) {
                if (z[j] > z[best]) best = j;
                mx = std::max(mx, (double)z[j]);
            }
            double se = 0;
            for (int j = 0; j < V; j++) se += std::exp((double)z[j] - mx);
            bits[i] += (std::log(se) + mx - z[target]) / std::log(2.0);
            right[i] += best == target;
        }
    });
    TextPasskeyScore s;
    for (int i = 0; i < samples; i++) {
        s.exact += right[i] == digits;
        s.digit += right[i];
        s.answer_bits += bits[i];
    }
    s.exact /= samples;
    s.digit /= (double)samples * digits;
    s.answer_bits /= (double)samples * digits;
    return s;
}
