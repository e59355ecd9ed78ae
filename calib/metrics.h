// Accuracy metrics between a reference and a candidate output, accumulated over samples.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/tensor.h"

namespace hq::calib {

// Signal-to-quantization-noise ratio, cosine similarity, max/mean absolute error over many tensors.
struct ErrorStats {
    double signal = 0, noise = 0;  // sum ref^2, sum (ref - cand)^2
    double dot = 0, ref_sq = 0, cand_sq = 0;
    double max_abs = 0, sum_abs = 0;
    int64_t count = 0;

    // Adds one pair; both are converted to float32. Shapes must match (hq::Error naming `what`).
    void add(const Tensor& ref, const Tensor& cand, const std::string& what);
    void merge(const ErrorStats& o);
    // 10 log10(signal / noise); +inf when the candidate is exact (capped by callers for JSON).
    double sqnr_db() const;
    double cosine() const;
    double mean_abs() const { return count ? sum_abs / (double)count : 0.0; }
};

}  // namespace hq::calib
