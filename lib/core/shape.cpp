#include "core/shape.h"

#include <algorithm>

#include "core/error.h"

namespace hq {

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) {
        HQ_CHECK(d >= 0, "negative dimension ", d, " in shape ", shape_str(s));
        if (d != 0 && n > (int64_t(1) << 62) / d) HQ_FAIL("shape ", shape_str(s), " has too many elements");
        n *= d;
    }
    return n;
}

std::string shape_str(const Shape& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) r += ",";
        r += std::to_string(s[i]);
    }
    return r + "]";
}

std::vector<int64_t> shape_strides(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (int64_t i = (int64_t)s.size() - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
    return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
    size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        HQ_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
                 " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

int64_t normalize_axis(int64_t axis, int64_t rank) {
    HQ_CHECK(axis >= -rank && axis < std::max<int64_t>(rank, 1), "axis ", axis, " out of range for rank ", rank);
    return axis < 0 ? axis + rank : axis;
}

int64_t slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first) {
    int64_t b = start < 0 ? start + dim : start, e = end < 0 ? end + dim : end, n = 0;
    if (step > 0) {
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        if (e > b) n = (e - b + step - 1) / step;
    } else {
        b = std::clamp<int64_t>(b, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        if (b > e) n = (b - e + (-step) - 1) / (-step);
    }
    *first = b;
    return n;
}

}  // namespace hq
