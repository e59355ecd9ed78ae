#include "quant/plan.h"

#include <nlohmann/json.hpp>

#include <set>

#include "core/error.h"
#include "graph/scoped_view.h"
#include "quant/placement.h"
#include "quant/qdq_ops.h"

namespace hq::quant {

using json = nlohmann::ordered_json;

std::string precision_name(Precision p) {
    switch (p) {
        case Precision::Int8: return "int8";
        case Precision::Fp16: return "fp16";
        case Precision::Fp32: return "fp32";
    }
    return "?";
}

Precision parse_precision(const std::string& s, const std::string& where) {
    if (s == "int8") return Precision::Int8;
    if (s == "fp16") return Precision::Fp16;
    if (s == "fp32") return Precision::Fp32;
    HQ_FAIL(where, ": precision '", s, "': expected int8, fp16 or fp32");
}

LayerPlan* Plan::find(const std::string& node) {
    for (auto& l : layers)
        if (l.node == node) return &l;
    return nullptr;
}
const LayerPlan* Plan::find(const std::string& node) const {
    for (const auto& l : layers)
        if (l.node == node) return &l;
    return nullptr;
}

std::string Plan::to_json() const {
    json j;
    j["schema"] = kSchema;
    j["model_fingerprint"] = model_fingerprint;
    if (!target.empty()) j["target"] = target;
    j["activation_type"] = activation_type;
    j["per_channel"] = per_channel;
    j["reduce_range"] = reduce_range;
    j["bias_correction"] = bias_correction;
    j["equalization"] = equalization;
    j["min_sqnr_db"] = min_sqnr_db;
    json ls = json::array();
    for (const auto& l : layers) {
        json e{{"node", l.node}, {"op_type", l.op_type}, {"precision", precision_name(l.precision)}};
        e["sensitivity_db"] = l.sensitivity_db ? json(*l.sensitivity_db) : json(nullptr);
        e["reason"] = l.reason;
        ls.push_back(e);
    }
    j["layers"] = ls;
    return j.dump(2) + "\n";
}

Plan Plan::from_json(const std::string& text, const std::string& label) {
    Plan p;
    try {
        json j = json::parse(text);
        HQ_CHECK(j.value("schema", 0) == kSchema, label, ": not a hyquant precision plan of schema ", kSchema);
        p.model_fingerprint = j.value("model_fingerprint", "");
        p.target = j.value("target", "");
        p.activation_type = j.value("activation_type", "uint8");
        HQ_CHECK(p.activation_type == "uint8" || p.activation_type == "int8", label, ": activation_type '",
                 p.activation_type, "': expected uint8 or int8");
        p.per_channel = j.value("per_channel", true);
        p.reduce_range = j.value("reduce_range", false);
        p.bias_correction = j.value("bias_correction", false);
        p.equalization = j.value("equalization", false);
        p.min_sqnr_db = j.value("min_sqnr_db", 30.0);
        std::set<std::string> seen;
        for (const auto& e : j.at("layers")) {
            LayerPlan l;
            l.node = e.at("node").get<std::string>();
            HQ_CHECK(seen.insert(l.node).second, label, ": node '", l.node, "' is listed twice");
            l.op_type = e.value("op_type", "");
            l.precision = parse_precision(e.at("precision").get<std::string>(), label + ": node '" + l.node + "'");
            if (e.contains("sensitivity_db") && !e["sensitivity_db"].is_null())
                l.sensitivity_db = e["sensitivity_db"].get<double>();
            l.reason = e.value("reason", "from plan");
            p.layers.push_back(l);
        }
    } catch (const json::exception& e) {
        HQ_FAIL(label, ": malformed plan: ", e.what());
    }
    return p;
}

static bool matches(const graph::Node& n, const std::vector<std::string>& exclude) {
    for (const auto& e : exclude)
        if (e == n.name || e == n.op_type) return true;
    return false;
}

Plan initial_plan(const graph::Model& m, Precision precision, const std::vector<std::string>& exclude,
                  bool activation_matmul) {
    Plan p;
    auto add_layers = [&](const graph::Graph& g) {
        for (const auto& n : g.nodes) {
            auto acts = layer_activations(g, n);
            if (acts.empty()) continue;
            const bool act_matmul = acts.size() == 2;
            if (act_matmul && !activation_matmul) continue;
            if (!act_matmul && n.op_type != "MatMul" && !g.is_initializer(n.input(1))) continue;
            LayerPlan l;
            l.node = n.name;
            l.op_type = n.op_type;
            if (matches(n, exclude)) {
                l.precision = Precision::Fp32;
                l.reason = "excluded (--exclude)";
            } else {
                l.precision = precision;
                l.reason = "--precision " + precision_name(precision);
            }
            p.layers.push_back(l);
        }
    };
    // Layers of every graph: inside If branches and Loop/Scan bodies too (weights may be outer-scope constants).
    graph::for_each_graph_view(m, [&](const graph::Model& v, const std::string&) { add_layers(v.graph); });
    return p;
}

}  // namespace hq::quant
