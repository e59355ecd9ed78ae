// Q/DQ placement per target (dcu, ort-cpu, tensorrt, generic) on a residual block, and the speed rules.
#include <catch2/catch.hpp>
#include <cmath>

#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "onnx_io/onnx_io.h"
#include "quant/placement.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"
#include "quant/target.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

// x -> conv1 -> relu1 -> conv2 -> add(+x) -> relu2 -> conv3 -> maxpool -> conv4 -> y (graph output)
graph::Model block() {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 8, 6, 6}));
    g.outputs.push_back(test::value("y", {1, 8, 3, 3}));
    auto pads = test::attr_ints({1, 1, 1, 1});
    g.initializers["W1"] = test::random_tensor({8, 8, 3, 3}, 1, -0.3f, 0.3f);
    g.initializers["B1"] = test::random_tensor({8}, 2);
    g.initializers["W2"] = test::random_tensor({8, 8, 3, 3}, 3, -0.3f, 0.3f);
    g.initializers["B2"] = test::random_tensor({8}, 4);
    g.initializers["W3"] = test::random_tensor({8, 8, 1, 1}, 5, -0.5f, 0.5f);
    g.initializers["W4"] = test::random_tensor({8, 8, 1, 1}, 6, -0.5f, 0.5f);
    g.nodes.push_back(node("Conv", {"x", "W1", "B1"}, {"c1"}, "conv1", {{"pads", pads}}));
    g.nodes.push_back(node("Relu", {"c1"}, {"r1"}, "relu1"));
    g.nodes.push_back(node("Conv", {"r1", "W2", "B2"}, {"c2"}, "conv2", {{"pads", pads}}));
    g.nodes.push_back(node("Add", {"c2", "x"}, {"a"}, "add"));
    g.nodes.push_back(node("Relu", {"a"}, {"r2"}, "relu2"));
    g.nodes.push_back(node("Conv", {"r2", "W3"}, {"c3"}, "conv3"));
    g.nodes.push_back(node("MaxPool", {"c3"}, {"p"}, "pool",
                           {{"kernel_shape", test::attr_ints({2, 2})}, {"strides", test::attr_ints({2, 2})}}));
    g.nodes.push_back(node("Conv", {"p", "W4"}, {"y"}, "conv4"));
    return m;
}

std::map<std::string, std::pair<float, float>> observe(const graph::Model& m, const Tensor& x) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    std::map<std::string, std::pair<float, float>> r;
    auto add = [&](const std::string& name, const Tensor& t) {
        auto v = t.to_f32();
        auto [mn, mx] = std::minmax_element(v.begin(), v.end());
        r[name] = {std::min(*mn, 0.0f), std::max(*mx, 0.0f)};
    };
    ex.run({{"x", x}}, [&](const std::string& name, const Tensor& t, const graph::Node&) {
        if (t.dtype() == DType::F32) add(name, t);
    });
    add("x", x);
    return r;
}

struct Built {
    graph::Model q;
    quant::QdqReport rep;
    quant::Plan plan;
};

Built build(const std::string& target, const std::map<std::string, std::pair<float, float>>& ranges,
            int64_t min_channels = -1) {
    graph::Model m = block();
    quant::Target t = quant::find_target(target);
    if (min_channels >= 0) t.min_channels = min_channels;
    Built b;
    b.plan = quant::initial_plan(m, quant::Precision::Int8, {}, t.activation_matmul);
    quant::apply_speed_rules(m, b.plan, t, t.int8_activations);
    quant::QdqOptions opt;
    opt.target = t;
    opt.int8_activations = t.int8_activations;
    b.q = m;
    b.rep = quant::rewrite_qdq(b.q, b.plan, ranges, opt);
    return b;
}

// The producer of each tensor, by name.
const graph::Node* producer(const graph::Model& m, const std::string& v) {
    for (const auto& n : m.graph.nodes)
        for (const auto& o : n.outputs)
            if (o == v) return &n;
    return nullptr;
}
const graph::Node* by_name(const graph::Model& m, const std::string& name) {
    for (const auto& n : m.graph.nodes)
        if (n.name == name) return &n;
    return nullptr;
}
std::set<std::string> pair_tensors(const quant::Placement& p) {
    std::set<std::string> s;
    for (const auto& q : p.pairs) s.insert(q.tensor);
    return s;
}
double sqnr(const graph::Model& ref, const graph::Model& got, const Tensor& x) {
    auto be = exec::cpu::make_backend();
    auto a = exec::Executor(ref, *be).run({{"x", x}}).at("y").to_f32();
    auto b = exec::Executor(got, *be).run({{"x", x}}).at("y").to_f32();
    double s = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        s += a[i] * a[i];
        n += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return 10 * std::log10(s / std::max(n, 1e-30));
}

}  // namespace

TEST_CASE("targets: names, defaults, unknown name", "[quant][target]") {
    CHECK(quant::default_target().name == "dcu");
    CHECK(quant::target_names() == std::vector<std::string>{"dcu", "ort-cpu", "tensorrt", "generic"});
    CHECK(quant::find_target("dcu").int8_activations);
    CHECK_FALSE(quant::find_target("ort-cpu").int8_activations);
    CHECK(quant::find_target("tensorrt").fallback == quant::Precision::Fp16);
    CHECK_THROWS_WITH(quant::find_target("tflite"), Catch::Contains("tflite") && Catch::Contains("ort-cpu"));
}

TEST_CASE("TensorRT placement on a residual block: weighted inputs and the skip input, no output Q/DQ",
          "[quant][target]") {
    Tensor x = test::random_tensor({1, 8, 6, 6}, 7);
    auto ranges = observe(block(), x);
    Built b = build("tensorrt", ranges, 0);  // the block's 8-channel convs are below TensorRT's small-conv rule
    // Weighted layers' inputs (x, r1, r2, p) and the residual Add's skip input (x again: one shared pair).
    CHECK(pair_tensors(b.rep.placement) == std::set<std::string>{"x", "r1", "r2", "p"});
    const quant::QdqPair* px = b.rep.placement.find("x");
    REQUIRE(px);
    CHECK(px->consumers == std::set<std::string>{"conv1", "add"});
    // The add reads the dequantized skip input and the float conv2 output.
    const graph::Node* add = by_name(b.q, "add");
    REQUIRE(add);
    CHECK(add->inputs[0] == "c2");
    CHECK(producer(b.q, add->inputs[1])->op_type == "DequantizeLinear");
    // No Q on any weighted layer's output, bias kept float, activations int8 symmetric.
    for (const char* c : {"c1", "c2", "c3"})
        for (const auto& n : b.q.graph.nodes)
            if (n.op_type == "QuantizeLinear") CHECK(n.inputs[0] != c);
    CHECK(by_name(b.q, "conv1")->inputs[2] == "B1");
    CHECK(b.q.graph.initializers.at("x_zero_point").dtype() == DType::I8);
    // With the target's own rule (convs under 16 channels stay FP16) nothing of this block is INT8.
    Built small = build("tensorrt", ranges);
    for (const auto& l : small.plan.layers) {
        CHECK(l.precision == quant::Precision::Fp16);
        CHECK(l.reason.find("8 -> 8 channels") != std::string::npos);
    }
    CHECK(small.rep.placement.pairs.empty());
}

TEST_CASE("TensorRT placement with wide enough convs quantizes them", "[quant][target]") {
    graph::Model m = block();
    Tensor x = test::random_tensor({1, 8, 6, 6}, 7);
    auto ranges = observe(m, x);
    quant::Target t = quant::find_target("tensorrt");
    t.min_channels = 0;
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {}, true);
    CHECK(quant::apply_speed_rules(m, plan, t, true) == 0);
    quant::QdqOptions opt;
    opt.target = t;
    opt.int8_activations = true;
    graph::Model q = m;
    auto rep = quant::rewrite_qdq(q, plan, ranges, opt);
    CHECK(rep.placement.kernel.at("conv1") == "int8 convolution");
    CHECK(rep.placement.kernel.at("add") == "Add (int8 residual input)");
    CHECK_NOTHROW(onnx_io::check_model(q, "trt"));
    CHECK(sqnr(m, q, x) > 25.0);
}

TEST_CASE("ort-cpu placement: outputs quantized after folded Relu, QLinearAdd, pass-through MaxPool",
          "[quant][target]") {
    graph::Model m = block();
    Tensor x = test::random_tensor({1, 8, 6, 6}, 8);
    auto ranges = observe(m, x);
    Built b = build("ort-cpu", ranges);
    const auto& pl = b.rep.placement;
    // conv1 -> relu1 -> Q: the Q goes after the Relu (ORT removes Relu->Q), so conv1 fuses to QLinearConv.
    CHECK(pl.kernel.at("conv1") == "QLinearConv");
    CHECK(pl.kernel.at("relu1").find("folded") != std::string::npos);
    CHECK(pl.find("c1") == nullptr);
    REQUIRE(pl.find("r1"));
    CHECK(pl.find("r1")->all_consumers);
    // conv2's output and the skip input x are quantized, so the Add runs as QLinearAdd (Relu folded after it).
    CHECK(pl.find("c2"));
    CHECK(pl.kernel.at("add") == "QLinearAdd");
    CHECK(pl.find("r2"));
    // MaxPool passes int8 through with its input's parameters.
    REQUIRE(pl.find("p"));
    CHECK(pl.find("p")->params_from == "c3");
    CHECK(pl.kernel.at("pool") == "MaxPool (int8)");
    // conv4 writes the graph output: no Q possible, so ORT would run a float Conv plus a weight DQ -- kept FP32.
    CHECK(b.plan.find("conv4")->precision == quant::Precision::Fp32);
    CHECK(b.plan.find("conv4")->reason.find("graph output") != std::string::npos);
    CHECK(pl.kernel.count("conv4") == 0);
    CHECK(b.plan.find("conv3")->precision == quant::Precision::Int8);
    // Same scale and zero point on the MaxPool's two pairs (the engine drops them).
    CHECK(b.rep.activations.at("p").scale == b.rep.activations.at("c3").scale);
    CHECK(b.rep.activations.at("p").zero_point == b.rep.activations.at("c3").zero_point);
    CHECK(b.q.graph.initializers.at("r1_zero_point").dtype() == DType::U8);
    CHECK_NOTHROW(onnx_io::check_model(b.q, "ort"));
    CHECK(sqnr(block(), b.q, x) > 25.0);
    // Deterministic.
    Built b2 = build("ort-cpu", ranges);
    CHECK(onnx_io::serialize_model(b.q) == onnx_io::serialize_model(b2.q));
}

TEST_CASE("dcu placement: int8 DQ on both inputs of every weighted layer, scalar scale, zero point 0",
          "[quant][target]") {
    graph::Model m = block();
    Tensor x = test::random_tensor({1, 8, 6, 6}, 9);
    auto ranges = observe(m, x);
    Built b = build("dcu", ranges);
    int linted = 0;
    for (const auto& n : b.q.graph.nodes) {
        if (n.op_type != "Conv") continue;
        for (int k = 0; k < 2; ++k) {
            const graph::Node* dq = producer(b.q, n.inputs[k]);
            REQUIRE(dq);
            REQUIRE(dq->op_type == "DequantizeLinear");
            const Tensor& zp = b.q.graph.initializers.at(dq->inputs[2]);
            CHECK(zp.dtype() == DType::I8);
            if (k == 0) {
                CHECK(b.q.graph.initializers.at(dq->inputs[1]).numel() == 1);
                CHECK(zp.data<int8_t>()[0] == 0);
            }
        }
        ++linted;
        CHECK(b.rep.placement.kernel.at(n.name) == "quant_convolution");
    }
    CHECK(linted == 4);
    // No output pairs: MIGraphX needs none.
    CHECK(pair_tensors(b.rep.placement) == std::set<std::string>{"x", "r1", "r2", "p"});
    CHECK(sqnr(m, b.q, x) > 25.0);
}

TEST_CASE("activation x activation MatMul is a plan layer for targets that quantize attention", "[quant][target]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("a", {2, 4, 8}));
    g.inputs.push_back(test::value("b", {2, 8, 3}));
    g.outputs.push_back(test::value("y", {2, 4, 3}));
    g.nodes.push_back(node("MatMul", {"a", "b"}, {"y"}, "qk"));
    CHECK(quant::initial_plan(m, quant::Precision::Int8, {}, false).layers.empty());
    quant::Plan plan = quant::initial_plan(m, quant::Precision::Int8, {}, true);
    REQUIRE(plan.layers.size() == 1);
    std::map<std::string, std::pair<float, float>> ranges{{"a", {-1, 1}}, {"b", {-2, 2}}, {"y", {-5, 5}}};
    quant::QdqOptions opt;
    opt.target = quant::find_target("dcu");
    opt.int8_activations = true;
    graph::Model q = m;
    auto rep = quant::rewrite_qdq(q, plan, ranges, opt);
    CHECK(pair_tensors(rep.placement) == std::set<std::string>{"a", "b"});
    CHECK(rep.placement.kernel.at("qk") == "quant_dot");
    for (const auto& n : q.graph.nodes)
        if (n.op_type == "MatMul") {
            CHECK(producer(q, n.inputs[0])->op_type == "DequantizeLinear");
            CHECK(producer(q, n.inputs[1])->op_type == "DequantizeLinear");
        }
}
