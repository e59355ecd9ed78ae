// CPU elementwise kernels where ONNX's node tests (1.12) do not reach: general broadcasting and the parallel path,
// integer Div/Mod, Gelu/Mish, Clip across opsets, float16 staging, Cast rounding, legacy broadcast and PRelu.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/half.h"
#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_f;
using test::attr_i;
using test::node;

TEST_CASE("Add: general broadcast matches a naive loop; large same-shape runs in parallel", "[cpu][elementwise]") {
    Tensor a = iota({2, 1, 3}), b = iota({4, 1});
    auto r = eval(node("Add", {"a", "b"}, {"c"}), {a, b}, 14);
    REQUIRE(r[0].shape() == Shape{2, 4, 3});
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 4; ++j)
            for (int k = 0; k < 3; ++k) CHECK(r[0].data<float>()[(i * 4 + j) * 3 + k] == (float)(i * 3 + k + j));
    Tensor big = test::random_tensor({3, 70001}, 1), bias = test::random_tensor({70001}, 2);
    auto m = eval(node("Mul", {"a", "b"}, {"c"}), {big, bias}, 14);
    for (int64_t i = 0; i < big.numel(); i += 997)
        CHECK(m[0].data<float>()[i] == big.data<float>()[i] * bias.data<float>()[i % 70001]);
    // [N,C,H,W] + [1,C,1,1]
    auto p = eval(node("Sub", {"a", "b"}, {"c"}), {iota({2, 3, 2, 2}), iota({1, 3, 1, 1})}, 14);
    CHECK(p[0].data<float>()[4 * 2 + 1] == 9.0f - 2.0f);
    CHECK_THROWS_WITH(eval(node("Add", {"a", "b"}, {"c"}, "bad"), {iota({2, 3}), iota({4})}, 14),
                      Catch::Contains("Add 'bad'"));
}

TEST_CASE("Div and Mod on integers: C truncation, Python-style mod unless fmod", "[cpu][elementwise]") {
    auto d =
        eval(node("Div", {"a", "b"}, {"c"}), {typed<int32_t>({3}, {-7, 7, 9}), typed<int32_t>({3}, {2, -2, 3})}, 14);
    CHECK(d[0].to_i64() == std::vector<int64_t>{-3, -3, 3});
    CHECK_THROWS(eval(node("Div", {"a", "b"}, {"c"}), {typed<int32_t>({1}, {1}), typed<int32_t>({1}, {0})}, 14));
    auto m = eval(node("Mod", {"a", "b"}, {"c"}), {typed<int64_t>({2}, {-7, 7}), typed<int64_t>({2}, {3, -3})}, 13);
    CHECK(m[0].to_i64() == std::vector<int64_t>{2, -2});
    auto f = eval(node("Mod", {"a", "b"}, {"c"}, "", {{"fmod", attr_i(1)}}),
                  {typed<int64_t>({2}, {-7, 7}), typed<int64_t>({2}, {3, -3})}, 13);
    CHECK(f[0].to_i64() == std::vector<int64_t>{-1, 1});
}

TEST_CASE("Gelu (opset 20, none and tanh), Mish, HardSwish", "[cpu][elementwise]") {
    auto g = eval(node("Gelu", {"x"}, {"y"}), {f32({2}, {1.0f, -2.0f})}, 20);
    CHECK(g[0].data<float>()[0] == Approx(0.8413447f));
    CHECK(g[0].data<float>()[1] == Approx(-0.0455003f));
    auto t = eval(node("Gelu", {"x"}, {"y"}, "", {{"approximate", attr_s("tanh")}}), {f32({1}, {1.0f})}, 20);
    CHECK(t[0].data<float>()[0] == Approx(0.8411920f));
    CHECK_THROWS(eval(node("Gelu", {"x"}, {"y"}, "", {{"approximate", attr_s("fast")}}), {f32({1}, {1.0f})}, 20));
    auto m = eval(node("Mish", {"x"}, {"y"}), {f32({2}, {1.0f, -30.0f})}, 18);
    CHECK(m[0].data<float>()[0] == Approx(0.8650984f));
    CHECK(std::fabs(m[0].data<float>()[1]) < 1e-10f);
    auto h = eval(node("HardSwish", {"x"}, {"y"}), {f32({3}, {-4.0f, 1.0f, 4.0f})}, 14);
    CHECK(h[0].to_f32() == std::vector<float>{0.0f, 1.0f * (1.0f / 6 + 0.5f), 4.0f});
}

TEST_CASE("Clip: attributes before opset 11, optional inputs from 11, integers from 12", "[cpu][elementwise]") {
    Tensor x = f32({4}, {-3, -1, 1, 3});
    auto a = eval(node("Clip", {"x"}, {"y"}, "", {{"min", attr_f(-2)}, {"max", attr_f(2)}}), {x}, 6);
    CHECK(a[0].to_f32() == std::vector<float>{-2, -1, 1, 2});
    auto b = eval(node("Clip", {"x", "", "mx"}, {"y"}), {x, Tensor(), Tensor::scalar_f32(0)}, 13);
    CHECK(b[0].to_f32() == std::vector<float>{-3, -1, 0, 0});
    auto c = eval(node("Clip", {"x", "mn"}, {"y"}), {typed<int8_t>({3}, {-100, 0, 100}), typed<int8_t>({}, {-5})}, 13);
    CHECK(c[0].to_i64() == std::vector<int64_t>{-5, 0, 100});
}

TEST_CASE("float16 math is staged through float32 and stays float16", "[cpu][elementwise]") {
    Tensor h(DType::F16, {3});
    for (int i = 0; i < 3; ++i) h.data<uint16_t>()[i] = float_to_half(0.5f * (float)i);
    auto r = eval(node("Add", {"a", "b"}, {"c"}), {h, h}, 14);
    REQUIRE(r[0].dtype() == DType::F16);
    CHECK(r[0].to_f32() == std::vector<float>{0.0f, 1.0f, 2.0f});
    auto s = eval(node("Sigmoid", {"x"}, {"y"}), {h}, 13);
    REQUIRE(s[0].dtype() == DType::F16);
    CHECK(s[0].to_f32()[0] == 0.5f);
    auto e = eval(node("Equal", {"a", "b"}, {"c"}), {h, h}, 13);
    CHECK(e[0].dtype() == DType::Bool);
}

TEST_CASE("Cast: truncation toward zero, bool, bfloat16, double->half single rounding, strings", "[cpu][elementwise]") {
    Tensor x = f32({4}, {-2.7f, 2.7f, 0.0f, 1.5f});
    auto i = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(6)}}), {x}, 13);
    CHECK(i[0].to_i64() == std::vector<int64_t>{-2, 2, 0, 1});
    auto b = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(9)}}), {x}, 13);
    CHECK(b[0].to_i64() == std::vector<int64_t>{1, 1, 0, 1});
    auto bf = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(16)}}), {f32({1}, {1.00390625f + 1e-4f})}, 13);
    CHECK(bf[0].data<uint16_t>()[0] == 0x3F81);  // just above the tie: rounds up
    Tensor d(DType::F64, {1});
    d.data<double>()[0] = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);  // above a half tie
    auto h = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(10)}}), {d}, 13);
    CHECK(h[0].data<uint16_t>()[0] == 0x3C01);
    auto s = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(8)}}), {f32({2}, {0.5f, -3.0f})}, 13);
    CHECK(s[0].strings() == std::vector<std::string>{"0.5", "-3.0"});
    auto back = eval(node("Cast", {"x"}, {"y"}, "", {{"to", attr_i(1)}}), {s[0]}, 13);
    CHECK(back[0].to_f32() == std::vector<float>{0.5f, -3.0f});
}

TEST_CASE("Legacy broadcast axis (opset < 7), per-channel PRelu, Where, Pow with mixed types", "[cpu][elementwise]") {
    auto a = eval(node("Add", {"a", "b"}, {"c"}, "", {{"broadcast", attr_i(1)}, {"axis", attr_i(1)}}),
                  {iota({2, 3, 2}), f32({3}, {10, 20, 30})}, 6);
    CHECK(a[0].data<float>()[2] == 2 + 20.0f);
    auto p = eval(node("PRelu", {"x", "s"}, {"y"}), {f32({1, 2, 2}, {-1, 1, -1, 1}), f32({2}, {0.5f, 0.25f})}, 6);
    CHECK(p[0].to_f32() == std::vector<float>{-0.5f, 1, -0.25f, 1});
    auto w = eval(node("Where", {"c", "x", "y"}, {"z"}),
                  {typed<bool>({2, 1}, {true, false}), iota({1, 3}), f32({}, {-1})}, 16);
    CHECK(w[0].to_f32() == std::vector<float>{0, 1, 2, -1, -1, -1});
    auto q = eval(node("Pow", {"x", "e"}, {"y"}), {typed<int32_t>({2}, {4, 9}), f32({1}, {0.5f})}, 15);
    CHECK(q[0].dtype() == DType::I32);
    CHECK(q[0].to_i64() == std::vector<int64_t>{2, 3});
}
