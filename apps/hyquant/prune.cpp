// hyquant prune: magnitude pruning (unstructured per layer or global, N:M) of a model's weights, written with
// a JSON/Markdown report of the sparsity per layer, parameters and MACs, and optionally the accuracy drop.
#include "prune/prune.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/evaluate.h"
#include "core/error.h"
#include "core/fileio.h"
#include "exec/cpu/cpu_backend.h"
#include "onnx_io/onnx_io.h"
#include "report/eval_report.h"

namespace fs = std::filesystem;

namespace hq::app {

namespace {

using json = nlohmann::ordered_json;

struct Opts {
    std::string model, out, pattern = "unstructured", scope = "layer", eval_data, labels;
    double sparsity = 0.5, min_keep = 0.1;
    bool include_ends = false;
    int64_t samples = 0;
    std::vector<std::string> exclude, reports;
    RunOptions run;
};

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
                 uintmax_t bytes_in, uintmax_t bytes_out, const std::optional<calib::AccuracySummary>& acc) {
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
    if (po.pattern == prune::Pattern::Unstructured && po.scope == prune::Scope::Global) j["min_keep"] = po.min_keep;
    j["include_ends"] = po.include_ends;
    json layers = json::array();
    int64_t lp = 0, lz = 0;
    for (const auto& l : after.layers) {
        json lj{{"node", l.node},     {"op_type", l.op_type}, {"weight", l.weight},
                {"params", l.params}, {"zeros", l.zeros},     {"sparsity", l.sparsity}};
        lj["skipped_reason"] = l.skipped_reason.empty() ? json(nullptr) : json(l.skipped_reason);
        lj["macs"] = opt_json(l.macs);
        lj["nonzero_macs"] = opt_json(l.nonzero_macs);
        layers.push_back(lj);
        if (!l.skipped_reason.empty()) continue;
        lp += l.params;
        lz += l.zeros;
    }
    j["layers"] = layers;
    j["layer_sparsity"] = lp ? (double)lz / (double)lp : 0.0;
    j["parameters_total"] = params_total;
    j["parameters_before"] = params_before;  // nonzero
    j["parameters_after"] = params_after;    // nonzero
    Totals tb = totals(before), ta = totals(after);
    j["macs_before"] = opt_json(tb.macs);
    j["macs_after"] = opt_json(ta.macs);
    j["nonzero_macs_before"] = opt_json(tb.nonzero_macs);
    j["nonzero_macs_after"] = opt_json(ta.nonzero_macs);
    j["size_bytes"] = {{"input", bytes_in}, {"output", bytes_out}};
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
    std::snprintf(buf, sizeof buf,
                  "Pattern **%s**, scope %s, target sparsity %.3f; achieved %.4f over the pruned-layer "
                  "weights.\n\n",
                  j["pattern"].get<std::string>().c_str(), j["scope"].get<std::string>().c_str(),
                  j["target_sparsity"].get<double>(), j["layer_sparsity"].get<double>());
    md += buf;
    md += "| | before | after |\n|---|---|---|\n";
    md += "| nonzero parameters | " + std::to_string(j["parameters_before"].get<int64_t>()) + " | " +
          std::to_string(j["parameters_after"].get<int64_t>()) + " |\n";
    md += "| MACs (dense) | " + fmt_opt(j["macs_before"]) + " | " + fmt_opt(j["macs_after"]) + " |\n";
    md += "| MACs (nonzero weights) | " + fmt_opt(j["nonzero_macs_before"]) + " | " + fmt_opt(j["nonzero_macs_after"]) +
          " |\n";
    md += "| file size (bytes) | " + std::to_string(j["size_bytes"]["input"].get<uintmax_t>()) + " | " +
          std::to_string(j["size_bytes"]["output"].get<uintmax_t>()) + " |\n";
    md += "\n| layer | op | params | zeros | sparsity | skipped |\n|---|---|---|---|---|---|\n";
    for (const auto& l : j["layers"]) {
        std::snprintf(buf, sizeof buf, "%.4f", l["sparsity"].get<double>());
        md += "| `" + l["node"].get<std::string>() + "` | " + l["op_type"].get<std::string>() + " | " +
              std::to_string(l["params"].get<int64_t>()) + " | " + std::to_string(l["zeros"].get<int64_t>()) + " | " +
              buf + " | " + (l["skipped_reason"].is_null() ? "" : l["skipped_reason"].get<std::string>()) + " |\n";
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
    HQ_CHECK(o.labels.empty() || !o.eval_data.empty(), "--labels needs --eval-data DIR");
    check_writable(o.out);
    for (const auto& r : o.reports) {
        check_writable(r);
        bool ok = (r.size() > 5 && r.compare(r.size() - 5, 5, ".json") == 0) ||
                  (r.size() > 3 && r.compare(r.size() - 3, 3, ".md") == 0);
        HQ_CHECK(ok, "--report ", r, ": unknown format (use .json or .md)");
    }

    std::map<std::string, Shape> shapes;
    for (const auto& s : o.run.shapes) shapes.insert(parse_shape_arg(s));
    graph::Model m = load_and_prepare(o.model, shapes, true);
    const graph::Model reference = m;
    prune::PruneResult before = prune::layer_stats(m);
    const int64_t params_before = prune::nonzero_parameters(m), params_total = prune::total_parameters(m);
    prune::PruneResult after = prune::prune_model(m, po);
    const int64_t params_after = prune::nonzero_parameters(m);
    for (const auto& l : after.layers)
        if (!l.skipped_reason.empty()) spdlog::debug("{} '{}' not pruned: {}", l.op_type, l.node, l.skipped_reason);

    std::optional<calib::AccuracySummary> acc;
    if (!o.eval_data.empty()) {
        calib::DataSource data(o.eval_data, m.graph.inputs, o.run.image_options());
        calib::EvaluateOptions eo;
        if (!o.labels.empty()) eo.labels = calib::read_labels(o.labels);
        eo.max_samples = o.samples;
        auto backend = select_device(o.run);
        acc = calib::evaluate_models(reference, m, data, *backend, eo);
        acc->kind = "evaluate";
        acc->reference = o.model;
        acc->candidate = o.out;
        acc->data = o.eval_data;
        acc->labels = o.labels;
        acc->command = command_line();
        acc->drop = calib::budget_drop(*acc, acc->budget_metric);
    }

    m.producer_name = "hyquant";
    m.producer_version = HYQUANT_VERSION;
    json meta{{"version", HYQUANT_VERSION},
              {"command", command_line()},
              {"pattern", prune::pattern_name(po)},
              {"scope", o.scope},
              {"sparsity", po.sparsity}};
    m.set_metadata("hyquant_prune", meta.dump());
    onnx_io::check_model(m, o.out + " (model being written)");

    std::error_code ec;
    uintmax_t bytes_in = fs::file_size(o.model, ec);
    // The model and its reports appear together: the model is saved atomically first, reports next; a failure
    // while writing the reports removes the model again.
    onnx_io::save_model(m, o.out);
    try {
        uintmax_t bytes_out = fs::file_size(o.out, ec);
        json j = report_json(o, po, before, after, params_before, params_after, params_total, bytes_in, bytes_out, acc);
        AtomicWriteSet w;
        for (const auto& r : o.reports) {
            if (r.size() > 5 && r.compare(r.size() - 5, 5, ".json") == 0)
                w.add(r, j.dump(2) + "\n");
            else
                w.add(r, report_markdown(j, acc));
        }
        w.commit();
        int64_t lp = 0, lz = 0;
        for (const auto& l : after.layers)
            if (l.skipped_reason.empty()) {
                lp += l.params;
                lz += l.zeros;
            }
        spdlog::info(
            "wrote {}: {} pruned layers at sparsity {:.4f} ({} layers kept dense); nonzero parameters {} -> {}", o.out,
            std::count_if(after.layers.begin(), after.layers.end(),
                          [](const prune::LayerResult& l) { return l.skipped_reason.empty(); }),
            lp ? (double)lz / (double)lp : 0.0,
            std::count_if(after.layers.begin(), after.layers.end(),
                          [](const prune::LayerResult& l) { return !l.skipped_reason.empty(); }),
            params_before, params_after);
    } catch (...) {
        std::remove(o.out.c_str());
        throw;
    }
    if (acc) print_accuracy(*acc);
    return 0;
}

}  // namespace

void add_prune(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("prune", "Magnitude pruning: unstructured (per layer or global) or N:M (2:4)");
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file")->required();
    cmd->add_option("-o,--output", o->out, "Pruned model to write")->required();
    cmd->add_option("--sparsity", o->sparsity, "Fraction of weights zeroed, in [0, 1) (unstructured; default 0.5)");
    cmd->add_option("--pattern", o->pattern, "unstructured (default) or N:M, e.g. 2:4 along the input channels");
    cmd->add_option("--scope", o->scope, "layer (same sparsity in every layer, default) or global (one threshold)")
        ->check(CLI::IsMember({"layer", "global"}));
    cmd->add_option("--min-keep", o->min_keep, "global scope: every layer keeps at least this fraction (default 0.1)");
    cmd->add_option("--exclude", o->exclude, "Leave these nodes (names or op types) dense; repeatable");
    cmd->add_flag("--include-ends", o->include_ends, "Also prune the first and the last layer (kept by default)");
    cmd->add_option("--report", o->reports, "Write a report: R.json or R.md; repeatable");
    cmd->add_option("--eval-data", o->eval_data, "Evaluate the pruned model against the original on this folder");
    cmd->add_option("--labels", o->labels, "Labels of --eval-data: one integer class per line, in sample order");
    cmd->add_option("--samples", o->samples, "Evaluate at most N samples");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o] { action = [o] { return run_prune(*o); }; });
}

}  // namespace hq::app
