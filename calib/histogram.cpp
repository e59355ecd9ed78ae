#include "calib/histogram.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/threads.h"

namespace hq::calib {

namespace {

constexpr int kMinExp = -126, kMaxExp = 128;

// Smallest e with every value of [mn, mx] inside [-2^e, 2^e).
int needed_exponent(float mn, float mx) {
    double a = std::max(std::fabs((double)mn), std::fabs((double)mx));
    if (a == 0) return kMinExp;
    int k;
    std::frexp(a, &k);  // a = f * 2^k, f in [0.5, 1): a < 2^k
    return std::clamp(k, kMinExp, kMaxExp);
}

// Adds finite values of x[0..n) (all inside the range) into bins with scale = kBins / (2 * 2^e).
void fill(const float* x, int64_t n, double scale, bool check_finite, uint64_t* bins) {
    constexpr int64_t half = Histogram::kBins / 2;
    for (int64_t i = 0; i < n; ++i) {
        float v = x[i];
        if (check_finite && !(std::fabs(v) <= FLT_MAX)) continue;
        double t = (double)v * scale;  // exact: scale is a power of two
        int64_t idx;
        if (t >= 0) {
            idx = half + (int64_t)t;
        } else {
            double u = -t;
            int64_t c = (int64_t)u;
            c += (double)c < u;
            idx = half - c;
        }
        ++bins[idx];
    }
}

}  // namespace

double Histogram::range() const { return std::ldexp(1.0, exp_); }

void Histogram::grow_to(int e) {
    if (bins_.empty()) {
        bins_.assign(kBins, 0);
        exp_ = e;
        return;
    }
    while (exp_ < e) {
        std::vector<uint64_t> nb(kBins, 0);
        for (int i = 0; i < kBins; ++i) nb[kBins / 4 + i / 2] += bins_[i];
        bins_.swap(nb);
        ++exp_;
    }
}

void Histogram::add(const float* x, int64_t n) {
    if (n <= 0) return;
    float mn = std::numeric_limits<float>::infinity(), mx = -mn;
    uint64_t nan = 0;
    for (int64_t i = 0; i < n; ++i) {
        float v = x[i];
        nan += v != v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    uint64_t inf = 0;
    bool check = nan > 0;
    if (std::isinf(mn) || std::isinf(mx)) {  // recompute over finite values only
        check = true;
        mn = std::numeric_limits<float>::infinity();
        mx = -mn;
        for (int64_t i = 0; i < n; ++i) {
            float v = x[i];
            if (std::isinf(v)) ++inf;
            else if (v == v) {
                mn = std::min(mn, v);
                mx = std::max(mx, v);
            }
        }
    }
    nan_ += nan;
    inf_ += inf;
    uint64_t finite = (uint64_t)n - nan - inf;
    if (finite == 0) return;
    if (count_ == 0) {
        min_ = mn;
        max_ = mx;
    } else {
        min_ = std::min(min_, mn);
        max_ = std::max(max_, mx);
    }
    int e = std::max(needed_exponent(mn, mx), bins_.empty() ? kMinExp : exp_);
    grow_to(e);
    count_ += finite;
    const double scale = std::ldexp((double)kBins / 2, -exp_);
    const int64_t grain = 1 << 17;
    if (n < 2 * grain || num_threads() == 1) {
        fill(x, n, scale, check, bins_.data());
        return;
    }
    // Chunk-local histograms summed in chunk order: integer sums, so the result is exact.
    const int64_t chunks = std::min<int64_t>(num_threads(), n / grain);
    std::vector<std::vector<uint64_t>> local(chunks);
    parallel_for(chunks, 1, [&](int64_t b, int64_t e2) {
        for (int64_t c = b; c < e2; ++c) {
            local[c].assign(kBins, 0);
            int64_t s = n * c / chunks, t = n * (c + 1) / chunks;
            fill(x + s, t - s, scale, check, local[c].data());
        }
    });
    for (const auto& l : local)
        for (int i = 0; i < kBins; ++i) bins_[i] += l[i];
}

void Histogram::merge(const Histogram& o) {
    nan_ += o.nan_;
    inf_ += o.inf_;
    if (o.count_ == 0) return;
    if (count_ == 0) {
        uint64_t nan = nan_, inf = inf_;
        *this = o;
        nan_ = nan;
        inf_ = inf;
        return;
    }
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
    count_ += o.count_;
    Histogram other = o;
    int e = std::max(exp_, o.exp_);
    grow_to(e);
    other.grow_to(e);
    for (int i = 0; i < kBins; ++i) bins_[i] += other.bins_[i];
}

Histogram Histogram::from_parts(float mn, float mx, uint64_t nan, uint64_t inf, int exponent,
                                std::vector<uint64_t> bins) {
    Histogram h;
    h.nan_ = nan;
    h.inf_ = inf;
    uint64_t total = 0;
    for (uint64_t b : bins) total += b;
    if (total == 0) return h;
    HQ_CHECK(bins.size() == (size_t)kBins, "calibration table: histogram has ", bins.size(), " bins, expected ", kBins);
    HQ_CHECK(exponent >= kMinExp && exponent <= kMaxExp, "calibration table: histogram exponent ", exponent,
             " out of range");
    HQ_CHECK(mn <= mx && std::fabs((double)mn) <= std::ldexp(1.0, exponent) &&
                 std::fabs((double)mx) < std::ldexp(1.0, exponent),
             "calibration table: min/max outside the histogram range");
    h.min_ = mn;
    h.max_ = mx;
    h.exp_ = exponent;
    h.count_ = total;
    h.bins_ = std::move(bins);
    return h;
}

Method parse_method(const std::string& s) {
    if (s == "minmax") return Method::MinMax;
    if (s == "percentile") return Method::Percentile;
    if (s == "entropy") return Method::Entropy;
    if (s == "mse") return Method::Mse;
    HQ_FAIL("--method '", s, "': expected minmax, percentile, entropy or mse");
}

std::string method_name(Method m) {
    switch (m) {
        case Method::MinMax: return "minmax";
        case Method::Percentile: return "percentile";
        case Method::Entropy: return "entropy";
        case Method::Mse: return "mse";
    }
    return "?";
}

namespace {

// |x| histogram: abs[k] counts values with |x| in about [k*w, (k+1)*w).
std::vector<double> abs_bins(const Histogram& h) {
    const int half = Histogram::kBins / 2;
    std::vector<double> a(half);
    for (int k = 0; k < half; ++k) a[k] = (double)h.bins()[half + k] + (double)h.bins()[half - 1 - k];
    return a;
}

Range finish(const Histogram& h, double lo, double hi) {
    lo = std::max(lo, (double)h.min());
    hi = std::min(hi, (double)h.max());
    Range r{(float)std::min(lo, 0.0), (float)std::max(hi, 0.0)};
    return r;
}

double entropy_threshold(const Histogram& h) {
    std::vector<double> a = abs_bins(h);
    int nb = (int)a.size();
    while (nb > 0 && a[nb - 1] == 0) --nb;
    const double w = h.bin_width();
    const int levels = 128;
    if (nb <= levels) return nb * w;
    const int step = std::max(1, (nb - levels) / 512);
    double best_kl = std::numeric_limits<double>::infinity();
    int best_i = nb;
    std::vector<double> p, q;
    for (int i = levels; i <= nb; i += step) {
        p.assign(a.begin(), a.begin() + i);
        double outliers = 0;
        for (int k = i; k < nb; ++k) outliers += a[k];
        p[i - 1] += outliers;
        // Quantize the clipped slice a[0..i) (without the outliers) into `levels` chunks, spreading
        // each chunk's mass over the bins where P is nonzero.
        q.assign(i, 0.0);
        for (int j = 0; j < levels; ++j) {
            int s = (int)((int64_t)i * j / levels), e = (int)((int64_t)i * (j + 1) / levels);
            double total = 0;
            int nz = 0;
            for (int k = s; k < e; ++k) {
                total += a[k];
                nz += p[k] != 0;
            }
            if (nz == 0) continue;
            for (int k = s; k < e; ++k)
                if (p[k] != 0) q[k] = total / nz;
        }
        double ps = 0, qs = 0;
        for (int k = 0; k < i; ++k) {
            ps += p[k];
            qs += q[k];
        }
        if (ps == 0 || qs == 0) continue;
        double kl = 0;
        for (int k = 0; k < i; ++k) {
            if (p[k] == 0) continue;
            double pk = p[k] / ps, qk = q[k] / qs;
            kl += qk > 0 ? pk * std::log(pk / qk) : pk * std::log(pk / 1e-12);
        }
        if (kl < best_kl) {
            best_kl = kl;
            best_i = i;
        }
    }
    return best_i * w;
}

double mse_range(const Histogram& h, double& lo_out, double& hi_out) {
    const auto& b = h.bins();
    int first = 0, last = Histogram::kBins - 1;
    while (first < last && b[first] == 0) ++first;
    while (last > first && b[last] == 0) --last;
    const double amax = std::max(std::fabs((double)h.min()), std::fabs((double)h.max()));
    double best = std::numeric_limits<double>::infinity();
    lo_out = h.min();
    hi_out = h.max();
    const int candidates = 256;
    for (int k = 1; k <= candidates; ++k) {
        double t = amax * k / candidates;
        double lo = std::min(0.0, std::max((double)h.min(), -t)), hi = std::max(0.0, std::min((double)h.max(), t));
        double step = (hi - lo) / 255.0;
        if (step <= 0) continue;
        double err = 0, noise = step * step / 12.0;
        for (int i = first; i <= last; ++i) {
            if (!b[i]) continue;
            double c = h.edge(i) + 0.5 * h.bin_width();
            double e = c < lo ? (lo - c) * (lo - c) : c > hi ? (c - hi) * (c - hi) : noise;
            err += (double)b[i] * e;
        }
        if (err < best) {
            best = err;
            lo_out = lo;
            hi_out = hi;
        }
    }
    return best;
}

double quantile(const Histogram& h, double q) {
    // Value below which a fraction q of the values lie, interpolated linearly inside its bin.
    const auto& b = h.bins();
    double target = q * (double)h.count(), cum = 0;
    for (int i = 0; i < Histogram::kBins; ++i) {
        if (b[i] == 0) continue;
        if (cum + (double)b[i] >= target) {
            double frac = (target - cum) / (double)b[i];
            return h.edge(i) + frac * h.bin_width();
        }
        cum += (double)b[i];
    }
    return h.max();
}

}  // namespace

Range compute_range(const Histogram& h, Method m, double percentile) {
    if (h.empty()) return Range{};
    switch (m) {
        case Method::MinMax: return finish(h, h.min(), h.max());
        case Method::Percentile: {
            HQ_CHECK(percentile > 50 && percentile <= 100, "--percentile ", percentile, ": expected a value in (50, 100]");
            double p = percentile / 100.0;
            return finish(h, quantile(h, 1.0 - p), quantile(h, p));
        }
        case Method::Entropy: {
            double t = entropy_threshold(h);
            return finish(h, -t, t);
        }
        case Method::Mse: {
            double lo, hi;
            mse_range(h, lo, hi);
            return finish(h, lo, hi);
        }
    }
    return Range{};
}

}  // namespace hq::calib
