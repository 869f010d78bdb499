// fuzz_npy.cpp: libFuzzer harness for the .npy reader (src/app/npy.cpp):
// npy_parse from memory, then npy_load (float) and npy_load_i32 (token ids)
// through a file. Seeds: tests/fuzz/corpus/npy/.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "app/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        NpyArray a = npy_parse(bytes, "fuzz.npy");
        // the parser's promise: the data is exactly the shape's size
        size_t item = a.descr.size() > 2 ? (size_t)std::stoul(a.descr.substr(2)) : 0;
        if (a.data.size() != a.count() * item) __builtin_trap();
    } catch (const std::exception&) {
    }
    const std::string& path = fuzz::temp_path(".npy");
    fuzz::write_temp(path, bytes);
    std::vector<int> shape;
    try {
        std::vector<float> f = npy_load(path, &shape);
    } catch (const std::exception&) {
    }
    try {
        std::vector<int32_t> ids = npy_load_i32(path, &shape);
    } catch (const std::exception&) {
    }
    return 0;
}
