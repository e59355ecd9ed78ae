// Quantization parameters, bias overflow, plans, and QDQ placement on small graphs.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "onnx_io/onnx_io.h"
#include "quant/params.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

TEST_CASE("activation scale and zero point", "[quant]") {
    auto p = quant::activation_params(-1.0f, 3.0f, false);
    CHECK(p.scale == Approx(4.0f / 255));
    CHECK(p.zero_point == 64);  // round(1 / (4/255)) = round(63.75)
    CHECK_FALSE(p.is_signed);
    // the range ends are recovered within one step
    CHECK((0 - p.zero_point) * p.scale == Approx(-1.0f).margin(p.scale));
    CHECK((255 - p.zero_point) * p.scale == Approx(3.0f).margin(p.scale));
    auto s = quant::activation_params(-1.0f, 3.0f, true);
    CHECK(s.scale == Approx(3.0f / 127));
    CHECK(s.zero_point == 0);
    // one-sided ranges: zero point at the edge
    CHECK(quant::activation_params(0.0f, 6.0f, false).zero_point == 0);
    CHECK(quant::activation_params(-6.0f, 0.0f, false).zero_point == 255);
    // ranges that exclude zero are widened to contain it
    auto w = quant::activation_params(2.0f, 4.0f, false);
    CHECK(w.zero_point == 0);
    CHECK(w.scale == Approx(4.0f / 255));
    // zero-width and constant-zero ranges give a valid scale
    auto z = quant::activation_params(0.0f, 0.0f, false);
    CHECK(z.scale == 1.0f);
    CHECK(z.zero_point == 0);
    CHECK(quant::activation_params(0.0f, 0.0f, true).scale == 1.0f);
}

TEST_CASE("weights: symmetric per-channel int8 in [-127, 127]", "[quant]") {
    Tensor w = Tensor::from_f32({3, 2}, {1.0f, -0.5f, 0.0f, 0.0f, -4.0f, 2.0f});
    auto q = quant::quantize_weight(w, 0, true);
    REQUIRE(q.scales.size() == 3);
    CHECK(q.scales[0] == Approx(1.0f / 127));
    CHECK(q.scales[1] == 1.0f);  // all-zero channel
    CHECK(q.scales[2] == Approx(4.0f / 127));
    const int8_t* d = q.q.data<int8_t>();
    CHECK(d[0] == 127);
    CHECK(d[1] == -64);  // -0.5 * 127 = -63.5 -> half to even -64
    CHECK(d[2] == 0);
    CHECK(d[4] == -127);
    CHECK(d[5] == 64);  // 63.5 -> 64
    // axis 1 (ConvTranspose layout)
    Tensor w2 = Tensor::from_f32({2, 2}, {1.0f, 8.0f, -2.0f, 4.0f});
    auto q2 = quant::quantize_weight(w2, 1, true);
    CHECK(q2.scales[0] == Approx(2.0f / 127));
    CHECK(q2.scales[1] == Approx(8.0f / 127));
    // per tensor
    auto q3 = quant::quantize_weight(w, 0, false);
    REQUIRE(q3.scales.size() == 1);
    CHECK(q3.scales[0] == Approx(4.0f / 127));
    // pruned (zero) weights stay exactly zero
    for (int64_t i = 0; i < w.numel(); ++i)
        if (w.data<float>()[i] == 0.0f) CHECK(q.q.data<int8_t>()[i] == 0);
}

TEST_CASE("bias int32 = round(b / (s_in * s_w)); overflow widens the weight scale", "[quant]") {
    std::vector<float> ws = {0.01f, 1e-9f};
    bool widened = false;
    Tensor b = Tensor::from_f32({2}, {0.5f, 100.0f});
    Tensor q = quant::quantize_bias(b, 0.1f, ws, widened);
    CHECK(q.data<int32_t>()[0] == 500);
    CHECK(widened);
    CHECK(ws[0] == 0.01f);
    CHECK(ws[1] > 1e-9f);
    // the widened channel now fits and dequantizes back to the bias
    double back = (double)q.data<int32_t>()[1] * 0.1 * ws[1];
    CHECK(back == Approx(100.0).epsilon(1e-6));
    CHECK(std::abs((int64_t)q.data<int32_t>()[1]) <= 2147483647LL);
}

TEST_CASE("plan JSON round trip", "[quant]") {
    quant::Plan p;
    p.model_fingerprint = "abc";
    p.activation_type = "int8";
    p.layers.push_back({"conv1", "Conv", quant::Precision::Int8, 41.5, "sensitivity 41.5 dB >= 30.0 dB"});
    p.layers.push_back({"fc", "Gemm", quant::Precision::Fp16, 12.0, "sensitivity 12.0 dB < 30.0 dB"});
    p.layers.push_back({"head", "MatMul", quant::Precision::Fp32, std::nullopt, "excluded"});
    quant::Plan r = quant::Plan::from_json(p.to_json(), "p.json");
    CHECK(r.to_json() == p.to_json());
    CHECK(r.find("fc")->precision == quant::Precision::Fp16);
    CHECK_THROWS_WITH(quant::Plan::from_json("{\"schema\":1,\"layers\":[{\"node\":\"a\",\"precision\":\"int4\"}]}", "bad.json"),
                      Catch::Contains("bad.json") && Catch::Contains("int4"));
    CHECK_THROWS_WITH(quant::Plan::from_json("not json", "x.json"), Catch::Contains("x.json"));
}

namespace {

// Conv -> Relu -> (Add with a second Conv branch: residual) -> Concat -> MatMul with constant weight.
graph::Model residual_model() {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 4, 6, 6}));
    g.outputs.push_back(test::value("y", {1, 6, 6, 8}));
    g.initializers["W1"] = test::random_tensor({4, 4, 3, 3}, 11, -0.3f, 0.3f);
    g.initializers["B1"] = test::random_tensor({4}, 12);
    g.initializers["W2"] = test::random_tensor({4, 4, 1, 1}, 13, -0.5f, 0.5f);
    g.initializers["M"] = test::random_tensor({6, 8}, 14);
    g.nodes.push_back(node("Conv", {"x", "W1", "B1"}, {"c1"}, "conv1", {{"pads", test::attr_ints({1, 1, 1, 1})}}));
    g.nodes.push_back(node("Relu", {"c1"}, {"r1"}, "relu1"));
    g.nodes.push_back(node("Conv", {"r1", "W2"}, {"c2"}, "conv2"));
    g.nodes.push_back(node("Add", {"c2", "x"}, {"a"}, "add"));
    g.nodes.push_back(node("Concat", {"a", "r1"}, {"cat"}, "concat", {{"axis", test::attr_i(1)}}));
    g.nodes.push_back(node("Slice", {"cat", "s0", "s1", "s2"}, {"sl"}, "slice"));
    g.initializers["s0"] = Tensor::from_i64({1}, {0});
    g.initializers["s1"] = Tensor::from_i64({1}, {6});
    g.initializers["s2"] = Tensor::from_i64({1}, {1});
    g.nodes.push_back(node("MatMul", {"sl", "M"}, {"y"}, "matmul"));
    return m;
}

std::map<std::string, std::pair<float, float>> observe(const graph::Model& m, const Tensor& x) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    std::map<std::string, std::pair<float, float>> r;
    ex.run({{"x", x}}, [&](const std::string& name, const Tensor& t, const graph::Node&) {
        if (t.dtype() != DType::F32) return;
        auto v = t.to_f32();
        auto [mn, mx] = std::minmax_element(v.begin(), v.end());
        r[name] = {std::min(*mn, 0.0f), std::max(*mx, 0.0f)};
    });
    auto v = x.to_f32();
    auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    r["x"] = {*mn, *mx};
    return r;
}

}  // namespace

TEST_CASE("QDQ placement on a residual block with Concat and MatMul", "[quant]") {
    graph::Model m = residual_model();
    Tensor x = test::random_tensor({1, 4, 6, 6}, 21);
    auto ranges = observe(m, x);
    auto be = exec::cpu::make_backend();
    auto ref = exec::Executor(m, *be).run({{"x", x}}).at("y").to_f32();

    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {});
    REQUIRE(plan.layers.size() == 3);  // conv1, conv2, matmul
    graph::Model q = m;
    auto rep = quant::rewrite_qdq(q, plan, ranges, quant::QdqOptions{});
    CHECK(rep.layers.size() == 3);
    // activation Q/DQ once per tensor: x (conv1), r1 (conv2), sl (matmul)
    std::map<std::string, int> count;
    for (const auto& n : q.graph.nodes) count[n.op_type]++;
    CHECK(count["QuantizeLinear"] == 3);
    CHECK(count["DequantizeLinear"] == 3 + 3 + 1);  // activations, weights, conv1's bias
    // every weighted layer reads dequantized weights; the original float weights are unused
    for (const auto& n : q.graph.nodes) {
        if (n.op_type == "Conv" || n.op_type == "MatMul") {
            CHECK(n.input(0).find("_dequantized") != std::string::npos);
            CHECK(n.input(1).find("_dequantized") != std::string::npos);
        }
        if (n.name == "conv1") CHECK(n.input(2).find("_dequantized") != std::string::npos);
        // the non-quantized Add still reads the float input x
        if (n.name == "add") CHECK(n.input(1) == "x");
    }
    CHECK(q.graph.initializers.at("W1_quantized").dtype() == DType::I8);
    CHECK(q.graph.initializers.at("B1_quantized").dtype() == DType::I32);
    CHECK(q.graph.initializers.at("x_zero_point").dtype() == DType::U8);
    // the quantized model is valid ONNX and close to the float one
    CHECK_NOTHROW(onnx_io::check_model(q, "q"));
    auto got = exec::Executor(q, *be).run({{"x", x}}).at("y").to_f32();
    double s = 0, n = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        s += ref[i] * ref[i];
        n += (ref[i] - got[i]) * (ref[i] - got[i]);
    }
    CHECK(10 * std::log10(s / n) > 25.0);
    // deterministic: the same rewrite twice gives the same bytes
    graph::Model q2 = m;
    quant::rewrite_qdq(q2, plan, ranges, quant::QdqOptions{});
    CHECK(onnx_io::serialize_model(q) == onnx_io::serialize_model(q2));
}

TEST_CASE("QDQ: FP32 layers untouched, int8 activations symmetric, missing ranges named", "[quant]") {
    graph::Model m = residual_model();
    Tensor x = test::random_tensor({1, 4, 6, 6}, 22);
    auto ranges = observe(m, x);
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {"conv2", "MatMul"});
    CHECK(plan.find("conv2")->precision == quant::Precision::Fp32);
    CHECK(plan.find("matmul")->precision == quant::Precision::Fp32);
    graph::Model q = m;
    quant::QdqOptions opt;
    opt.int8_activations = true;
    auto rep = quant::rewrite_qdq(q, plan, ranges, opt);
    REQUIRE(rep.layers.size() == 1);
    CHECK(q.graph.initializers.at("x_zero_point").dtype() == DType::I8);
    for (const auto& n : q.graph.nodes)
        if (n.name == "conv2") CHECK(n.input(1) == "W2");
    auto partial = ranges;
    partial.erase("x");
    graph::Model q3 = m;
    CHECK_THROWS_WITH(quant::rewrite_qdq(q3, plan, partial, opt), Catch::Contains("conv1") && Catch::Contains("'x'"));
}

TEST_CASE("QDQ on a MatMul attention block: weight MatMuls quantized, activation x activation kept", "[quant]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 4, 8}));
    g.outputs.push_back(test::value("y", {1, 4, 8}));
    for (auto w : {"Wq", "Wk", "Wv", "Wo"}) g.initializers[w] = test::random_tensor({8, 8}, w[1], -0.4f, 0.4f);
    g.initializers["perm_scale"] = Tensor::scalar_f32(0.35f);
    g.nodes.push_back(node("MatMul", {"x", "Wq"}, {"q"}, "q_proj"));
    g.nodes.push_back(node("MatMul", {"x", "Wk"}, {"k"}, "k_proj"));
    g.nodes.push_back(node("MatMul", {"x", "Wv"}, {"v"}, "v_proj"));
    g.nodes.push_back(node("Transpose", {"k"}, {"kt"}, "kt", {{"perm", test::attr_ints({0, 2, 1})}}));
    g.nodes.push_back(node("MatMul", {"q", "kt"}, {"s"}, "scores"));
    g.nodes.push_back(node("Mul", {"s", "perm_scale"}, {"ss"}, "scale"));
    g.nodes.push_back(node("Softmax", {"ss"}, {"p"}, "softmax", {{"axis", test::attr_i(-1)}}));
    g.nodes.push_back(node("MatMul", {"p", "v"}, {"ctx"}, "context"));
    g.nodes.push_back(node("MatMul", {"ctx", "Wo"}, {"y"}, "o_proj"));
    Tensor x = test::random_tensor({1, 4, 8}, 31);
    auto ranges = observe(m, x);
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {});
    std::set<std::string> planned;
    for (const auto& l : plan.layers) planned.insert(l.node);
    CHECK(planned == std::set<std::string>{"q_proj", "k_proj", "v_proj", "o_proj"});
    graph::Model q = m;
    auto rep = quant::rewrite_qdq(q, plan, ranges, quant::QdqOptions{});
    CHECK(rep.layers.size() == 4);
    // x is shared by three projections: one Q/DQ pair serves all of them
    int qx = 0;
    for (const auto& n : q.graph.nodes) {
        if (n.op_type == "QuantizeLinear" && n.input(0) == "x") ++qx;
        if (n.name == "scores") CHECK((n.input(0) == "q" && n.input(1) == "kt"));
        if (n.name == "context") CHECK((n.input(0) == "p" && n.input(1) == "v"));
        if (n.name == "q_proj" || n.name == "o_proj") CHECK(n.input(1).find("_dequantized") != std::string::npos);
    }
    CHECK(qx == 1);
    // per-channel MatMul weights: one scale per output column (axis 1)
    for (const auto& n : q.graph.nodes)
        if (n.op_type == "DequantizeLinear" && n.input(0) == "Wq_quantized") CHECK(n.attr_int("axis", -1) == 1);
    CHECK(q.graph.initializers.at("Wq_scale").numel() == 8);
    CHECK_NOTHROW(onnx_io::check_model(q, "attention"));
}
