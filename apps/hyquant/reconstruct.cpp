#include "apps/hyquant/reconstruct.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/progress.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "prune/compensate.h"
#include "prune/reconstruct.h"

namespace hq::app {

namespace {

std::optional<size_t> node_index(const graph::Model& m, const std::string& name) {
    for (size_t i = 0; i < m.graph.nodes.size(); ++i)
        if (m.graph.nodes[i].name == name) return i;
    return std::nullopt;
}

// The model cut down to what computes `values` (they become its outputs).
graph::Model truncated(const graph::Model& m, const std::set<std::string>& values) {
    graph::Model t = m;
    t.graph.outputs.clear();
    for (const auto& v : values) {
        const graph::ValueInfo* vi = m.graph.find_value(v);
        graph::ValueInfo o;
        o.name = v;
        o.dtype = vi ? vi->dtype : DType::F32;
        t.graph.outputs.push_back(o);
    }
    graph::eliminate_dead_code(t);
    return t;
}

struct Job {
    size_t li = 0;  // index in result.layers
    prune::FitOptions fit;
    std::string mode;
    std::set<std::string> upstream;  // candidate layers above it
};

}  // namespace

ReconstructSummary reconstruct_layers(const graph::Model& dense, graph::Model& pruned, const prune::PruneResult& result,
                                      const calib::DataSource& data, const exec::Backend& backend, int64_t max_samples,
                                      double damp) {
    ReconstructSummary sum;
    sum.damp = damp;
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    sum.samples = n;

    // Candidates: pruned layers, layers that lost input channels, and a kept last layer once anything changed.
    bool changed = false;
    for (const auto& l : result.layers) changed |= l.skipped_reason.empty() || l.input_channels_removed > 0;
    std::map<std::string, Job> jobs;
    std::vector<std::string> order;
    for (size_t li = 0; li < result.layers.size(); ++li) {
        const auto& l = result.layers[li];
        Job j;
        j.li = li;
        if (l.skipped_reason.empty() && l.pattern == "unstructured") {
            j.fit.mode = prune::FitMode::Unstructured;
            j.mode = "unstructured";
        } else if (l.skipped_reason.empty() && l.pattern.find(':') != std::string::npos) {
            j.fit.mode = prune::FitMode::NM;
            j.fit.n = std::stoll(l.pattern.substr(0, l.pattern.find(':')));
            j.fit.m = std::stoll(l.pattern.substr(l.pattern.find(':') + 1));
            j.mode = "N:M";
        } else if ((l.skipped_reason.empty() && l.pattern == "channel") || l.input_channels_removed > 0 ||
                   (changed && l.skipped_reason.rfind("last layer kept", 0) == 0)) {
            j.mode = "dense";
        } else {
            continue;
        }
        j.fit.damp = damp;
        jobs[l.node] = j;
        order.push_back(l.node);
    }
    // Upstream candidates of every candidate (in the pruned graph, nodes in topological order).
    {
        const auto& g = pruned.graph;
        auto prod = g.producers();
        std::vector<std::set<std::string>> up(g.nodes.size());
        for (size_t i = 0; i < g.nodes.size(); ++i)
            for (const auto& in : g.nodes[i].inputs) {
                auto p = prod.find(in);
                if (in.empty() || p == prod.end()) continue;
                up[i].insert(up[p->second].begin(), up[p->second].end());
                if (jobs.count(g.nodes[p->second].name)) up[i].insert(g.nodes[p->second].name);
            }
        for (size_t i = 0; i < g.nodes.size(); ++i)
            if (auto it = jobs.find(g.nodes[i].name); it != jobs.end()) it->second.upstream = up[i];
    }
    std::sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
        return *node_index(pruned, a) < *node_index(pruned, b);
    });

    // Samples are read once (inputs only) when they fit in 512 MiB, else re-read per wave.
    std::vector<calib::Sample> cache;
    size_t bytes = 0;
    bool cached = true;
    for (int64_t i = 0; i < n && cached; ++i) {
        cache.push_back(data.load((size_t)i));
        for (const auto& [k, t] : cache.back().inputs) bytes += t.nbytes();
        if (bytes > ((size_t)512 << 20)) cached = false;
    }
    if (!cached) cache.clear();
    auto sample = [&](int64_t i) { return cached ? cache[(size_t)i] : data.load((size_t)i); };

    std::set<std::string> done;
    std::vector<std::string> remaining = order;
    std::map<std::string, ReconstructLayer> out;
    Progress progress("reconstruction", (int64_t)order.size());
    while (!remaining.empty()) {
        std::vector<std::string> wave, rest;
        for (const auto& name : remaining) {
            bool ready = true;  // no upstream candidate still waiting
            for (const auto& u : jobs.at(name).upstream) ready &= !std::count(remaining.begin(), remaining.end(), u);
            (ready ? wave : rest).push_back(name);
        }
        HQ_ASSERT(!wave.empty(), "reconstruction: no layer is ready");
        ++sum.waves;
        // Set up the fits of this wave.
        struct Live {
            std::string name, xd, xp;
            std::optional<prune::LayerFit> fit;
        };
        std::vector<Live> live;
        for (const auto& name : wave) {
            const Job& j = jobs.at(name);
            const auto& l = result.layers[j.li];
            ReconstructLayer rl;
            rl.node = name;
            rl.op_type = l.op_type;
            rl.mode = j.mode;
            rl.wave = sum.waves;
            const size_t pi = *node_index(pruned, name);
            auto di = node_index(dense, name);
            const graph::Node& pn = pruned.graph.nodes[pi];
            std::string why = prune::reconstruct_blocker(pruned, pn);
            if (why.empty() && !di) why = "not found in the dense model";
            if (why.empty()) why = prune::reconstruct_blocker(dense, dense.graph.nodes[*di]);
            if (why.empty()) why = prune::bias_blocker(pruned, pi);
            if (!why.empty()) {
                rl.skipped_reason = why;
                out[name] = rl;
                continue;
            }
            const graph::Node& dn = dense.graph.nodes[*di];
            prune::LayerMatrix dm = prune::layer_matrix(dense, dn), now = prune::layer_matrix(pruned, pn);
            std::vector<int64_t> kept;  // dense row of every row of the layer now (rows: channel · row_block)
            if (now.outputs == dm.outputs) {
                kept.resize((size_t)now.outputs);
                for (int64_t o = 0; o < now.outputs; ++o) kept[(size_t)o] = o;
            } else {
                std::set<int64_t> removed(l.removed_channels.begin(), l.removed_channels.end());
                for (int64_t o = 0; o < dm.outputs / dm.row_block; ++o)
                    if (!removed.count(o))
                        for (int64_t k = 0; k < dm.row_block; ++k) kept.push_back(o * dm.row_block + k);
            }
            if ((int64_t)kept.size() != now.outputs || now.kernel != dm.kernel || now.groups < 1 ||
                now.outputs % now.groups != 0) {
                rl.skipped_reason = "output channels changed in a way the prune result does not record";
                out[name] = rl;
                continue;
            }
            const int64_t rpg = now.outputs / now.groups, rpg_d = dm.outputs / dm.groups;
            std::vector<int64_t> dg((size_t)now.groups);
            for (int64_t g = 0; g < now.groups; ++g) dg[(size_t)g] = kept[(size_t)(g * rpg)] / rpg_d;
            // Prior (what the ridge pulls towards): the dense weights when the columns are the dense layer's.
            prune::LayerMatrix prior = now;
            if (j.mode != "dense" && dm.cols() == now.cols() && dm.groups == now.groups) {
                for (int64_t o = 0; o < now.outputs; ++o)
                    for (int64_t c = 0; c < now.cols(); ++c)
                        prior.w[(size_t)(o * now.cols() + c)] = dm.w[(size_t)(kept[(size_t)o] * dm.cols() + c)];
            }
            Job& jm = jobs.at(name);
            if (jm.fit.mode == prune::FitMode::Unstructured) {
                int64_t z = 0;
                for (double v : now.w) z += v == 0.0;
                jm.fit.zeros = z;
            }
            Live lv;
            lv.name = name;
            lv.xd = dn.input(0);
            lv.xp = pn.input(0);
            try {
                lv.fit.emplace(pn, std::move(dm), std::move(now), std::move(prior), std::move(kept), std::move(dg));
            } catch (const Error& e) {
                rl.skipped_reason = e.what();
                out[name] = rl;
                continue;
            }
            out[name] = rl;
            live.push_back(std::move(lv));
        }
        if (!live.empty()) {
            std::set<std::string> need_d, need_p;
            for (const auto& lv : live) need_d.insert(lv.xd), need_p.insert(lv.xp);
            graph::Model dsub = truncated(dense, need_d), psub = truncated(pruned, need_p);
            exec::Executor exd(dsub, backend), exp(psub, backend);
            for (int64_t i = 0; i < n; ++i) {
                calib::Sample s = sample(i);
                auto od = exd.run(s.inputs), op = exp.run(s.inputs);
                auto get = [&](std::map<std::string, Tensor>& o, const std::string& v) -> const Tensor& {
                    if (auto it = o.find(v); it != o.end()) return it->second;
                    auto it = s.inputs.find(v);
                    HQ_CHECK(it != s.inputs.end(), "reconstruction: value '", v, "' was not computed");
                    return it->second;
                };
                for (auto& lv : live) lv.fit->add(get(od, lv.xd), get(op, lv.xp));
            }
            for (auto& lv : live) {
                const Job& j = jobs.at(lv.name);
                prune::FitResult fr = lv.fit->solve(j.fit);
                const size_t pi = *node_index(pruned, lv.name);
                const prune::LayerMatrix now = prune::layer_matrix(pruned, pruned.graph.nodes[pi]);
                prune::write_weight(pruned, pruned.graph.nodes[pi], fr.fitted);
                // One bias per output channel: a ConvTranspose's rows (kernel phases) share theirs (their mean).
                const int64_t rb = now.row_block;
                std::vector<double> delta(fr.fitted.b.size() / (size_t)rb, 0.0);
                bool any = false;
                for (size_t r = 0; r < fr.fitted.b.size(); ++r) delta[r / (size_t)rb] += (fr.fitted.b[r] - now.b[r]) / (double)rb;
                for (double v : delta) any |= v != 0.0;
                ReconstructLayer& rl = out[lv.name];
                rl.bias_note = any ? prune::add_to_bias(pruned, pi, delta) : "bias unchanged";
                rl.rel_error_before = fr.rel_error_before;
                rl.rel_error_after = fr.rel_error_after;
                rl.positions = fr.positions;
                spdlog::debug("reconstruct {} '{}' ({}): relative output error {:.4g} -> {:.4g} on {} rows",
                              rl.op_type, rl.node, rl.mode, rl.rel_error_before, rl.rel_error_after, rl.positions);
            }
        }
        for (const auto& w : wave) {
            done.insert(w);
            progress.tick();
        }
        remaining = std::move(rest);
    }
    progress.finish();
    for (const auto& name : order) sum.layers.push_back(out.at(name));
    return sum;
}

}  // namespace hq::app
