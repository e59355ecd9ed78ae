// Graph IR and passes: topological order, dead code, constant folding, BatchNorm folding.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "onnx_io/onnx_io.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::node;

namespace {

std::map<std::string, Tensor> run(const graph::Model& m, const std::map<std::string, Tensor>& in) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    return ex.run(in);
}

graph::PassContext folding() {
    graph::PassContext c;
    c.evaluate = exec::cpu::evaluate_node;
    return c;
}

}  // namespace

TEST_CASE("topo_sort orders nodes and reports cycles and dangling inputs", "[graph]") {
    graph::Graph g;
    g.inputs.push_back(test::value("x", {2}));
    g.nodes.push_back(node("Relu", {"a"}, {"b"}, "second"));
    g.nodes.push_back(node("Neg", {"x"}, {"a"}, "first"));
    graph::topo_sort(g);
    CHECK(g.nodes[0].name == "first");
    CHECK(g.nodes[1].name == "second");
    g.nodes.push_back(node("Add", {"c", "x"}, {"d"}, "loop1"));
    g.nodes.push_back(node("Add", {"d", "x"}, {"c"}, "loop2"));
    CHECK_THROWS_WITH(graph::topo_sort(g), Catch::Contains("cycle"));
    g.nodes.resize(2);
    g.nodes.push_back(node("Relu", {"ghost"}, {"e"}, "dangling"));
    CHECK_THROWS_WITH(graph::topo_sort(g), Catch::Contains("ghost") && Catch::Contains("dangling"));
}

TEST_CASE("dead code and unused initializers are removed", "[graph]") {
    graph::Model m = test::model();
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {2}));
    g.outputs.push_back(test::value("y", {2}));
    g.initializers["unused"] = Tensor::from_f32({1}, {1});
    g.nodes.push_back(node("Relu", {"x"}, {"y"}));
    g.nodes.push_back(node("Neg", {"x"}, {"dead1"}));
    g.nodes.push_back(node("Neg", {"dead1"}, {"dead2"}));
    CHECK(graph::eliminate_dead_code(m));
    CHECK(g.nodes.size() == 1);
    CHECK(g.initializers.empty());
}

TEST_CASE("Shape->Gather->Concat->Reshape folds once the input shape is fixed", "[graph]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {2, 3, 4}));
    g.outputs.push_back(test::value("y", {2, 12}));
    g.initializers["idx"] = Tensor::from_i64({1}, {0});
    g.initializers["minus1"] = Tensor::from_i64({1}, {-1});
    g.nodes.push_back(node("Shape", {"x"}, {"s"}));
    g.nodes.push_back(node("Gather", {"s", "idx"}, {"n"}, "", {{"axis", test::attr_i(0)}}));
    g.nodes.push_back(node("Concat", {"n", "minus1"}, {"shape"}, "", {{"axis", test::attr_i(0)}}));
    g.nodes.push_back(node("Reshape", {"x", "shape"}, {"y"}));
    Tensor x = test::random_tensor({2, 3, 4}, 1);
    auto before = run(m, {{"x", x}});
    graph::run_pipeline(m, folding());
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "Reshape");
    CHECK(g.initializers.at(g.nodes[0].inputs[1]).to_i64() == std::vector<int64_t>{2, -1});
    auto after = run(m, {{"x", x}});
    CHECK(after.at("y").to_f32() == before.at("y").to_f32());
}

TEST_CASE("BatchNormalization folds into Conv and Gemm with the same outputs", "[graph]") {
    for (std::string op : {"Conv", "Gemm", "ConvTranspose"}) {
        DYNAMIC_SECTION(op) {
            graph::Model m = test::model(13);
            auto& g = m.graph;
            const int64_t C = 4;
            Shape xs = op == "Gemm" ? Shape{2, 3} : op == "Conv" ? Shape{1, 3, 5, 5} : Shape{1, 4, 5, 5};
            g.inputs.push_back(test::value("x", xs));
            g.outputs.push_back(graph::ValueInfo{"y", DType::F32, false, {}});
            if (op == "Conv") g.initializers["W"] = test::random_tensor({C, 3, 3, 3}, 2);
            if (op == "ConvTranspose") g.initializers["W"] = test::random_tensor({4, C / 2, 3, 3}, 2);
            if (op == "Gemm") g.initializers["W"] = test::random_tensor({C, 3}, 2);
            g.initializers["B"] = test::random_tensor({C}, 3);
            g.initializers["scale"] = test::random_tensor({C}, 4, 0.5f, 2.0f);
            g.initializers["beta"] = test::random_tensor({C}, 5);
            g.initializers["mean"] = test::random_tensor({C}, 6);
            g.initializers["var"] = test::random_tensor({C}, 7, 0.1f, 3.0f);
            std::map<std::string, graph::Attribute> attrs;
            if (op == "Gemm") attrs["transB"] = test::attr_i(1);
            if (op == "ConvTranspose") attrs["group"] = test::attr_i(2);
            g.nodes.push_back(node(op, {"x", "W", "B"}, {"t"}, "layer", attrs));
            g.nodes.push_back(node("BatchNormalization", {"t", "scale", "beta", "mean", "var"}, {"y"}, "bn"));
            Tensor x = test::random_tensor(xs, 8);
            auto before = run(m, {{"x", x}}).at("y").to_f32();
            REQUIRE(graph::fold_batchnorm(m));
            REQUIRE(g.nodes.size() == 1);
            auto after = run(m, {{"x", x}}).at("y").to_f32();
            REQUIRE(after.size() == before.size());
            for (size_t i = 0; i < after.size(); ++i) CHECK(after[i] == Approx(before[i]).margin(1e-5));
        }
    }
}

TEST_CASE("BatchNormalization with a shared producer output is not folded", "[graph]") {
    graph::Model m = test::model(13);
    auto& g = m.graph;
    g.inputs.push_back(test::value("x", {1, 3, 5, 5}));
    g.outputs.push_back(graph::ValueInfo{"y", DType::F32, false, {}});
    g.outputs.push_back(graph::ValueInfo{"t", DType::F32, false, {}});
    g.initializers["W"] = test::random_tensor({4, 3, 1, 1}, 2);
    for (auto n : {"scale", "beta", "mean"}) g.initializers[n] = test::random_tensor({4}, 3);
    g.initializers["var"] = test::random_tensor({4}, 3, 0.5f, 1.0f);
    g.nodes.push_back(node("Conv", {"x", "W"}, {"t"}, "conv"));
    g.nodes.push_back(node("BatchNormalization", {"t", "scale", "beta", "mean", "var"}, {"y"}, "bn"));
    CHECK_FALSE(graph::fold_batchnorm(m));
}

TEST_CASE("topo_sort names a node on the cycle, not one downstream of it", "[graph]") {
    graph::Graph g;
    g.inputs.push_back(test::value("x", {2}));
    g.nodes.push_back(node("Neg", {"c"}, {"after"}, "downstream"));  // waits on the cycle, is not on it
    g.nodes.push_back(node("Add", {"c", "x"}, {"d"}, "loop1"));
    g.nodes.push_back(node("Relu", {"d"}, {"c"}, "loop2"));
    try {
        graph::topo_sort(g);
        FAIL("sorted a cycle");
    } catch (const Error& e) {
        std::string w = e.what();
        CHECK(w.find("cycle") != std::string::npos);
        CHECK((w.find("'loop1'") != std::string::npos || w.find("'loop2'") != std::string::npos));
        CHECK(w.find("downstream") == std::string::npos);
    }
}

TEST_CASE("check_structure refuses duplicate producers, shadowed inputs and unproduced outputs", "[graph]") {
    auto base = [] {
        graph::Graph g;
        g.inputs.push_back(test::value("x", {2}));
        g.nodes.push_back(node("Neg", {"x"}, {"a"}, "n1"));
        g.nodes.push_back(node("Relu", {"a"}, {"y"}, "n2"));
        g.outputs.push_back(test::value("y", {2}));
        return g;
    };
    graph::Graph g = base();
    CHECK_NOTHROW(graph::check_structure(g, "m.onnx"));
    g.nodes.push_back(node("Abs", {"x"}, {"a"}, "n3"));
    CHECK_THROWS_WITH(graph::check_structure(g, "m.onnx"),
                      Catch::Contains("m.onnx") && Catch::Contains("'n3'") && Catch::Contains("'n1'"));
    g = base();
    g.nodes.push_back(node("Abs", {"a"}, {"x"}, "n3"));
    CHECK_THROWS_WITH(graph::check_structure(g, "m.onnx"), Catch::Contains("'x'") && Catch::Contains("graph input"));
    g = base();
    g.outputs.push_back(test::value("z", {2}));
    CHECK_THROWS_WITH(graph::check_structure(g, "m.onnx"), Catch::Contains("'z'"));
    g = base();
    g.outputs.push_back(g.outputs[0]);
    CHECK_THROWS_WITH(graph::check_structure(g, "m.onnx"), Catch::Contains("twice"));
    g = base();
    g.outputs[0].dtype = DType::Undefined;
    CHECK_THROWS_WITH(graph::check_structure(g, "m.onnx"), Catch::Contains("element type"));
}
