// run_cli.h: call a `fam` subcommand in-process from a test.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

// Calls a subcommand with C-style arguments, e.g. run_cli(cmd_mask, {"--kind", "nope"}),
// with its stdout ("wrote FILE ...") sent to /dev/null so the test log stays clean.
// Exceptions pass through (the caller checks them); stdout is restored either way.
inline int run_cli(int (*cmd)(int, char**), std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(&a[0]);
    std::fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    close(null);
    struct Restore {
        int fd;
        ~Restore() {
            std::fflush(stdout);
            dup2(fd, 1);
            close(fd);
        }
    } restore{saved};
    return cmd((int)argv.size(), argv.data());
}
