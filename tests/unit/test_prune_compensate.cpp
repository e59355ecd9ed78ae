// Bias compensation for channel pruning (prune/compensate.h) and the activation criterion: when the removed channels
// output a constant (zero filters + a large bias, then Relu), the pruned and compensated model computes exactly what
// the original computes (Conv with and without a bias, ConvTranspose, Flatten -> Gemm with transB/alpha/beta and
// without C, MatMul with its bias Add or with one inserted), while the uncompensated one does not.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "exec/executor.h"
#include "onnx_io/onnx_io.h"
#include "prune/channel.h"
#include "prune/compensate.h"
#include "prune/plan.h"
#include "prune/prune.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_f;
using test::attr_i;
using test::attr_ints;

namespace {

const prune::LayerResult& layer(const prune::PruneResult& r, const std::string& name) {
    for (const auto& l : r.layers)
        if (l.node == name) return l;
    FAIL("no layer " << name);
    throw 0;
}

std::vector<Tensor> inputs_for(const graph::Model& m, int n) {
    std::vector<Tensor> xs;
    for (int i = 0; i < n; ++i) xs.push_back(test::random_tensor(*m.graph.inputs[0].static_shape(), 500 + i));
    return xs;
}

// What the app measures: per-channel mean and mean square of every layer input (prune::layer_input_axes()).
prune::ChannelStats measure(const graph::Model& m, const std::vector<Tensor>& xs) {
    const auto axes = prune::layer_input_axes(m);
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> sums;
    std::map<std::string, double> counts;
    auto observe = [&](const std::string& name, const Tensor& t) {
        auto ax = axes.find(name);
        if (ax == axes.end()) return;
        const int64_t axis = ax->second < 0 ? t.rank() - 1 : ax->second;
        const int64_t c = t.dim(axis);
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
        auto& [s, q] = sums[name];
        s.resize((size_t)c, 0.0);
        q.resize((size_t)c, 0.0);
        const float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) {
            const size_t ch = (size_t)((i / inner) % c);
            s[ch] += p[i];
            q[ch] += (double)p[i] * p[i];
        }
        counts[name] += (double)(t.numel() / c);
    };
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    for (const Tensor& x : xs) {
        observe("x", x);
        ex.run({{"x", x}}, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
    }
    prune::ChannelStats st;
    for (auto& [name, sq] : sums) {
        for (auto& v : sq.first) v /= counts[name];
        for (auto& v : sq.second) v /= counts[name];
        st.mean[name] = sq.first;
        st.mean_square[name] = sq.second;
    }
    return st;
}

// Largest |a - b| over the outputs on fresh inputs, relative to the largest output magnitude (or 1).
double max_rel_diff(const graph::Model& a, const graph::Model& b) {
    double worst = 0;
    for (const Tensor& x : inputs_for(a, 3)) {
        auto ra = test::run_model(a, {{"x", x}}), rb = test::run_model(b, {{"x", x}});
        for (const auto& o : a.graph.outputs) {
            auto va = ra.at(o.name).to_f32(), vb = rb.at(o.name).to_f32();
            REQUIRE(va.size() == vb.size());
            double scale = 1.0, d = 0;
            for (size_t i = 0; i < va.size(); ++i) {
                scale = std::max(scale, std::fabs((double)va[i]));
                d = std::max(d, std::fabs((double)va[i] - vb[i]));
            }
            worst = std::max(worst, d / scale);
        }
    }
    return worst;
}

prune::PruneOptions channel_options(double s) {
    prune::PruneOptions o;
    o.pattern = prune::Pattern::Channel;
    o.sparsity = s;
    o.include_ends = true;
    return o;
}

// Output channels `chans` of layer weight `w` (axis `axis`) become zero and its bias there `bias`: the channel
// outputs that constant (a Relu after it keeps it).
void make_constant(graph::Model& m, const std::string& w, int64_t axis, const std::string& b,
                   const std::map<int64_t, float>& chans) {
    std::vector<int64_t> idx;
    for (const auto& [c, v] : chans) idx.push_back(c);
    m.graph.initializers[w] = test::zero_along(m.graph.initializers.at(w), axis, idx);
    Tensor bt = m.graph.initializers.at(b).clone();
    for (const auto& [c, v] : chans) bt.data<float>()[c] = v;
    m.graph.initializers[b] = bt;
}

const Shape kX{1, 4, 6, 6};
Shape nchw(int64_t c, int64_t hw = 6) {
    return {1, c, hw, hw};
}

// x -> Conv c0 (8 channels, 1 and 5 constant 3 and 5) -> Relu -> Conv c1 1x1 (with or without a bias) -> y
graph::Model conv_conv(bool c1_bias) {
    test::GraphBuilder b(kX);
    b.output("y", nchw(6));
    b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
    b.op("Relu", {"a0"}, "r0", nchw(8));
    b.conv("c1", "r0", "y", 8, 6, 1, nchw(6), 1, c1_bias);
    make_constant(b.m, "c0.w", 0, "c0.b", {{1, 3.0f}, {5, 5.0f}});
    return b.m;
}

prune::PruneResult prune_with(graph::Model& m, double s, const prune::ChannelStats* st, bool compensate,
                              prune::Criterion c = prune::Criterion::L1) {
    auto o = channel_options(s);
    o.stats = st;
    o.compensate = compensate;
    o.criterion = c;
    return prune::prune_model(m, o);
}

}  // namespace

TEST_CASE("compensate: constant removed channels, Conv -> Relu -> Conv 1x1", "[prune][channel][compensate]") {
    for (bool bias : {true, false}) {
        DYNAMIC_SECTION("consumer with" << (bias ? "" : "out") << " a bias") {
            const graph::Model orig = conv_conv(bias);
            const Tensor before = bias ? orig.graph.initializers.at("c1.b").clone() : Tensor();
            const auto st = measure(orig, inputs_for(orig, 4));

            graph::Model plain = orig;
            auto rp = prune_with(plain, 0.25, nullptr, false);
            REQUIRE(layer(rp, "c0").removed_channels == std::vector<int64_t>{1, 5});
            CHECK_FALSE(layer(rp, "c1").compensated.has_value());
            CHECK(max_rel_diff(orig, plain) > 1e-2);  // uncompensated: the constants are missing

            graph::Model m = orig;
            auto r = prune_with(m, 0.25, &st, true);
            REQUIRE(layer(r, "c0").removed_channels == std::vector<int64_t>{1, 5});
            const auto& c1 = layer(r, "c1");
            CHECK(c1.input_channels == 8);
            CHECK(c1.input_channels_removed == 2);
            REQUIRE(c1.compensated == true);
            CHECK(c1.compensation_note == (bias ? "bias updated" : "bias created"));
            CHECK_FALSE(layer(r, "c0").compensated.has_value());  // lost no input channels
            // the change is W[:, 1] * 3 + W[:, 5] * 5 (1x1 kernel)
            const Tensor& w1 = orig.graph.initializers.at("c1.w");
            double n2 = 0;
            for (int64_t o = 0; o < 6; ++o) {
                double d = 3.0 * w1.data<float>()[o * 8 + 1] + 5.0 * w1.data<float>()[o * 8 + 5];
                n2 += d * d;
            }
            CHECK(c1.bias_change == Approx(std::sqrt(n2)).epsilon(1e-6));
            CHECK(max_rel_diff(orig, m) <= 1e-5);
            CHECK_NOTHROW(onnx_io::check_model(m, "compensated"));
            // the original (whose tensors share storage with the copy that was pruned) is unchanged
            if (bias) {
                const Tensor& now = orig.graph.initializers.at("c1.b");
                for (int64_t i = 0; i < 6; ++i) CHECK(now.data<float>()[i] == before.data<float>()[i]);
            }
        }
    }
}

TEST_CASE("compensate: ConvTranspose consumer", "[prune][channel][compensate]") {
    for (bool bias : {true, false}) {
        test::GraphBuilder b(kX);
        b.output("y", nchw(3));
        b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
        b.op("Relu", {"a0"}, "r0", nchw(8));
        b.m.graph.initializers["ct.w"] = test::random_tensor({8, 3, 1, 1}, 9);
        std::vector<std::string> in{"r0", "ct.w"};
        if (bias) {
            b.m.graph.initializers["ct.b"] = test::random_tensor({3}, 10);
            in.push_back("ct.b");
        }
        b.m.graph.nodes.push_back(test::node("ConvTranspose", in, {"y"}, "ct", {{"kernel_shape", attr_ints({1, 1})}}));
        make_constant(b.m, "c0.w", 0, "c0.b", {{0, 2.0f}, {6, 4.0f}});
        const graph::Model orig = b.m;
        const auto st = measure(orig, inputs_for(orig, 2));
        graph::Model m = orig;
        auto r = prune_with(m, 0.25, &st, true);
        REQUIRE(layer(r, "c0").removed_channels == std::vector<int64_t>{0, 6});
        CHECK(layer(r, "ct").compensated == true);
        CHECK(m.graph.initializers.at("ct.w").shape() == Shape{6, 3, 1, 1});
        CHECK(max_rel_diff(orig, m) <= 1e-5);
        graph::Model plain = orig;
        prune_with(plain, 0.25, nullptr, false);
        CHECK(max_rel_diff(orig, plain) > 1e-2);
    }
}

TEST_CASE("compensate: Conv -> Relu -> Flatten -> Gemm (per-feature means)", "[prune][channel][compensate]") {
    struct Case {
        bool trans_b, has_c;
        float alpha, beta;
    };
    for (const Case& k : {Case{false, true, 1.0f, 1.0f}, Case{true, true, 0.5f, 2.0f}, Case{true, false, 1.5f, 1.0f},
                          Case{false, true, 1.0f, 0.0f}}) {
        DYNAMIC_SECTION("transB " << k.trans_b << ", C " << k.has_c << ", alpha " << k.alpha << ", beta " << k.beta) {
            test::GraphBuilder b({1, 4, 4, 4});
            b.output("y", {1, 5});
            b.conv("c0", "x", "a0", 4, 4, 3, nchw(4, 4));
            b.op("Relu", {"a0"}, "r0", nchw(4, 4));
            b.op("Flatten", {"r0"}, "f", {1, 64});
            b.gemm("fc", "f", "y", 64, 5, {1, 5}, k.trans_b);
            graph::Node& fc = b.m.graph.nodes.back();
            fc.attrs["alpha"] = attr_f(k.alpha);
            fc.attrs["beta"] = attr_f(k.beta);
            if (!k.has_c) fc.inputs.resize(2);
            make_constant(b.m, "c0.w", 0, "c0.b", {{2, 2.0f}});
            const graph::Model orig = b.m;
            const auto st = measure(orig, inputs_for(orig, 2));
            REQUIRE(st.mean.at("f").size() == 64);
            graph::Model m = orig;
            auto r = prune_with(m, 0.25, &st, true);
            REQUIRE(layer(r, "c0").removed_channels == std::vector<int64_t>{2});
            const auto& l = layer(r, "fc");
            CHECK(l.input_channels_removed == 16);  // one channel = 16 features
            CHECK(l.compensated == true);
            CHECK(l.compensation_note == (k.has_c && k.beta != 0.0f ? "bias updated" : "bias created"));
            CHECK(max_rel_diff(orig, m) <= 1e-5);
            CHECK_NOTHROW(onnx_io::check_model(m, "compensated"));
            graph::Model plain = orig;
            prune_with(plain, 0.25, nullptr, false);
            CHECK(max_rel_diff(orig, plain) > 1e-2);
        }
    }
}

TEST_CASE("compensate: MatMul consumers, with a bias Add or with one inserted", "[prune][channel][compensate]") {
    for (bool add : {true, false}) {
        DYNAMIC_SECTION((add ? "bias Add updated" : "bias Add inserted")) {
            test::GraphBuilder b({3, 8});
            b.output("y", {3, 5});
            b.m.graph.initializers["m0.w"] = test::random_tensor({8, 16}, 1);
            b.m.graph.initializers["m0.b"] = test::random_tensor({16}, 2);
            b.m.graph.initializers["m1.w"] = test::random_tensor({16, 5}, 3);
            b.m.graph.nodes.push_back(test::node("MatMul", {"x", "m0.w"}, {"h"}, "m0"));
            b.shape("h", {3, 16});
            b.op("Add", {"h", "m0.b"}, "hb", {3, 16});
            b.op("Relu", {"hb"}, "r", {3, 16});
            if (add) {
                b.m.graph.initializers["m1.b"] = test::random_tensor({5}, 4);
                b.m.graph.nodes.push_back(test::node("MatMul", {"r", "m1.w"}, {"z"}, "m1"));
                b.shape("z", {3, 5});
                b.op("Add", {"m1.b", "z"}, "y", {3, 5});  // the bias first: either order is recognized
            } else {
                b.m.graph.nodes.push_back(test::node("MatMul", {"r", "m1.w"}, {"y"}, "m1"));
            }
            make_constant(b.m, "m0.w", 1, "m0.b", {{3, 1.5f}, {7, 2.5f}, {11, 0.5f}, {12, 4.0f}});
            const graph::Model orig = b.m;
            const auto st = measure(orig, inputs_for(orig, 2));
            graph::Model m = orig;
            auto r = prune_with(m, 0.25, &st, true);
            REQUIRE(layer(r, "m0").removed_channels == std::vector<int64_t>{3, 7, 11, 12});
            const auto& m1 = layer(r, "m1");
            CHECK(m1.compensated == true);
            CHECK(m1.compensation_note == (add ? "bias Add updated" : "bias Add inserted"));
            CHECK(m.graph.nodes.size() == orig.graph.nodes.size() + (add ? 0 : 1));
            CHECK(max_rel_diff(orig, m) <= 1e-5);
            CHECK_NOTHROW(onnx_io::check_model(m, "compensated"));
            graph::Model plain = orig;
            prune_with(plain, 0.25, nullptr, false);
            CHECK(max_rel_diff(orig, plain) > 1e-2);
        }
    }
}

TEST_CASE("compensate: determinism, missing statistics, options", "[prune][channel][compensate]") {
    const graph::Model orig = conv_conv(true);
    const auto st = measure(orig, inputs_for(orig, 4));
    graph::Model a = orig, b = orig;
    prune_with(a, 0.25, &st, true);
    prune_with(b, 0.25, &st, true);
    REQUIRE(a.graph.initializers.size() == b.graph.initializers.size());
    for (const auto& [name, t] : a.graph.initializers) {
        const Tensor& u = b.graph.initializers.at(name);
        REQUIRE(t.shape() == u.shape());
        CHECK(std::memcmp(t.raw(), u.raw(), t.nbytes()) == 0);
    }

    // no statistics for the consumer's input: reported, not compensated, the pruning itself unchanged
    prune::ChannelStats partial = st;
    partial.mean.erase("r0");
    graph::Model m = orig;
    auto r = prune_with(m, 0.25, &partial, true);
    CHECK(layer(r, "c0").removed_channels == std::vector<int64_t>{1, 5});
    CHECK(layer(r, "c1").compensated == false);
    CHECK(layer(r, "c1").compensation_note.find("no statistics") != std::string::npos);
    CHECK(layer(r, "c1").bias_change == 0.0);

    // a bias that is not a constant: reported
    graph::Model nc = orig;
    nc.graph.initializers.erase("c1.b");
    nc.graph.inputs.push_back(test::value("c1.b", {6}));
    auto rn = prune_with(nc, 0.25, &st, true);
    CHECK(layer(rn, "c1").compensated == false);
    CHECK(layer(rn, "c1").compensation_note.find("not a constant") != std::string::npos);

    graph::Model e = orig;
    CHECK_THROWS_AS(prune_with(e, 0.25, nullptr, true), Error);
    CHECK_THROWS_AS(prune_with(e, 0.25, nullptr, false, prune::Criterion::Activation), Error);
    CHECK(prune::parse_criterion("activation", "--criterion") == prune::Criterion::Activation);
    CHECK(prune::criterion_name(prune::Criterion::Activation) == "activation");
}

TEST_CASE("compensate: the activation criterion ranks channels by their effect on the layers reading them",
          "[prune][channel][compensate]") {
    test::GraphBuilder b(kX);
    b.output("y", nchw(6));
    b.conv("c0", "x", "a0", 4, 8, 3, nchw(8));
    b.op("Relu", {"a0"}, "r0", nchw(8));
    b.conv("c1", "r0", "y", 8, 6, 1, nchw(6));
    // channel 3: the largest filter, but c1 ignores it; channel 6: the smallest filter, read strongly by c1
    Tensor w0 = b.m.graph.initializers.at("c0.w").clone();
    for (int64_t i = 0; i < 36; ++i) w0.data<float>()[3 * 36 + i] *= 10.0f;
    for (int64_t i = 0; i < 36; ++i) w0.data<float>()[6 * 36 + i] *= 0.01f;
    b.m.graph.initializers["c0.w"] = w0;
    b.m.graph.initializers["c1.w"] = test::zero_along(b.m.graph.initializers.at("c1.w"), 1, {3});
    Tensor w1 = b.m.graph.initializers.at("c1.w").clone();
    for (int64_t o = 0; o < 6; ++o) w1.data<float>()[o * 8 + 6] = 1000.0f;
    b.m.graph.initializers["c1.w"] = w1;
    const graph::Model orig = b.m;
    const auto st = measure(orig, inputs_for(orig, 4));

    graph::Model l1 = orig, act = orig, fallback = orig;
    auto rl = prune_with(l1, 0.125, nullptr, false);
    auto ra = prune_with(act, 0.125, &st, true, prune::Criterion::Activation);
    CHECK(layer(rl, "c0").removed_channels == std::vector<int64_t>{6});
    CHECK(layer(ra, "c0").removed_channels == std::vector<int64_t>{3});
    CHECK(max_rel_diff(orig, act) <= 1e-5);  // channel 3 did not matter
    // without statistics of a reader's input the group falls back to the L1 ranking
    prune::ChannelStats none;
    auto rf = prune_with(fallback, 0.125, &none, false, prune::Criterion::Activation);
    CHECK(layer(rf, "c0").removed_channels == std::vector<int64_t>{6});
}
