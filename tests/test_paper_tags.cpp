// test_paper_tags.cpp: the promises the source makes to a reader of the paper.
//  - fam_block_readable (src/naive.cpp) reads Algorithm 2 steps 1..8 in order;
//  - every step the blockwise forward tags has an `undo` twin in its backward;
//  - the repository stands alone: no file points at a path outside it.
// These read the source files themselves (found next to this file), so a refactor
// that breaks the promise fails here rather than in a student's grep.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

static fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path(); }

static std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open " << p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The body of the function whose definition starts with `signature` (a line of
// the file), up to the first "}" at the start of a line.
static std::string function_body(const std::string& text, const std::string& signature) {
    size_t a = text.find("\n" + signature);
    REQUIRE_MESSAGE(a != std::string::npos, "no definition starting with '" << signature << "'");
    size_t b = text.find("\n}", a + 1);
    REQUIRE(b != std::string::npos);
    return text.substr(a, b - a);
}

// The step numbers of every tag "[Alg.2 step 7]", "[Alg.2 steps 6-8]", "[Alg.2 step 4, 7]"
// in `text`, in order of appearance; `undo` selects tags preceded by "undo ".
static std::vector<int> alg2_steps(const std::string& text, bool undo) {
    std::vector<int> steps;
    const std::string tag = "[Alg.2 step";
    for (size_t at = text.find(tag); at != std::string::npos; at = text.find(tag, at + 1)) {
        const bool is_undo = at >= 5 && text.compare(at - 5, 5, "undo ") == 0;
        if (is_undo != undo) continue;
        size_t end = text.find(']', at);
        std::string body = text.substr(at + tag.size(), end - at - tag.size());  // "s 6-8" or " 7"
        if (!body.empty() && body[0] == 's') body = body.substr(1);
        for (char& ch : body)
            if (ch == ',') ch = ' ';
        std::stringstream ss(body);
        std::string item;
        while (ss >> item) {
            size_t dash = item.find('-');
            int lo = std::stoi(item.substr(0, dash)), hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
            for (int k = lo; k <= hi; k++) steps.push_back(k);
        }
    }
    return steps;
}

TEST_CASE("paper tags: fam_block_readable reads Algorithm 2 steps 1..8 in order") {
    const std::string body = function_body(read_text(repo_root() / "src/naive.cpp"), "ReadableBlock fam_block_readable(");
    std::vector<int> steps = alg2_steps(body, false);
    CHECK(steps == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("paper tags: every forward step of the blockwise path has its undo twin") {
    std::string text;
    for (const char* f : {"src/fam_layer.cpp", "src/fam_update.cpp"}) text += read_text(repo_root() / f);
    std::vector<int> fwd = alg2_steps(text, false), bwd = alg2_steps(text, true);
    const std::set<int> f(fwd.begin(), fwd.end()), b(bwd.begin(), bwd.end());
    CHECK(f == std::set<int>{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(b == f);
    // the layer's backward undoes in the reverse order of the forward: 5, 4 (the batched
    // token rows), then per block 6-8, 4, 3, 2, and 1 last
    const std::string back = function_body(read_text(repo_root() / "src/fam_layer.cpp"), "void fam_layer_backward(");
    std::vector<int> order = alg2_steps(back, true);
    CHECK(order == std::vector<int>{5, 4, 6, 7, 8, 4, 3, 2, 1});
}

TEST_CASE("repository stands alone: no file points outside it") {
    const fs::path root = repo_root();
    const std::string outside = std::string("../") + "shared";  // split so this file passes its own check
    int scanned = 0;
    for (const char* dir : {"src", "tests", "docs", "walkthroughs", "bench", "tools"}) {
        if (!fs::exists(root / dir)) continue;
        for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
            if (!e.is_regular_file()) continue;
            const std::string ext = e.path().extension().string();
            if (ext != ".cpp" && ext != ".h" && ext != ".md" && ext != ".py" && ext != ".sh") continue;
            scanned++;
            CHECK_MESSAGE(read_text(e.path()).find(outside) == std::string::npos, e.path().string());
        }
    }
    for (const char* f : {"README.md", "Makefile"}) {
        scanned++;
        CHECK_MESSAGE(read_text(root / f).find(outside) == std::string::npos, f);
    }
    CHECK(scanned > 50);
}
