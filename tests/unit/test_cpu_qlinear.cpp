// CPU ConvInteger / MatMulInteger / QLinearConv / QLinearMatMul on hand-computed cases: round half to even and
// saturation of the requantized output, per-row/per-column parameters, padding with the zero point, the attribute
// check. (The ONNX node tests and tests/e2e/qlinear_reference.sh cover the general shapes.)
#include <catch2/catch.hpp>

#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_ints;
using test::attr_s;
using test::typed;

namespace {

Tensor f(Shape s, std::vector<float> v) { return test::f32(std::move(s), std::move(v)); }
Tensor u8(Shape s, std::vector<uint8_t> v) { return typed<uint8_t>(std::move(s), std::move(v)); }
Tensor s8(Shape s, std::vector<int8_t> v) { return typed<int8_t>(std::move(s), std::move(v)); }

template <typename T>
std::vector<int64_t> ints(const Tensor& t) {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < t.numel(); ++i) v.push_back((int64_t)t.data<T>()[i]);
    return v;
}

}  // namespace

TEST_CASE("QLinearMatMul rounds half to even and saturates, per-row y zero point") {
    auto n = test::node("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"});
    // acc = 3, 5, 7, 21; y = acc / 2 -> 1.5, 2.5, 3.5, 10.5 -> 2, 2, 4, 10; + 250 saturates the last row.
    auto y = test::eval(n,
                        {u8({4, 1}, {3, 5, 7, 21}), f({}, {1}), u8({}, {0}), u8({1, 1}, {1}), f({}, {1}), u8({}, {0}),
                         f({}, {2}), u8({4}, {0, 0, 0, 250})},
                        13)[0];
    REQUIRE(y.dtype() == DType::U8);
    CHECK(ints<uint8_t>(y) == std::vector<int64_t>{2, 2, 4, 255});
    // int8: (-128 - 127) * (127 + 128) = -65025 saturates at -128; per-column b scale.
    auto y8 = test::eval(n,
                         {s8({1, 1}, {-128}), f({}, {1}), s8({}, {127}), s8({1, 2}, {127, 1}), f({2}, {1, 0.5f}),
                          s8({2}, {-128, 0}), f({}, {1}), s8({}, {0})},
                         13)[0];
    CHECK(ints<int8_t>(y8) == std::vector<int64_t>{-128, -128});
}

TEST_CASE("MatMulInteger: per-row A and per-column B zero points, int32 out") {
    auto n = test::node("MatMulInteger", {"a", "b", "az", "bz"}, {"y"});
    // A - az = [[1, 2], [-1, 0]], B - bz = [[1, 0], [2, -3]]
    auto y = test::eval(n, {u8({2, 2}, {11, 12, 19, 20}), u8({2, 2}, {2, 5, 3, 2}), u8({2}, {10, 20}), u8({2}, {1, 5})},
                        13)[0];
    REQUIRE(y.dtype() == DType::I32);
    CHECK(ints<int32_t>(y) == std::vector<int64_t>{5, -6, -1, 0});
}

TEST_CASE("ConvInteger pads with the input zero point") {
    auto n = test::node("ConvInteger", {"x", "w", "xz"}, {"y"}, "", {{"pads", attr_ints({1, 1, 1, 1})}});
    auto y = test::eval(n, {u8({1, 1, 1, 1}, {12}), u8({1, 1, 3, 3}, std::vector<uint8_t>(9, 1)), u8({}, {10})},
                        13)[0];
    CHECK(ints<int32_t>(y) == std::vector<int64_t>{2});
}

TEST_CASE("QLinearConv: per-channel weight scales and int32 bias") {
    auto n = test::node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, {"y"});
    // x - xz = 4; channel 0: 4 * 3 + 1 = 13, * 0.5 -> 6.5 -> 6; channel 1: 4 * -2 - 1 = -9, * 0.25 -> -2.25 -> -2.
    Tensor b(DType::I32, {2});
    b.data<int32_t>()[0] = 1, b.data<int32_t>()[1] = -1;
    auto y = test::eval(n,
                        {u8({1, 1, 1, 1}, {14}), f({}, {1}), u8({}, {10}), s8({2, 1, 1, 1}, {3, -2}),
                         f({2}, {0.5f, 0.25f}), s8({2}, {0, 0}), f({}, {1}), s8({}, {0}), b},
                        13)[0];
    REQUIRE(y.dtype() == DType::I8);
    CHECK(ints<int8_t>(y) == std::vector<int64_t>{6, -2});
}

TEST_CASE("QLinearConv / ConvInteger refuse unsupported attributes through the check") {
    for (const char* op : {"QLinearConv", "ConvInteger"}) {
        const auto* def = exec::cpu::registry().find("", op, 13);
        REQUIRE(def != nullptr);
        REQUIRE(def->check != nullptr);
        auto bad = test::node(op, {"x"}, {"y"}, "", {{"auto_pad", attr_s("FOO")}});
        CHECK(!def->check(bad, 13).empty());
        auto ok = test::node(op, {"x"}, {"y"}, "", {{"auto_pad", attr_s("SAME_UPPER")}});
        CHECK(def->check(ok, 13).empty());
    }
}
