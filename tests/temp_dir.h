// temp_dir.h: a fresh directory under /tmp for tests that write files, removed
// when the test ends (also when a REQUIRE fails).
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

struct TempDir {
    std::string path;
    explicit TempDir(const std::string& prefix = "fam_test") {
        std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
        REQUIRE(mkdtemp(&tmpl[0]) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};
