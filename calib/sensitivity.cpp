#include "calib/sensitivity.h"

#include "calib/metrics.h"
#include "core/error.h"
#include "core/progress.h"
#include "dist/dist.h"
#include "dist/pack.h"
#include "exec/executor.h"

namespace hq::calib {

std::map<std::string, double> layer_sensitivity(const graph::Model& model, const quant::Plan& plan,
                                                const std::map<std::string, std::pair<float, float>>& ranges,
                                                const quant::QdqOptions& qopt, const DataSource& data,
                                                const exec::Backend& backend, int64_t max_samples,
                                                bool distributed) {
    const int64_t n = std::min<int64_t>((int64_t)data.size(), std::max<int64_t>(1, max_samples));
    distributed = distributed && dist::size() > 1;
    const auto [begin, end] = distributed ? dist::my_share(n) : std::pair<int64_t, int64_t>(0, n);
    // errors[layer][i]: sample begin+i's error (over every output) with only that layer at INT8.
    std::vector<std::vector<ErrorStats>> errors(plan.layers.size());
    std::optional<dist::Failure> failure;
    Progress progress("sensitivity", (int64_t)plan.layers.size());
    try {
        std::vector<Sample> samples;
        std::vector<std::map<std::string, Tensor>> reference;
        {
            exec::Executor ex(model, backend);
            for (int64_t i = begin; i < end; ++i) {
                samples.push_back(data.load((size_t)i));
                try {
                    reference.push_back(ex.run(samples.back().inputs));
                } catch (const Error& e) {
                    throw Error("sample '" + samples.back().name + "': " + e.what(), e.kind());
                }
                dist::test_fault_point();
            }
        }
        for (size_t j = 0; j < plan.layers.size(); ++j) {
            if (!samples.empty()) {  // a rank without samples has nothing to measure
                quant::Plan single = plan;
                for (auto& l : single.layers)
                    l.precision = l.node == plan.layers[j].node ? quant::Precision::Int8 : quant::Precision::Fp32;
                graph::Model m = model;  // initializers share storage: a cheap copy
                quant::rewrite_qdq(m, single, ranges, qopt);
                exec::Executor ex(m, backend);
                for (size_t i = 0; i < samples.size(); ++i) {
                    auto got = ex.run(samples[i].inputs);
                    ErrorStats err;
                    for (const auto& [name, ref] : reference[i]) err.add(ref, got.at(name), "output '" + name + "'");
                    errors[j].push_back(err);
                }
            }
            progress.tick();
        }
    } catch (const Error& e) {
        if (!distributed) throw;
        failure = dist::Failure{dist::rank(), e.exit_code(), e.what()};
    }
    if (distributed) {
        dist::agree_or_throw(failure);
        dist::Packer mine;
        for (const auto& e : errors) mine.put_vec(e);
        const auto parts = dist::gather(mine.take());
        if (dist::is_root())
            for (size_t r = 1; r < parts.size(); ++r) {
                dist::Unpacker u(parts[r]);
                for (auto& e : errors) {
                    const auto theirs = u.get_vec<ErrorStats>();
                    e.insert(e.end(), theirs.begin(), theirs.end());  // rank order is sample order
                }
                HQ_ASSERT(u.done(), "sensitivity: trailing bytes from rank ", r);
            }
    }
    // Rank 0 (or the one process) adds the samples' errors in sample order.
    dist::Packer result;
    std::map<std::string, double> out;
    if (!distributed || dist::is_root()) {
        for (size_t j = 0; j < plan.layers.size(); ++j) {
            HQ_ASSERT((int64_t)errors[j].size() == n, "sensitivity: ", errors[j].size(), " samples of ", n);
            ErrorStats total;
            for (const auto& e : errors[j]) total.merge(e);
            out[plan.layers[j].node] = std::min(total.sqnr_db(), 200.0);
            result.put<double>(out[plan.layers[j].node]);
        }
    }
    if (distributed) {
        const std::string bytes = dist::broadcast(result.take());
        if (!dist::is_root()) {
            dist::Unpacker u(bytes);
            for (const auto& l : plan.layers) out[l.node] = u.get<double>();
            HQ_ASSERT(u.done(), "sensitivity: trailing bytes from rank 0");
        }
    }
    progress.finish();
    return out;
}

}  // namespace hq::calib
