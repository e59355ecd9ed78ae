// Control flow (If, Loop, Scan) in the executor, written from the ONNX operator docs: branches and bodies reading
// outer-scope values (two scopes up too), loop-carried values and scan outputs, M / cond combinations, scan axes and
// directions; the observer inside subgraphs; graph passes, topo_sort and check_structure across scopes; the QDQ and
// FP16 rewrites inside a branch.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "exec/subgraph.h"
#include "graph/passes.h"
#include "graph/scoped_view.h"
#include "quant/fp16_rewrite.h"
#include "quant/plan.h"
#include "quant/qdq_ops.h"
#include "quant/qdq_rewrite.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;

namespace {

graph::Attribute attr_g(graph::Graph g) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Graph;
    a.g = std::make_shared<graph::Graph>(std::move(g));
    return a;
}

graph::ValueInfo untyped_rank(std::string name, DType dt) {
    graph::ValueInfo v;
    v.name = std::move(name);
    v.dtype = dt;
    return v;
}

Tensor bools(Shape s, std::vector<bool> v) {
    Tensor t(DType::Bool, std::move(s));
    for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
    return t;
}

std::vector<float> vals(const Tensor& t) { return t.to_f32(); }

// If(c): then = x * w (outer x and outer initializer w), else = Concat(x, x) (another shape).
graph::Model if_model() {
    auto m = model(13);
    graph::Graph then_g;
    then_g.name = "then";
    then_g.nodes.push_back(node("Mul", {"x", "w"}, {"t_out"}, "then_mul"));
    then_g.outputs.push_back(untyped_rank("t_out", DType::F32));
    graph::Graph else_g;
    else_g.name = "else";
    else_g.nodes.push_back(node("Concat", {"x", "x"}, {"e_out"}, "else_concat", {{"axis", attr_i(0)}}));
    else_g.outputs.push_back(untyped_rank("e_out", DType::F32));
    m.graph.inputs = {value("c", {}, DType::Bool), value("x", {2})};
    m.graph.initializers["w"] = f32({2}, {10, 100});
    m.graph.nodes.push_back(node("If", {"c"}, {"y"}, "if0",
                                 {{"then_branch", attr_g(then_g)}, {"else_branch", attr_g(else_g)}}));
    m.graph.outputs.push_back(untyped_rank("y", DType::F32));
    return m;
}

}  // namespace

TEST_CASE("If runs the branch its condition picks; branches read outer values and may differ in shape", "[subgraph]") {
    auto m = if_model();
    auto y1 = run_model(m, {{"c", bools({}, {true})}, {"x", f32({2}, {1, 2})}}).at("y");
    CHECK(y1.shape() == Shape{2});
    CHECK(vals(y1) == std::vector<float>{10, 200});
    auto y0 = run_model(m, {{"c", bools({}, {false})}, {"x", f32({2}, {1, 2})}}).at("y");
    CHECK(y0.shape() == Shape{4});
    CHECK(vals(y0) == std::vector<float>{1, 2, 1, 2});
}

TEST_CASE("an unsupported op inside a branch fails at construction naming the node", "[subgraph]") {
    auto m = if_model();
    m.graph.nodes[0].attrs["else_branch"].g->nodes[0].op_type = "NoSuchOp";
    auto be = exec::cpu::make_backend();
    try {
        exec::Executor ex(m, *be);
        FAIL("no error");
    } catch (const Error& e) {
        std::string w = e.what();
        CHECK(w.find("If 'if0'") != std::string::npos);
        CHECK(w.find("else_branch > NoSuchOp 'else_concat'") != std::string::npos);
    }
}

namespace {

// Loop(M, cond, s0): body: s = s + x (outer), i_f = Cast(i), cond_out = s < limit (outer), scan = s * i_f.
graph::Model loop_model(bool with_m, bool with_cond) {
    auto m = model(13);
    graph::Graph b;
    b.name = "body";
    b.inputs = {value("i", {}, DType::I64), value("cond_in", {}, DType::Bool), value("s_in", {2})};
    b.nodes.push_back(node("Add", {"s_in", "x"}, {"s_out"}, "body_add"));
    b.nodes.push_back(node("Cast", {"i"}, {"i_f"}, "body_cast", {{"to", attr_i(1)}}));
    b.nodes.push_back(node("Mul", {"s_out", "i_f"}, {"scan"}, "body_mul"));
    b.nodes.push_back(node("ReduceSum", {"s_out"}, {"total"}, "body_sum", {{"keepdims", attr_i(0)}}));
    b.nodes.push_back(node("Less", {"total", "limit"}, {"cond_out"}, "body_less"));
    b.outputs = {value("cond_out", {}, DType::Bool), value("s_out", {2}), value("scan", {2})};
    m.graph.inputs = {value("x", {2}), value("limit", {})};
    m.graph.initializers["M"] = i64({}, {5});
    m.graph.initializers["c0"] = bools({}, {true});
    m.graph.initializers["s0"] = f32({2}, {0, 0});
    m.graph.nodes.push_back(node("Loop", {with_m ? "M" : "", with_cond ? "c0" : "", "s0"}, {"s_final", "scans"},
                                 "loop0", {{"body", attr_g(b)}}));
    m.graph.outputs = {value("s_final", {2}), untyped_rank("scans", DType::F32)};
    return m;
}

}  // namespace

TEST_CASE("Loop: trip count, condition, loop-carried values and stacked scan outputs", "[subgraph]") {
    const std::map<std::string, Tensor> in = {{"x", f32({2}, {1, 2})}, {"limit", f32({}, {10})}};
    SECTION("M and cond: stops when the body's condition turns false") {
        // s after k iterations: (k, 2k); total 3k < 10 holds for k = 1..3, fails at k = 4.
        auto out = run_model(loop_model(true, true), in);
        CHECK(vals(out.at("s_final")) == std::vector<float>{4, 8});
        CHECK(out.at("scans").shape() == Shape{4, 2});
        CHECK(vals(out.at("scans")) == std::vector<float>{0, 0, 2, 4, 6, 12, 12, 24});
    }
    SECTION("M only: the body's condition is ignored") {
        auto out = run_model(loop_model(true, false), in);
        CHECK(vals(out.at("s_final")) == std::vector<float>{5, 10});
        CHECK(out.at("scans").shape() == Shape{5, 2});
    }
    SECTION("cond only: a while loop") {
        auto out = run_model(loop_model(false, true), in);
        CHECK(vals(out.at("s_final")) == std::vector<float>{4, 8});
    }
    SECTION("M = 0: no iteration, the initial values and an empty scan output") {
        auto m = loop_model(true, true);
        m.graph.initializers["M"] = i64({}, {0});
        auto out = run_model(m, in);
        CHECK(vals(out.at("s_final")) == std::vector<float>{0, 0});
        CHECK(out.at("scans").shape() == Shape{0, 2});
    }
}

TEST_CASE("Scan: state variables, input/output axes and directions", "[subgraph]") {
    // Running sum over the columns of x [2, 3] (scan axis 1), reversed; outputs stacked on axis 1, reversed again.
    auto m = model(11);
    graph::Graph b;
    b.inputs = {value("acc_in", {2}), value("col", {2})};
    b.nodes.push_back(node("Add", {"acc_in", "col"}, {"acc_out"}, "scan_add"));
    b.nodes.push_back(node("Mul", {"acc_out", "k"}, {"y_t"}, "scan_mul"));  // k: outer initializer
    b.outputs = {value("acc_out", {2}), value("y_t", {2})};
    m.graph.inputs = {value("x", {2, 3})};
    m.graph.initializers["acc0"] = f32({2}, {0, 0});
    m.graph.initializers["k"] = f32({}, {2});
    m.graph.nodes.push_back(node("Scan", {"acc0", "x"}, {"acc", "ys"}, "scan0",
                                 {{"body", attr_g(b)},
                                  {"num_scan_inputs", attr_i(1)},
                                  {"scan_input_axes", attr_ints({1})},
                                  {"scan_input_directions", attr_ints({1})},
                                  {"scan_output_axes", attr_ints({-1})},
                                  {"scan_output_directions", attr_ints({1})}}));
    m.graph.outputs = {value("acc", {2}), value("ys", {2, 3})};
    // x = [[1,2,3],[4,5,6]]; reversed columns: (3,6), (2,5), (1,4); running sums (3,6), (5,11), (6,15).
    auto out = run_model(m, {{"x", f32({2, 3}, {1, 2, 3, 4, 5, 6})}});
    CHECK(vals(out.at("acc")) == std::vector<float>{6, 15});
    // Output direction 1: iteration t goes to position 2 - t along axis 1, times k.
    CHECK(out.at("ys").shape() == Shape{2, 3});
    CHECK(vals(out.at("ys")) == std::vector<float>{12, 10, 6, 30, 22, 12});
}

namespace {

// Loop body holding an If whose branch reads a main-graph value (two scopes up) and the body's own value.
graph::Model nested_model() {
    auto m = model(13);
    graph::Graph then_g;
    then_g.nodes.push_back(node("Add", {"s_in", "bias"}, {"br_out"}, "then_add"));  // bias: main graph input
    then_g.outputs.push_back(untyped_rank("br_out", DType::F32));
    graph::Graph else_g;
    else_g.nodes.push_back(node("Sub", {"s_in", "bias"}, {"br_out2"}, "else_sub"));
    else_g.outputs.push_back(untyped_rank("br_out2", DType::F32));
    graph::Graph b;
    b.inputs = {value("i", {}, DType::I64), value("cond_in", {}, DType::Bool), value("s_in", {1})};
    b.initializers["two"] = i64({}, {2});
    b.nodes.push_back(node("Mod", {"i", "two"}, {"parity"}, "body_mod"));
    b.nodes.push_back(node("Equal", {"parity", "zero"}, {"even"}, "body_eq"));  // zero: main initializer
    b.nodes.push_back(node("If", {"even"}, {"s_out"}, "body_if",
                           {{"then_branch", attr_g(then_g)}, {"else_branch", attr_g(else_g)}}));
    b.nodes.push_back(node("Identity", {"cond_in"}, {"cond_out"}, "body_id"));
    b.outputs = {value("cond_out", {}, DType::Bool), value("s_out", {1})};
    m.graph.inputs = {value("bias", {1}), value("n", {}, DType::I64)};
    m.graph.initializers["zero"] = i64({}, {0});
    m.graph.initializers["s0"] = f32({1}, {0});
    m.graph.nodes.push_back(node("Loop", {"n", "", "s0"}, {"s"}, "loop0", {{"body", attr_g(b)}}));
    m.graph.outputs = {value("s", {1})};
    return m;
}

}  // namespace

TEST_CASE("nested subgraphs read values of any enclosing scope; the observer sees them per iteration", "[subgraph]") {
    auto m = nested_model();
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    std::map<std::string, int> seen;
    auto out = ex.run({{"bias", f32({1}, {3})}, {"n", i64({}, {5})}},
                      [&](const std::string& v, const Tensor&, const graph::Node&) { seen[v]++; });
    // +3, -3, +3, -3, +3
    CHECK(vals(out.at("s")) == std::vector<float>{3});
    CHECK(seen["parity"] == 5);
    CHECK(seen["br_out"] == 3);
    CHECK(seen["br_out2"] == 2);
    CHECK(seen["s"] == 1);
}

TEST_CASE("topo_sort and check_structure resolve outer-scope reads", "[subgraph][graph]") {
    auto m = if_model();
    // x2 = x + x, read only inside the then branch, listed after the If.
    m.graph.nodes[0].attrs["then_branch"].g->nodes[0].inputs = {"x2", "w"};
    m.graph.nodes.push_back(node("Add", {"x", "x"}, {"x2"}, "add_x2"));
    graph::topo_sort(m.graph);
    REQUIRE(m.graph.nodes.size() == 2);
    CHECK(m.graph.nodes[0].name == "add_x2");
    CHECK_NOTHROW(graph::check_structure(m.graph, "m"));
    // A branch reading a value nobody defines is an error naming the branch and the node.
    m.graph.nodes[1].attrs["then_branch"].g->nodes[0].inputs = {"nowhere", "w"};
    CHECK_THROWS_WITH(graph::topo_sort(m.graph), Catch::Contains("If 'if0' then_branch") && Catch::Contains("nowhere"));
}

TEST_CASE("passes see into subgraphs: dead code, constant folding, constants lifted", "[subgraph][graph]") {
    auto m = if_model();
    auto* then_g = m.graph.nodes[0].attrs["then_branch"].g.get();
    // nx = Neg(x) in the main graph is read only inside the branch (not dead); w2 = w * w folds inside the branch
    // (w: outer initializer); a branch node nothing reads goes; a Constant in the branch becomes its initializer.
    m.graph.nodes.push_back(node("Neg", {"x"}, {"nx"}, "neg_x"));
    then_g->nodes.push_back(node("Mul", {"w", "w"}, {"w2"}, "then_sq"));
    then_g->nodes.push_back(node("Constant", {}, {"one"}, "then_one", {{"value", attr_t(f32({}, {1}))}}));
    then_g->nodes.push_back(node("Add", {"nx", "one"}, {"dead"}, "then_dead"));
    then_g->nodes[0].inputs = {"nx", "w2"};
    graph::topo_sort(m.graph);
    REQUIRE(m.graph.nodes[0].name == "neg_x");
    graph::PassContext ctx;
    ctx.evaluate = [](const graph::Node& n, const std::vector<Tensor>& in, int64_t op) {
        return exec::cpu::evaluate_node(n, in, op);
    };
    graph::lift_constants(m);
    graph::run_pipeline(m, ctx);
    REQUIRE(m.graph.nodes.size() == 2);  // Neg and If
    then_g = m.graph.nodes[1].attrs["then_branch"].g.get();
    REQUIRE(then_g->nodes.size() == 1);
    CHECK(then_g->nodes[0].name == "then_mul");
    CHECK(then_g->is_initializer("w2"));
    CHECK(!then_g->is_initializer("one"));  // lifted, then unread: removed
    CHECK(!m.graph.is_initializer("w"));    // its only reader was folded
    auto y = run_model(m, {{"c", bools({}, {true})}, {"x", f32({2}, {1, 2})}}).at("y");
    CHECK(vals(y) == std::vector<float>{-100, -20000});
}

TEST_CASE("the QDQ and FP16 rewrites work inside an If branch (outer-scope weights)", "[subgraph][quant]") {
    auto m = model(13);
    graph::Graph then_g;
    then_g.nodes.push_back(node("MatMul", {"x", "W"}, {"mm"}, "then_matmul"));  // W: main-graph initializer
    then_g.nodes.push_back(node("Relu", {"mm"}, {"t_out"}, "then_relu"));
    then_g.outputs.push_back(untyped_rank("t_out", DType::F32));
    graph::Graph else_g;
    else_g.initializers["W2"] = random_tensor({4, 3}, 7);
    else_g.nodes.push_back(node("MatMul", {"x", "W2"}, {"e_out"}, "else_matmul"));
    else_g.outputs.push_back(untyped_rank("e_out", DType::F32));
    m.graph.inputs = {value("c", {}, DType::Bool), value("x", {2, 4})};
    m.graph.initializers["W"] = random_tensor({4, 3}, 3);
    m.graph.nodes.push_back(node("If", {"c"}, {"y"}, "if0",
                                 {{"then_branch", attr_g(then_g)}, {"else_branch", attr_g(else_g)}}));
    m.graph.outputs.push_back(untyped_rank("y", DType::F32));
    const Tensor x = random_tensor({2, 4}, 11);
    auto ref_t = run_model(m, {{"c", bools({}, {true})}, {"x", x}}).at("y");
    auto ref_e = run_model(m, {{"c", bools({}, {false})}, {"x", x}}).at("y");

    // Calibration covers values that exist only inside a branch (histograms for what a layer there quantizes).
    const auto rt = quant::range_targets(m);
    CHECK(rt.count("mm"));
    CHECK(rt.count("e_out"));
    CHECK(!rt.count("W"));
    CHECK(!rt.count("W2"));
    CHECK(quant::calibration_targets(m).count("mm"));
    auto plan = quant::initial_plan(m, quant::Precision::Int8, {});
    REQUIRE(plan.layers.size() == 2);
    CHECK(plan.find("then_matmul"));
    CHECK(plan.find("else_matmul"));
    std::map<std::string, std::pair<float, float>> ranges = {{"x", {-1, 1}}};
    graph::Model q = m;  // a copy owns its branches
    auto rep = quant::rewrite_qdq(q, plan, ranges, quant::QdqOptions{});
    // m (the copy's source) is untouched: its branches still hold the float MatMuls only
    CHECK(m.graph.nodes[0].attrs.at("then_branch").g->nodes.size() == 2);
    CHECK(rep.layers.size() == 2);
    for (const char* br : {"then_branch", "else_branch"}) {
        const auto& g = *q.graph.nodes[0].attrs.at(br).g;
        int qn = 0, dqn = 0;
        for (const auto& n : g.nodes) {
            qn += n.op_type == "QuantizeLinear";
            dqn += n.op_type == "DequantizeLinear";
        }
        CHECK(qn == 1);   // x, an outer activation, quantized inside the branch
        CHECK(dqn == 2);  // x and the weight
        for (const auto& n : g.nodes)
            if (n.op_type == "MatMul") CHECK(n.inputs[1].find("_dequantized") != std::string::npos);
    }
    CHECK(q.graph.is_initializer("W"));  // the outer float weight stays for any other reader
    graph::check_structure(q.graph, "q");
    auto got_t = run_model(q, {{"c", bools({}, {true})}, {"x", x}}).at("y");
    auto got_e = run_model(q, {{"c", bools({}, {false})}, {"x", x}}).at("y");
    for (int64_t i = 0; i < ref_t.numel(); ++i) {
        CHECK(std::fabs(got_t.to_f32()[i] - ref_t.to_f32()[i]) < 0.05);
        CHECK(std::fabs(got_e.to_f32()[i] - ref_e.to_f32()[i]) < 0.05);
    }

    graph::Model h = m;
    auto fr = quant::rewrite_fp16(h, {"then_matmul", "then_relu", "else_matmul"}, {});
    CHECK(fr.kept_fp32.empty());
    const auto& tg = *h.graph.nodes[0].attrs.at("then_branch").g;
    bool half_weight = false;
    for (const auto& [k, t] : tg.initializers) half_weight |= t.dtype() == DType::F16;
    CHECK(half_weight);  // the outer W converted into a float16 copy of the branch's own
    CHECK(h.graph.initializers.at("W").dtype() == DType::F32);
    auto hy = run_model(h, {{"c", bools({}, {true})}, {"x", x}}).at("y");
    CHECK(hy.dtype() == DType::F32);  // the branch output keeps its type
    for (int64_t i = 0; i < ref_t.numel(); ++i) CHECK(std::fabs(hy.to_f32()[i] - ref_t.to_f32()[i]) < 0.01);
}
