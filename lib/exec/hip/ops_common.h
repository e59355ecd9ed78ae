// Host helpers shared by the device op handlers (ops_*.cpp): float type mapping, broadcast and strided walks
// with adjacent dims merged, and attribute reads.
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/shape.h"
#include "exec/hip/op_env.h"

namespace hq::exec::hip {

// float32 / float16 -> FType; anything else is not computed on the device.
inline std::optional<k::FType> ftype_of(DType t) {
    if (t == DType::F32) return k::FType::F32;
    if (t == DType::F16) return k::FType::F16;
    return std::nullopt;
}

inline bool is_fixed_size(DType t) {
    const size_t s = dtype_size(t);
    return t != DType::String && (s == 1 || s == 2 || s == 4 || s == 8);
}

inline int64_t prod(const Shape& s, size_t b, size_t e) {
    int64_t p = 1;
    for (size_t i = b; i < e && i < s.size(); ++i) p *= s[i];
    return p;
}

// A walk over `shape` reading each of `strides` (one vector per input, in elements, same rank as shape).
// Size-1 dims are dropped and neighbours merged where every input is contiguous across them, so same-shape
// and scalar operands become one flat dim. False when more than kMaxDims dims remain.
inline bool make_walk(const Shape& shape, const std::vector<std::vector<int64_t>>& strides, k::Walk& w) {
    const size_t nin = strides.size();
    std::vector<int64_t> size;
    std::vector<std::vector<int64_t>> st(nin);
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        bool merge = !size.empty();
        for (size_t k = 0; k < nin && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
        if (merge) {
            size.back() *= shape[d];
            for (size_t k = 0; k < nin; ++k) st[k].back() = strides[k][d];
            continue;
        }
        size.push_back(shape[d]);
        for (size_t k = 0; k < nin; ++k) st[k].push_back(strides[k][d]);
    }
    if (size.empty()) {  // one element
        size.push_back(1);
        for (size_t k = 0; k < nin; ++k) st[k].push_back(0);
    }
    if (size.size() > (size_t)k::kMaxDims) return false;
    w = k::Walk{};
    w.rank = (int)size.size();
    for (int d = 0; d < w.rank; ++d) {
        w.size[d] = size[d];
        for (size_t k = 0; k < nin; ++k) w.stride[k][d] = st[k][d];
    }
    return true;
}

// Strides of `in` broadcast (numpy rules) to `out`: 0 on broadcast dims, right-aligned.
inline std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
    std::vector<int64_t> s(out.size(), 0);
    const auto st = shape_strides(in);
    const size_t off = out.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d) s[off + d] = in[d] == 1 ? 0 : st[d];
    return s;
}

// numpy broadcast of shapes; nullopt when they do not broadcast (the CPU then reports it).
inline std::optional<Shape> try_broadcast(const Shape& a, const Shape& b) {
    const size_t r = std::max(a.size(), b.size());
    Shape o(r);
    for (size_t i = 0; i < r; ++i) {
        const int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
        if (x != y && x != 1 && y != 1) return std::nullopt;
        o[i] = x == 1 ? y : x;
    }
    return o;
}

// Axis in [0, rank) or nullopt when out of range.
inline std::optional<int64_t> norm_axis(int64_t a, int64_t rank) {
    if (a < -rank || a >= rank) return std::nullopt;
    return a < 0 ? a + rank : a;
}

}  // namespace hq::exec::hip
