// Gather, GatherElements, GatherND, Scatter/ScatterElements/ScatterND, NonZero and OneHot: index-driven data
// movement, dtype-generic like the shape kernels (negative indices wrap; out-of-range ones name the node).
#include "exec/cpu/kernels.h"
#include "exec/cpu/shape_helpers.h"

namespace hq::exec::cpu {
namespace {

using namespace shape_detail;

void k_gather(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    HQ_CHECK(x.rank() > 0, ctx.node.label(), ": data is a scalar");
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), x.rank());
    const int64_t dim = x.shape()[axis];
    std::vector<int64_t> iv = idx.to_i64();
    for (auto& i : iv) i = norm_index(ctx, i, dim);
    Shape s(x.shape().begin(), x.shape().begin() + axis);
    s.insert(s.end(), idx.shape().begin(), idx.shape().end());
    s.insert(s.end(), x.shape().begin() + axis + 1, x.shape().end());
    Tensor& y = ctx.alloc(0, x.dtype(), s);
    const int64_t outer = prod(x.shape(), 0, axis), inner = prod(x.shape(), axis + 1, x.shape().size());
    const int64_t n = (int64_t)iv.size();
    if (y.numel() == 0) return;
    dispatch_elem(x.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = cptr<T>(x);
        T* dst = mptr<T>(y);
        parallel_for(outer * n, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
                const int64_t o = k / n, j = k % n;
                const T* p = src + (o * dim + iv[j]) * inner;
                std::copy(p, p + inner, dst + k * inner);
            }
        });
    });
}

void k_gather_elements(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    const int64_t r = x.rank();
    HQ_CHECK(idx.rank() == r, ctx.node.label(), ": indices rank ", idx.rank(), " differs from data rank ", r);
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), r);
    const std::vector<int64_t> iv = idx.to_i64();
    Tensor& y = ctx.alloc(0, x.dtype(), idx.shape());
    if (y.numel() == 0) return;
    const auto xs = shape_strides(x.shape());
    const Shape& is = idx.shape();
    dispatch_elem(x.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = cptr<T>(x);
        T* dst = mptr<T>(y);
        std::vector<int64_t> pos(r, 0);
        for (int64_t k = 0; k < y.numel(); ++k) {
            int64_t off = 0;
            for (int64_t d = 0; d < r; ++d) {
                const int64_t v = d == axis ? norm_index(ctx, iv[k], x.shape()[d]) : pos[d];
                HQ_CHECK(v < x.shape()[d], ctx.node.label(), ": indices shape exceeds data shape");
                off += v * xs[d];
            }
            dst[k] = src[off];
            for (int64_t d = r; d-- > 0;) {
                if (++pos[d] < is[d]) break;
                pos[d] = 0;
            }
        }
    });
}

void k_gather_nd(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    const int64_t bd = ctx.node.attr_int("batch_dims", 0);
    HQ_CHECK(idx.rank() >= 1, ctx.node.label(), ": indices must have rank >= 1");
    const int64_t k = idx.shape().back();
    HQ_CHECK(bd >= 0 && bd < idx.rank() && bd + k <= x.rank(), ctx.node.label(), ": bad batch_dims/index depth");
    for (int64_t d = 0; d < bd; ++d)
        HQ_CHECK(x.shape()[d] == idx.shape()[d], ctx.node.label(), ": batch dims of data and indices differ");
    Shape s(idx.shape().begin(), idx.shape().end() - 1);
    s.insert(s.end(), x.shape().begin() + bd + k, x.shape().end());
    Tensor& y = ctx.alloc(0, x.dtype(), s);
    const std::vector<int64_t> iv = idx.to_i64();
    const int64_t batches = prod(x.shape(), 0, bd), slice = prod(x.shape(), bd + k, x.shape().size());
    const int64_t per_batch_x = prod(x.shape(), bd, x.shape().size());
    const int64_t tuples = k > 0 ? (int64_t)iv.size() / k : prod(idx.shape(), 0, idx.shape().size() - 1);
    const int64_t per_batch_t = batches ? tuples / batches : 0;
    const auto xs = shape_strides(x.shape());
    for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = (t / std::max<int64_t>(per_batch_t, 1)) * per_batch_x;
        for (int64_t j = 0; j < k; ++j) off += norm_index(ctx, iv[t * k + j], x.shape()[bd + j]) * xs[bd + j];
        copy_elems(x, off, y, t * slice, slice);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Scatter family

enum class Red { None, Add, Mul, Max, Min };

Red parse_red(const std::string& s) {
    if (s == "none") return Red::None;
    if (s == "add") return Red::Add;
    if (s == "mul") return Red::Mul;
    if (s == "max") return Red::Max;
    if (s == "min") return Red::Min;
    HQ_FAIL("unknown reduction '", s, "'");
}

std::string check_scatter(const graph::Node& n, int64_t opset) {
    std::string r = n.attr_string("reduction", "none");
    if (r == "none" || ((r == "add" || r == "mul") && opset >= 16) || ((r == "max" || r == "min") && opset >= 18))
        return "";
    return "reduction '" + r + "' is not supported at opset " + std::to_string(opset);
}

template <typename T>
void combine(T& dst, const T& src, Red red) {
    if constexpr (std::is_same_v<T, std::string>) {
        dst = src;
    } else {
        switch (red) {
            case Red::None: dst = src; break;
            case Red::Add: dst = static_cast<T>(dst + src); break;
            case Red::Mul: dst = static_cast<T>(dst * src); break;
            case Red::Max: dst = std::max(dst, src); break;
            case Red::Min: dst = std::min(dst, src); break;
        }
    }
}

// Runs fn(out, updates) on a fresh copy of data; reductions go through numeric types (float16 staged in f32).
template <typename F>
Tensor scatter_into(const KernelContext& ctx, Red red, F&& fn) {
    const Tensor& x = ctx.in(0);
    const Tensor& u = ctx.in(2);
    HQ_CHECK(u.dtype() == x.dtype(), ctx.node.label(), ": updates dtype differs from data");
    if (red == Red::None) {
        Tensor y = x.clone();
        dispatch_elem(x.dtype(), ctx.node.label(), [&](auto tag) {
            using T = decltype(tag);
            fn(mptr<T>(y), cptr<T>(u));
        });
        return y;
    }
    const bool staged = is_staged_float(x.dtype());
    Tensor y = staged ? to_f32(x).clone() : x.clone();
    const Tensor uu = staged ? to_f32(u) : u;
    dispatch_numeric(y.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        fn(static_cast<T*>(y.raw()), static_cast<const T*>(uu.raw()));
    });
    return staged ? from_f32(y, x.dtype()) : y;
}

void k_scatter_elements(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    const Tensor& u = ctx.in(2);
    const int64_t r = x.rank();
    HQ_CHECK(idx.rank() == r && idx.shape() == u.shape(), ctx.node.label(), ": indices/updates shapes mismatch");
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), r);
    const Red red = parse_red(ctx.node.attr_string("reduction", "none"));
    const std::vector<int64_t> iv = idx.to_i64();
    const auto xs = shape_strides(x.shape());
    std::vector<int64_t> offs(iv.size());
    std::vector<int64_t> pos(r, 0);
    for (size_t k = 0; k < iv.size(); ++k) {
        int64_t off = 0;
        for (int64_t d = 0; d < r; ++d) {
            const int64_t v = d == axis ? norm_index(ctx, iv[k], x.shape()[d]) : pos[d];
            HQ_CHECK(v < x.shape()[d], ctx.node.label(), ": indices shape exceeds data shape");
            off += v * xs[d];
        }
        offs[k] = off;
        for (int64_t d = r; d-- > 0;) {
            if (++pos[d] < idx.shape()[d]) break;
            pos[d] = 0;
        }
    }
    ctx.set(0, scatter_into(ctx, red, [&](auto* dst, const auto* src) {
        for (size_t k = 0; k < offs.size(); ++k) combine(dst[offs[k]], src[k], red);
    }));
}

void k_scatter_nd(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    const Red red = parse_red(ctx.node.attr_string("reduction", "none"));
    HQ_CHECK(idx.rank() >= 1, ctx.node.label(), ": indices must have rank >= 1");
    const int64_t k = idx.shape().back();
    HQ_CHECK(k <= x.rank(), ctx.node.label(), ": index depth ", k, " exceeds data rank ", x.rank());
    const std::vector<int64_t> iv = idx.to_i64();
    const int64_t slice = prod(x.shape(), k, x.shape().size());
    const int64_t tuples = prod(idx.shape(), 0, idx.shape().size() - 1);
    HQ_CHECK(ctx.in(2).numel() == tuples * slice, ctx.node.label(), ": updates shape mismatch");
    const auto xs = shape_strides(x.shape());
    std::vector<int64_t> offs(tuples);
    for (int64_t t = 0; t < tuples; ++t) {
        int64_t off = 0;
        for (int64_t j = 0; j < k; ++j) off += norm_index(ctx, iv[t * k + j], x.shape()[j]) * xs[j];
        offs[t] = off;
    }
    ctx.set(0, scatter_into(ctx, red, [&](auto* dst, const auto* src) {
        for (int64_t t = 0; t < tuples; ++t)
            for (int64_t j = 0; j < slice; ++j) combine(dst[offs[t] + j], src[t * slice + j], red);
    }));
}

// ---------------------------------------------------------------------------------------------------------------
// Pad

std::vector<bool> nonzero_mask(const Tensor& x, const std::string& who) {
    std::vector<bool> m((size_t)x.numel());
    if (x.dtype() == DType::String) {
        for (int64_t i = 0; i < x.numel(); ++i) m[i] = !x.strings()[i].empty();
    } else if (is_staged_float(x.dtype())) {
        const uint16_t* p = static_cast<const uint16_t*>(x.raw());
        for (int64_t i = 0; i < x.numel(); ++i) m[i] = (p[i] & 0x7fff) != 0;
    } else {
        dispatch_numeric(x.dtype(), who, [&](auto tag) {
            using T = decltype(tag);
            const T* p = static_cast<const T*>(x.raw());
            for (int64_t i = 0; i < x.numel(); ++i) m[i] = p[i] != T(0);
        });
    }
    return m;
}

void k_nonzero(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const auto m = nonzero_mask(x, ctx.node.label());
    const int64_t r = x.rank();
    int64_t nnz = 0;
    for (bool b : m) nnz += b;
    Tensor& y = ctx.alloc(0, DType::I64, {r, nnz});
    int64_t* o = y.data<int64_t>();
    const auto st = shape_strides(x.shape());
    int64_t j = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        if (!m[i]) continue;
        int64_t rem = i;
        for (int64_t d = 0; d < r; ++d) {
            o[d * nnz + j] = rem / st[d];
            rem %= st[d];
        }
        ++j;
    }
}

void k_one_hot(KernelContext& ctx) {
    const Tensor &idx = ctx.in(0), &dep = ctx.in(1), &vals = ctx.in(2);
    HQ_CHECK(dep.numel() == 1 && vals.numel() == 2, ctx.node.label(), ": depth must be a scalar, values two elements");
    const int64_t depth = (int64_t)dep.at_f64(0);
    HQ_CHECK(depth > 0, ctx.node.label(), ": depth ", depth);
    const int64_t r = idx.rank() + 1;
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", -1), r);
    Shape s = idx.shape();
    s.insert(s.begin() + axis, depth);
    Tensor& y = ctx.alloc(0, vals.dtype(), s);
    const int64_t outer = prod(idx.shape(), 0, axis), inner = prod(idx.shape(), axis, idx.shape().size());
    std::vector<int64_t> iv(idx.numel());
    for (int64_t i = 0; i < idx.numel(); ++i) iv[i] = (int64_t)idx.at_f64(i);
    dispatch_elem(vals.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T off = cptr<T>(vals)[0], on = cptr<T>(vals)[1];
        T* o = mptr<T>(y);
        std::fill(o, o + y.numel(), off);
        for (int64_t a = 0; a < outer; ++a)
            for (int64_t b = 0; b < inner; ++b) {
                int64_t v = iv[a * inner + b];
                if (v < 0) v += depth;
                if (v >= 0 && v < depth) o[(a * depth + v) * inner + b] = on;
            }
    });
}

}  // namespace

void register_gather_scatter(KernelRegistry& r) {
    r.add("Gather", k_gather);
    r.add("GatherElements", k_gather_elements);
    r.add("GatherND", k_gather_nd);
    r.add(KernelDef{"Scatter", "", 9, 10, k_scatter_elements, check_scatter});
    r.add("ScatterElements", k_scatter_elements, check_scatter);
    r.add("ScatterND", k_scatter_nd, check_scatter);
    r.add("NonZero", k_nonzero);
    r.add("OneHot", k_one_hot);
}

}  // namespace hq::exec::cpu
