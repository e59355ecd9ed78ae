// Integer and quantized-linear CPU kernels: ConvInteger, MatMulInteger (int32 out) and QLinearConv, QLinearMatMul
// (requantized uint8/int8 out). Inputs are uint8/int8; weight zero points (and QLinear* scales) may be per tensor or
// per output channel / column, A's per row, as the ONNX spec allows. The zero-point-centered operands are multiplied
// in float64 (every product and partial sum is an integer below 2^53, so the result is the exact int32
// accumulation) by the Conv and MatMul code of conv.cpp / gemm.cpp. Requantization follows the ONNX reference:
// acc * float32(x_scale * w_scale / y_scale) + y_zero_point, rounded half to even, saturated to the output type.
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

bool is_q8(DType t) { return t == DType::U8 || t == DType::I8; }

void check_q8(const Tensor& t, const std::string& who, const char* what) {
    HQ_CHECK(is_q8(t.dtype()), who, ": ", what, " is ", dtype_name(t.dtype()), ", expected uint8 or int8");
}

// A zero point of 1 or `n` elements as int32 (a single 0 when the input is absent); its type must be `like`'s.
std::vector<int32_t> zp_param(const KernelContext& c, size_t idx, int64_t n, const Tensor& like, const char* what) {
    if (!c.has_input(idx)) return {0};
    const Tensor& z = c.in(idx);
    const std::string who = c.node.label();
    HQ_CHECK(z.dtype() == like.dtype(), who, ": ", what, " is ", dtype_name(z.dtype()), ", its input is ",
             dtype_name(like.dtype()));
    HQ_CHECK(z.numel() == 1 || z.numel() == n, who, ": ", what, " ", shape_str(z.shape()), " has ", z.numel(),
             " elements, expected 1 or ", n);
    std::vector<int32_t> v((size_t)z.numel());
    for (int64_t i = 0; i < z.numel(); ++i) v[i] = (int32_t)z.at_i64(i);
    return v;
}

// A scale of 1 or `n` elements as float32, each finite and nonzero.
std::vector<float> scale_param(const KernelContext& c, size_t idx, int64_t n, const char* what) {
    const Tensor& s0 = c.in(idx);
    const std::string who = c.node.label();
    HQ_CHECK(dtype_is_float(s0.dtype()), who, ": ", what, " is ", dtype_name(s0.dtype()), ", expected a float type");
    HQ_CHECK(s0.numel() == 1 || s0.numel() == n, who, ": ", what, " ", shape_str(s0.shape()), " has ", s0.numel(),
             " elements, expected 1 or ", n);
    std::vector<float> v = to_f32(s0).to_f32();
    for (size_t i = 0; i < v.size(); ++i)
        HQ_CHECK(std::isfinite(v[i]) && v[i] != 0.0f, who, ": ", what, " ", i, " is ", v[i]);
    return v;
}

inline int64_t pick(size_t count, int64_t i) { return count == 1 ? 0 : i; }

// float64 copy of x - zp, the zero point of element i being zp[(i / inner) % zp.size()].
Tensor centered(const Tensor& x, const std::vector<int32_t>& zp, int64_t inner) {
    Tensor r(DType::F64, x.shape());
    double* pr = r.data<double>();
    const int64_t n = x.numel(), cnt = (int64_t)zp.size();
    inner = std::max<int64_t>(inner, 1);
    auto run = [&](const auto* px) {
        parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) pr[i] = (double)((int32_t)px[i] - zp[cnt == 1 ? 0 : (i / inner) % cnt]);
        });
    };
    if (x.dtype() == DType::U8)
        run(x.data<uint8_t>());
    else
        run(x.data<int8_t>());
    return r;
}

// The exact accumulation (float64 holding an integer) as int32, wrapping like an int32 accumulator would.
Tensor to_i32(const Tensor& acc) {
    Tensor y(DType::I32, acc.shape());
    const double* pa = acc.data<double>();
    int32_t* py = y.data<int32_t>();
    map1(pa, py, acc.numel(), [](double v) { return (int32_t)(uint32_t)(uint64_t)(int64_t)v; });
    return y;
}

// Output of QLinear*: y[i] = saturate(round_half_even(acc[i] * mult[mi(i)]) + zp[zi(i)]).
template <typename MI, typename ZI>
Tensor requantize(const Tensor& acc, const std::vector<float>& mult, MI mi, const std::vector<int32_t>& zp, ZI zi,
                  DType out, const std::string& who) {
    Tensor y(out, acc.shape());
    const double* pa = acc.data<double>();
    auto run = [&](auto tag) {
        using Q = decltype(tag);
        constexpr double lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
        Q* py = y.data<Q>();
        parallel_for(acc.numel(), kGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                double v = std::nearbyint(pa[i] * (double)mult[mi(i)]) + (double)zp[zi(i)];
                py[i] = (Q)std::clamp(v, lo, hi);
            }
        });
    };
    if (out == DType::U8)
        run(uint8_t{});
    else if (out == DType::I8)
        run(int8_t{});
    else
        HQ_FAIL(who, ": output type ", dtype_name(out), " is not supported (uint8, int8)");
    return y;
}

// ------------------------------------------------------------------------------------------------ Conv

// Checks x/w and returns the centered operands; M is w's output channel count.
void conv_operands(const KernelContext& c, const Tensor& x, const Tensor& w, size_t x_zp, size_t w_zp, Tensor& xd,
                   Tensor& wd) {
    const std::string who = c.node.label();
    check_q8(x, who, "x");
    check_q8(w, who, "w");
    HQ_CHECK(x.rank() >= 3 && w.rank() == x.rank(), who, ": x ", shape_str(x.shape()), " and w ", shape_str(w.shape()),
             " must both have rank 3 to 5");
    const int64_t M = w.dim(0);
    const auto xz = zp_param(c, x_zp, 1, x, "x_zero_point");
    const auto wz = zp_param(c, w_zp, M, w, "w_zero_point");
    xd = centered(x, xz, 1);
    wd = centered(w, wz, M > 0 ? w.numel() / M : 1);
}

void k_conv_integer(KernelContext& c) {
    Tensor xd, wd;
    conv_operands(c, c.in(0), c.in(1), 2, 3, xd, wd);
    c.set(0, to_i32(conv_tensors(c, xd, wd)));
}

void k_qlinear_conv(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x = c.in(0);
    const Tensor& w = c.in(3);
    Tensor xd, wd;
    conv_operands(c, x, w, 2, 5, xd, wd);
    const int64_t M = w.dim(0);
    const auto xs = scale_param(c, 1, 1, "x_scale");
    const auto ws = scale_param(c, 4, M, "w_scale");
    const auto ys = scale_param(c, 6, 1, "y_scale");
    const DType out = c.has_input(7) ? c.in(7).dtype() : x.dtype();
    std::vector<int32_t> yz = {0};
    if (c.has_input(7)) {
        const Tensor& z = c.in(7);
        HQ_CHECK(z.numel() == 1, who, ": y_zero_point must be a scalar, got ", shape_str(z.shape()));
        yz[0] = (int32_t)z.at_i64(0);
    }
    Tensor acc = conv_tensors(c, xd, wd);
    const int64_t nm_rows = acc.dim(0) * M;  // output element i is in channel (i / inner) % M
    const int64_t inner = nm_rows > 0 ? std::max<int64_t>(acc.numel() / nm_rows, 1) : 1;
    if (c.has_input(8)) {
        const Tensor& b = c.in(8);
        HQ_CHECK(b.dtype() == DType::I32 && b.numel() == M, who, ": B ", shape_str(b.shape()), " ",
                 dtype_name(b.dtype()), ", expected [", M, "] int32");
        const int32_t* pb = b.data<int32_t>();
        double* pa = acc.data<double>();
        for (int64_t i = 0; i < acc.numel(); ++i) pa[i] += (double)pb[(i / inner) % M];
    }
    std::vector<float> mult(ws.size());
    for (size_t m = 0; m < ws.size(); ++m) mult[m] = xs[0] * ws[m] / ys[0];
    const size_t nm = mult.size();
    c.set(0, requantize(acc, mult, [&](int64_t i) { return nm == 1 ? 0 : (i / inner) % M; }, yz,
                        [](int64_t) { return 0; }, out, who));
}

// ---------------------------------------------------------------------------------------------- MatMul

struct MatDims {
    int64_t m = 1, k = 1, n = 1;
};

MatDims mat_dims(const Tensor& a, const Tensor& b, const std::string& who) {
    HQ_CHECK(a.rank() >= 1 && b.rank() >= 1, who, ": operands must have rank >= 1, got ", shape_str(a.shape()),
             " and ", shape_str(b.shape()));
    MatDims d;
    d.k = a.dim(-1);
    d.m = a.rank() >= 2 ? a.dim(-2) : 1;
    d.n = b.rank() >= 2 ? b.dim(-1) : 1;
    return d;
}

void matmul_operands(const KernelContext& c, const Tensor& a, const Tensor& b, size_t a_zp, size_t b_zp,
                     const MatDims& d, Tensor& ad, Tensor& bd) {
    const std::string who = c.node.label();
    check_q8(a, who, "A");
    check_q8(b, who, "B");
    const auto az = zp_param(c, a_zp, d.m, a, "a_zero_point");
    const auto bz = zp_param(c, b_zp, d.n, b, "b_zero_point");
    ad = centered(a, az, d.k);  // per row: element i is in row (i / K) % M
    bd = centered(b, bz, 1);    // per column: element i is in column i % N
}

void k_matmul_integer(KernelContext& c) {
    const Tensor& a = c.in(0);
    const Tensor& b = c.in(1);
    const MatDims d = mat_dims(a, b, c.node.label());
    Tensor ad, bd;
    matmul_operands(c, a, b, 2, 3, d, ad, bd);
    c.set(0, to_i32(matmul_tensors(c.node, ad, bd)));
}

void k_qlinear_matmul(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& a = c.in(0);
    const Tensor& b = c.in(3);
    const MatDims d = mat_dims(a, b, who);
    Tensor ad, bd;
    matmul_operands(c, a, b, 2, 5, d, ad, bd);
    const auto as = scale_param(c, 1, d.m, "a_scale");
    const auto bs = scale_param(c, 4, d.n, "b_scale");
    const auto ys = scale_param(c, 6, d.m, "y_scale");
    const DType out = c.has_input(7) ? c.in(7).dtype() : a.dtype();
    std::vector<int32_t> yz = {0};
    if (c.has_input(7)) {
        const Tensor& z = c.in(7);
        HQ_CHECK(z.numel() == 1 || z.numel() == d.m, who, ": y_zero_point ", shape_str(z.shape()),
                 " has ", z.numel(), " elements, expected 1 or ", d.m);
        yz.resize((size_t)z.numel());
        for (int64_t i = 0; i < z.numel(); ++i) yz[i] = (int32_t)z.at_i64(i);
    }
    Tensor acc = matmul_tensors(c.node, ad, bd);
    // Multiplier per (row, column), as the reference computes it: float32(a_scale * b_scale / y_scale).
    const int64_t ra = (int64_t)std::max(as.size(), ys.size()), rb = (int64_t)bs.size();
    std::vector<float> mult((size_t)(ra * rb));
    for (int64_t r = 0; r < ra; ++r)
        for (int64_t j = 0; j < rb; ++j)
            mult[r * rb + j] = as[pick(as.size(), r)] * bs[j] / ys[pick(ys.size(), r)];
    const int64_t m = d.m, n = d.n;
    auto row = [m, n](int64_t i) { return (i / n) % m; };
    c.set(0, requantize(
                 acc, mult, [&](int64_t i) { return (ra == 1 ? 0 : row(i)) * rb + (rb == 1 ? 0 : i % n); }, yz,
                 [&](int64_t i) { return yz.size() == 1 ? 0 : row(i); }, out, who));
}

}  // namespace

void register_qlinear(KernelRegistry& r) {
    r.add(KernelDef{"ConvInteger", "", 10, INT_MAX, k_conv_integer, conv_window_check});
    r.add(KernelDef{"QLinearConv", "", 10, INT_MAX, k_qlinear_conv, conv_window_check});
    r.add(KernelDef{"MatMulInteger", "", 10, INT_MAX, k_matmul_integer});
    r.add(KernelDef{"QLinearMatMul", "", 10, INT_MAX, k_qlinear_matmul});
}

}  // namespace hq::exec::cpu
