// Range methods over a calibration histogram (histogram.h): minmax, percentile, entropy (TensorRT's KL threshold),
// mse. Pure functions of a Histogram's public counts.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "calib/histogram.h"
#include "core/error.h"

namespace hq::calib {

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

// KL divergence of P = a[0..i) with the outliers a[i..) added to its last bin, against Q = the clipped
// slice quantized to `levels` chunks (each chunk's mass spread evenly over the bins where P is
// nonzero). O(levels) per candidate with prefix sums of a, a*log(a) and nonzero counts.
double entropy_threshold(const Histogram& h) {
    std::vector<double> a = abs_bins(h);
    // Values in the first bin (|x| < one bin width; the zeros of ReLU outputs) quantize to about zero
    // at any threshold; left in, their spike makes KL favour tiny thresholds (NVIDIA's
    // pytorch-quantization skips zeros for the same reason).
    a[0] = 0;
    int nb = (int)a.size();
    while (nb > 0 && a[nb - 1] == 0) --nb;
    const double w = h.bin_width();
    const int levels = 128;
    if (nb <= levels) return nb * w;
    std::vector<double> sum(nb + 1, 0), xlogx(nb + 1, 0);
    std::vector<int> nz(nb + 1, 0);
    for (int k = 0; k < nb; ++k) {
        sum[k + 1] = sum[k] + a[k];
        xlogx[k + 1] = xlogx[k] + (a[k] > 0 ? a[k] * std::log(a[k]) : 0.0);
        nz[k + 1] = nz[k] + (a[k] > 0);
    }
    const double total = sum[nb];
    auto kl_at = [&](int i) {
        const double outliers = total - sum[i];
        const double last = a[i - 1] + outliers;  // P's last bin
        // Sum over chunks of P_j log(P_j-ish) terms; q_k = A_j / nz_j / qs on P's nonzero bins.
        double qs = 0, pn = 0;
        double acc = 0;    // over chunks where Q has mass: sum_k p_k log p_k - sum_j P_j log(A_j / nz_j)
        double empty = 0;  // P mass in a chunk where Q has none (only the outliers in the last bin)
        for (int j = 0; j < levels; ++j) {
            int s = (int)((int64_t)i * j / levels), e = (int)((int64_t)i * (j + 1) / levels);
            double A = sum[e] - sum[s];
            double Pj = A;
            int nzj = nz[e] - nz[s];
            double plogp = xlogx[e] - xlogx[s];
            if (e == i) {  // the chunk holding P's last bin
                double al = a[i - 1];
                plogp += (last > 0 ? last * std::log(last) : 0.0) - (al > 0 ? al * std::log(al) : 0.0);
                Pj += outliers;
                nzj += (al == 0 && last > 0);
            }
            if (nzj == 0) continue;
            if (A <= 0) {
                empty += Pj;
                continue;
            }
            qs += A;
            pn += Pj;
            acc += plogp - Pj * std::log(A / nzj);
        }
        // Where Q is empty it is smoothed to probability eps (as TensorRT's reference does).
        const double eps = 1e-4;
        double kl = acc / total + (pn / total) * (std::log(qs) - std::log(total));
        if (empty > 0) kl += (empty / total) * std::log((empty / total) / eps);
        return kl;
    };
    // Coarse search over at most ~256 candidates, then every bin around the best one.
    const int step = std::max(1, (nb - levels) / 256);
    double best_kl = std::numeric_limits<double>::infinity();
    int best_i = nb;
    for (int i = levels; i <= nb; i += step) {
        double kl = kl_at(i);
        if (kl < best_kl) {
            best_kl = kl;
            best_i = i;
        }
    }
    if (step > 1) {
        int lo = std::max(levels, best_i - step), hi = std::min(nb, best_i + step);
        for (int i = lo; i <= hi; ++i) {
            double kl = kl_at(i);
            if (kl < best_kl) {
                best_kl = kl;
                best_i = i;
            }
        }
    }
    return best_i * w;
}

// Range [lo, hi] minimizing the expected squared error of 8-bit quantization over the histogram
// (bin centres): clipping error outside, step^2/12 inside. O(log bins) per candidate with prefix sums.
void mse_range(const Histogram& h, double& lo_out, double& hi_out) {
    const auto& b = h.bins();
    const int B = Histogram::kBins;
    std::vector<double> n(B + 1, 0), s1(B + 1, 0), s2(B + 1, 0), centre(B);
    for (int i = 0; i < B; ++i) {
        double c = h.edge(i) + 0.5 * h.bin_width();
        centre[i] = c;
        n[i + 1] = n[i] + (double)b[i];
        s1[i + 1] = s1[i] + (double)b[i] * c;
        s2[i + 1] = s2[i] + (double)b[i] * c * c;
    }
    // Bins [0, k) have centres < x: the first bin whose centre is >= x.
    auto split = [&](double x) { return (int)(std::lower_bound(centre.begin(), centre.end(), x) - centre.begin()); };
    const double amax = std::max(std::fabs((double)h.min()), std::fabs((double)h.max()));
    double best = std::numeric_limits<double>::infinity();
    lo_out = h.min();
    hi_out = h.max();
    const int candidates = 512;
    for (int k = 1; k <= candidates; ++k) {
        double t = amax * k / candidates;
        double lo = std::min(0.0, std::max((double)h.min(), -t)), hi = std::max(0.0, std::min((double)h.max(), t));
        double step = (hi - lo) / 255.0;
        if (step <= 0) continue;
        int a = split(lo), z = split(hi);  // below: [0, a); inside: [a, z'); above: centres > hi
        while (z < B && centre[z] <= hi) ++z;
        double below = lo * lo * n[a] - 2 * lo * s1[a] + s2[a];
        double na = n[B] - n[z], sa = s1[B] - s1[z], qa = s2[B] - s2[z];
        double above = qa - 2 * hi * sa + hi * hi * na;
        double inside = (n[z] - n[a]) * step * step / 12.0;
        double err = below + above + inside;
        if (err < best) {
            best = err;
            lo_out = lo;
            hi_out = hi;
        }
    }
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
    if (!h.has_bins()) return finish(h, h.min(), h.max());
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
