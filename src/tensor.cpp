// tensor.cpp: see tensor.h.
#include "tensor.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

static void check_shape(const std::string& name, const std::vector<int>& shape) {
    if (shape.empty() || shape.size() > 4)
        throw std::invalid_argument("tensor '" + name + "': rank must be 1..4, got " +
                                    std::to_string(shape.size()));
    for (int s : shape)
        if (s < 0) throw std::invalid_argument("tensor '" + name + "': negative dimension");
}

Tensor::Tensor(std::string name_, const std::vector<int>& shape_) : name(std::move(name_)) {
    check_shape(name, shape_);
    ndim = (int)shape_.size();
    for (int i = 0; i < ndim; i++) shape[i] = shape_[i];
    owned = std::make_shared<std::vector<float>>(size(), 0.0f);
    data = owned->data();
}

Tensor::Tensor(std::string name_, std::initializer_list<int> shape_)
    : Tensor(std::move(name_), std::vector<int>(shape_)) {}

Tensor Tensor::view(std::string name, float* data, std::initializer_list<int> shape_) {
    std::vector<int> s(shape_);
    check_shape(name, s);
    Tensor t;
    t.name = std::move(name);
    t.ndim = (int)s.size();
    for (int i = 0; i < t.ndim; i++) t.shape[i] = s[i];
    t.data = data;
    return t;
}

size_t Tensor::size() const {
    if (ndim == 0) return 0;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

size_t Tensor::row_size() const {
    size_t n = 1;
    for (int i = 1; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

std::string Tensor::shape_str() const {
    std::string s = "[";
    for (int i = 0; i < ndim; i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

Tensor Tensor::slice_rows(int r0, int n) const {
    if (ndim == 0 || r0 < 0 || n < 0 || r0 + n > shape[0])
        throw std::out_of_range("tensor '" + name + "' " + shape_str() + ": rows " +
                                std::to_string(r0) + ".." + std::to_string(r0 + n - 1) +
                                " out of range");
    Tensor t = *this;  // shares `owned`, so the storage stays alive
    t.name = name + "[" + std::to_string(r0) + ":" + std::to_string(r0 + n) + "]";
    t.shape[0] = n;
    t.data = data + (size_t)r0 * row_size();
    return t;
}

Tensor Tensor::clone(const std::string& new_name) const {
    std::vector<int> s(shape, shape + ndim);
    Tensor t(new_name.empty() ? name : new_name, s);
    if (size()) std::memcpy(t.data, data, size() * sizeof(float));
    return t;
}

void Tensor::zero() { fill(0.0f); }
void Tensor::fill(float v) {
    for (size_t i = 0; i < size(); i++) data[i] = v;
}

#ifndef NDEBUG
static void check_index(const Tensor& t, int rank, const int* idx) {
    if (rank != t.ndim)
        throw std::out_of_range("tensor '" + t.name + "' " + t.shape_str() + ": indexed with " +
                                std::to_string(rank) + " indices");
    for (int d = 0; d < rank; d++)
        if (idx[d] < 0 || idx[d] >= t.shape[d])
            throw std::out_of_range("tensor '" + t.name + "' " + t.shape_str() + ": index " +
                                    std::to_string(idx[d]) + " out of range in dim " +
                                    std::to_string(d));
}
#define FAM_CHECK_INDEX(rank, ...)             \
    do {                                       \
        const int idx_[] = {__VA_ARGS__};      \
        check_index(*this, rank, idx_);        \
    } while (0)
#else
#define FAM_CHECK_INDEX(rank, ...) ((void)0)
#endif

float& Tensor::at(int i) {
    FAM_CHECK_INDEX(1, i);
    return data[i];
}
float& Tensor::at(int i, int j) {
    FAM_CHECK_INDEX(2, i, j);
    return data[(size_t)i * shape[1] + j];
}
float& Tensor::at(int i, int j, int k) {
    FAM_CHECK_INDEX(3, i, j, k);
    return data[((size_t)i * shape[1] + j) * shape[2] + k];
}
float& Tensor::at(int i, int j, int k, int l) {
    FAM_CHECK_INDEX(4, i, j, k, l);
    return data[(((size_t)i * shape[1] + j) * shape[2] + k) * shape[3] + l];
}

std::string tensor_str(const Tensor& t, int max_rows, int max_cols, int precision) {
    std::ostringstream os;
    os << (t.name.empty() ? "tensor" : t.name) << " " << t.shape_str() << "\n";
    if (t.ndim == 0 || t.size() == 0) return os.str();
    // Print as a matrix: dim 0 are rows, the remaining dims flattened into columns.
    int R = t.ndim == 1 ? 1 : t.shape[0];
    size_t C = t.ndim == 1 ? (size_t)t.shape[0] : t.row_size();
    char buf[64];
    for (int r = 0; r < R && r < max_rows; r++) {
        os << "  ";
        for (size_t c = 0; c < C && c < (size_t)max_cols; c++) {
            std::snprintf(buf, sizeof buf, "%*.*f ", precision + 4, precision, t.data[r * C + c]);
            os << buf;
        }
        if (C > (size_t)max_cols) os << "...";
        os << "\n";
    }
    if (R > max_rows) os << "  ... (" << R - max_rows << " more rows)\n";
    return os.str();
}

void tensor_print(const Tensor& t, int max_rows, int max_cols) {
    std::fputs(tensor_str(t, max_rows, max_cols).c_str(), stdout);
    std::fflush(stdout);
}

float max_abs_diff(const float* a, const float* b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = std::fabs(a[i] - b[i]);
        if (!(d <= m)) m = d;  // also propagates NaN as "infinitely different"
    }
    return m;
}

// ---- Rng -------------------------------------------------------------------

uint64_t Rng::next_u64() {  // SplitMix64: small, fast, passes BigCrush
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

float Rng::uniform() { return (float)(next_u64() >> 40) / 16777216.0f; }  // 24 random bits

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }

float Rng::normal() {
    // Box-Muller; u1 in (0, 1] so the log is finite.
    double u1 = ((next_u64() >> 11) + 1.0) / 9007199254740992.0;
    double u2 = (next_u64() >> 11) / 9007199254740992.0;
    return (float)(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

int Rng::randint(int lo, int hi) {
    if (hi < lo) throw std::invalid_argument("Rng::randint: empty range");
    uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return lo + (int)(next_u64() % span);
}

void fill_normal(Tensor& t, Rng& rng, float std) {
    for (size_t i = 0; i < t.size(); i++) t.data[i] = std * rng.normal();
}

void fill_uniform(Tensor& t, Rng& rng, float lo, float hi) {
    for (size_t i = 0; i < t.size(); i++) t.data[i] = rng.uniform(lo, hi);
}
