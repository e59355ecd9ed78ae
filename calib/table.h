// The calibration table (SPEC.md "Calibration table"): per tensor, observed min/max, NaN/Inf counts,
// the exact histogram, and the range each method chooses. JSON, deterministic, written atomically;
// tables of data shards merge exactly.
#pragma once
#include <compare>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
    // The samples the table saw: (sample name as the data reader names it, DataSource::digest), sorted.
    // Tables of older hyquant versions have none ("sample_digests" absent): they read and merge, unchecked.
    std::vector<std::pair<std::string, std::string>> sample_digests;
    // The sample inputs that held NaN/Inf values (excluded from every range), sorted by sample and input.
    struct NonFiniteInput {
        std::string sample, input;
        uint64_t nan = 0, inf = 0;
        auto operator<=>(const NonFiniteInput&) const = default;
    };
    std::vector<NonFiniteInput> nonfinite_inputs;
    // Provenance of an MPI run (written when ranks > 1, not read back): the ranks, and the samples each took as
    // [begin, end) of the sorted sample indices.
    int ranks = 1;
    std::vector<std::pair<int64_t, int64_t>> rank_samples;
    // Tensors whose histogram counted NaN or Inf values.
    size_t nonfinite_tensors() const;

    Range chosen(const std::string& tensor) const { return compute_range(tensors.at(tensor), method, percentile); }
    // Adds another shard's table: same model fingerprint required (else hq::Error naming `label`); the
    // histograms merge exactly and the sample digests are united. Does not check overlap (merge_tables does).
    void merge(const CalibrationTable& o, const std::string& label);
    void sort_samples();  // puts sample_digests and nonfinite_inputs in their (sorted) order

    std::string to_json() const;
    void write(const std::string& path) const;
    static CalibrationTable read(const std::string& path);
};

// Reads and merges the tables at `paths` (shards of one model's data). The chosen method (and percentile) is
// `method` when given, else the one the inputs agree on; inputs that disagree without `method` are an
// hq::Error naming two of the tables and their methods. A sample (digest) in two tables is an hq::Error
// naming the sample and both tables. Tables without digests merge without that check (a warning says so).
CalibrationTable merge_tables(const std::vector<std::string>& paths, std::optional<Method> method,
                              std::optional<double> percentile);

// Fingerprint of a model file: FNV-1a 64 of its bytes, as 16 hex digits.
std::string model_fingerprint(const std::string& model_path);

}  // namespace hq::calib
