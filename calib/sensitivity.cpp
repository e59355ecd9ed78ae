#include "calib/sensitivity.h"

#include "calib/metrics.h"
#include "core/progress.h"
#include "exec/executor.h"

namespace hq::calib {

std::map<std::string, double> layer_sensitivity(const graph::Model& model, const quant::Plan& plan,
                                                const std::map<std::string, std::pair<float, float>>& ranges,
                                                const quant::QdqOptions& qopt, const DataSource& data,
                                                const exec::Backend& backend, int64_t max_samples) {
    const int64_t n = std::min<int64_t>((int64_t)data.size(), std::max<int64_t>(1, max_samples));
    std::vector<Sample> samples;
    std::vector<std::map<std::string, Tensor>> reference;
    {
        exec::Executor ex(model, backend);
        for (int64_t i = 0; i < n; ++i) {
            samples.push_back(data.load((size_t)i));
            reference.push_back(ex.run(samples.back().inputs));
        }
    }
    std::map<std::string, double> out;
    Progress progress("sensitivity", (int64_t)plan.layers.size());
    for (const auto& layer : plan.layers) {
        quant::Plan single = plan;
        for (auto& l : single.layers) l.precision = l.node == layer.node ? quant::Precision::Int8 : quant::Precision::Fp32;
        graph::Model m = model;  // initializers share storage: a cheap copy
        quant::rewrite_qdq(m, single, ranges, qopt);
        exec::Executor ex(m, backend);
        ErrorStats err;
        for (int64_t i = 0; i < n; ++i) {
            auto got = ex.run(samples[i].inputs);
            for (const auto& [name, ref] : reference[i]) err.add(ref, got.at(name), "output '" + name + "'");
        }
        out[layer.node] = std::min(err.sqnr_db(), 200.0);
        progress.tick();
    }
    progress.finish();
    return out;
}

}  // namespace hq::calib
