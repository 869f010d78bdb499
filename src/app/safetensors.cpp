// safetensors.cpp: see safetensors.h and docs/spec.md ("Checkpoint:
// safetensors").
//
// File layout:
//   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8+N)      UTF-8 JSON object:
//                         {"__metadata__": {"k": "v", ...},
//                          "name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
//   bytes [8+N, end)    the data section; a tensor's bytes are [8+N+b, 8+N+e)
//
// The reader validates the whole header before it allocates or copies anything,
// and every byte it touches is range-checked against the buffer first; since a
// tensor's bytes must lie inside the file, a hostile header cannot make us
// allocate more than the file's own size.
#include "app/safetensors.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <new>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "config.h"  // memory_limit
#include "app/safe_file.h"

using json = nlohmann::json;

// The data section is copied straight into float buffers, so the host must
// store float32 exactly as the file does: IEEE 754, little-endian.
static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559,
              "safetensors: float must be IEEE 754 binary32");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp assumes a little-endian host (the file's float32 data is little-endian)"
#endif

// The same cap as the Python library: a header is a table of contents, and a
// bigger one is far more likely an attack or a corrupted length than a model.
static const uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;
static const int kMaxRank = 4;  // Tensor's limit

// ---- small helpers ----------------------------------------------------------

// Names in error messages come from the file itself; clip them so a hostile
// 100 MB name cannot produce a 100 MB message.
static std::string clipped(const std::string& s) {
    const size_t max_len = 64;
    if (s.size() <= max_len) return s;
    return s.substr(0, max_len) + "... (" + std::to_string(s.size()) + " chars)";
}
static std::string quoted(const std::string& s) { return "'" + clipped(s) + "'"; }

static std::string shape_str(const std::vector<int>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

static std::string prefix(const std::string& source) {
    return (source.empty() ? std::string("safetensors") : source) + ": ";
}

// A JSON number as a non-negative integer. nlohmann parses "7" as unsigned and
// "-7" (or "-0") as signed, and "7.0" as float, which we reject: the format's
// shapes and offsets are integers.
enum class IntKind { ok, negative, not_integer };
static IntKind as_u64(const json& j, uint64_t* out) {
    if (j.is_number_unsigned()) {
        *out = j.get<uint64_t>();
        return IntKind::ok;
    }
    if (j.is_number_integer()) {  // signed storage: only "-0" is still >= 0
        int64_t v = j.get<int64_t>();
        if (v < 0) return IntKind::negative;
        *out = (uint64_t)v;
        return IntKind::ok;
    }
    return IntKind::not_integer;
}

// nlohmann's messages read "[json.exception.parse_error.101] parse error at line 1,
// column 5: syntax error while parsing object key - ..."; keep the sentence after
// the bracketed id and say where.
static std::string json_error_sentence(const json::exception& ex) {
    std::string m = ex.what();
    size_t close = m.find("] ");
    if (m.rfind("[json.exception", 0) == 0 && close != std::string::npos) m = m.substr(close + 2);
    if (m.size() > 200) m = m.substr(0, 200) + "...";
    return m;
}

static uint64_t read_u64_le(const char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | (uint8_t)p[i];
    return v;
}

static void append_u64_le(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; i++) out += (char)((v >> (8 * i)) & 0xff);
}

// ---- SafeTensors accessors ------------------------------------------------------

const Tensor& SafeTensors::get(const std::string& name, const std::vector<int>& shape) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error(prefix(source) + "tensor " + quoted(name) + " missing");
    const Tensor& t = it->second;
    std::vector<int> have(t.shape, t.shape + t.ndim);
    if (have != shape)
        throw std::runtime_error(prefix(source) + "tensor " + quoted(name) + " has shape " +
                                 shape_str(have) + ", expected " + shape_str(shape));
    return t;
}

const std::string& SafeTensors::meta(const std::string& key) const {
    auto it = metadata.find(key);
    if (it == metadata.end())
        throw std::runtime_error(prefix(source) + "metadata key " + quoted(key) + " missing");
    return it->second;
}

// ---- reader -----------------------------------------------------------------------

namespace {
// One header entry, validated but not yet copied.
struct Entry {
    std::string name;
    std::vector<int> shape;
    uint64_t begin = 0, end = 0;  // relative to the data section
};
}  // namespace

// Checks one tensor entry of the header against the format and against the data
// section size; throws runtime_error("tensor 'x' ...") (the caller adds the file).
static Entry parse_entry(const std::string& name, const json& v, uint64_t data_size) {
    const std::string tn = "tensor " + quoted(name);
    if (!v.is_object()) throw std::runtime_error(tn + " is not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!v.contains(key)) throw std::runtime_error(tn + " is missing '" + key + "'");

    const json& dtype = v["dtype"];
    if (!dtype.is_string()) throw std::runtime_error(tn + ": dtype is not a string");
    const std::string& dt = dtype.get_ref<const std::string&>();
    if (dt != "F32")
        throw std::runtime_error(tn + " has dtype " + clipped(dt) + "; only F32 is supported");

    const json& shape = v["shape"];
    if (!shape.is_array()) throw std::runtime_error(tn + ": shape is not a list");
    if (shape.empty())
        throw std::runtime_error(tn + " has rank 0 (a scalar, shape []); tensors need rank 1.." +
                                 std::to_string(kMaxRank) + ", store it as shape [1]");
    if (shape.size() > (size_t)kMaxRank)
        throw std::runtime_error(tn + " has rank " + std::to_string(shape.size()) + "; at most " +
                                 std::to_string(kMaxRank) + " is supported");
    Entry e;
    e.name = name;
    uint64_t count = 1;  // element count, checked for overflow as it grows
    bool overflow = false;
    for (const json& d : shape) {
        uint64_t dim = 0;
        IntKind k = as_u64(d, &dim);
        if (k == IntKind::negative) throw std::runtime_error(tn + " has a negative dimension in its shape");
        if (k == IntKind::not_integer)
            throw std::runtime_error(tn + " has a non-integer dimension in its shape");
        if (dim > (uint64_t)INT_MAX)
            throw std::runtime_error(tn + " has dimension " + std::to_string(dim) +
                                     ", too large (limit " + std::to_string(INT_MAX) + ")");
        e.shape.push_back((int)dim);
        if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / dim) overflow = true;
        count *= dim;  // wraps when overflow is set; only reported below
    }
    // A zero dimension anywhere makes the tensor empty, whatever the others say.
    if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end()) {
        count = 0;
        overflow = false;
    }
    if (overflow || count > std::numeric_limits<uint64_t>::max() / 4)
        throw std::runtime_error(tn + ": element count of shape " + shape_str(e.shape) + " overflows");
    const uint64_t nbytes = 4 * count;

    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
        throw std::runtime_error(tn + ": data_offsets must be a list of two integers [begin, end]");
    for (int i = 0; i < 2; i++) {
        IntKind k = as_u64(off[i], i == 0 ? &e.begin : &e.end);
        if (k == IntKind::negative) throw std::runtime_error(tn + ": data_offsets has a negative entry");
        if (k == IntKind::not_integer) throw std::runtime_error(tn + ": data_offsets has a non-integer entry");
    }
    const std::string range = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.begin > e.end) throw std::runtime_error(tn + ": data_offsets " + range + " has begin > end");
    if (e.end - e.begin != nbytes)
        throw std::runtime_error(tn + ": shape/offset mismatch: shape " + shape_str(e.shape) + " needs " +
                                 std::to_string(nbytes) + " bytes of F32, data_offsets " + range +
                                 " span " + std::to_string(e.end - e.begin));
    if (e.end > data_size)
        throw std::runtime_error(tn + ": data_offsets " + range + " lie beyond the data section (" +
                                 std::to_string(data_size) + " bytes; file truncated?)");
    return e;
}

// Everything after the header length has been checked: JSON, entries, overlaps.
// Throws runtime_error without the file prefix.
static SafeTensors parse_checked(const std::string& bytes, uint64_t header_len) {
    const char* hbegin = bytes.data() + 8;
    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = bytes.size() - data_start;

    // nlohmann's lexer takes a NUL byte for the end of input and would silently
    // ignore whatever follows; valid JSON never contains one, so refuse it here.
    if (std::memchr(hbegin, '\0', header_len) != nullptr)
        throw std::runtime_error("header is not valid JSON (it contains a NUL byte)");
    // JSON lets a key repeat and nlohmann keeps the last one silently; a file with
    // two tensors (or metadata keys) of one name is ambiguous, so refuse it.
    std::vector<std::set<std::string>> keys_seen;  // one set per open object
    auto no_duplicates = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) keys_seen.emplace_back();
        else if (event == json::parse_event_t::object_end && !keys_seen.empty()) keys_seen.pop_back();
        else if (event == json::parse_event_t::key && !keys_seen.empty()) {
            const std::string& k = parsed.get_ref<const std::string&>();
            if (!keys_seen.back().insert(k).second)
                throw std::runtime_error("header names " + quoted(k) + " twice (duplicate key)");
        }
        return true;
    };
    json header;
    try {
        header = json::parse(hbegin, hbegin + header_len, no_duplicates);
    } catch (const json::exception& ex) {
        throw std::runtime_error("header is not valid JSON (" + json_error_sentence(ex) + ")");
    }
    if (!header.is_object()) throw std::runtime_error("header is not a JSON object");

    SafeTensors st;
    std::vector<Entry> entries;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            const json& m = it.value();
            if (!m.is_object()) throw std::runtime_error("__metadata__ is not an object");
            for (auto mt = m.begin(); mt != m.end(); ++mt) {
                if (!mt.value().is_string())
                    throw std::runtime_error("__metadata__ value for key " + quoted(mt.key()) +
                                             " is not a string (the format allows only strings)");
                st.metadata[mt.key()] = mt.value().get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(it.key(), it.value(), data_size));
    }

    // No two tensors may share bytes. Sort the byte ranges; each non-empty range
    // must start at or after the previous one's end. Empty ranges own no bytes.
    std::vector<const Entry*> order;
    for (const Entry& e : entries)
        if (e.end > e.begin) order.push_back(&e);
    std::sort(order.begin(), order.end(),
              [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < order.size(); i++) {
        const Entry& a = *order[i - 1];
        const Entry& b = *order[i];
        if (b.begin < a.end)
            throw std::runtime_error("tensors " + quoted(a.name) + " [" + std::to_string(a.begin) + ", " +
                                     std::to_string(a.end) + "] and " + quoted(b.name) + " [" +
                                     std::to_string(b.begin) + ", " + std::to_string(b.end) +
                                     "] overlap in the data section");
    }

    // The data section ends where the last tensor does: bytes after it are not
    // described by the header (a damaged or concatenated file).
    uint64_t last_end = 0;
    for (const Entry& e : entries) last_end = std::max(last_end, e.end);
    if (data_size > last_end)
        throw std::runtime_error("the file has " + std::to_string(data_size - last_end) +
                                 " bytes after the last tensor's data (the header describes " +
                                 std::to_string(data_start + last_end) + " of its " + std::to_string(bytes.size()) +
                                 " bytes); damaged or not one safetensors file");

    // Only now copy: every range is known to lie inside `bytes`.
    for (const Entry& e : entries) {
        Tensor t(e.name, e.shape);
        if (e.end > e.begin) std::memcpy(t.data, bytes.data() + data_start + e.begin, e.end - e.begin);
        st.tensors.emplace(e.name, std::move(t));
    }
    return st;
}

SafeTensors safetensors_parse(const std::string& bytes, const std::string& source) {
    const std::string p = prefix(source);
    if (bytes.size() < 8)
        throw std::runtime_error(p + "file shorter than 8 bytes (" + std::to_string(bytes.size()) +
                                 "), no room for the header length; not a safetensors file");
    const uint64_t n = read_u64_le(bytes.data());
    if (n == 0) throw std::runtime_error(p + "header length 0; not a safetensors file");
    if (n > kMaxHeaderBytes)
        throw std::runtime_error(p + "header length " + std::to_string(n) +
                                 " is over the 100 MB limit; not a safetensors file or corrupted");
    if (n > bytes.size() - 8)
        throw std::runtime_error(p + "header length " + std::to_string(n) + " reaches beyond the file (" +
                                 std::to_string(bytes.size()) + " bytes); truncated?");
    SafeTensors st;
    try {
        st = parse_checked(bytes, n);
    } catch (const std::runtime_error& ex) {
        throw std::runtime_error(p + ex.what());
    } catch (const json::exception& ex) {
        // Defensive: every json access above is type-checked first, but a
        // library exception must never escape as anything but runtime_error.
        throw std::runtime_error(p + "bad header (" + json_error_sentence(ex) + ")");
    } catch (const std::bad_alloc&) {
        throw std::runtime_error(p + "out of memory while reading the header");
    } catch (const std::logic_error& ex) {  // e.g. Tensor's invalid_argument; unreachable after the checks
        throw std::runtime_error(p + ex.what());
    }
    st.source = source;
    return st;
}

SafeTensors safetensors_load(const std::string& path) {
    // a regular file no larger than the memory limit (config.h): never a stream
    // such as /dev/zero, never more than the model could use
    return safetensors_parse(read_file_bounded(path, memory_limit()), path);
}

// ---- writer -----------------------------------------------------------------------

std::string safetensors_serialize(const SafeTensors& st) {
    // The header: metadata (always present, maybe empty) and one entry per tensor,
    // with data laid out back to back in name order (std::map order).
    json header = json::object();
    json meta = json::object();
    for (const auto& kv : st.metadata) meta[kv.first] = kv.second;
    header["__metadata__"] = std::move(meta);
    uint64_t offset = 0;
    for (const auto& kv : st.tensors) {
        const std::string& name = kv.first;
        const Tensor& t = kv.second;
        if (name == "__metadata__")
            throw std::invalid_argument("safetensors: a tensor may not be named '__metadata__'");
        if (t.ndim < 1 || t.ndim > kMaxRank)
            throw std::invalid_argument("safetensors: tensor " + quoted(name) + " has rank " +
                                        std::to_string(t.ndim) + ", expected 1..4");
        if (t.size() > 0 && t.data == nullptr)
            throw std::invalid_argument("safetensors: tensor " + quoted(name) + " has no data");
        json e = json::object();
        e["dtype"] = "F32";
        e["shape"] = std::vector<int>(t.shape, t.shape + t.ndim);
        const uint64_t nbytes = 4 * (uint64_t)t.size();
        e["data_offsets"] = {offset, offset + nbytes};
        header[name] = std::move(e);
        offset += nbytes;
    }
    std::string text;
    try {
        text = header.dump();  // compact, like the Python library's
    } catch (const json::exception& ex) {  // a name or value that is not valid UTF-8
        throw std::invalid_argument(std::string("safetensors: cannot encode the header (") + ex.what() + ")");
    }
    // Pad with spaces (JSON whitespace) so the data section starts 8-byte aligned:
    // readers that map the file can then view the floats in place.
    text.append((8 - text.size() % 8) % 8, ' ');

    std::string out;
    out.reserve(8 + text.size() + offset);
    append_u64_le(out, text.size());
    out += text;
    for (const auto& kv : st.tensors)
        if (kv.second.size()) out.append((const char*)kv.second.data, 4 * kv.second.size());
    return out;
}

void safetensors_save(const std::string& path, const SafeTensors& st) {
    std::string bytes;
    try {
        bytes = safetensors_serialize(st);
    } catch (const std::exception& ex) {  // nothing written yet: an old file stays as it was
        throw std::runtime_error(path + ": not saved: " + ex.what());
    }
    safe_write_file(path, bytes);
}
