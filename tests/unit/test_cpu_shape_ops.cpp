// CPU shape kernels at the opsets ONNX's node tests do not reach: inputs that replaced attributes, Split
// num_outputs, Pad axes/wrap, Slice clamping, and dtype-generic movement of float16, int64 and strings.
#include <catch2/catch.hpp>
#include <climits>

#include "core/half.h"
#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_i;
using test::attr_ints;
using test::node;

TEST_CASE("Reshape: attribute at opset 1, input with 0/-1 and allowzero later", "[cpu][shape]") {
    auto a = eval(node("Reshape", {"x"}, {"y"}, "", {{"shape", attr_ints({0, -1})}}), {iota({2, 3, 4})}, 4);
    CHECK(a[0].shape() == Shape{2, 12});
    auto b = eval(node("Reshape", {"x", "s"}, {"y"}), {iota({2, 3, 4}), i64({3}, {4, 0, -1})}, 13);
    CHECK(b[0].shape() == Shape{4, 3, 2});
    auto c = eval(node("Reshape", {"x", "s"}, {"y"}, "", {{"allowzero", attr_i(1)}}),
                  {Tensor(DType::F32, {0, 3}), i64({2}, {3, 0})}, 14);
    CHECK(c[0].shape() == Shape{3, 0});
    CHECK_THROWS(eval(node("Reshape", {"x", "s"}, {"y"}), {iota({2, 3}), i64({1}, {5})}, 13));
}

TEST_CASE("Split: split input at 13, num_outputs with an uneven last chunk at 18", "[cpu][shape]") {
    auto a = eval(node("Split", {"x", "s"}, {"a", "b"}, "", {{"axis", attr_i(1)}}), {iota({2, 5}), i64({2}, {2, 3})},
                  13);
    CHECK(a[0].shape() == Shape{2, 2});
    CHECK(a[1].to_f32() == std::vector<float>{2, 3, 4, 7, 8, 9});
    auto b = eval(node("Split", {"x"}, {"a", "b", "c"}, "", {{"num_outputs", attr_i(3)}}), {iota({7})}, 18);
    CHECK(b[0].shape() == Shape{3});
    CHECK(b[2].to_f32() == std::vector<float>{6});
    auto c = eval(node("Split", {"x"}, {"a", "b"}, "", {{"split", attr_ints({1, 3})}}), {iota({4})}, 11);
    CHECK(c[1].to_f32() == std::vector<float>{1, 2, 3});
}

TEST_CASE("Slice: negative steps and INT64 extremes clamp", "[cpu][shape]") {
    const int64_t big = INT64_MAX, small = INT64_MIN;
    auto a = eval(node("Slice", {"x", "b", "e", "a", "s"}, {"y"}),
                  {iota({2, 5}), i64({1}, {big}), i64({1}, {small}), i64({1}, {-1}), i64({1}, {-2})}, 13);
    CHECK(a[0].to_f32() == std::vector<float>{4, 2, 0, 9, 7, 5});
    auto b = eval(node("Slice", {"x"}, {"y"}, "", {{"starts", attr_ints({1})}, {"ends", attr_ints({1000})}}),
                  {iota({4})}, 1);
    CHECK(b[0].to_f32() == std::vector<float>{1, 2, 3});
    auto c = eval(node("Slice", {"x", "b", "e"}, {"y"}), {iota({4}), i64({1}, {3}), i64({1}, {1})}, 13);
    CHECK(c[0].shape() == Shape{0});
}

TEST_CASE("Squeeze/Unsqueeze: axes attribute before 13, input from 13", "[cpu][shape]") {
    auto a = eval(node("Squeeze", {"x"}, {"y"}, "", {{"axes", attr_ints({0})}}), {iota({1, 3, 1})}, 11);
    CHECK(a[0].shape() == Shape{3, 1});
    auto b = eval(node("Squeeze", {"x", "a"}, {"y"}), {iota({1, 3, 1}), i64({1}, {-1})}, 13);
    CHECK(b[0].shape() == Shape{1, 3});
    auto c = eval(node("Squeeze", {"x"}, {"y"}), {iota({1, 3, 1})}, 13);
    CHECK(c[0].shape() == Shape{3});
    auto d = eval(node("Unsqueeze", {"x", "a"}, {"y"}), {iota({3}), i64({2}, {-1, 0})}, 13);
    CHECK(d[0].shape() == Shape{1, 3, 1});
    CHECK_THROWS(eval(node("Squeeze", {"x", "a"}, {"y"}), {iota({2, 3}), i64({1}, {0})}, 13));
}

TEST_CASE("Pad: inputs at 11, axes at 18, wrap at 19, attribute before 11", "[cpu][shape]") {
    auto a = eval(node("Pad", {"x", "p", "v"}, {"y"}), {iota({3}), i64({2}, {1, 2}), f32({}, {9})}, 11);
    CHECK(a[0].to_f32() == std::vector<float>{9, 0, 1, 2, 9, 9});
    auto b = eval(node("Pad", {"x", "p", "", "a"}, {"y"}, "", {{"mode", attr_s("edge")}}),
                  {iota({2, 2}), i64({2}, {1, 0}), Tensor(), i64({1}, {1})}, 18);
    CHECK(b[0].to_f32() == std::vector<float>{0, 0, 1, 2, 2, 3});
    auto c = eval(node("Pad", {"x", "p"}, {"y"}, "", {{"mode", attr_s("wrap")}}), {iota({3}), i64({2}, {2, 1})}, 19);
    CHECK(c[0].to_f32() == std::vector<float>{1, 2, 0, 1, 2, 0});
    auto d = eval(node("Pad", {"x", "p"}, {"y"}, "", {{"mode", attr_s("reflect")}}), {iota({3}), i64({2}, {2, 2})},
                  13);
    CHECK(d[0].to_f32() == std::vector<float>{2, 1, 0, 1, 2, 1, 0});
    auto e = eval(node("Pad", {"x"}, {"y"}, "", {{"pads", attr_ints({0, -1})}, {"value", test::attr_f(0)}}),
                  {iota({3})}, 2);
    CHECK(e[0].to_f32() == std::vector<float>{0, 1});
    auto ok = exec::cpu::make_backend();
    CHECK_FALSE(ok->supports(node("Pad", {"x", "p"}, {"y"}, "", {{"mode", attr_s("wrap")}}), 18).empty());
}

TEST_CASE("Shape start/end, Size, Constant value_ints and strings", "[cpu][shape]") {
    auto a = eval(node("Shape", {"x"}, {"y"}, "", {{"start", attr_i(-2)}, {"end", attr_i(100)}}), {iota({2, 3, 4})},
                  15);
    CHECK(a[0].to_i64() == std::vector<int64_t>{3, 4});
    CHECK(eval(node("Size", {"x"}, {"y"}), {iota({2, 3})}, 13)[0].at_i64(0) == 6);
    auto c = eval(node("Constant", {}, {"y"}, "", {{"value_ints", attr_ints({4, 5})}}), {}, 13);
    CHECK(c[0].to_i64() == std::vector<int64_t>{4, 5});
    graph::Attribute s;
    s.kind = graph::Attribute::Kind::Strings;
    s.strings = {"a", "bc"};
    auto d = eval(node("Constant", {}, {"y"}, "", {{"value_strings", s}}), {}, 13);
    CHECK(d[0].strings() == std::vector<std::string>{"a", "bc"});
}

TEST_CASE("dtype-generic movement: float16 Concat, string Transpose, int64 Gather", "[cpu][shape]") {
    Tensor h(DType::F16, {1, 2});
    h.data<uint16_t>()[0] = float_to_half(1.5f);
    h.data<uint16_t>()[1] = float_to_half(-2.f);
    auto a = eval(node("Concat", {"a", "b"}, {"y"}, "", {{"axis", attr_i(0)}}), {h, h}, 13);
    REQUIRE(a[0].dtype() == DType::F16);
    CHECK(a[0].shape() == Shape{2, 2});
    CHECK(half_to_float(a[0].data<uint16_t>()[3]) == -2.f);

    Tensor s(DType::String, {2, 2});
    s.strings() = {"a", "b", "c", "d"};
    auto b = eval(node("Transpose", {"x"}, {"y"}), {s}, 13);
    CHECK(b[0].strings() == std::vector<std::string>{"a", "c", "b", "d"});

    auto c = eval(node("Gather", {"x", "i"}, {"y"}), {i64({4}, {10, 20, 30, 40}), i64({2}, {-1, 0})}, 13);
    CHECK(c[0].to_i64() == std::vector<int64_t>{40, 10});
    CHECK_THROWS(eval(node("Gather", {"x", "i"}, {"y"}), {i64({4}, {10, 20, 30, 40}), i64({1}, {4})}, 13));
}

TEST_CASE("ScatterElements add on float16, GatherND batch_dims, Expand, Tile", "[cpu][shape]") {
    Tensor h(DType::F16, {3});
    for (int i = 0; i < 3; ++i) h.data<uint16_t>()[i] = float_to_half(1.f);
    Tensor u(DType::F16, {2});
    for (int i = 0; i < 2; ++i) u.data<uint16_t>()[i] = float_to_half(2.f);
    auto a = eval(node("ScatterElements", {"x", "i", "u"}, {"y"}, "", {{"reduction", attr_s("add")}}),
                  {h, i64({2}, {1, 1}), u}, 16);
    CHECK(half_to_float(a[0].data<uint16_t>()[1]) == 5.f);
    CHECK(half_to_float(h.data<uint16_t>()[1]) == 1.f);  // input untouched

    auto b = eval(node("GatherND", {"x", "i"}, {"y"}, "", {{"batch_dims", attr_i(1)}}),
                  {iota({2, 2, 2}), i64({2, 1}, {1, 0})}, 13);
    CHECK(b[0].to_f32() == std::vector<float>{2, 3, 4, 5});

    auto c = eval(node("Expand", {"x", "s"}, {"y"}), {iota({3, 1}), i64({3}, {2, 1, 2})}, 13);
    CHECK(c[0].shape() == Shape{2, 3, 2});
    CHECK(c[0].to_f32() == std::vector<float>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2});

    auto d = eval(node("Tile", {"x", "r"}, {"y"}), {iota({2}), i64({1}, {3})}, 13);
    CHECK(d[0].to_f32() == std::vector<float>{0, 1, 0, 1, 0, 1});
}
