// CPU Conv / ConvTranspose / pooling kernels against plain direct loops, on shapes that exercise every
// path: im2col tiling, 1x1 GEMM, depthwise (with multiplier), groups, 1-D/3-D, float16 staging.
#include <catch2/catch.hpp>
#include <cmath>

#include "exec/cpu/common.h"
#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using test::attr_i;
using test::attr_ints;

namespace {

struct ConvCase {
    Shape x = {}, w = {};  // w: [M, C/g, k...] for Conv, [C, M/g, k...] for ConvTranspose
    int64_t group = 1;
    std::vector<int64_t> strides = {}, dilations = {}, pads = {}, output_padding = {};
};

// Index helpers over up-to-3 spatial dims, normalized to (D, H, W) with leading ones.
struct Sp {
    int64_t v[3] = {1, 1, 1};
    Sp(const Shape& s, size_t from) {
        const size_t n = s.size() - from;
        for (size_t i = 0; i < n; ++i) v[3 - n + i] = s[from + i];
    }
    Sp(const std::vector<int64_t>& a, size_t n, int64_t def) {
        for (int i = 0; i < 3; ++i) v[i] = def;
        for (size_t i = 0; i < n; ++i) v[3 - n + i] = a.empty() ? def : a[i];
    }
};

std::map<std::string, graph::Attribute> conv_attrs(const ConvCase& c) {
    std::map<std::string, graph::Attribute> a{{"group", attr_i(c.group)}};
    if (!c.strides.empty()) a["strides"] = attr_ints(c.strides);
    if (!c.dilations.empty()) a["dilations"] = attr_ints(c.dilations);
    if (!c.pads.empty()) a["pads"] = attr_ints(c.pads);
    if (!c.output_padding.empty()) a["output_padding"] = attr_ints(c.output_padding);
    return a;
}

Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor& b, const ConvCase& c) {
    const size_t ns = x.rank() - 2;
    const Sp in(x.shape(), 2), k(w.shape(), 2), s(c.strides, ns, 1), d(c.dilations, ns, 1);
    std::vector<int64_t> pb(c.pads.begin(), c.pads.begin() + (c.pads.empty() ? 0 : ns)),
        pe(c.pads.begin() + (c.pads.empty() ? 0 : ns), c.pads.end());
    const Sp pbs(pb, ns, 0), pes(pe, ns, 0);
    Sp out(x.shape(), 2);
    for (int i = 0; i < 3; ++i) out.v[i] = (in.v[i] + pbs.v[i] + pes.v[i] - (k.v[i] - 1) * d.v[i] - 1) / s.v[i] + 1;
    const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), cg = C / c.group, mg = M / c.group;
    Shape ys = {N, M};
    for (size_t i = 0; i < ns; ++i) ys.push_back(out.v[3 - ns + i]);
    Tensor y(DType::F32, ys);
    const float* xp = x.data<float>();
    const float* wp = w.data<float>();
    float* yp = y.data<float>();
    int64_t o = 0;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m)
            for (int64_t od = 0; od < out.v[0]; ++od)
                for (int64_t oh = 0; oh < out.v[1]; ++oh)
                    for (int64_t ow = 0; ow < out.v[2]; ++ow, ++o) {
                        double acc = b.empty() ? 0 : b.data<float>()[m];
                        const int64_t g = m / mg;
                        for (int64_t ci = 0; ci < cg; ++ci)
                            for (int64_t kd = 0; kd < k.v[0]; ++kd)
                                for (int64_t kh = 0; kh < k.v[1]; ++kh)
                                    for (int64_t kw = 0; kw < k.v[2]; ++kw) {
                                        const int64_t id = od * s.v[0] - pbs.v[0] + kd * d.v[0];
                                        const int64_t ih = oh * s.v[1] - pbs.v[1] + kh * d.v[1];
                                        const int64_t iw = ow * s.v[2] - pbs.v[2] + kw * d.v[2];
                                        if (id < 0 || id >= in.v[0] || ih < 0 || ih >= in.v[1] || iw < 0 ||
                                            iw >= in.v[2])
                                            continue;
                                        const int64_t c_in = g * cg + ci;
                                        acc += (double)
                                                   xp[(((n * C + c_in) * in.v[0] + id) * in.v[1] + ih) * in.v[2] + iw] *
                                               wp[(((m * cg + ci) * k.v[0] + kd) * k.v[1] + kh) * k.v[2] + kw];
                                    }
                        yp[o] = (float)acc;
                    }
    return y;
}

Tensor ref_conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, const ConvCase& c) {
    const size_t ns = x.rank() - 2;
    const Sp in(x.shape(), 2), k(w.shape(), 2), s(c.strides, ns, 1), d(c.dilations, ns, 1), op(c.output_padding, ns, 0);
    std::vector<int64_t> pb(c.pads.begin(), c.pads.begin() + (c.pads.empty() ? 0 : ns)),
        pe(c.pads.begin() + (c.pads.empty() ? 0 : ns), c.pads.end());
    const Sp pbs(pb, ns, 0), pes(pe, ns, 0);
    Sp out(x.shape(), 2);
    for (int i = 0; i < 3; ++i)
        out.v[i] = (in.v[i] - 1) * s.v[i] + op.v[i] + (k.v[i] - 1) * d.v[i] + 1 - pbs.v[i] - pes.v[i];
    const int64_t N = x.dim(0), C = x.dim(1), mg = w.dim(1), M = mg * c.group, cg = C / c.group;
    Shape ys = {N, M};
    for (size_t i = 0; i < ns; ++i) ys.push_back(out.v[3 - ns + i]);
    std::vector<double> acc(shape_numel(ys), 0.0);
    const float* xp = x.data<float>();
    const float* wp = w.data<float>();
    const int64_t os = out.v[0] * out.v[1] * out.v[2];
    for (int64_t n = 0; n < N; ++n)
        for (int64_t ci = 0; ci < C; ++ci)
            for (int64_t id = 0; id < in.v[0]; ++id)
                for (int64_t ih = 0; ih < in.v[1]; ++ih)
                    for (int64_t iw = 0; iw < in.v[2]; ++iw) {
                        const double xv = xp[(((n * C + ci) * in.v[0] + id) * in.v[1] + ih) * in.v[2] + iw];
                        const int64_t g = ci / cg;
                        for (int64_t mi = 0; mi < mg; ++mi)
                            for (int64_t kd = 0; kd < k.v[0]; ++kd)
                                for (int64_t kh = 0; kh < k.v[1]; ++kh)
                                    for (int64_t kw = 0; kw < k.v[2]; ++kw) {
                                        const int64_t od = id * s.v[0] - pbs.v[0] + kd * d.v[0];
                                        const int64_t oh = ih * s.v[1] - pbs.v[1] + kh * d.v[1];
                                        const int64_t ow = iw * s.v[2] - pbs.v[2] + kw * d.v[2];
                                        if (od < 0 || od >= out.v[0] || oh < 0 || oh >= out.v[1] || ow < 0 ||
                                            ow >= out.v[2])
                                            continue;
                                        const int64_t m = g * mg + mi;
                                        acc[(n * M + m) * os + (od * out.v[1] + oh) * out.v[2] + ow] +=
                                            xv * wp[(((ci * mg + mi) * k.v[0] + kd) * k.v[1] + kh) * k.v[2] + kw];
                                    }
                    }
    Tensor y(DType::F32, ys);
    for (int64_t i = 0; i < y.numel(); ++i)
        y.data<float>()[i] = (float)acc[i] + (b.empty() ? 0.f : b.data<float>()[(i / os) % M]);
    return y;
}

void require_close(const Tensor& got, const Tensor& want, double tol = 1e-4) {
    REQUIRE(got.shape() == want.shape());
    double worst = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
        const double g = got.at_f64(i), w = want.at_f64(i);
        worst = std::max(worst, std::fabs(g - w) / (1.0 + std::fabs(w)));
    }
    CHECK(worst <= tol);
}

std::vector<Tensor> eval(const std::string& op, std::vector<Tensor> in, std::map<std::string, graph::Attribute> attrs,
                         int64_t opset = 13, size_t n_out = 1) {
    std::vector<std::string> ins, outs;
    for (size_t i = 0; i < in.size(); ++i) ins.push_back(in[i].empty() ? "" : "i" + std::to_string(i));
    for (size_t i = 0; i < n_out; ++i) outs.push_back("o" + std::to_string(i));
    auto n = test::node(op, ins, outs, "n", std::move(attrs));
    return exec::cpu::evaluate_node(n, in, opset);
}

}  // namespace

TEST_CASE("cpu Conv matches direct loops on every path", "[cpu][conv]") {
    const std::vector<ConvCase> cases = {
        {{1, 3, 9, 11}, {4, 3, 3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}},
        {{2, 8, 7, 7}, {6, 8, 1, 1}},                                                     // pointwise GEMM
        {{1, 8, 8, 8}, {6, 8, 1, 1}, 1, {2, 2}},                                          // strided 1x1 through im2col
        {{2, 6, 10, 9}, {6, 1, 3, 3}, 6, {2, 1}, {1, 2}, {1, 2, 0, 1}},                   // depthwise
        {{1, 4, 10, 9}, {8, 1, 3, 3}, 4, {1, 1}, {}, {1, 1, 1, 1}},                       // depthwise, multiplier 2
        {{1, 8, 9, 9}, {12, 2, 3, 3}, 4, {2, 2}, {2, 2}, {2, 0, 1, 3}},                   // groups
        {{2, 5, 17}, {7, 5, 4}, 1, {3}, {2}, {3, 1}},                                     // 1-D
        {{1, 4, 5, 6, 7}, {3, 4, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}},  // 3-D
        {{1, 64, 96, 96}, {16, 64, 3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}},                   // im2col in several tiles
    };
    uint32_t seed = 1;
    for (const auto& c : cases) {
        Tensor x = test::random_tensor(c.x, seed++), w = test::random_tensor(c.w, seed++);
        Tensor b = test::random_tensor({c.w[0]}, seed++);
        auto got = eval("Conv", {x, w, b}, conv_attrs(c));
        require_close(got[0], ref_conv(x, w, b, c));
        auto got_nb = eval("Conv", {x, w}, conv_attrs(c));
        require_close(got_nb[0], ref_conv(x, w, Tensor(), c));
    }
}

TEST_CASE("cpu Conv stages float16 and names bad weights", "[cpu][conv]") {
    ConvCase c{{1, 3, 6, 6}, {2, 3, 3, 3}, 1, {1, 1}, {}, {1, 1, 1, 1}};
    Tensor x = test::random_tensor(c.x, 7), w = test::random_tensor(c.w, 8);
    Tensor want = ref_conv(exec::cpu::to_f32(exec::cpu::from_f32(x, DType::F16)),
                           exec::cpu::to_f32(exec::cpu::from_f32(w, DType::F16)), Tensor(), c);
    auto got = eval("Conv", {exec::cpu::from_f32(x, DType::F16), exec::cpu::from_f32(w, DType::F16)}, conv_attrs(c));
    REQUIRE(got[0].dtype() == DType::F16);
    require_close(exec::cpu::to_f32(got[0]), want, 2e-3);
    Tensor w3 = test::random_tensor({2, 3, 3}, 9);
    CHECK_THROWS_WITH(eval("Conv", {x, w3}, {}), Catch::Contains("Conv 'n'") && Catch::Contains("weight rank 3"));
}

TEST_CASE("cpu ConvTranspose matches direct loops", "[cpu][conv]") {
    const std::vector<ConvCase> cases = {
        {{1, 3, 4, 5}, {3, 2, 3, 3}, 1, {2, 2}, {}, {1, 0, 0, 1}, {1, 0}},
        {{2, 4, 5, 5}, {4, 3, 3, 2}, 2, {1, 2}, {2, 1}, {0, 1, 1, 0}},
        {{1, 2, 7}, {2, 3, 4}, 1, {3}, {1}, {1, 2}, {2}},
        {{1, 2, 3, 4, 3}, {2, 2, 2, 3, 2}, 1, {2, 1, 2}, {1, 1, 1}, {0, 0, 0, 0, 0, 0}},
        {{1, 32, 40, 40}, {32, 48, 4, 4}, 1, {2, 2}, {}, {1, 1, 1, 1}},  // col2im in several tiles
    };
    uint32_t seed = 100;
    for (const auto& c : cases) {
        Tensor x = test::random_tensor(c.x, seed++), w = test::random_tensor(c.w, seed++);
        Tensor b = test::random_tensor({c.w[1] * c.group}, seed++);
        auto got = eval("ConvTranspose", {x, w, b}, conv_attrs(c));
        require_close(got[0], ref_conv_transpose(x, w, b, c));
    }
}

TEST_CASE("cpu pooling: ceil_mode, padding counts, indices", "[cpu][pool]") {
    Tensor x(DType::F32, {1, 1, 4, 4});
    for (int i = 0; i < 16; ++i) x.data<float>()[i] = (float)i;
    // 3x3 stride 2, pads 1, ceil: out 3x3 (the last window starts inside the input).
    auto avg = eval("AveragePool", {x},
                    {{"kernel_shape", attr_ints({3, 3})},
                     {"strides", attr_ints({2, 2})},
                     {"pads", attr_ints({1, 1, 1, 1})},
                     {"ceil_mode", attr_i(1)},
                     {"count_include_pad", attr_i(1)}});
    REQUIRE(avg[0].shape() == Shape({1, 1, 3, 3}));
    CHECK(avg[0].data<float>()[0] == Approx((0 + 1 + 4 + 5) / 9.0));
    // window at (2,2) covers rows/cols 3..5 of which 3 is input, 4 is padding and 5 lies past it: 2x2 counted.
    CHECK(avg[0].data<float>()[8] == Approx(15 / 4.0));
    auto mx = eval("MaxPool", {x}, {{"kernel_shape", attr_ints({2, 2})}, {"storage_order", attr_i(1)}}, 13, 2);
    REQUIRE(mx[1].dtype() == DType::I64);
    CHECK(mx[0].data<float>()[0] == 5.f);
    CHECK(mx[1].data<int64_t>()[0] == 1 + 1 * 4);  // (h=1, w=1) column-major
}
