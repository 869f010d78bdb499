// cli.h: the subcommands of `build/fam`. Each lives in its own cli_*.cpp file,
// takes the arguments after its name and returns the process exit code.
// Library errors arrive as exceptions; main() turns them into one line on
// stderr (exit 1), usage errors into one line (exit 2).
#pragma once

int cmd_demo(int argc, char** argv);  // cli_demo.cpp: the quick-start demo
