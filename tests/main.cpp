// main.cpp: the doctest runner (one binary, build/tests, with every test file).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
