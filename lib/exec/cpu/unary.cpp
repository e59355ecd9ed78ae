// Unary math kernels (activations, transcendental, rounding, sign, NaN/Inf tests, Not). Float ops run in
// float32/float64; float16/bfloat16 are staged through float32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

// Floating-point-only unary op (float32, float64; float16/bfloat16 staged through float32).
template <typename F>
void unary_float(KernelContext& ctx, F f) {
    const Tensor& x = ctx.in(0);
    const DType dt = x.dtype();
    if (is_staged_float(dt)) {
        Tensor xf = to_f32(x);
        Tensor y(DType::F32, x.shape());
        map1(xf.data<float>(), y.data<float>(), x.numel(), [&](float v) { return (float)f(v); });
        ctx.set(0, from_f32(y, dt));
    } else if (dt == DType::F32) {
        Tensor& y = ctx.alloc(0, dt, x.shape());
        map1(x.data<float>(), y.data<float>(), x.numel(), [&](float v) { return (float)f(v); });
    } else if (dt == DType::F64) {
        Tensor& y = ctx.alloc(0, dt, x.shape());
        map1(x.data<double>(), y.data<double>(), x.numel(), [&](double v) { return (double)f(v); });
    } else {
        HQ_FAIL(ctx.node.label(), ": unsupported element type ", dtype_name(dt));
    }
}

// Unary op over every numeric type except bool.
template <typename F>
void unary_numeric(KernelContext& ctx, F f) {
    const Tensor& x = ctx.in(0);
    const DType dt = x.dtype();
    if (is_staged_float(dt) || dt == DType::F32 || dt == DType::F64) return unary_float(ctx, f);
    dispatch_numeric(dt, ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            HQ_FAIL(ctx.node.label(), ": unsupported element type bool");
        } else {
            Tensor& y = ctx.alloc(0, dt, x.shape());
            map1(x.data<T>(), y.data<T>(), x.numel(), [&](T v) { return static_cast<T>(f(v)); });
        }
    });
}

// Unary op from any float type to bool (IsNaN, IsInf).
template <typename F>
void unary_float_to_bool(KernelContext& ctx, F f) {
    const Tensor& x = ctx.in(0);
    Tensor xf = x.dtype() == DType::F64 ? x : to_f32(x);
    Tensor& y = ctx.alloc(0, DType::Bool, x.shape());
    if (xf.dtype() == DType::F64)
        map1(xf.data<double>(), y.data<bool>(), x.numel(), [&](double v) { return (bool)f(v); });
    else
        map1(xf.data<float>(), y.data<bool>(), x.numel(), [&](float v) { return (bool)f(v); });
}

template <typename T>
constexpr T kSqrt1_2 = T(0.70710678118654752440);

// ---------------------------------------------------------------------------------------------------------------
// Unary kernels.

void k_relu(KernelContext& c) {
    unary_numeric(c, [](auto v) { return v > decltype(v)(0) ? v : decltype(v)(0); });
}
void k_leaky_relu(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 0.01f);
    unary_float(c, [a](auto v) { return v < 0 ? v * decltype(v)(a) : v; });
}
void k_elu(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 1.0f);
    unary_float(c, [a](auto v) { return v < 0 ? decltype(v)(a) * std::expm1(v) : v; });
}
void k_celu(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 1.0f);
    unary_float(c, [a](auto v) {
        using T = decltype(v);
        return std::max(T(0), v) + std::min(T(0), T(a) * std::expm1(v / T(a)));
    });
}
void k_selu(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 1.67326319217681884765625f);
    const float g = c.node.attr_float("gamma", 1.05070102214813232421875f);
    unary_float(c, [a, g](auto v) {
        using T = decltype(v);
        return v > 0 ? T(g) * v : T(g) * (T(a) * std::exp(v) - T(a));
    });
}
void k_thresholded_relu(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 1.0f);
    unary_float(c, [a](auto v) { return v > decltype(v)(a) ? v : decltype(v)(0); });
}
void k_sigmoid(KernelContext& c) {
    unary_float(c, [](auto v) {
        using T = decltype(v);
        if (v >= 0) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);
        return e / (T(1) + e);
    });
}
void k_hard_sigmoid(KernelContext& c) {
    const float a = c.node.attr_float("alpha", 0.2f), b = c.node.attr_float("beta", 0.5f);
    unary_float(c, [a, b](auto v) {
        using T = decltype(v);
        return std::max(T(0), std::min(T(1), T(a) * v + T(b)));
    });
}
void k_hard_swish(KernelContext& c) {
    unary_float(c, [](auto v) {
        using T = decltype(v);
        return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5)));
    });
}
void k_softplus(KernelContext& c) {
    unary_float(c, [](auto v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
}
void k_softsign(KernelContext& c) {
    unary_float(c, [](auto v) { return v / (decltype(v)(1) + std::abs(v)); });
}
void k_mish(KernelContext& c) {
    unary_float(c, [](auto v) {
        const auto sp = v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
        return v * std::tanh(sp);
    });
}
void k_gelu(KernelContext& c) {
    if (c.node.attr_string("approximate", "none") == "tanh") {
        unary_float(c, [](auto v) {
            using T = decltype(v);
            const T k = T(0.79788456080286535588);  // sqrt(2/pi)
            return T(0.5) * v * (T(1) + std::tanh(k * (v + T(0.044715) * v * v * v)));
        });
    } else {
        unary_float(c, [](auto v) {
            using T = decltype(v);
            return T(0.5) * v * (T(1) + std::erf(v * kSqrt1_2<T>));
        });
    }
}
std::string check_gelu(const graph::Node& n, int64_t) {
    const std::string a = n.attr_string("approximate", "none");
    return a == "none" || a == "tanh" ? "" : "Gelu approximate='" + a + "' is not supported (none|tanh)";
}

void k_tanh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::tanh(v); });
}
void k_erf(KernelContext& c) {
    unary_float(c, [](auto v) { return std::erf(v); });
}
void k_exp(KernelContext& c) {
    unary_float(c, [](auto v) { return std::exp(v); });
}
void k_log(KernelContext& c) {
    unary_float(c, [](auto v) { return std::log(v); });
}
void k_sqrt(KernelContext& c) {
    unary_float(c, [](auto v) { return std::sqrt(v); });
}
void k_reciprocal(KernelContext& c) {
    unary_float(c, [](auto v) { return decltype(v)(1) / v; });
}
void k_floor(KernelContext& c) {
    unary_float(c, [](auto v) { return std::floor(v); });
}
void k_ceil(KernelContext& c) {
    unary_float(c, [](auto v) { return std::ceil(v); });
}
// Round: nearbyint in the default rounding mode is half to even.
void k_round(KernelContext& c) {
    unary_float(c, [](auto v) { return std::nearbyint(v); });
}
void k_sin(KernelContext& c) {
    unary_float(c, [](auto v) { return std::sin(v); });
}
void k_cos(KernelContext& c) {
    unary_float(c, [](auto v) { return std::cos(v); });
}
void k_tan(KernelContext& c) {
    unary_float(c, [](auto v) { return std::tan(v); });
}
void k_asin(KernelContext& c) {
    unary_float(c, [](auto v) { return std::asin(v); });
}
void k_acos(KernelContext& c) {
    unary_float(c, [](auto v) { return std::acos(v); });
}
void k_atan(KernelContext& c) {
    unary_float(c, [](auto v) { return std::atan(v); });
}
void k_sinh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::sinh(v); });
}
void k_cosh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::cosh(v); });
}
void k_asinh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::asinh(v); });
}
void k_acosh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::acosh(v); });
}
void k_atanh(KernelContext& c) {
    unary_float(c, [](auto v) { return std::atanh(v); });
}

void k_neg(KernelContext& c) {
    unary_numeric(c, [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_integral_v<T>)
            return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(v));  // wraps like two's complement
        else
            return -v;
    });
}
void k_abs(KernelContext& c) {
    unary_numeric(c, [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_unsigned_v<T>)
            return v;
        else
            return v < 0 ? static_cast<T>(-v) : v;
    });
}
void k_sign(KernelContext& c) {
    unary_numeric(c, [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_unsigned_v<T>)
            return static_cast<T>(v > 0 ? 1 : 0);
        else
            return static_cast<T>(v > 0 ? 1 : (v < 0 ? -1 : 0));
    });
}
void k_isnan(KernelContext& c) {
    unary_float_to_bool(c, [](auto v) { return std::isnan(v); });
}
void k_isinf(KernelContext& c) {
    const bool neg = c.node.attr_int("detect_negative", 1) != 0, pos = c.node.attr_int("detect_positive", 1) != 0;
    unary_float_to_bool(c, [neg, pos](auto v) { return std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)); });
}
void k_shrink(KernelContext& c) {
    const float bias = c.node.attr_float("bias", 0.0f), lambd = c.node.attr_float("lambd", 0.5f);
    unary_numeric(c, [bias, lambd](auto v) {
        using T = decltype(v);
        const double x = (double)v;
        return static_cast<T>(x < -lambd ? x + bias : (x > lambd ? x - bias : 0.0));
    });
}

void k_not(KernelContext& c) {
    const Tensor& x = c.in(0);
    HQ_CHECK(x.dtype() == DType::Bool, c.node.label(), ": input must be bool, got ", dtype_name(x.dtype()));
    Tensor& y = c.alloc(0, DType::Bool, x.shape());
    map1(x.data<bool>(), y.data<bool>(), x.numel(), [](bool v) { return !v; });
}


}  // namespace

void register_unary(KernelRegistry& r) {
    r.add("Relu", k_relu);
    r.add("LeakyRelu", k_leaky_relu);
    r.add("Elu", k_elu);
    r.add(KernelDef{"Celu", "", 12, INT_MAX, k_celu});
    r.add("Selu", k_selu);
    r.add(KernelDef{"ThresholdedRelu", "", 10, INT_MAX, k_thresholded_relu});
    r.add("Sigmoid", k_sigmoid);
    r.add("HardSigmoid", k_hard_sigmoid);
    r.add(KernelDef{"HardSwish", "", 14, INT_MAX, k_hard_swish});
    r.add("Softplus", k_softplus);
    r.add("Softsign", k_softsign);
    r.add(KernelDef{"Mish", "", 18, INT_MAX, k_mish});
    r.add(KernelDef{"Gelu", "", 20, INT_MAX, k_gelu, check_gelu});
    r.add("Tanh", k_tanh);
    r.add(KernelDef{"Erf", "", 9, INT_MAX, k_erf});
    r.add("Exp", k_exp);
    r.add("Log", k_log);
    r.add("Sqrt", k_sqrt);
    r.add("Reciprocal", k_reciprocal);
    r.add("Neg", k_neg);
    r.add("Abs", k_abs);
    r.add(KernelDef{"Sign", "", 9, INT_MAX, k_sign});
    r.add("Floor", k_floor);
    r.add("Ceil", k_ceil);
    r.add(KernelDef{"Round", "", 11, INT_MAX, k_round});
    r.add(KernelDef{"Sin", "", 7, INT_MAX, k_sin});
    r.add(KernelDef{"Cos", "", 7, INT_MAX, k_cos});
    r.add(KernelDef{"Tan", "", 7, INT_MAX, k_tan});
    r.add(KernelDef{"Asin", "", 7, INT_MAX, k_asin});
    r.add(KernelDef{"Acos", "", 7, INT_MAX, k_acos});
    r.add(KernelDef{"Atan", "", 7, INT_MAX, k_atan});
    r.add(KernelDef{"Sinh", "", 9, INT_MAX, k_sinh});
    r.add(KernelDef{"Cosh", "", 9, INT_MAX, k_cosh});
    r.add(KernelDef{"Asinh", "", 9, INT_MAX, k_asinh});
    r.add(KernelDef{"Acosh", "", 9, INT_MAX, k_acosh});
    r.add(KernelDef{"Atanh", "", 9, INT_MAX, k_atanh});
    r.add(KernelDef{"IsNaN", "", 9, INT_MAX, k_isnan});
    r.add(KernelDef{"IsInf", "", 10, INT_MAX, k_isinf});
    r.add(KernelDef{"Shrink", "", 9, INT_MAX, k_shrink});
    r.add("Not", k_not);
}

}  // namespace hq::exec::cpu
