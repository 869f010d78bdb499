// npy.h: NumPy .npy files (format version 1.0, little-endian, C order) for the
// arrays people want to load in Python: logits, attention weights, FAM states,
// masks, token ids. docs/formats.md lists every file we write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// Writes float32 ('<f4') data of the given shape. Atomic: writes PATH.tmp, then renames.
// Throws std::runtime_error naming the file on any I/O failure.
void npy_save_f32(const std::string& path, const float* data, const std::vector<int>& shape);
// Writes uint8 ('|u1') data, e.g. a 0/1 mask.
void npy_save_u8(const std::string& path, const uint8_t* data, const std::vector<int>& shape);
// Writes int32 ('<i4') data: token ids, which must stay integers (float32 has
// only 24 bits of mantissa, so ids past 2^24 would not survive a round trip).
void npy_save_i32(const std::string& path, const int32_t* data, const std::vector<int>& shape);

// One parsed .npy file: its dtype string, its shape and its raw data bytes.
struct NpyArray {
    std::string descr;       // "<f4", "|u1", "<i4", "<i8", ... as written in the header
    std::vector<int> shape;  // C order; {} for a scalar
    std::string data;        // exactly product(shape) * itemsize bytes, little-endian
    size_t count() const;    // product(shape)
};

// Parses .npy bytes (versions 1.0, 2.0 and 3.0; the header dict with 'descr',
// 'fortran_order' and 'shape' in any order). Accepts little-endian or byte-wide
// descr of kind f, i, u, b and C order only; checks that the data size matches
// the shape. Anything else throws std::runtime_error("SOURCE: what is wrong"),
// never a crash: the fuzz harness tests/fuzz/fuzz_npy.cpp holds it to that.
NpyArray npy_parse(const std::string& bytes, const std::string& source);

// Reads a float32 or uint8 .npy (for tests and tools); float data is returned
// as float, u8 widened to float. Throws on any other dtype.
std::vector<float> npy_load(const std::string& path, std::vector<int>* shape);
// Reads an integer .npy ('<i4', or '<i8' / '|u1' whose values fit in int32),
// e.g. tokens.npy. Throws on float data or an out-of-range value.
std::vector<int32_t> npy_load_i32(const std::string& path, std::vector<int>* shape);

// The whole file as bytes; throws std::runtime_error("PATH: cannot open").
std::string read_file(const std::string& path);

// Write a whole byte buffer to PATH atomically: safe_write_file (app/safe_file.h),
// a unique exclusive temporary file, fsync, rename, directory fsync; a crash or a
// full disk never leaves a half-written file under the final name.
void write_file_atomic(const std::string& path, const std::string& bytes);
