// test_safetensors.cpp: the safetensors reader and writer (src/safetensors.h,
// docs/spec.md "Checkpoint: safetensors").
//
// Round trips in memory and on disk; the byte layout checked against files built
// by hand here (independent of our writer), including one laid out as the Python
// `safetensors` library writes it; every malformed header refused with a message
// that names the file and the problem; a fuzz loop (truncations, random byte
// flips, absurd header lengths) where each input must parse or throw
// std::runtime_error, never crash (run `make asan test` to be sure); get/meta
// messages; atomic save.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "app/npy.h"
#include "app/safetensors.h"

namespace {

const char* kBadName = "bad.safetensors";  // the `source` every refusal must name

// Bytes given one by one, e.g. raw({0x00, 0x00, 0x80, 0x3f}) is 1.0f.
std::string raw(std::initializer_list<unsigned char> b) { return std::string(b.begin(), b.end()); }

std::string le64(uint64_t v) {
    std::string s;
    for (int i = 0; i < 8; i++) s += (char)((v >> (8 * i)) & 0xff);
    return s;
}

// A safetensors file built by hand: JSON header padded with spaces to a multiple
// of 8 (as the Python library does), its length in front, then the data.
std::string make_file(std::string header, const std::string& data, bool pad = true) {
    if (pad) header.append((8 - header.size() % 8) % 8, ' ');
    return le64(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> v) {
    std::string s(4 * v.size(), '\0');
    std::memcpy(&s[0], v.begin(), s.size());
    return s;
}

// The message parse() refuses `bytes` with, or "" if it accepts them. Any
// exception other than std::runtime_error fails the test.
std::string refusal(const std::string& bytes) {
    try {
        safetensors_parse(bytes, kBadName);
    } catch (const std::runtime_error& ex) {
        return ex.what();
    } catch (const std::exception& ex) {
        FAIL("wrong exception type: " << ex.what());
    }
    return "";
}

// `bytes` must be refused with a message "bad.safetensors: ..." containing `word`.
void check_refused(const std::string& what, const std::string& bytes, const std::string& word) {
    std::string msg = refusal(bytes);
    INFO("case: " << what << "\n  message: " << msg);
    CHECK(msg.rfind(std::string(kBadName) + ": ", 0) == 0);
    CHECK(msg.find(word) != std::string::npos);
}

Tensor filled(const std::string& name, const std::vector<int>& shape, float start) {
    Tensor t(name, shape);
    for (size_t i = 0; i < t.size(); i++) t.data[i] = start + 0.25f * (float)i;
    return t;
}

// Several tensors of ranks 1..4, one zero-sized, and a few metadata keys.
SafeTensors sample() {
    SafeTensors st;
    st.tensors["ln_f.bias"] = filled("ln_f.bias", {5}, -1.0f);
    st.tensors["layers.0.attn.wq"] = filled("layers.0.attn.wq", {2, 3, 4}, 3.0f);
    st.tensors["empty"] = filled("empty", {0, 3}, 0.0f);
    st.tensors["tok_emb"] = filled("tok_emb", {4, 2}, 0.5f);
    st.tensors["x4"] = filled("x4", {2, 1, 2, 3}, -7.0f);
    st.metadata["format"] = "famlm-v1";
    st.metadata["d_model"] = "64";
    st.metadata["attention"] = "fam";
    st.metadata["note"] = "";  // an empty value is still a string
    return st;
}

void check_same(const SafeTensors& a, const SafeTensors& b) {
    CHECK(a.metadata == b.metadata);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& kv : a.tensors) {
        INFO("tensor " << kv.first);
        REQUIRE(b.tensors.count(kv.first) == 1);
        const Tensor& x = kv.second;
        const Tensor& y = b.tensors.at(kv.first);
        CHECK(y.name == kv.first);
        CHECK(x.shape_str() == y.shape_str());
        REQUIRE(x.size() == y.size());
        CHECK(y.owned != nullptr);  // an owning copy, not a view of the file buffer
        if (x.size()) CHECK(std::memcmp(x.data, y.data, 4 * x.size()) == 0);
    }
}

}  // namespace

TEST_CASE("safetensors: round trip through serialize / parse") {
    SafeTensors st = sample();
    SafeTensors back = safetensors_parse(safetensors_serialize(st), "mem.safetensors");
    check_same(st, back);
    CHECK(back.source == "mem.safetensors");
    CHECK(back.get("layers.0.attn.wq", {2, 3, 4}).at(1, 2, 3) == 3.0f + 0.25f * 23);
    CHECK(back.get("empty", {0, 3}).size() == 0);
    CHECK(back.meta("attention") == "fam");

    // No tensors and no metadata is a valid (empty) file too.
    SafeTensors none = safetensors_parse(safetensors_serialize(SafeTensors{}), "none");
    CHECK(none.tensors.empty());
    CHECK(none.metadata.empty());
}

TEST_CASE("safetensors: round trip through save / load on disk, replacing an old file") {
    TempDir dir("fam_safetensors");
    std::string path = dir.path + "/model.safetensors";
    SafeTensors st = sample();
    safetensors_save(path, st);
    SafeTensors back = safetensors_load(path);
    check_same(st, back);
    CHECK(back.source == path);

    // Saving again over the file replaces it entirely.
    SafeTensors other;
    other.tensors["only"] = filled("only", {3}, 9.0f);
    other.metadata["format"] = "famlm-v1";
    safetensors_save(path, other);
    check_same(other, safetensors_load(path));
    CHECK(!std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("safetensors: byte layout (length prefix, aligned data, name order, metadata)") {
    std::string bytes = safetensors_serialize(sample());
    REQUIRE(bytes.size() >= 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)bytes[i];
    CHECK(n > 0);
    CHECK((8 + n) % 8 == 0);  // the data section starts 8-byte aligned
    std::string header = bytes.substr(8, n);
    CHECK(header.find("\"__metadata__\":{") != std::string::npos);
    CHECK(header.find("\"format\":\"famlm-v1\"") != std::string::npos);
    // Padding is trailing spaces only, after the closing brace.
    size_t close = header.find_last_of('}');
    CHECK(header.find_first_not_of(' ', close + 1) == std::string::npos);
    CHECK(header.size() - close - 1 < 8);

    // Tensors back to back in name order; sizes are 4 bytes per element.
    // empty [0,3]: 0 B, layers.0.attn.wq [2,3,4]: 96 B, ln_f.bias [5]: 20 B,
    // tok_emb [4,2]: 32 B, x4 [2,1,2,3]: 48 B.
    CHECK(header.find("\"empty\":{\"data_offsets\":[0,0],\"dtype\":\"F32\",\"shape\":[0,3]}") !=
          std::string::npos);
    CHECK(header.find("\"layers.0.attn.wq\":{\"data_offsets\":[0,96]") != std::string::npos);
    CHECK(header.find("\"ln_f.bias\":{\"data_offsets\":[96,116]") != std::string::npos);
    CHECK(header.find("\"tok_emb\":{\"data_offsets\":[116,148]") != std::string::npos);
    CHECK(header.find("\"x4\":{\"data_offsets\":[148,196]") != std::string::npos);
    CHECK(bytes.size() == 8 + n + 196);
    // ln_f.bias starts with -1.0f = bf 80 00 00 (little-endian: 00 00 80 bf).
    CHECK(bytes.substr(8 + n + 96, 4) == raw({0x00, 0x00, 0x80, 0xbf}));

    // Metadata is written even when there is none.
    std::string empty = safetensors_serialize(SafeTensors{});
    CHECK(empty.substr(8).rfind("{\"__metadata__\":{}}", 0) == 0);
    CHECK(empty.size() % 8 == 0);
}

TEST_CASE("safetensors: a tiny file written byte by byte loads with the expected values") {
    // Header: 57 bytes of JSON + 7 spaces = 64 = 0x40; data: 1, 2, -1.5, 0.5.
    std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    REQUIRE(header.size() == 57);
    std::string bytes = raw({0x40, 0, 0, 0, 0, 0, 0, 0}) + header + "       " +
                        raw({0x00, 0x00, 0x80, 0x3f,    // 1.0f
                             0x00, 0x00, 0x00, 0x40,    // 2.0f
                             0x00, 0x00, 0xc0, 0xbf,    // -1.5f
                             0x00, 0x00, 0x00, 0x3f});  // 0.5f
    REQUIRE(bytes.size() == 8 + 64 + 16);
    SafeTensors st = safetensors_parse(bytes, "tiny.safetensors");
    const Tensor& w = st.get("w", {2, 2});
    CHECK(w.name == "w");
    CHECK(w.at(0, 0) == 1.0f);
    CHECK(w.at(0, 1) == 2.0f);
    CHECK(w.at(1, 0) == -1.5f);
    CHECK(w.at(1, 1) == 0.5f);
    CHECK(st.metadata.empty());  // __metadata__ is optional for readers
}

TEST_CASE("safetensors: a file laid out as the Python safetensors library writes it") {
    // safetensors.numpy.save_file({"a": np.array([3, -2], np.float32)}, f, metadata={"format": "pt"})
    // writes compact JSON (no spaces), __metadata__ first, padded with spaces to 8:
    // 85 bytes + 3 spaces = 88 = 0x58.
    std::string header =
        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    REQUIRE(header.size() == 85);
    std::string bytes = raw({0x58, 0, 0, 0, 0, 0, 0, 0}) + header + "   " +
                        raw({0x00, 0x00, 0x40, 0x40,    // 3.0f
                             0x00, 0x00, 0x00, 0xc0});  // -2.0f
    SafeTensors st = safetensors_parse(bytes, "from_python.safetensors");
    CHECK(st.meta("format") == "pt");
    const Tensor& a = st.get("a", {2});
    CHECK(a.at(0) == 3.0f);
    CHECK(a.at(1) == -2.0f);
}

TEST_CASE("safetensors: lenient where the format allows it") {
    // An unpadded header (data not aligned) still reads: we copy, not map.
    std::string f = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                              floats({5.0f}), /*pad=*/false);
    CHECK(safetensors_parse(f, "x").get("a", {1}).at(0) == 5.0f);
    // A zero-sized tensor whose empty range sits inside another's owns no bytes.
    f = make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("z":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]}})",
                  floats({1.0f, 2.0f}));
    CHECK(safetensors_parse(f, "x").get("z", {3, 0}).size() == 0);
    // Empty object: no tensors.
    CHECK(safetensors_parse(make_file("{}", ""), "x").tensors.empty());
}

TEST_CASE("safetensors: every malformed file is refused with the file name and the problem") {
    const std::string t2 = floats({1.0f, 2.0f});  // 8 bytes of data
    auto one = [&](const std::string& entry) {    // a header with one tensor 'x'
        return make_file("{\"x\":" + entry + "}", t2);
    };

    SUBCASE("length prefix") {
        check_refused("empty file", "", "shorter than 8 bytes");
        check_refused("7 bytes", "abcdefg", "shorter than 8 bytes");
        check_refused("header length 0", le64(0) + "{}", "header length 0");
        check_refused("header length beyond the file", le64(100) + "{}      ", "beyond the file");
        check_refused("header length N+1", le64(9) + "{}      ", "beyond the file");
        check_refused("header over 100 MB", le64(100ull * 1000 * 1000 + 1) + "{}", "100 MB");
        check_refused("header length 2^64-1", le64(~0ull) + "{}", "100 MB");
    }
    SUBCASE("header JSON") {
        check_refused("not JSON", make_file("{not json", ""), "not valid JSON");
        check_refused("truncated JSON", make_file(R"({"x":{"dtype":"F32")", ""), "not valid JSON");
        check_refused("trailing garbage", make_file("{} x", ""), "not valid JSON");
        check_refused("invalid UTF-8", make_file("{\"__metadata__\":{\"k\":\"\xff\"}}", ""),
                      "not valid JSON");
        check_refused("NUL in header", make_file(std::string("{}\0", 3), ""), "not valid JSON");
        check_refused("NUL inside a string",
                      make_file(std::string("{\"__metadata__\":{\"k\":\"a\0b\"}}", 28), ""), "NUL byte");
        check_refused("array", make_file("[1,2]", ""), "not a JSON object");
        check_refused("string", make_file("\"x\"", ""), "not a JSON object");
        check_refused("null", make_file("null", ""), "not a JSON object");
        // Deep nesting must not blow the stack (nlohmann parses iteratively).
        std::string deep = "{\"__metadata__\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
        check_refused("deep nesting", make_file(deep, ""), "__metadata__ is not an object");
    }
    SUBCASE("tensor entry and dtype") {
        check_refused("entry not an object", make_file(R"({"x":5})", t2), "tensor 'x' is not an object");
        check_refused("entry is a list", make_file(R"({"x":[]})", t2), "not an object");
        check_refused("no dtype", one(R"({"shape":[2],"data_offsets":[0,8]})"), "missing 'dtype'");
        check_refused("no shape", one(R"({"dtype":"F32","data_offsets":[0,8]})"), "missing 'shape'");
        check_refused("no data_offsets", one(R"({"dtype":"F32","shape":[2]})"), "missing 'data_offsets'");
        check_refused("F16", one(R"({"dtype":"F16","shape":[2],"data_offsets":[0,4]})"),
                      "tensor 'x' has dtype F16; only F32 is supported");
        check_refused("BF16", one(R"({"dtype":"BF16","shape":[2],"data_offsets":[0,4]})"), "dtype BF16");
        check_refused("F64", one(R"({"dtype":"F64","shape":[1],"data_offsets":[0,8]})"), "dtype F64");
        check_refused("I32", one(R"({"dtype":"I32","shape":[2],"data_offsets":[0,8]})"), "dtype I32");
        check_refused("dtype not a string", one(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})"),
                      "dtype is not a string");
        // A hostile name is clipped in the message, not echoed whole.
        std::string long_name(5000, 'n');
        std::string msg = refusal(make_file("{\"" + long_name + "\":5}", ""));
        CHECK(msg.find("5000 chars") != std::string::npos);
        CHECK(msg.size() < 300);
    }
    SUBCASE("shape") {
        check_refused("shape not a list", one(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"),
                      "shape is not a list");
        check_refused("negative dim", one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), "negative");
        check_refused("fractional dim", one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"),
                      "non-integer");
        check_refused("float dim", one(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), "non-integer");
        check_refused("string dim", one(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"),
                      "non-integer");
        check_refused("null dim", one(R"({"dtype":"F32","shape":[null],"data_offsets":[0,8]})"), "non-integer");
        check_refused("rank 0", one(R"({"dtype":"F32","shape":[],"data_offsets":[0,4]})"), "rank 0");
        check_refused("rank 5", one(R"({"dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8]})"),
                      "rank 5; at most 4");
        check_refused("dim over INT_MAX", one(R"({"dtype":"F32","shape":[3000000000],"data_offsets":[0,8]})"),
                      "too large");
        check_refused("dim over 2^64", one(R"({"dtype":"F32","shape":[1e30],"data_offsets":[0,8]})"),
                      "non-integer");
        check_refused("element count overflow",
                      one(R"({"dtype":"F32","shape":[2147483647,2147483647,2147483647,2147483647],)"
                          R"("data_offsets":[0,8]})"),
                      "overflow");
        check_refused("byte count overflow",
                      one(R"({"dtype":"F32","shape":[2147483647,2147483647,4],"data_offsets":[0,8]})"),
                      "overflow");
    }
    SUBCASE("data_offsets") {
        check_refused("offsets not a list", one(R"({"dtype":"F32","shape":[2],"data_offsets":8})"),
                      "data_offsets must be a list of two integers");
        check_refused("one offset", one(R"({"dtype":"F32","shape":[2],"data_offsets":[8]})"),
                      "data_offsets must be a list of two integers");
        check_refused("three offsets", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})"),
                      "data_offsets must be a list of two integers");
        check_refused("negative offset", one(R"({"dtype":"F32","shape":[0],"data_offsets":[-4,-4]})"),
                      "data_offsets has a negative entry");
        check_refused("float offset", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8.0]})"),
                      "data_offsets has a non-integer entry");
        check_refused("string offset", one(R"({"dtype":"F32","shape":[2],"data_offsets":["0",8]})"),
                      "non-integer");
        check_refused("begin > end", one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), "begin > end");
        check_refused("span too short", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})"),
                      "shape/offset mismatch");
        check_refused("span too long", one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,8]})"),
                      "shape/offset mismatch");
        check_refused("end beyond data", one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,12]})"),
                      "beyond the data section");
        check_refused("huge offsets",
                      one(R"({"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]})"),
                      "shape/offset mismatch");
        check_refused("huge offsets, right span",
                      one(R"({"dtype":"F32","shape":[1],"data_offsets":[18446744073709551610,18446744073709551614]})"),
                      "beyond the data section");
        check_refused("overlap",
                      make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                floats({1, 2, 3})),
                      "overlap");
        check_refused("same range twice",
                      make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})",
                                t2),
                      "tensors 'a' [0, 8] and 'b' [0, 8] overlap");
    }
    SUBCASE("names given twice, bytes after the last tensor") {
        // JSON allows a repeated key and the library keeps the last: ambiguous, refused
        check_refused("tensor twice",
                      make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                t2),
                      "header names 'x' twice (duplicate key)");
        check_refused("metadata key twice", make_file(R"({"__metadata__":{"k":"a","k":"b"}})", ""),
                      "header names 'k' twice");
        check_refused("entry key twice", one(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
                      "header names 'dtype' twice");
        // a file longer than its header says (concatenated or damaged)
        check_refused("trailing bytes", make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", t2),
                      "4 bytes after the last tensor's data");
        check_refused("bytes but no tensor", make_file("{}", "junk"), "4 bytes after the last tensor's data");
    }
    SUBCASE("__metadata__") {
        check_refused("metadata a string", make_file(R"({"__metadata__":"x"})", ""), "__metadata__ is not an object");
        check_refused("metadata a list", make_file(R"({"__metadata__":[]})", ""), "__metadata__ is not an object");
        check_refused("metadata number value", make_file(R"({"__metadata__":{"d_model":64}})", ""),
                      "key 'd_model' is not a string");
        check_refused("metadata null value", make_file(R"({"__metadata__":{"k":null}})", ""), "not a string");
        check_refused("metadata object value", make_file(R"({"__metadata__":{"k":{}}})", ""), "not a string");
    }
}

TEST_CASE("safetensors: fuzz: truncations, byte flips, header lengths never crash") {
    const std::string good = safetensors_serialize(sample());
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)good[i];
    int others = 0;  // exceptions of any type other than std::runtime_error

    // Parse, or throw runtime_error; anything parsed must survive a round trip.
    auto attempt = [&](const std::string& bytes) -> bool {
        try {
            SafeTensors st = safetensors_parse(bytes, "fuzz.safetensors");
            safetensors_parse(safetensors_serialize(st), "again");
            return true;
        } catch (const std::runtime_error&) {
            return false;
        } catch (...) {
            others++;
            return false;
        }
    };

    // (a) Every truncation is refused: the header or the last tensor is cut.
    int parsed = 0;
    for (size_t len = 0; len < good.size(); len++) parsed += attempt(good.substr(0, len));
    CHECK(parsed == 0);

    // (b) Random corruptions, seeded. Half the time set a byte to something
    // JSON-ish so the parser sees plausible-but-wrong headers, not only noise.
    Rng rng(2024);
    const std::string jsonish = "{}[]\":,-.0123456789eE \\Fu";
    int ok = 0, refused = 0;
    for (int iter = 0; iter < 4000; iter++) {
        std::string bytes = good;
        int flips = rng.randint(1, 4);
        for (int k = 0; k < flips; k++) {
            // Mostly inside the length prefix and header, where the checks live.
            size_t limit = rng.uniform() < 0.9f ? (size_t)(8 + n) : bytes.size();
            size_t pos = (size_t)rng.randint(0, (int)limit - 1);
            if (rng.uniform() < 0.5f)
                bytes[pos] = jsonish[(size_t)rng.randint(0, (int)jsonish.size() - 1)];
            else
                bytes[pos] = (char)(bytes[pos] ^ (1 << rng.randint(0, 7)));
        }
        if (attempt(bytes)) ok++; else refused++;
    }
    MESSAGE("byte flips: " << ok << " parsed, " << refused << " refused");
    CHECK(refused > 0);

    // (c) The header length rewritten to small, off-by-one, and huge values.
    std::vector<uint64_t> lengths = {0, 1, 2, 7, 8, n - 1, n + 1, good.size() - 8, good.size() - 7,
                                     good.size(), 100ull * 1000 * 1000, 100ull * 1000 * 1000 + 1,
                                     1ull << 31, 1ull << 32, 1ull << 63, ~0ull, ~0ull - 7};
    for (int i = 0; i < 200; i++) lengths.push_back(rng.next_u64() >> rng.randint(0, 63));
    for (uint64_t len : lengths) {
        std::string bytes = le64(len) + good.substr(8);
        attempt(bytes);
    }
    CHECK(attempt(good));
    CHECK(others == 0);
}

TEST_CASE("safetensors: get / meta report missing names and wrong shapes clearly") {
    SafeTensors st = safetensors_parse(safetensors_serialize(sample()), "model.safetensors");
    CHECK(st.get("tok_emb", {4, 2}).at(3, 1) == 0.5f + 0.25f * 7);
    CHECK_THROWS_WITH_AS(st.get("tok_emb", {4, 3}), "model.safetensors: tensor 'tok_emb' has shape [4, 2], expected [4, 3]",
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(st.get("tok_emb", {8}), "model.safetensors: tensor 'tok_emb' has shape [4, 2], expected [8]",
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(st.get("lm_head", {4, 2}), "model.safetensors: tensor 'lm_head' missing", std::runtime_error);
    CHECK_THROWS_WITH_AS(st.meta("rope_base"), "model.safetensors: metadata key 'rope_base' missing",
                         std::runtime_error);
    CHECK(st.meta("note") == "");
}

TEST_CASE("safetensors: load refuses a missing file or a directory, naming it") {
    TempDir dir("fam_safetensors");
    std::string missing = dir.path + "/nope.safetensors";
    CHECK_THROWS_WITH_AS(safetensors_load(missing),
                         (missing + ": cannot open for reading (No such file or directory)").c_str(),
                         std::runtime_error);
    // a device is not read at all (it would never end), a FIFO not waited on
    CHECK_THROWS_WITH_AS(safetensors_load("/dev/zero"), doctest::Contains("/dev/zero: is not a regular file"),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(safetensors_load(dir.path), (dir.path + ": is a directory, not a file").c_str(),
                         std::runtime_error);
    // A corrupt file on disk is refused with its path.
    std::string bad = dir.path + "/bad.safetensors";
    std::ofstream(bad, std::ios::binary) << "short";
    try {
        safetensors_load(bad);
        FAIL("a 5-byte file was accepted");
    } catch (const std::runtime_error& ex) {
        CHECK(std::string(ex.what()).rfind(bad + ": file shorter than 8 bytes", 0) == 0);
    }
}

TEST_CASE("safetensors: save is atomic and names the path when it fails") {
    TempDir dir("fam_safetensors");
    SafeTensors st = sample();

    // Into a directory that does not exist: refused, nothing created.
    std::string nodir = dir.path + "/no/such/dir/model.safetensors";
    try {
        safetensors_save(nodir, st);
        FAIL("save into a missing directory succeeded");
    } catch (const std::runtime_error& ex) {
        CHECK(std::string(ex.what()).find(nodir) == 0);
    }
    CHECK(!std::filesystem::exists(nodir));
    CHECK(!std::filesystem::exists(nodir + ".tmp"));

    // A failed save leaves an existing file exactly as it was.
    std::string path = dir.path + "/model.safetensors";
    safetensors_save(path, st);
    const std::string before = read_file(path);
    SafeTensors broken = st;
    broken.tensors["scalar"] = Tensor();  // rank 0: cannot be written
    try {
        safetensors_save(path, broken);
        FAIL("a rank-0 tensor was saved");
    } catch (const std::runtime_error& ex) {
        std::string msg = ex.what();
        CHECK(msg.find(path) == 0);
        CHECK(msg.find("'scalar' has rank 0") != std::string::npos);
    }
    CHECK(read_file(path) == before);
    CHECK(!std::filesystem::exists(path + ".tmp"));

    // The final name cannot be replaced (a directory sits there): refused, the
    // temporary file is cleaned up, the directory untouched.
    std::string blocked = dir.path + "/blocked.safetensors";
    std::filesystem::create_directory(blocked);
    CHECK_THROWS_AS(safetensors_save(blocked, st), std::runtime_error);
    CHECK(std::filesystem::is_directory(blocked));
    CHECK(!std::filesystem::exists(blocked + ".tmp"));

    // Serialize refuses what the format cannot hold.
    SafeTensors clash;
    clash.tensors["__metadata__"] = Tensor("__metadata__", {1});
    CHECK_THROWS_AS(safetensors_serialize(clash), std::invalid_argument);
}
