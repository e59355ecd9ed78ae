// CPU QuantizeLinear / DequantizeLinear: half-to-even rounding and saturation, default uint8, per axis (13),
// blocked (21), int32 and float16, and the attributes the executor rejects up front.
#include <catch2/catch.hpp>

#include "core/half.h"
#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_i;
using test::node;

TEST_CASE("QuantizeLinear: round half to even, saturate, default uint8", "[cpu][quant]") {
    Tensor x = f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, 1000, -1000});
    auto a =
        eval(node("QuantizeLinear", {"x", "s", "z"}, {"y"}), {x, Tensor::scalar_f32(1), typed<int8_t>({}, {0})}, 13);
    REQUIRE(a[0].dtype() == DType::I8);
    CHECK(a[0].to_i64() == std::vector<int64_t>{0, 2, 2, 0, 127, -128});
    auto b = eval(node("QuantizeLinear", {"x", "s"}, {"y"}), {x, Tensor::scalar_f32(2)}, 10);
    REQUIRE(b[0].dtype() == DType::U8);
    CHECK(b[0].to_i64() == std::vector<int64_t>{0, 1, 1, 0, 255, 0});
}

TEST_CASE("QuantizeLinear/DequantizeLinear per axis and blocked", "[cpu][quant]") {
    Tensor x = f32({2, 4}, {1, 2, 3, 4, 10, 20, 30, 40});
    auto a = eval(node("QuantizeLinear", {"x", "s", "z"}, {"y"}, "", {{"axis", attr_i(0)}}),
                  {x, f32({2}, {1, 10}), typed<uint8_t>({2}, {0, 100})}, 13);
    CHECK(a[0].to_i64() == std::vector<int64_t>{1, 2, 3, 4, 101, 102, 103, 104});
    auto d = eval(node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "", {{"axis", attr_i(0)}}),
                  {a[0], f32({2}, {1, 10}), typed<uint8_t>({2}, {0, 100})}, 13);
    CHECK(d[0].to_f32() == x.to_f32());
    auto blk = eval(node("QuantizeLinear", {"x", "s"}, {"y"}, "", {{"axis", attr_i(1)}, {"block_size", attr_i(3)}}),
                    {x, f32({2, 2}, {1, 2, 10, 20})}, 21);
    CHECK(blk[0].to_i64() == std::vector<int64_t>{1, 2, 3, 2, 1, 2, 3, 2});
    auto db = eval(node("DequantizeLinear", {"q", "s"}, {"y"}, "", {{"axis", attr_i(1)}, {"block_size", attr_i(3)}}),
                   {blk[0], f32({2, 2}, {1, 2, 10, 20})}, 21);
    CHECK(db[0].to_f32() == std::vector<float>{1, 2, 3, 4, 10, 20, 30, 40});
}

TEST_CASE("DequantizeLinear: int32 input, float16 scale; unsupported output_dtype rejected", "[cpu][quant]") {
    auto a = eval(node("DequantizeLinear", {"q", "s"}, {"y"}),
                  {typed<int32_t>({2}, {-300, 70000}), Tensor::scalar_f32(0.5f)}, 13);
    CHECK(a[0].to_f32() == std::vector<float>{-150, 35000});
    Tensor hs(DType::F16, {});
    hs.data<uint16_t>()[0] = float_to_half(0.25f);
    auto b = eval(node("DequantizeLinear", {"q", "s"}, {"y"}), {typed<uint8_t>({2}, {4, 8}), hs}, 19);
    REQUIRE(b[0].dtype() == DType::F16);
    CHECK(b[0].to_f32() == std::vector<float>{1, 2});
    CHECK_THROWS_WITH(eval(node("QuantizeLinear", {"x", "s"}, {"y"}, "", {{"output_dtype", attr_i(22)}}),
                           {f32({1}, {1}), Tensor::scalar_f32(1)}, 21),
                      Catch::Contains("output_dtype"));
}
