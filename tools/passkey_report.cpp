// passkey_report.cpp: gathers what tools/reproduce_passkey.sh produced (the
// trained checkpoints, their training times, their `fam eval --json` lines) into
// docs/results/passkey.json, docs/results/passkey.md and an SVG plot of
// accuracy against log filler length: the toy-scale analog of the paper's
// Figure 3a (Section 3.2), with each BSWA model's receptive field marked.
//
// usage: passkey_report --dir build/passkey --models fam_s1,fam_s2,bswa_m0,... --notes FILE
//                       [--phases A,B] [--machine FILE] [--eval-seed S] [--check-seed S2]
//                       --json OUT.json --md OUT.md --svg OUT.svg
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/args.h"
#include "app/checkpoint.h"
#include "app/npy.h"
#include "app/tasks.h"

using nlohmann::json;

static std::string last_line(const std::string& text) {
    std::string s = text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

// Theoretical receptive field of BSWA in tokens, as the paper counts it
// (Section 3.2: "depth 18 x memory segment 2k = 36k"): N * M * B.
static int receptive_field(const FamConfig& c) {
    if (c.attention == AttentionKind::Full) return -1;  // unbounded
    if (c.attention == AttentionKind::Fam) return -1;   // unbounded through the FAM
    return c.N * c.M * c.B;
}

static std::string fmt(double x, int prec = 2) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", prec, x);
    return b;
}

// An accuracy object as `fam eval --json` writes it, {"filler": value, ...}, as
// (filler, value) pairs in filler order (JSON keeps the keys in string order).
static std::vector<std::pair<long, double>> by_filler(const json& acc) {
    std::vector<std::pair<long, double>> pts;
    for (auto it = acc.begin(); it != acc.end(); ++it) pts.push_back({std::stol(it.key()), it.value().get<double>()});
    std::sort(pts.begin(), pts.end());
    return pts;
}

// a JSON array of numbers as one table cell: " 1.00 0.98 0.95"
static std::string cell(const json& values) {
    std::string s;
    for (const auto& v : values) s += " " + fmt(v.get<double>(), 2);
    return s;
}

// How far back the key is from where it is needed, at filler 0: each answer digit is
// predicted at a row (filler + this) tokens after the same digit's last mention in
// "... Remember it . NNNNN is the pass key .", so a BSWA model whose receptive field
// is RF tokens can only retrieve while filler <= RF - this.
static int key_distance_at_filler0() {
    Rng probe(0);
    const PasskeyExample ex = make_passkey_example(passkey_vocab(), probe, 0);
    const int n = (int)ex.key.size();
    for (int p = ex.answer_pos - n - 1; p >= 0; p--) {  // the last mention before the answer
        bool match = true;
        for (int d = 0; d < n && match; d++) match = ex.tokens[p + d] == ex.key[d] - '0';
        if (match) return (ex.answer_pos - 1) - p;
    }
    throw std::logic_error("passkey_report: the key is not in the prompt");
}

// Accuracy against log2(filler): one polyline per model; for each BSWA model a
// dashed line where the key leaves its receptive field (filler = RF - distance).
static std::string plot_svg(const json& models, int dist0) {
    const int W = 760, H = 420, L = 70, R = 190, Tm = 40, Bm = 60;
    double xmin = 1e300, xmax = 0;
    bool has_zero = false;
    for (const auto& m : models)
        for (auto it = m["accuracy"].begin(); it != m["accuracy"].end(); ++it) {
            has_zero |= std::stod(it.key()) == 0;
            double f = std::max(1.0, std::stod(it.key()));
            xmin = std::min(xmin, f);
            xmax = std::max(xmax, f);
        }
    double lx0 = std::floor(std::log2(xmin)), lx1 = std::ceil(std::log2(xmax));
    if (lx1 <= lx0) lx1 = lx0 + 1;
    auto X = [&](double f) { return L + (std::log2(std::max(1.0, f)) - lx0) / (lx1 - lx0) * (W - L - R); };
    auto Y = [&](double a) { return Tm + (1.0 - a) * (H - Tm - Bm); };
    const char* colors[] = {"#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"};
    std::ostringstream s;
    s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    s << "<text x='" << W / 2 - 60 << "' y='22' font-size='15' text-anchor='middle'>PassKey retrieval vs filler length (toy-scale Fig. 3a)</text>\n";
    for (double a = 0; a <= 1.001; a += 0.25) {
        s << "<line x1='" << L << "' x2='" << W - R << "' y1='" << Y(a) << "' y2='" << Y(a) << "' stroke='#ddd'/>\n";
        s << "<text x='" << L - 8 << "' y='" << Y(a) + 4 << "' text-anchor='end'>" << fmt(a, 2) << "</text>\n";
    }
    for (double lx = lx0; lx <= lx1; lx++) {
        double x = L + (lx - lx0) / (lx1 - lx0) * (W - L - R);
        s << "<line x1='" << x << "' x2='" << x << "' y1='" << Tm << "' y2='" << H - Bm << "' stroke='#eee'/>\n";
        const long tick = (long)std::pow(2.0, lx);  // filler 0 is drawn at 1 on the log axis
        s << "<text x='" << x << "' y='" << H - Bm + 16 << "' text-anchor='middle'>"
          << (tick == 1 && has_zero ? std::string("0, 1") : std::to_string(tick)) << "</text>\n";
    }
    s << "<text x='" << (L + W - R) / 2 << "' y='" << H - 18 << "' text-anchor='middle'>filler length in tokens (log scale)</text>\n";
    s << "<text transform='translate(18," << (Tm + H - Bm) / 2 << ") rotate(-90)' text-anchor='middle'>exact-match accuracy</text>\n";
    s << "<rect x='" << L << "' y='" << Tm << "' width='" << W - L - R << "' height='" << H - Tm - Bm << "' fill='none' stroke='#333'/>\n";
    int k = 0;
    for (const auto& m : models) {
        const char* col = colors[k % 7];
        const std::vector<std::pair<long, double>> pts = by_filler(m["accuracy"]);
        s << "<polyline fill='none' stroke='" << col << "' stroke-width='2.5' points='";
        for (auto& p : pts) s << X(p.first) << "," << Y(p.second) << " ";
        s << "'/>\n";
        for (auto& p : pts) s << "<circle cx='" << X(p.first) << "' cy='" << Y(p.second) << "' r='3.5' fill='" << col << "'/>\n";
        int rf = m["receptive_field"].get<int>();
        const int edge = rf - dist0;  // the longest filler that keeps the key inside the field
        if (rf > 0 && edge >= 1 && edge <= xmax * 2) {
            s << "<line x1='" << X(edge) << "' x2='" << X(edge) << "' y1='" << Tm << "' y2='" << H - Bm
              << "' stroke='" << col << "' stroke-dasharray='5,4'/>\n";
            s << "<text x='" << X(edge) + 3 << "' y='" << Y(0.55) + 13 * k << "' fill='" << col << "' font-size='10'>"
              << m["name"].get<std::string>() << ": RF " << rf << ", key out beyond " << edge << "</text>\n";
        }
        s << "<line x1='" << W - R + 15 << "' x2='" << W - R + 40 << "' y1='" << Tm + 20 * k + 10 << "' y2='" << Tm + 20 * k + 10
          << "' stroke='" << col << "' stroke-width='2.5'/>\n";
        s << "<text x='" << W - R + 46 << "' y='" << Tm + 20 * k + 14 << "'>" << m["name"].get<std::string>() << "</text>\n";
        k++;
    }
    const std::string legend[] = {"dashed: the filler beyond", "which the key is outside", "a BSWA model's receptive",
                                  "field RF = N*M*B (the key is", "filler + " + std::to_string(dist0) + " tokens back)"};
    for (int i = 0; i < 5; i++)
        s << "<text x='" << W - R + 15 << "' y='" << Tm + 20 * k + 20 + 13 * i << "' font-size='10' fill='#555'>" << legend[i] << "</text>\n";
    s << "</svg>\n";
    return s.str();
}

// Accuracy by where the block boundaries fall: `fam eval` at B consecutive filler
// lengths moves the answer through every offset within a block. With M = 0 a token
// right after a boundary sees only its own block and the FAM, so an answer cut by a
// boundary must carry "we are in the middle of the answer" through the FAM too.
static std::string phase_table(const std::string& dir, const std::string& name) {
    const FamConfig c = config_from_metadata(safetensors_load(dir + "/" + name + ".safetensors"));
    const json eval = json::parse(last_line(read_file(dir + "/" + name + ".phases.json")));
    std::vector<long> fillers;
    for (const auto& p : by_filler(eval["accuracy"])) fillers.push_back(p.first);
    const Vocab vocab = passkey_vocab();
    std::ostringstream md;
    md << "\n**" << name << "**, accuracy by where the block boundary falls (" << c.B
       << " consecutive filler lengths; row r of a block is position r mod B; the five rows that predict the "
          "answer digits are listed, a boundary between them marked |):\n\n"
       << "| filler | rows predicting the answer | exact | per answer digit |\n|---|---|---|---|\n";
    for (long f : fillers) {
        Rng probe(0);
        const PasskeyExample ex = make_passkey_example(vocab, probe, (int)f);
        std::string rows;
        for (size_t d = 0; d < ex.key.size(); d++) {
            const int r = (ex.answer_pos - 1 + (int)d) % c.B;
            if (d) rows += r == 0 ? " \\| " : " ";
            rows += std::to_string(r);
        }
        const std::string k = std::to_string(f);
        md << "| " << f << " | " << rows << " | " << fmt(eval["accuracy"][k].get<double>(), 2) << " |";
        if (eval.contains("digit_accuracy")) md << cell(eval["digit_accuracy"][k]);
        md << " |\n";
    }
    return md.str();
}

// The bar of the reproduction: exact match >= `bar` at every evaluated filler up to
// `times` x the longest training filler. Returns a sentence; `held` says whether it held.
static std::string verdict(const json& acc, long train_max, int times, double bar, bool& held) {
    const std::vector<std::pair<long, double>> pts = by_filler(acc);
    const long limit = train_max * times;
    held = false;
    long covered = -1;
    for (auto& p : pts)
        if (p.first <= limit) covered = p.first;
    if (covered < limit)
        return "not evaluated out to " + std::to_string(times) + "x the training filler (" + std::to_string(limit) + ")";
    for (auto& p : pts)
        if (p.first <= limit && p.second < bar)
            return "**fails** the bar: " + fmt(p.second, 3) + " at filler " + std::to_string(p.first) + " (<= " +
                   std::to_string(times) + "x " + std::to_string(train_max) + " = " + std::to_string(limit) + ")";
    held = true;
    std::string s = "**holds**: >= " + fmt(bar, 2) + " at every filler from 0 to " + std::to_string(limit) + " (" +
                    std::to_string(times) + "x its longest training filler " + std::to_string(train_max) + ")";
    for (auto& p : pts)
        if (p.first > limit && p.second < bar) {
            s += "; first below " + fmt(bar, 2) + " at " + std::to_string(p.first) + " (" + fmt(p.second, 3) + ", " +
                 fmt((double)p.first / train_max, 0) + "x)";
            return s;
        }
    if (!pts.empty() && pts.back().first > limit)
        s += "; still >= " + fmt(bar, 2) + " at the longest evaluated filler, " + std::to_string(pts.back().first) + " (" +
             fmt((double)pts.back().first / train_max, 0) + "x)";
    return s;
}

int main(int argc, char** argv) {
    try {
        ArgParser a("passkey_report", "Collect the PassKey reproduction into JSON, Markdown and an SVG plot.");
        a.option("dir", "DIR", "where reproduce_passkey.sh left checkpoints, times and evals", "build/passkey")
            .option("models", "A,B,...", "model names, in table order", "", true)
            .option("notes", "FILE", "Markdown appended to the report (what was needed, what failed)")
            .option("phases", "A,B", "also tabulate DIR/NAME.phases.json for these models: each evaluated at B "
                                     "consecutive filler lengths, one per place the block boundary can fall in the answer")
            .option("machine", "FILE", "`fam --version` output of the machine that ran it (CPU, BLAS kernel)")
            .option("eval-seed", "S", "the evaluation seed of DIR/NAME.eval.json (stated in the report)", "7")
            .option("check-seed", "S", "also read DIR/NAME.check.json, the FAM models evaluated with this other seed")
            .option("json", "FILE", "output JSON", "docs/results/passkey.json")
            .option("md", "FILE", "output Markdown", "docs/results/passkey.md")
            .option("svg", "FILE", "output SVG plot", "docs/results/passkey.svg");
        if (!a.parse(argc - 1, argv + 1)) return 0;
        std::string dir = a.str("dir");
        json models = json::array();
        std::stringstream names(a.str("models"));
        std::string name;
        std::vector<std::string> fillers;
        std::ostringstream configs;
        while (std::getline(names, name, ',')) {
            SafeTensors st = safetensors_load(dir + "/" + name + ".safetensors");
            FamConfig c = config_from_metadata(st);
            json tc = json::parse(st.meta("train.config"));
            json eval = json::parse(last_line(read_file(dir + "/" + name + ".eval.json")));
            json acc = eval["accuracy"];
            double secs = std::stod(read_file(dir + "/" + name + ".seconds"));
            std::string label = name;
            json m = {{"name", label},
                      {"attention", attention_name(c.attention)},
                      {"block", c.B},
                      {"mem", c.M},
                      {"fam", c.fam_len()},
                      {"layers", c.N},
                      {"receptive_field", receptive_field(c)},
                      {"train_filler", {tc["filler_min"], tc["filler_max"]}},
                      {"train_seconds", std::round(secs * 10) / 10},
                      {"mem_stop_grad", tc["mem_stop_grad"]},
                      {"accuracy", acc}};
            for (const char* k : {"digit_accuracy", "fam_rms"})
                if (eval.contains(k)) m[k] = eval[k];
            m["train_seed"] = tc["seed"];
            m["train_steps"] = tc["steps"];
            if (a.given("check-seed") && c.attention == AttentionKind::Fam) {
                const json check = json::parse(last_line(read_file(dir + "/" + name + ".check.json")));
                m["check_accuracy"] = check["accuracy"];
            }
            models.push_back(m);
            if (fillers.empty())
                for (const auto& p : by_filler(acc)) fillers.push_back(std::to_string(p.first));
            configs << "- **" << label << "**: `" << c.describe() << "`; training `" << tc.dump() << "`; "
                    << fmt(secs, 0) << " s\n";
        }
        std::string machine;
        if (a.given("machine")) {
            machine = read_file(a.str("machine"));
            while (!machine.empty() && (machine.back() == '\n' || machine.back() == ' ')) machine.pop_back();
            for (size_t i; (i = machine.find('\n')) != std::string::npos;) machine.replace(i, 1, "; ");
        }
        const long eval_seed = a.integer("eval-seed", 0);
        json out = {{"models", models}, {"eval_seed", eval_seed}, {"machine", machine}};
        if (a.given("check-seed")) out["check_seed"] = a.integer("check-seed", 0);
        // the bar: every FAM model >= kBar at every filler up to kTimes x its longest training filler
        const int kTimes = 16;
        const double kBar = 0.95;
        std::ostringstream verdicts;
        for (auto& m : out["models"]) {
            if (m["attention"] != "fam") continue;
            bool held = false, held_check = true;
            const long tmax = m["train_filler"][1].get<long>();
            std::string v = verdict(m["accuracy"], tmax, kTimes, kBar, held);
            verdicts << "- **" << m["name"].get<std::string>() << "** (training seed " << m["train_seed"]
                     << "), evaluation seed " << eval_seed << ": " << v << ".\n";
            if (m.contains("check_accuracy")) {
                std::string vc = verdict(m["check_accuracy"], tmax, kTimes, kBar, held_check);
                verdicts << "  With evaluation seed " << out["check_seed"] << ": " << vc << ".\n";
            }
            m["bar_held"] = held && held_check;
        }
        write_file_atomic(a.str("json"), out.dump(2) + "\n");
        const int dist0 = key_distance_at_filler0();
        write_file_atomic(a.str("svg"), plot_svg(out["models"], dist0));

        std::ostringstream md;
        md << "# PassKey retrieval at toy scale (the paper's Figure 3a)\n\n"
           << "Generated by `make reproduce-passkey` (tools/reproduce_passkey.sh, tools/passkey_report.cpp);\n"
           << "numbers in `passkey.json`. Exact match: all key digits are the arg-max at their answer\n"
           << "positions. Receptive field (RF) of BSWA as the paper counts it: layers x memory segments x block.\n"
           << "Each answer digit is predicted " << dist0 << " + filler tokens after that digit's last mention in the\n"
           << "prompt, so a BSWA model can retrieve only while filler <= RF - " << dist0 << " (the dashed lines).\n\n"
           << "![accuracy vs filler length](passkey.svg)\n\n";
        if (!machine.empty()) md << "Machine and BLAS kernel (`fam --version`): " << machine << ".\n\n";
        md << "Evaluation seed " << eval_seed
           << (a.given("check-seed") ? ", chosen before looking at any result with it; the FAM models again with seed " +
                                           std::to_string(a.integer("check-seed", 0)) + " below."
                                     : ".")
           << "\n\n";
        md << "| model | attention | B | M | F | RF (tokens) | train filler | train s |";
        for (auto& f : fillers) md << " " << f << " |";
        md << "\n|---|---|---|---|---|---|---|---|";
        for (size_t i = 0; i < fillers.size(); i++) md << "---|";
        md << "\n";
        for (const auto& m : models) {
            int rf = m["receptive_field"];
            md << "| " << m["name"].get<std::string>() << " | " << m["attention"].get<std::string>()
               << (m["mem_stop_grad"].get<bool>() ? " (SG)" : "") << " | " << m["block"] << " | " << m["mem"] << " | "
               << m["fam"] << " | " << (rf < 0 ? std::string("unbounded") : std::to_string(rf)) << " | "
               << m["train_filler"][0] << "-" << m["train_filler"][1] << " | " << m["train_seconds"] << " |";
            for (auto& f : fillers) md << " " << (m["accuracy"].contains(f) ? fmt(m["accuracy"][f].get<double>(), 2) : "") << " |";
            md << "\n";
        }
        if (!verdicts.str().empty())
            md << "\n**The bar** (exact match >= " << fmt(kBar, 2) << " at every filler up to " << kTimes
               << "x the longest training filler):\n\n"
               << verdicts.str();
        for (const auto& m : out["models"]) {
            if (!m.contains("check_accuracy")) continue;
            md << "\n**" << m["name"].get<std::string>() << "** with evaluation seed " << out["check_seed"] << ":";
            for (const auto& p : by_filler(m["check_accuracy"])) md << " " << p.first << ": " << fmt(p.second, 3) << ";";
            md << "\n";
        }
        for (const auto& m : models) {
            if (!m.contains("fam_rms")) continue;  // the FAM models: where and why they fail
            md << "\n**" << m["name"].get<std::string>() << "**, per answer digit and the FAM's drift "
               << "(root-mean-square entry of each layer's FAM when the question starts):\n\n"
               << "| filler | exact | per answer digit | FAM rms per layer |\n|---|---|---|---|\n";
            for (auto& f : fillers) {
                if (!m["accuracy"].contains(f)) continue;
                md << "| " << f << " | " << fmt(m["accuracy"][f].get<double>(), 2) << " |";
                if (m.contains("digit_accuracy") && m["digit_accuracy"].contains(f)) md << cell(m["digit_accuracy"][f]);
                md << " |";
                if (m["fam_rms"].contains(f)) md << cell(m["fam_rms"][f]);
                md << " |\n";
            }
        }
        if (a.given("phases")) {
            std::stringstream ph(a.str("phases"));
            std::string p;
            while (std::getline(ph, p, ',')) md << phase_table(dir, p);
        }
        md << "\n## Exact configurations and seeds\n\n" << configs.str() << "\n";
        if (a.given("notes")) md << read_file(a.str("notes"));
        write_file_atomic(a.str("md"), md.str());
        std::printf("wrote %s, %s, %s\n", a.str("json").c_str(), a.str("md").c_str(), a.str("svg").c_str());
        return 0;
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "passkey_report: error: %s\n", e.what());
        return 1;
    }
}
