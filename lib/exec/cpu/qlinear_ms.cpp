// ONNX Runtime's quantized contrib ops (domain com.microsoft), as its quantizer writes them in QOperator format
// and its dynamic quantizer's fusions: QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu,
// QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat, QLinearSoftmax, QGemm, DynamicQuantizeMatMul,
// MatMulIntegerToFloat. Semantics from ONNX Runtime's contrib operator schemas; arithmetic as its CPU kernels do it:
//  - QLinearAdd: c = round(a_s/c_s * (a - a_zp) + b_s/c_s * (b - b_zp)) + c_zp; QLinearMul: c = round(a_s*b_s/c_s *
//    (a - a_zp)(b - b_zp)) + c_zp (float32 ratios, numpy broadcasting);
//  - QLinearSigmoid, QLinearLeakyRelu, QLinearConcat (inputs whose scale/zero point differ from the output's),
//    QLinearSoftmax and QLinearAveragePool: dequantize, compute in float32, quantize (round(v / y_scale) + y_zp);
//  - QLinearGlobalAveragePool: round(sum(x - x_zp) * x_s / (y_s * pixels)) + y_zp;
//  - QGemm: alpha * a_s * b_s * ((A - a_zp)(B - b_zp) + C) in float, requantized when y_scale is given;
//  - DynamicQuantizeMatMul: A quantized to uint8 as DynamicQuantizeLinear does, then as MatMulIntegerToFloat:
//    a_s * b_s * (A - a_zp)(B - b_zp) + bias (b_scale / b_zero_point per tensor or per column).
// Rounding is half to even, results saturate to the output type (uint8/int8). The integer products are exact
// (float64 holding integers below 2^53).
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/cpu/common.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

bool is_q8(DType t) { return t == DType::U8 || t == DType::I8; }

// Values of a quantized uint8/int8 tensor as int32.
std::vector<int32_t> q_values(const Tensor& t, const std::string& who, const char* what) {
    HQ_CHECK(is_q8(t.dtype()), who, ": ", what, " is ", dtype_name(t.dtype()), ", expected uint8 or int8");
    std::vector<int32_t> v((size_t)t.numel());
    if (t.dtype() == DType::U8) {
        const uint8_t* p = t.data<uint8_t>();
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = p[i];
    } else {
        const int8_t* p = t.data<int8_t>();
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = p[i];
    }
    return v;
}

// Scale input `idx`: `n` float32 values (1 or the per-channel count), each finite and nonzero.
std::vector<float> scales(const KernelContext& c, size_t idx, const char* what, int64_t n = 1) {
    const std::string who = c.node.label();
    const Tensor& s = c.in(idx);
    HQ_CHECK(dtype_is_float(s.dtype()), who, ": ", what, " is ", dtype_name(s.dtype()), ", expected a float type");
    HQ_CHECK(s.numel() == 1 || s.numel() == n, who, ": ", what, " ", shape_str(s.shape()), " has ", s.numel(),
             " elements, expected ", n == 1 ? std::string("1") : "1 or " + std::to_string(n));
    std::vector<float> v = to_f32(s).to_f32();
    for (float f : v) HQ_CHECK(std::isfinite(f) && f != 0.0f, who, ": ", what, " is ", f);
    return v;
}
float scale1(const KernelContext& c, size_t idx, const char* what) { return scales(c, idx, what)[0]; }

// Zero point input `idx` (absent: 0 of type `def`): 1 or `n` values; *dt receives its type.
std::vector<int32_t> zero_points(const KernelContext& c, size_t idx, const char* what, DType def, DType* dt,
                                 int64_t n = 1) {
    if (dt) *dt = def;
    if (!c.has_input(idx)) return {0};
    const std::string who = c.node.label();
    const Tensor& z = c.in(idx);
    HQ_CHECK(z.numel() == 1 || z.numel() == n, who, ": ", what, " ", shape_str(z.shape()), " has ", z.numel(),
             " elements, expected ", n == 1 ? std::string("1") : "1 or " + std::to_string(n));
    if (dt) *dt = z.dtype();
    return q_values(z, who, what);
}
int32_t zp1(const KernelContext& c, size_t idx, const char* what, DType def, DType* dt = nullptr) {
    return zero_points(c, idx, what, def, dt)[0];
}

struct QRange {
    double lo, hi;
};
QRange q_range(DType t) { return t == DType::U8 ? QRange{0, 255} : QRange{-128, 127}; }

// A uint8/int8 tensor from int32 values already saturated to its range.
Tensor q_tensor(DType t, Shape s, const std::vector<int32_t>& v) {
    Tensor y(t, std::move(s));
    if (t == DType::U8)
        for (size_t i = 0; i < v.size(); ++i) y.data<uint8_t>()[i] = (uint8_t)v[i];
    else
        for (size_t i = 0; i < v.size(); ++i) y.data<int8_t>()[i] = (int8_t)v[i];
    return y;
}

inline int32_t saturate(double v, QRange r) { return (int32_t)std::clamp(v, r.lo, r.hi); }
// round(v / scale) + zp, saturated: ONNX Runtime's QuantizeLinear.
inline int32_t quantize(float v, float scale, int32_t zp, QRange r) {
    return saturate((double)std::nearbyint(v / scale) + zp, r);
}

// Output type: the output zero point's when given, else the first quantized input's.
DType out_type(const KernelContext& c, size_t zp_idx, DType like) {
    return c.has_input(zp_idx) ? c.in(zp_idx).dtype() : like;
}

// --------------------------------------------------------------------------------------- QLinearAdd / Mul

template <bool Mul>
void k_qlinear_binary(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& a = c.in(0);
    const Tensor& b = c.in(3);
    const auto av = q_values(a, who, "A"), bv = q_values(b, who, "B");
    const float as = scale1(c, 1, "A_scale"), bs = scale1(c, 4, "B_scale"), cs = scale1(c, 6, "C_scale");
    const int32_t az = zp1(c, 2, "A_zero_point", a.dtype()), bz = zp1(c, 5, "B_zero_point", b.dtype());
    const DType ot = out_type(c, 7, a.dtype());
    HQ_CHECK(is_q8(ot), who, ": C_zero_point is ", dtype_name(ot), ", expected uint8 or int8");
    const int32_t cz = zp1(c, 7, "C_zero_point", ot);
    const Shape os = broadcast_shapes(a.shape(), b.shape());
    const BroadcastIndex ia(a.shape(), os), ib(b.shape(), os);
    int64_t n = 1;
    for (int64_t d : os) n *= d;
    std::vector<int32_t> out((size_t)n);
    const QRange r = q_range(ot);
    const float ra = as / cs, rb = bs / cs, rm = as * bs / cs;
    parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) {
            const float va = (float)(av[ia(i)] - az), vb = (float)(bv[ib(i)] - bz);
            const float v = Mul ? va * vb * rm : ra * va + rb * vb;
            out[i] = saturate((double)std::nearbyint(v) + cz, r);
        }
    });
    c.set(0, q_tensor(ot, os, out));
}

// ------------------------------------------------------------------------------ lookup-table unary ops

template <typename F>
void qlinear_unary(KernelContext& c, F f) {
    const std::string who = c.node.label();
    const Tensor& x = c.in(0);
    const auto xv = q_values(x, who, "X");
    const float xs = scale1(c, 1, "X_scale"), ys = scale1(c, 3, "Y_scale");
    const int32_t xz = zp1(c, 2, "X_zero_point", x.dtype());
    const DType ot = out_type(c, 4, x.dtype());
    HQ_CHECK(is_q8(ot), who, ": Y_zero_point is ", dtype_name(ot), ", expected uint8 or int8");
    const int32_t yz = zp1(c, 4, "Y_zero_point", ot);
    const QRange ri = q_range(x.dtype()), ro = q_range(ot);
    int32_t table[256];
    for (int32_t q = (int32_t)ri.lo; q <= (int32_t)ri.hi; ++q)
        table[q - (int32_t)ri.lo] = quantize(f((float)(q - xz) * xs), ys, yz, ro);
    std::vector<int32_t> out(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) out[i] = table[xv[i] - (int32_t)ri.lo];
    c.set(0, q_tensor(ot, x.shape(), out));
}

void k_qlinear_sigmoid(KernelContext& c) {
    qlinear_unary(c, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

void k_qlinear_leaky_relu(KernelContext& c) {
    const float alpha = c.node.attr_float("alpha", 0.01f);
    qlinear_unary(c, [alpha](float v) { return v >= 0 ? v : alpha * v; });
}

// -------------------------------------------------------------------------------------------------- pooling

// [N, S..., C] <-> [N, C, S...] (to_first: channels-last to channels-first).
template <typename T>
Tensor move_channels(const Tensor& x, bool to_first) {
    const int64_t N = x.dim(0), C = to_first ? x.dim(-1) : x.dim(1);
    const int64_t S = N * C != 0 ? x.numel() / (N * C) : 0;
    Shape s = {N};
    if (to_first) {
        s.push_back(C);
        for (int64_t d = 1; d + 1 < x.rank(); ++d) s.push_back(x.dim(d));
    } else {
        for (int64_t d = 2; d < x.rank(); ++d) s.push_back(x.dim(d));
        s.push_back(C);
    }
    Tensor y(x.dtype(), s);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t n = 0; n < N; ++n)
        for (int64_t p = 0; p < S; ++p)
            for (int64_t ch = 0; ch < C; ++ch) {
                const int64_t last = (n * S + p) * C + ch, first = (n * C + ch) * S + p;
                if (to_first) py[first] = px[last];
                else py[last] = px[first];
            }
    return y;
}

void k_qlinear_global_avgpool(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 3, who, ": X ", shape_str(x0.shape()), " must have rank 3 or more");
    const bool last = c.node.attr_int("channels_last", 0) != 0;
    const Tensor x = last ? (x0.dtype() == DType::U8 ? move_channels<uint8_t>(x0, true) : move_channels<int8_t>(x0, true)) : x0;
    const auto xv = q_values(x, who, "X");
    const float xs = scale1(c, 1, "x_scale"), ys = scale1(c, 3, "y_scale");
    const int32_t xz = zp1(c, 2, "x_zero_point", x.dtype());
    const DType ot = out_type(c, 4, x.dtype());
    const int32_t yz = zp1(c, 4, "y_zero_point", ot);
    const int64_t N = x.dim(0), C = x.dim(1), S = x.numel() / std::max<int64_t>(N * C, 1);
    const float mult = xs / (ys * (float)S);
    const QRange r = q_range(ot);
    std::vector<int32_t> out((size_t)(N * C));
    for (int64_t i = 0; i < N * C; ++i) {
        int64_t sum = 0;
        for (int64_t p = 0; p < S; ++p) sum += xv[i * S + p] - xz;
        out[i] = saturate((double)std::nearbyint((float)sum * mult) + yz, r);
    }
    Shape s = {N, C};
    for (int64_t d = 2; d < x.rank(); ++d) s.push_back(1);
    Tensor y = q_tensor(ot, s, out);
    if (last) y = ot == DType::U8 ? move_channels<uint8_t>(y, false) : move_channels<int8_t>(y, false);
    c.set(0, y);
}

// float32 dequantization of a quantized tensor.
Tensor dequantize(const Tensor& x, float s, int32_t z, const std::string& who) {
    const auto v = q_values(x, who, "X");
    Tensor y(DType::F32, x.shape());
    float* py = y.data<float>();
    for (size_t i = 0; i < v.size(); ++i) py[i] = (float)(v[i] - z) * s;
    return y;
}

Tensor quantize_tensor(const Tensor& y, float s, int32_t z, DType ot) {
    const QRange r = q_range(ot);
    const float* p = y.data<float>();
    std::vector<int32_t> v((size_t)y.numel());
    for (size_t i = 0; i < v.size(); ++i) v[i] = quantize(p[i], s, z, r);
    return q_tensor(ot, y.shape(), v);
}

// A plain ONNX node that computes this node's float op: same attributes minus `drop`.
graph::Node float_node(const graph::Node& n, const std::string& op, std::initializer_list<const char*> drop) {
    graph::Node f;
    f.name = n.name;
    f.op_type = op;
    f.inputs = {"x"};
    f.outputs = {"y"};
    f.attrs = n.attrs;
    for (const char* d : drop) f.attrs.erase(d);
    return f;
}

void k_qlinear_avgpool(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 3, who, ": X ", shape_str(x0.shape()), " must have rank 3 or more");
    const bool last = c.node.attr_int("channels_last", 0) != 0;
    const float xs = scale1(c, 1, "x_scale"), ys = scale1(c, 3, "y_scale");
    const int32_t xz = zp1(c, 2, "x_zero_point", x0.dtype());
    const DType ot = out_type(c, 4, x0.dtype());
    const int32_t yz = zp1(c, 4, "y_zero_point", ot);
    Tensor xf = dequantize(x0, xs, xz, who);
    if (last) xf = move_channels<float>(xf, true);
    const graph::Node pool = float_node(c.node, "AveragePool", {"channels_last"});
    Tensor yf = evaluate_node(pool, {xf}, 19).at(0);
    if (last) yf = move_channels<float>(yf, false);
    c.set(0, quantize_tensor(yf, ys, yz, ot));
}

std::string qlinear_avgpool_check(const graph::Node& n, int64_t) {
    const graph::Node f = float_node(n, "AveragePool", {"channels_last"});
    const KernelDef* d = registry().find("", "AveragePool", 19);
    if (!d) return "QLinearAveragePool needs the AveragePool kernel";
    return d->check ? d->check(f, 19) : std::string();
}

// ---------------------------------------------------------------------------------------------- QLinearConcat

void k_qlinear_concat(KernelContext& c) {
    const std::string who = c.node.label();
    const size_t n_in = c.num_inputs();
    HQ_CHECK(n_in >= 5 && (n_in - 2) % 3 == 0, who, ": expects Y_scale, Y_zero_point and (X, X_scale, X_zero_point) "
             "triples, got ", n_in, " inputs");
    const float ys = scale1(c, 0, "Y_scale");
    const DType ot = c.in(1).dtype();
    HQ_CHECK(is_q8(ot), who, ": Y_zero_point is ", dtype_name(ot), ", expected uint8 or int8");
    const int32_t yz = zp1(c, 1, "Y_zero_point", ot);
    const QRange r = q_range(ot);
    std::vector<Tensor> parts;
    for (size_t k = 2; k < n_in; k += 3) {
        const Tensor& x = c.in(k);
        HQ_CHECK(x.dtype() == ot, who, ": input ", (k - 2) / 3, " is ", dtype_name(x.dtype()), ", the output ",
                 dtype_name(ot));
        const float xs = scale1(c, k + 1, "X_scale");
        const int32_t xz = zp1(c, k + 2, "X_zero_point", ot);
        if (xs == ys && xz == yz) {
            parts.push_back(x);
            continue;
        }
        const auto xv = q_values(x, who, "X");
        int32_t table[256];
        for (int32_t q = (int32_t)r.lo; q <= (int32_t)r.hi; ++q)
            table[q - (int32_t)r.lo] = quantize((float)(q - xz) * xs, ys, yz, r);
        std::vector<int32_t> v(xv.size());
        for (size_t i = 0; i < v.size(); ++i) v[i] = table[xv[i] - (int32_t)r.lo];
        parts.push_back(q_tensor(ot, x.shape(), v));
    }
    graph::Node cat;
    cat.name = c.node.name;
    cat.op_type = "Concat";
    cat.outputs = {"y"};
    cat.attrs = c.node.attrs;
    for (size_t i = 0; i < parts.size(); ++i) cat.inputs.push_back("x" + std::to_string(i));
    c.set(0, evaluate_node(cat, parts, 13).at(0));
}

// --------------------------------------------------------------------------------------------- QLinearSoftmax

void k_qlinear_softmax(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x = c.in(0);
    const float xs = scale1(c, 1, "X_scale"), ys = scale1(c, 3, "y_scale");
    const int32_t xz = zp1(c, 2, "x_zero_point", x.dtype());
    const DType ot = out_type(c, 4, x.dtype());
    const int32_t yz = zp1(c, 4, "y_zero_point", ot);
    graph::Node sm = float_node(c.node, "Softmax", {"opset"});
    const int64_t semantics = c.node.attr_int("opset", 13);
    if (!sm.has_attr("axis")) {
        graph::Attribute a;
        a.kind = graph::Attribute::Kind::Int;
        a.i = semantics < 13 ? 1 : -1;
        sm.attrs["axis"] = a;
    }
    Tensor yf = evaluate_node(sm, {dequantize(x, xs, xz, who)}, semantics < 13 ? 11 : 13).at(0);
    c.set(0, quantize_tensor(yf, ys, yz, ot));
}

// ---------------------------------------------------------------------------------------------------- QGemm

// float64 copy of q - zp, zero point of element i being zp[(i % cols) ] when per column, else zp[0].
Tensor centered(const Tensor& q, const std::vector<int32_t>& zp, const std::string& who, const char* what) {
    const auto v = q_values(q, who, what);
    Tensor r(DType::F64, q.shape());
    double* p = r.data<double>();
    const int64_t cols = q.rank() ? q.dim(-1) : 1, cnt = (int64_t)zp.size();
    for (size_t i = 0; i < v.size(); ++i) p[i] = (double)(v[i] - zp[cnt == 1 ? 0 : (int64_t)i % cols]);
    return r;
}

void k_qgemm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& a = c.in(0);
    const Tensor& b = c.in(3);
    HQ_CHECK(a.rank() == 2 && b.rank() == 2, who, ": A ", shape_str(a.shape()), " and B ", shape_str(b.shape()),
             " must be matrices");
    const bool ta = c.node.attr_int("transA", 0) != 0, tb = c.node.attr_int("transB", 0) != 0;
    const float alpha = c.node.attr_float("alpha", 1.0f);
    const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
    const int64_t N = tb ? b.dim(0) : b.dim(1);
    HQ_CHECK((tb ? b.dim(1) : b.dim(0)) == K, who, ": A ", shape_str(a.shape()), " and B ", shape_str(b.shape()),
             " do not multiply (transA ", ta, ", transB ", tb, ")");
    const float as = scale1(c, 1, "a_scale");
    const auto bs = scales(c, 4, "b_scale", N);
    const int32_t az = zp1(c, 2, "a_zero_point", a.dtype());
    const auto bz = zero_points(c, 5, "b_zero_point", b.dtype(), nullptr, N);
    // B's zero point is per output column n: B[k, n] (or B[n, k] transposed).
    Tensor ad = centered(a, {az}, who, "A");
    Tensor bd(DType::F64, b.shape());
    {
        const auto bv = q_values(b, who, "B");
        double* p = bd.data<double>();
        for (int64_t i = 0; i < b.numel(); ++i) {
            const int64_t col = tb ? i / K : i % N;
            p[i] = (double)(bv[i] - bz[bz.size() == 1 ? 0 : col]);
        }
    }
    Tensor acc(DType::F64, {M, N});
    blas_gemm(ta, tb, M, N, K, 1.0, ad.data<double>(), ta ? M : K, bd.data<double>(), tb ? K : N, 0.0,
              acc.data<double>(), N);
    double* pa = acc.data<double>();
    if (c.has_input(6)) {
        const Tensor& bias = c.in(6);
        HQ_CHECK(bias.dtype() == DType::I32, who, ": C is ", dtype_name(bias.dtype()), ", expected int32");
        const BroadcastIndex bi(bias.shape(), {M, N});
        HQ_CHECK(broadcast_shapes(bias.shape(), {M, N}) == Shape({M, N}), who, ": C ", shape_str(bias.shape()),
                 " does not broadcast to [", M, ",", N, "]");
        const int32_t* pb = bias.data<int32_t>();
        for (int64_t i = 0; i < M * N; ++i) pa[i] += (double)pb[bi(i)];
    }
    if (!c.has_input(7)) {
        Tensor y(DType::F32, {M, N});
        float* py = y.data<float>();
        for (int64_t i = 0; i < M * N; ++i) py[i] = (float)pa[i] * (alpha * as * bs[bs.size() == 1 ? 0 : i % N]);
        c.set(0, y);
        return;
    }
    const float ys = scale1(c, 7, "y_scale");
    const DType ot = out_type(c, 8, a.dtype());
    const int32_t yz = zp1(c, 8, "y_zero_point", ot);
    const QRange r = q_range(ot);
    std::vector<float> mult(bs.size());
    for (size_t j = 0; j < bs.size(); ++j) mult[j] = alpha * as * bs[j] / ys;
    std::vector<int32_t> out((size_t)(M * N));
    for (int64_t i = 0; i < M * N; ++i)
        out[i] = saturate((double)std::nearbyint((float)pa[i] * mult[mult.size() == 1 ? 0 : i % N]) + yz, r);
    c.set(0, q_tensor(ot, {M, N}, out));
}

// -------------------------------------------------------------------- MatMulIntegerToFloat / DynamicQuantizeMatMul

// y = a_scale * b_scale[n] * (A - a_zp)(B - b_zp[n]) + bias[n], A and B quantized.
Tensor int_matmul_to_float(const KernelContext& c, const Tensor& a, float as, int32_t az, const Tensor& b,
                           size_t bs_idx, size_t bz_idx, size_t bias_idx) {
    const std::string who = c.node.label();
    HQ_CHECK(a.rank() >= 1 && b.rank() >= 2, who, ": A ", shape_str(a.shape()), " and B ", shape_str(b.shape()),
             " must have rank >= 1 and >= 2");
    const int64_t N = b.dim(-1);
    const auto bs = scales(c, bs_idx, "b_scale", N);
    const auto bz = zero_points(c, bz_idx, "b_zero_point", b.dtype(), nullptr, N);
    Tensor acc = matmul_tensors(c.node, centered(a, {az}, who, "A"), centered(b, bz, who, "B"));
    Tensor y(DType::F32, acc.shape());
    const double* pa = acc.data<double>();
    float* py = y.data<float>();
    const float* pbias = nullptr;
    Tensor bias;
    if (c.has_input(bias_idx)) {
        bias = to_f32(c.in(bias_idx));
        HQ_CHECK(bias.numel() == N, who, ": bias ", shape_str(bias.shape()), " must have ", N, " elements");
        pbias = bias.data<float>();
    }
    for (int64_t i = 0; i < acc.numel(); ++i) {
        const int64_t n = i % N;
        py[i] = (float)pa[i] * (as * bs[bs.size() == 1 ? 0 : n]) + (pbias ? pbias[n] : 0.0f);
    }
    return y;
}

void k_matmul_integer_to_float(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& a = c.in(0);
    const float as = scale1(c, 2, "a_scale");
    const int32_t az = zp1(c, 4, "a_zero_point", a.dtype());
    c.set(0, int_matmul_to_float(c, a, as, az, c.in(1), 3, 5, 6));
}

void k_dynamic_quantize_matmul(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& a = c.in(0);
    HQ_CHECK(dtype_is_float(a.dtype()), who, ": A must be a float tensor, got ", dtype_name(a.dtype()));
    graph::Node dq;
    dq.name = c.node.name;
    dq.op_type = "DynamicQuantizeLinear";
    dq.inputs = {"a"};
    dq.outputs = {"q", "s", "z"};
    const auto q = evaluate_node(dq, {a}, 11);
    c.set(0, int_matmul_to_float(c, q[0], q[1].to_f32()[0], (int32_t)q[2].at_i64(0), c.in(1), 2, 3, 4));
}

}  // namespace

void register_qlinear_ms(KernelRegistry& r) {
    const std::string ms = "com.microsoft";
    r.add(KernelDef{"QLinearAdd", ms, 1, INT_MAX, k_qlinear_binary<false>});
    r.add(KernelDef{"QLinearMul", ms, 1, INT_MAX, k_qlinear_binary<true>});
    r.add(KernelDef{"QLinearSigmoid", ms, 1, INT_MAX, k_qlinear_sigmoid});
    r.add(KernelDef{"QLinearLeakyRelu", ms, 1, INT_MAX, k_qlinear_leaky_relu});
    r.add(KernelDef{"QLinearGlobalAveragePool", ms, 1, INT_MAX, k_qlinear_global_avgpool});
    r.add(KernelDef{"QLinearAveragePool", ms, 1, INT_MAX, k_qlinear_avgpool, qlinear_avgpool_check});
    r.add(KernelDef{"QLinearConcat", ms, 1, INT_MAX, k_qlinear_concat});
    r.add(KernelDef{"QLinearSoftmax", ms, 1, INT_MAX, k_qlinear_softmax});
    r.add(KernelDef{"QGemm", ms, 1, INT_MAX, k_qgemm});
    r.add(KernelDef{"MatMulIntegerToFloat", ms, 1, INT_MAX, k_matmul_integer_to_float});
    r.add(KernelDef{"DynamicQuantizeMatMul", ms, 1, INT_MAX, k_dynamic_quantize_matmul});
}

}  // namespace hq::exec::cpu
