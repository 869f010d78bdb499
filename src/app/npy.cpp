// npy.cpp: see npy.h. Format: "\x93NUMPY", version 1.0, uint16 header length,
// a Python-dict header padded with spaces to a multiple of 64 bytes, then data.
#include "app/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

void write_file_atomic(const std::string& path, const std::string& bytes) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error(path + ": cannot open for writing");
        f.write(bytes.data(), (std::streamsize)bytes.size());
        f.flush();
        if (!f) {
            std::remove(tmp.c_str());
            throw std::runtime_error(path + ": write failed (disk full?)");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": cannot rename " + tmp + " into place");
    }
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

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": cannot open");
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<float> npy_load(const std::string& path, std::vector<int>* shape) {
    std::string bytes = read_file(path);
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw std::runtime_error(path + ": not a .npy file");
    size_t hlen = (uint8_t)bytes[8] | ((size_t)(uint8_t)bytes[9] << 8);
    if (10 + hlen > bytes.size()) throw std::runtime_error(path + ": truncated header");
    std::string header = bytes.substr(10, hlen);
    bool is_f4 = header.find("'<f4'") != std::string::npos;
    bool is_u1 = header.find("'|u1'") != std::string::npos;
    if (!is_f4 && !is_u1) throw std::runtime_error(path + ": only <f4 and |u1 are supported");
    if (header.find("'fortran_order': False") == std::string::npos)
        throw std::runtime_error(path + ": Fortran order is not supported");
    size_t a = header.find('('), b = header.find(')');
    if (a == std::string::npos || b == std::string::npos || b < a)
        throw std::runtime_error(path + ": bad shape in header");
    std::vector<int> s;
    std::stringstream ss(header.substr(a + 1, b - a - 1));
    std::string item;
    size_t n = 1;
    while (std::getline(ss, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        s.push_back(std::stoi(item));
        n *= (size_t)s.back();
    }
    size_t esize = is_f4 ? 4 : 1;
    if (10 + hlen + n * esize != bytes.size())
        throw std::runtime_error(path + ": data size does not match the shape");
    std::vector<float> out(n);
    const char* p = bytes.data() + 10 + hlen;
    if (is_f4)
        std::memcpy(out.data(), p, n * 4);
    else
        for (size_t i = 0; i < n; i++) out[i] = (float)(uint8_t)p[i];
    if (shape) *shape = s;
    return out;
}
