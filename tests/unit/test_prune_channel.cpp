// Channel pruning on generated graphs: the pruned model computes exactly what the original computes with the
// removed channels masked (filters and biases zeroed, BatchNorm scale/bias of those channels 0), through
// BatchNorm, residual Add, Concat, depthwise convolutions, Flatten/GlobalAveragePool -> Gemm, Resize and MaxPool;
// output shapes are unchanged and the model passes the ONNX checker with strict shape inference.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "onnx_io/onnx_io.h"
#include "prune/channel.h"
#include "prune/channel_graph.h"
#include "prune/prune.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_i;
using test::attr_ints;

namespace {

graph::Node& find_node(graph::Model& m, const std::string& name) {
    for (auto& n : m.graph.nodes)
        if (n.name == name) return n;
    FAIL("no node " << name);
    throw 0;
}

const prune::LayerResult& layer(const prune::PruneResult& r, const std::string& name) {
    for (const auto& l : r.layers)
        if (l.node == name) return l;
    FAIL("no layer " << name);
    throw 0;
}

// The masked reference: layer `node`'s removed output channels get zero filters and bias.
void mask_layer(graph::Model& m, const std::string& node, const std::vector<int64_t>& removed) {
    graph::Node& n = find_node(m, node);
    auto& g = m.graph;
    g.initializers[n.input(1)] = test::zero_along(g.initializers.at(n.input(1)), prune::weight_out_axis(n), removed);
    if (!n.input(2).empty()) {
        const Tensor& b = g.initializers.at(n.input(2));
        g.initializers[n.input(2)] = test::zero_along(b, b.rank() - 1, removed);
    }
}
// BatchNorm `node` outputs exactly 0 on channels `idx` (scale and bias 0).
void mask_bn(graph::Model& m, const std::string& node, const std::vector<int64_t>& idx) {
    graph::Node& n = find_node(m, node);
    for (size_t k : {1, 2})
        m.graph.initializers[n.input(k)] = test::zero_along(m.graph.initializers.at(n.input(k)), 0, idx);
}

// Pruned vs masked reference on a random input: same output shapes and values (max error within 1e-5 of the
// largest output magnitude, or of 1), and the pruned model is valid ONNX (checker + strict shape inference over
// the rewritten value_info).
void check_equivalent(const graph::Model& pruned, const graph::Model& masked, const graph::Model& original) {
    CHECK_NOTHROW(onnx_io::check_model(pruned, "pruned"));
    REQUIRE(pruned.graph.outputs.size() == original.graph.outputs.size());
    for (size_t i = 0; i < pruned.graph.outputs.size(); ++i)
        CHECK(pruned.graph.outputs[i].static_shape() == original.graph.outputs[i].static_shape());
    Tensor x = test::random_tensor(*original.graph.inputs[0].static_shape(), 77);
    auto a = test::run_model(masked, {{"x", x}}), b = test::run_model(pruned, {{"x", x}});
    auto full = test::run_model(original, {{"x", x}});
    for (const auto& o : original.graph.outputs) {
        const Tensor &ra = a.at(o.name), &rb = b.at(o.name);
        REQUIRE(ra.shape() == rb.shape());
        auto va = ra.to_f32(), vb = rb.to_f32(), vf = full.at(o.name).to_f32();
        double worst = 0, moved = 0, scale = 1.0;
        for (size_t i = 0; i < va.size(); ++i) {
            worst = std::max(worst, std::fabs((double)va[i] - vb[i]));
            moved = std::max(moved, std::fabs((double)va[i] - vf[i]));
            scale = std::max(scale, std::fabs((double)va[i]));
        }
        CHECK(worst / scale <= 1e-5);
        CHECK(moved > 1e-3);  // the masking mattered: the test compares something
    }
}

prune::PruneOptions channel_options(double s) {
    prune::PruneOptions o;
    o.pattern = prune::Pattern::Channel;
    o.sparsity = s;
    o.include_ends = true;
    return o;
}

const Shape kX{1, 4, 6, 6};
Shape nchw(int64_t c, int64_t hw = 6) {
    return {1, c, hw, hw};
}

// (a) Conv -> BN -> Relu -> Conv -> BN -> Relu -> Conv
graph::Model conv_bn() {
    test::GraphBuilder b(kX);
    b.output("y", nchw(6));
    b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
    b.bn("bn0", "a0", "b0", 8, nchw(8));
    b.op("Relu", {"b0"}, "r0", nchw(8));
    b.conv("c1", "r0", "a1", 8, 8, 3, nchw(8));
    b.bn("bn1", "a1", "b1", 8, nchw(8));
    b.op("Relu", {"b1"}, "r1", nchw(8));
    b.conv("c2", "r1", "y", 8, 6, 1, nchw(6));
    return b.m;
}

// (b) residual: Conv c0 -> Relu -> Conv c1 -> Relu -> Conv c2, + skip (Relu of c0) -> Add -> Conv c3
graph::Model residual() {
    test::GraphBuilder b(kX);
    b.output("y", nchw(5));
    b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
    b.op("Relu", {"a0"}, "r0", nchw(8));
    b.conv("c1", "r0", "a1", 8, 8, 3, nchw(8));
    b.op("Relu", {"a1"}, "r1", nchw(8));
    b.conv("c2", "r1", "a2", 8, 8, 3, nchw(8));
    b.op("Add", {"a2", "r0"}, "s", nchw(8));
    b.conv("c3", "s", "y", 8, 5, 1, nchw(5));
    return b.m;
}

}  // namespace

TEST_CASE("channel: Conv -> BatchNorm -> Relu -> Conv", "[prune][channel]") {
    graph::Model orig = conv_bn(), m = orig;
    auto r = prune::prune_model(m, channel_options(0.5));
    const auto &c0 = layer(r, "c0"), &c1 = layer(r, "c1"), &c2 = layer(r, "c2");
    REQUIRE(c0.skipped_reason.empty());
    CHECK(c0.pattern == "channel");
    CHECK(c0.channels == 4);
    CHECK(c0.removed_channels.size() == 4);
    CHECK(c1.channels == 4);
    CHECK(m.graph.initializers.at("c1.w").shape() == Shape{4, 4, 3, 3});
    CHECK(m.graph.initializers.at("bn0.var").shape() == Shape{4});
    CHECK(m.graph.value_info.at("r0").dims[1].value == 4);
    CHECK(c2.skipped_reason.find("graph output 'y'") != std::string::npos);
    CHECK(m.graph.initializers.at("c2.w").shape() == Shape{6, 4, 1, 1});
    // the removed channels are those with the smallest L1 filter norms
    auto norms = prune::channel_norms(find_node(orig, "c0"), orig.graph.initializers.at("c0.w"), prune::Criterion::L1);
    double max_removed = 0, min_kept = 1e30;
    for (int64_t c = 0; c < 8; ++c) {
        if (std::count(c0.removed_channels.begin(), c0.removed_channels.end(), c))
            max_removed = std::max(max_removed, norms[c]);
        else
            min_kept = std::min(min_kept, norms[c]);
    }
    CHECK(max_removed <= min_kept);
    // MACs shrink in the pruned layers and in their consumers
    CHECK(*c1.macs == 36 * 4 * 4 * 9);
    CHECK(*c2.macs == 36 * 6 * 4);
    graph::Model masked = orig;
    mask_layer(masked, "c0", c0.removed_channels);
    mask_bn(masked, "bn0", c0.removed_channels);
    mask_layer(masked, "c1", c1.removed_channels);
    mask_bn(masked, "bn1", c1.removed_channels);
    check_equivalent(m, masked, orig);

    // default: first and last layers kept
    graph::Model m2 = orig;
    prune::PruneOptions o = channel_options(0.5);
    o.include_ends = false;
    auto r2 = prune::prune_model(m2, o);
    CHECK(layer(r2, "c0").skipped_reason.find("first layer") != std::string::npos);
    CHECK(layer(r2, "c2").skipped_reason.find("last layer") != std::string::npos);
    CHECK(layer(r2, "c1").channels == 4);
    CHECK(layer(r2, "c0").channels == 8);
}

TEST_CASE("channel: residual Add ties the channels of its producers", "[prune][channel]") {
    graph::Model orig = residual(), m = orig;
    auto r = prune::prune_model(m, channel_options(0.5));
    const auto &c0 = layer(r, "c0"), &c1 = layer(r, "c1"), &c2 = layer(r, "c2");
    REQUIRE(c0.skipped_reason.empty());
    REQUIRE(c2.skipped_reason.empty());
    CHECK(c0.removed_channels == c2.removed_channels);
    CHECK(c0.tied_to == std::vector<std::string>{"c2"});
    CHECK(c2.tied_to == std::vector<std::string>{"c0"});
    CHECK(c1.tied_to.empty());
    CHECK(c0.channels == 4);
    CHECK(c1.channels == 4);
    // the group is ranked by the summed norms of c0 and c2
    auto n0 = prune::channel_norms(find_node(orig, "c0"), orig.graph.initializers.at("c0.w"), prune::Criterion::L1);
    auto n2 = prune::channel_norms(find_node(orig, "c2"), orig.graph.initializers.at("c2.w"), prune::Criterion::L1);
    double max_removed = 0, min_kept = 1e30;
    for (int64_t c = 0; c < 8; ++c) {
        double v = n0[c] + n2[c];
        if (std::count(c0.removed_channels.begin(), c0.removed_channels.end(), c))
            max_removed = std::max(max_removed, v);
        else
            min_kept = std::min(min_kept, v);
    }
    CHECK(max_removed <= min_kept);
    graph::Model masked = orig;
    mask_layer(masked, "c0", c0.removed_channels);
    mask_layer(masked, "c1", c1.removed_channels);
    mask_layer(masked, "c2", c2.removed_channels);
    check_equivalent(m, masked, orig);

    // one member kept: the whole group is kept, with the reason
    graph::Model m2 = orig;
    prune::PruneOptions o = channel_options(0.5);
    o.exclude = {"c2"};
    auto r2 = prune::prune_model(m2, o);
    CHECK(layer(r2, "c0").skipped_reason.find("tied to 'c2'") != std::string::npos);
    CHECK(layer(r2, "c2").skipped_reason.find("excluded") != std::string::npos);
    CHECK(layer(r2, "c1").channels == 4);
    CHECK(layer(r2, "c0").channels == 8);
    CHECK_NOTHROW(onnx_io::check_model(m2, "pruned"));

    // the other input of Add is the graph input: its channels are fixed
    test::GraphBuilder b(kX);
    b.output("y", nchw(3));
    b.conv("c0", "x", "a0", 4, 4, 3, nchw(4));
    b.op("Add", {"a0", "x"}, "s", nchw(4));
    b.conv("c1", "s", "y", 4, 3, 1, nchw(3));
    auto r3 = prune::prune_model(b.m, channel_options(0.5));
    CHECK(layer(r3, "c0").skipped_reason.find("whose channels are fixed") != std::string::npos);
}

TEST_CASE("channel: two branches -> Concat -> BatchNorm -> Conv", "[prune][channel]") {
    test::GraphBuilder b(kX);
    b.output("y", nchw(5));
    b.conv("ca", "x", "aa", 4, 6, 3, nchw(6));
    b.op("Relu", {"aa"}, "ra", nchw(6));
    b.conv("cb", "x", "ab", 4, 10, 1, nchw(10));
    b.op("Relu", {"ab"}, "rb", nchw(10));
    b.op("Concat", {"ra", "rb"}, "cat", nchw(16), {{"axis", attr_i(1)}});
    b.bn("bnc", "cat", "bc", 16, nchw(16));
    b.conv("c", "bc", "y", 16, 5, 1, nchw(5));
    graph::Model orig = b.m, m = orig;
    auto r = prune::prune_model(m, channel_options(0.5));
    const auto &ca = layer(r, "ca"), &cb = layer(r, "cb");
    REQUIRE(ca.skipped_reason.empty());
    REQUIRE(cb.skipped_reason.empty());
    CHECK(ca.channels == 3);
    CHECK(cb.channels == 5);
    CHECK(m.graph.initializers.at("bnc.scale").shape() == Shape{8});
    CHECK(m.graph.initializers.at("c.w").shape() == Shape{5, 8, 1, 1});
    CHECK(m.graph.value_info.at("cat").dims[1].value == 8);
    graph::Model masked = orig;
    mask_layer(masked, "ca", ca.removed_channels);
    mask_layer(masked, "cb", cb.removed_channels);
    std::vector<int64_t> cat_removed = ca.removed_channels;
    for (int64_t c : cb.removed_channels) cat_removed.push_back(6 + c);
    mask_bn(masked, "bnc", cat_removed);
    check_equivalent(m, masked, orig);
}

TEST_CASE("channel: Conv -> depthwise Conv -> pointwise Conv", "[prune][channel]") {
    for (int64_t mult : {1, 2}) {
        test::GraphBuilder b(kX);
        b.output("y", nchw(6));
        b.conv("c0", "x", "a0", 4, 8, 1, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        b.conv("dw", "r0", "d", 8, 8 * mult, 3, nchw(8 * mult), 8);
        b.op("Relu", {"d"}, "rd", nchw(8 * mult));
        b.conv("pw", "rd", "y", 8 * mult, 6, 1, nchw(6));
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.5));
        const auto &c0 = layer(r, "c0"), &dw = layer(r, "dw");
        REQUIRE(c0.skipped_reason.empty());
        CHECK(c0.channels == 4);
        // the depthwise layer follows its producer: group updated, its channels removed with c0's
        CHECK(dw.skipped_reason.empty());
        CHECK(dw.tied_to == std::vector<std::string>{"c0"});
        CHECK(dw.channels == 4 * mult);
        CHECK(find_node(m, "dw").attr_int("group", 0) == 4);
        CHECK(m.graph.initializers.at("dw.w").shape() == Shape{4 * mult, 1, 3, 3});
        CHECK(m.graph.initializers.at("pw.w").shape() == Shape{6, 4 * mult, 1, 1});
        std::vector<int64_t> dw_removed;
        for (int64_t c : c0.removed_channels)
            for (int64_t j = 0; j < mult; ++j) dw_removed.push_back(c * mult + j);
        CHECK(dw.removed_channels == dw_removed);
        graph::Model masked = orig;
        mask_layer(masked, "c0", c0.removed_channels);
        mask_layer(masked, "dw", dw_removed);
        check_equivalent(m, masked, orig);
    }
}

TEST_CASE("channel: Conv -> GlobalAveragePool/Flatten -> Gemm", "[prune][channel]") {
    SECTION("GlobalAveragePool -> Flatten -> Gemm (transB)") {
        test::GraphBuilder b(kX);
        b.output("y", {1, 3});
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        b.op("GlobalAveragePool", {"r0"}, "g", {1, 8, 1, 1});
        b.op("Flatten", {"g"}, "f", {1, 8});
        b.gemm("fc", "f", "y", 8, 3, {1, 3}, true);
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.25));
        const auto& c0 = layer(r, "c0");
        REQUIRE(c0.skipped_reason.empty());
        CHECK(c0.channels == 6);
        CHECK(m.graph.initializers.at("fc.w").shape() == Shape{3, 6});
        CHECK(layer(r, "fc").skipped_reason.find("graph output") != std::string::npos);
        graph::Model masked = orig;
        mask_layer(masked, "c0", c0.removed_channels);
        check_equivalent(m, masked, orig);
    }
    SECTION("GlobalAveragePool -> Squeeze (axes 2, 3) -> Gemm") {
        test::GraphBuilder b(kX);
        b.output("y", {1, 3});
        b.m.graph.initializers["axes"] = test::i64({2}, {2, 3});
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        b.op("GlobalAveragePool", {"r0"}, "g", {1, 8, 1, 1});
        b.op("Squeeze", {"g", "axes"}, "f", {1, 8});
        b.gemm("fc", "f", "y", 8, 3, {1, 3}, false);
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.5));
        const auto& c0 = layer(r, "c0");
        REQUIRE(c0.skipped_reason.empty());
        CHECK(m.graph.initializers.at("fc.w").shape() == Shape{4, 3});
        graph::Model masked = orig;
        mask_layer(masked, "c0", c0.removed_channels);
        check_equivalent(m, masked, orig);
    }
    SECTION("Flatten of a 4x4 map -> Gemm: each channel is a block of 16 features") {
        test::GraphBuilder b({1, 4, 4, 4});
        b.output("y", {1, 3});
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8, 4));
        b.op("Relu", {"a0"}, "r0", nchw(8, 4));
        b.op("Flatten", {"r0"}, "f", {1, 128});
        b.gemm("fc", "f", "y", 128, 3, {1, 3}, false);
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.5));
        const auto& c0 = layer(r, "c0");
        REQUIRE(c0.skipped_reason.empty());
        CHECK(m.graph.initializers.at("fc.w").shape() == Shape{64, 3});
        CHECK(*layer(r, "fc").macs == 64 * 3);
        CHECK(*c0.macs == 4 * 16 * 4 * 9);
        graph::Model masked = orig;
        mask_layer(masked, "c0", c0.removed_channels);
        check_equivalent(m, masked, orig);
        // without a known spatial size the layer is skipped
        graph::Model m2 = orig;
        m2.graph.value_info["r0"].dims[2] = graph::Dim{-1, "H"};
        auto r2 = prune::prune_model(m2, channel_options(0.5));
        CHECK(layer(r2, "c0").skipped_reason.find("spatial size") != std::string::npos);
    }
}

TEST_CASE("channel: Resize (sizes and scales) and MaxPool pass channels through", "[prune][channel]") {
    for (bool sizes : {true, false}) {
        test::GraphBuilder b(kX);
        b.output("y", nchw(5));
        b.m.graph.initializers["rs.sizes"] = test::i64({4}, {1, 8, 12, 12});
        b.m.graph.initializers["rs.scales"] = test::f32({4}, {1, 1, 2, 2});
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        b.op("Resize",
             sizes ? std::vector<std::string>{"r0", "", "", "rs.sizes"}
                   : std::vector<std::string>{"r0", "", "rs.scales"},
             "rs", nchw(8, 12), {{"mode", test::attr_s("nearest")}});
        b.conv("c1", "rs", "a1", 8, 8, 3, nchw(8, 12));
        b.op("Relu", {"a1"}, "r1", nchw(8, 12));
        b.op("MaxPool", {"r1"}, "mp", nchw(8), {{"kernel_shape", attr_ints({2, 2})}, {"strides", attr_ints({2, 2})}});
        b.conv("c2", "mp", "y", 8, 5, 1, nchw(5));
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.5));
        const auto &c0 = layer(r, "c0"), &c1 = layer(r, "c1");
        REQUIRE(c0.skipped_reason.empty());
        REQUIRE(c1.skipped_reason.empty());
        if (sizes) CHECK(m.graph.initializers.at("rs.sizes").to_i64() == std::vector<int64_t>{1, 4, 12, 12});
        CHECK(m.graph.value_info.at("mp").dims[1].value == 4);
        graph::Model masked = orig;
        mask_layer(masked, "c0", c0.removed_channels);
        mask_layer(masked, "c1", c1.removed_channels);
        check_equivalent(m, masked, orig);
    }
}

TEST_CASE("channel: layers that cannot be pruned safely are skipped with the reason", "[prune][channel]") {
    auto build = [](const std::string& what) {
        test::GraphBuilder b(kX);
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        if (what == "reshape") {
            b.output("y", {1, 3});
            b.m.graph.initializers["shape"] = test::i64({2}, {1, -1});
            b.op("Reshape", {"r0", "shape"}, "f", {1, 288});
            b.gemm("fc", "f", "y", 288, 3, {1, 3}, true);
        } else if (what == "softmax" || what == "transpose") {
            b.output("y", nchw(3));
            if (what == "softmax")
                b.op("Softmax", {"r0"}, "t", nchw(8), {{"axis", attr_i(1)}});
            else
                b.op("Transpose", {"r0"}, "t", nchw(8), {{"perm", attr_ints({0, 1, 3, 2})}});
            b.conv("c1", "t", "y", 8, 3, 1, nchw(3));
        } else if (what == "broadcast") {
            b.output("y", nchw(3));
            b.m.graph.inputs.push_back(test::value("z", {1, 8, 1, 1}));
            b.op("Mul", {"r0", "z"}, "t", nchw(8));
            b.conv("c1", "t", "y", 8, 3, 1, nchw(3));
        } else {  // unknown shape
            b.output("y", nchw(3));
            b.conv("c1", "r0", "y", 8, 3, 1, nchw(3));
            b.m.graph.value_info.erase("r0");
        }
        return b.m;
    };
    const std::vector<std::pair<std::string, std::string>> cases{{"reshape", "Reshape"},
                                                                 {"softmax", "Softmax"},
                                                                 {"transpose", "Transpose"},
                                                                 {"broadcast", "'z'"},
                                                                 {"unknown", "shape of 'r0' is unknown"}};
    for (const auto& [what, reason] : cases) {
        INFO(what);
        graph::Model m = build(what);
        auto r = prune::prune_model(m, channel_options(0.5));
        CHECK(layer(r, "c0").skipped_reason.find(reason) != std::string::npos);
        CHECK(layer(r, "c0").channels == 8);
        CHECK(layer(r, "c0").removed_channels.empty());
    }
    // a grouped (not depthwise) convolution stops its producer's channels
    test::GraphBuilder b(kX);
    b.output("y", nchw(4));
    b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
    b.conv("g", "a0", "y", 8, 4, 3, nchw(4), 2);
    auto r = prune::prune_model(b.m, channel_options(0.5));
    CHECK(layer(r, "c0").skipped_reason.find("grouped") != std::string::npos);
    CHECK(layer(r, "g").skipped_reason.find("grouped convolution") != std::string::npos);
}

TEST_CASE("channel: exact counts kept, rounding, channel multiple, criterion, determinism", "[prune][channel]") {
    auto chain = [] {
        test::GraphBuilder b(kX);
        b.output("y", nchw(3));
        b.conv("c0", "x", "a0", 4, 10, 3, nchw(10));
        b.op("Relu", {"a0"}, "r0", nchw(10));
        b.conv("c1", "r0", "a1", 10, 2, 1, nchw(2));
        b.op("Relu", {"a1"}, "r1", nchw(2));
        b.conv("c2", "r1", "a2", 2, 8, 1, nchw(8));
        b.op("Relu", {"a2"}, "r2", nchw(8));
        b.conv("c3", "r2", "y", 8, 3, 1, nchw(3));
        return b.m;
    };
    struct Case {
        double s;
        int64_t multiple, c0, c1, c2;
    };
    // nearest whole number of channels removed, a tie (half a channel) keeps it, at least one kept
    for (const Case& k : {Case{0.3, 1, 7, 1, 6}, Case{0.3, 4, 8, 2, 8}, Case{0.25, 1, 8, 2, 6}, Case{0.95, 1, 1, 1, 1},
                          Case{0.0, 1, 10, 2, 8}}) {
        INFO("sparsity " << k.s << " multiple " << k.multiple);
        graph::Model m = chain();
        auto o = channel_options(k.s);
        o.channel_multiple = k.multiple;
        auto r = prune::prune_model(m, o);
        CHECK(layer(r, "c0").channels == k.c0);
        CHECK(layer(r, "c1").channels == k.c1);
        CHECK(layer(r, "c2").channels == k.c2);
        CHECK(m.graph.initializers.at("c3.w").shape() == Shape{3, k.c2, 1, 1});
        CHECK_NOTHROW(onnx_io::check_model(m, "pruned"));
    }
    // same model and options: byte-identical result
    graph::Model a = chain(), b = chain();
    prune::prune_model(a, channel_options(0.4));
    prune::prune_model(b, channel_options(0.4));
    CHECK(onnx_io::serialize_model(a) == onnx_io::serialize_model(b));

    // L1 and L2 rank differently: channel 0 has one weight of 3 (L1 3, L2 3), channel 1 nine of 0.5 (L1 4.5,
    // L2 1.5), channel 2 nine of 2 (L1 18, L2 6)
    test::GraphBuilder g({1, 1, 4, 4});
    g.output("y", {1, 2, 4, 4});
    g.conv("c0", "x", "a0", 1, 3, 3, {1, 3, 4, 4}, 1, false);
    g.conv("c1", "a0", "y", 3, 2, 1, {1, 2, 4, 4});
    std::vector<float> w(27, 0.0f);
    w[4] = 3.0f;
    for (int i = 9; i < 18; ++i) w[i] = 0.5f;
    for (int i = 18; i < 27; ++i) w[i] = 2.0f;
    g.m.graph.initializers["c0.w"] = test::f32({3, 1, 3, 3}, w);
    for (auto [crit, gone] : {std::pair{prune::Criterion::L1, 0}, std::pair{prune::Criterion::L2, 1}}) {
        graph::Model m = g.m;
        auto o = channel_options(1.0 / 3.0);
        o.criterion = crit;
        auto r = prune::prune_model(m, o);
        CHECK(layer(r, "c0").removed_channels == std::vector<int64_t>{gone});
    }
}

TEST_CASE("channel: global scope, one threshold over group-normalized norms with a minimum kept fraction",
          "[prune][channel]") {
    graph::Model orig = residual();
    // c1's weights 100x larger: raw norms would prune only the residual group
    orig.graph.initializers["c1.w"] = test::random_tensor({8, 8, 3, 3}, 5, -100.0f, 100.0f);
    graph::Model m = orig;
    auto o = channel_options(0.5);
    o.scope = prune::Scope::Global;
    o.min_keep = 0.25;
    auto r = prune::prune_model(m, o);
    const auto &c0 = layer(r, "c0"), &c1 = layer(r, "c1");
    // 16 channels in two groups ({c0, c2}, {c1}); c3 reaches the output
    CHECK(c0.removed_channels.size() + c1.removed_channels.size() == 8);
    CHECK(c0.channels >= 2);
    CHECK(c1.channels >= 2);
    CHECK(c1.removed_channels.size() > 0);
    graph::Model masked = orig;
    mask_layer(masked, "c0", c0.removed_channels);
    mask_layer(masked, "c1", c1.removed_channels);
    mask_layer(masked, "c2", c0.removed_channels);
    check_equivalent(m, masked, orig);
    // more than the minimum kept fractions allow
    graph::Model m2 = orig;
    o.sparsity = 0.9;
    o.min_keep = 0.5;
    CHECK_THROWS_AS(prune::prune_model(m2, o), hq::Error);
}

TEST_CASE("channel: MatMul + bias Add, ConvTranspose, per-channel Q/DQ", "[prune][channel]") {
    SECTION("MatMul -> Add (constant bias) -> Relu -> MatMul") {
        test::GraphBuilder b({3, 8});
        b.output("y", {3, 5});
        b.m.graph.initializers["m0.w"] = test::random_tensor({8, 16}, 1);
        b.m.graph.initializers["m0.b"] = test::random_tensor({16}, 2);
        b.m.graph.initializers["m1.w"] = test::random_tensor({16, 5}, 3);
        b.m.graph.nodes.push_back(test::node("MatMul", {"x", "m0.w"}, {"h"}, "m0"));
        b.shape("h", {3, 16});
        b.op("Add", {"h", "m0.b"}, "hb", {3, 16});
        b.op("Relu", {"hb"}, "r", {3, 16});
        b.m.graph.nodes.push_back(test::node("MatMul", {"r", "m1.w"}, {"y"}, "m1"));
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.25));
        const auto& m0 = layer(r, "m0");
        REQUIRE(m0.skipped_reason.empty());
        CHECK(m0.channels == 12);
        CHECK(m.graph.initializers.at("m0.b").shape() == Shape{12});
        CHECK(m.graph.initializers.at("m1.w").shape() == Shape{12, 5});
        graph::Model masked = orig;
        mask_layer(masked, "m0", m0.removed_channels);
        masked.graph.initializers["m0.b"] =
            test::zero_along(orig.graph.initializers.at("m0.b"), 0, m0.removed_channels);
        check_equivalent(m, masked, orig);
    }
    SECTION("ConvTranspose -> Relu -> QuantizeLinear/DequantizeLinear (per channel) -> Conv") {
        test::GraphBuilder b({1, 4, 4, 4});
        b.output("y", nchw(3, 8));
        b.m.graph.initializers["ct.w"] = test::random_tensor({4, 8, 2, 2}, 1);
        b.m.graph.initializers["ct.b"] = test::random_tensor({8}, 2);
        b.m.graph.initializers["q.scale"] = test::random_tensor({8}, 3, 0.01f, 0.02f);
        b.m.graph.initializers["q.zp"] = test::typed<uint8_t>({8}, {0, 0, 0, 0, 0, 0, 0, 0});
        b.m.graph.nodes.push_back(test::node("ConvTranspose", {"x", "ct.w", "ct.b"}, {"t"}, "ct",
                                             {{"strides", attr_ints({2, 2})}, {"kernel_shape", attr_ints({2, 2})}}));
        b.shape("t", nchw(8, 8));
        b.op("Relu", {"t"}, "r", nchw(8, 8));
        b.m.graph.nodes.push_back(test::node("QuantizeLinear", {"r", "q.scale", "q.zp"}, {"q"}, "quant"));
        b.m.graph.value_info["q"] = test::value("q", nchw(8, 8), DType::U8);
        b.m.graph.nodes.push_back(test::node("DequantizeLinear", {"q", "q.scale", "q.zp"}, {"dq"}, "dequant"));
        b.shape("dq", nchw(8, 8));
        b.conv("c1", "dq", "y", 8, 3, 1, nchw(3, 8));
        graph::Model orig = b.m, m = orig;
        auto r = prune::prune_model(m, channel_options(0.5));
        const auto& ct = layer(r, "ct");
        REQUIRE(ct.skipped_reason.empty());
        CHECK(m.graph.initializers.at("ct.w").shape() == Shape{4, 4, 2, 2});
        CHECK(m.graph.initializers.at("q.scale").shape() == Shape{4});
        CHECK(m.graph.initializers.at("q.zp").shape() == Shape{4});
        graph::Model masked = orig;
        mask_layer(masked, "ct", ct.removed_channels);
        check_equivalent(m, masked, orig);
    }
}
