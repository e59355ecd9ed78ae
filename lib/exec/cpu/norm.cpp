// Normalization CPU kernels: BatchNormalization (inference; training_mode computes batch statistics),
// LayerNormalization and InstanceNormalization. Math in float32/float64; float16/bfloat16 staged through float32.
#include <algorithm>
#include <cmath>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {


int64_t prod(const Shape& s, int64_t b, int64_t e) {
    int64_t p = 1;
    for (int64_t i = b; i < e; ++i) p *= s[i];
    return p;
}

// Whole tensor as doubles (parameters: scale, bias, mean, var).
std::vector<double> as_f64(const Tensor& t) {
    std::vector<double> v((size_t)t.numel());
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at_f64(i);
    return v;
}

// Float input as float32/float64 (float16/bfloat16 staged), rejecting other types.
Tensor float_input(const Tensor& x, const std::string& who) {
    HQ_CHECK(dtype_is_float(x.dtype()), who, ": unsupported element type ", dtype_name(x.dtype()));
    return x.dtype() == DType::F64 ? x : to_f32(x);
}

Tensor float_output(const Tensor& r, DType dt) {
    return r.dtype() == DType::F32 ? from_f32(r, dt) : r;
}

Tensor vec_tensor(const std::vector<double>& v, DType dt, Shape s) {
    Tensor f(DType::F32, std::move(s));
    for (size_t i = 0; i < v.size(); ++i) f.data<float>()[i] = (float)v[i];
    if (dt == DType::F64) {
        Tensor d(DType::F64, f.shape());
        for (size_t i = 0; i < v.size(); ++i) d.data<double>()[i] = v[i];
        return d;
    }
    return from_f32(f, dtype_is_float(dt) ? dt : DType::F32);
}

// y[g, j] = x[g, j] * a[c(g)] + b[c(g)] over groups g of `inner` elements, c(g) = g % channels.
template <typename T>
void affine_groups(const T* x, T* y, int64_t groups, int64_t inner, int64_t channels, const std::vector<double>& a,
                   const std::vector<double>& b) {
    parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t gb, int64_t ge) {
        for (int64_t g = gb; g < ge; ++g) {
            const T av = (T)a[g % channels], bv = (T)b[g % channels];
            const T* p = x + g * inner;
            T* q = y + g * inner;
            for (int64_t i = 0; i < inner; ++i) q[i] = p[i] * av + bv;
        }
    });
}

// Mean and (population) variance over `inner` elements of each of `groups` groups, double accumulation.
template <typename T>
void group_stats(const T* x, int64_t groups, int64_t inner, std::vector<double>& mean, std::vector<double>& var) {
    mean.assign(groups, 0);
    var.assign(groups, 0);
    parallel_for(groups, std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1)), [&](int64_t gb, int64_t ge) {
        for (int64_t g = gb; g < ge; ++g) {
            const T* p = x + g * inner;
            double s = 0;
            for (int64_t i = 0; i < inner; ++i) s += (double)p[i];
            const double m = inner ? s / (double)inner : 0.0;
            double v = 0;
            for (int64_t i = 0; i < inner; ++i) {
                const double d = (double)p[i] - m;
                v += d * d;
            }
            mean[g] = m;
            var[g] = inner ? v / (double)inner : 0.0;
        }
    });
}

// ---------------------------------------------------------------------------------------------------------------
// BatchNormalization: X [N, C, ...]; scale, B, mean, var [C] (or, with spatial=0 before opset 9, of X's shape
// without N). training_mode=1 (opset 14+) normalizes with the batch statistics and outputs the running ones.

void k_batchnorm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 2, who, ": X must have rank >= 2, got ", shape_str(x0.shape()));
    const double eps = c.node.attr_float("epsilon", 1e-5f);
    const bool spatial = c.opset >= 9 || c.node.attr_int("spatial", 1) != 0;
    const bool training = c.opset >= 14 && c.node.attr_int("training_mode", 0) != 0;
    Tensor x = float_input(x0, who);
    const int64_t N = x.dim(0), C = x.dim(1);
    const int64_t channels = spatial ? C : x.numel() / std::max<int64_t>(N, 1);
    const int64_t inner = spatial ? prod(x.shape(), 2, x.rank()) : 1;
    auto scale = as_f64(c.in(1)), bias = as_f64(c.in(2)), mean = as_f64(c.in(3)), var = as_f64(c.in(4));
    for (auto* v : {&scale, &bias, &mean, &var})
        HQ_CHECK((int64_t)v->size() == channels, who, ": parameter of ", v->size(), " elements, expected ", channels);
    if (training) {
        HQ_CHECK(spatial, who, ": training_mode with spatial=0 is not supported");
        const double momentum = c.node.attr_float("momentum", 0.9f);
        std::vector<double> gm, gv;
        if (x.dtype() == DType::F32)
            group_stats(x.data<float>(), N * C, inner, gm, gv);
        else
            group_stats(x.data<double>(), N * C, inner, gm, gv);
        std::vector<double> bm(C, 0), bv(C, 0);
        for (int64_t ch = 0; ch < C; ++ch) {
            double s = 0;
            for (int64_t n = 0; n < N; ++n) s += gm[n * C + ch];
            bm[ch] = s / (double)N;
            double v = 0;
            for (int64_t n = 0; n < N; ++n) {
                const double d = gm[n * C + ch] - bm[ch];
                v += gv[n * C + ch] + d * d;  // law of total variance over equal-size groups
            }
            bv[ch] = v / (double)N;
        }
        std::vector<double> rm(C), rv(C);
        for (int64_t ch = 0; ch < C; ++ch) {
            rm[ch] = mean[ch] * momentum + bm[ch] * (1 - momentum);
            rv[ch] = var[ch] * momentum + bv[ch] * (1 - momentum);
        }
        if (c.wants_output(1)) c.set(1, vec_tensor(rm, c.in(3).dtype(), c.in(3).shape()));
        if (c.wants_output(2)) c.set(2, vec_tensor(rv, c.in(4).dtype(), c.in(4).shape()));
        mean = bm;
        var = bv;
    }
    std::vector<double> a(channels), b(channels);
    for (int64_t ch = 0; ch < channels; ++ch) {
        a[ch] = scale[ch] / std::sqrt(var[ch] + eps);
        b[ch] = bias[ch] - mean[ch] * a[ch];
    }
    Tensor y(x.dtype(), x.shape());
    if (x.dtype() == DType::F32)
        affine_groups(x.data<float>(), y.data<float>(), x.numel() / std::max<int64_t>(inner, 1), inner, channels, a, b);
    else
        affine_groups(x.data<double>(), y.data<double>(), x.numel() / std::max<int64_t>(inner, 1), inner, channels, a,
                      b);
    c.set(0, float_output(y, x0.dtype()));
}

std::string check_batchnorm(const graph::Node& n, int64_t opset) {
    if (opset >= 14) return "";
    size_t outs = 0;
    for (const auto& o : n.outputs) outs += !o.empty();
    if (outs > 1) return "BatchNormalization in training mode (statistics outputs) before opset 14 is not supported";
    return "";
}

// ---------------------------------------------------------------------------------------------------------------
// InstanceNormalization: per (n, c) statistics over the spatial dims.

void k_instancenorm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 2, who, ": X must have rank >= 2, got ", shape_str(x0.shape()));
    const double eps = c.node.attr_float("epsilon", 1e-5f);
    Tensor x = float_input(x0, who);
    const int64_t N = x.dim(0), C = x.dim(1), inner = prod(x.shape(), 2, x.rank());
    auto scale = as_f64(c.in(1)), bias = as_f64(c.in(2));
    HQ_CHECK((int64_t)scale.size() == C && (int64_t)bias.size() == C, who, ": scale/B must have ", C, " elements");
    std::vector<double> m, v;
    Tensor y(x.dtype(), x.shape());
    auto run = [&](auto tag) {
        using T = decltype(tag);
        group_stats(x.data<T>(), N * C, inner, m, v);
        std::vector<double> a(N * C), b(N * C);
        for (int64_t g = 0; g < N * C; ++g) {
            a[g] = scale[g % C] / std::sqrt(v[g] + eps);
            b[g] = bias[g % C] - m[g] * a[g];
        }
        affine_groups(x.data<T>(), y.data<T>(), N * C, inner, N * C, a, b);
    };
    if (x.dtype() == DType::F32)
        run(float{});
    else
        run(double{});
    c.set(0, float_output(y, x0.dtype()));
}

// ---------------------------------------------------------------------------------------------------------------
// LayerNormalization (opset 17): normalizes over dims [axis, rank); Scale and B broadcast to those dims.
// Optional outputs Mean and InvStdDev have shape X.shape[:axis] + [1] * (rank - axis), type float32 (stash_type 1).

std::vector<double> expand_param(const Tensor* t, const Shape& norm_shape, double def, const std::string& who) {
    const int64_t n = shape_numel(norm_shape);
    if (!t) return std::vector<double>((size_t)n, def);
    HQ_CHECK(t->rank() <= (int64_t)norm_shape.size(), who, ": parameter ", shape_str(t->shape()),
             " does not broadcast to ", shape_str(norm_shape));
    try {
        HQ_CHECK(broadcast_shapes(t->shape(), norm_shape) == norm_shape, who, ": parameter ", shape_str(t->shape()),
                 " does not broadcast to ", shape_str(norm_shape));
    } catch (const Error& e) {
        HQ_FAIL(who, ": ", e.what());
    }
    BroadcastIndex bi(t->shape(), norm_shape);
    std::vector<double> v((size_t)n);
    for (int64_t i = 0; i < n; ++i) v[i] = t->at_f64(bi(i));
    return v;
}

void k_layernorm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    const int64_t r = x0.rank();
    const int64_t axis = normalize_axis(c.node.attr_int("axis", -1), r);
    const double eps = c.node.attr_float("epsilon", 1e-5f);
    Tensor x = float_input(x0, who);
    const int64_t outer = prod(x.shape(), 0, axis), n = prod(x.shape(), axis, r);
    const Shape norm_shape(x.shape().begin() + axis, x.shape().end());
    const auto scale = expand_param(&c.in(1), norm_shape, 1.0, who);
    const auto bias = expand_param(c.has_input(2) ? &c.in(2) : nullptr, norm_shape, 0.0, who);
    Shape stat_shape(x.shape().begin(), x.shape().begin() + axis);
    stat_shape.resize(r, 1);
    Tensor mean_t(DType::F32, stat_shape), inv_t(DType::F32, stat_shape);
    float* pm = mean_t.data<float>();
    float* pinv = inv_t.data<float>();
    Tensor y(x.dtype(), x.shape());
    auto run = [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const T* p = px + o * n;
                T* q = py + o * n;
                double s = 0;
                for (int64_t i = 0; i < n; ++i) s += (double)p[i];
                const double m = n ? s / (double)n : 0.0;
                double v = 0;
                for (int64_t i = 0; i < n; ++i) {
                    const double d = (double)p[i] - m;
                    v += d * d;
                }
                const double inv = 1.0 / std::sqrt((n ? v / (double)n : 0.0) + eps);
                for (int64_t i = 0; i < n; ++i) q[i] = (T)(((double)p[i] - m) * inv * scale[i] + bias[i]);
                pm[o] = (float)m;
                pinv[o] = (float)inv;
            }
        });
    };
    if (x.dtype() == DType::F32)
        run(float{});
    else
        run(double{});
    c.set(0, float_output(y, x0.dtype()));
    if (c.wants_output(1)) c.set(1, mean_t);
    if (c.wants_output(2)) c.set(2, inv_t);
}

std::string check_layernorm(const graph::Node& n, int64_t) {
    const int64_t st = n.attr_int("stash_type", 1);
    return st == 1 ? "" : "LayerNormalization stash_type=" + std::to_string(st) + " is not supported (only 1)";
}

// ---------------------------------------------------------------------------------------------------------------
// GroupNormalization: statistics per (n, group) over the group's C/G channels and the spatial dims. Scale and bias
// are per group at opset 18 and per channel from opset 21. stash_type 1 (float32 statistics) is the default; these
// are computed in double, which is at least as accurate.

void k_groupnorm(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(x0.rank() >= 2, who, ": X must have rank >= 2, got ", shape_str(x0.shape()));
    const int64_t G = c.node.attr_int("num_groups", 0);
    const double eps = c.node.attr_float("epsilon", 1e-5f);
    Tensor x = float_input(x0, who);
    const int64_t N = x.dim(0), C = x.dim(1), inner = prod(x.shape(), 2, x.rank());
    HQ_CHECK(G > 0 && C % G == 0, who, ": num_groups ", G, " must divide the ", C, " channels");
    const int64_t per_group = C / G, nparam = c.opset >= 21 ? C : G;
    auto scale = as_f64(c.in(1)), bias = as_f64(c.in(2));
    HQ_CHECK((int64_t)scale.size() == nparam && (int64_t)bias.size() == nparam, who, ": scale and bias must have ",
             nparam, " elements at opset ", c.opset, ", got ", scale.size(), " and ", bias.size());
    std::vector<double> m, v;
    Tensor y(x.dtype(), x.shape());
    auto run = [&](auto tag) {
        using T = decltype(tag);
        group_stats(x.data<T>(), N * G, per_group * inner, m, v);
        std::vector<double> a(N * C), b(N * C);
        for (int64_t nc = 0; nc < N * C; ++nc) {
            const int64_t ch = nc % C, g = (nc / C) * G + ch / per_group;
            const int64_t pi = c.opset >= 21 ? ch : ch / per_group;
            a[nc] = scale[pi] / std::sqrt(v[g] + eps);
            b[nc] = bias[pi] - m[g] * a[nc];
        }
        affine_groups(x.data<T>(), y.data<T>(), N * C, inner, N * C, a, b);
    };
    if (x.dtype() == DType::F32)
        run(float{});
    else
        run(double{});
    c.set(0, float_output(y, x0.dtype()));
}

std::string check_groupnorm(const graph::Node& n, int64_t) {
    const int64_t st = n.attr_int("stash_type", 1);
    return st == 1 ? "" : "GroupNormalization stash_type=" + std::to_string(st) + " is not supported (only 1)";
}

}  // namespace

void register_norm(KernelRegistry& r) {
    r.add(KernelDef{"GroupNormalization", "", 18, INT_MAX, k_groupnorm, check_groupnorm});
    r.add("BatchNormalization", k_batchnorm, check_batchnorm);
    r.add("InstanceNormalization", k_instancenorm);
    r.add(KernelDef{"LayerNormalization", "", 17, INT_MAX, k_layernorm, check_layernorm});
}

}  // namespace hq::exec::cpu
