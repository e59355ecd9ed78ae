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

}  // namespace hq::calib
