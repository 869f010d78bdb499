// test_version.cpp: the `fam --version` block (src/app/version.h).
#include <doctest/doctest.h>

#include <string>

#include "app/version.h"

TEST_CASE("version: the block names the version, the CPU, the BLAS build and its kernel") {
    const std::string v = version_text();
    CHECK(v.rfind(std::string("fam ") + kFamVersion + "\n", 0) == 0);
    CHECK(std::string(kFamVersion) == "0.2.0");
    CHECK(v.find("\nCPU: " + cpu_model() + "\n") != std::string::npos);
    CHECK(v.find(std::string("\nBLAS: ") + blas_name() + "\n") != std::string::npos);
    CHECK(v.find(std::string("\nBLAS kernel: ") + blas_corename() + " (" + blas_kernel_source() + ")\n") !=
          std::string::npos);
    CHECK(!cpu_model().empty());
    CHECK(std::string(blas_corename()) != "");
    CHECK(std::string(blas_name()).find("OpenBLAS") != std::string::npos);
}

TEST_CASE("version: the CPU model comes from the first 'model name' line of /proc/cpuinfo") {
    const std::string two = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13  \n"
                            "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
    CHECK(cpu_model_from_cpuinfo(two) == "AMD EPYC 7B13");
    CHECK(cpu_model_from_cpuinfo("") == "unknown");                         // no /proc/cpuinfo
    CHECK(cpu_model_from_cpuinfo("processor : 0\nHardware : BCM\n") == "unknown");  // no model name (some ARM boards)
    CHECK(cpu_model_from_cpuinfo("model name\t:\n") == "unknown");          // empty field
}
