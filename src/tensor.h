// tensor.h: a plain row-major float32 tensor with a name and a shape.
//
// A Tensor either owns its storage or views someone else's (a block of rows of
// a sequence, say). Views never copy; they share the owner's buffer, so the
// owner must outlive them. `data` is always a raw float pointer the debugger
// can print: `p *t.data@t.size()` in gdb, or use tools/gdb/tensor_printer.py.
//
// Element access `at(i, j, ...)` is bounds-checked unless NDEBUG is defined
// (debug and sanitizer builds check; the optimized build does not).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct Tensor {
    std::string name;
    int ndim = 0;
    int shape[4] = {0, 0, 0, 0};
    float* data = nullptr;                      // first element, row-major
    std::shared_ptr<std::vector<float>> owned;  // null for a view of foreign memory

    Tensor() = default;
    // An owning tensor filled with zeros.
    Tensor(std::string name, std::initializer_list<int> shape);
    Tensor(std::string name, const std::vector<int>& shape);
    // A view of memory owned elsewhere (no copy).
    static Tensor view(std::string name, float* data, std::initializer_list<int> shape);

    size_t size() const;           // number of elements
    int rows() const { return ndim == 0 ? 0 : shape[0]; }
    size_t row_size() const;       // elements per index of dim 0
    std::string shape_str() const; // "[T, D]" style, e.g. "[12, 64]"

    // Rows r0 .. r0+n-1 of dim 0, sharing storage: a block of a sequence.
    Tensor slice_rows(int r0, int n) const;
    // A deep copy with its own storage.
    Tensor clone(const std::string& new_name = "") const;
    void zero();
    void fill(float v);

    // Bounds-checked (unless NDEBUG) element access, one overload per rank.
    float& at(int i);
    float& at(int i, int j);
    float& at(int i, int j, int k);
    float& at(int i, int j, int k, int l);
    float at(int i) const { return const_cast<Tensor*>(this)->at(i); }
    float at(int i, int j) const { return const_cast<Tensor*>(this)->at(i, j); }
    float at(int i, int j, int k) const { return const_cast<Tensor*>(this)->at(i, j, k); }
    float at(int i, int j, int k, int l) const { return const_cast<Tensor*>(this)->at(i, j, k, l); }

    float* row(int i) { return data + (size_t)i * row_size(); }
    const float* row(int i) const { return data + (size_t)i * row_size(); }
};

// A short printout for the debugger and walkthroughs:
//   q [4, 8]
//     0.123 -0.456 ...
// At most max_rows x max_cols values are shown; the rest is elided with "...".
std::string tensor_str(const Tensor& t, int max_rows = 6, int max_cols = 8, int precision = 4);
void tensor_print(const Tensor& t, int max_rows = 6, int max_cols = 8);  // to stdout (callable from gdb)

// Largest |a - b| over two buffers of n floats (tests and walkthroughs).
float max_abs_diff(const float* a, const float* b, size_t n);

// A small deterministic RNG (SplitMix64 seeding xoshiro128+ style output);
// identical streams on every platform and compiler, unlike std::*_distribution.
struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed = 0x5EEDULL) : state(seed) {}
    uint64_t next_u64();
    float uniform();                 // [0, 1)
    float uniform(float lo, float hi);
    float normal();                  // standard normal (Box-Muller)
    int randint(int lo, int hi);     // [lo, hi] inclusive
};

// Fill with N(0, std^2) / U(lo, hi) from the given RNG.
void fill_normal(Tensor& t, Rng& rng, float std);
void fill_uniform(Tensor& t, Rng& rng, float lo, float hi);
