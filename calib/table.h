// The calibration table (SPEC.md "Calibration table"): per tensor, observed min/max, NaN/Inf counts,
// the exact histogram, and the range each method chooses. JSON, deterministic, written atomically;
// tables of data shards merge exactly.
#pragma once
#include <map>
#include <string>

#include "calib/histogram.h"

namespace hq::calib {

struct CalibrationTable {
    static constexpr int kSchema = 1;
    std::string model;        // model file the table was made for (informative)
    std::string fingerprint;  // fingerprint of that model's bytes; checked on use and on merge
    uint64_t samples = 0;
    Method method = Method::MinMax;  // the method whose range is "chosen"
    double percentile = 99.99;
    std::map<std::string, Histogram> tensors;

    Range chosen(const std::string& tensor) const { return compute_range(tensors.at(tensor), method, percentile); }
    // Adds another shard's table (same model fingerprint required, else hq::Error naming both).
    void merge(const CalibrationTable& o, const std::string& label);

    std::string to_json() const;
    void write(const std::string& path) const;
    static CalibrationTable read(const std::string& path);
};

// Fingerprint of a model file: FNV-1a 64 of its bytes, as 16 hex digits.
std::string model_fingerprint(const std::string& model_path);

}  // namespace hq::calib
