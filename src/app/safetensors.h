// safetensors.h: reading and writing the safetensors format
// (8-byte little-endian header length N, N bytes of JSON header, raw data),
// so Python users can open our files with `safetensors` or json + numpy.
// See docs/spec.md. Only F32 tensors are read and written.
//
// The reader trusts nothing: a truncated file, a header length beyond the file
// or over 100 MB, bad JSON, a name given twice, an unknown dtype, offsets that do
// not match the shape or lie outside the data, overlapping tensors, bytes after
// the last tensor, non-string metadata: each
// is refused with std::runtime_error("FILE: what is wrong"), never a crash or an
// out-of-bounds read.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor.h"

struct SafeTensors {
    std::map<std::string, std::string> metadata;  // the header's "__metadata__"
    std::map<std::string, Tensor> tensors;         // by name; each owns its data

    // The named tensor, checked to have exactly this shape; throws
    // std::runtime_error("FILE: tensor 'x' missing" / "has shape [a, b], expected [c, d]").
    const Tensor& get(const std::string& name, const std::vector<int>& shape) const;
    // The metadata value; throws "FILE: metadata key 'k' missing".
    const std::string& meta(const std::string& key) const;
    std::string source;  // file name, for error messages ("" when built in memory)
};

// Reads a regular file of at most memory_limit() bytes (config.h); a device,
// FIFO or directory is refused before anything is read.
SafeTensors safetensors_load(const std::string& path);
// Parse from bytes already in memory (what safetensors_load uses; handy for tests).
SafeTensors safetensors_parse(const std::string& bytes, const std::string& source);
// Serialize; tensors in name order, data 8-byte aligned as the format expects.
std::string safetensors_serialize(const SafeTensors& st);
// Atomic write (app/safe_file.h: a unique exclusive temporary file next to PATH,
// fsync, rename, directory fsync), so an existing file is never half-overwritten.
void safetensors_save(const std::string& path, const SafeTensors& st);
