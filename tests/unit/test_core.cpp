#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "core/half.h"
#include "core/npy.h"
#include "core/shape.h"
#include "core/tensor.h"

using namespace hq;

TEST_CASE("half conversion is exact on representable values and rounds to nearest even", "[core]") {
    for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 0.333251953125f})
        CHECK(half_to_float(float_to_half(v)) == v);
    CHECK(std::isinf(half_to_float(float_to_half(65520.0f))));
    CHECK(half_to_float(float_to_half(65519.0f)) == 65504.0f);
    CHECK(half_to_float(float_to_half(1e-9f)) == 0.0f);
    CHECK(std::isnan(half_to_float(float_to_half(NAN))));
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0)
    CHECK(half_to_float(float_to_half(1.0f + std::ldexp(1.0f, -11))) == 1.0f);
    // every half value round-trips
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN
        REQUIRE(float_to_half(half_to_float((uint16_t)h)) == h);
    }
}

TEST_CASE("broadcast shapes follow numpy", "[core]") {
    CHECK(broadcast_shapes({2, 1, 4}, {3, 1}) == Shape{2, 3, 4});
    CHECK(broadcast_shapes({}, {5}) == Shape{5});
    CHECK_THROWS_AS(broadcast_shapes({2, 3}, {4}), Error);
    CHECK(normalize_axis(-1, 4) == 3);
    CHECK_THROWS_AS(normalize_axis(4, 4), Error);
}

TEST_CASE("npy round trip and malformed files", "[core]") {
    Tensor t = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor r = parse_npy(to_npy(t), "t.npy");
    REQUIRE(r.shape() == Shape{2, 3});
    CHECK(r.to_f32() == t.to_f32());
    Tensor s = Tensor::from_i64({3}, {7, -8, 9});
    CHECK(parse_npy(to_npy(s), "s.npy").to_i64() == std::vector<int64_t>{7, -8, 9});
    Tensor sc = Tensor::scalar_f32(2.5f);
    CHECK(parse_npy(to_npy(sc), "sc.npy").shape().empty());
    std::string bytes = to_npy(t);
    CHECK_THROWS_WITH(parse_npy(bytes.substr(0, bytes.size() - 4), "cut.npy"), Catch::Contains("cut.npy"));
    CHECK_THROWS_AS(parse_npy("hello world", "x.npy"), Error);
}

TEST_CASE("tensor numel overflow and reshape are checked", "[core]") {
    CHECK_THROWS_AS(shape_numel({1LL << 40, 1LL << 40}), Error);
    Tensor t(DType::F32, {2, 3});
    CHECK(t.reshaped({3, 2}).shape() == Shape{3, 2});
    CHECK_THROWS_AS(t.reshaped({4, 2}), Error);
}
