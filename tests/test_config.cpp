// test_config.cpp: the config limits and the resource check (src/config.h,
// docs/robustness.md): every field bounded, every int size the model computes
// refused before it can overflow, byte estimates that bound what the code really
// allocates, and the memory limit refusing with one sentence that names the value
// and the limit.
#include <doctest/doctest.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "config.h"
#include "fam_state.h"
#include "weights.h"
#include "app/args.h"
#include "model_util.h"

namespace {

FamConfig small() {
    return make_cfg(AttentionKind::Fam, /*B=*/4, /*M=*/1, /*F=*/2, /*V=*/16, /*D=*/16, /*H=*/2, /*N=*/2, /*Dff=*/32);
}

std::string refusal(const FamConfig& c) {
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

// Restores the process-wide memory limit when a test case ends.
struct LimitGuard {
    uint64_t saved = memory_limit();
    ~LimitGuard() { set_memory_limit(saved); }
};

}  // namespace

TEST_CASE("config: each field out of range is refused, naming it, its value and the range") {
    FamConfig c = small();
    CHECK(refusal(c) == "");
    c.B = kMaxBlock + 1;
    CHECK(refusal(c) == "config: block size B must be in [1, 1048576], got 1048577");
    c = small();
    c.N = 0;
    CHECK(refusal(c).find("layers N must be in [1, 4096], got 0") != std::string::npos);
    c = small();
    c.M = -5;
    CHECK(refusal(c).find("memory segments M must be in [0, 1048576], got -5") != std::string::npos);
    c = small();
    c.V = kMaxVocab + 1;
    CHECK(refusal(c).find("vocabulary size V") != std::string::npos);
    c = small();
    c.H = 32;  // more heads than width
    CHECK(refusal(c).find("heads H must be in [1, 16], got 32") != std::string::npos);
    c = small();
    c.rope_base = 0.0f;
    CHECK(refusal(c).find("rope_base") != std::string::npos);
}

TEST_CASE("config: sizes the model computes in int are refused before they overflow") {
    // the example of issue 13: B = 4097, M = 1048320 makes C = M*B + F + B = 2^32 + ...
    FamConfig c = small();
    c.B = 4097;
    c.M = 1048320;
    const std::string m = refusal(c);
    CHECK(m.find("key columns C = M*B + F + B") != std::string::npos);
    CHECK(m.find("4294971139") != std::string::npos);  // 1048320*4097 + 2 + 4097, in 64-bit
    CHECK(m.find("2147483647") != std::string::npos);
    // C fits but C*D does not
    c = small();
    c.D = 4096;
    c.H = 2;
    c.B = 1 << 10;
    c.M = 1 << 10;
    CHECK(refusal(c).find("C*D") != std::string::npos);
    // attention weights of a block H*(B+F)*C
    c = small();
    c.B = 1 << 16;
    c.M = 0;
    CHECK(refusal(c).find("H*(B+F)*C") != std::string::npos);
    // every one of these at the edge is fine
    c = small();
    c.B = 1 << 12;
    c.M = 4;
    CHECK(refusal(c) == "");
}

TEST_CASE("config: resource_use counts the weights exactly and bounds a real FamState") {
    FamConfig c = small();
    ResourceUse r = resource_use(c, 64);
    CHECK(r.weights == 4 * count_params(c));
    for (AttentionKind k : {AttentionKind::Fam, AttentionKind::Bswa}) {
        c.attention = k;
        c.F = k == AttentionKind::Fam ? 2 : 0;
        r = resource_use(c, 1);
        FamState st(c);
        INFO(attention_name(k) << ": estimate " << r.stream << " bytes, allocated " << st.capacity_bytes());
        // an upper bound (the check must not let a bigger state through), and not a wild one
        CHECK(r.stream >= st.capacity_bytes());
        CHECK(r.stream <= 4 * st.capacity_bytes() + 65536);
    }
    // bigger T, bigger forward; the block size drives the per-block key buffers
    c = small();
    CHECK(resource_use(c, 128).forward > resource_use(c, 64).forward);
    FamConfig wide = c;
    wide.B = 1 << 20;
    wide.M = 0;
    wide.H = 1;
    CHECK(resource_use(wide, 3).forward > (uint64_t)(1 << 20) * wide.D * 4);  // K^, V^ of one 2^20-column block
}

TEST_CASE("config: the resource check refuses over the limit with one sentence naming value and limit") {
    LimitGuard guard;
    FamConfig c = small();
    set_memory_limit(4096);
    try {
        check_forward_resources(c, 8);
        FAIL("a forward over the limit was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string m = e.what();
        CHECK(m.find("resources: a forward over T=8 tokens") != std::string::npos);
        CHECK(m.find("over the memory limit of 4.0 KiB") != std::string::npos);
        CHECK(m.find("--max-memory") != std::string::npos);
        CHECK(m.find('\n') == std::string::npos);
    }
    CHECK_THROWS_AS(check_stream_resources(c), std::invalid_argument);
    CHECK_THROWS_AS(ModelWeights{c}, std::invalid_argument);  // before the buffer is allocated
    set_memory_limit(kDefaultMemoryLimit);
    CHECK_NOTHROW(check_forward_resources(c, 8));
    CHECK_NOTHROW(check_stream_resources(c));
    // the token count: positions are float32
    CHECK_THROWS_WITH_AS(check_forward_resources(c, kMaxTokens + 1),
                         doctest::Contains("1..16777216 tokens"), std::invalid_argument);
    CHECK_THROWS_AS(check_forward_resources(c, 0), std::invalid_argument);
    // the block of issue 13 (2^24 for a 3-token forward) is refused by validate already;
    // the largest legal block with a wide head is refused as an int size
    c.D = 1024;
    c.H = 8;
    c.B = 1 << 20;
    c.M = 0;
    c.F = 0;
    c.attention = AttentionKind::Bswa;
    CHECK_THROWS_WITH_AS(check_forward_resources(c, 3), doctest::Contains("H*(B+F)*C"), std::invalid_argument);
    // a legal config whose weights alone (128 layers of width 1024) are over 4 GiB
    c.B = 16;
    c.N = 128;
    c.Dff = 4096;
    CHECK(resource_use(c, 1).weights > kDefaultMemoryLimit);
    CHECK_THROWS_WITH_AS(check_forward_resources(c, 3), doctest::Contains("over the memory limit of 4.00 GiB"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(ModelWeights{c}, doctest::Contains("the weights of"), std::invalid_argument);
}

TEST_CASE("config: a short forward of a long-block model is allowed, its stream state is not") {
    // B = 2048, M = 64: a block sees C = 133128 keys. A 3-token forward holds one
    // partial block ([C, D] keys and values, [H, 3, C] weights: some 70 MB); a
    // FamState holds the ring, [H, B, C] weights and the masks of 65 blocks (~20 GB).
    LimitGuard guard;
    set_memory_limit(kDefaultMemoryLimit);
    FamConfig c = small();
    c.D = 64;
    c.H = 4;
    c.N = 1;
    c.B = 2048;
    c.M = 64;
    c.F = 8;
    REQUIRE(refusal(c) == "");
    const ResourceUse r = resource_use(c, 3);
    CHECK(r.forward < (200ull << 20));
    CHECK(r.forward > (uint64_t)2 * 133128 * 64 * 4);
    CHECK(r.stream > (16ull << 30));
    CHECK_NOTHROW(check_forward_resources(c, 3));
    CHECK_THROWS_WITH_AS(check_stream_resources(c), doctest::Contains("a stream state of"), std::invalid_argument);
}

TEST_CASE("config: byte counts parse in 64 bits and never wrap") {
    uint64_t v = 0;
    CHECK((parse_byte_count("4G", &v) && v == (4ull << 30)));
    CHECK((parse_byte_count("512MiB", &v) && v == (512ull << 20)));
    CHECK((parse_byte_count("1000000", &v) && v == 1000000));
    CHECK((parse_byte_count("64k", &v) && v == 65536));
    CHECK(!parse_byte_count("", &v));
    CHECK(!parse_byte_count("-1", &v));
    CHECK(!parse_byte_count("4X", &v));
    CHECK(!parse_byte_count("18446744073709551616", &v));  // 2^64
    CHECK(!parse_byte_count("17179869184G", &v));          // 2^34 GiB = 2^64 bytes
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(3ull << 30) == "3.00 GiB");
}
