// Shape of a host tensor (all dims known, >= 0) and small helpers over it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hq {

using Shape = std::vector<int64_t>;

// Number of elements; throws hq::Error on a negative dim or overflow past 2^62.
int64_t shape_numel(const Shape& s);
// "[1,3,224,224]"
std::string shape_str(const Shape& s);
// Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& s);
// Numpy-style broadcast of two shapes; throws naming both on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Normalizes a possibly negative axis for a tensor of `rank`; throws if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank);
// ONNX Slice on one axis of length `dim` (step != 0): start/end count from the end when negative and are
// clamped; returns how many elements are read and sets *first to the first index read.
int64_t slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first);

}  // namespace hq
