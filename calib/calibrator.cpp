#include "calib/calibrator.h"

#include "core/error.h"
#include "core/progress.h"
#include "quant/qdq_ops.h"

namespace hq::calib {

CalibrationTable calibrate(const exec::Executor& ex, const DataSource& data, const CalibrateOptions& opt) {
    CalibrationTable table;
    table.method = opt.method;
    table.percentile = opt.percentile;
    const std::set<std::string> targets = quant::calibration_targets(ex.model());
    // One histogram per target, created up front so iteration order and lookups never allocate.
    std::map<std::string, Histogram> hists;
    for (const auto& t : targets) hists[t];
    auto observe = [&](const std::string& name, const Tensor& t) {
        auto it = hists.find(name);
        if (it == hists.end() || t.dtype() != DType::F32) return;
        it->second.add(t.data<float>(), t.numel());
    };
    exec::Observer obs = [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); };
    int64_t n = (int64_t)data.size();
    if (opt.max_samples > 0) n = std::min(n, opt.max_samples);
    Progress progress("calibrate", n);
    for (int64_t i = 0; i < n; ++i) {
        Sample s = data.load((size_t)i);
        for (const auto& [name, t] : s.inputs) observe(name, t);
        try {
            ex.run(s.inputs, obs);
        } catch (const Error& e) {
            throw Error("sample '" + s.name + "': " + e.what(), e.kind());
        }
        progress.tick();
    }
    progress.finish();
    table.samples = (uint64_t)n;
    // Tensors never seen as float32 (shape/int tensors) are not part of the table.
    for (auto& [name, h] : hists)
        if (h.count() || h.nan_count() || h.inf_count()) table.tensors[name] = std::move(h);
    return table;
}

quant::ChannelMeans channel_means(const exec::Executor& ex, const DataSource& data,
                                  const std::set<std::string>& tensors, int64_t max_samples) {
    std::map<std::string, std::pair<std::vector<double>, double>> acc;  // sums per channel, count per channel
    auto observe = [&](const std::string& name, const Tensor& t) {
        if (!tensors.count(name) || t.dtype() != DType::F32 || t.rank() < 1) return;
        const int64_t axis = t.rank() >= 3 ? 1 : t.rank() - 1;
        const int64_t c = t.shape()[axis];
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.shape()[d];
        auto& [sums, count] = acc[name];
        if (sums.empty()) sums.assign(c, 0.0);
        if ((int64_t)sums.size() != c) return;
        const float* p = t.data<float>();
        const int64_t outer = t.numel() / std::max<int64_t>(1, c * inner);
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* q = p + (o * c + ch) * inner;
                double s = 0;
                for (int64_t i = 0; i < inner; ++i) s += q[i];
                sums[ch] += s;
            }
        count += (double)(outer * inner);
    };
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    Progress progress("channel means", n);
    for (int64_t i = 0; i < n; ++i) {
        Sample s = data.load((size_t)i);
        for (const auto& [name, t] : s.inputs) observe(name, t);
        ex.run(s.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
        progress.tick();
    }
    progress.finish();
    quant::ChannelMeans means;
    for (auto& [name, sc] : acc) {
        auto& [sums, count] = sc;
        for (auto& v : sums) v = count > 0 ? v / count : 0.0;
        means[name] = sums;
    }
    return means;
}

}  // namespace hq::calib
