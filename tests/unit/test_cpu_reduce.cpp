// CPU reduction kernels where ONNX's node tests (1.12) do not reach: axes as an input (opset 18), non-adjacent
// axes, Softmax's 2D coercion before opset 13, TopK ties and k as attribute, ArgMax select_last_index.
#include <catch2/catch.hpp>

#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_i;
using test::attr_ints;
using test::node;

TEST_CASE("Reduce: axes attribute, axes input at 18 (ReduceSum at 13), noop_with_empty_axes", "[cpu][reduce]") {
    Tensor x = iota({2, 3, 4});
    auto a =
        eval(node("ReduceMean", {"x"}, {"y"}, "", {{"axes", attr_ints({0, 2})}, {"keepdims", attr_i(0)}}), {x}, 13);
    REQUIRE(a[0].shape() == Shape{3});
    CHECK(a[0].to_f32() == std::vector<float>{7.5f, 11.5f, 15.5f});
    auto b = eval(node("ReduceMean", {"x", "axes"}, {"y"}), {x, Tensor::from_i64({1}, {-1})}, 18);
    REQUIRE(b[0].shape() == Shape{2, 3, 1});
    CHECK(b[0].data<float>()[1] == 5.5f);
    auto c = eval(node("ReduceSum", {"x"}, {"y"}, "", {{"noop_with_empty_axes", attr_i(1)}}), {x}, 13);
    CHECK(c[0].shape() == x.shape());
    auto d = eval(node("ReduceMax", {"x"}, {"y"}, "", {{"keepdims", attr_i(0)}}), {x}, 18);
    CHECK(d[0].shape() == Shape{});
    CHECK(d[0].data<float>()[0] == 23.0f);
    auto e = eval(node("ReduceSum", {"x", "axes"}, {"y"}), {x, Tensor::from_i64({2}, {1, 2})}, 13);
    CHECK(e[0].to_f32() == std::vector<float>{66, 210});
    auto l =
        eval(node("ReduceLogSumExp", {"x"}, {"y"}, "", {{"axes", attr_ints({1})}}), {f32({1, 2}, {1000, 1000})}, 13);
    CHECK(l[0].data<float>()[0] == Approx(1000.6931f));
}

TEST_CASE("Softmax: 2D coercion before opset 13, single axis from 13", "[cpu][reduce]") {
    Tensor x = iota({2, 3, 4});
    auto old = eval(node("Softmax", {"x"}, {"y"}), {x}, 11);  // axis 1: rows of 12
    double s = 0;
    for (int i = 0; i < 12; ++i) s += old[0].data<float>()[i];
    CHECK(s == Approx(1.0));
    auto now = eval(node("Softmax", {"x"}, {"y"}, "", {{"axis", attr_i(1)}}), {x}, 13);
    const float* p = now[0].data<float>();
    CHECK(p[0] + p[4] + p[8] == Approx(1.0f));
    auto ls = eval(node("LogSoftmax", {"x"}, {"y"}), {f32({2}, {0, 0})}, 13);
    CHECK(ls[0].data<float>()[0] == Approx(-0.6931472f));
}

TEST_CASE("TopK: ties keep the lower index, smallest, k as attribute before opset 10", "[cpu][reduce]") {
    Tensor x = f32({1, 5}, {1, 3, 3, 2, 3});
    auto a = eval(node("TopK", {"x", "k"}, {"v", "i"}), {x, Tensor::from_i64({1}, {3})}, 11);
    CHECK(a[0].to_f32() == std::vector<float>{3, 3, 3});
    CHECK(a[1].to_i64() == std::vector<int64_t>{1, 2, 4});
    auto b =
        eval(node("TopK", {"x", "k"}, {"v", "i"}, "", {{"largest", attr_i(0)}}), {x, Tensor::from_i64({1}, {2})}, 11);
    CHECK(b[1].to_i64() == std::vector<int64_t>{0, 3});
    auto c = eval(node("TopK", {"x"}, {"v", "i"}, "", {{"k", attr_i(1)}}), {x}, 1);
    CHECK(c[1].to_i64() == std::vector<int64_t>{1});
}

TEST_CASE("ArgMax select_last_index, CumSum exclusive reverse", "[cpu][reduce]") {
    Tensor x = f32({2, 3}, {1, 5, 5, 7, 7, 0});
    auto a = eval(node("ArgMax", {"x"}, {"y"}, "", {{"axis", attr_i(1)}, {"select_last_index", attr_i(1)}}), {x}, 13);
    CHECK(a[0].to_i64() == std::vector<int64_t>{2, 1});
    auto c = eval(node("CumSum", {"x", "a"}, {"y"}, "", {{"exclusive", attr_i(1)}, {"reverse", attr_i(1)}}),
                  {x, Tensor::from_i64({}, {1})}, 14);
    CHECK(c[0].to_f32() == std::vector<float>{10, 5, 0, 7, 0, 0});
}

TEST_CASE("float32 ReduceSum/ReduceMean and GlobalAveragePool add in ONNX Runtime's order", "[cpu][reduce]") {
    // Exact sums are 1 (and 1/8); ONNX Runtime 1.31 CPU gives 0 for both (measured): Eigen's 4-lane redux (two
    // accumulators) for ReduceSum over the last axis, MLAS's one 4-lane accumulator for GlobalAveragePool; the lanes
    // (1e8, -1e8, 1, 0) add as (1e8 + 1) + (-1e8 + 0) = 0 in float32.
    Tensor x = f32({1, 8}, {1e8f, -1e8f, 1, 0, 0, 0, 0, 0});
    auto s = eval(node("ReduceSum", {"x", "axes"}, {"y"}), {x, Tensor::from_i64({1}, {-1})}, 13);
    CHECK(s[0].data<float>()[0] == 0.0f);
    auto m = eval(node("ReduceMean", {"x"}, {"y"}, "", {{"axes", attr_ints({1})}}), {x}, 13);
    CHECK(m[0].data<float>()[0] == 0.0f);
    auto g = eval(node("GlobalAveragePool", {"x"}, {"y"}), {x.reshaped({1, 1, 1, 8})}, 13);
    CHECK(g[0].data<float>()[0] == 0.0f);
    // Leading axes: rows added one after another in float, as ORT adds them (1e8 + 1 is 1e8).
    auto r = eval(node("ReduceSum", {"x", "axes"}, {"y"}), {f32({3, 1}, {1e8f, 1, -1e8f}), Tensor::from_i64({1}, {0})}, 13);
    CHECK(r[0].data<float>()[0] == 0.0f);
}
