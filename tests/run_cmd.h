// run_cmd.h: runs a shell command for the tests that call other programs (python3
// scripts): its stdout and stderr as one string, the exit code in *rc (-1 when it
// could not run or did not exit normally).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

inline std::string run_cmd(const std::string& cmd, int* rc) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) {
        *rc = -1;
        return out;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}
