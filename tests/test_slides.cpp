// test_slides.cpp: `fam slides` (cli_slides.cpp) writes every slide as a 1920 x 1080
// PNG and a 16:9 SVG with a title, plus the index page; render.h's slide layout keeps
// the text at slide size.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "masks.h"
#include "app/cli.h"
#include "app/npy.h"
#include "app/render.h"
#include "temp_dir.h"

// stb_image decodes the PNGs (its implementation: tests/stb_image.cpp)
#include "stb_image.h"

static std::string repo_file(const std::string& rel) {
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / rel).string();
}

static int run_slides(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(&s[0]);
    return cmd_slides((int)argv.size(), argv.data());
}

// The SVG's viewBox "0 0 W H" as {W, H} ({0, 0} if there is none).
static std::pair<double, double> view_box(const std::string& svg) {
    const size_t at = svg.find("viewBox=\"");
    if (at == std::string::npos) return {0, 0};
    double x = 0, y = 0, w = 0, h = 0;
    if (std::sscanf(svg.c_str() + at + 9, "%lf %lf %lf %lf", &x, &y, &w, &h) != 4) return {0, 0};
    return {w, h};
}

TEST_CASE("fam slides: every slide as a 1920x1080 PNG and a 16:9 SVG with a title, and the index page") {
    TempDir dir("fam_slides");
    const std::string out = dir.path + "/slides";
    REQUIRE(run_slides({"--out", out, "--model", repo_file("models/passkey_fam.safetensors"), "--results",
                        repo_file("docs/results/passkey.json")}) == 0);
    const std::vector<std::string> names = {"fig1a_swa",       "fig1b_bswa_m1",   "fig1c_bswa_m2",      "fig1d_receptive_field",
                                            "fig2_block_views", "fam_timeline",    "fig11_key_block",    "fig11_answer_block",
                                            "memory_write",     "passkey_accuracy"};
    const std::string index = read_file(out + "/index.html");
    for (const std::string& n : names) {
        CAPTURE(n);
        // the PNG: decodes to exactly 1920 x 1080
        const std::string png = read_file(out + "/" + n + ".png");
        int w = 0, h = 0, ch = 0;
        unsigned char* px = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), (int)png.size(), &w,
                                                  &h, &ch, 3);
        REQUIRE(px != nullptr);
        stbi_image_free(px);
        CHECK(w == 1920);
        CHECK(h == 1080);
        // the SVG: a 16:9 viewBox and a non-empty <title>
        const std::string svg = read_file(out + "/" + n + ".svg");
        const auto vb = view_box(svg);
        CHECK(vb.first == 1920);
        CHECK(vb.second == 1080);
        CHECK(vb.first * 9 == vb.second * 16);
        const size_t t = svg.find("<title>");
        REQUIRE(t != std::string::npos);
        CHECK(svg.find("</title>") > t + 7);
        // the index shows it
        CHECK(index.find("src=\"" + n + ".png\"") != std::string::npos);
    }
    CHECK(index.find("fam slides") != std::string::npos);  // the command that made them
    // the FAM labels of the spec (F<k>.<j>) on the FAM slides
    CHECK(read_file(out + "/fig2_block_views.svg").find(">F2.0<") != std::string::npos);
    CHECK(read_file(out + "/fig11_key_block.svg").find(">F3.0<") != std::string::npos);
}

TEST_CASE("fam slides: --format svg writes SVGs only; bad formats are refused") {
    TempDir dir("fam_slides_fmt");
    REQUIRE(run_slides({"--out", dir.path, "--format", "svg", "--model", repo_file("models/passkey_fam.safetensors"),
                        "--results", repo_file("docs/results/passkey.json")}) == 0);
    CHECK(std::filesystem::exists(dir.path + "/fig1a_swa.svg"));
    CHECK_FALSE(std::filesystem::exists(dir.path + "/fig1a_swa.png"));
    CHECK(read_file(dir.path + "/index.html").find("src=\"fig1a_swa.svg\"") != std::string::npos);
    CHECK_THROWS(run_slides({"--out", dir.path, "--format", "gif"}));
}

TEST_CASE("slides: text at slide size (title font >= 40 px, every other text >= 20 px)") {
    const Slide s = mask_slide({swa_mask(12, 3)}, "Fig. 1a: sliding-window attention (SWA)");
    // every <text> of the SVG: the title at font-size 57, the rest at 28.5 (capitals 42 and 21 px)
    size_t at = 0;
    int texts = 0;
    double smallest = 1e9, largest = 0;
    while ((at = s.svg.find("font-size=\"", at)) != std::string::npos) {
        at += 11;
        const double fs = std::stod(s.svg.substr(at));
        smallest = std::min(smallest, fs);
        largest = std::max(largest, fs);
        texts++;
    }
    CHECK(texts > 20);
    CHECK(smallest >= 20);
    CHECK(largest >= 40);
}
