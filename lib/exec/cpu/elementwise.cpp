// Elementwise CPU kernels: numpy-broadcasting binary and variadic ops, PRelu, comparisons and logic,
// Where, Clip, Cast/CastLike, Identity, Dropout (inference); unary math is in unary.cpp. float16/bfloat16
// are computed in float32.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/dnnl_conv.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {


// ---------------------------------------------------------------------------------------------------------------
// Broadcast walker: splits the output into segments along which every input either advances by one element or
// stays on one element, so inner loops are plain (vectorizable) loops. Same-shape and scalar inputs give one
// segment per parallel chunk.

template <size_t K>
struct BroadcastPlan {
    Shape out;
    int64_t n = 0, inner = 1;
    std::array<bool, K> step{};  // input k advances along the inner run
    std::vector<BroadcastIndex> idx;

    BroadcastPlan(const std::array<const Shape*, K>& ins, Shape out_shape) : out(std::move(out_shape)) {
        n = shape_numel(out);
        const int64_t r = (int64_t)out.size();
        auto varies = [&](size_t k, int64_t d) {
            const Shape& s = *ins[k];
            const int64_t off = r - (int64_t)s.size();
            return d >= off && s[d - off] != 1;
        };
        int64_t d = r - 1;
        while (d >= 0 && out[d] == 1) --d;
        if (d >= 0) {
            for (size_t k = 0; k < K; ++k) step[k] = varies(k, d);
            for (; d >= 0; --d) {
                bool same = true;
                if (out[d] != 1)
                    for (size_t k = 0; k < K; ++k) same = same && varies(k, d) == step[k];
                if (!same) break;
                inner *= out[d];
            }
        }
        for (size_t k = 0; k < K; ++k) idx.emplace_back(*ins[k], out);
    }

    // seg(out_offset, input_offsets, len) over disjoint segments covering [0, n), in parallel.
    template <typename Seg>
    void walk(Seg seg) const {
        if (n == 0) return;
        parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
            std::array<int64_t, K> offs;
            for (int64_t i = b; i < e;) {
                const int64_t row = i / inner * inner, off = i - row, len = std::min(inner - off, e - i);
                for (size_t k = 0; k < K; ++k) offs[k] = idx[k](row) + (step[k] ? off : 0);
                seg(i, offs, len);
                i += len;
            }
        });
    }
};

Shape broadcast_or_throw(const std::string& who, const Shape& a, const Shape& b) {
    try {
        return broadcast_shapes(a, b);
    } catch (const Error& e) {
        HQ_FAIL(who, ": ", e.what());
    }
}

// o = f(a, b) with numpy broadcasting; A, B, O are element types.
template <typename A, typename B, typename O, typename F>
void broadcast2(const A* a, const Shape& sa, const B* b, const Shape& sb, O* o, const Shape& so, F f) {
    BroadcastPlan<2> p({&sa, &sb}, so);
    const bool s0 = p.step[0], s1 = p.step[1];
    p.walk([&](int64_t oi, const std::array<int64_t, 2>& off, int64_t len) {
        const A* pa = a + off[0];
        const B* pb = b + off[1];
        O* po = o + oi;
        if (s0 && s1) {
            for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], pb[i]);
        } else if (s0) {
            const B y = *pb;
            for (int64_t i = 0; i < len; ++i) po[i] = f(pa[i], y);
        } else if (s1) {
            const A x = *pa;
            for (int64_t i = 0; i < len; ++i) po[i] = f(x, pb[i]);
        } else {
            const O v = f(*pa, *pb);
            for (int64_t i = 0; i < len; ++i) po[i] = v;
        }
    });
}

// Broadcasting binary op over two tensors of the same dtype; result has that dtype, or bool when BoolOut.
// float16/bfloat16 are computed in float32.
// `into`: storage for the result when it has a's dtype and shape (a's own, to run in place: element-wise, safe).
template <bool BoolOut, typename F>
Tensor apply_binary(const Tensor& a, const Tensor& b, const std::string& who, F f, const Tensor* into = nullptr) {
    HQ_CHECK(a.dtype() == b.dtype(), who, ": input types differ (", dtype_name(a.dtype()), " vs ",
             dtype_name(b.dtype()), ")");
    const DType dt = a.dtype();
    if (is_staged_float(dt)) {
        Tensor r = apply_binary<BoolOut>(to_f32(a), to_f32(b), who, f);
        return BoolOut ? r : from_f32(r, dt);
    }
    const Shape so = broadcast_or_throw(who, a.shape(), b.shape());
    Tensor out = !BoolOut && into && into->dtype() == dt && into->shape() == so ? *into
                                                                                 : Tensor(BoolOut ? DType::Bool : dt, so);
    dispatch_numeric(dt, who, [&](auto tag) {
        using T = decltype(tag);
        using O = std::conditional_t<BoolOut, bool, T>;
        broadcast2(a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<O>(), so,
                   [&](T x, T y) { return static_cast<O>(f(x, y)); });
    });
    return out;
}

// Input B of a binary op; before opset 7 `broadcast=1` with `axis` aligns B's dims at `axis` of A.
Tensor legacy_b(const KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    if (ctx.opset >= 7 || ctx.node.attr_int("broadcast", 0) == 0 || !ctx.node.has_attr("axis")) return b;
    const int64_t axis = normalize_axis(ctx.node.attr_int("axis", 0), a.rank());
    HQ_CHECK(axis + b.rank() <= a.rank(), ctx.node.label(), ": B ", shape_str(b.shape()), " does not fit A ",
             shape_str(a.shape()), " at axis ", axis);
    Shape s = b.shape();
    s.resize(a.rank() - axis, 1);
    return b.reshaped(s);
}

template <bool BoolOut, typename F>
void binary_kernel(KernelContext& ctx, F f) {
    ctx.set(0, apply_binary<BoolOut>(ctx.in(0), legacy_b(ctx), ctx.node.label(), f, ctx.reuse_in0));
}

// Left-fold of a variadic broadcasting op (Min, Max, Sum, Mean).
template <typename F>
Tensor fold_inputs(KernelContext& ctx, F f) {
    HQ_CHECK(ctx.num_inputs() >= 1 && ctx.has_input(0), ctx.node.label(), ": needs at least one input");
    Tensor acc = ctx.in(0);
    for (size_t i = 1; i < ctx.num_inputs(); ++i) acc = apply_binary<false>(acc, ctx.in(i), ctx.node.label(), f);
    if (ctx.num_inputs() == 1) acc = acc.clone();
    return acc;
}

// ---------------------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------------------
// Binary and variadic kernels.

template <typename T>
void check_divisor(T b) {
    if constexpr (std::is_integral_v<T>) {
        if (b == 0) HQ_FAIL("integer division by zero");
    }
}

void k_add(KernelContext& c) {
    binary_kernel<false>(c, [](auto a, auto b) { return a + b; });
}
void k_sub(KernelContext& c) {
    binary_kernel<false>(c, [](auto a, auto b) { return a - b; });
}
void k_mul(KernelContext& c) {
    binary_kernel<false>(c, [](auto a, auto b) { return a * b; });
}
void k_div(KernelContext& c) {
    try {
        binary_kernel<false>(c, [](auto a, auto b) {
            using T = decltype(a);
            if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
                check_divisor(b);
                if (b == T(-1)) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
                return static_cast<T>(a / b);
            } else if constexpr (std::is_integral_v<T>) {
                check_divisor(b);
                return static_cast<T>(a / b);
            } else {
                return a / b;
            }
        });
    } catch (const Error& e) {
        HQ_FAIL(c.node.label(), ": ", e.what());
    }
}
void k_mod(KernelContext& c) {
    const bool fmod = c.node.attr_int("fmod", 0) != 0;
    try {
        binary_kernel<false>(c, [fmod](auto a, auto b) {
            using T = decltype(a);
            if constexpr (std::is_same_v<T, bool>) {
                HQ_FAIL("Mod on bool");
                return a;
            } else if constexpr (std::is_floating_point_v<T>) {
                T r = std::fmod(a, b);
                if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
                return r;
            } else {
                check_divisor(b);
                if constexpr (std::is_signed_v<T>) {
                    if (b == T(-1)) return T(0);
                    T r = static_cast<T>(a % b);
                    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
                    return r;
                } else {
                    return static_cast<T>(a % b);
                }
            }
        });
    } catch (const Error& e) {
        HQ_FAIL(c.node.label(), ": ", e.what());
    }
}

template <typename T>
T max_op(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return a < b ? b : a;
}
template <typename T>
T min_op(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    }
    return b < a ? b : a;
}

void k_max(KernelContext& c) {
    c.set(0, fold_inputs(c, [](auto a, auto b) { return max_op(a, b); }));
}
void k_min(KernelContext& c) {
    c.set(0, fold_inputs(c, [](auto a, auto b) { return min_op(a, b); }));
}
void k_sum(KernelContext& c) {
    c.set(0, fold_inputs(c, [](auto a, auto b) { return a + b; }));
}
void k_mean(KernelContext& c) {
    Tensor s = fold_inputs(c, [](auto a, auto b) { return a + b; });
    const DType dt = s.dtype();
    Tensor sf = is_staged_float(dt) ? to_f32(s) : s;
    const double k = (double)c.num_inputs();
    dispatch_numeric(sf.dtype(), c.node.label(), [&](auto tag) {
        using T = decltype(tag);
        T* p = sf.data<T>();
        for (int64_t i = 0; i < sf.numel(); ++i) p[i] = static_cast<T>(p[i] / k);
    });
    c.set(0, is_staged_float(dt) ? from_f32(sf, dt) : sf);
}

void k_equal(KernelContext& c) {
    const Tensor &a = c.in(0), &b = c.in(1);
    if (a.dtype() == DType::String || b.dtype() == DType::String) {  // opset 19
        HQ_CHECK(a.dtype() == b.dtype(), c.node.label(), ": compares a string tensor with ", dtype_name(a.dtype()),
                 " and ", dtype_name(b.dtype()));
        const Shape os = broadcast_shapes(a.shape(), b.shape());
        Tensor& y = c.alloc(0, DType::Bool, os);
        BroadcastIndex ia(a.shape(), os), ib(b.shape(), os);
        for (int64_t i = 0; i < y.numel(); ++i) y.data<bool>()[i] = a.strings()[ia(i)] == b.strings()[ib(i)];
        return;
    }
    binary_kernel<true>(c, [](auto a, auto b) { return a == b; });
}
void k_less(KernelContext& c) {
    binary_kernel<true>(c, [](auto a, auto b) { return a < b; });
}
void k_greater(KernelContext& c) {
    binary_kernel<true>(c, [](auto a, auto b) { return a > b; });
}
void k_less_equal(KernelContext& c) {
    binary_kernel<true>(c, [](auto a, auto b) { return a <= b; });
}
void k_greater_equal(KernelContext& c) {
    binary_kernel<true>(c, [](auto a, auto b) { return a >= b; });
}

template <typename F>
void logic_kernel(KernelContext& c, F f) {
    for (size_t i = 0; i < 2; ++i)
        HQ_CHECK(c.in(i).dtype() == DType::Bool, c.node.label(), ": input ", i, " must be bool, got ",
                 dtype_name(c.in(i).dtype()));
    binary_kernel<true>(c, f);
}
void k_and(KernelContext& c) {
    logic_kernel(c, [](auto a, auto b) { return a && b; });
}
void k_or(KernelContext& c) {
    logic_kernel(c, [](auto a, auto b) { return a || b; });
}
void k_xor(KernelContext& c) {
    logic_kernel(c, [](auto a, auto b) { return a != b; });
}

// Pow: the exponent may have another numeric type than the base; the result has the base's type.
void k_pow(KernelContext& c) {
    const Tensor& x = c.in(0);
    const Tensor y = legacy_b(c);
    const std::string who = c.node.label();
    const Shape so = broadcast_or_throw(who, x.shape(), y.shape());
    if (x.dtype() == DType::F32 && y.dtype() == DType::F32) {
        Tensor& o = c.alloc(0, DType::F32, so);
        broadcast2(x.data<float>(), x.shape(), y.data<float>(), y.shape(), o.data<float>(), so,
                   [](float a, float b) { return b == 2.0f ? a * a : std::pow(a, b); });
        return;
    }
    Tensor e(DType::F64, y.shape());
    {
        double* pe = e.data<double>();
        for (int64_t i = 0; i < y.numel(); ++i) pe[i] = y.at_f64(i);
    }
    const DType dt = x.dtype();
    Tensor xb = is_staged_float(dt) ? to_f32(x) : x;
    Tensor o(xb.dtype(), so);
    dispatch_numeric(xb.dtype(), who, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            HQ_FAIL(who, ": unsupported element type bool");
        } else {
            broadcast2(xb.data<T>(), xb.shape(), e.data<double>(), e.shape(), o.data<T>(), so,
                       [](T a, double b) { return static_cast<T>(std::pow((double)a, b)); });
        }
    });
    c.set(0, is_staged_float(dt) ? from_f32(o, dt) : o);
}

// PRelu: slope broadcasts to X (unidirectional); opset < 7 also takes a per-channel slope of shape [C].
// One channel block's plane of a blocked tensor: S positions of B lanes, lane l's slope a[l].
template <int64_t B>
HQ_CPU_CLONES void prelu_blocked(const float* x, float* y, int64_t S, const float* a) {
    for (int64_t i = 0; i < S; ++i)
        for (int64_t l = 0; l < B; ++l) {
            const float v = x[i * B + l];
            y[i * B + l] = v < 0 ? v * a[l] : v;
        }
}

void k_prelu(KernelContext& c) {
    const Tensor& x = c.in(0);
    Tensor slope = c.in(1);
    if (c.opset < 7 && slope.rank() == 1 && x.rank() > 2 && slope.dim(0) == x.dim(1) && slope.dim(0) != 1) {
        Shape s(x.rank() - 1, 1);
        s[0] = slope.dim(0);
        slope = slope.reshaped(s);
    }
    // float32 with one slope per channel (slope [C, 1, ..., 1] or [1, C, 1, ..., 1] against [N, C, ...], or [C]
    // against [N, C]): a plane at a time, no broadcast walk. Channel-blocked x (the executor allows it for such
    // constant slopes) is computed as it is stored.
    const int64_t off = x.rank() - slope.rank();
    const bool per_channel = x.dtype() == DType::F32 && slope.dtype() == DType::F32 && x.rank() >= 2 &&
                             slope.numel() == x.dim(1) && (off == 1 || off == 0) && slope.dim(1 - off) == x.dim(1);
    if (c.in_blocked) {
        const int64_t B = dnnl_block();
        if (per_channel && x.rank() >= 3 && x.dim(1) % B == 0) {
            const int64_t N = x.dim(0), CB = x.dim(1) / B, S = x.numel() / (N * CB * B);
            Tensor y = Tensor::uninit(DType::F32, x.shape());
            const float* px = x.data<float>();
            const float* ps = slope.data<float>();
            float* py = y.data<float>();
            parallel_for(N * CB, std::max<int64_t>(1, kGrain / std::max<int64_t>(S * B, 1)), [&](int64_t b, int64_t e) {
                for (int64_t pl = b; pl < e; ++pl) {
                    const float* a = ps + (pl % CB) * B;
                    if (B == 16) prelu_blocked<16>(px + pl * S * B, py + pl * S * B, S, a);
                    else prelu_blocked<8>(px + pl * S * B, py + pl * S * B, S, a);
                }
            });
            c.out_blocked = c.out_blocked_ok;
            c.set(0, c.out_blocked ? y : blocked_to_plain(y));
            return;
        }
        const Tensor plain = blocked_to_plain(x);
        c.in_blocked = false;
        c.inputs[0] = &plain;
        k_prelu(c);
        return;
    }
    if (per_channel) {
        const int64_t N = x.dim(0), C = x.dim(1), S = C ? x.numel() / std::max<int64_t>(N * C, 1) : 0;
        Tensor& y = c.alloc(0, DType::F32, x.shape());
        const float* px = x.data<float>();
        const float* ps = slope.data<float>();
        float* py = y.data<float>();
        parallel_for(N * C, std::max<int64_t>(1, kGrain / std::max<int64_t>(S, 1)), [&](int64_t b, int64_t e) {
            for (int64_t pl = b; pl < e; ++pl) {
                const float a = ps[pl % C];
                const float* xi = px + pl * S;
                float* yo = py + pl * S;
                for (int64_t i = 0; i < S; ++i) yo[i] = xi[i] < 0 ? xi[i] * a : xi[i];
            }
        });
        return;
    }
    Tensor r = apply_binary<false>(x, slope, c.node.label(), [](auto a, auto b) {
        if constexpr (std::is_same_v<decltype(a), bool>)
            return a;
        else
            return a < 0 ? a * b : a;
    });
    HQ_CHECK(r.shape() == x.shape(), c.node.label(), ": slope ", shape_str(slope.shape()), " does not broadcast to X ",
             shape_str(x.shape()));
    c.set(0, r);
}

// Where: three-way broadcast; X/Y of any fixed-size element type.
void k_where(KernelContext& c) {
    const Tensor& cond = c.in(0);
    const Tensor& x = c.in(1);
    const Tensor& y = c.in(2);
    const std::string who = c.node.label();
    HQ_CHECK(cond.dtype() == DType::Bool, who, ": condition must be bool, got ", dtype_name(cond.dtype()));
    HQ_CHECK(x.dtype() == y.dtype(), who, ": X and Y types differ (", dtype_name(x.dtype()), " vs ",
             dtype_name(y.dtype()), ")");
    const Shape so = broadcast_or_throw(who, broadcast_or_throw(who, cond.shape(), x.shape()), y.shape());
    Tensor& o = c.alloc(0, x.dtype(), so);
    const size_t es = dtype_size(x.dtype());
    HQ_CHECK(es > 0, who, ": unsupported element type ", dtype_name(x.dtype()));
    BroadcastPlan<3> p({&cond.shape(), &x.shape(), &y.shape()}, so);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        const bool* pc = cond.data<bool>();
        const T* px = static_cast<const T*>(x.raw());
        const T* py = static_cast<const T*>(y.raw());
        T* po = static_cast<T*>(o.raw());
        const bool s0 = p.step[0], s1 = p.step[1], s2 = p.step[2];
        p.walk([&](int64_t oi, const std::array<int64_t, 3>& off, int64_t len) {
            const bool* a = pc + off[0];
            const T* b = px + off[1];
            const T* d = py + off[2];
            T* q = po + oi;
            for (int64_t i = 0; i < len; ++i) q[i] = a[s0 ? i : 0] ? b[s1 ? i : 0] : d[s2 ? i : 0];
        });
    };
    switch (es) {
        case 1:
            run(uint8_t{});
            break;
        case 2:
            run(uint16_t{});
            break;
        case 4:
            run(uint32_t{});
            break;
        case 8:
            run(uint64_t{});
            break;
        default:
            HQ_FAIL(who, ": unsupported element type ", dtype_name(x.dtype()));
    }
}

// Clip: bounds are attributes before opset 11, optional scalar inputs from 11.
void k_clip(KernelContext& c) {
    const Tensor& x = c.in(0);
    const DType dt = x.dtype();
    const bool attrs = c.opset < 11;
    auto bound = [&](size_t idx, const char* name, double def) -> std::pair<bool, double> {
        if (attrs) return {c.node.has_attr(name), c.node.attr_float(name, (float)def)};
        if (!c.has_input(idx)) return {false, def};
        HQ_CHECK(c.in(idx).numel() == 1, c.node.label(), ": ", name, " must be a scalar");
        return {true, c.in(idx).at_f64(0)};
    };
    const auto [has_lo, lo_v] = bound(1, "min", 0);
    const auto [has_hi, hi_v] = bound(2, "max", 0);
    auto clip_t = [&](auto tag, const Tensor& in, Tensor& out) {
        using T = decltype(tag);
        const T lo = has_lo ? static_cast<T>(lo_v) : std::numeric_limits<T>::lowest();
        const T hi = has_hi ? static_cast<T>(hi_v) : std::numeric_limits<T>::max();
        map1(in.data<T>(), out.data<T>(), in.numel(), [lo, hi](T v) {
            const T t = v < lo ? lo : v;
            return t > hi ? hi : t;
        });
    };
    if (is_staged_float(dt)) {
        Tensor xf = to_f32(x);
        Tensor y(DType::F32, x.shape());
        clip_t(float{}, xf, y);
        c.set(0, from_f32(y, dt));
        return;
    }
    dispatch_numeric(dt, c.node.label(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            HQ_FAIL(c.node.label(), ": unsupported element type bool");
        } else {
            Tensor& y = c.alloc(0, dt, x.shape());
            clip_t(T{}, x, y);
        }
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Cast.

bool cast_supported(int64_t to) {
    if (!dtype_known((int32_t)to)) return false;
    const DType t = (DType)to;
    return t != DType::Undefined;
}

template <typename U, typename T>
U convert(T v) {
    if constexpr (std::is_same_v<U, bool>)
        return v != T(0);
    else
        return static_cast<U>(v);
}

Tensor cast_tensor(const Tensor& x, DType to, const std::string& who) {
    const DType from = x.dtype();
    if (from == to) return x;
    if (to == DType::String) {
        Tensor xd = from == DType::F64 ? x : (dtype_is_float(from) ? to_f32(x) : x);
        Tensor r(DType::String, x.shape());
        auto& s = r.strings();
        char buf[64];
        for (int64_t i = 0; i < x.numel(); ++i) {
            std::to_chars_result res;
            if (xd.dtype() == DType::F32) {
                res = std::to_chars(buf, buf + sizeof(buf), xd.data<float>()[i]);
            } else if (xd.dtype() == DType::F64) {
                res = std::to_chars(buf, buf + sizeof(buf), xd.data<double>()[i]);
            } else if (xd.dtype() == DType::Bool) {
                const char* t = xd.data<bool>()[i] ? "True" : "False";
                res.ptr = std::copy(t, t + std::strlen(t), buf);
            } else if (xd.dtype() == DType::U64) {
                res = std::to_chars(buf, buf + sizeof(buf), (uint64_t)xd.at_i64(i));
            } else {
                res = std::to_chars(buf, buf + sizeof(buf), xd.at_i64(i));
            }
            s[i].assign(buf, res.ptr);
            // Like numpy's str(): integral floats keep a ".0".
            if (dtype_is_float(xd.dtype()) && s[i].find_first_of(".eEna") == std::string::npos) s[i] += ".0";
        }
        return r;
    }
    if (from == DType::String) {
        const auto& s = x.strings();
        Tensor d(DType::F64, x.shape());
        double* p = d.data<double>();
        for (int64_t i = 0; i < x.numel(); ++i) {
            char* end = nullptr;
            p[i] = std::strtod(s[i].c_str(), &end);
            HQ_CHECK(end != s[i].c_str(), who, ": cannot parse '", s[i], "' as a number");
        }
        return cast_tensor(d, to, who);
    }
    if (is_staged_float(from)) return cast_tensor(to_f32(x), to, who);
    if (is_staged_float(to)) {
        if (from == DType::F64) {
            // Double to half via float can round twice; correct ties so the result matches direct rounding.
            Tensor r(DType::F32, x.shape());
            const double* p = x.data<double>();
            float* o = r.data<float>();
            for (int64_t i = 0; i < x.numel(); ++i) {
                float f = (float)p[i];
                if ((double)f != p[i] && std::isfinite(p[i])) {
                    // Truncate toward the original value so the final rounding sees a non-tie.
                    uint32_t b;
                    std::memcpy(&b, &f, 4);
                    if (std::abs((double)f) > std::abs(p[i])) --b;
                    b |= 1;  // sticky bit
                    std::memcpy(&f, &b, 4);
                }
                o[i] = f;
            }
            return from_f32(r, to);
        }
        return from_f32(cast_tensor(x, DType::F32, who), to);
    }
    Tensor r(to, x.shape());
    dispatch_numeric(from, who, [&](auto ft) {
        using T = decltype(ft);
        dispatch_numeric(to, who, [&](auto tt) {
            using U = decltype(tt);
            map1(x.data<T>(), r.data<U>(), x.numel(), [](T v) { return convert<U>(v); });
        });
    });
    return r;
}

void k_cast(KernelContext& c) {
    c.set(0, cast_tensor(c.in(0), (DType)c.node.attr_int("to", 0), c.node.label()));
}
std::string check_cast(const graph::Node& n, int64_t) {
    const int64_t to = n.attr_int("to", 0);
    return cast_supported(to) ? "" : "Cast to ONNX data type " + std::to_string(to) + " is not supported";
}
void k_cast_like(KernelContext& c) {
    c.set(0, cast_tensor(c.in(0), c.in(1).dtype(), c.node.label()));
}

// ---------------------------------------------------------------------------------------------------------------
// Identity, Dropout.

void k_identity(KernelContext& c) {
    c.set(0, c.in(0));
}

Tensor ones_like(const Tensor& x, DType dt) {
    if (is_staged_float(dt)) {
        Tensor f(DType::F32, x.shape());
        std::fill_n(f.data<float>(), f.numel(), 1.0f);
        return from_f32(f, dt);
    }
    Tensor r(dt, x.shape());
    dispatch_numeric(dt, "Dropout", [&](auto tag) {
        using T = decltype(tag);
        std::fill_n(r.data<T>(), r.numel(), static_cast<T>(1));
    });
    return r;
}

void k_dropout(KernelContext& c) {
    const Tensor& x = c.in(0);
    if (c.opset >= 12 && c.has_input(2)) {
        const bool training = c.in(2).numel() > 0 && c.in(2).at_i64(0) != 0;
        const double ratio = c.has_input(1) ? c.in(1).at_f64(0) : 0.5;
        HQ_CHECK(!training || ratio == 0.0, c.node.label(),
                 ": training_mode=true (random dropout) is not supported by the CPU executor");
    }
    c.set(0, x);
    if (c.wants_output(1)) c.set(1, ones_like(x, c.opset >= 10 ? DType::Bool : x.dtype()));
}
std::string check_dropout(const graph::Node& n, int64_t opset) {
    if (opset < 7 && n.attr_int("is_test", 0) == 0) return "Dropout with is_test=0 (training) is not supported";
    return "";
}

}  // namespace

void register_elementwise(KernelRegistry& r) {
    // Unary math is registered by register_unary (unary.cpp).
    r.add("PRelu", k_prelu);
    r.add("Clip", k_clip);

    // Binary / variadic with numpy broadcasting (opset >= 7; older opsets used the `broadcast` attribute with the
    // same semantics for the cases models use).
    r.add("Add", k_add);
    r.add("Sub", k_sub);
    r.add("Mul", k_mul);
    r.add("Div", k_div);
    r.add(KernelDef{"Mod", "", 10, INT_MAX, k_mod});
    r.add("Pow", k_pow);
    r.add("Max", k_max);
    r.add("Min", k_min);
    r.add("Sum", k_sum);
    r.add("Mean", k_mean);
    r.add("Equal", k_equal);
    r.add("Less", k_less);
    r.add("Greater", k_greater);
    r.add(KernelDef{"LessOrEqual", "", 12, INT_MAX, k_less_equal});
    r.add(KernelDef{"GreaterOrEqual", "", 12, INT_MAX, k_greater_equal});
    r.add("And", k_and);
    r.add("Or", k_or);
    r.add("Xor", k_xor);
    r.add(KernelDef{"Where", "", 9, INT_MAX, k_where});

    // Type and plumbing.
    r.add("Cast", k_cast, check_cast);
    r.add(KernelDef{"CastLike", "", 15, INT_MAX, k_cast_like});
    r.add("Identity", k_identity);
    r.add("Dropout", k_dropout, check_dropout);
}

}  // namespace hq::exec::cpu
