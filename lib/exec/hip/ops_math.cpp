// Device handlers of the elementwise family: broadcasting binary and variadic ops, activations and unary math,
// Clip, Cast/CastLike (float32 <-> float16), Where, BatchNormalization (inference) and QuantizeLinear /
// DequantizeLinear (per tensor and per axis). Semantics follow lib/exec/cpu/elementwise.cpp, unary.cpp,
// norm.cpp and quant.cpp; anything else (integer math, other casts, training modes, blocked quantization)
// returns false and runs on the CPU.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "exec/hip/hip_check.h"
#include "exec/hip/ops_common.h"

namespace hq::exec::hip {

namespace {

using k::BinOp;
using k::UnOp;

// Shape of input B of a binary op: before opset 7, broadcast=1 with axis aligns B's dims at `axis` of A.
std::optional<Shape> legacy_b_shape(const OpEnv& e) {
    const Tensor& a = e.ctx.in(0);
    const Tensor& b = e.ctx.in(1);
    if (e.opset() >= 7 || e.node().attr_int("broadcast", 0) == 0 || !e.node().has_attr("axis")) return b.shape();
    const auto axis = norm_axis(e.node().attr_int("axis", 0), a.rank());
    if (!axis || *axis + b.rank() > a.rank()) return std::nullopt;
    Shape s = b.shape();
    s.resize(a.rank() - *axis, 1);
    return s;
}

// out = op(a, b) with broadcasting; a and b device pointers of shapes sa, sb; out of shape so.
void launch_binary(OpEnv& e, BinOp op, k::FType t, const void* a, const Shape& sa, const void* b, const Shape& sb,
                   void* out, const Shape& so) {
    k::Walk w;
    HQ_ASSERT(make_walk(so, {broadcast_strides(sa, so), broadcast_strides(sb, so)}, w), e.node().label());
    k::binary(e.stream(), op, t, a, b, out, w);
}

bool binary_op(OpEnv& e, BinOp op) {
    if (e.ctx.num_inputs() != 2 || !e.ctx.has_input(0) || !e.ctx.has_input(1)) return false;
    const Tensor& a = e.ctx.in(0);
    const Tensor& b = e.ctx.in(1);
    const auto t = ftype_of(a.dtype());
    if (!t || b.dtype() != a.dtype()) return false;
    auto sb = legacy_b_shape(e);
    if (!sb) return false;
    if (op == BinOp::PRelu && e.opset() < 7 && b.rank() == 1 && a.rank() > 2 && b.dim(0) == a.dim(1) && b.dim(0) != 1) {
        Shape s(a.rank() - 1, 1);
        s[0] = b.dim(0);
        sb = s;
    }
    const auto so = try_broadcast(a.shape(), *sb);
    if (!so || (op == BinOp::PRelu && *so != a.shape())) return false;
    Shape ws = *so;
    k::Walk w;
    if (!make_walk(ws, {broadcast_strides(a.shape(), ws), broadcast_strides(*sb, ws)}, w)) return false;
    const void* pa = e.in(0);
    const void* pb = e.in(1);
    void* po = e.out(0, k::bin_is_compare(op) ? DType::Bool : a.dtype(), *so);
    k::binary(e.stream(), op, *t, pa, pb, po, w);
    return true;
}

// Max, Min, Sum, Mean: left fold of broadcasting binary ops; Mean divides the sum by the input count.
bool variadic_op(OpEnv& e, BinOp op, bool mean) {
    const size_t n = e.ctx.num_inputs();
    if (n < 1) return false;
    for (size_t i = 0; i < n; ++i)
        if (!e.ctx.has_input(i)) return false;
    const DType dt = e.ctx.in(0).dtype();
    const auto t = ftype_of(dt);
    if (!t) return false;
    std::vector<Shape> acc_shapes{e.ctx.in(0).shape()};
    for (size_t i = 1; i < n; ++i) {
        if (e.ctx.in(i).dtype() != dt) return false;
        const auto s = try_broadcast(acc_shapes.back(), e.ctx.in(i).shape());
        if (!s) return false;
        acc_shapes.push_back(*s);
    }
    for (const Shape& s : acc_shapes)
        if (s.size() > (size_t)k::kMaxDims) return false;
    const Shape& final_shape = acc_shapes.back();
    const size_t es = dtype_size(dt);
    void* out = e.out(0, dt, final_shape);
    const void* acc = e.in(0);
    for (size_t i = 1; i < n; ++i) {
        const bool last = i + 1 == n && !mean;
        void* dst = last ? out : e.scratch((size_t)shape_numel(acc_shapes[i]) * es);
        launch_binary(e, op, *t, acc, acc_shapes[i - 1], e.in(i), e.ctx.in(i).shape(), dst, acc_shapes[i]);
        acc = dst;
    }
    const int64_t numel = shape_numel(final_shape);
    if (mean) {
        k::unary(e.stream(), UnOp::Scale, *t, acc, out, numel, (float)n, 0.f);
    } else if (n == 1 && numel > 0) {
        HQ_HIP_CHECK(hipMemcpyAsync(out, acc, (size_t)numel * es, hipMemcpyDeviceToDevice, e.stream()));
    }
    return true;
}

bool unary_op(OpEnv& e, UnOp op, float p0 = 0.f, float p1 = 0.f) {
    if (!e.ctx.has_input(0)) return false;
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t) return false;
    const void* px = e.in(0);
    k::unary(e.stream(), op, *t, px, e.out(0, x.dtype(), x.shape()), x.numel(), p0, p1);
    return true;
}

bool k_gelu(OpEnv& e) {
    const std::string a = e.node().attr_string("approximate", "none");
    if (a != "none" && a != "tanh") return false;
    return unary_op(e, a == "tanh" ? UnOp::GeluTanh : UnOp::Gelu);
}

// Clip: bounds are attributes before opset 11, optional scalar inputs from 11.
bool k_clip(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    if (!ftype_of(x.dtype())) return false;
    float lo = -FLT_MAX, hi = FLT_MAX;
    if (e.opset() < 11) {
        if (e.node().has_attr("min")) lo = e.node().attr_float("min", 0.f);
        if (e.node().has_attr("max")) hi = e.node().attr_float("max", 0.f);
    } else {
        for (size_t i = 1; i <= 2; ++i) {
            if (!e.ctx.has_input(i)) continue;
            const Tensor& b = e.ctx.in(i);
            if (b.numel() != 1 || b.dtype() == DType::String) return false;
            (i == 1 ? lo : hi) = (float)b.at_f64(0);
        }
    }
    return unary_op(e, UnOp::Clip, lo, hi);
}

bool cast_to(OpEnv& e, DType to) {
    const Tensor& x = e.ctx.in(0);
    const auto from_t = ftype_of(x.dtype()), to_t = ftype_of(to);
    if (!from_t || !to_t || x.dtype() == to) return false;  // identity casts share storage on the CPU
    const void* px = e.in(0);
    k::cast_float(e.stream(), *from_t, *to_t, px, e.out(0, to, x.shape()), x.numel());
    return true;
}
bool k_cast(OpEnv& e) {
    const int64_t to = e.node().attr_int("to", 0);
    if (to != (int64_t)DType::F32 && to != (int64_t)DType::F16) return false;
    return cast_to(e, (DType)to);
}
bool k_cast_like(OpEnv& e) { return e.ctx.has_input(1) && cast_to(e, e.ctx.in(1).dtype()); }

bool k_where(OpEnv& e) {
    if (e.ctx.num_inputs() != 3) return false;
    const Tensor& c = e.ctx.in(0);
    const Tensor& x = e.ctx.in(1);
    const Tensor& y = e.ctx.in(2);
    if (c.dtype() != DType::Bool || x.dtype() != y.dtype() || !is_fixed_size(x.dtype())) return false;
    const auto s1 = try_broadcast(c.shape(), x.shape());
    if (!s1) return false;
    const auto so = try_broadcast(*s1, y.shape());
    if (!so) return false;
    k::Walk w;
    if (!make_walk(*so, {broadcast_strides(c.shape(), *so), broadcast_strides(x.shape(), *so), broadcast_strides(y.shape(), *so)}, w))
        return false;
    const void* pc = e.in(0);
    const void* px = e.in(1);
    const void* py = e.in(2);
    k::where(e.stream(), (int)dtype_size(x.dtype()), static_cast<const uint8_t*>(pc), px, py, e.out(0, x.dtype(), *so), w);
    return true;
}

// BatchNormalization in inference mode: y = x * a[c] + b[c] with a = scale / sqrt(var + eps),
// b = bias - mean * a computed in double on the host (as the CPU kernel), uploaded once per parameter set.
bool k_batchnorm(OpEnv& e) {
    const auto& nd = e.node();
    for (size_t i = 1; i < nd.outputs.size(); ++i)
        if (e.ctx.wants_output(i)) return false;
    if (e.opset() >= 14 && nd.attr_int("training_mode", 0) != 0) return false;
    if (e.opset() < 9 && nd.attr_int("spatial", 1) == 0) return false;
    if (e.ctx.num_inputs() != 5) return false;
    const Tensor& x = e.ctx.in(0);
    const auto t = ftype_of(x.dtype());
    if (!t || x.rank() < 2) return false;
    const int64_t C = x.dim(1), inner = prod(x.shape(), 2, x.shape().size());
    std::vector<const Tensor*> params;
    for (size_t i = 1; i <= 4; ++i) {
        const Tensor& p = e.ctx.in(i);
        if (p.numel() != C || !dtype_is_float(p.dtype())) return false;
        params.push_back(&p);
    }
    const double eps = nd.attr_float("epsilon", 1e-5f);
    const std::string tag = "bn:" + std::to_string(eps);
    const float* ab = static_cast<const float*>(e.derived_hit(params, tag));
    if (!ab) {
        std::vector<float> host(2 * (size_t)C);
        for (int64_t c = 0; c < C; ++c) {
            const double a = params[0]->at_f64(c) / std::sqrt(params[3]->at_f64(c) + eps);
            host[c] = (float)a;
            host[C + c] = (float)(params[1]->at_f64(c) - params[2]->at_f64(c) * a);
        }
        ab = static_cast<const float*>(e.derived(params, tag, host.data(), host.size() * 4));
    }
    const void* px = e.in(0);
    k::channel_affine(e.stream(), *t, px, e.out(0, x.dtype(), x.shape()), x.numel() / std::max<int64_t>(inner, 1),
                      inner, C, ab, ab + C);
    return true;
}

// ------------------------------------------------------------------------------------------------- Q / DQ

// Per-tensor or per-axis layout of a quantization parameter (the CPU's ParamLayout without blocks).
struct QLayout {
    int64_t outer = 1, n = 1, inner = 1;
    bool per_axis = false;
};
std::optional<QLayout> q_layout(const OpEnv& e, const Tensor& x, const Tensor& scale) {
    QLayout L;
    if (e.opset() >= 21 && e.node().attr_int("block_size", 0) != 0) return std::nullopt;
    if (scale.numel() == 1 && scale.rank() <= 1) {
        L.inner = x.numel();
        return L;
    }
    if (scale.rank() != 1 || x.rank() == 0) return std::nullopt;
    const auto axis = norm_axis(e.opset() >= 13 ? e.node().attr_int("axis", 1) : 1, x.rank());
    if (!axis || scale.numel() != x.dim(*axis)) return std::nullopt;
    L.outer = prod(x.shape(), 0, *axis);
    L.n = x.dim(*axis);
    L.inner = prod(x.shape(), *axis + 1, x.shape().size());
    L.per_axis = true;
    return L;
}

// Scale as float32 and zero point as int32, converted on the host and cached: [scale..., zp...] as 4-byte words.
const void* q_params(OpEnv& e, const Tensor& scale, const Tensor* zp) {
    std::vector<const Tensor*> from{&scale};
    if (zp) from.push_back(zp);
    if (const void* p = e.derived_hit(from, "qparams")) return p;
    const int64_t n = scale.numel();
    std::vector<uint32_t> host(2 * (size_t)n, 0);
    for (int64_t i = 0; i < n; ++i) {
        const float s = (float)scale.at_f64(i);
        std::memcpy(&host[i], &s, 4);
        host[n + i] = (uint32_t)(int32_t)(zp ? zp->at_i64(i) : 0);
    }
    return e.derived(from, "qparams", host.data(), host.size() * 4);
}

bool k_quantize(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const Tensor& s = e.ctx.in(1);
    const Tensor* zp = e.ctx.has_input(2) ? &e.ctx.in(2) : nullptr;
    const auto t = ftype_of(x.dtype());
    if (!t || !dtype_is_float(s.dtype())) return false;
    DType qt = DType::U8;
    if (zp)
        qt = zp->dtype();
    else if (e.opset() >= 21 && e.node().attr_int("output_dtype", 0) != 0)
        qt = (DType)e.node().attr_int("output_dtype", 0);
    if (qt != DType::U8 && qt != DType::I8 && qt != DType::U16 && qt != DType::I16) return false;
    const auto L = q_layout(e, x, s);
    if (!L || (zp && zp->numel() != s.numel())) return false;
    for (int64_t i = 0; i < s.numel(); ++i) {
        const double v = (float)s.at_f64(i);
        if (v == 0.0 || !std::isfinite(v)) return false;  // the CPU kernel reports it
    }
    const auto* params = static_cast<const uint32_t*>(q_params(e, s, zp));
    const void* px = e.in(0);
    k::quantize(e.stream(), *t, px, e.out(0, qt, x.shape()), (int)qt, reinterpret_cast<const float*>(params),
                reinterpret_cast<const int32_t*>(params + s.numel()), L->outer, L->n, L->inner, L->per_axis);
    return true;
}

bool k_dequantize(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const Tensor& s = e.ctx.in(1);
    const Tensor* zp = e.ctx.has_input(2) ? &e.ctx.in(2) : nullptr;
    const DType qt = x.dtype();
    if (qt != DType::U8 && qt != DType::I8 && qt != DType::U16 && qt != DType::I16 && qt != DType::I32) return false;
    if (s.dtype() != DType::F32 || (zp && zp->dtype() != qt)) return false;
    const auto L = q_layout(e, x, s);
    if (!L || (zp && zp->numel() != s.numel())) return false;
    const auto* params = static_cast<const uint32_t*>(q_params(e, s, zp));
    const void* px = e.in(0);
    k::dequantize(e.stream(), (int)qt, px, static_cast<float*>(e.out(0, DType::F32, x.shape())),
                  reinterpret_cast<const float*>(params), reinterpret_cast<const int32_t*>(params + s.numel()), L->outer,
                  L->n, L->inner, L->per_axis);
    return true;
}

}  // namespace

void register_math_ops(OpTable& t) {
    t["Add"] = [](OpEnv& e) { return binary_op(e, BinOp::Add); };
    t["Sub"] = [](OpEnv& e) { return binary_op(e, BinOp::Sub); };
    t["Mul"] = [](OpEnv& e) { return binary_op(e, BinOp::Mul); };
    t["Div"] = [](OpEnv& e) { return binary_op(e, BinOp::Div); };
    t["Pow"] = [](OpEnv& e) { return binary_op(e, BinOp::Pow); };
    t["PRelu"] = [](OpEnv& e) { return binary_op(e, BinOp::PRelu); };
    t["Equal"] = [](OpEnv& e) { return binary_op(e, BinOp::Equal); };
    t["Less"] = [](OpEnv& e) { return binary_op(e, BinOp::Less); };
    t["Greater"] = [](OpEnv& e) { return binary_op(e, BinOp::Greater); };
    t["LessOrEqual"] = [](OpEnv& e) { return binary_op(e, BinOp::LessEq); };
    t["GreaterOrEqual"] = [](OpEnv& e) { return binary_op(e, BinOp::GreaterEq); };
    t["Max"] = [](OpEnv& e) { return variadic_op(e, BinOp::Max, false); };
    t["Min"] = [](OpEnv& e) { return variadic_op(e, BinOp::Min, false); };
    t["Sum"] = [](OpEnv& e) { return variadic_op(e, BinOp::Add, false); };
    t["Mean"] = [](OpEnv& e) { return variadic_op(e, BinOp::Add, true); };

    t["Relu"] = [](OpEnv& e) { return unary_op(e, UnOp::Relu); };
    t["LeakyRelu"] = [](OpEnv& e) { return unary_op(e, UnOp::LeakyRelu, e.node().attr_float("alpha", 0.01f)); };
    t["Elu"] = [](OpEnv& e) { return unary_op(e, UnOp::Elu, e.node().attr_float("alpha", 1.0f)); };
    t["Celu"] = [](OpEnv& e) { return e.opset() >= 12 && unary_op(e, UnOp::Celu, e.node().attr_float("alpha", 1.0f)); };
    t["Selu"] = [](OpEnv& e) {
        return unary_op(e, UnOp::Selu, e.node().attr_float("alpha", 1.67326319217681884765625f),
                        e.node().attr_float("gamma", 1.05070102214813232421875f));
    };
    t["ThresholdedRelu"] = [](OpEnv& e) {
        return e.opset() >= 10 && unary_op(e, UnOp::ThresholdedRelu, e.node().attr_float("alpha", 1.0f));
    };
    t["Sigmoid"] = [](OpEnv& e) { return unary_op(e, UnOp::Sigmoid); };
    t["HardSigmoid"] = [](OpEnv& e) {
        return unary_op(e, UnOp::HardSigmoid, e.node().attr_float("alpha", 0.2f), e.node().attr_float("beta", 0.5f));
    };
    t["HardSwish"] = [](OpEnv& e) { return e.opset() >= 14 && unary_op(e, UnOp::HardSwish); };
    t["Softplus"] = [](OpEnv& e) { return unary_op(e, UnOp::Softplus); };
    t["Softsign"] = [](OpEnv& e) { return unary_op(e, UnOp::Softsign); };
    t["Mish"] = [](OpEnv& e) { return e.opset() >= 18 && unary_op(e, UnOp::Mish); };
    t["Gelu"] = [](OpEnv& e) { return e.opset() >= 20 && k_gelu(e); };
    t["Tanh"] = [](OpEnv& e) { return unary_op(e, UnOp::Tanh); };
    t["Erf"] = [](OpEnv& e) { return unary_op(e, UnOp::Erf); };
    t["Exp"] = [](OpEnv& e) { return unary_op(e, UnOp::Exp); };
    t["Log"] = [](OpEnv& e) { return unary_op(e, UnOp::Log); };
    t["Sqrt"] = [](OpEnv& e) { return unary_op(e, UnOp::Sqrt); };
    t["Reciprocal"] = [](OpEnv& e) { return unary_op(e, UnOp::Reciprocal); };
    t["Neg"] = [](OpEnv& e) { return unary_op(e, UnOp::Neg); };
    t["Abs"] = [](OpEnv& e) { return unary_op(e, UnOp::Abs); };
    t["Sign"] = [](OpEnv& e) { return e.opset() >= 9 && unary_op(e, UnOp::Sign); };
    t["Floor"] = [](OpEnv& e) { return unary_op(e, UnOp::Floor); };
    t["Ceil"] = [](OpEnv& e) { return unary_op(e, UnOp::Ceil); };
    t["Round"] = [](OpEnv& e) { return e.opset() >= 11 && unary_op(e, UnOp::Round); };
    t["Sin"] = [](OpEnv& e) { return e.opset() >= 7 && unary_op(e, UnOp::Sin); };
    t["Cos"] = [](OpEnv& e) { return e.opset() >= 7 && unary_op(e, UnOp::Cos); };
    t["Clip"] = k_clip;

    t["Cast"] = k_cast;
    t["CastLike"] = [](OpEnv& e) { return e.opset() >= 15 && k_cast_like(e); };
    t["Where"] = [](OpEnv& e) { return e.opset() >= 9 && k_where(e); };
    t["BatchNormalization"] = k_batchnorm;
    t["QuantizeLinear"] = [](OpEnv& e) { return e.opset() >= 10 && k_quantize(e); };
    t["DequantizeLinear"] = [](OpEnv& e) { return e.opset() >= 10 && k_dequantize(e); };
}

}  // namespace hq::exec::hip
