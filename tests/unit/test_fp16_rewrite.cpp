// FP16 rewrite: converted regions match float32 within float16 tolerance in the CPU executor, Casts sit only
// at region borders, graph I/O keeps its types, out-of-range nodes and weights stay float32, shared weights
// are duplicated; grow_fp16_region fills the gaps between converted nodes.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "onnx_io/onnx_io.h"
#include "quant/fp16_rewrite.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_i;
using test::attr_ints;
using test::node;

namespace {

std::map<std::string, Tensor> run(const graph::Model& m, const std::map<std::string, Tensor>& in) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    return ex.run(in);
}

int count_op(const graph::Model& m, const std::string& op) {
    int c = 0;
    for (const auto& n : m.graph.nodes) c += n.op_type == op;
    return c;
}

const graph::Node& find_node(const graph::Model& m, const std::string& name) {
    for (const auto& n : m.graph.nodes)
        if (n.name == name) return n;
    FAIL("no node " << name);
    throw 0;
}

// Max |a-b| relative to max |a|.
double rel_err(const Tensor& a, const Tensor& b) {
    auto x = a.to_f32(), y = b.to_f32();
    REQUIRE(x.size() == y.size());
    double d = 0, s = 1e-6;
    for (size_t i = 0; i < x.size(); ++i) {
        d = std::max(d, (double)std::fabs(x[i] - y[i]));
        s = std::max(s, (double)std::fabs(x[i]));
    }
    return d / s;
}

// x [1,3,8,8] -> Conv(w) -> Relu -> Add(skip: Conv2(x)) -> Concat(with x) -> y
graph::Model cnn() {
    auto m = test::model(13);
    m.graph.inputs.push_back(test::value("x", {1, 3, 8, 8}));
    m.graph.initializers["w"] = test::random_tensor({4, 3, 3, 3}, 1, -0.5f, 0.5f);
    m.graph.initializers["b"] = test::random_tensor({4}, 2);
    m.graph.initializers["w2"] = test::random_tensor({4, 3, 1, 1}, 3);
    m.graph.nodes = {
        node("Conv", {"x", "w", "b"}, {"c"}, "conv", {{"pads", attr_ints({1, 1, 1, 1})}}),
        node("Relu", {"c"}, {"r"}, "relu"),
        node("Conv", {"x", "w2"}, {"c2"}, "conv2"),
        node("Add", {"r", "c2"}, {"a"}, "add"),
        node("Concat", {"a", "x"}, {"y"}, "concat", {{"axis", attr_i(1)}}),
    };
    m.graph.outputs.push_back(test::value("y", {1, 7, 8, 8}));
    m.graph.value_info["c"] = test::value("c", {1, 4, 8, 8});
    return m;
}

std::set<std::string> all_nodes(const graph::Model& m) {
    std::set<std::string> s;
    for (const auto& n : m.graph.nodes) s.insert(n.name);
    return s;
}

}  // namespace

TEST_CASE("rewrite_fp16: a Conv/Relu/Add/Concat graph converted fully", "[fp16]") {
    auto m = cnn();
    const Tensor x = test::random_tensor({1, 3, 8, 8}, 10);
    const auto ref = run(m, {{"x", x}});
    auto rep = quant::rewrite_fp16(m, all_nodes(m), {});
    CHECK(rep.kept_fp32.empty());
    // One Cast in (x, read by conv, conv2 and concat) and one out (y).
    CHECK(rep.casts_inserted == 2);
    CHECK(count_op(m, "Cast") == 2);
    CHECK(m.graph.inputs[0].name == "x");
    CHECK(m.graph.inputs[0].dtype == DType::F32);
    CHECK(m.graph.outputs[0].name == "y");
    CHECK(m.graph.outputs[0].dtype == DType::F32);
    CHECK(m.graph.initializers.at("w").dtype() == DType::F16);
    CHECK(m.graph.initializers.at("b").dtype() == DType::F16);
    CHECK(m.graph.value_info.at("c").dtype == DType::F16);
    const auto got = run(m, {{"x", x}});
    CHECK(got.at("y").dtype() == DType::F32);
    CHECK(rel_err(ref.at("y"), got.at("y")) < 5e-3);
    CHECK_NOTHROW(onnx_io::check_model(m, "fp16"));
}

TEST_CASE("rewrite_fp16: keep_io_types=false makes the graph I/O float16", "[fp16]") {
    auto m = cnn();
    quant::rewrite_fp16(m, all_nodes(m), {}, false);
    CHECK(count_op(m, "Cast") == 0);
    CHECK(m.graph.inputs[0].dtype == DType::F16);
    CHECK(m.graph.outputs[0].dtype == DType::F16);
    CHECK_NOTHROW(onnx_io::check_model(m, "fp16 io"));
    Tensor xh(DType::F16, {1, 3, 8, 8});
    auto out = run(m, {{"x", xh}});
    CHECK(out.at("y").dtype() == DType::F16);
}

TEST_CASE("rewrite_fp16: a partial region gets Casts at both borders; shared weights are duplicated", "[fp16]") {
    auto m = cnn();
    m.graph.nodes[2].inputs[1] = "w";  // conv2 (left float32) shares conv's weight
    m.graph.nodes[2].attrs["pads"] = attr_ints({1, 1, 1, 1});
    m.graph.initializers.erase("w2");
    const Tensor x = test::random_tensor({1, 3, 8, 8}, 11);
    const auto ref = run(m, {{"x", x}});
    auto rep = quant::rewrite_fp16(m, {"conv", "relu"}, {});
    CHECK(rep.kept_fp32.empty());
    // x -> fp16 into conv; relu's output r -> fp32 for add.
    CHECK(rep.casts_inserted == 2);
    REQUIRE(m.graph.initializers.at("w").dtype() == DType::F32);  // conv2 (float32) still reads it
    const auto& conv = find_node(m, "conv");
    CHECK(conv.inputs[1] != "w");
    CHECK(m.graph.initializers.at(conv.inputs[1]).dtype() == DType::F16);
    CHECK(m.graph.initializers.at("b").dtype() == DType::F16);  // only conv reads b
    const auto& add = find_node(m, "add");
    CHECK(add.inputs[0] == "r");  // float32 consumers keep reading the original name
    const auto got = run(m, {{"x", x}});
    CHECK(rel_err(ref.at("y"), got.at("y")) < 5e-3);
    CHECK_NOTHROW(onnx_io::check_model(m, "fp16 partial"));
}

TEST_CASE("rewrite_fp16: MatMul block with a graph output inside the region", "[fp16]") {
    auto m = test::model(17);
    m.graph.inputs.push_back(test::value("x", {2, 5, 16}));
    m.graph.initializers["w1"] = test::random_tensor({16, 32}, 1, -0.3f, 0.3f);
    m.graph.initializers["b1"] = test::random_tensor({32}, 2);
    m.graph.initializers["w2"] = test::random_tensor({32, 16}, 3, -0.3f, 0.3f);
    m.graph.initializers["g"] = test::random_tensor({16}, 4, 0.5f, 1.5f);
    m.graph.initializers["beta"] = test::random_tensor({16}, 5);
    m.graph.initializers["shape"] = Tensor::from_i64({2}, {10, 16});
    m.graph.nodes = {
        node("MatMul", {"x", "w1"}, {"h"}, "mm1"),
        node("Add", {"h", "b1"}, {"hb"}, "bias1"),
        node("Tanh", {"hb"}, {"t"}, "act"),
        node("MatMul", {"t", "w2"}, {"o"}, "mm2"),
        node("Add", {"o", "x"}, {"res"}, "residual"),
        node("LayerNormalization", {"res", "g", "beta"}, {"ln"}, "ln", {{"axis", attr_i(-1)}}),
        node("Reshape", {"ln", "shape"}, {"y"}, "flat"),
    };
    m.graph.outputs.push_back(test::value("y", {10, 16}));
    m.graph.outputs.push_back(test::value("t", {2, 5, 32}));  // an intermediate that is also an output
    const Tensor x = test::random_tensor({2, 5, 16}, 12);
    const auto ref = run(m, {{"x", x}});
    auto rep = quant::rewrite_fp16(m, all_nodes(m), {});
    CHECK(rep.kept_fp32.empty());
    CHECK(rep.casts_inserted == 3);  // x in; y and t out
    CHECK(m.graph.initializers.at("shape").dtype() == DType::I64);  // Reshape's shape is not T
    CHECK(find_node(m, "mm2").inputs[0] != "t");                    // internal tensor renamed, output kept
    const auto got = run(m, {{"x", x}});
    CHECK(got.at("t").dtype() == DType::F32);
    CHECK(got.at("y").dtype() == DType::F32);
    CHECK(rel_err(ref.at("y"), got.at("y")) < 1e-2);
    CHECK(rel_err(ref.at("t"), got.at("t")) < 2e-3);
    CHECK_NOTHROW(onnx_io::check_model(m, "fp16 matmul"));
}

TEST_CASE("rewrite_fp16: nodes stay float32 for ranges, weights, ops and types", "[fp16]") {
    auto m = cnn();
    SECTION("an observed range beyond 65504 keeps the node float32") {
        auto rep = quant::rewrite_fp16(m, all_nodes(m), {{"c2", {-1.f, 70000.f}}, {"r", {0.f, 100.f}}});
        CHECK(rep.kept_fp32.count("conv2"));
        CHECK(rep.kept_fp32.count("add"));  // reads c2
        CHECK(rep.kept_fp32.at("conv2").find("c2") != std::string::npos);
        CHECK_FALSE(rep.kept_fp32.count("relu"));
        CHECK(m.graph.initializers.at("w2").dtype() == DType::F32);
        CHECK_NOTHROW(onnx_io::check_model(m, "fp16 kept"));
    }
    SECTION("weights that overflow or flush to zero") {
        m.graph.initializers["w"].data<float>()[5] = 1e6f;
        auto& w2 = m.graph.initializers["w2"];
        for (int i = 0; i < 3; ++i) w2.data<float>()[i] = 1e-9f;  // 3 of 12 nonzero values vanish in float16
        auto rep = quant::rewrite_fp16(m, all_nodes(m), {});
        CHECK(rep.kept_fp32.at("conv").find("'w'") != std::string::npos);
        CHECK(rep.kept_fp32.at("conv2").find("2^-24") != std::string::npos);
        const Tensor x = test::random_tensor({1, 3, 8, 8}, 13);
        CHECK_NOTHROW(run(m, {{"x", x}}));
    }
    SECTION("ops outside the ORT list, unknown names, low opsets") {
        m.graph.nodes[1].op_type = "Celu";
        auto m2 = m;
        auto rep = quant::rewrite_fp16(m, {"relu"}, {});
        CHECK(rep.kept_fp32.at("relu").find("Celu") != std::string::npos);
        CHECK(rep.casts_inserted == 0);
        CHECK_THROWS_WITH(quant::rewrite_fp16(m2, {"nope"}, {}), Catch::Contains("nope"));
        m2.opsets[""] = 12;
        CHECK_THROWS(quant::rewrite_fp16(m2, {"conv"}, {}));
    }
    SECTION("integer inputs are not converted") {
        auto g = test::model(13);
        g.graph.inputs.push_back(test::value("i", {3}, DType::I64));
        g.graph.initializers["one"] = Tensor::from_i64({1}, {1});
        g.graph.nodes = {node("Add", {"i", "one"}, {"y"}, "int_add")};
        g.graph.outputs.push_back(test::value("y", {3}, DType::I64));
        auto rep = quant::rewrite_fp16(g, {"int_add"}, {});
        CHECK(rep.kept_fp32.at("int_add") == "no float32 inputs");
    }
}

TEST_CASE("grow_fp16_region adds the cheap nodes between converted ones", "[fp16]") {
    auto m = cnn();
    auto r = quant::grow_fp16_region(m, {"conv", "concat"});
    CHECK(r.count("relu"));
    CHECK(r.count("add"));       // conv -> relu -> add -> concat
    CHECK_FALSE(r.count("conv2"));  // a Conv is never added
    auto r2 = quant::grow_fp16_region(m, {"conv"});
    CHECK(r2 == std::set<std::string>{"conv"});  // nothing downstream of relu/add is in the set
    // Applying the grown region gives fewer casts than the seeds alone.
    auto a = cnn(), b = cnn();
    auto ra = quant::rewrite_fp16(a, {"conv", "concat"}, {});
    auto rb = quant::rewrite_fp16(b, r, {});
    CHECK(rb.casts_inserted < ra.casts_inserted);
}

TEST_CASE("ORT float16 op lists", "[fp16]") {
    CHECK(quant::fp16_convertible_op("Conv", 13));
    CHECK(quant::fp16_convertible_op("LayerNormalization", 17));
    CHECK_FALSE(quant::fp16_convertible_op("QuantizeLinear", 13));
    CHECK_FALSE(quant::fp16_convertible_op("CumSum", 13));
    CHECK(quant::fp16_convertible_op("CumSum", 14));
    CHECK(quant::ort_cpu_fp16_native("Transpose"));
    CHECK_FALSE(quant::ort_cpu_fp16_native("Conv"));
}
