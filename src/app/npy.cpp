// npy.cpp: see npy.h. Format: "\x93NUMPY", version 1.0, uint16 header length,
// a Python-dict header padded with spaces to a multiple of 64 bytes, then data
// (versions 2.0 and 3.0, which numpy writes for huge headers, use a uint32 length).
#include "app/npy.h"
#include "app/safe_file.h"

#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

void write_file_atomic(const std::string& path, const std::string& bytes) {
    safe_write_file(path, bytes);  // app/safe_file.h: unique exclusive temp file, fsync, rename, dir fsync
}

static std::string npy_bytes(const char* descr, const void* data, size_t elem_size,
                             const std::vector<int>& shape) {
    std::string dims;
    size_t n = 1;
    for (size_t i = 0; i < shape.size(); i++) {
        if (shape[i] < 0) throw std::invalid_argument("npy: negative dimension");
        dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
        n *= (size_t)shape[i];
    }
    std::string header = std::string("{'descr': '") + descr +
                         "', 'fortran_order': False, 'shape': (" + dims + "), }";
    // magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    uint16_t len = (uint16_t)header.size();
    out += (char)(len & 0xff);
    out += (char)(len >> 8);
    out += header;
    out.append((const char*)data, n * elem_size);
    return out;
}

void npy_save_f32(const std::string& path, const float* data, const std::vector<int>& shape) {
    write_file_atomic(path, npy_bytes("<f4", data, sizeof(float), shape));
}

void npy_save_u8(const std::string& path, const uint8_t* data, const std::vector<int>& shape) {
    write_file_atomic(path, npy_bytes("|u1", data, 1, shape));
}

void npy_save_i32(const std::string& path, const int32_t* data, const std::vector<int>& shape) {
    write_file_atomic(path, npy_bytes("<i4", data, sizeof(int32_t), shape));
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot open");
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// ---- reader -------------------------------------------------------------------------

size_t NpyArray::count() const {
    size_t n = 1;
    for (int d : shape) n *= (size_t)d;
    return n;
}

namespace {
// A cursor over the header text, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Only what numpy writes is accepted: string keys, and as values a string,
// True / False, or a tuple of non-negative integers.
struct HeaderCursor {
    const std::string& s;
    size_t i = 0;
    const std::string& src;
    std::runtime_error bad(const std::string& what) const {
        return std::runtime_error(src + ": .npy header: " + what + " at character " + std::to_string(i));
    }
    void skip_space() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    }
    bool eat(char c) {
        skip_space();
        if (i < s.size() && s[i] == c) {
            i++;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) throw bad(std::string("expected '") + c + "'");
    }
    std::string string_literal() {
        skip_space();
        if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) throw bad("expected a quoted string");
        const char q = s[i++];
        size_t end = s.find(q, i);
        if (end == std::string::npos) throw bad("unterminated string");
        std::string out = s.substr(i, end - i);
        if (out.size() > 64) throw bad("string longer than 64 characters");
        i = end + 1;
        return out;
    }
    bool boolean() {
        skip_space();
        if (s.compare(i, 4, "True") == 0) return i += 4, true;
        if (s.compare(i, 5, "False") == 0) return i += 5, false;
        throw bad("expected True or False");
    }
    std::vector<int> int_tuple() {
        expect('(');
        std::vector<int> dims;
        while (!eat(')')) {
            skip_space();
            if (i >= s.size() || s[i] < '0' || s[i] > '9') throw bad("expected a non-negative integer in the shape");
            long long v = 0;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                v = v * 10 + (s[i++] - '0');
                if (v > INT_MAX) throw bad("shape dimension larger than " + std::to_string(INT_MAX));
            }
            if (s.compare(i, 1, "L") == 0) i++;  // Python 2 wrote 3L
            dims.push_back((int)v);
            if (dims.size() > 32) throw bad("more than 32 dimensions");
            if (!eat(',')) {
                expect(')');
                break;
            }
        }
        return dims;
    }
};
}  // namespace

NpyArray npy_parse(const std::string& bytes, const std::string& source) {
    const std::string& src = source.empty() ? std::string("npy") : source;
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw std::runtime_error(src + ": not a .npy file (no \\x93NUMPY magic)");
    const int major = (uint8_t)bytes[6];
    size_t hlen = 0, hstart = 0;
    if (major == 1) {
        hlen = (uint8_t)bytes[8] | ((size_t)(uint8_t)bytes[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw std::runtime_error(src + ": truncated .npy header length");
        for (int k = 3; k >= 0; k--) hlen = (hlen << 8) | (uint8_t)bytes[8 + k];
        hstart = 12;
    } else {
        throw std::runtime_error(src + ": .npy format version " + std::to_string(major) +
                                 " is not supported (1, 2 or 3)");
    }
    if (hlen > bytes.size() - hstart)
        throw std::runtime_error(src + ": .npy header length " + std::to_string(hlen) + " reaches beyond the file (" +
                                 std::to_string(bytes.size()) + " bytes); truncated?");
    const std::string header = bytes.substr(hstart, hlen);

    NpyArray a;
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    HeaderCursor c{header, 0, src};
    c.expect('{');
    while (!c.eat('}')) {
        std::string key = c.string_literal();
        c.expect(':');
        if (key == "descr") {
            a.descr = c.string_literal();
            have_descr = true;
        } else if (key == "fortran_order") {
            fortran = c.boolean();
            have_order = true;
        } else if (key == "shape") {
            a.shape = c.int_tuple();
            have_shape = true;
        } else {
            throw c.bad("unknown key '" + key + "'");
        }
        if (!c.eat(',')) {
            c.expect('}');
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        throw std::runtime_error(src + ": .npy header lacks " +
                                 std::string(!have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'"));
    if (fortran) throw std::runtime_error(src + ": Fortran-order .npy is not supported (C order only)");

    // descr: byte order ('<' little, '|' not applicable, '=' native = little here),
    // kind (f float, i signed, u unsigned, b bool) and item size in bytes
    const std::string& d = a.descr;
    if (d.size() < 3 || (d[0] != '<' && d[0] != '|' && d[0] != '=') || std::string("fiub").find(d[1]) == std::string::npos)
        throw std::runtime_error(src + ": .npy dtype '" + d + "' is not supported (little-endian f, i, u or b only)");
    size_t itemsize = 0;
    for (size_t k = 2; k < d.size(); k++) {
        if (d[k] < '0' || d[k] > '9' || itemsize > 16)
            throw std::runtime_error(src + ": .npy dtype '" + d + "' is not supported");
        itemsize = itemsize * 10 + (size_t)(d[k] - '0');
    }
    if (itemsize != 1 && itemsize != 2 && itemsize != 4 && itemsize != 8)
        throw std::runtime_error(src + ": .npy dtype '" + d + "' has item size " + std::to_string(itemsize) +
                                 " (1, 2, 4 or 8 expected)");

    // the data must be exactly product(shape) items; compare without overflow
    const size_t have = bytes.size() - hstart - hlen;
    size_t n = 1;
    bool empty = false;
    for (int dim : a.shape) empty = empty || dim == 0;
    if (!empty)
        for (int dim : a.shape) {
            if (n > have / itemsize / (size_t)dim)
                throw std::runtime_error(src + ": .npy shape needs more data than the file's " + std::to_string(have) +
                                         " bytes; truncated?");
            n *= (size_t)dim;
        }
    else
        n = 0;
    if (n * itemsize != have)
        throw std::runtime_error(src + ": .npy data is " + std::to_string(have) + " bytes but the shape needs " +
                                 std::to_string(n * itemsize));
    a.data = bytes.substr(hstart + hlen);
    return a;
}

std::vector<float> npy_load(const std::string& path, std::vector<int>* shape) {
    NpyArray a = npy_parse(read_file(path), path);
    if (a.descr != "<f4" && a.descr != "|u1")
        throw std::runtime_error(path + ": dtype " + a.descr + "; only <f4 and |u1 are read as float");
    const size_t n = a.count();
    std::vector<float> out(n);
    if (n == 0) {
        // nothing to copy (and memcpy to an empty vector's null data() is undefined)
    } else if (a.descr == "<f4") {
        std::memcpy(out.data(), a.data.data(), n * 4);
    } else {
        for (size_t i = 0; i < n; i++) out[i] = (float)(uint8_t)a.data[i];
    }
    if (shape) *shape = a.shape;
    return out;
}

std::vector<int32_t> npy_load_i32(const std::string& path, std::vector<int>* shape) {
    NpyArray a = npy_parse(read_file(path), path);
    const size_t n = a.count();
    std::vector<int32_t> out(n);
    if (a.descr == "<i4") {
        if (n > 0) std::memcpy(out.data(), a.data.data(), n * 4);
    } else if (a.descr == "<i8") {
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            std::memcpy(&v, a.data.data() + 8 * i, 8);
            if (v < INT32_MIN || v > INT32_MAX)
                throw std::runtime_error(path + ": value " + std::to_string(v) + " at index " + std::to_string(i) +
                                         " does not fit in int32");
            out[i] = (int32_t)v;
        }
    } else if (a.descr == "|u1") {
        for (size_t i = 0; i < n; i++) out[i] = (uint8_t)a.data[i];
    } else {
        throw std::runtime_error(path + ": dtype " + a.descr + "; integer ids need <i4, <i8 or |u1");
    }
    if (shape) *shape = a.shape;
    return out;
}
