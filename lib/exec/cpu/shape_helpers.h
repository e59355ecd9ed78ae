// Internal to lib/exec/cpu: element-generic helpers shared by the shape and gather/scatter kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "exec/cpu/common.h"

namespace hq::exec::cpu::shape_detail {

// ---------------------------------------------------------------------------------------------------------------
// Element-generic helpers

// Calls f(T{}) with T an unsigned word of the element size of `t`, or std::string for String tensors.
template <typename F>
inline void dispatch_elem(DType t, const std::string& who, F&& f) {
    if (t == DType::String) {
        f(std::string{});
        return;
    }
    switch (dtype_size(t)) {
        case 1: f(uint8_t{}); break;
        case 2: f(uint16_t{}); break;
        case 4: f(uint32_t{}); break;
        case 8: f(uint64_t{}); break;
        default: HQ_FAIL(who, ": unsupported element type ", dtype_name(t));
    }
}

template <typename T>
const T* cptr(const Tensor& t) {
    if constexpr (std::is_same_v<T, std::string>)
        return t.strings().data();
    else
        return static_cast<const T*>(t.raw());
}
template <typename T>
T* mptr(Tensor& t) {
    if constexpr (std::is_same_v<T, std::string>)
        return t.strings().data();
    else
        return static_cast<T*>(t.raw());
}

// Fills contiguous `dst` (shape `shape`) with src[off + sum_d i_d * strides[d]]; strides may be 0 or negative.
template <typename T>
inline void strided_copy(const T* src, int64_t off, const Shape& shape, const std::vector<int64_t>& strides, T* dst) {
    Shape s;
    std::vector<int64_t> st;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 0) return;
        if (shape[d] == 1) continue;
        if (!s.empty() && st.back() == strides[d] * shape[d]) {  // merge with the previous dim
            s.back() *= shape[d];
            st.back() = strides[d];
            continue;
        }
        s.push_back(shape[d]);
        st.push_back(strides[d]);
    }
    if (s.empty()) {
        dst[0] = src[off];
        return;
    }
    const int64_t inner = s.back(), istr = st.back();
    const size_t r = s.size() - 1;
    int64_t rows = 1;
    for (size_t d = 0; d < r; ++d) rows *= s[d];
    parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t b, int64_t e) {
        std::vector<int64_t> idx(r);
        int64_t rem = b, o = off;
        for (size_t d = r; d-- > 0;) {
            idx[d] = rem % s[d];
            rem /= s[d];
            o += idx[d] * st[d];
        }
        for (int64_t row = b; row < e; ++row) {
            T* out = dst + row * inner;
            const T* in = src + o;
            if (istr == 1) {
                std::copy(in, in + inner, out);
            } else {
                for (int64_t j = 0; j < inner; ++j) out[j] = in[j * istr];
            }
            for (size_t d = r; d-- > 0;) {
                o += st[d];
                if (++idx[d] < s[d]) break;
                o -= st[d] * s[d];
                idx[d] = 0;
            }
        }
    });
}

// New tensor of shape `shape` read from `x` at off + sum_d i_d * strides[d] (strides in elements of x).
inline Tensor strided_gather(const Tensor& x, int64_t off, const Shape& shape, const std::vector<int64_t>& strides,
                      const std::string& who) {
    Tensor y(x.dtype(), shape);
    if (y.numel() == 0) return y;
    dispatch_elem(x.dtype(), who, [&](auto tag) {
        using T = decltype(tag);
        strided_copy(cptr<T>(x), off, shape, strides, mptr<T>(y));
    });
    return y;
}

// Copies n elements from src[si..] to dst[di..] (same dtype).
inline void copy_elems(const Tensor& src, int64_t si, Tensor& dst, int64_t di, int64_t n) {
    if (n <= 0) return;
    if (src.dtype() == DType::String) {
        std::copy_n(src.strings().begin() + si, n, dst.strings().begin() + di);
        return;
    }
    const size_t es = dtype_size(src.dtype());
    std::memcpy(static_cast<char*>(dst.raw()) + di * es, static_cast<const char*>(src.raw()) + si * es, n * es);
}

// One-element tensor of dtype `dt` holding `v` (strings: empty).
inline Tensor scalar_of(DType dt, double v, const std::string& who) {
    if (dt == DType::String) return Tensor(DType::String, {});
    if (is_staged_float(dt)) return from_f32(Tensor::scalar_f32((float)v), dt);
    Tensor t(dt, {});
    dispatch_numeric(dt, who, [&](auto tag) {
        using T = decltype(tag);
        *static_cast<T*>(t.raw()) = static_cast<T>(v);
    });
    return t;
}

inline int64_t prod(const Shape& s, size_t b, size_t e) {
    int64_t p = 1;
    for (size_t i = b; i < e; ++i) p *= s[i];
    return p;
}

inline int64_t norm_axis(const KernelContext& ctx, int64_t axis, int64_t rank) {
    HQ_CHECK(axis >= -rank && axis < rank, ctx.node.label(), ": axis ", axis, " out of range for rank ", rank);
    return axis < 0 ? axis + rank : axis;
}

inline int64_t norm_index(const KernelContext& ctx, int64_t i, int64_t dim) {
    HQ_CHECK(i >= -dim && i < dim, ctx.node.label(), ": index ", i, " out of range for dimension ", dim);
    return i < 0 ? i + dim : i;
}

// ---------------------------------------------------------------------------------------------------------------
// Reshape family (share storage)

}  // namespace hq::exec::cpu::shape_detail
