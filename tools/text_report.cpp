// text_report.cpp: gathers what tools/reproduce_text.sh produced (the four
// models' `fam eval --task text --json` outputs, training logs and times, samples)
// into docs/results/text.json, docs/results/text.md and an SVG plot of the
// validation loss by position inside 1024-byte windows: the toy-scale
// counterpart of the paper's long-context language modelling (Section 3, PG-19)
// and of its retrofit of FAM onto pretrained models (Sections 2.2 and 3.1).
//
// usage: text_report --dir build/text --models bswa,fam,bswa_then_bswa,bswa_then_fam
//                    --corpus-info TEXT --steps S --more-steps S2 --total-seconds X
//                    --json OUT.json --md OUT.md --svg OUT.svg
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/args.h"
#include "app/npy.h"
#include "app/render.h"

using nlohmann::json;

static std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot open (did tools/reproduce_text.sh run?)");
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

static std::string fmt(double x, int prec = 3) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", prec, x);
    return b;
}

static std::string signed_fmt(double x, int prec = 3) { return (x >= 0 ? "+" : "") + fmt(x, prec); }

// The validation curve from a training log's progress lines: (step, val bits/byte).
static json val_curve(const std::string& log) {
    json pts = json::array();
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        long step = 0;
        double bpb = 0;
        size_t v = line.find("bpb)");
        if (line.rfind("step", 0) != 0 || v == std::string::npos) continue;
        if (std::sscanf(line.c_str(), "step %ld", &step) != 1) continue;
        size_t open = line.rfind('(', v);
        if (open == std::string::npos || std::sscanf(line.c_str() + open + 1, "%lf", &bpb) != 1) continue;
        pts.push_back({step, bpb});
    }
    return pts;
}

static const char* kLabel[] = {"bswa", "BSWA from scratch", "fam", "FAM from scratch", "bswa_then_bswa",
                               "BSWA, continued as BSWA", "bswa_then_fam", "BSWA, converted to FAM and continued"};
static std::string label(const std::string& m) {
    for (int i = 0; i < 8; i += 2)
        if (m == kLabel[i]) return kLabel[i + 1];
    return m;
}

// bits/byte averaged over the buckets that start at or after `from` (weighted by size)
static double bpb_from(const json& ev, int from) {
    double s = 0, n = 0;
    for (const auto& b : ev["buckets"]) {
        if (b["from"].get<int>() < from) continue;
        double w = b["to"].get<double>() - b["from"].get<double>();
        s += b["bits_per_byte"].get<double>() * w;
        n += w;
    }
    return n > 0 ? s / n : NAN;
}

int run(int argc, char** argv) {
    ArgParser a("text_report", "Writes docs/results/text.{json,md,svg} from tools/reproduce_text.sh's outputs.");
    a.option("dir", "DIR", "where reproduce_text.sh wrote its files", "build/text")
        .option("models", "A,B,...", "model names", "bswa,fam,bswa_then_bswa,bswa_then_fam")
        .option("corpus-info", "TEXT", "the package, size and hash of the corpus", "")
        .option("steps", "S", "from-scratch steps", "0")
        .option("more-steps", "S", "continuation steps", "0")
        .option("total-seconds", "X", "wall-clock seconds of the whole run", "0")
        .option("json", "FILE", "output JSON", "docs/results/text.json")
        .option("md", "FILE", "output Markdown", "docs/results/text.md")
        .option("svg", "FILE", "output SVG plot", "docs/results/text.svg");
    if (!a.parse(argc - 1, argv + 1)) return 0;
    const std::string dir = a.str("dir");
    std::vector<std::string> models;
    {
        std::stringstream ss(a.str("models"));
        std::string m;
        while (std::getline(ss, m, ','))
            if (!m.empty()) models.push_back(m);
    }
    json all = json::object();
    for (const std::string& m : models) {
        json e = json::parse(read_text(dir + "/" + m + ".eval.json"));
        e["train_seconds"] = std::stod(read_text(dir + "/" + m + ".seconds"));
        e["val_curve"] = val_curve(read_text(dir + "/" + m + ".train.log"));
        e["sample"] = read_text(dir + "/" + m + ".sample.txt");
        all[m] = e;
    }
    const std::string version = read_text(dir + "/version.txt");
    const std::string commands = read_text(dir + "/commands.txt");
    const std::string convert_log = read_text(dir + "/convert.log");
    json out{{"models", all},
             {"version", version},
             {"commands", commands},
             {"convert", convert_log},
             {"corpus", a.str("corpus-info")},
             {"steps", a.integer("steps")},
             {"more_steps", a.integer("more-steps")},
             {"total_seconds", a.number("total-seconds")}};
    write_file_atomic(a.str("json"), out.dump(1) + "\n");

    // ---- the plot: bits per byte by position bucket (log2 x), one line per model
    LinePlot p;
    p.title = "Next-byte loss by position inside 1024-byte windows (King James Bible, held out)";
    p.subtitle = "toy models: D 64, 2 layers, B 32, M 1 (BSWA sees at most 95 bytes back); FAM: F 16";
    p.x_name = "position in the window (bytes, log scale; bucket middles)";
    p.y_name = "bits per byte";
    p.log2_x = true;
    double lo = 1e9, hi = 0;
    for (const std::string& m : models) {
        PlotSeries s;
        s.name = label(m);
        for (const auto& b : all[m]["buckets"]) {
            double mid = std::sqrt(std::max(1.0, b["from"].get<double>()) * b["to"].get<double>());
            s.x.push_back(mid);
            s.y.push_back(b["bits_per_byte"].get<double>());
            lo = std::min(lo, s.y.back());
            hi = std::max(hi, s.y.back());
        }
        p.series.push_back(s);
    }
    p.y_lo = std::floor(lo * 10 - 1) / 10;
    p.y_hi = std::ceil(hi * 10 + 1) / 10;
    for (double y = p.y_lo; y <= p.y_hi + 1e-9; y += (p.y_hi - p.y_lo) > 1.5 ? 0.5 : 0.2) p.y_ticks.push_back(y);
    for (double x : {4, 16, 64, 256, 1024}) p.x_ticks.push_back(x);
    p.x_lo = 4;
    p.x_hi = 1024;
    p.markers.push_back({96, 0, "BSWA's reach: 95 bytes back"});
    SlideStyle st;
    st.png = false;
    write_file_atomic(a.str("svg"), line_plot_slide(p, st).svg);

    // ---- the report
    auto ev = [&](const std::string& m) -> const json& { return all.at(m); };
    std::ostringstream md;
    md << "# Real text and the FAM retrofit, toy scale (make reproduce-text)\n\n"
       << "Written by `make reproduce-text` (tools/reproduce_text.sh, tools/text_report.cpp); every number "
          "below comes from that run. The paper's counterpart: long-context language modelling on PG-19 "
          "(Section 3, Tables 1 and 11) and turning pretrained models into TransformerFAM with no new weights "
          "but the FAM prompt (Sections 2.2, 3.1, App. B.1).\n\n"
       << "## Setup\n\n"
       << "- Machine (`fam --version`):\n\n```text\n" << version << "```\n"
       << "- Corpus: the King James Bible, " << a.str("corpus-info")
       << ", printed by `bible -l80 gen1:1-rev22:21` (Debian package bible-kjv); one byte per token (V = 256). "
          "The last 5% of the file (the end of the New Testament) is held out: every validation number and "
          "every PassKey filler comes from it.\n"
       << "- Models: " << ev(models[0])["config"].get<std::string>() << " and the same with attention fam, F = 16 ("
       << "the only difference is the FAM). Training windows of 256 bytes, 16 per step, AdamW 3e-3 cosine, seed 1; "
          "FAM runs use RSP with p = 0.8 (App. B.2.3).\n"
       << "- (1) from scratch: " << a.integer("steps") << " steps each. (2) retrofit: the BSWA model of (1) "
       << "continued " << a.integer("more-steps")
       << " steps, either as BSWA or converted to FAM by `fam convert` (every weight kept, fam_prompt "
          "added) and fine-tuned as FAM; both continuations start from the same weights, a fresh optimizer and "
          "the same training windows.\n"
       << "- Evaluation: " << ev(models[0])["windows"].get<int>() << " consecutive validation windows of "
       << ev(models[0])["window"].get<int>()
       << " bytes (4x the training window), the same for every model; loss by position bucket inside the "
          "window. Times are wall clock on a machine that may have been running other work. Whole run: " << fmt(a.number("total-seconds") / 60.0, 1) << " min wall clock.\n\n";

    md << "## Validation loss\n\n"
       << "| model | parameters added | train min | bits/byte | next-byte accuracy | positions < 128 | positions >= 128 |\n"
       << "|---|---|---|---|---|---|---|\n";
    for (const std::string& m : models) {
        const json& e = ev(m);
        double near = 0, nn = 0;
        for (const auto& b : e["buckets"])
            if (b["to"].get<int>() <= 128) {
                double w = b["to"].get<double>() - b["from"].get<double>();
                near += b["bits_per_byte"].get<double>() * w;
                nn += w;
            }
        md << "| " << label(m) << " | " << (m == "bswa_then_fam" ? "F x D = 16 x 64 = 1024" : "-") << " | "
           << fmt(e["train_seconds"].get<double>() / 60.0, 1) << " | " << fmt(e["bits_per_byte"].get<double>())
           << " | " << fmt(e["accuracy"].get<double>()) << " | " << fmt(near / nn) << " | "
           << fmt(bpb_from(e, 128)) << " |\n";
    }
    md << "\nUnigram entropy of the held-out text: " << fmt(ev(models[0])["unigram_bits_per_byte"].get<double>())
       << " bits/byte (a model that ignores context).\n\n"
       << "![bits per byte by position](text.svg)\n\n"
       << "### By position bucket (bits/byte)\n\n| model |";
    for (const auto& b : ev(models[0])["buckets"])
        md << " [" << b["from"].get<int>() << ", " << b["to"].get<int>() << ") |";
    md << "\n|---|";
    for (size_t k = 0; k < ev(models[0])["buckets"].size(); k++) md << "---|";
    md << "\n";
    for (const std::string& m : models) {
        md << "| " << label(m) << " |";
        for (const auto& b : ev(m)["buckets"]) md << " " << fmt(b["bits_per_byte"].get<double>()) << " |";
        md << "\n";
    }

    // what the numbers say, computed from them
    auto diff_line = [&](const std::string& a_, const std::string& b_) {
        double all_d = ev(b_)["bits_per_byte"].get<double>() - ev(a_)["bits_per_byte"].get<double>();
        double far_d = bpb_from(ev(b_), 128) - bpb_from(ev(a_), 128);
        double acc_d = 100 * (ev(b_)["accuracy"].get<double>() - ev(a_)["accuracy"].get<double>());
        return label(b_) + " minus " + label(a_) + ": " + signed_fmt(all_d) + " bits/byte overall, " +
               signed_fmt(far_d) + " at positions >= 128 (beyond BSWA's reach), " + signed_fmt(acc_d, 2) +
               " points of next-byte accuracy";
    };
    md << "\n### What it shows\n\n";
    if (all.count("bswa") && all.count("fam")) md << "- (1) " << diff_line("bswa", "fam") << ".\n";
    if (all.count("bswa_then_bswa") && all.count("bswa_then_fam"))
        md << "- (2) " << diff_line("bswa_then_bswa", "bswa_then_fam") << ".\n";
    for (const std::string& m : models) {
        const json& bk = ev(m)["buckets"];
        double first = bk.front()["bits_per_byte"].get<double>(), last = bk.back()["bits_per_byte"].get<double>();
        md << "- " << label(m) << ": the first " << bk.front()["to"].get<int>() << " bytes of a window cost "
           << fmt(first) << " bits/byte, the last " << (bk.back()["to"].get<int>() - bk.back()["from"].get<int>())
           << " bytes " << fmt(last) << " (context gain " << fmt(first - last) << ").\n";
    }
    // where each model finds its easiest bucket: the same place for all says it is the text, not the model
    {
        std::vector<int> easiest;
        for (const std::string& m : models) {
            const json& bk = ev(m)["buckets"];
            int best = 0;
            for (int k = 1; k < (int)bk.size(); k++)
                if (bk[k]["bits_per_byte"].get<double>() < bk[best]["bits_per_byte"].get<double>()) best = k;
            easiest.push_back(best);
        }
        bool same = true;
        for (int e : easiest) same = same && e == easiest[0];
        if (same) {
            const json& b = ev(models[0])["buckets"][easiest[0]];
            md << "- Every model finds the same bucket easiest, [" << b["from"].get<int>() << ", "
               << b["to"].get<int>() << "): the shape of the curves comes from the text of the validation "
                  "windows as much as from context; compare models within a bucket.\n";
        }
    }
    // a verdict in words, from the far-context difference (b minus a, bits/byte)
    auto verdict = [&](const std::string& a_, const std::string& b_) {
        double d = bpb_from(ev(b_), 128) - bpb_from(ev(a_), 128);
        if (std::fabs(d) < 0.01) return std::string("no difference above 0.01 bits/byte beyond BSWA's reach");
        return label(d < 0 ? b_ : a_) + " is better beyond BSWA's reach, by " + fmt(std::fabs(d)) + " bits/byte";
    };
    md << "\nNegative differences mean the second model predicts better. One seed per model: the spread "
          "between seeds was not measured, so small differences are not a ranking.\n\n";
    if (all.count("bswa") && all.count("fam")) md << "- From scratch: " << verdict("bswa", "fam") << ".\n";
    if (all.count("bswa_then_bswa") && all.count("bswa_then_fam"))
        md << "- Retrofit: " << verdict("bswa_then_bswa", "bswa_then_fam") << ".\n";
    md << "\nFor comparison, the paper's language-modelling gains are small: PG-19 next-token accuracy 46.4 (BSWA M1) vs "
          "47.0 (FAM) at 1B (Table 11), 52.4 vs 52.9 at 8B and 55.7 vs 57.2 at 24B (Table 1), after 50k "
          "fine-tuning steps on 8.5k-token sequences; the paper itself calls its long-context gains \"not yet "
          "substantial\". Our models are about 10^4 times smaller, read bytes rather than subwords and train for "
          "minutes on 256-byte windows.\n\n";

    md << "## PassKey in real text\n\n"
       << "\"The pass key is NNNNN. Remember it. NNNNN is the pass key.\" + held-out Bible text + \" What is the "
          "pass key? The pass key is\", scored on the five digit bytes (greedy). None of these models was trained "
          "on this task (the paper fine-tunes on it, Section 3.2): this measures what language-model training "
          "alone gives. Answer bits: the loss of the digits, chance = log2 10 = 3.32 bits/digit if the model "
          "knows a digit comes.\n\n| model | filler bytes | exact | digits right | answer bits/digit |\n"
          "|---|---|---|---|---|\n";
    for (const std::string& m : models)
        for (const auto& x : ev(m)["passkey"])
            md << "| " << label(m) << " | " << x["filler"].get<long>() << " | " << fmt(x["exact"].get<double>(), 2)
               << " | " << fmt(x["digit"].get<double>(), 2) << " | " << fmt(x["answer_bits"].get<double>(), 2)
               << " |\n";
    md << "\n## The retrofit\n\n```text\n" << convert_log << "```\n\n"
       << "## Samples (`fam generate --prompt \"And God said, \" --max-new 160 --temperature 0.8 --top-k 20 "
          "--seed 1`)\n\n";
    for (const std::string& m : models)
        md << "**" << label(m) << "**\n\n```text\n" << ev(m)["sample"].get<std::string>() << "```\n\n";
    md << "## Validation during training (bits/byte on 8 windows of 256 bytes)\n\n| model | step: bits/byte |\n|---|---|\n";
    for (const std::string& m : models) {
        md << "| " << label(m) << " |";
        for (const auto& p2 : ev(m)["val_curve"]) md << " " << p2[0].get<long>() << ": " << fmt(p2[1].get<double>()) << ";";
        md << " |\n";
    }
    md << "\n## Commands\n\n```text\n" << commands << "```\n";
    write_file_atomic(a.str("md"), md.str());
    std::printf("wrote %s, %s, %s\n", a.str("json").c_str(), a.str("md").c_str(), a.str("svg").c_str());
    return 0;
}

int main(int argc, char** argv) { return run_program("text_report", argc, argv, run); }
