// test_exercises.cpp: the course exercises grade what they claim (exercises/README.md).
// Two wrong answers of the kind students write must fail with a sentence that names
// the problem. Each case builds the grader with the wrong function linked in
// (exercises/build.sh, about 10 s; the first run also compiles the -O0 objects).
// `make exercises SOLUTION=1` (CI) checks that every solution passes; the untouched
// stubs fail, which the first case here checks for one of them.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "temp_dir.h"

namespace fs = std::filesystem;

static fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path(); }

static std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Grades `source` as exercise k; returns the grader's output, *rc its exit status.
static std::string grade(int k, const std::string& source, const std::string& dir, int* rc) {
    const std::string file = dir + "/answer.cpp", log = dir + "/grade.log";
    std::ofstream(file) << source;
    const std::string cmd = "cd '" + repo_root().string() + "' && bash exercises/build.sh " + std::to_string(k) +
                            " '' '" + file + "' > '" + log + "' 2>&1";
    *rc = std::system(cmd.c_str());
    return read_text(log);
}

// The reference solution with one piece of text replaced: a plausible wrong answer.
static std::string wrong_solution(const std::string& name, const std::string& from, const std::string& to) {
    std::string s = read_text(repo_root() / "exercises/solutions" / name);
    const size_t at = s.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not in the solution " << name);
    return s.replace(at, from.size(), to);
}

TEST_CASE("exercises: an off-by-one in the causal block fails exercise 1 and says why") {
    TempDir dir;
    int rc = 0;
    std::string out = grade(1, wrong_solution("01_block_mask.cpp", "s <= i", "s < i"), dir.path, &rc);
    INFO(out);
    CHECK(rc != 0);
    CHECK(out.find("NOT OK  token rows") != std::string::npos);
    CHECK(out.find("a token sees its own key") != std::string::npos);
    CHECK(out.find("exercise 1: 1 passed, 2 failed") != std::string::npos);  // the FAM rows are still right
}

TEST_CASE("exercises: keeping the residual of a fresh FAM fails exercise 4 and says why; the stub fails") {
    TempDir dir;
    int rc = 0;
    std::string out = grade(4, wrong_solution("04_fam_update.cpp", "in.fresh ? nullptr : in.fam", "in.fam"), dir.path, &rc);
    INFO(out);
    CHECK(rc != 0);
    CHECK(out.find("OK      a FAM update with the residual F_tau") != std::string::npos);
    CHECK(out.find("you added F_tau as the residual, but the first update of a fresh FAM uses a zero residual") !=
          std::string::npos);

    std::string stub = grade(4, read_text(repo_root() / "exercises/04_fam_update/student.cpp"), dir.path, &rc);
    INFO(stub);
    CHECK(rc != 0);
    CHECK(stub.find("exercise 4: 0 passed, 4 failed") != std::string::npos);
}
