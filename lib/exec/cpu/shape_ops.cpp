// Shape and data-movement kernels: Reshape, Transpose, Concat, Split, Slice, Squeeze, Unsqueeze, Flatten,
// Expand, Tile, Pad, Shape, Size, Constant*, Range, DepthToSpace, SpaceToDepth (gather/scatter: gather_scatter.cpp). Every kernel is dtype-generic: elements move as unsigned words of their size, or as std::string.
// Reshape-like ops share the input's storage; no kernel writes into an input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"
#include "exec/cpu/shape_helpers.h"

namespace hq::exec::cpu {
namespace {
using namespace shape_detail;

void k_reshape(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    std::vector<int64_t> spec = ctx.opset < 5 ? ctx.node.attr_ints("shape") : ctx.in(1).to_i64();
    const bool allowzero = ctx.node.attr_int("allowzero", 0) != 0;
    Shape s(spec.size());
    int64_t infer = -1, known = 1;
    for (size_t i = 0; i < spec.size(); ++i) {
        int64_t d = spec[i];
        if (d == -1) {
            HQ_CHECK(infer < 0, ctx.node.label(), ": more than one -1 in shape");
            infer = (int64_t)i;
            continue;
        }
        if (d == 0 && !allowzero) {
            HQ_CHECK((int64_t)i < x.rank(), ctx.node.label(), ": 0 at position ", i, " beyond input rank ", x.rank());
            d = x.shape()[i];
        }
        HQ_CHECK(d >= 0, ctx.node.label(), ": invalid dim ", d, " in shape");
        s[i] = d;
        known *= d;
    }
    if (infer >= 0) {
        HQ_CHECK(known != 0 && x.numel() % known == 0, ctx.node.label(), ": cannot reshape ", shape_str(x.shape()),
                 " with a -1 dim");
        s[infer] = x.numel() / known;
    }
    HQ_CHECK(shape_numel(s) == x.numel(), ctx.node.label(), ": cannot reshape ", shape_str(x.shape()), " to ",
             shape_str(s));
    ctx.set(0, x.reshaped(s));
}

void k_flatten(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    int64_t axis = ctx.node.attr_int("axis", 1);
    HQ_CHECK(axis >= -x.rank() && axis <= x.rank(), ctx.node.label(), ": axis ", axis, " out of range");
    if (axis < 0) axis += x.rank();
    ctx.set(0, x.reshaped({prod(x.shape(), 0, axis), prod(x.shape(), axis, x.shape().size())}));
}

void k_squeeze(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> axes = ctx.opset < 13 ? ctx.node.attr_ints("axes") : ints_input_or_attr(ctx, 1, "");
    std::vector<bool> drop(r, false);
    if (axes.empty()) {
        for (int64_t d = 0; d < r; ++d) drop[d] = x.shape()[d] == 1;
    } else {
        for (int64_t a : axes) {
            a = norm_axis(ctx, a, r);
            HQ_CHECK(x.shape()[a] == 1, ctx.node.label(), ": cannot squeeze axis ", a, " of size ", x.shape()[a]);
            drop[a] = true;
        }
    }
    Shape s;
    for (int64_t d = 0; d < r; ++d)
        if (!drop[d]) s.push_back(x.shape()[d]);
    ctx.set(0, x.reshaped(s));
}

void k_unsqueeze(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    std::vector<int64_t> axes = ctx.opset < 13 ? ctx.node.attr_ints("axes") : ctx.in(1).to_i64();
    const int64_t out_r = x.rank() + (int64_t)axes.size();
    std::vector<bool> ins(out_r, false);
    for (int64_t a : axes) {
        a = norm_axis(ctx, a, out_r);
        HQ_CHECK(!ins[a], ctx.node.label(), ": duplicate axis ", a);
        ins[a] = true;
    }
    Shape s;
    size_t j = 0;
    for (int64_t d = 0; d < out_r; ++d) s.push_back(ins[d] ? 1 : x.shape()[j++]);
    ctx.set(0, x.reshaped(s));
}

// ---------------------------------------------------------------------------------------------------------------
// Strided copies: Transpose, Slice, Expand, Tile, DepthToSpace, SpaceToDepth

void k_transpose(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> perm = ctx.node.attr_ints("perm");
    if (perm.empty())
        for (int64_t d = r - 1; d >= 0; --d) perm.push_back(d);
    HQ_CHECK((int64_t)perm.size() == r, ctx.node.label(), ": perm has ", perm.size(), " entries for rank ", r);
    std::vector<bool> seen(r, false);
    const auto st = shape_strides(x.shape());
    Shape s(r);
    std::vector<int64_t> strides(r);
    for (int64_t d = 0; d < r; ++d) {
        int64_t p = norm_axis(ctx, perm[d], r);
        HQ_CHECK(!seen[p], ctx.node.label(), ": perm repeats axis ", p);
        seen[p] = true;
        s[d] = x.shape()[p];
        strides[d] = st[p];
    }
    ctx.set(0, strided_gather(x, 0, s, strides, ctx.node.label()));
}

void k_slice(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    if (ctx.opset < 10) {
        starts = ctx.node.attr_ints("starts");
        ends = ctx.node.attr_ints("ends");
        axes = ctx.node.attr_ints("axes");
    } else {
        starts = ctx.in(1).to_i64();
        ends = ctx.in(2).to_i64();
        if (ctx.has_input(3)) axes = ctx.in(3).to_i64();
        if (ctx.has_input(4)) steps = ctx.in(4).to_i64();
    }
    HQ_CHECK(starts.size() == ends.size(), ctx.node.label(), ": starts and ends differ in length");
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back((int64_t)i);
    if (steps.empty()) steps.assign(starts.size(), 1);
    HQ_CHECK(axes.size() == starts.size() && steps.size() == starts.size(), ctx.node.label(),
             ": starts, ends, axes and steps differ in length");
    Shape s = x.shape();
    const auto st = shape_strides(x.shape());
    std::vector<int64_t> strides = st;
    std::vector<bool> seen(r, false);
    int64_t off = 0;
    for (size_t i = 0; i < starts.size(); ++i) {
        const int64_t a = norm_axis(ctx, axes[i], r);
        HQ_CHECK(!seen[a], ctx.node.label(), ": axis ", a, " repeated");
        seen[a] = true;
        const int64_t dim = x.shape()[a], step = steps[i];
        HQ_CHECK(step != 0, ctx.node.label(), ": step 0");
        int64_t b = 0;
        const int64_t n = slice_range(dim, starts[i], ends[i], step, &b);
        s[a] = n;
        strides[a] = st[a] * step;
        if (n > 0) off += b * st[a];
    }
    ctx.set(0, strided_gather(x, off, s, strides, ctx.node.label()));
}

void k_expand(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const Shape target = ctx.in(1).to_i64();
    const Shape out = broadcast_shapes(x.shape(), target);
    if (out == x.shape()) {
        ctx.set(0, x);
        return;
    }
    const size_t r = out.size(), o = r - x.shape().size();
    const auto st = shape_strides(x.shape());
    std::vector<int64_t> strides(r, 0);
    for (size_t d = 0; d < x.shape().size(); ++d) strides[d + o] = x.shape()[d] == 1 ? 0 : st[d];
    ctx.set(0, strided_gather(x, 0, out, strides, ctx.node.label()));
}

void k_tile(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> reps;
    if (ctx.opset < 6 && ctx.has_input(2)) {  // Tile-1: tiles and axis scalars
        reps.assign(r, 1);
        reps[norm_axis(ctx, ctx.in(2).at_i64(0), r)] = ctx.in(1).at_i64(0);
    } else {
        reps = ctx.in(1).to_i64();
    }
    HQ_CHECK((int64_t)reps.size() == r, ctx.node.label(), ": repeats has ", reps.size(), " entries for rank ", r);
    // Output [r0*d0, r1*d1, ...] is [r0, d0, r1, d1, ...] with zero strides on the repeat dims.
    const auto st = shape_strides(x.shape());
    Shape s6, out;
    std::vector<int64_t> strides;
    for (int64_t d = 0; d < r; ++d) {
        HQ_CHECK(reps[d] >= 0, ctx.node.label(), ": negative repeat ", reps[d]);
        s6.insert(s6.end(), {reps[d], x.shape()[d]});
        strides.insert(strides.end(), {0, st[d]});
        out.push_back(reps[d] * x.shape()[d]);
    }
    ctx.set(0, strided_gather(x, 0, s6, strides, ctx.node.label()).reshaped(out));
}

std::string check_d2s(const graph::Node& n, int64_t) {
    std::string m = n.attr_string("mode", "DCR");
    return m == "DCR" || m == "CRD" ? "" : "mode '" + m + "' is not DCR or CRD";
}

void k_depth_to_space(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    HQ_CHECK(x.rank() == 4, ctx.node.label(), ": input rank ", x.rank(), ", expected 4");
    const int64_t b = ctx.node.attr_int("blocksize", 0);
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    HQ_CHECK(b > 0 && C % (b * b) == 0, ctx.node.label(), ": channels ", C, " not divisible by blocksize^2");
    const int64_t c = C / (b * b);
    const bool crd = ctx.node.attr_string("mode", "DCR") == "CRD";
    // Output viewed as [N, c, H, b1, W, b2]; element strides into x.
    const int64_t sc = crd ? b * b * H * W : H * W, sb1 = crd ? b * H * W : b * c * H * W,
                  sb2 = crd ? H * W : c * H * W;
    Shape s{N, c, H, b, W, b};
    std::vector<int64_t> strides{C * H * W, sc, W, sb1, 1, sb2};
    ctx.set(0, strided_gather(x, 0, s, strides, ctx.node.label()).reshaped({N, c, H * b, W * b}));
}

void k_space_to_depth(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    HQ_CHECK(x.rank() == 4, ctx.node.label(), ": input rank ", x.rank(), ", expected 4");
    const int64_t b = ctx.node.attr_int("blocksize", 0);
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    HQ_CHECK(b > 0 && H % b == 0 && W % b == 0, ctx.node.label(), ": spatial dims not divisible by blocksize ", b);
    const int64_t h = H / b, w = W / b;
    // Output viewed as [N, b1, b2, C, h, w]; input as [N, C, h, b1, w, b2].
    Shape s{N, b, b, C, h, w};
    std::vector<int64_t> strides{C * H * W, W, 1, H * W, b * W, b};
    ctx.set(0, strided_gather(x, 0, s, strides, ctx.node.label()).reshaped({N, C * b * b, h, w}));
}

// ---------------------------------------------------------------------------------------------------------------
// Concat, Split

void k_concat(KernelContext& ctx) {
    const Tensor* first = nullptr;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
        if (ctx.has_input(i)) {
            first = &ctx.in(i);
            break;
        }
    HQ_CHECK(first != nullptr, ctx.node.label(), ": no inputs");
    const int64_t r = first->rank();
    HQ_CHECK(r > 0, ctx.node.label(), ": cannot concatenate scalars");
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 1), r);
    Shape out = first->shape();
    out[axis] = 0;
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        if (!ctx.has_input(i)) continue;
        const Tensor& t = ctx.in(i);
        HQ_CHECK(t.dtype() == first->dtype(), ctx.node.label(), ": input ", i, " is ", dtype_name(t.dtype()),
                 ", input 0 is ", dtype_name(first->dtype()));
        HQ_CHECK(t.rank() == r, ctx.node.label(), ": input ", i, " has rank ", t.rank(), ", expected ", r);
        for (int64_t d = 0; d < r; ++d)
            HQ_CHECK(d == axis || t.shape()[d] == first->shape()[d], ctx.node.label(), ": input ", i, " shape ",
                     shape_str(t.shape()), " does not match ", shape_str(first->shape()));
        out[axis] += t.shape()[axis];
        ins.push_back(&t);
    }
    Tensor& y = ctx.alloc(0, first->dtype(), out);
    const int64_t outer = prod(out, 0, axis), row = prod(out, axis, r);
    if (y.numel() == 0) return;
    parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(row, 1)), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
            int64_t at = o * row;
            for (const Tensor* t : ins) {
                const int64_t n = t->numel() / outer;
                copy_elems(*t, o * n, y, at, n);
                at += n;
            }
        }
    });
}

void k_split(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t axis = norm_axis(ctx, ctx.node.attr_int("axis", 0), x.rank());
    const int64_t dim = x.shape()[axis];
    const size_t nout = ctx.node.outputs.size();
    std::vector<int64_t> split;
    if (ctx.has_input(1))
        split = ctx.in(1).to_i64();
    else if (ctx.opset < 13)
        split = ctx.node.attr_ints("split");
    if (split.empty()) {
        const int64_t n = ctx.opset >= 18 ? ctx.node.attr_int("num_outputs", (int64_t)nout) : (int64_t)nout;
        HQ_CHECK(n > 0 && (size_t)n == nout, ctx.node.label(), ": num_outputs ", n, " but ", nout, " outputs");
        const int64_t chunk = (dim + n - 1) / n;
        for (int64_t i = 0; i < n; ++i) split.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
    }
    HQ_CHECK(split.size() == nout, ctx.node.label(), ": split has ", split.size(), " entries for ", nout, " outputs");
    int64_t total = 0;
    for (int64_t v : split) {
        HQ_CHECK(v >= 0, ctx.node.label(), ": negative split ", v);
        total += v;
    }
    HQ_CHECK(total == dim, ctx.node.label(), ": split sums to ", total, ", axis dim is ", dim);
    const int64_t outer = prod(x.shape(), 0, axis), inner = prod(x.shape(), axis + 1, x.shape().size());
    int64_t start = 0;
    for (size_t i = 0; i < nout; ++i) {
        if (ctx.wants_output(i)) {
            Shape s = x.shape();
            s[axis] = split[i];
            Tensor& y = ctx.alloc(i, x.dtype(), s);
            const int64_t n = split[i] * inner;
            for (int64_t o = 0; o < outer; ++o) copy_elems(x, o * dim * inner + start * inner, y, o * n, n);
        }
        start += split[i];
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Gather family

std::string check_pad(const graph::Node& n, int64_t opset) {
    std::string m = n.attr_string("mode", "constant");
    if (m == "constant" || m == "reflect" || m == "edge" || (m == "wrap" && opset >= 19)) return "";
    return "mode '" + m + "' is not supported at opset " + std::to_string(opset);
}

void k_pad(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    const std::string mode = ctx.node.attr_string("mode", "constant");
    std::vector<int64_t> pads;
    Tensor cval;
    if (ctx.opset < 11) {
        pads = ctx.node.attr_ints(ctx.opset < 2 ? "paddings" : "pads");
        cval = scalar_of(x.dtype(), ctx.node.attr_float("value", 0.f), ctx.node.label());
    } else {
        pads = ctx.in(1).to_i64();
        if (ctx.has_input(2) && ctx.in(2).numel() > 0) {
            HQ_CHECK(ctx.in(2).dtype() == x.dtype(), ctx.node.label(), ": constant_value dtype differs from data");
            cval = ctx.in(2);
        } else {
            cval = scalar_of(x.dtype(), 0.0, ctx.node.label());
        }
    }
    std::vector<int64_t> full(2 * r, 0);
    if (ctx.opset >= 18 && ctx.has_input(3)) {
        const std::vector<int64_t> axes = ctx.in(3).to_i64();
        HQ_CHECK(pads.size() == 2 * axes.size(), ctx.node.label(), ": pads has ", pads.size(), " entries for ",
                 axes.size(), " axes");
        for (size_t i = 0; i < axes.size(); ++i) {
            const int64_t a = norm_axis(ctx, axes[i], r);
            full[a] = pads[i];
            full[a + r] = pads[i + axes.size()];
        }
    } else {
        HQ_CHECK((int64_t)pads.size() == 2 * r, ctx.node.label(), ": pads has ", pads.size(), " entries for rank ", r);
        full = pads;
    }
    // Per-dim map from output index to input index (-1: constant).
    Shape out(r);
    std::vector<std::vector<int64_t>> maps(r);
    for (int64_t d = 0; d < r; ++d) {
        const int64_t n = x.shape()[d], pb = full[d];
        out[d] = n + pb + full[d + r];
        HQ_CHECK(out[d] >= 0, ctx.node.label(), ": pads make dim ", d, " negative");
        maps[d].resize(out[d]);
        for (int64_t j = 0; j < out[d]; ++j) {
            int64_t i = j - pb;
            if (i < 0 || i >= n) {
                if (mode == "constant") {
                    i = -1;
                } else {
                    HQ_CHECK(n > 0, ctx.node.label(), ": cannot ", mode, "-pad an empty dim");
                    if (mode == "edge") {
                        i = std::clamp<int64_t>(i, 0, n - 1);
                    } else if (mode == "wrap") {
                        i = ((i % n) + n) % n;
                    } else if (n == 1) {
                        i = 0;
                    } else {  // reflect
                        const int64_t p = 2 * (n - 1);
                        i = ((i % p) + p) % p;
                        if (i >= n) i = p - i;
                    }
                }
            }
            maps[d][j] = i;
        }
    }
    Tensor& y = ctx.alloc(0, x.dtype(), out);
    if (y.numel() == 0) return;
    if (r == 0) {
        copy_elems(x, 0, y, 0, 1);
        return;
    }
    const auto xs = shape_strides(x.shape());
    const int64_t inner = out[r - 1], rows = y.numel() / inner;
    dispatch_elem(x.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = cptr<T>(x);
        const T cv = cptr<T>(cval)[0];
        T* dst = mptr<T>(y);
        const auto& last = maps[r - 1];
        parallel_for(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
            for (int64_t row = b; row < e; ++row) {
                int64_t rem = row, off = 0;
                bool is_const = false;
                for (int64_t d = r - 1; d-- > 0;) {
                    const int64_t m = maps[d][rem % out[d]];
                    rem /= out[d];
                    if (m < 0) is_const = true;
                    off += m * xs[d];
                }
                T* o = dst + row * inner;
                if (is_const) {
                    std::fill(o, o + inner, cv);
                    continue;
                }
                for (int64_t j = 0; j < inner; ++j) o[j] = last[j] < 0 ? cv : src[off + last[j]];
            }
        });
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Shape, Size, Constant, ConstantOfShape, Range, NonZero, OneHot

void k_shape(KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t r = x.rank();
    int64_t b = ctx.node.attr_int("start", 0), e = ctx.node.attr_int("end", r);
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = std::clamp<int64_t>(b, 0, r);
    e = std::clamp<int64_t>(e, 0, r);
    std::vector<int64_t> v;
    for (int64_t d = b; d < e; ++d) v.push_back(x.shape()[d]);
    ctx.set(0, Tensor::from_i64({(int64_t)v.size()}, v));
}

void k_size(KernelContext& ctx) { ctx.set(0, Tensor::from_i64({}, {ctx.in(0).numel()})); }

std::string check_constant(const graph::Node& n, int64_t) {
    for (const char* a : {"value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
                          "value_strings"})
        if (n.has_attr(a)) return "";
    if (n.has_attr("sparse_value")) return "sparse_value is not supported";
    return "no value attribute";
}

void k_constant(KernelContext& ctx) {
    const graph::Node& n = ctx.node;
    if (const Tensor* t = n.attr_tensor("value")) {
        ctx.set(0, *t);
    } else if (n.has_attr("value_float")) {
        ctx.set(0, Tensor::scalar_f32(n.attr_float("value_float", 0.f)));
    } else if (n.has_attr("value_floats")) {
        auto v = n.attr_floats("value_floats");
        ctx.set(0, Tensor::from_f32({(int64_t)v.size()}, v));
    } else if (n.has_attr("value_int")) {
        ctx.set(0, Tensor::from_i64({}, {n.attr_int("value_int", 0)}));
    } else if (n.has_attr("value_ints")) {
        auto v = n.attr_ints("value_ints");
        ctx.set(0, Tensor::from_i64({(int64_t)v.size()}, v));
    } else if (n.has_attr("value_string")) {
        Tensor t(DType::String, {});
        t.strings()[0] = n.attrs.at("value_string").s;
        ctx.set(0, t);
    } else if (n.has_attr("value_strings")) {
        const auto& v = n.attrs.at("value_strings").strings;
        Tensor t(DType::String, {(int64_t)v.size()});
        t.strings() = v;
        ctx.set(0, t);
    } else {
        HQ_FAIL(n.label(), ": ", check_constant(n, ctx.opset));
    }
}

void k_constant_of_shape(KernelContext& ctx) {
    const Shape s = ctx.in(0).to_i64();
    for (int64_t d : s) HQ_CHECK(d >= 0, ctx.node.label(), ": negative dim ", d);
    const Tensor* v = ctx.node.attr_tensor("value");
    const Tensor val = v ? *v : scalar_of(DType::F32, 0.0, ctx.node.label());
    HQ_CHECK(val.numel() == 1, ctx.node.label(), ": value must hold one element");
    Tensor& y = ctx.alloc(0, val.dtype(), s);
    if (y.numel() == 0) return;
    dispatch_elem(val.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        std::fill(mptr<T>(y), mptr<T>(y) + y.numel(), cptr<T>(val)[0]);
    });
}

void k_range(KernelContext& ctx) {
    const Tensor &a = ctx.in(0), &l = ctx.in(1), &d = ctx.in(2);
    HQ_CHECK(a.numel() == 1 && l.numel() == 1 && d.numel() == 1, ctx.node.label(), ": inputs must be scalars");
    HQ_CHECK(a.dtype() == l.dtype() && a.dtype() == d.dtype(), ctx.node.label(), ": inputs differ in dtype");
    dispatch_numeric(a.dtype(), ctx.node.label(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            HQ_FAIL(ctx.node.label(), ": bool range");
        } else {
            const T start = *static_cast<const T*>(a.raw()), limit = *static_cast<const T*>(l.raw()),
                    delta = *static_cast<const T*>(d.raw());
            HQ_CHECK(delta != 0, ctx.node.label(), ": delta is 0");
            int64_t n;
            if constexpr (std::is_floating_point_v<T>) {
                n = (int64_t)std::max(0.0, std::ceil(((double)limit - (double)start) / (double)delta));
            } else {
                const int64_t s = (int64_t)start, lim = (int64_t)limit, dd = (int64_t)delta;
                if (dd > 0)
                    n = lim > s ? (lim - s + dd - 1) / dd : 0;
                else
                    n = s > lim ? (s - lim - dd - 1) / (-dd) : 0;
            }
            Tensor& y = ctx.alloc(0, a.dtype(), {n});
            T* o = static_cast<T*>(y.raw());
            for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(start + (T)i * delta);
        }
    });
}

// True where element i of x is not zero.
// Trilu (opset 14): keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, zeroes the
// rest; k from the optional second input. Any element type (copied bytewise).
void k_trilu(KernelContext& c) {
    const Tensor& x = c.in(0);
    HQ_CHECK(x.rank() >= 2, c.node.label(), ": input must have rank >= 2, got ", shape_str(x.shape()));
    int64_t k = 0;
    if (c.has_input(1)) {
        const auto kv = c.in(1).to_i64();
        HQ_CHECK(kv.size() == 1, c.node.label(), ": k must be a scalar");
        k = kv[0];
    }
    const bool upper = c.node.attr_int("upper", 1) != 0;
    const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    const int64_t mats = (rows * cols != 0) ? x.numel() / (rows * cols) : 0;
    Tensor& y = c.alloc(0, x.dtype(), x.shape());  // zeroed
    const size_t es = dtype_size(x.dtype());
    HQ_CHECK(es > 0, c.node.label(), ": unsupported element type ", dtype_name(x.dtype()));
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    for (int64_t b = 0; b < mats; ++b)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) {
                const bool keep = upper ? j - i >= k : j - i <= k;
                const int64_t off = (b * rows + i) * cols + j;
                if (keep) std::memcpy(dst + off * es, src + off * es, es);
            }
}

}  // namespace

void register_shape_ops(KernelRegistry& r) {
    r.add("Reshape", k_reshape);
    r.add("Flatten", k_flatten);
    r.add("Squeeze", k_squeeze);
    r.add("Unsqueeze", k_unsqueeze);
    r.add("Transpose", k_transpose);
    r.add("Slice", k_slice);
    r.add("Expand", k_expand);
    r.add("Tile", k_tile);
    r.add("DepthToSpace", k_depth_to_space, check_d2s);
    r.add("SpaceToDepth", k_space_to_depth);
    r.add("Concat", k_concat);
    r.add("Split", k_split);
    r.add("Pad", k_pad, check_pad);
    r.add("Shape", k_shape);
    r.add("Size", k_size);
    r.add("Constant", k_constant, check_constant);
    r.add("ConstantOfShape", k_constant_of_shape);
    r.add("Range", k_range);
    r.add(KernelDef{"Trilu", "", 14, INT_MAX, k_trilu});
}

}  // namespace hq::exec::cpu
