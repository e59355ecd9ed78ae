// Selection kernels: Unique and Compress.
// Unique (opset 11): the distinct elements of X (flattened) or its distinct slices along `axis`, sorted ascending
// (slices lexicographically) with sorted=1, else in order of first occurrence; outputs Y, indices (first
// occurrence of each in X), inverse_indices (for each element/slice of X, its position in Y) and counts (int64).
// Numeric and bool tensors (float16/bfloat16 staged through float32, NaNs compare as equal to each other).
// Compress (opset 9, 11): the elements (no axis: of X flattened) or slices along `axis` whose condition is true;
// a condition shorter than that dimension drops the rest (as the spec allows), a longer one is an error.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

template <typename T>
bool lt(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return !std::isnan(a) && std::isnan(b);  // NaN last
    }
    return a < b;
}
template <typename T>
bool eq(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) && std::isnan(b)) return true;
    }
    return a == b;
}

void k_unique(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    const bool staged = is_staged_float(x0.dtype());
    const Tensor x = staged ? to_f32(x0) : x0;
    const bool sorted = c.node.attr_int("sorted", 1) != 0;
    const bool has_axis = c.node.has_attr("axis");
    int64_t axis = 0;
    if (has_axis) {
        axis = c.node.attr_int("axis", 0);
        HQ_CHECK(axis >= -x.rank() && axis < x.rank(), who, ": axis ", axis, " is out of range for X ",
                 shape_str(x.shape()));
        if (axis < 0) axis += x.rank();
    }
    // X viewed as [outer, n, inner]: the items compared are the n slices (each outer*inner values).
    int64_t outer = 1, n = x.numel(), inner = 1;
    if (has_axis) {
        n = x.dim(axis);
        for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
        for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    }
    std::vector<int64_t> first, inverse((size_t)n), counts;
    dispatch_numeric(x.dtype(), who, [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        auto at = [&](int64_t item, int64_t k) {  // k-th value of slice `item`
            return p[(k / inner) * n * inner + item * inner + k % inner];
        };
        const int64_t len = outer * inner;
        auto cmp = [&](int64_t a, int64_t b) {  // lexicographic
            for (int64_t k = 0; k < len; ++k) {
                const T va = at(a, k), vb = at(b, k);
                if (!eq(va, vb)) return lt(va, vb) ? -1 : 1;
            }
            return 0;
        };
        std::vector<int64_t> order((size_t)n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
        // groups of equal items in sorted order; the first of each group (stable sort) is its first occurrence
        std::vector<int64_t> group_of((size_t)n);
        std::vector<int64_t> gfirst, gcount;
        for (size_t i = 0; i < order.size(); ++i) {
            if (i == 0 || cmp(order[i - 1], order[i]) != 0) {
                gfirst.push_back(order[i]);
                gcount.push_back(0);
            }
            group_of[order[i]] = (int64_t)gfirst.size() - 1;
            gcount.back()++;
        }
        std::vector<int64_t> rank(gfirst.size());  // output position of each group
        std::iota(rank.begin(), rank.end(), 0);
        if (!sorted) {
            std::vector<int64_t> by_first(gfirst.size());
            std::iota(by_first.begin(), by_first.end(), 0);
            std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return gfirst[a] < gfirst[b]; });
            for (size_t k = 0; k < by_first.size(); ++k) rank[by_first[k]] = (int64_t)k;
        }
        first.assign(gfirst.size(), 0);
        counts.assign(gfirst.size(), 0);
        for (size_t gi = 0; gi < gfirst.size(); ++gi) {
            first[rank[gi]] = gfirst[gi];
            counts[rank[gi]] = gcount[gi];
        }
        for (int64_t i = 0; i < n; ++i) inverse[i] = rank[group_of[i]];
        // Y: the selected items
        const int64_t u = (int64_t)first.size();
        Shape ys = has_axis ? x.shape() : Shape{u};
        if (has_axis) ys[axis] = u;
        Tensor y(x.dtype(), ys);
        T* py = y.data<T>();
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t k = 0; k < u; ++k)
                for (int64_t i = 0; i < inner; ++i) py[(o * u + k) * inner + i] = p[(o * n + first[k]) * inner + i];
        c.set(0, staged ? from_f32(y, x0.dtype()) : y);
    });
    const int64_t u = (int64_t)first.size();
    if (c.wants_output(1)) c.set(1, Tensor::from_i64({u}, first));
    if (c.wants_output(2)) c.set(2, Tensor::from_i64({n}, inverse));
    if (c.wants_output(3)) c.set(3, Tensor::from_i64({u}, counts));
}

void k_compress(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x = c.in(0);
    const Tensor& cond = c.in(1);
    HQ_CHECK(cond.rank() == 1, who, ": condition ", shape_str(cond.shape()), " must be 1-D");
    const bool has_axis = c.node.has_attr("axis");
    int64_t axis = 0, outer = 1, n = x.numel(), inner = 1;
    if (has_axis) {
        axis = c.node.attr_int("axis", 0);
        HQ_CHECK(axis >= -x.rank() && axis < x.rank(), who, ": axis ", axis, " is out of range for X ",
                 shape_str(x.shape()));
        if (axis < 0) axis += x.rank();
        n = x.dim(axis);
        for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
        for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    }
    HQ_CHECK(cond.numel() <= n, who, ": condition has ", cond.numel(), " values, more than the ", n,
             has_axis ? " slices along the axis" : " elements of X");
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < cond.numel(); ++i)
        if (cond.at_i64(i) != 0) keep.push_back(i);
    const int64_t k = (int64_t)keep.size();
    Shape ys = has_axis ? x.shape() : Shape{k};
    if (has_axis) ys[axis] = k;
    Tensor y(x.dtype(), ys);
    if (x.dtype() == DType::String) {
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < k; ++j)
                for (int64_t i = 0; i < inner; ++i)
                    y.strings()[(o * k + j) * inner + i] = x.strings()[(o * n + keep[j]) * inner + i];
    } else {
        const size_t es = dtype_size(x.dtype());
        const char* px = static_cast<const char*>(x.raw());
        char* py = static_cast<char*>(y.raw());
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < k; ++j)
                std::memcpy(py + (size_t)((o * k + j) * inner) * es, px + (size_t)((o * n + keep[j]) * inner) * es,
                            (size_t)inner * es);
    }
    c.set(0, y);
}

}  // namespace

void register_select(KernelRegistry& r) {
    r.add(KernelDef{"Unique", "", 11, INT_MAX, k_unique});
    r.add(KernelDef{"Compress", "", 9, INT_MAX, k_compress});
}

}  // namespace hq::exec::cpu
