// upgrade_opset: every rewrite keeps the model's outputs bit-identical in the CPU executor (which runs every
// opset) and the upgraded model passes the ONNX checker at the new opset.
#include <catch2/catch.hpp>
#include <cstring>

#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "graph/upgrade_opset.h"
#include "onnx_io/onnx_io.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;
using test::attr_f;
using test::attr_i;
using test::attr_ints;
using test::node;

namespace {

graph::Attribute attr_fs(std::vector<float> v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Floats;
    a.floats = std::move(v);
    return a;
}

std::map<std::string, Tensor> run(const graph::Model& m, const std::map<std::string, Tensor>& in) {
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    return ex.run(in);
}

// One-input model: x (shape xs) -> nodes -> outputs.
graph::Model one_input(int64_t opset, Shape xs, std::vector<graph::Node> nodes, std::vector<graph::ValueInfo> outs,
                       bool record_shape = true) {
    auto m = test::model(opset);
    m.ir_version = 3;
    auto x = test::value("x", xs);
    if (!record_shape) {
        x.has_shape = false;
        x.dims.clear();
    }
    m.graph.inputs.push_back(x);
    m.graph.nodes = std::move(nodes);
    m.graph.outputs = std::move(outs);
    return m;
}

graph::ValueInfo out(const std::string& name, DType dt = DType::F32) {
    graph::ValueInfo v;
    v.name = name;
    v.dtype = dt;
    return v;
}

bool same(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.nbytes() != b.nbytes()) return false;
    return std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Runs before and after upgrading to `target`; outputs must be identical; the result must pass the checker.
graph::Model check_upgrade(graph::Model m, int64_t target, const Tensor& x) {
    const auto before = run(m, {{"x", x}});
    const int64_t from = m.opset();
    CHECK(graph::upgrade_opset(m, target));
    CHECK(m.opset() == target);
    CHECK(m.ir_version >= 7);
    const auto after = run(m, {{"x", x}});
    REQUIRE(before.size() == after.size());
    for (const auto& [k, v] : before) {
        INFO(k << " from opset " << from << " to " << target);
        REQUIRE(after.count(k));
        CHECK(same(v, after.at(k)));
    }
    for (auto& o : m.graph.outputs)  // the checker wants typed outputs: take them from the run
        if (!o.has_shape) o = test::value(o.name, after.at(o.name).shape(), after.at(o.name).dtype());
    for (auto& i : m.graph.inputs)
        if (!i.has_shape) i = test::value(i.name, x.shape(), x.dtype());
    if (target <= 17) CHECK_NOTHROW(onnx_io::check_model(m, "upgraded"));  // Debian's ONNX knows opsets <= 17
    return m;
}

int count_op(const graph::Model& m, const std::string& op) {
    int c = 0;
    for (const auto& n : m.graph.nodes) c += n.op_type == op;
    return c;
}

}  // namespace

TEST_CASE("upgrade_opset: Clip attributes become inputs", "[upgrade]") {
    auto m = one_input(6, {2, 8}, {node("Clip", {"x"}, {"y"}, "clip", {{"min", attr_f(-0.3f)}, {"max", attr_f(0.4f)}}),
                                   node("Clip", {"y"}, {"z"}, "clip_lo", {{"min", attr_f(-0.1f)}})},
                       {out("z")});
    auto u = check_upgrade(m, 13, test::random_tensor({2, 8}, 1));
    CHECK(u.graph.nodes[0].num_inputs() == 3);
    CHECK(u.graph.nodes[1].num_inputs() == 2);
    CHECK(u.graph.nodes[0].attrs.empty());
}

TEST_CASE("upgrade_opset: Softmax family keeps its coerce-to-2D meaning", "[upgrade]") {
    for (const std::string op : {"Softmax", "LogSoftmax", "Hardmax"}) {
        SECTION(op + " with a known rank and the last axis") {
            auto m = one_input(11, {2, 3, 4}, {node(op, {"x"}, {"y"}, "sm", {{"axis", attr_i(2)}})}, {out("y")});
            auto u = check_upgrade(m, 13, test::random_tensor({2, 3, 4}, 2));
            CHECK(u.graph.nodes.size() == 1);
            CHECK(u.graph.nodes[0].attr_int("axis", 0) == -1);
        }
        SECTION(op + " over several axes (default axis 1)") {
            auto m = one_input(9, {2, 3, 4}, {node(op, {"x"}, {"y"}, "sm")}, {out("y")});
            auto u = check_upgrade(m, 13, test::random_tensor({2, 3, 4}, 3));
            CHECK(count_op(u, "Flatten") == 1);
            CHECK(count_op(u, "Reshape") == 1);
        }
        SECTION(op + " with an unknown rank") {
            auto m = one_input(11, {2, 3, 4}, {node(op, {"x"}, {"y"}, "sm", {{"axis", attr_i(-1)}})}, {out("y")},
                               false);
            auto u = check_upgrade(m, 13, test::random_tensor({2, 3, 4}, 4));
            CHECK(count_op(u, "Flatten") == 1);
        }
    }
}

TEST_CASE("upgrade_opset: Slice, Squeeze, Unsqueeze, ReduceSum, Split, TopK, Reshape attributes", "[upgrade]") {
    SECTION("Slice-1") {
        auto m = one_input(9, {4, 6},
                           {node("Slice", {"x"}, {"y"}, "s",
                                 {{"starts", attr_ints({1, -4})}, {"ends", attr_ints({3, 1000})}, {"axes", attr_ints({0, 1})}})},
                           {out("y")});
        auto u = check_upgrade(m, 13, test::random_tensor({4, 6}, 5));
        CHECK(u.graph.nodes[0].num_inputs() == 4);
    }
    SECTION("Squeeze/Unsqueeze/ReduceSum-11") {
        auto m = one_input(11, {1, 3, 4},
                           {node("Squeeze", {"x"}, {"a"}, "sq", {{"axes", attr_ints({0})}}),
                            node("Unsqueeze", {"a"}, {"b"}, "usq", {{"axes", attr_ints({-1, 1})}}),
                            node("ReduceSum", {"b"}, {"y"}, "rs", {{"axes", attr_ints({0})}, {"keepdims", attr_i(0)}}),
                            node("ReduceSum", {"b"}, {"z"}, "rs_all")},
                           {out("y"), out("z")});
        auto u = check_upgrade(m, 13, test::random_tensor({1, 3, 4}, 6));
        for (const auto& n : u.graph.nodes) CHECK_FALSE(n.has_attr("axes"));
        CHECK(u.graph.nodes[3].num_inputs() == 1);  // no axes: reduce over all, as before
    }
    SECTION("ReduceMean/ReduceMax axes become an input at 18") {
        auto m = one_input(13, {2, 3, 4},
                           {node("ReduceMean", {"x"}, {"y"}, "rm", {{"axes", attr_ints({1})}}),
                            node("ReduceMax", {"x"}, {"z"}, "rx", {{"axes", attr_ints({-1, 0})}, {"keepdims", attr_i(0)}})},
                           {out("y"), out("z")});
        auto u = check_upgrade(m, 18, test::random_tensor({2, 3, 4}, 7));
        CHECK(u.graph.nodes[0].num_inputs() == 2);
        CHECK_FALSE(u.graph.nodes[1].has_attr("axes"));
    }
    SECTION("Split-11 with and without split sizes; num_outputs at 18") {
        auto m = one_input(11, {2, 6},
                           {node("Split", {"x"}, {"a", "b"}, "sp", {{"axis", attr_i(1)}, {"split", attr_ints({2, 4})}}),
                            node("Split", {"x"}, {"c", "d", "e"}, "sp_eq", {{"axis", attr_i(1)}})},
                           {out("a"), out("b"), out("c"), out("d"), out("e")});
        auto u = check_upgrade(m, 13, test::random_tensor({2, 6}, 8));
        CHECK(u.graph.nodes[0].num_inputs() == 2);
        auto u18 = check_upgrade(m, 18, test::random_tensor({2, 6}, 8));
        CHECK(u18.graph.nodes[1].attr_int("num_outputs", 0) == 3);
    }
    SECTION("TopK-1") {
        auto m = one_input(9, {3, 5}, {node("TopK", {"x"}, {"v", "i"}, "tk", {{"k", attr_i(2)}})},
                           {out("v"), out("i", DType::I64)});
        auto u = check_upgrade(m, 13, test::random_tensor({3, 5}, 9));
        CHECK(u.graph.nodes[0].num_inputs() == 2);
    }
    SECTION("Reshape-1") {
        auto m = one_input(4, {2, 6}, {node("Reshape", {"x"}, {"y"}, "r", {{"shape", attr_ints({3, -1})}})}, {out("y")});
        check_upgrade(m, 13, test::random_tensor({2, 6}, 10));
    }
}

TEST_CASE("upgrade_opset: Pad attributes become inputs; mode stays", "[upgrade]") {
    auto m = one_input(10, {1, 2, 3, 3},
                       {node("Pad", {"x"}, {"a"}, "p_const", {{"pads", attr_ints({0, 0, 1, 2, 0, 0, 2, 1})}, {"value", attr_f(1.5f)}}),
                        node("Pad", {"a"}, {"y"}, "p_refl",
                             {{"pads", attr_ints({0, 0, 1, 1, 0, 0, 1, 1})}, {"mode", attr_s("reflect")}})},
                       {out("y")});
    auto u = check_upgrade(m, 13, test::random_tensor({1, 2, 3, 3}, 11));
    CHECK(u.graph.nodes[0].num_inputs() == 3);
    CHECK(u.graph.nodes[1].attr_string("mode", "") == "reflect");
}

TEST_CASE("upgrade_opset: Upsample and Resize-10 become Resize-13 with the same sampling", "[upgrade]") {
    const Tensor x = test::random_tensor({1, 2, 3, 4}, 12);
    SECTION("Upsample-7 nearest and linear (attribute scales)") {
        auto m = one_input(7, {1, 2, 3, 4},
                           {node("Upsample", {"x"}, {"y"}, "up_n", {{"scales", attr_fs({1, 1, 2, 3})}}),
                            node("Upsample", {"x"}, {"z"}, "up_l", {{"scales", attr_fs({1, 1, 1.5f, 2})}, {"mode", attr_s("linear")}})},
                           {out("y"), out("z")});
        auto u = check_upgrade(m, 13, x);
        CHECK(count_op(u, "Resize") == 2);
        CHECK(u.graph.nodes[0].attr_string("nearest_mode", "") == "floor");
        CHECK(u.graph.nodes[1].attr_string("coordinate_transformation_mode", "") == "asymmetric");
    }
    SECTION("Upsample-9 (scales input)") {
        auto m = one_input(9, {1, 2, 3, 4}, {node("Upsample", {"x", "s"}, {"y"}, "up")}, {out("y")});
        m.graph.initializers["s"] = Tensor::from_f32({4}, {1, 1, 2, 2});
        check_upgrade(m, 13, x);
    }
    SECTION("Resize-10 nearest downsampling rounds up, linear") {
        auto m = one_input(10, {1, 2, 6, 8},
                           {node("Resize", {"x", "s"}, {"y"}, "rs_n"),
                            node("Resize", {"x", "t"}, {"z"}, "rs_l", {{"mode", attr_s("linear")}})},
                           {out("y"), out("z")});
        m.graph.initializers["s"] = Tensor::from_f32({4}, {1, 1, 0.6f, 0.5f});
        m.graph.initializers["t"] = Tensor::from_f32({4}, {1, 1, 2.5f, 0.75f});
        auto u = check_upgrade(m, 13, test::random_tensor({1, 2, 6, 8}, 13));
        CHECK(u.graph.nodes[0].attr_string("nearest_mode", "") == "ceil");
    }
    SECTION("nearest with non-constant scales is refused, naming the node") {
        auto m = one_input(9, {1, 2, 3, 4}, {node("Upsample", {"x", "s"}, {"y"}, "up_dyn")}, {out("y")});
        m.graph.inputs.push_back(test::value("s", {4}));
        CHECK_THROWS_WITH(graph::upgrade_opset(m, 13), Catch::Contains("up_dyn") && Catch::Contains("opset 9 to 13"));
        CHECK(m.opset() == 9);
        CHECK(m.graph.nodes[0].op_type == "Upsample");  // untouched on failure
    }
}

TEST_CASE("upgrade_opset: Dropout, BatchNormalization, Scatter, legacy attributes", "[upgrade]") {
    SECTION("Dropout-6 with is_test becomes Identity; Dropout-10 with a used mask gets a ratio input") {
        auto m = one_input(6, {2, 3}, {node("Dropout", {"x"}, {"y"}, "d", {{"is_test", attr_i(1)}, {"ratio", attr_f(0.3f)}})},
                           {out("y")});
        auto u = check_upgrade(m, 13, test::random_tensor({2, 3}, 14));
        CHECK(u.graph.nodes[0].op_type == "Identity");
        auto m2 = one_input(10, {2, 3}, {node("Dropout", {"x"}, {"y", "mask"}, "d", {{"ratio", attr_f(0.3f)}})},
                            {out("y"), out("mask", DType::Bool)});
        auto u2 = check_upgrade(m2, 13, test::random_tensor({2, 3}, 14));
        CHECK(u2.graph.nodes[0].op_type == "Dropout");
        CHECK(u2.graph.nodes[0].num_inputs() == 2);
    }
    SECTION("BatchNormalization-1 (is_test, spatial, consumed_inputs) and unused statistics outputs") {
        auto m = one_input(5, {1, 3, 2, 2},
                           {node("BatchNormalization", {"x", "s", "b", "mu", "var"}, {"y", "", "", "", ""}, "bn",
                                 {{"is_test", attr_i(1)}, {"spatial", attr_i(1)}, {"consumed_inputs", attr_ints({0, 0, 0, 1, 1})},
                                  {"epsilon", attr_f(1e-3f)}})},
                           {out("y")});
        m.graph.initializers["s"] = test::random_tensor({3}, 15);
        m.graph.initializers["b"] = test::random_tensor({3}, 16);
        m.graph.initializers["mu"] = test::random_tensor({3}, 17);
        m.graph.initializers["var"] = test::random_tensor({3}, 18, 0.5f, 1.f);
        auto u = check_upgrade(m, 15, test::random_tensor({1, 3, 2, 2}, 19));
        CHECK(u.graph.nodes[0].outputs.size() == 1);
        CHECK(u.graph.nodes[0].attrs.size() == 1);  // epsilon
    }
    SECTION("BatchNormalization with spatial=0 is refused") {
        auto m = one_input(7, {1, 3}, {node("BatchNormalization", {"x", "s", "b", "mu", "var"}, {"y"}, "bn0", {{"spatial", attr_i(0)}})},
                           {out("y")});
        CHECK_THROWS_WITH(graph::upgrade_opset(m, 13), Catch::Contains("bn0") && Catch::Contains("spatial"));
    }
    SECTION("Scatter-9 becomes ScatterElements") {
        auto m = one_input(9, {3, 3}, {node("Scatter", {"x", "i", "u"}, {"y"}, "sc", {{"axis", attr_i(1)}})}, {out("y")});
        m.graph.initializers["i"] = Tensor::from_i64({1, 2}, {2, 0});
        m.graph.initializers["u"] = Tensor::from_f32({1, 2}, {7, 8});
        auto u = check_upgrade(m, 13, test::random_tensor({3, 3}, 20));
        CHECK(u.graph.nodes[0].op_type == "ScatterElements");
    }
    SECTION("Add-6 with trailing broadcast; Gemm broadcast; Concat-1 default axis") {
        auto m = one_input(3, {2, 3},
                           {node("Add", {"x", "b"}, {"a"}, "add", {{"broadcast", attr_i(1)}, {"axis", attr_i(1)}}),
                            node("Gemm", {"a", "w", "c"}, {"g"}, "gemm", {{"broadcast", attr_i(1)}}),
                            node("Concat", {"g", "g"}, {"y"}, "cat")},
                           {out("y")});
        m.graph.initializers["b"] = test::random_tensor({3}, 21);
        m.graph.initializers["w"] = test::random_tensor({3, 4}, 22);
        m.graph.initializers["c"] = test::random_tensor({4}, 23);
        auto u = check_upgrade(m, 13, test::random_tensor({2, 3}, 24));
        CHECK(u.graph.nodes[0].attrs.empty());
        CHECK(u.graph.nodes[2].attr_int("axis", -1) == 1);
    }
    SECTION("Add-6 broadcast on a leading axis is refused") {
        auto m = one_input(6, {2, 3}, {node("Mul", {"x", "b"}, {"y"}, "mul_axis0", {{"broadcast", attr_i(1)}, {"axis", attr_i(0)}})},
                           {out("y")});
        m.graph.initializers["b"] = test::random_tensor({2}, 25);
        CHECK_THROWS_WITH(graph::upgrade_opset(m, 13), Catch::Contains("mul_axis0") && Catch::Contains("opset 6 to 13"));
    }
}

TEST_CASE("upgrade_opset: unhandled schema changes, unknown ops, bad targets", "[upgrade]") {
    auto m = one_input(9, {1, 2}, {node("Tile", {"x", "r"}, {"y"}, "ok_tile"),
                                   node("GroupNormalization", {"y", "s", "b"}, {"z"}, "gn", {{"num_groups", attr_i(1)}})},
                       {out("z")});
    // GroupNormalization changed meaning at 21: refused, but fine up to 20.
    m.opsets[""] = 18;
    auto m20 = m;
    CHECK_NOTHROW(graph::upgrade_opset(m20, 20));
    CHECK_THROWS_WITH(graph::upgrade_opset(m, 21),
                      Catch::Contains("GroupNormalization 'gn'") && Catch::Contains("opset 18 to 21") &&
                          Catch::Contains("changed at opset 21"));
    auto tile = one_input(5, {1, 2}, {node("Tile", {"x", "t", "a"}, {"y"}, "old_tile")}, {out("y")});
    CHECK_THROWS_WITH(graph::upgrade_opset(tile, 13), Catch::Contains("old_tile") && Catch::Contains("opset 6"));
    auto unk = one_input(11, {1, 2}, {node("FancyOp", {"x"}, {"y"}, "fancy")}, {out("y")});
    CHECK_THROWS_WITH(graph::upgrade_opset(unk, 13), Catch::Contains("fancy"));
    auto custom = unk;
    custom.graph.nodes[0].domain = "com.example";
    CHECK(graph::upgrade_opset(custom, 13));  // other domains are left alone
    auto same_opset = unk;
    CHECK_FALSE(graph::upgrade_opset(same_opset, 11));
    CHECK_THROWS(graph::upgrade_opset(same_opset, 10));
    CHECK_THROWS(graph::upgrade_opset(same_opset, 22));
}

TEST_CASE("upgrade_opset: new names do not collide", "[upgrade]") {
    auto m = one_input(6, {2, 2}, {node("Clip", {"x"}, {"clip_min"}, "clip", {{"min", attr_f(0.f)}}),
                                   node("Clip", {"clip_min"}, {"y"}, "clip2", {{"min", attr_f(0.1f)}})},
                       {out("y")});
    m.graph.initializers["unused_const"] = Tensor::scalar_f32(1);
    auto u = check_upgrade(m, 13, test::random_tensor({2, 2}, 26));
    CHECK(u.graph.nodes[0].input(1) != "clip_min");
    CHECK(u.graph.nodes[0].input(1) != u.graph.nodes[1].input(1));
}
