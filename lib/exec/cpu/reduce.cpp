// Reduction-style CPU kernels: Reduce* (Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp),
// ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK and CumSum. float16/bfloat16 are computed in float32;
// float32 ReduceSum/ReduceMean add in ONNX Runtime's order (ort_float_sum), other float sums accumulate in double in
// a fixed order, so results are deterministic.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {


int64_t prod(const Shape& s, int64_t b, int64_t e) {
    int64_t p = 1;
    for (int64_t i = b; i < e; ++i) p *= s[i];
    return p;
}

// Runs f(T{}) for the element type of a (possibly staged) tensor, rejecting bool.
template <typename F>
void dispatch_math(DType t, const std::string& who, F&& f) {
    dispatch_numeric(t, who, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>)
            HQ_FAIL(who, ": unsupported element type bool");
        else
            f(tag);
    });
}

// Stages float16/bfloat16 inputs through float32 and converts outputs back.
struct Staged {
    DType orig;
    Tensor t;
    explicit Staged(const Tensor& x) : orig(x.dtype()), t(is_staged_float(x.dtype()) ? to_f32(x) : x) {}
    Tensor back(const Tensor& r) const {
        return is_staged_float(orig) && r.dtype() == DType::F32 ? from_f32(r, orig) : r;
    }
};

// ---------------------------------------------------------------------------------------------------------------
// Reduce*.

enum class ROp { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp };

// Reduced/kept dims after merging contiguous neighbours: output o starts at base(o) and covers offs[r].
struct ReducePlan {
    Shape out_shape;
    int64_t n_out = 1, n_red = 1;
    std::vector<int64_t> kept_sizes, kept_strides;
    int64_t red_stride = 1;     // when one reduced group remains
    std::vector<int64_t> offs;  // otherwise, every reduced offset
    bool single = true;

    ReducePlan(const Shape& in, const std::vector<bool>& red, bool keepdims) {
        const int64_t r = (int64_t)in.size();
        const auto st = shape_strides(in);
        std::vector<std::pair<int64_t, int64_t>> kept, rg;  // (size, stride)
        auto push = [](std::vector<std::pair<int64_t, int64_t>>& v, int64_t size, int64_t stride, bool adjacent) {
            if (size == 1) return;
            if (adjacent && !v.empty() && v.back().second == size * stride) {
                v.back() = {v.back().first * size, stride};
            } else {
                v.push_back({size, stride});
            }
        };
        bool prev_red = false, prev_kept = false;
        for (int64_t d = 0; d < r; ++d) {
            if (red[d]) {
                push(rg, in[d], st[d], prev_red);
                if (in[d] != 1) prev_red = true, prev_kept = false;
                n_red *= in[d];
                if (keepdims) out_shape.push_back(1);
            } else {
                push(kept, in[d], st[d], prev_kept);
                if (in[d] != 1) prev_kept = true, prev_red = false;
                n_out *= in[d];
                out_shape.push_back(in[d]);
            }
        }
        for (auto& [s, t] : kept) kept_sizes.push_back(s), kept_strides.push_back(t);
        if (rg.size() <= 1) {
            red_stride = rg.empty() ? 1 : rg[0].second;
        } else {
            single = false;
            offs.assign(1, 0);
            for (const auto& [s, t] : rg) {
                std::vector<int64_t> next;
                next.reserve(offs.size() * s);
                for (int64_t o : offs)
                    for (int64_t i = 0; i < s; ++i) next.push_back(o + i * t);
                offs = std::move(next);
            }
        }
    }
    int64_t base(int64_t o) const {
        int64_t b = 0;
        for (int64_t d = (int64_t)kept_sizes.size() - 1; d >= 0; --d) {
            b += (o % kept_sizes[d]) * kept_strides[d];
            o /= kept_sizes[d];
        }
        return b;
    }
};

template <ROp OP, typename T, typename G>
T reduce_one(G get, int64_t n) {
    constexpr bool integral = std::is_integral_v<T>;
    using Acc = std::conditional_t<integral, int64_t, double>;
    if constexpr (OP == ROp::Max || OP == ROp::Min) {
        T m = OP == ROp::Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
        if constexpr (!integral)
            m = OP == ROp::Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
        for (int64_t i = 0; i < n; ++i) {
            const T v = get(i);
            if constexpr (!integral) {
                if (std::isnan(v)) return v;
            }
            if (OP == ROp::Max ? v > m : v < m) m = v;
        }
        return m;
    } else if constexpr (OP == ROp::Sum) {
        Acc s = 0;
        for (int64_t i = 0; i < n; ++i) s += (Acc)get(i);
        return (T)s;
    } else if constexpr (OP == ROp::Mean) {
        Acc s = 0;
        for (int64_t i = 0; i < n; ++i) s += (Acc)get(i);
        return (T)(integral ? s / std::max<int64_t>(n, 1) : (double)s / (double)n);
    } else if constexpr (OP == ROp::Prod) {
        Acc s = 1;
        for (int64_t i = 0; i < n; ++i) s *= (Acc)get(i);
        return (T)s;
    } else if constexpr (OP == ROp::L1) {
        Acc s = 0;
        for (int64_t i = 0; i < n; ++i) {
            const Acc v = (Acc)get(i);
            s += v < 0 ? -v : v;
        }
        return (T)s;
    } else if constexpr (OP == ROp::SumSquare) {
        Acc s = 0;
        for (int64_t i = 0; i < n; ++i) {
            const Acc v = (Acc)get(i);
            s += v * v;
        }
        return (T)s;
    } else if constexpr (OP == ROp::L2) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) {
            const double v = (double)get(i);
            s += v * v;
        }
        return (T)std::sqrt(s);
    } else if constexpr (OP == ROp::LogSum) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += (double)get(i);
        return (T)std::log(s);
    } else {  // LogSumExp
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < n; ++i) m = std::max(m, (double)get(i));
        if (!std::isfinite(m)) {
            double s = 0;
            for (int64_t i = 0; i < n; ++i) s += std::exp((double)get(i));
            return (T)std::log(s);
        }
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += std::exp((double)get(i) - m);
        return (T)(std::log(s) + m);
    }
}

template <ROp OP>
void run_reduce(const Tensor& x, const ReducePlan& p, Tensor& y, const std::string& who) {
    dispatch_math(x.dtype(), who, [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        const int64_t R = p.n_red;
        parallel_for(p.n_out, std::max<int64_t>(1, kGrain / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const int64_t base = p.base(o);
                const T* q = px + base;
                if constexpr (std::is_same_v<T, float> && (OP == ROp::Sum || OP == ROp::Mean)) {
                    // float32 Sum/Mean as ONNX Runtime computes them: over contiguous trailing axes its Eigen
                    // order (bit-exact); otherwise in index order, in float (exact for leading axes; ORT's
                    // middle-axis order differs in the last bit on some outputs).
                    float sum;
                    if (p.single && p.red_stride == 1) {
                        sum = ort_float_sum(q, R, base);
                    } else {
                        sum = 0.0f;
                        for (int64_t i = 0; i < R; ++i) sum += q[p.single ? i * p.red_stride : p.offs[i]];
                    }
                    py[o] = OP == ROp::Mean ? sum / (float)R : sum;
                } else if (!p.single) {
                    const int64_t* offs = p.offs.data();
                    py[o] = reduce_one<OP, T>([&](int64_t i) { return q[offs[i]]; }, R);
                } else if (p.red_stride == 1) {
                    py[o] = reduce_one<OP, T>([&](int64_t i) { return q[i]; }, R);
                } else {
                    const int64_t s = p.red_stride;
                    py[o] = reduce_one<OP, T>([&](int64_t i) { return q[i * s]; }, R);
                }
            }
        });
    });
}

template <ROp OP>
void k_reduce(KernelContext& c) {
    const Tensor& x = c.in(0);
    // Axes moved to an input at opset 13 for ReduceSum and at 18 for the others.
    const int64_t input_since = OP == ROp::Sum ? 13 : 18;
    const bool axes_input = c.opset >= input_since;
    std::vector<int64_t> axes =
        axes_input ? (c.has_input(1) ? c.in(1).to_i64() : std::vector<int64_t>{}) : c.node.attr_ints("axes", {});
    const bool keepdims = c.node.attr_int("keepdims", 1) != 0;
    const bool noop = axes_input && c.node.attr_int("noop_with_empty_axes", 0) != 0;
    if (axes.empty() && noop) {
        c.set(0, x);
        return;
    }
    const int64_t r = x.rank();
    std::vector<bool> red(r, axes.empty());
    for (int64_t a : axes) {
        HQ_CHECK(a >= -r && a < std::max<int64_t>(r, 1), c.node.label(), ": axis ", a, " out of range for rank ", r);
        if (r > 0) red[normalize_axis(a, r)] = true;
    }
    ReducePlan p(x.shape(), red, keepdims);
    if (x.dtype() == DType::Bool && (OP == ROp::Max || OP == ROp::Min)) {  // bool (opset 20): as uint8, 0/1
        Tensor u(DType::U8, x.shape());
        if (x.nbytes()) std::memcpy(u.raw(), x.raw(), x.nbytes());
        Tensor yu(DType::U8, p.out_shape);
        run_reduce<OP>(u, p, yu, c.node.label());
        Tensor& y = c.alloc(0, DType::Bool, p.out_shape);
        for (int64_t i = 0; i < y.numel(); ++i) y.data<bool>()[i] = yu.data<uint8_t>()[i] != 0;
        return;
    }
    Staged s(x);
    Tensor y(s.t.dtype(), p.out_shape);
    run_reduce<OP>(s.t, p, y, c.node.label());
    c.set(0, s.back(y));
}

// ---------------------------------------------------------------------------------------------------------------
// ArgMax / ArgMin.

template <bool MAX>
void k_arg(KernelContext& c) {
    const Tensor& x = c.in(0);
    const int64_t r = x.rank();
    const int64_t axis = normalize_axis(c.node.attr_int("axis", 0), r);
    const bool keepdims = c.node.attr_int("keepdims", 1) != 0;
    const bool last = c.node.attr_int("select_last_index", 0) != 0;
    const int64_t outer = prod(x.shape(), 0, axis), n = x.shape()[axis], inner = prod(x.shape(), axis + 1, r);
    HQ_CHECK(n > 0, c.node.label(), ": cannot reduce an empty axis");
    Shape os = x.shape();
    if (keepdims)
        os[axis] = 1;
    else
        os.erase(os.begin() + axis);
    Staged s(x);
    Tensor& y = c.alloc(0, DType::I64, os);
    int64_t* py = y.data<int64_t>();
    dispatch_math(s.t.dtype(), c.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = s.t.data<T>();
        parallel_for(outer * inner, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
            for (int64_t g = b; g < e; ++g) {
                const int64_t o = g / inner, i = g % inner;
                const T* q = px + o * n * inner + i;
                T best = q[0];
                int64_t bi = 0;
                for (int64_t j = 1; j < n; ++j) {
                    const T v = q[j * inner];
                    const bool better = MAX ? v > best : v < best;
                    if (better || (last && v == best)) best = v, bi = j;
                }
                py[g] = bi;
            }
        });
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax / LogSoftmax / Hardmax.

enum class SMode { Softmax, LogSoftmax, Hardmax };

template <SMode M>
void k_softmax(KernelContext& c) {
    const Tensor& x = c.in(0);
    const int64_t r = x.rank();
    const bool old = c.opset < 13;  // coerce to 2D at axis
    const int64_t axis = normalize_axis(c.node.attr_int("axis", old ? 1 : -1), std::max<int64_t>(r, 1));
    const int64_t outer = prod(x.shape(), 0, std::min(axis, r));
    const int64_t n = old ? prod(x.shape(), std::min(axis, r), r) : (r ? x.shape()[axis] : 1);
    const int64_t inner = old ? 1 : prod(x.shape(), axis + 1, r);
    Staged s(x);
    Tensor y(s.t.dtype(), x.shape());
    if (x.numel() == 0) {
        c.set(0, s.back(y));
        return;
    }
    auto run = [&](auto tag) {
        using T = decltype(tag);
        const T* px = s.t.data<T>();
        T* py = y.data<T>();
        // Columns g = (o, i) in chunks; a chunk is cut at o boundaries into runs of contiguous i, processed together
        // so every pass over j reads contiguous memory.
        parallel_for(outer * inner, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
            std::vector<T> m;
            std::vector<int64_t> mi;
            std::vector<double> sum;
            for (int64_t g = b; g < e;) {
                const int64_t o = g / inner, i0 = g % inner, len = std::min(inner - i0, e - g);
                const T* q = px + o * n * inner + i0;
                T* w = py + o * n * inner + i0;
                m.assign(q, q + len);
                mi.assign(len, 0);
                for (int64_t j = 1; j < n; ++j) {
                    const T* qj = q + j * inner;
                    for (int64_t k = 0; k < len; ++k)
                        if (qj[k] > m[k]) m[k] = qj[k], mi[k] = j;
                }
                if constexpr (M == SMode::Hardmax) {
                    for (int64_t j = 0; j < n; ++j)
                        for (int64_t k = 0; k < len; ++k) w[j * inner + k] = T(j == mi[k] ? 1 : 0);
                } else {
                    sum.assign(len, 0.0);
                    for (int64_t j = 0; j < n; ++j) {
                        const T* qj = q + j * inner;
                        T* wj = w + j * inner;
                        for (int64_t k = 0; k < len; ++k) {
                            const T ev = std::exp(qj[k] - m[k]);
                            if constexpr (M == SMode::Softmax) wj[k] = ev;
                            sum[k] += ev;
                        }
                    }
                    if constexpr (M == SMode::Softmax) {
                        for (int64_t k = 0; k < len; ++k) sum[k] = 1.0 / sum[k];
                        for (int64_t j = 0; j < n; ++j)
                            for (int64_t k = 0; k < len; ++k) w[j * inner + k] *= T(sum[k]);
                    } else {
                        for (int64_t k = 0; k < len; ++k) sum[k] = std::log(sum[k]);
                        for (int64_t j = 0; j < n; ++j)
                            for (int64_t k = 0; k < len; ++k) w[j * inner + k] = q[j * inner + k] - m[k] - T(sum[k]);
                    }
                }
                g += len;
            }
        });
    };
    if (s.t.dtype() == DType::F32)
        run(float{});
    else if (s.t.dtype() == DType::F64)
        run(double{});
    else
        HQ_FAIL(c.node.label(), ": unsupported element type ", dtype_name(x.dtype()));
    c.set(0, s.back(y));
}

// ---------------------------------------------------------------------------------------------------------------
// TopK: k is an attribute before opset 10, an input from 10; largest/sorted from 11. Ties keep the lower index
// first; the output is always sorted.

void k_topk(KernelContext& c) {
    const Tensor& x = c.in(0);
    const int64_t r = x.rank();
    const int64_t axis = normalize_axis(c.node.attr_int("axis", -1), r);
    int64_t k = 0;
    if (c.opset >= 10) {
        HQ_CHECK(c.in(1).numel() == 1, c.node.label(), ": K must hold one value");
        k = c.in(1).at_i64(0);
    } else {
        k = c.node.attr_int("k", -1);
    }
    const bool largest = c.opset < 11 || c.node.attr_int("largest", 1) != 0;
    const int64_t n = x.shape()[axis];
    HQ_CHECK(k >= 0 && k <= n, c.node.label(), ": k=", k, " out of range for axis of size ", n);
    const int64_t outer = prod(x.shape(), 0, axis), inner = prod(x.shape(), axis + 1, r);
    Shape os = x.shape();
    os[axis] = k;
    Staged s(x);
    Tensor vals(s.t.dtype(), os);
    Tensor& idx = c.alloc(1, DType::I64, os);
    int64_t* pi = idx.data<int64_t>();
    dispatch_math(s.t.dtype(), c.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = s.t.data<T>();
        T* pv = vals.data<T>();
        parallel_for(outer * inner, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
            std::vector<int64_t> order(n);
            for (int64_t g = b; g < e; ++g) {
                const int64_t o = g / inner, i = g % inner;
                const T* q = px + o * n * inner + i;
                std::iota(order.begin(), order.end(), 0);
                auto cmp = [&](int64_t a, int64_t bb) {
                    const T va = q[a * inner], vb = q[bb * inner];
                    if (va != vb) return largest ? va > vb : va < vb;
                    return a < bb;
                };
                std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
                const int64_t ob = o * k * inner + i;
                for (int64_t j = 0; j < k; ++j) {
                    pv[ob + j * inner] = q[order[j] * inner];
                    pi[ob + j * inner] = order[j];
                }
            }
        });
    });
    c.set(0, s.back(vals));
}

// ---------------------------------------------------------------------------------------------------------------
// CumSum.

void k_cumsum(KernelContext& c) {
    const Tensor& x = c.in(0);
    const int64_t r = x.rank();
    HQ_CHECK(c.in(1).numel() == 1, c.node.label(), ": axis must be a scalar");
    const int64_t axis = normalize_axis(c.in(1).at_i64(0), r);
    const bool exclusive = c.node.attr_int("exclusive", 0) != 0, reverse = c.node.attr_int("reverse", 0) != 0;
    const int64_t outer = prod(x.shape(), 0, axis), n = x.shape()[axis], inner = prod(x.shape(), axis + 1, r);
    Staged s(x);
    Tensor y(s.t.dtype(), x.shape());
    dispatch_math(s.t.dtype(), c.node.label(), [&](auto tag) {
        using T = decltype(tag);
        using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
        const T* px = s.t.data<T>();
        T* py = y.data<T>();
        parallel_for(outer * inner, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
            for (int64_t g = b; g < e; ++g) {
                const int64_t o = g / inner, i = g % inner;
                const T* q = px + o * n * inner + i;
                T* w = py + o * n * inner + i;
                Acc acc = 0;
                for (int64_t t = 0; t < n; ++t) {
                    const int64_t j = reverse ? n - 1 - t : t;
                    if (exclusive) {
                        w[j * inner] = (T)acc;
                        acc += (Acc)q[j * inner];
                    } else {
                        acc += (Acc)q[j * inner];
                        w[j * inner] = (T)acc;
                    }
                }
            }
        });
    });
    c.set(0, s.back(y));
}

}  // namespace

void register_reduce(KernelRegistry& r) {
    r.add("ReduceSum", k_reduce<ROp::Sum>);
    r.add("ReduceMean", k_reduce<ROp::Mean>);
    r.add("ReduceMax", k_reduce<ROp::Max>);
    r.add("ReduceMin", k_reduce<ROp::Min>);
    r.add("ReduceProd", k_reduce<ROp::Prod>);
    r.add("ReduceL1", k_reduce<ROp::L1>);
    r.add("ReduceL2", k_reduce<ROp::L2>);
    r.add("ReduceSumSquare", k_reduce<ROp::SumSquare>);
    r.add("ReduceLogSum", k_reduce<ROp::LogSum>);
    r.add("ReduceLogSumExp", k_reduce<ROp::LogSumExp>);
    r.add("ArgMax", k_arg<true>);
    r.add("ArgMin", k_arg<false>);
    r.add("Softmax", k_softmax<SMode::Softmax>);
    r.add("LogSoftmax", k_softmax<SMode::LogSoftmax>);
    r.add("Hardmax", k_softmax<SMode::Hardmax>);
    r.add("TopK", k_topk);
    r.add(KernelDef{"CumSum", "", 11, INT_MAX, k_cumsum});
}

}  // namespace hq::exec::cpu
