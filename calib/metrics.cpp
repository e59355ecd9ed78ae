#include "calib/metrics.h"

#include "core/error.h"

namespace hq::calib {

static std::vector<float> as_f32(const Tensor& t) { return t.to_f32(); }

void ErrorStats::add(const Tensor& ref, const Tensor& cand, const std::string& what) {
    HQ_CHECK(ref.shape() == cand.shape(), what, ": shape ", shape_str(cand.shape()), " differs from the reference's ",
             shape_str(ref.shape()));
    std::vector<float> r = as_f32(ref), c = as_f32(cand);
    for (size_t i = 0; i < r.size(); ++i) {
        double a = r[i], b = c[i], d = a - b;
        signal += a * a;
        noise += d * d;
        dot += a * b;
        ref_sq += a * a;
        cand_sq += b * b;
        double ad = std::fabs(d);
        if (ad > max_abs || std::isnan(ad)) max_abs = ad;
        sum_abs += ad;
    }
    count += (int64_t)r.size();
}

void ErrorStats::merge(const ErrorStats& o) {
    signal += o.signal;
    noise += o.noise;
    dot += o.dot;
    ref_sq += o.ref_sq;
    cand_sq += o.cand_sq;
    if (o.max_abs > max_abs || std::isnan(o.max_abs)) max_abs = o.max_abs;  // NaN sticks, as in add()
    sum_abs += o.sum_abs;
    count += o.count;
}

double ErrorStats::sqnr_db() const {
    if (noise == 0) return std::numeric_limits<double>::infinity();
    if (signal == 0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

double ErrorStats::cosine() const {
    if (ref_sq == 0 || cand_sq == 0) return ref_sq == cand_sq ? 1.0 : 0.0;
    return dot / std::sqrt(ref_sq * cand_sq);
}

}  // namespace hq::calib
