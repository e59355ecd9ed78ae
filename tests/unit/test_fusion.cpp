// The oneDNN Conv path and the fused executor against the OpenBLAS reference path (HQ_CPU_REFERENCE's switch):
// conv geometries, every post-op kind, residual Adds (in place, aliased, broadcast), the observer and `keep`,
// weight caching, and the bundled model run both ways.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "exec/cpu/cpu_backend.h"
#include "exec/cpu/dnnl_conv.h"
#include "graph/fusion.h"
#include "graph/passes.h"
#include "onnx_io/onnx_io.h"
#include "core/npy.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_f;
using test::attr_i;
using test::attr_ints;
using test::attr_s;

namespace {

// The test shapes are small: while one lives, every float32 conv goes through oneDNN.
struct AllConvsOnDnnl {
    int64_t saved = exec::cpu::dnnl_min_macs();
    AllConvsOnDnnl() { exec::cpu::dnnl_set_min_macs(0); }
    ~AllConvsOnDnnl() { exec::cpu::dnnl_set_min_macs(saved); }
};

// Runs m on the reference path (OpenBLAS, no fusion) or the default one (oneDNN, fused).
std::map<std::string, Tensor> run_on(bool reference, const graph::Model& m, const std::map<std::string, Tensor>& in,
                                     size_t* groups = nullptr, const exec::Observer& obs = nullptr,
                                     const std::set<std::string>& keep = {}) {
    exec::cpu::dnnl_set_enabled(!reference);
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    if (groups) *groups = ex.fusion_groups().size();
    auto out = ex.run(in, obs, keep);
    exec::cpu::dnnl_set_enabled(true);
    return out;
}

// max |a - b| / max |b| over all elements (0 when both are all zeros).
double rel_diff(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    auto x = a.to_f32(), y = b.to_f32();
    double d = 0, mx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        d = std::max(d, (double)std::fabs(x[i] - y[i]));
        mx = std::max(mx, (double)std::fabs(y[i]));
    }
    return mx > 0 ? d / mx : d;
}

constexpr size_t kSome = ~size_t(0);  // want_groups: at least one

void check_agree(const graph::Model& m, const std::map<std::string, Tensor>& in, size_t want_groups,
                 double tol = 1e-5) {
    size_t groups = 0;
    auto ref = run_on(true, m, in);
    auto got = run_on(false, m, in, &groups);
    if (want_groups == kSome) CHECK(groups > 0);
    else CHECK(groups == want_groups);
    for (const auto& [k, t] : ref) {
        INFO(k);
        CHECK(rel_diff(got.at(k), t) <= tol);
    }
}

graph::Model one_conv(Shape x, Shape w, std::map<std::string, graph::Attribute> at, Shape y, bool bias, int64_t opset = 13) {
    graph::Model m = test::model(opset);
    m.graph.inputs.push_back(test::value("x", x));
    m.graph.initializers["w"] = test::random_tensor(w, 7);
    std::vector<std::string> ins{"x", "w"};
    if (bias) {
        m.graph.initializers["b"] = test::random_tensor({w[0]}, 8);
        ins.push_back("b");
    }
    m.graph.nodes.push_back(test::node("Conv", ins, {"y"}, "conv", std::move(at)));
    m.graph.outputs.push_back(test::value("y", y));
    return m;
}

}  // namespace

TEST_CASE("oneDNN Conv agrees with the OpenBLAS reference on every geometry", "[fusion][conv]") {
    AllConvsOnDnnl all_on_dnnl;
    struct Case {
        Shape x, w, y;
        std::map<std::string, graph::Attribute> at;
    };
    std::vector<Case> cases = {
        {{2, 8, 9, 11}, {16, 8, 3, 3}, {2, 16, 9, 11}, {{"pads", attr_ints({1, 1, 1, 1})}}},
        {{1, 8, 9, 11}, {16, 8, 3, 3}, {1, 16, 5, 6}, {{"pads", attr_ints({1, 0, 1, 2})}, {"strides", attr_ints({2, 2})}}},
        {{1, 8, 12, 12}, {8, 8, 3, 3}, {1, 8, 8, 8}, {{"dilations", attr_ints({2, 2})}}},
        {{1, 8, 10, 10}, {8, 4, 3, 3}, {1, 8, 10, 10}, {{"group", attr_i(2)}, {"auto_pad", attr_s("SAME_UPPER")}}},
        {{1, 8, 10, 10}, {8, 1, 3, 3}, {1, 8, 5, 5}, {{"group", attr_i(8)}, {"strides", attr_ints({2, 2})}, {"auto_pad", attr_s("SAME_LOWER")}}},
        {{1, 4, 10, 10}, {8, 1, 5, 5}, {1, 8, 6, 6}, {{"group", attr_i(4)}, {"auto_pad", attr_s("VALID")}}},  // multiplier 2
        {{1, 16, 7, 7}, {32, 16, 1, 1}, {1, 32, 7, 7}, {}},
        {{1, 3, 20}, {6, 3, 5}, {1, 6, 20}, {{"pads", attr_ints({2, 2})}}},                                     // 1-D
        {{1, 4, 5, 6, 7}, {8, 4, 3, 3, 3}, {1, 8, 5, 6, 7}, {{"pads", attr_ints({1, 1, 1, 1, 1, 1})}}},          // 3-D
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        for (bool bias : {true, false}) {
            INFO("case " << i << " bias " << bias);
            auto& c = cases[i];
            auto m = one_conv(c.x, c.w, c.at, c.y, bias);
            check_agree(m, {{"x", test::random_tensor(c.x, 11 + (uint32_t)i)}}, 0);
        }
    }
}

TEST_CASE("dilated convs run on oneDNN as a batch of phases, bit for bit the direct sums", "[fusion][conv]") {
    using exec::cpu::DnnlConvGeom;
    // MLSD-tiny's decoder geometry, scaled down: 3x3 dilated by 5 (pads 5) and by 2 x 3 (pads 2 / 3), with a bias, a
    // residual Add and Relu, on plain and on channel-blocked tensors.
    struct Case {
        int64_t H, W, dh, dw, ph, pw;
    };
    const int64_t B = exec::cpu::dnnl_block(), C = 2 * B, M = 2 * B, N = 2;
    for (const Case& c : {Case{20, 15, 5, 5, 5, 5}, Case{12, 18, 2, 3, 2, 3}}) {
        for (bool blocked : {false, true}) {
            INFO("H " << c.H << " W " << c.W << " blocked " << blocked);
            DnnlConvGeom g;
            g.nsp = 2, g.N = N, g.C = C, g.M = M;
            g.in[0] = g.out[0] = g.k[0] = g.s[0] = g.d[0] = 1;
            g.pb[0] = g.pe[0] = 0;
            g.in[1] = g.out[1] = c.H, g.in[2] = g.out[2] = c.W;
            g.k[1] = g.k[2] = 3, g.s[1] = g.s[2] = 1, g.d[1] = c.dh, g.d[2] = c.dw;
            g.pb[1] = g.pe[1] = c.ph, g.pb[2] = g.pe[2] = c.pw;
            g.src_blocked = g.dst_blocked = blocked;
            Tensor x = test::random_tensor({N, C, c.H, c.W}, 21), w = test::random_tensor({M, C, 3, 3}, 22),
                   b = test::random_tensor({M}, 23), r = test::random_tensor({N, M, c.H, c.W}, 24);
            // Direct sums in double: y = relu(conv + bias + r).
            std::vector<double> want((size_t)(N * M * c.H * c.W));
            const float *xp = x.data<float>(), *wp = w.data<float>(), *rp = r.data<float>();
            for (int64_t n = 0; n < N; ++n)
                for (int64_t m = 0; m < M; ++m)
                    for (int64_t i = 0; i < c.H; ++i)
                        for (int64_t j = 0; j < c.W; ++j) {
                            double acc = b.data<float>()[m];
                            for (int64_t ci = 0; ci < C; ++ci)
                                for (int64_t ki = 0; ki < 3; ++ki)
                                    for (int64_t kj = 0; kj < 3; ++kj) {
                                        const int64_t h = i + ki * c.dh - c.ph, v = j + kj * c.dw - c.pw;
                                        if (h < 0 || h >= c.H || v < 0 || v >= c.W) continue;
                                        acc += (double)xp[((n * C + ci) * c.H + h) * c.W + v] *
                                               wp[((m * C + ci) * 3 + ki) * 3 + kj];
                                    }
                            const size_t o = (size_t)(((n * M + m) * c.H + i) * c.W + j);
                            want[o] = std::max(acc + rp[o], 0.0);
                        }
            Tensor xin = blocked ? exec::cpu::plain_to_blocked(x) : x;
            Tensor y = blocked ? exec::cpu::plain_to_blocked(r) : r.clone();
            std::vector<graph::PostOp> ops(2);
            ops[0].kind = graph::PostOp::Kind::Add;
            ops[1].kind = graph::PostOp::Kind::Relu;
            REQUIRE(exec::cpu::dnnl_conv_f32(g, xin.data<float>(), wp, nullptr, b.data<float>(), y.data<float>(), ops));
            Tensor got = blocked ? exec::cpu::blocked_to_plain(y) : y;
            double worst = 0;
            for (size_t o = 0; o < want.size(); ++o)
                worst = std::max(worst, std::fabs(got.data<float>()[o] - want[o]) / (1 + std::fabs(want[o])));
            CHECK(worst < 1e-5);
        }
    }
}

TEST_CASE("MaxPool pools channel-blocked tensors as they are, the same values as on plain ones", "[fusion][pool]") {
    const int64_t B = exec::cpu::dnnl_block(), C = 2 * B;
    auto be = exec::cpu::make_backend();
    struct Case {
        std::map<std::string, graph::Attribute> at;
    };
    std::vector<Case> cases = {
        {{{"kernel_shape", attr_ints({3, 3})}, {"strides", attr_ints({2, 2})}, {"pads", attr_ints({1, 1, 1, 1})}}},
        {{{"kernel_shape", attr_ints({2, 3})}, {"strides", attr_ints({2, 1})}, {"pads", attr_ints({0, 1, 1, 0})},
          {"ceil_mode", attr_i(1)}}},
        {{{"kernel_shape", attr_ints({3, 3})}}},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i);
        const graph::Node n = test::node("MaxPool", {"x"}, {"y"}, "pool", cases[i].at);
        Tensor x = test::random_tensor({2, C, 11, 9}, 40 + (uint32_t)i);
        const Tensor want = exec::cpu::evaluate_node(n, {x}, 13)[0];
        exec::KernelFn fn = be->kernel_for(n, 13);
        REQUIRE(fn);
        for (bool out_ok : {true, false}) {
            Tensor xb = exec::cpu::plain_to_blocked(x);
            exec::KernelContext ctx(n, 13);
            ctx.inputs = {&xb};
            ctx.in_blocked = true;
            ctx.out_blocked_ok = out_ok;
            fn(ctx);
            CHECK(ctx.out_blocked == out_ok);
            const Tensor got = ctx.out_blocked ? exec::cpu::blocked_to_plain(ctx.outputs[0]) : ctx.outputs[0];
            REQUIRE(got.shape() == want.shape());
            CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
        }
    }
    // In a graph: Conv -> Relu -> MaxPool -> Conv keeps the blocked layout through the pool; a pool that is a graph
    // output comes back plain.
    const Shape xs = {1, C, 12, 12}, cs = {1, C, 12, 12}, ps = {1, C, 6, 6};
    test::GraphBuilder b(xs);
    b.conv("c1", "x", "c1_out", C, C, 3, cs);
    b.op("Relu", {"c1_out"}, "r", cs);
    b.op("MaxPool", {"r"}, "p", ps, {{"kernel_shape", attr_ints({2, 2})}, {"strides", attr_ints({2, 2})}});
    b.conv("c2", "p", "y", C, C, 3, ps);
    b.output("y", ps);
    AllConvsOnDnnl all_on_dnnl;
    check_agree(b.m, {{"x", test::random_tensor(xs, 45)}}, kSome);
    b.output("p", ps);
    check_agree(b.m, {{"x", test::random_tensor(xs, 45)}}, kSome);
}

TEST_CASE("PRelu with per-channel slopes runs on channel-blocked tensors, the same values as on plain ones", "[fusion]") {
    const int64_t B = exec::cpu::dnnl_block(), C = 2 * B;
    auto be = exec::cpu::make_backend();
    Tensor x = test::random_tensor({2, C, 5, 7}, 50);
    for (const Shape& ss : {Shape{1, C, 1, 1}, Shape{C, 1, 1}, Shape{1, 1, 1}}) {
        INFO("slope " << shape_str(ss));
        Tensor slope = test::random_tensor(ss, 51);
        const graph::Node n = test::node("PRelu", {"x", "s"}, {"y"}, "prelu");
        const Tensor want = exec::cpu::evaluate_node(n, {x, slope}, 13)[0];
        exec::KernelFn fn = be->kernel_for(n, 13);
        REQUIRE(fn);
        for (bool out_ok : {true, false}) {
            Tensor xb = exec::cpu::plain_to_blocked(x);
            exec::KernelContext ctx(n, 13);
            ctx.inputs = {&xb, &slope};
            ctx.in_blocked = true;
            ctx.out_blocked_ok = out_ok;
            fn(ctx);
            CHECK(ctx.out_blocked == (out_ok && slope.numel() == C));  // a scalar slope goes the plain way
            const Tensor got = ctx.out_blocked ? exec::cpu::blocked_to_plain(ctx.outputs[0]) : ctx.outputs[0];
            REQUIRE(got.shape() == want.shape());
            CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
        }
    }
    // MTCNN's Conv -> PRelu -> MaxPool -> Conv -> PRelu, blocked through.
    const Shape xs = {1, C, 12, 12}, cs = {1, C, 12, 12}, ps = {1, C, 6, 6};
    test::GraphBuilder b(xs);
    b.m.graph.initializers["s1"] = test::random_tensor({1, C, 1, 1}, 52);
    b.m.graph.initializers["s2"] = test::random_tensor({1, C, 1, 1}, 53);
    b.conv("c1", "x", "c1_out", C, C, 3, cs);
    b.op("PRelu", {"c1_out", "s1"}, "r", cs);
    b.op("MaxPool", {"r"}, "p", ps, {{"kernel_shape", attr_ints({2, 2})}, {"strides", attr_ints({2, 2})}});
    b.conv("c2", "p", "c2_out", C, C, 3, ps);
    b.op("PRelu", {"c2_out", "s2"}, "y", ps);
    b.output("y", ps);
    AllConvsOnDnnl all_on_dnnl;
    check_agree(b.m, {{"x", test::random_tensor(xs, 54)}}, 0);
}

TEST_CASE("every fused post-op matches the unfused kernels", "[fusion]") {
    AllConvsOnDnnl all_on_dnnl;
    const Shape xs = {1, 8, 10, 10}, ys = {1, 16, 10, 10};
    auto chain = [&](const std::string& what, int64_t opset = 14) {
        test::GraphBuilder b(xs);
        b.m.opsets[""] = opset;
        b.conv("c", "x", "c_out", 8, 16, 3, ys);
        std::string v = "c_out";
        if (what == "Relu" || what == "Sigmoid" || what == "HardSwish") {
            b.op(what, {v}, "y", ys);
        } else if (what == "LeakyRelu") {
            b.op(what, {v}, "y", ys, {{"alpha", attr_f(0.2f)}});
        } else if (what == "HardSigmoid") {
            b.op(what, {v}, "y", ys, {{"alpha", attr_f(0.25f)}, {"beta", attr_f(0.4f)}});
        } else if (what == "Clip") {
            b.m.graph.initializers["lo"] = Tensor::scalar_f32(0.f);
            b.m.graph.initializers["hi"] = Tensor::scalar_f32(6.f);
            b.op(what, {v, "lo", "hi"}, "y", ys);
        } else if (what == "Clip6") {  // opset 6: bounds are attributes
            b.op("Clip", {v}, "y", ys, {{"min", attr_f(-1.f)}, {"max", attr_f(1.f)}});
        } else if (what == "Swish") {
            b.op("Sigmoid", {v}, "s", ys);
            b.op("Mul", {"s", v}, "y", ys);
        }
        b.output("y", ys);
        return b.m;
    };
    auto x = test::random_tensor(xs, 3, -2.f, 2.f);
    for (const char* what : {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Swish"}) {
        INFO(what);
        check_agree(chain(what), {{"x", x}}, 1);
    }
    check_agree(chain("Clip6", 6), {{"x", x}}, 1);
}

TEST_CASE("residual Add fuses as oneDNN's sum post-op, in place only where safe", "[fusion]") {
    AllConvsOnDnnl all_on_dnnl;
    const Shape s = {1, 8, 9, 9};
    auto x = test::random_tensor(s, 5);
    SECTION("Conv -> Relu -> Add(branch) -> Relu, operand dies here (in place)") {
        test::GraphBuilder b(s);
        b.conv("c1", "x", "a", 8, 8, 3, s);
        b.conv("c2", "x", "c2o", 8, 8, 3, s);
        b.op("Relu", {"c2o"}, "r", s);
        b.op("Add", {"a", "r"}, "sum", s);
        b.op("Relu", {"sum"}, "y", s);
        b.output("y", s);
        check_agree(b.m, {{"x", x}}, 2);  // c2 + Relu; c1 + Add(r) + Relu
    }
    SECTION("Add(Conv(x), x): the operand is the conv's own input and a graph input") {
        test::GraphBuilder b(s);
        b.conv("c", "x", "c_out", 8, 8, 3, s);
        b.op("Add", {"x", "c_out"}, "y", s);
        b.output("y", s);
        check_agree(b.m, {{"x", x}}, 1);
    }
    SECTION("Add(Conv(t), t) with t an intermediate whose last reader is the Add") {
        test::GraphBuilder b(s);
        b.op("Relu", {"x"}, "t", s);
        b.conv("c", "t", "c_out", 8, 8, 3, s);
        b.op("Add", {"c_out", "t"}, "y", s);
        b.output("y", s);
        check_agree(b.m, {{"x", x}}, 1);
    }
    SECTION("operand read later: not overwritten") {
        test::GraphBuilder b(s);
        b.op("Relu", {"x"}, "t", s);
        b.conv("c", "x", "c_out", 8, 8, 3, s);
        b.op("Add", {"c_out", "t"}, "y", s);
        b.op("Mul", {"t", "t"}, "z", s);
        b.output("y", s);
        b.output("z", s);
        check_agree(b.m, {{"x", x}}, 1);
    }
    SECTION("broadcast operand: planned, run unfused") {
        test::GraphBuilder b(s);
        b.m.graph.initializers["bias"] = test::random_tensor({1, 8, 1, 1}, 9);
        b.conv("c", "x", "c_out", 8, 8, 3, s);
        b.op("Add", {"c_out", "bias"}, "y", s);
        b.output("y", s);
        check_agree(b.m, {{"x", x}}, 1);
    }
    SECTION("two Clips with other bounds around the Add (oneDNN 2.6 would apply the first twice)") {
        test::GraphBuilder b(s);
        b.m.graph.initializers["lo"] = Tensor::scalar_f32(-1.f);
        b.m.graph.initializers["hi"] = Tensor::scalar_f32(6.f);
        b.m.graph.initializers["lo2"] = Tensor::scalar_f32(0.f);
        b.m.graph.initializers["hi2"] = Tensor::scalar_f32(1.f);
        b.conv("c", "x", "c_out", 8, 8, 3, s);
        b.op("Clip", {"c_out", "lo", "hi"}, "k", s);
        b.op("Add", {"k", "x"}, "sum", s);
        b.op("Clip", {"sum", "lo2", "hi2"}, "y", s);
        b.output("y", s);
        check_agree(b.m, {{"x", x}}, 1);
    }
}

TEST_CASE("fusion never hides a tensor: observer, keep, graph outputs, quantized graphs", "[fusion]") {
    AllConvsOnDnnl all_on_dnnl;
    const Shape s = {1, 8, 9, 9};
    test::GraphBuilder b(s);
    b.conv("c", "x", "c_out", 8, 8, 3, s);
    b.op("Relu", {"c_out"}, "r", s);
    b.op("Add", {"r", "x"}, "y", s);
    b.output("y", s);
    auto x = test::random_tensor(s, 5);
    std::vector<std::string> seen_ref, seen_fused;
    std::map<std::string, Tensor> ref_vals;
    run_on(true, b.m, {{"x", x}}, nullptr, [&](const std::string& v, const Tensor& t, const graph::Node&) {
        seen_ref.push_back(v);
        ref_vals[v] = t;
    });
    size_t groups = 0;
    exec::cpu::dnnl_set_enabled(true);
    auto be = exec::cpu::make_backend();
    exec::Executor ex(b.m, *be);
    REQUIRE(ex.fusion_groups().size() == 1);
    ex.run({{"x", x}}, [&](const std::string& v, const Tensor& t, const graph::Node&) {
        seen_fused.push_back(v);
        CHECK(rel_diff(t, ref_vals.at(v)) <= 1e-5);
    });
    CHECK(seen_fused == seen_ref);
    auto kept = ex.run({{"x", x}}, nullptr, {"c_out"});
    REQUIRE(kept.count("c_out"));
    CHECK(rel_diff(kept.at("c_out"), ref_vals.at("c_out")) <= 1e-5);
    CHECK(rel_diff(kept.at("y"), ref_vals.at("y")) <= 1e-5);
    // A graph output is never fused away: the group ends at it.
    b.output("r", s);
    {
        auto be2 = exec::cpu::make_backend();
        exec::Executor ex2(b.m, *be2);
        REQUIRE(ex2.fusion_groups().size() == 1);
        CHECK(ex2.fusion_groups()[0].output == "r");
    }
    check_agree(b.m, {{"x", x}}, 1);
    (void)groups;
    // Quantized graphs fuse only the bit-exact post-ops.
    test::GraphBuilder q(s);
    q.conv("c", "x", "c_out", 8, 8, 3, s);
    q.op("HardSwish", {"c_out"}, "h", s);
    q.m.graph.initializers["sc"] = Tensor::scalar_f32(0.1f);
    q.op("QuantizeLinear", {"h", "sc"}, "y", s);
    q.output("y", s);
    q.m.opsets[""] = 14;
    CHECK(graph::plan_fusions(q.m.graph, 14, true).empty());
    CHECK(graph::plan_fusions(q.m.graph, 14, false).size() == 1);
}

TEST_CASE("oneDNN weight cache follows the weight tensor, not its address", "[fusion][conv]") {
    AllConvsOnDnnl all_on_dnnl;
    const Shape xs = {1, 8, 8, 8}, ws = {8, 8, 3, 3}, ys = {1, 8, 8, 8};
    std::map<std::string, graph::Attribute> at{{"pads", attr_ints({1, 1, 1, 1})}};
    auto x = test::random_tensor(xs, 1);
    for (uint32_t seed = 20; seed < 26; ++seed) {  // models made and freed in turn reuse addresses
        auto m = one_conv(xs, ws, at, ys, true);
        m.graph.initializers["w"] = test::random_tensor(ws, seed);
        check_agree(m, {{"x", x}}, 0);
    }
    // Weights computed at run time (here from a second input) are never cached.
    graph::Model m = test::model(13);
    m.graph.inputs.push_back(test::value("x", xs));
    m.graph.inputs.push_back(test::value("wi", ws));
    m.graph.nodes.push_back(test::node("Relu", {"wi"}, {"w"}, "relu_w"));
    m.graph.nodes.push_back(test::node("Conv", {"x", "w"}, {"y"}, "conv", at));
    m.graph.outputs.push_back(test::value("y", ys));
    auto be = exec::cpu::make_backend();
    exec::Executor ex(m, *be);
    for (uint32_t seed = 30; seed < 33; ++seed) {
        auto w = test::random_tensor(ws, seed);
        auto got = ex.run({{"x", x}, {"wi", w}});
        auto ref = run_on(true, m, {{"x", x}, {"wi", w}});
        CHECK(rel_diff(got.at("y"), ref.at("y")) <= 1e-5);
    }
}

TEST_CASE("the bundled classifier agrees fused vs reference within 1e-5", "[fusion][model]") {
    AllConvsOnDnnl all_on_dnnl;
    graph::Model m = onnx_io::load_model(std::string(HQ_SOURCE_DIR) + "/models/ppocr_mobile_v2_cls.onnx");
    graph::PassContext pc;
    pc.evaluate = exec::cpu::evaluate_node;
    graph::run_pipeline(m, pc);
    const std::string dir = std::string(HQ_SOURCE_DIR) + "/models/ppocr_cls_reference/inputs/";
    for (const char* f : {"0000.npy", "0003.npy", "0007.npy"}) {
        INFO(f);
        std::map<std::string, Tensor> in{{m.graph.inputs[0].name, read_npy(dir + f)}};
        check_agree(m, in, kSome);
    }
}

TEST_CASE("a zero Pad before a Conv folds into the Conv's pads in the fused plan only", "[fusion]") {
    AllConvsOnDnnl all_on_dnnl;
    const Shape s = {1, 16, 9, 9}, ps = {1, 16, 12, 12};
    auto x = test::random_tensor(s, 5);
    // x -> Conv c0 -> a -> Pad(H 1+2, W 2+1) -> p -> Conv c1 (pads 1) -> y
    auto build = [&](const std::string& mode, float value, bool p_output, bool p_twice) {
        test::GraphBuilder b(s);
        b.m.graph.initializers["pads"] = test::i64({8}, {0, 0, 1, 2, 0, 0, 2, 1});
        b.m.graph.initializers["pv"] = Tensor::scalar_f32(value);
        b.conv("c0", "x", "a", 16, 16, 3, s);
        b.op("Pad", {"a", "pads", "pv"}, "p", ps, {{"mode", attr_s(mode)}});
        b.conv("c1", "p", "y", 16, 16, 3, ps);
        b.output("y", ps);
        if (p_output) b.output("p", ps);
        if (p_twice) {
            b.op("Relu", {"p"}, "z", ps);
            b.output("z", ps);
        }
        return b.m;
    };
    auto folds = [](const graph::Model& m) {
        auto be = exec::cpu::make_backend();
        exec::Executor ex(m, *be);
        return ex.pad_folds().size();
    };
    const graph::Model m = build("constant", 0.f, false, false);
    REQUIRE(folds(m) == 1);
    check_agree(m, {{"x", x}}, 0);  // no post-ops: no fusion group, only the fold
    // The Pad's result is still there for whoever asks: `keep` and the observer run the Pad.
    auto ref = run_on(true, m, {{"x", x}}, nullptr, nullptr, {"p"});
    auto kept = run_on(false, m, {{"x", x}}, nullptr, nullptr, {"p"});
    REQUIRE(kept.count("p"));
    CHECK(rel_diff(kept.at("p"), ref.at("p")) <= 1e-5);
    CHECK(rel_diff(kept.at("y"), ref.at("y")) <= 1e-5);
    bool saw_p = false;
    run_on(false, m, {{"x", x}}, nullptr, [&](const std::string& v, const Tensor&, const graph::Node&) { saw_p |= v == "p"; });
    CHECK(saw_p);
    // Not folded: another pad value or mode, a Pad result that is a graph output or read by another node too.
    for (const auto& [mm, why] : std::vector<std::pair<graph::Model, const char*>>{
             {build("constant", 0.5f, false, false), "value 0.5"},
             {build("reflect", 0.f, false, false), "reflect"},
             {build("constant", 0.f, true, false), "graph output"},
             {build("constant", 0.f, false, true), "two readers"}}) {
        INFO(why);
        CHECK(folds(mm) == 0);
        check_agree(mm, {{"x", x}}, 0);
    }
}
