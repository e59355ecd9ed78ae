// hyquant prune: magnitude pruning (unstructured per layer or global, N:M) of a model's weights and channel
// pruning (output channels removed with the graph rewritten), optionally per layer from a plan, written with
// a JSON/Markdown report of the sparsity and channels per layer, parameters, MACs, and the accuracy drop. With
// --data (channel pattern), the layers' input statistics on calibration samples drive bias compensation of the
// layers that lose input channels (prune/compensate.h) and --criterion activation.
#include "prune/prune.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "apps/hyquant/reconstruct.h"
#include "calib/evaluate.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/progress.h"
#include "exec/cpu/cpu_backend.h"
#include "exec/executor.h"
#include "onnx_io/onnx_io.h"
#include "prune/plan.h"
#include "prune/targets.h"
#include "report/eval_report.h"

namespace fs = std::filesystem;

namespace hq::app {

namespace {

using json = nlohmann::ordered_json;

struct Opts {
    std::string model, out, pattern = "unstructured", scope = "layer", eval_data, labels, criterion, plan_in, plan_out;
    std::string data;  // --data: calibration samples (reconstruction; channel: activation statistics)
    std::string target;  // --target: engine the model is for (channel multiple, N:M warning, report)
    double sparsity = 0.5, min_keep = 0.1, damp = 0.01;
    int64_t channel_multiple = 1;
    bool channel_multiple_given = false;  // else the target's (1 without --target)
    bool include_ends = false, no_compensation = false, no_reconstruct = false, print_json = false;
    int64_t samples = 0;
    std::vector<std::string> exclude, reports;
    RunOptions run;
};

// Per-channel mean and mean square of every tensor in `axes` (axis -1: the last) over up to max_samples samples of
// `data` (0: all), run through the model one sample at a time; sums in double, in sample order (deterministic).
prune::ChannelStats activation_stats(const graph::Model& m, const calib::DataSource& data, const exec::Backend& backend,
                                     const std::map<std::string, int64_t>& axes, int64_t max_samples) {
    struct Acc {
        std::vector<double> sum, sq;
        double count = 0;
        bool bad = false;
    };
    std::map<std::string, Acc> acc;
    auto observe = [&](const std::string& name, const Tensor& t) {
        auto ax = axes.find(name);
        if (ax == axes.end() || t.dtype() != DType::F32 || t.rank() < 1) return;
        const int64_t axis = ax->second < 0 ? t.rank() - 1 : ax->second;
        if (axis >= t.rank()) return;
        const int64_t c = t.dim(axis);
        int64_t inner = 1;
        for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
        Acc& a = acc[name];
        if (a.sum.empty() && !a.bad) {
            a.sum.assign((size_t)c, 0.0);
            a.sq.assign((size_t)c, 0.0);
        }
        if ((int64_t)a.sum.size() != c) {
            a.bad = true;  // channel count changed between samples
            return;
        }
        const float* p = t.data<float>();
        const int64_t outer = t.numel() / std::max<int64_t>(1, c * inner);
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* q = p + (o * c + ch) * inner;
                double s = 0, s2 = 0;
                for (int64_t i = 0; i < inner; ++i) {
                    s += q[i];
                    s2 += (double)q[i] * q[i];
                }
                a.sum[(size_t)ch] += s;
                a.sq[(size_t)ch] += s2;
            }
        a.count += (double)(outer * inner);
    };
    exec::Executor ex(m, backend);
    int64_t n = (int64_t)data.size();
    if (max_samples > 0) n = std::min(n, max_samples);
    Progress progress("activation statistics", n);
    for (int64_t i = 0; i < n; ++i) {
        calib::Sample smp = data.load((size_t)i);
        for (const auto& [name, t] : smp.inputs) observe(name, t);
        ex.run(smp.inputs, [&](const std::string& name, const Tensor& t, const graph::Node&) { observe(name, t); });
        progress.tick();
    }
    progress.finish();
    prune::ChannelStats st;
    for (auto& [name, a] : acc) {
        if (a.bad || a.count <= 0) continue;
        for (auto& v : a.sum) v /= a.count;
        for (auto& v : a.sq) v /= a.count;
        st.mean[name] = std::move(a.sum);
        st.mean_square[name] = std::move(a.sq);
    }
    return st;
}

struct Totals {
    std::optional<int64_t> macs, nonzero_macs;
};

Totals totals(const prune::PruneResult& r) {
    Totals t{0, 0};
    for (const auto& l : r.layers) {
        if (!l.macs || !l.nonzero_macs) return {};
        *t.macs += *l.macs;
        *t.nonzero_macs += *l.nonzero_macs;
    }
    return t;
}

json opt_json(const std::optional<int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

json report_json(const Opts& o, const prune::PruneOptions& po, const prune::PruneResult& before,
                 const prune::PruneResult& after, int64_t params_before, int64_t params_after, int64_t params_total,
                 int64_t params_total_after, uintmax_t bytes_in, uintmax_t bytes_out,
                 const std::optional<calib::AccuracySummary>& acc, int64_t data_samples,
                 const std::optional<ReconstructSummary>& rec, const prune::PruneTarget* target) {
    json j;
    j["schema"] = 1;
    j["kind"] = "prune";
    j["tool"] = "hyquant " HYQUANT_VERSION;
    j["model"] = o.model;
    j["output"] = o.out;
    j["command"] = command_line();
    j["pattern"] = prune::pattern_name(po);
    j["scope"] = po.pattern == prune::Pattern::NM ? "layer" : o.scope;
    j["target_sparsity"] = po.pattern == prune::Pattern::NM ? (double)(po.m - po.n) / (double)po.m : po.sparsity;
    if (po.pattern != prune::Pattern::NM && po.scope == prune::Scope::Global) j["min_keep"] = po.min_keep;
    j["include_ends"] = po.include_ends;
    bool channel = false;
    for (const auto& l : after.layers) channel |= l.pattern == "channel";
    if (channel) {
        j["criterion"] = prune::criterion_name(po.criterion);
        j["channel_multiple"] = po.channel_multiple;
    }
    if (!o.plan_in.empty()) j["plan"] = o.plan_in;
    json layers = json::array();
    int64_t lp = 0, lz = 0, pruned = 0, ch_before = 0, ch_after = 0;
    for (size_t i = 0; i < after.layers.size(); ++i) {
        const auto& l = after.layers[i];
        const auto& b = before.layers[i];
        json lj{{"node", l.node},     {"op_type", l.op_type}, {"weight", l.weight},
                {"params", l.params}, {"zeros", l.zeros},     {"sparsity", l.sparsity}};
        lj["skipped_reason"] = l.skipped_reason.empty() ? json(nullptr) : json(l.skipped_reason);
        lj["pattern"] = l.pattern.empty() ? json(nullptr) : json(l.pattern);
        lj["target_sparsity"] = l.target;
        lj["macs"] = opt_json(l.macs);
        lj["nonzero_macs"] = opt_json(l.nonzero_macs);
        lj["params_before"] = b.params;
        lj["macs_before"] = opt_json(b.macs);
        lj["channels_before"] = b.channels;
        lj["channels_after"] = l.channels;
        lj["removed_channels"] = l.removed_channels;
        lj["tied_to"] = l.tied_to;
        if (target) {
            const int64_t k = target->channel_multiple;
            // depthwise: input_channels (weight input axis × group) equals its channels
            lj["engine_friendly"] = l.channels % k == 0 && l.input_channels % k == 0;
        }
        if (rec)
            for (const auto& r : rec->layers)
                if (r.node == l.node) {
                    json rj{{"mode", r.mode}, {"wave", r.wave}};
                    if (!r.skipped_reason.empty()) {
                        rj["skipped_reason"] = r.skipped_reason;
                    } else {
                        rj["rel_error_before"] = r.rel_error_before;
                        rj["rel_error_after"] = r.rel_error_after;
                        rj["rows"] = r.positions;
                        rj["bias"] = r.bias_note;
                    }
                    lj["reconstruction"] = rj;
                }
        if (!o.data.empty()) {
            lj["input_channels_removed"] = l.input_channels_removed;
            lj["compensated"] = l.compensated.value_or(false);
            lj["bias_change"] = l.bias_change;
            lj["compensation_note"] = l.compensation_note.empty() ? json(nullptr) : json(l.compensation_note);
        }
        layers.push_back(lj);
        if (!l.skipped_reason.empty()) continue;
        ++pruned;
        lp += l.params;
        lz += l.zeros;
        if (l.pattern == "channel") {
            ch_before += b.channels;
            ch_after += l.channels;
        }
    }
    j["layers"] = layers;
    if (!o.data.empty()) {
        int64_t comp = 0, lost = 0;
        for (const auto& l : after.layers) {
            lost += l.input_channels_removed > 0;
            comp += l.compensated.value_or(false);
        }
        j["compensation"] = {{"data", o.data},
                             {"samples", data_samples},
                             {"enabled", po.compensate},
                             {"layers_losing_inputs", lost},
                             {"layers_compensated", comp}};
    }
    if (rec) {
        int64_t fitted = 0;
        double eb = 0, ea = 0;
        for (const auto& r : rec->layers)
            if (r.skipped_reason.empty()) ++fitted, eb += r.rel_error_before, ea += r.rel_error_after;
        j["reconstruction"] = {{"data", o.data},
                               {"samples", rec->samples},
                               {"damp", rec->damp},
                               {"waves", rec->waves},
                               {"layers", (int64_t)rec->layers.size()},
                               {"layers_fitted", fitted},
                               {"mean_rel_error_before", fitted ? eb / (double)fitted : 0.0},
                               {"mean_rel_error_after", fitted ? ea / (double)fitted : 0.0}};
    } else if (!o.data.empty()) {
        j["reconstruction"] = {{"data", o.data}, {"enabled", false}};
    }
    j["layers_pruned"] = pruned;
    j["layers_skipped"] = (int64_t)after.layers.size() - pruned;
    j["layer_sparsity"] = lp ? (double)lz / (double)lp : 0.0;
    if (channel) {  // output channels of the channel-pruned layers (depthwise layers count with their producers)
        j["channels_before"] = ch_before;
        j["channels_after"] = ch_after;
        j["channel_sparsity"] = ch_before ? 1.0 - (double)ch_after / (double)ch_before : 0.0;
    }
    j["parameters_total"] = params_total;
    j["parameters_total_after"] = params_total_after;
    j["parameters_before"] = params_before;  // nonzero
    j["parameters_after"] = params_after;    // nonzero
    Totals tb = totals(before), ta = totals(after);
    j["macs_before"] = opt_json(tb.macs);
    j["macs_after"] = opt_json(ta.macs);
    j["nonzero_macs_before"] = opt_json(tb.nonzero_macs);
    j["nonzero_macs_after"] = opt_json(ta.nonzero_macs);
    j["size_bytes"] = {{"input", bytes_in}, {"output", bytes_out}};
    if (target) {
        int64_t friendly = 0, counted = 0;
        for (const auto& l : layers)
            if (l.contains("engine_friendly")) ++counted, friendly += l["engine_friendly"].get<bool>();
        json tj{{"name", target->name},
                {"engine", target->engine},
                {"channel_multiple", target->channel_multiple},
                {"channel_reason", target->channel_reason},
                {"sparse_matrix_units", target->sparse_matrix_units},
                {"layers_engine_friendly", friendly},
                {"layers", counted}};
        // Predicted speed-up of the weighted layers: dense MACs (no sparse units: zeros inside a dense weight
        // still cost time), or nonzero-weight MACs for N:M on an engine with sparse matrix units.
        const bool nm = po.pattern == prune::Pattern::NM && target->sparse_matrix_units;
        const auto& b = nm ? tb.nonzero_macs : tb.macs;
        const auto& a = nm ? ta.nonzero_macs : ta.macs;
        tj["predicted_speedup"] = b && a && *a > 0 ? json((double)*tb.macs / (double)*a) : json(nullptr);
        tj["predicted_from"] = nm ? "nonzero-weight MACs (sparse matrix units)" : "dense MACs";
        if (po.pattern == prune::Pattern::NM || po.pattern == prune::Pattern::Unstructured)
            tj["note"] = target->sparse_note;
        j["target"] = tj;
    }
    if (acc) j["accuracy"] = json::parse(report::accuracy_json(*acc));
    return j;
}

std::string fmt_opt(const json& v) {
    return v.is_null() ? "-" : std::to_string(v.get<int64_t>());
}

std::string report_markdown(const json& j, const std::optional<calib::AccuracySummary>& acc) {
    std::string md =
        "## hyquant prune: `" + j["model"].get<std::string>() + "` → `" + j["output"].get<std::string>() + "`\n\n";
    char buf[512];
    if (j.contains("channel_sparsity"))
        std::snprintf(buf, sizeof buf,
                      "Pattern **%s**, scope %s, criterion %s, target sparsity %.3f; achieved %.4f of the output "
                      "channels of the pruned layers (%lld → %lld).\n\n",
                      j["pattern"].get<std::string>().c_str(), j["scope"].get<std::string>().c_str(),
                      j["criterion"].get<std::string>().c_str(), j["target_sparsity"].get<double>(),
                      j["channel_sparsity"].get<double>(), (long long)j["channels_before"].get<int64_t>(),
                      (long long)j["channels_after"].get<int64_t>());
    else
        std::snprintf(buf, sizeof buf,
                      "Pattern **%s**, scope %s, target sparsity %.3f; achieved %.4f over the pruned-layer "
                      "weights.\n\n",
                      j["pattern"].get<std::string>().c_str(), j["scope"].get<std::string>().c_str(),
                      j["target_sparsity"].get<double>(), j["layer_sparsity"].get<double>());
    md += buf;
    md += "| | before | after |\n|---|---|---|\n";
    md += "| parameters | " + std::to_string(j["parameters_total"].get<int64_t>()) + " | " +
          std::to_string(j["parameters_total_after"].get<int64_t>()) + " |\n";
    md += "| nonzero parameters | " + std::to_string(j["parameters_before"].get<int64_t>()) + " | " +
          std::to_string(j["parameters_after"].get<int64_t>()) + " |\n";
    md += "| MACs (dense) | " + fmt_opt(j["macs_before"]) + " | " + fmt_opt(j["macs_after"]) + " |\n";
    md += "| MACs (nonzero weights) | " + fmt_opt(j["nonzero_macs_before"]) + " | " + fmt_opt(j["nonzero_macs_after"]) +
          " |\n";
    md += "| file size (bytes) | " + std::to_string(j["size_bytes"]["input"].get<uintmax_t>()) + " | " +
          std::to_string(j["size_bytes"]["output"].get<uintmax_t>()) + " |\n";
    std::snprintf(buf, sizeof buf, "%lld layers pruned, %lld kept as they were.\n",
                  (long long)j["layers_pruned"].get<int64_t>(), (long long)j["layers_skipped"].get<int64_t>());
    md += std::string("\n") + buf;
    if (j.contains("target")) {
        const json& t = j["target"];
        std::string sp = t["predicted_speedup"].is_null() ? "unknown (MACs need static shapes: --shape)"
                                                          : fmt::format("{:.2f}x", t["predicted_speedup"].get<double>());
        md += fmt::format("\nTarget **{}** ({}): predicted speed-up of the weighted layers {} (from {}); {} of {} "
                          "layers have channel counts in multiples of {} (engine-friendly).{}\n",
                          t["name"].get<std::string>(), t["engine"].get<std::string>(), sp,
                          t["predicted_from"].get<std::string>(), t["layers_engine_friendly"].get<int64_t>(),
                          t["layers"].get<int64_t>(), t["channel_multiple"].get<int64_t>(),
                          t.contains("note") ? " " + t["note"].get<std::string>() + "." : "");
    }
    if (j.contains("reconstruction") && j["reconstruction"].contains("layers_fitted")) {
        const json& r = j["reconstruction"];
        md += fmt::format("\nLayer-wise reconstruction on {} samples of `{}` (damp {}): {} of {} layers fitted in {} "
                          "waves; mean relative output error {:.4g} → {:.4g}.\n",
                          r["samples"].get<int64_t>(), r["data"].get<std::string>(), r["damp"].get<double>(),
                          r["layers_fitted"].get<int64_t>(), r["layers"].get<int64_t>(), r["waves"].get<int64_t>(),
                          r["mean_rel_error_before"].get<double>(), r["mean_rel_error_after"].get<double>());
        md += "\n| layer | fit | relative output error before → after | bias |\n|---|---|---|---|\n";
        for (const auto& l : j["layers"]) {
            if (!l.contains("reconstruction")) continue;
            const json& x = l["reconstruction"];
            if (x.contains("skipped_reason"))
                md += fmt::format("| `{}` | {} | not reconstructed: {} | |\n", l["node"].get<std::string>(),
                                  x["mode"].get<std::string>(), x["skipped_reason"].get<std::string>());
            else
                md += fmt::format("| `{}` | {} | {:.4g} → {:.4g} | {} |\n", l["node"].get<std::string>(),
                                  x["mode"].get<std::string>(), x["rel_error_before"].get<double>(),
                                  x["rel_error_after"].get<double>(), x["bias"].get<std::string>());
        }
    }
    const bool comp = j.contains("compensation");
    if (comp) {
        const json& c = j["compensation"];
        std::snprintf(buf, sizeof buf,
                      "Bias compensation%s on %lld samples of `%s`: %lld of %lld layers that lost input channels "
                      "compensated.\n",
                      c["enabled"].get<bool>() ? "" : " (off)", (long long)c["samples"].get<int64_t>(),
                      c["data"].get<std::string>().c_str(), (long long)c["layers_compensated"].get<int64_t>(),
                      (long long)c["layers_losing_inputs"].get<int64_t>());
        md += std::string("\n") + buf;
    }
    md += std::string("\n| layer | op | pattern | channels | params | zeros | sparsity | MACs | ") +
          (comp ? "inputs removed | bias change | " : "") + "skipped |\n|---|---|---|---|---|---|---|---|---|" +
          (comp ? "---|---|" : "") + "\n";
    for (const auto& l : j["layers"]) {
        std::snprintf(buf, sizeof buf, "%.4f", l["sparsity"].get<double>());
        auto arrow = [](int64_t a, int64_t b) {
            return a == b ? std::to_string(a) : std::to_string(a) + " → " + std::to_string(b);
        };
        std::string macs = l["macs"].is_null() || l["macs_before"].is_null()
                               ? "-"
                               : arrow(l["macs_before"].get<int64_t>(), l["macs"].get<int64_t>());
        md += "| `" + l["node"].get<std::string>() + "` | " + l["op_type"].get<std::string>() + " | " +
              (l["pattern"].is_null() ? "-" : l["pattern"].get<std::string>()) + " | " +
              arrow(l["channels_before"].get<int64_t>(), l["channels_after"].get<int64_t>()) + " | " +
              arrow(l["params_before"].get<int64_t>(), l["params"].get<int64_t>()) + " | " +
              std::to_string(l["zeros"].get<int64_t>()) + " | " + buf + " | " + macs + " | ";
        if (comp) {
            char cb[64];
            std::snprintf(cb, sizeof cb, "%.4g", l["bias_change"].get<double>());
            std::string cell = l["compensated"].get<bool>() ? std::string(cb) : "-";
            if (!l["compensated"].get<bool>() && !l["compensation_note"].is_null())
                cell = "not compensated: " + l["compensation_note"].get<std::string>();
            md += std::to_string(l["input_channels_removed"].get<int64_t>()) + " | " + cell + " | ";
        }
        md += (l["skipped_reason"].is_null() ? "" : l["skipped_reason"].get<std::string>()) + " |\n";
    }
    if (acc) md += "\n" + report::accuracy_markdown(*acc);
    return md;
}

int run_prune(const Opts& o) {
    prune::PruneOptions po;
    prune::parse_pattern(o.pattern, po);
    HQ_CHECK(o.scope == "layer" || o.scope == "global", "--scope '", o.scope, "': expected layer or global");
    po.scope = o.scope == "global" ? prune::Scope::Global : prune::Scope::Layer;
    HQ_CHECK(po.pattern != prune::Pattern::NM || po.scope == prune::Scope::Layer,
             "--scope global applies to --pattern unstructured only (N:M prunes every group alike)");
    po.sparsity = o.sparsity;
    po.min_keep = o.min_keep;
    po.exclude = o.exclude;
    po.include_ends = o.include_ends;
    // Default ranking: the filters' L1 norm; with --data the channels' measured effect (activation), which kept the
    // bundled model's accuracy far better (README).
    std::string criterion = o.criterion;
    if (criterion.empty()) criterion = o.data.empty() || (po.pattern != prune::Pattern::Channel && o.plan_in.empty()) ? "l1" : "activation";
    po.criterion = prune::parse_criterion(criterion, "--criterion");
    const prune::PruneTarget* target = o.target.empty() ? nullptr : &prune::find_prune_target(o.target);
    HQ_CHECK(o.channel_multiple >= 1, "--channel-multiple ", o.channel_multiple, ": expected an integer >= 1");
    po.channel_multiple = o.channel_multiple_given || !target ? o.channel_multiple : target->channel_multiple;
    if (target && !o.channel_multiple_given && po.pattern == prune::Pattern::Channel)
        spdlog::info("--target {}: kept channels rounded up to multiples of {} ({})", target->name,
                     po.channel_multiple, target->channel_reason);
    if (target && po.pattern == prune::Pattern::NM && !target->sparse_matrix_units)
        spdlog::warn("--target {}: {}; channel pruning is what makes this engine faster", target->name,
                     target->sparse_note);
    HQ_CHECK(o.damp > 0 && o.damp < 10, "--damp ", o.damp, ": expected a small positive fraction (default 0.01)");
    HQ_CHECK(o.plan_in.empty() || po.scope == prune::Scope::Layer,
             "--plan gives every layer its own sparsity: it cannot be combined with --scope global");
    HQ_CHECK(o.labels.empty() || !o.eval_data.empty(), "--labels needs --eval-data DIR");
    HQ_CHECK(o.data.empty() || po.pattern == prune::Pattern::Channel || !o.plan_in.empty() || !o.no_reconstruct,
             "--data with --pattern ", o.pattern,
             " is used for layer-wise reconstruction only: --no-reconstruct leaves it nothing to do");
    HQ_CHECK(!o.no_compensation || !o.data.empty(), "--no-compensation needs --data");
    HQ_CHECK(!o.no_reconstruct || !o.data.empty(), "--no-reconstruct needs --data");
    const bool reconstruct = !o.data.empty() && !o.no_reconstruct;
    std::optional<prune::PrunePlan> plan;
    if (!o.plan_in.empty()) plan = prune::PrunePlan::from_json(read_file(o.plan_in, (size_t)64 << 20), o.plan_in);
    check_writable(o.out);
    if (!o.plan_out.empty()) check_writable(o.plan_out);
    for (const auto& r : o.reports) {
        check_writable(r);
        bool ok = (r.size() > 5 && r.compare(r.size() - 5, 5, ".json") == 0) ||
                  (r.size() > 3 && r.compare(r.size() - 3, 3, ".md") == 0);
        HQ_CHECK(ok, "--report ", r, ": unknown format (use .json or .md)");
    }

    std::map<std::string, Shape> shapes;
    for (const auto& s : o.run.shapes) shapes.insert(parse_shape_arg(s));
    graph::Model m = load_and_prepare(o.model, shapes, true);
    if (plan) prune::use_plan(*plan, m, po, o.plan_in);
    HQ_CHECK(po.criterion != prune::Criterion::Activation || !o.data.empty(),
             "--criterion activation ranks channels by their effect measured on calibration data: give --data DIR");
    const graph::Model reference = m;
    prune::ChannelStats stats;
    int64_t data_samples = 0;
    std::optional<calib::DataSource> data;
    if (!o.data.empty()) {
        data.emplace(o.data, m.graph.inputs, o.run.image_options());
        data_samples = (int64_t)data->size();
        if (o.samples > 0) data_samples = std::min(data_samples, o.samples);
    }
    bool uses_stats = po.pattern == prune::Pattern::Channel;
    for (const auto& [name, lp] : po.plan) uses_stats |= lp.pattern == "channel";
    if (data && uses_stats) {
        auto backend = select_device(o.run);
        stats = activation_stats(m, *data, *backend, prune::layer_input_axes(m), o.samples);
        log_backend_summary(*backend);
        po.stats = &stats;
        // Reconstruction re-fits every reader's weights and bias on the data: folding the means in first would
        // count them twice where the fitted bias lands in a MatMul's bias Add.
        po.compensate = !o.no_compensation && !reconstruct;
    }
    prune::PruneResult before = prune::layer_stats(m);
    const int64_t params_before = prune::nonzero_parameters(m), params_total = prune::total_parameters(m);
    prune::PruneResult after = prune::prune_model(m, po);
    std::optional<ReconstructSummary> rec;
    if (reconstruct) {
        auto backend = select_device(o.run);
        rec = reconstruct_layers(reference, m, after, *data, *backend, o.samples, o.damp);
        // Zeros stay where the fit put them (exact counts / N:M groups); refresh the per-layer numbers.
        prune::PruneResult now = prune::layer_stats(m);
        HQ_ASSERT(now.layers.size() == after.layers.size(), "reconstruction changed the prunable layers");
        for (size_t i = 0; i < now.layers.size(); ++i) {
            after.layers[i].zeros = now.layers[i].zeros;
            after.layers[i].sparsity = now.layers[i].sparsity;
            after.layers[i].nonzero_macs = now.layers[i].nonzero_macs;
        }
        int64_t fitted = 0;
        for (const auto& r : rec->layers) fitted += r.skipped_reason.empty();
        spdlog::info("reconstructed {} of {} layers on {} samples ({} waves)", fitted, rec->layers.size(),
                     rec->samples, rec->waves);
    }
    const int64_t params_after = prune::nonzero_parameters(m), params_total_after = prune::total_parameters(m);
    bool shapes_changed = false;
    for (const auto& l : after.layers) shapes_changed |= !l.removed_channels.empty();
    for (const auto& l : after.layers)
        if (!l.skipped_reason.empty()) spdlog::debug("{} '{}' not pruned: {}", l.op_type, l.node, l.skipped_reason);

    std::optional<calib::AccuracySummary> acc;
    if (!o.eval_data.empty()) {
        calib::DataSource data(o.eval_data, m.graph.inputs, o.run.image_options());
        calib::EvaluateOptions eo;
        if (!o.labels.empty()) eo.labels = calib::read_labels(o.labels);
        eo.max_samples = o.samples;
        // Removed channels change the shapes of the layers' tensors: only the outputs can be compared.
        if (shapes_changed) eo.layer_samples = 0;
        auto backend = select_device(o.run);
        acc = calib::evaluate_models(reference, m, data, *backend, eo);
        log_backend_summary(*backend);
        acc->kind = "evaluate";
        acc->reference = o.model;
        acc->candidate = o.out;
        acc->data = o.eval_data;
        acc->labels = o.labels;
        acc->command = command_line();
        acc->drop = calib::budget_drop(*acc, acc->budget_metric);
        if (shapes_changed)
            acc->notes.push_back(
                "channel pruning changed tensor shapes inside the model: layer-wise comparison skipped");
    }

    m.producer_name = "hyquant";
    m.producer_version = HYQUANT_VERSION;
    json meta{{"version", HYQUANT_VERSION},
              {"command", command_line()},
              {"pattern", prune::pattern_name(po)},
              {"scope", o.scope},
              {"sparsity", po.sparsity}};
    if (po.pattern == prune::Pattern::Channel) {
        meta["criterion"] = prune::criterion_name(po.criterion);
        meta["channel_multiple"] = po.channel_multiple;
    }
    if (!o.plan_in.empty()) meta["plan"] = o.plan_in;
    if (!o.data.empty()) {
        meta["data"] = o.data;
        meta["data_samples"] = data_samples;
        meta["bias_compensation"] = po.compensate;
        meta["reconstruction"] = reconstruct;
    }
    if (target) meta["target"] = target->name;
    m.set_metadata("hyquant_prune", meta.dump());
    onnx_io::check_model(m, o.out + " (model being written)");

    std::error_code ec;
    uintmax_t bytes_in = fs::file_size(o.model, ec);
    // The model and its reports appear together: the model is saved atomically first, reports next; a failure
    // while writing the reports removes the model again.
    onnx_io::save_model(m, o.out);
    json j;
    try {
        uintmax_t bytes_out = fs::file_size(o.out, ec);
        j = report_json(o, po, before, after, params_before, params_after, params_total, params_total_after, bytes_in,
                        bytes_out, acc, data_samples, rec, target);
        AtomicWriteSet w;
        if (!o.plan_out.empty()) w.add(o.plan_out, prune::applied_plan(po, after).to_json());
        for (const auto& r : o.reports) {
            if (r.size() > 5 && r.compare(r.size() - 5, 5, ".json") == 0)
                w.add(r, j.dump(2) + "\n");
            else
                w.add(r, report_markdown(j, acc));
        }
        w.commit();
    } catch (...) {
        std::remove(o.out.c_str());
        throw;
    }
    if (acc) print_accuracy(*acc);
    // Summary (last lines): what was written and what it cost.
    const std::string size = fmt::format("{} -> {} bytes", j["size_bytes"]["input"].get<uintmax_t>(),
                                         j["size_bytes"]["output"].get<uintmax_t>());
    if (j.contains("channel_sparsity"))
        spdlog::info("wrote {}: {} layers pruned ({} kept as they were), output channels {} -> {}, parameters {} "
                     "-> {}, MACs {} -> {}, {}",
                     o.out, j["layers_pruned"].get<int64_t>(), j["layers_skipped"].get<int64_t>(),
                     j["channels_before"].get<int64_t>(), j["channels_after"].get<int64_t>(), params_total,
                     params_total_after, fmt_opt(j["macs_before"]), fmt_opt(j["macs_after"]), size);
    else
        spdlog::info("wrote {}: {} pruned layers at sparsity {:.4f} ({} layers kept as they were); nonzero "
                     "parameters {} -> {}, {}",
                     o.out, j["layers_pruned"].get<int64_t>(), j["layer_sparsity"].get<double>(),
                     j["layers_skipped"].get<int64_t>(), params_before, params_after, size);
    std::vector<std::string> extra = o.reports;
    if (!o.plan_out.empty()) extra.insert(extra.begin(), o.plan_out);
    if (acc || !extra.empty())
        spdlog::info("{}{}{}", acc ? fmt::format("evaluated on {} samples: {}", acc->samples, accuracy_clause(*acc)) : "",
                     acc && !extra.empty() ? "; " : "", extra.empty() ? "" : "also wrote " + join_list(extra));
    if (o.print_json) {
        Json sj{{"command", "prune"}, {"output", o.out}, {"model", o.model}, {"pattern", j["pattern"]}};
        for (const char* k : {"layers_pruned", "layers_skipped", "layer_sparsity", "channels_before", "channels_after",
                              "channel_sparsity", "parameters_total", "parameters_total_after", "parameters_before",
                              "parameters_after", "macs_before", "macs_after", "size_bytes", "reconstruction", "target"})
            if (j.contains(k)) sj[k] = j[k];
        sj["plan_out"] = o.plan_out.empty() ? Json(nullptr) : Json(o.plan_out);
        sj["reports"] = o.reports;
        sj["accuracy"] = acc ? accuracy_summary_json(*acc) : Json(nullptr);
        print_json(sj);
    }
    return 0;
}

}  // namespace

void add_prune(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand(
        "prune",
        "Magnitude pruning: unstructured (per layer or global), N:M (2:4) or channel (removes output channels)");
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file")->required();
    cmd->add_option("-o,--output", o->out, "Pruned model to write")->required();
    cmd->add_option("--sparsity", o->sparsity,
                    "Fraction in [0, 1) of weights zeroed (unstructured) or of output channels removed (channel); "
                    "default 0.5");
    cmd->add_option("--pattern", o->pattern,
                    "unstructured (default), channel (remove output channels), or N:M, e.g. 2:4 along the input "
                    "channels");
    cmd->add_option("--criterion", o->criterion,
                    "channel: rank output channels by the l1 or l2 norm of their filters, or by their effect on the "
                    "layers reading them measured on --data (activation); default l1, activation with --data")
        ->check(CLI::IsMember({"l1", "l2", "activation"}));
    cmd->add_option("--data", o->data,
                    "Calibration samples: every pruned layer (and every reader of removed channels) is re-fitted to "
                    "reproduce the dense layer's output on them (layer-wise reconstruction; SparseGPT-style mask "
                    "choice for unstructured/N:M); channel: also the activation criterion");
    cmd->add_flag("--no-reconstruct", o->no_reconstruct,
                  "With --data: no layer-wise reconstruction (channel: bias compensation of the removed channels' "
                  "means instead)");
    cmd->add_option("--damp", o->damp, "Reconstruction: ridge λ as a fraction of the mean Gram diagonal (0.01)");
    cmd->add_flag("--no-compensation", o->no_compensation,
                  "With --data --no-reconstruct: measure the activations (for --criterion activation) but do not "
                  "compensate biases");
    cmd->add_option("--target", o->target,
                    "Engine the model is for (dcu, ort-cpu, tensorrt, generic): default channel multiple, N:M "
                    "warning, predicted speed-up and engine-friendly layers in the report")
        ->check(CLI::IsMember(prune::prune_target_names()));
    auto* cm = cmd->add_option("--channel-multiple", o->channel_multiple,
                    "channel: round the kept channels of each layer up to a multiple of K (default: the target's; 1)");
    cmd->add_option("--plan", o->plan_in, "Per-layer patterns and sparsities (JSON, as written by --plan-out)");
    cmd->add_option("--plan-out", o->plan_out, "Write the plan that was applied (JSON)");
    cmd->add_option("--scope", o->scope, "layer (same sparsity in every layer, default) or global (one threshold)")
        ->check(CLI::IsMember({"layer", "global"}));
    cmd->add_option("--min-keep", o->min_keep,
                    "global scope: every layer keeps at least this fraction of its weights/channels (default 0.1)");
    cmd->add_option("--exclude", o->exclude, "Leave these nodes (names or op types) dense; repeatable");
    cmd->add_flag("--include-ends", o->include_ends, "Also prune the first and the last layer (kept by default)");
    cmd->add_option("--report", o->reports, "Write a report: R.json or R.md; repeatable");
    cmd->add_flag("--json", o->print_json, "Also print the summary as JSON on stdout");
    cmd->add_option("--eval-data", o->eval_data, "Evaluate the pruned model against the original on this folder");
    cmd->add_option("--labels", o->labels, "Labels of --eval-data: one integer class per line, in sample order");
    cmd->add_option("--samples", o->samples, "Use at most N samples of --data and of --eval-data");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o, cm] {
        o->channel_multiple_given = cm->count() > 0;
        action = [o] { return run_prune(*o); };
    });
}

}  // namespace hq::app
