// cli_slides.cpp: `fam slides`, the course's figures as 16:9 slides (1920 x 1080,
// titles 42-px capitals, every other text 21-px capitals) for a lecture room:
// paper Fig. 1a-1d (SWA, BSWA, the receptive field), Fig. 2 (one block, BSWA and
// FAM), the FAM timeline mask, Fig. 11 (the key block and the answer block of a
// PassKey example, from the shipped trained model: no training), what the FAM
// wrote, and the PassKey accuracy plot (docs/results/passkey.json, toy Fig. 3a).
// Each slide is written as NAME.svg and NAME.png (the same layout, render.h's
// slides), with DIR/index.html showing every slide, its caption and its command.
//
// The pictures come from the functions the documents use: masks.h for the masks,
// viz.h for the model's attention, render.h for the drawing.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "masks.h"
#include "app/args.h"
#include "app/checkpoint.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/render.h"
#include "app/safetensors.h"
#include "app/tasks.h"
#include "app/viz.h"

namespace {

// One slide of the set: its file name (without extension), the picture, and what
// the index page says about it.
struct SlideEntry {
    std::string name;
    Slide slide;
    std::string caption;  // one line: what to see
    std::string same;     // the command that draws the same figure at document size
};

// The PassKey plot from docs/results/passkey.json (written by tools/passkey_report).
Slide passkey_slide(const std::string& path, const SlideStyle& style) {
    const nlohmann::json j = nlohmann::json::parse(read_file(path));
    if (!j.contains("models") || !j["models"].is_array() || j["models"].empty())
        throw std::invalid_argument(path + ": expected {\"models\": [...]} as written by tools/passkey_report");
    // Each answer digit is predicted (filler + dist0) tokens after the digit's last mention
    // (tools/passkey_report.cpp, key_distance_at_filler0): a BSWA model with receptive
    // field RF can retrieve only while filler <= RF - dist0.
    Rng probe(0);
    const PasskeyExample ex = make_passkey_example(passkey_vocab(), probe, 0);
    const int n = (int)ex.key.size();
    int dist0 = -1;
    for (int p = ex.answer_pos - n - 1; p >= 0 && dist0 < 0; p--) {
        bool match = true;
        for (int d = 0; d < n && match; d++) match = ex.tokens[p + d] == ex.key[d] - '0';
        if (match) dist0 = (ex.answer_pos - 1) - p;
    }
    LinePlot plot;
    plot.title = "PassKey: accuracy against filler length";
    plot.subtitle = "toy-scale paper Fig. 3a: exact match of all 5 key digits (docs/results/passkey.md)";
    plot.x_name = "filler tokens between the key and the question (log scale)";
    plot.y_name = "exact-match accuracy";
    plot.log2_x = true;
    plot.y_ticks = {0, 0.25, 0.5, 0.75, 1.0};
    plot.y_tick_labels = {"0", "0.25", "0.5", "0.75", "1"};
    std::map<int, std::pair<int, std::string>> edges;  // filler -> (first series, names): models sharing an RF share a line
    double xmax = 1;
    for (const auto& m : j["models"]) {
        PlotSeries s;
        s.name = m.at("name").get<std::string>();
        if (m.contains("mem") && m.contains("fam"))
            s.name += " (M=" + std::to_string(m["mem"].get<int>()) + ", F=" + std::to_string(m["fam"].get<int>()) + ")";
        std::vector<std::pair<double, double>> pts;
        for (auto it = m.at("accuracy").begin(); it != m.at("accuracy").end(); ++it)
            pts.push_back({std::stod(it.key()), it.value().get<double>()});
        std::sort(pts.begin(), pts.end());
        for (auto& p : pts) {
            s.x.push_back(p.first);
            s.y.push_back(p.second);
            xmax = std::max(xmax, p.first);
        }
        if (m.value("attention", "") == "fam") s.width = 6;
        const int rf = m.value("receptive_field", -1), edge = rf - dist0;
        if (rf > 0 && edge >= 1) {
            auto& e = edges[edge];
            if (e.second.empty()) e.first = (int)plot.series.size();
            e.second += (e.second.empty() ? "" : ", ") + m.at("name").get<std::string>();
        }
        plot.series.push_back(s);
    }
    for (auto& e : edges) {
        const int rf = e.first + dist0;
        plot.markers.push_back({(double)e.first, e.second.first,
                                "RF " + std::to_string(rf) + ": out beyond " + std::to_string(e.first)});
    }
    plot.x_lo = 1;
    plot.x_hi = xmax;
    for (double x = 1; x <= xmax * 1.001; x *= 4) {
        plot.x_ticks.push_back(x);
        plot.x_tick_labels.push_back(x == 1 ? "0" : std::to_string((long)x));
    }
    plot.notes = {"filler 0 is drawn at 1 on the log axis",
                  "dashed: the filler where the key leaves a BSWA model's receptive field RF = layers x M x B "
                  "(the key is filler + " + std::to_string(dist0) + " tokens back)",
                  "FAM (M = 0) has no such limit: its memory is the FAM"};
    return line_plot_slide(plot, style);
}

}  // namespace

int cmd_slides(int argc, char** argv) {
    ArgParser a("fam slides",
                "Slide-ready figures for a lecture: 16:9 canvases (1920 x 1080) with a big title, text readable\n"
                "from the back of the room, written as SVG and PNG into --out DIR with DIR/index.html (every\n"
                "slide, a one-line caption and the command that made it). Paper Fig. 1a-1d, Fig. 2, the FAM\n"
                "timeline mask, Fig. 11 (the key block and the answer block of a PassKey example, drawn from\n"
                "the trained --model, no training), what the FAM wrote, the PassKey accuracy plot (--results).");
    a.option("out", "DIR", "output directory (created if missing)", "", true)
        .option("format", "LIST", "svg, png or svg,png", "svg,png")
        .option("model", "FILE", "trained PassKey model for the Fig. 11 and memory slides",
                "models/passkey_fam.safetensors")
        .option("results", "FILE", "PassKey results for the accuracy plot", "docs/results/passkey.json");
    if (!a.parse(argc, argv)) return 0;
    bool svg = false, png = false;
    {
        std::string list = a.str("format") + ",";
        for (size_t at = 0, c; (c = list.find(',', at)) != std::string::npos; at = c + 1) {
            const std::string f = list.substr(at, c - at);
            if (f == "svg") svg = true;
            else if (f == "png") png = true;
            else if (!f.empty()) throw UsageError("fam slides: --format: expected svg, png or svg,png, got '" + a.str("format") + "'");
        }
        if (!svg && !png) throw UsageError("fam slides: --format names no format (svg, png or svg,png)");
    }
    const std::string dir = a.str("out"), model_path = a.str("model");
    SlideStyle style;
    style.png = png;  // an SVG-only run skips the PNG encoding
    std::string cmdline = "build/fam slides";
    for (int i = 0; i < argc; i++) cmdline += std::string(" ") + argv[i];

    std::vector<SlideEntry> slides;
    const std::string mk = "build/fam mask ";
    // paper Fig. 1 and 2: the masks of docs/masks.md
    slides.push_back({"fig1a_swa", mask_slide({swa_mask(12, 3)}, "Fig. 1a: sliding-window attention (SWA)", "", style),
                      "Token t sees itself and the w - 1 = 2 tokens before it: every row its own window.",
                      mk + "--kind swa --len 12 --window 3 --format svg"});
    slides.push_back({"fig1b_bswa_m1", mask_slide({bswa_mask(12, 2, 1)}, "Fig. 1b: block sliding window, M = 1", "", style),
                      "Blocks of B = 2: a query sees the whole previous block (memory) and its own block causally.",
                      mk + "--kind bswa --len 12 --block 2 --mem 1 --format svg"});
    slides.push_back({"fig1c_bswa_m2", mask_slide({bswa_mask(12, 2, 2)}, "Fig. 1c: block sliding window, M = 2", "", style),
                      "Two memory blocks: the window grows by one block; still nothing older is seen.",
                      mk + "--kind bswa --len 12 --block 2 --mem 2 --format svg"});
    slides.push_back({"fig1d_receptive_field",
                      mask_slide({receptive_field_mask(12, 2, 1, 4)}, "Fig. 1d: BSWA receptive field, 4 layers", "", style),
                      "What reaches each token after 4 layers of BSWA (M = 1, B = 2): about N x M x B tokens back, "
                      "no further.",
                      mk + "--kind bswa --len 12 --block 2 --mem 1 --depth 4 --format svg"});
    slides.push_back({"fig2_block_views",
                      mask_slide({fam_block_mask(4, 2, 0, 2, 4), fam_block_mask(4, 1, 2, 1, 4)},
                                 "Fig. 2: one block, BSWA (left) and FAM (right)",
                                 "rows: the block's queries (and the FAM queries F2.j); columns: memory | FAM keys "
                                 "F1.j | block",
                                 style),
                      "The FAM block: queries also read F_1 (the FAM entering the block); the FAM rows F2.j read F_1 "
                      "and the whole block and write F_2.",
                      mk + "--kind fam --view block --block 4 --mem 2 --fam 0 --format svg; " + mk +
                          "--kind fam --view block --block 4 --mem 1 --fam 2 --format svg"});
    slides.push_back({"fam_timeline", mask_slide({fam_timeline_mask(10, 4, 1, 2)}, "The FAM timeline mask", "", style),
                      "F_0, block 0, F_1, block 1, F_2, block 2 in time order: F_{k+1} reads F_k and block k, "
                      "block k reads F_k.",
                      mk + "--kind fam --view timeline --len 10 --block 4 --mem 1 --fam 2 --format svg"});

    // paper Fig. 11 and the memory: one PassKey example through the trained model
    {
        SafeTensors st = safetensors_load(model_path);
        ModelWeights w = model_from_safetensors(st);
        Vocab vocab = passkey_vocab();
        auto it = st.metadata.find("task.vocab");
        if (it != st.metadata.end()) vocab = Vocab::deserialize(it->second);
        if (vocab.size() != w.cfg.V)
            throw std::invalid_argument(model_path + ": vocabulary size " + std::to_string(w.cfg.V) +
                                        " is not the PassKey vocabulary's " + std::to_string(vocab.size()));
        if (w.cfg.fam_len() == 0)
            throw std::invalid_argument(model_path + ": the model has no FAM (" + w.cfg.describe() +
                                        "); the Fig. 11 and memory slides need a TransformerFAM");
        Rng rng(1);
        const PasskeyExample ex = make_passkey_example(vocab, rng, 100, 5);
        std::vector<std::string> words;
        for (int t : ex.tokens) words.push_back(vocab.words[t]);
        const VizRun run = viz_run(w, ex.tokens, words, attention_name(w.cfg.attention));
        VizOptions opt;
        const int digits = (int)ex.key.size();
        for (int i = 0; i < digits; i++) opt.highlight.push_back(ex.key_pos + i);
        for (int i = 0; i < digits; i++) opt.highlight.push_back(ex.key_pos + digits + 4 + i);
        for (int i = 0; i < digits; i++) opt.queries.push_back(ex.answer_pos - 1 + i);
        const int key_block = ex.key_pos / run.B, answer_block = (ex.answer_pos - 1) / run.B;
        const std::string viz = "build/fam viz --model " + model_path + " --task passkey --filler 100 --seed 1 --out viz";
        const std::string answer = passkey_prediction(run.logits.data(), w.cfg.V, ex);
        slides.push_back({"fig11_key_block",
                          heatmap_figure_slide(block_map_figure(run, key_block, 0, -1, &opt),
                                               "Fig. 11: the FAM writes the key (layer 0)", style),
                          "Block " + std::to_string(key_block) + " holds the key " + ex.key +
                              " (red): the FAM rows at the bottom put their weight on its digits.",
                          viz + "  (viz/fig11_block" + std::to_string(key_block) + "_L0_mean.png)"});
        slides.push_back({"fig11_answer_block",
                          heatmap_figure_slide(block_map_figure(run, answer_block, 0, -1, &opt),
                                               "Fig. 11: the answer reads the FAM (layer 0)", style),
                          "Block " + std::to_string(answer_block) + ", 100 filler tokens later: the rows that predict "
                              "the answer read the FAM keys at the left edge (model answers " + answer + ").",
                          viz + "  (viz/fig11_block" + std::to_string(answer_block) + "_L0_mean.png)"});
        slides.push_back({"memory_write",
                          heatmap_figure_slide(memory_write_figure(run, 0, opt), "What the memory wrote (layer 0)", style),
                          "Each block's FAM update, token by token: in the key's block it writes the digits, "
                          "elsewhere it spreads thin.",
                          viz + "  (viz/memory_write_L0.svg)"});
    }
    slides.push_back({"passkey_accuracy", passkey_slide(a.str("results"), style),
                      "FAM keeps retrieving far beyond any window; each BSWA model fails once the key leaves its "
                      "receptive field.",
                      "make reproduce-passkey  (tools/passkey_report writes docs/results/passkey.svg)"});

    // the files and the index page
    make_dirs(dir);
    std::string html =
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>TransformerFAM: slides</title><style>"
        "body{font-family:Helvetica,Arial,sans-serif;margin:24px;max-width:1280px;color:#222}"
        "img{width:100%;border:1px solid #ccc}p.cap{font-size:18px}code{background:#f3f3f3;padding:1px 4px}"
        "h2{margin-top:40px}</style></head><body>\n<h1>TransformerFAM (arXiv 2404.09173): slides</h1>\n"
        "<p>1920 x 1080 slides, each as SVG and PNG. Made by <code>" + xml_escape(cmdline) +
        "</code> (<code>make slides</code>). Rows are queries, columns are keys; F&lt;k&gt;.&lt;j&gt; is row j of F_k, "
        "the FAM after k blocks (docs/spec.md).</p>\n";
    int files = 0;
    for (const SlideEntry& s : slides) {
        if (svg) write_file_atomic(dir + "/" + s.name + ".svg", s.slide.svg), files++;
        if (png) write_file_atomic(dir + "/" + s.name + ".png", s.slide.png), files++;
        const std::string show = s.name + (png ? ".png" : ".svg");
        html += "<h2>" + xml_escape(s.name) + "</h2>\n<p><img src=\"" + show + "\" alt=\"" + xml_escape(s.name) +
                "\"></p>\n<p class=\"cap\">" + xml_escape(s.caption) + "</p>\n<p>files: " +
                (svg ? "<a href=\"" + s.name + ".svg\">" + s.name + ".svg</a> " : std::string()) +
                (png ? "<a href=\"" + s.name + ".png\">" + s.name + ".png</a>" : std::string()) +
                "<br>made by: <code>" + xml_escape(cmdline) + "</code><br>the same figure at document size: <code>" +
                xml_escape(s.same) + "</code></p>\n";
    }
    html += "</body></html>\n";
    write_file_atomic(dir + "/index.html", html);
    std::printf("wrote %d slides (%d files) and %s/index.html\n", (int)slides.size(), files, dir.c_str());
    return 0;
}
