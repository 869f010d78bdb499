// npy.h: NumPy .npy writer (format version 1.0, little-endian, C order) for the
// arrays people want to load in Python: logits, attention weights, FAM states,
// masks. See docs/spec.md, "Dumps".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// Writes float32 ('<f4') data of the given shape. Atomic: writes PATH.tmp, then renames.
// Throws std::runtime_error naming the file on any I/O failure.
void npy_save_f32(const std::string& path, const float* data, const std::vector<int>& shape);
// Writes uint8 ('|u1') data, e.g. a 0/1 mask.
void npy_save_u8(const std::string& path, const uint8_t* data, const std::vector<int>& shape);

// Reads a float32 or uint8 .npy written as above (for tests and tools); float data
// is returned as float, u8 widened to float. Throws on anything else.
std::vector<float> npy_load(const std::string& path, std::vector<int>* shape);

// The whole file as bytes; throws std::runtime_error("PATH: cannot open").
std::string read_file(const std::string& path);

// Write a whole byte buffer to PATH atomically (PATH.tmp + rename): a crash or a
// full disk never leaves a half-written file under the final name.
void write_file_atomic(const std::string& path, const std::string& bytes);
