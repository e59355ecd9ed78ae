// Exact, mergeable activation statistics: min/max, NaN/Inf counts and a histogram whose range is a
// power of two [-2^e, 2^e) that doubles by adding pairs of bins. Every value's bin is computed
// without rounding, so the result depends only on the multiset of values: two shards merged equal
// one run over all the data, bit for bit, in any order. Min/max record a zero as +0 (the sign of a
// zero would otherwise depend on the order values arrive in). Statistics a device computed
// (exec::Backend::tensor_stats / tensor_histogram) go in through add_stats + add_bins, with the same result
// as add() over the tensor's values.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hq::exec {
struct TensorStats;
}
namespace hq::dist {
class Packer;
class Unpacker;
}

namespace hq::calib {

class Histogram {
public:
    static constexpr int kBins = 8192;  // 4096 per sign; >= 2048 bins always cover [0, max|x|]

    // with_bins = false keeps only min/max and counts (for tensors that need no clipping range).
    explicit Histogram(bool with_bins = true) : with_bins_(with_bins) {}
    bool has_bins() const { return with_bins_; }

    // Adds n float32 values. `split`: big inputs are split over the worker team (false: on the calling thread only,
    // for callers that already run on the team).
    void add(const float* x, int64_t n, bool split = true);
    // Adds another histogram (exact).
    void merge(const Histogram& o);

    // One tensor's statistics computed on a device (exec::Backend::tensor_stats / tensor_histogram):
    // add_stats(s), then (with bins and s.finite > 0) add_bins(e, its finite values' bins at e =
    // exponent_for(s)) gives exactly what add() of the tensor's values gives.
    // exponent_for: the exponent of the range after add_stats(s). add_stats: counts, min/max, grows the
    // range. add_bins: kBins counts made at `exponent` <= exponent(), folded exactly into the range.
    int exponent_for(const exec::TensorStats& s) const;
    void add_stats(const exec::TensorStats& s);
    void add_bins(int exponent, const uint64_t* bins);

    // The statistics of y = clip(x, lo, hi) (lo <= hi; Relu is clip(x, 0, +inf)) derived from one sample's x
    // statistics `x` (with bins, every value finite) without reading y, where that is exact: false when y's bins
    // would need a finer range than x's, i.e. unless needed(y) <= x.exponent() <= max(needed(y), y_floor), with
    // y_floor an exponent the y histogram already has (so merging `y` into it grows nothing add() would not).
    static bool clip_of(const Histogram& x, float lo, float hi, int y_floor, Histogram& y);
    static constexpr int kNoFloor = -127;  // y_floor of a y histogram without data yet

    bool empty() const { return count_ == 0; }
    uint64_t count() const { return count_; }  // finite values
    uint64_t nan_count() const { return nan_; }
    uint64_t inf_count() const { return inf_; }
    float min() const { return min_; }
    float max() const { return max_; }
    int exponent() const { return exp_; }  // range [-2^e, 2^e)
    double range() const;                  // 2^e
    double bin_width() const { return 2 * range() / kBins; }
    double edge(int i) const { return -range() + i * bin_width(); }
    const std::vector<uint64_t>& bins() const { return bins_; }

    // Restores a histogram from its parts (a calibration table); checks consistency.
    static Histogram from_parts(float mn, float mx, uint64_t nan, uint64_t inf, int exponent,
                                std::vector<uint64_t> bins);
    // Restores a min/max-only record.
    static Histogram from_minmax(float mn, float mx, uint64_t count, uint64_t nan, uint64_t inf);
    // An exact copy through bytes (the bins from the first to the last non-zero one), for ranks of a job.
    void pack(dist::Packer& p) const;
    static Histogram unpack(dist::Unpacker& u);

private:
    void grow_to(int e);  // doubles the range until it is 2^e
    void add_minmax(float mn, float mx, uint64_t finite);
    bool add_in_range(const float* x, int64_t n, bool split);  // one pass where the range covers x (AVX2)
    bool with_bins_ = true;
    uint64_t count_ = 0, nan_ = 0, inf_ = 0;
    float min_ = 0, max_ = 0;
    int exp_ = -126;
    std::vector<uint64_t> bins_;
};

// A chosen quantization range.
struct Range {
    float lo = 0, hi = 0;
};

enum class Method { MinMax, Percentile, Entropy, Mse };
Method parse_method(const std::string& s);  // throws hq::Error on an unknown name
std::string method_name(Method m);

// Range of the values by a method: minmax [min, max]; percentile p (per side: the (100-p)% and p%
// quantiles); entropy (TensorRT: threshold minimizing KL divergence between the |x| histogram on 2048+
// bins and its 128-level quantization); mse (threshold minimizing expected squared quantization error
// for 8-bit quantization). Ranges are clipped to [min, max] and always contain 0. Without bins,
// every method gives the min/max range.
Range compute_range(const Histogram& h, Method m, double percentile = 99.99);

}  // namespace hq::calib
