// NumPy .npy files (format 1.0-3.0, little-endian, C order) <-> host tensors.
#pragma once
#include <string>

#include "core/tensor.h"

namespace hq {

// Parses .npy bytes; `label` names the file in errors. Fortran order and big-endian are refused.
Tensor parse_npy(const std::string& bytes, const std::string& label);
Tensor read_npy(const std::string& path);
// Serializes a tensor as .npy (format 1.0).
std::string to_npy(const Tensor& t);

}  // namespace hq
