#include "report/quant_report.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/error.h"
#include "core/fileio.h"
#include "report/eval_report.h"

namespace hq::report {

using json = nlohmann::ordered_json;

static bool k_kept(const std::map<std::string, std::string>& kept, const quant::LayerPlan& l) {
    return kept.count(l.node) != 0;
}

static json layer_json(const quant::LayerPlan& l, const quant::QdqReport& q,
                       const std::map<std::string, std::string>& kept) {
    json j{{"node", l.node}, {"op_type", l.op_type}, {"precision", quant::precision_name(l.precision)}};
    j["sensitivity_db"] = l.sensitivity_db ? json(*l.sensitivity_db) : json(nullptr);
    j["reason"] = l.reason;
    auto k = kept.find(l.node);
    if (k != kept.end()) {
        j["precision"] = "fp32";
        j["reason"] = "kept FP32: " + k->second;
    }
    // What the target engine runs it as (INT8 layers: from the placement; float layers: the float op).
    auto kit = q.placement.kernel.find(l.node);
    j["engine_kernel"] = kit != q.placement.kernel.end() && l.precision == quant::Precision::Int8 && !k_kept(kept, l)
                             ? kit->second
                             : l.op_type + " (" + (k != kept.end() ? std::string("fp32") : quant::precision_name(l.precision)) + ")";
    for (const auto& ql : q.layers) {
        if (ql.node != l.node) continue;
        j["input"] = ql.activation;
        j["input_scale"] = ql.input.scale;
        j["input_zero_point"] = ql.input.zero_point;
        float mn = ql.weight_scales.empty() ? 0 : ql.weight_scales[0], mx = mn;
        for (float s : ql.weight_scales) {
            mn = std::min(mn, s);
            mx = std::max(mx, s);
        }
        j["weight_scale_min"] = mn;
        j["weight_scale_max"] = mx;
        j["weight_axis"] = ql.weight_axis;
        j["bias_int32"] = ql.bias_quantized;
        j["bias_widened_weight_scale"] = ql.bias_widened;
    }
    return j;
}

std::string quantize_json(const QuantizeSummary& s, const calib::AccuracySummary* accuracy) {
    json j;
    j["schema"] = 1;
    j["kind"] = "quantize";
    j["tool"] = "hyquant " HYQUANT_VERSION;
    j["model"] = s.model;
    j["output"] = s.output;
    j["command"] = s.command;
    j["precision"] = s.precision;
    j["activation_type"] = s.activation_type;
    j["per_channel"] = s.per_channel;
    j["target"] = s.target;
    j["engine"] = s.engine;
    j["calibration"] = {{"method", s.method}, {"samples", s.calibration_samples}};
    if (!s.range_methods.empty()) j["calibration"]["range_methods"] = s.range_methods;
    j["opset"] = {{"input", s.opset_in}, {"output", s.opset_out}};
    j["size_bytes"] = {{"input", s.bytes_in}, {"output", s.bytes_out},
                       {"ratio", s.bytes_in ? (double)s.bytes_out / (double)s.bytes_in : 0.0}};
    std::map<std::string, int> counts;
    json layers = json::array();
    for (const auto& l : s.plan.layers) {
        json lj = layer_json(l, s.qdq, s.fp16_kept_fp32);
        counts[lj["precision"].get<std::string>()]++;
        layers.push_back(lj);
    }
    j["precision_counts"] = counts;
    // What the engine will run: per kernel, over weighted layers and the other quantized nodes.
    std::map<std::string, int> kernels;
    for (const auto& l : layers) kernels[l["engine_kernel"].get<std::string>()]++;
    json others = json::array();
    for (const auto& pn : s.qdq.placement.nodes) {
        if (pn.role == "weighted") continue;
        kernels[pn.kernel]++;
        others.push_back({{"node", pn.node}, {"op_type", pn.op_type}, {"role", pn.role}, {"engine_kernel", pn.kernel}});
    }
    j["engine_kernel_counts"] = kernels;
    j["layers"] = layers;
    j["quantized_nodes"] = others;
    j["qdq_pairs"] = s.qdq.placement.pairs.size();
    if (s.guard) {
        const auto& g = *s.guard;
        json outs = json::array();
        for (const auto& o : g.summary.outputs)
            outs.push_back({{"name", o.name}, {"sqnr_db", o.sqnr_db}, {"cosine", o.cosine}, {"max_abs", o.max_abs},
                            {"mean_abs", o.mean_abs}});
        j["guard"] = {{"min_sqnr_db", s.guard_sqnr_db}, {"data", s.guard_data},     {"samples", g.summary.samples},
                      {"met", g.met},                  {"worst_output", g.worst_output},
                      {"worst_sqnr_db", g.worst_sqnr_db}, {"initial_worst_sqnr_db", g.initial_worst_sqnr_db},
                      {"moved", g.moved},              {"evaluations", g.evaluations}, {"outputs", outs}};
    } else {
        j["guard"] = nullptr;
    }
    j["notes"] = s.notes;
    if (accuracy) j["accuracy"] = json::parse(accuracy_json(*accuracy));
    return j.dump(2) + "\n";
}

std::string quantize_markdown(const QuantizeSummary& s, const calib::AccuracySummary* accuracy) {
    json j = json::parse(quantize_json(s));
    std::string md = "## hyquant quantize: `" + s.model + "` → `" + s.output + "`\n\n";
    char buf[256];
    std::snprintf(buf, sizeof buf, "Precision **%s**, activations %s, weights %s, calibration %s over %llu samples.\n\n",
                  s.precision.c_str(), s.activation_type.c_str(), s.per_channel ? "per-channel" : "per-tensor",
                  s.method.c_str(), (unsigned long long)s.calibration_samples);
    md += buf;
    std::snprintf(buf, sizeof buf, "Size: %.1f KiB → %.1f KiB (%.2fx). Opset %lld → %lld.\n\n", s.bytes_in / 1024.0,
                  s.bytes_out / 1024.0, s.bytes_in ? (double)s.bytes_out / s.bytes_in : 0.0, (long long)s.opset_in,
                  (long long)s.opset_out);
    md += buf;
    md += "Target **" + s.target + "** (" + s.engine + ").\n\n";
    md += "| precision | layers |\n|---|---|\n";
    for (auto& [k, v] : j["precision_counts"].items()) md += "| " + k + " | " + std::to_string(v.get<int>()) + " |\n";
    md += "\n| " + s.engine + " runs | nodes |\n|---|---|\n";
    for (auto& [k, v] : j["engine_kernel_counts"].items()) md += "| " + k + " | " + std::to_string(v.get<int>()) + " |\n";
    md += "\n| layer | op | precision | runs as | sensitivity (dB) | reason |\n|---|---|---|---|---|---|\n";
    for (const auto& l : j["layers"]) {
        std::string sens = l["sensitivity_db"].is_null() ? "-" : [&] {
            char b[32];
            std::snprintf(b, sizeof b, "%.1f", l["sensitivity_db"].get<double>());
            return std::string(b);
        }();
        md += "| `" + l["node"].get<std::string>() + "` | " + l["op_type"].get<std::string>() + " | " +
              l["precision"].get<std::string>() + " | " + l["engine_kernel"].get<std::string>() + " | " + sens + " | " +
              l["reason"].get<std::string>() + " |\n";
    }
    if (s.guard) {
        std::snprintf(buf, sizeof buf, "Quality guard (%.1f dB, %lld held-out samples): worst output `%s` at %.1f dB",
                      s.guard_sqnr_db, (long long)s.guard->summary.samples, s.guard->worst_output.c_str(),
                      s.guard->worst_sqnr_db);
        md += buf;
        md += s.guard->moved.empty() ? std::string(".\n\n")
                                     : "; moved " + std::to_string(s.guard->moved.size()) + " layers to the fallback.\n\n";
    }
    for (const auto& n : s.notes) md += "\n> " + n + "\n";
    if (accuracy) md += "\n" + accuracy_markdown(*accuracy);
    return md;
}

void write_quantize_reports(const QuantizeSummary& s, const std::vector<std::string>& paths,
                            const calib::AccuracySummary* accuracy) {
    AtomicWriteSet w;
    for (const auto& p : paths) {
        auto ends = [&](const std::string& ext) {
            return p.size() >= ext.size() && p.compare(p.size() - ext.size(), ext.size(), ext) == 0;
        };
        if (ends(".json")) w.add(p, quantize_json(s, accuracy));
        else if (ends(".md")) w.add(p, quantize_markdown(s, accuracy));
        else HQ_FAIL("--report ", p, ": unknown format (use .json or .md)");
    }
    w.commit();
}

}  // namespace hq::report
