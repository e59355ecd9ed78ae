// Cross-layer equalization keeps the float function; bias correction removes the mean output error.
#include <catch2/catch.hpp>
#include <cmath>

#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "quant/accuracy_helpers.h"
#include "quant/qdq_rewrite.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

std::vector<float> run(const graph::Model& m, const Tensor& x) {
    auto be = exec::cpu::make_backend();
    return exec::Executor(m, *be).run({{"x", x}}).at("y").to_f32();
}

float channel_range(const Tensor& w, int64_t c, bool input_axis) {
    float r = 0;
    const int64_t o = w.dim(0), ci = w.dim(1), k = w.numel() / (o * ci);
    for (int64_t a = 0; a < o; ++a)
        for (int64_t b = 0; b < ci; ++b)
            for (int64_t j = 0; j < k; ++j)
                if ((input_axis ? b : a) == c) r = std::max(r, std::fabs(w.data<float>()[(a * ci + b) * k + j]));
    return r;
}

}  // namespace

TEST_CASE("cross-layer equalization: same outputs, equal channel ranges", "[quant]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 4, 5, 5}));
    g.outputs.push_back(test::value("y", {1, 3, 5, 5}));
    Tensor wa = test::random_tensor({4, 1, 3, 3}, 1);
    for (int64_t i = 0; i < 9; ++i) wa.data<float>()[9 + i] *= 20.0f;  // channel 1 much wider
    g.initializers["WA"] = wa;
    g.initializers["BA"] = test::random_tensor({4}, 2);
    g.initializers["WB"] = test::random_tensor({3, 4, 1, 1}, 3);
    g.nodes.push_back(node("Conv", {"x", "WA", "BA"}, {"a"}, "dw",
                           {{"group", test::attr_i(4)}, {"pads", test::attr_ints({1, 1, 1, 1})}}));
    g.nodes.push_back(node("Relu", {"a"}, {"r"}, "relu"));
    g.nodes.push_back(node("Conv", {"r", "WB"}, {"y"}, "pw"));
    Tensor x = test::random_tensor({1, 4, 5, 5}, 4);
    auto before = run(m, x);
    auto pairs = quant::cross_layer_equalize(m);
    REQUIRE(pairs == std::vector<std::string>{"dw -> pw"});
    auto after = run(m, x);
    for (size_t i = 0; i < before.size(); ++i) CHECK(after[i] == Approx(before[i]).margin(1e-4));
    const Tensor& na = g.initializers.at(g.nodes[0].input(1));
    const Tensor& nb = g.initializers.at(g.nodes[2].input(1));
    for (int64_t c = 0; c < 4; ++c) CHECK(channel_range(na, c, false) == Approx(channel_range(nb, c, true)).epsilon(1e-4));
}

TEST_CASE("bias correction cancels the mean error of coarse weights", "[quant]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {8, 16}));
    g.outputs.push_back(test::value("y", {8, 4}));
    Tensor w = test::random_tensor({4, 16}, 5, -0.1f, 0.1f);
    w.data<float>()[0] = 5.0f;  // one outlier makes the per-tensor scale coarse
    g.initializers["W"] = w;
    g.initializers["B"] = Tensor::from_f32({4}, {0, 0, 0, 0});
    g.nodes.push_back(node("Gemm", {"x", "W", "B"}, {"y"}, "fc", {{"transB", test::attr_i(1)}}));
    Tensor x = test::random_tensor({8, 16}, 6, 1.0f, 3.0f);  // strongly non-zero mean
    auto ref = run(m, x);
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {});
    quant::QdqOptions opt;
    opt.per_channel = false;
    std::map<std::string, std::pair<float, float>> ranges{{"x", {0.0f, 3.0f}}};
    auto mean_error = [&](const graph::Model& q) {
        auto got = run(q, x);
        double e = 0;
        for (size_t i = 0; i < got.size(); ++i) e += got[i] - ref[i];
        return std::fabs(e / got.size());
    };
    graph::Model plain = m;
    quant::rewrite_qdq(plain, plan, ranges, opt);
    graph::Model corrected = m;
    std::vector<double> ex(16, 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) ex[i % 16] += x.data<float>()[i] / 8.0;
    REQUIRE(quant::correct_bias(corrected, plan, {{"x", ex}}, opt) == std::vector<std::string>{"fc"});
    quant::rewrite_qdq(corrected, plan, ranges, opt);
    double e_plain = mean_error(plain), e_corr = mean_error(corrected);
    CHECK(e_plain > 1e-3);
    CHECK(e_corr < e_plain / 4);
}

TEST_CASE("SmoothQuant: same outputs, outlier features moved into the weights", "[quant]") {
    // x [1, 6, 16] (feature 3 an outlier) -> MatMul W1 -> a, Gemm-free MatMul W2 -> b; y = a + b + Add(x-sum) path
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 6, 16}));
    g.outputs.push_back(test::value("y", {1, 6, 8}));
    g.outputs.push_back(test::value("z", {1, 6, 16}));
    g.initializers["W1"] = test::random_tensor({16, 8}, 1);
    g.initializers["W2"] = test::random_tensor({16, 8}, 2);
    g.nodes.push_back(node("MatMul", {"x", "W1"}, {"a"}, "mm1"));
    g.nodes.push_back(node("MatMul", {"x", "W2"}, {"b"}, "mm2"));
    g.nodes.push_back(node("Add", {"a", "b"}, {"y"}, "add"));
    g.nodes.push_back(node("Relu", {"x"}, {"z"}, "relu"));  // another reader: must keep the unscaled x
    Tensor x = test::random_tensor({1, 6, 16}, 3);
    for (int r = 0; r < 6; ++r) x.data<float>()[r * 16 + 3] = 40.0f + r;
    auto be = exec::cpu::make_backend();
    const auto ref = exec::Executor(m, *be).run({{"x", x}});

    auto want = quant::smooth_candidates(m);
    REQUIRE(want == std::map<std::string, int64_t>{{"x", 16}});
    quant::FeatureAbsMax a;
    a["x"].assign(16, 1.0);
    a["x"][3] = 45.0;
    graph::Model sm = m;
    auto done = quant::smooth_quant(sm, a, 0.5);
    REQUIRE(done == std::vector<std::string>{"x"});
    const auto got = exec::Executor(sm, *be).run({{"x", x}}, nullptr, {"x_smoothed"});
    for (const char* out : {"y", "z"}) {
        auto r = ref.at(out).to_f32(), v = got.at(out).to_f32();
        REQUIRE(r.size() == v.size());
        for (size_t i = 0; i < r.size(); ++i) CHECK(v[i] == Approx(r[i]).margin(1e-4));
    }
    // The readers' input: the outlier feature shrank relative to the rest.
    auto xs = got.at("x_smoothed").to_f32();
    float top = 0, rest = 0;
    for (size_t i = 0; i < xs.size(); ++i) (i % 16 == 3 ? top : rest) = std::max(i % 16 == 3 ? top : rest, std::fabs(xs[i]));
    CHECK(top / rest < 45.0f / 1.0f / 4.0f);
    // No outliers: nothing changes.
    quant::FeatureAbsMax flat;
    flat["x"].assign(16, 1.0);
    graph::Model same = m;
    CHECK(quant::smooth_quant(same, flat, 0.5).empty());
    CHECK(same.graph.nodes.size() == m.graph.nodes.size());
}
