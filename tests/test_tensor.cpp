// test_tensor.cpp: shapes, views without copies, bounds checks, printer, RNG.
#include <doctest/doctest.h>

#include "tensor.h"

TEST_CASE("tensor: owning tensor is zero-filled with the right shape") {
    Tensor t("x", {3, 4, 5});
    CHECK(t.ndim == 3);
    CHECK(t.size() == 60);
    CHECK(t.row_size() == 20);
    CHECK(t.shape_str() == "[3, 4, 5]");
    for (size_t i = 0; i < t.size(); i++) CHECK(t.data[i] == 0.0f);
    CHECK_THROWS_AS(Tensor("bad", {1, 2, 3, 4, 5}), std::invalid_argument);
    CHECK_THROWS_AS(Tensor("neg", {2, -1}), std::invalid_argument);
}

TEST_CASE("tensor: slice_rows is a view, not a copy") {
    Tensor seq("seq", {8, 3});
    for (size_t i = 0; i < seq.size(); i++) seq.data[i] = (float)i;
    Tensor block = seq.slice_rows(4, 2);  // one block of B = 2 rows
    CHECK(block.data == seq.data + 12);
    CHECK(block.shape[0] == 2);
    CHECK(block.at(1, 2) == 17.0f);
    block.at(0, 0) = -1.0f;  // writes through to the owner
    CHECK(seq.at(4, 0) == -1.0f);
    CHECK_THROWS_AS(seq.slice_rows(7, 2), std::out_of_range);
    // the view keeps the storage alive after the owner is gone
    Tensor v;
    {
        Tensor owner("owner", {2, 2});
        owner.fill(3.0f);
        v = owner.slice_rows(1, 1);
    }
    CHECK(v.at(0, 1) == 3.0f);
}

TEST_CASE("tensor: clone copies") {
    Tensor a("a", {2, 2});
    a.fill(1.5f);
    Tensor b = a.clone("b");
    b.at(0, 0) = 0.0f;
    CHECK(a.at(0, 0) == 1.5f);
    CHECK(b.name == "b");
}

#ifndef NDEBUG
TEST_CASE("tensor: element access is bounds-checked in debug builds") {
    Tensor t("q", {2, 3});
    CHECK_THROWS_AS(t.at(2, 0), std::out_of_range);
    CHECK_THROWS_AS(t.at(0, 3), std::out_of_range);
    CHECK_THROWS_AS(t.at(0), std::out_of_range);  // wrong rank
    CHECK_NOTHROW(t.at(1, 2));
}
#endif

TEST_CASE("tensor: printer names the tensor and shows its shape") {
    Tensor t("k", {10, 20});
    std::string s = tensor_str(t, 2, 3);
    CHECK(s.find("k [10, 20]") == 0);
    CHECK(s.find("...") != std::string::npos);
    CHECK(s.find("8 more rows") != std::string::npos);
}

TEST_CASE("rng: deterministic per seed, sane moments") {
    Rng a(7), b(7), c(8);
    for (int i = 0; i < 10; i++) {
        uint64_t x = a.next_u64();
        CHECK(x == b.next_u64());
        CHECK(x != c.next_u64());
    }
    Rng r(1);
    double s = 0, s2 = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        double z = r.normal();
        s += z;
        s2 += z * z;
    }
    CHECK(std::abs(s / n) < 0.03);
    CHECK(std::abs(s2 / n - 1.0) < 0.05);
    for (int i = 0; i < 1000; i++) {
        float u = r.uniform();
        CHECK((u >= 0.0f && u < 1.0f));
        int k = r.randint(3, 5);
        CHECK((k >= 3 && k <= 5));
    }
}
