// tasks.cpp: see tasks.h. Prompt text from the paper's Appendix D.1; filler
// sentences as in Landmark Attention's pass-key test, which the paper follows.
#include "app/tasks.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

static const char* kIntro =
    "There is an important info hidden inside a lot of irrelevant text . Find it and memorize "
    "them . I will quiz you about the important information there .";
static const char* kFiller =
    "The grass is green . The sky is blue . The sun is yellow . Here we go . There and back again .";
static const char* kQuestion = "What is the pass key ? The pass key is";

int Vocab::id(const std::string& w) const {
    auto it = ids.find(w);
    if (it == ids.end()) throw std::invalid_argument("word '" + w + "' is not in the vocabulary");
    return it->second;
}

std::vector<int> Vocab::encode(const std::string& text) const {
    std::vector<int> out;
    std::string word;
    auto flush = [&]() {
        if (!word.empty()) out.push_back(id(word));
        word.clear();
    };
    for (char ch : text) {
        if (std::isspace((unsigned char)ch)) {
            flush();
        } else if (ch == '.' || ch == '?' || std::isdigit((unsigned char)ch)) {
            flush();  // punctuation and every digit are tokens of their own
            word = ch;
            flush();
        } else {
            word += ch;
        }
    }
    flush();
    return out;
}

std::string Vocab::decode(const std::vector<int>& t) const {
    std::string s;
    for (size_t i = 0; i < t.size(); i++) {
        if (t[i] < 0 || t[i] >= size()) throw std::invalid_argument("token id out of range");
        s += (i ? " " : "") + words[t[i]];
    }
    return s;
}

std::string Vocab::serialize() const {
    std::string s;
    for (size_t i = 0; i < words.size(); i++) s += (i ? " " : "") + words[i];
    return s;
}

Vocab Vocab::deserialize(const std::string& s) {
    Vocab v;
    std::stringstream ss(s);
    std::string w;
    while (ss >> w) {
        if (v.ids.count(w)) throw std::invalid_argument("vocabulary lists '" + w + "' twice");
        v.ids[w] = (int)v.words.size();
        v.words.push_back(w);
    }
    if (v.words.empty()) throw std::invalid_argument("empty vocabulary");
    return v;
}

Vocab passkey_vocab() {
    Vocab v;
    auto add_words = [&](const std::string& text) {
        std::stringstream ss(text);
        std::string w;
        while (ss >> w)
            if (!v.ids.count(w)) {
                v.ids[w] = (int)v.words.size();
                v.words.push_back(w);
            }
    };
    add_words("0 1 2 3 4 5 6 7 8 9 . ?");
    add_words(kIntro);
    add_words("The pass key is Remember it");
    add_words(kFiller);
    add_words(kQuestion);
    return v;
}

PasskeyExample make_passkey_example(const Vocab& v, Rng& rng, int filler_len, int digits,
                                    float lm_weight) {
    if (filler_len < 0) throw std::invalid_argument("filler length must be >= 0");
    if (digits < 1) throw std::invalid_argument("the key needs at least one digit");
    PasskeyExample ex;
    ex.filler_len = filler_len;
    for (int i = 0; i < digits; i++) ex.key += (char)('0' + (i == 0 ? rng.randint(1, 9) : rng.randint(0, 9)));
    std::vector<int> key = v.encode(ex.key);
    auto append = [&](const std::vector<int>& x) { ex.tokens.insert(ex.tokens.end(), x.begin(), x.end()); };

    append(v.encode(kIntro));
    append(v.encode("The pass key is"));
    ex.key_pos = (int)ex.tokens.size();
    append(key);
    append(v.encode(". Remember it ."));
    append(key);
    append(v.encode("is the pass key ."));
    std::vector<int> filler = v.encode(kFiller);
    ex.filler_pos = (int)ex.tokens.size();
    for (int i = 0; i < filler_len; i++) ex.tokens.push_back(filler[i % filler.size()]);
    append(v.encode(kQuestion));
    ex.answer_pos = (int)ex.tokens.size();
    append(key);

    const int T = (int)ex.tokens.size();
    ex.targets.assign(T, -1);
    ex.weights.assign(T, 0.0f);
    for (int t = 0; t + 1 < T; t++) {
        bool answer = t + 1 >= ex.answer_pos;  // position t predicts token t+1
        if (answer || lm_weight > 0.0f) {
            ex.targets[t] = ex.tokens[t + 1];
            ex.weights[t] = answer ? 1.0f : lm_weight;
        }
    }
    return ex;
}

std::string passkey_prediction(const float* logits, int V, const PasskeyExample& ex) {
    std::string out;
    for (size_t i = 0; i < ex.key.size(); i++) {
        const float* z = logits + (size_t)(ex.answer_pos - 1 + i) * V;
        int best = 0;
        for (int j = 1; j < V; j++)
            if (z[j] > z[best]) best = j;
        out += best < 10 ? (char)('0' + best) : '?';  // ids 0..9 are the digits
    }
    return out;
}

// DEVIATION: serves --answer-cut, a training option the paper does not have.
int passkey_filler_cutting_answer(const Vocab& v, int filler, int pick, int B, int fmin, int fmax, int digits) {
    if (digits < 2 || B < 2) return filler;
    Rng probe(0);  // the layout does not depend on the key
    const int row0 = make_passkey_example(v, probe, 0, digits).answer_pos - 1;  // predicts digit 1 at filler 0
    // the rows row0 + filler .. + digits - 1 cross a boundary when (row0 + filler) % B
    // is one of the last min(digits, B) - 1 offsets of a block
    const int ncut = std::min(digits, B) - 1;
    const int target = B - ncut + ((pick % ncut) + ncut) % ncut;
    const int at = (row0 + filler) % B;
    int f = filler - at + target;
    if (f > fmax) f -= B;
    if (f < fmin) f += B;
    return (f < fmin || f > fmax) ? filler : f;
}

bool passkey_correct(const float* logits, int V, const PasskeyExample& ex) {
    return passkey_prediction(logits, V, ex) == ex.key;
}
