#include "prune/plan.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace hq::prune {

using json = nlohmann::ordered_json;

Criterion parse_criterion(const std::string& s, const std::string& where) {
    if (s == "l1") return Criterion::L1;
    if (s == "l2") return Criterion::L2;
    if (s == "activation") return Criterion::Activation;
    HQ_FAIL(where, ": criterion '", s, "': expected l1, l2 or activation");
}

std::string criterion_name(Criterion c) {
    if (c == Criterion::Activation) return "activation";
    return c == Criterion::L1 ? "l1" : "l2";
}

std::string PrunePlan::to_json() const {
    json j;
    j["schema"] = kSchema;
    j["kind"] = "prune_plan";
    if (criterion) j["criterion"] = *criterion;
    if (channel_multiple) j["channel_multiple"] = *channel_multiple;
    json ls = json::array();
    for (const auto& l : layers) {
        json e{{"node", l.node}, {"op_type", l.op_type}, {"pattern", l.pattern.empty() ? "skip" : l.pattern}};
        if (l.sparsity) e["sparsity"] = *l.sparsity;
        if (l.channels_before) e["channels_before"] = *l.channels_before;
        if (l.channels_after) e["channels_after"] = *l.channels_after;
        e["reason"] = l.reason;
        ls.push_back(e);
    }
    j["layers"] = ls;
    return j.dump(2) + "\n";
}

PrunePlan PrunePlan::from_json(const std::string& text, const std::string& label) {
    PrunePlan p;
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        HQ_FAIL(label, ": malformed plan: ", e.what());
    }
    HQ_CHECK(j.is_object() && j.value("schema", 0) == kSchema, label, ": not a hyquant prune plan of schema ", kSchema);
    HQ_CHECK(!j.contains("kind") || j["kind"] == "prune_plan", label, ": kind ", j["kind"].dump(),
             " is not a prune plan (\"prune_plan\")");
    try {
        if (j.contains("criterion")) {
            p.criterion = j["criterion"].get<std::string>();
            parse_criterion(*p.criterion, label);
        }
        if (j.contains("channel_multiple")) {
            p.channel_multiple = j["channel_multiple"].get<int64_t>();
            HQ_CHECK(*p.channel_multiple >= 1, label, ": channel_multiple ", *p.channel_multiple,
                     ": expected an integer >= 1");
        }
        HQ_CHECK(j.contains("layers") && j["layers"].is_array(), label, ": no \"layers\" list");
    } catch (const json::exception& e) {
        HQ_FAIL(label, ": malformed plan: ", e.what());
    }
    std::set<std::string> seen;
    size_t k = 0;
    for (const auto& e : j["layers"]) {
        std::string where = label + ": layers[" + std::to_string(k++) + "]";
        PlanEntry l;
        try {
            HQ_CHECK(e.is_object() && e.contains("node") && e["node"].is_string(), where, ": no \"node\" name");
            l.node = e["node"].get<std::string>();
            where += " (node '" + l.node + "')";
            HQ_CHECK(seen.insert(l.node).second, where, ": node listed twice");
            l.op_type = e.value("op_type", "");
            l.reason = e.value("reason", "");
            if (e.contains("pattern") && !e["pattern"].is_null()) l.pattern = e["pattern"].get<std::string>();
            if (e.contains("sparsity") && !e["sparsity"].is_null()) {
                if (e["sparsity"].is_string() && e["sparsity"].get<std::string>() == "skip")
                    l.pattern = "skip";
                else
                    l.sparsity = e["sparsity"].get<double>();
            }
        } catch (const json::exception& ex) {
            HQ_FAIL(where, ": malformed entry: ", ex.what());
        }
        if (!l.pattern.empty() && l.pattern != "skip") {
            PruneOptions po;
            try {
                parse_pattern(l.pattern, po);
            } catch (const Error& ex) {
                HQ_FAIL(where, ": pattern '", l.pattern, "': expected skip, unstructured, channel or N:M (e.g. 2:4)");
            }
        }
        HQ_CHECK(!l.sparsity || (*l.sparsity >= 0 && *l.sparsity < 1), where, ": sparsity ", *l.sparsity,
                 ": expected a fraction in [0, 1)");
        HQ_CHECK(l.pattern == "skip" || !l.pattern.empty() || l.sparsity, where,
                 ": give a \"pattern\" (skip, unstructured, channel, N:M) or a \"sparsity\"");
        p.layers.push_back(l);
    }
    return p;
}

PrunePlan applied_plan(const PruneOptions& o, const PruneResult& r) {
    PrunePlan p;
    bool channel = false;
    for (const auto& l : r.layers) channel |= l.pattern == "channel";
    if (channel) {
        p.criterion = criterion_name(o.criterion);
        p.channel_multiple = o.channel_multiple;
    }
    for (const auto& l : r.layers) {
        PlanEntry e;
        e.node = l.node;
        e.op_type = l.op_type;
        e.pattern = l.pattern.empty() ? "skip" : l.pattern;
        if (l.pattern == "unstructured" || l.pattern == "channel") e.sparsity = l.target;
        if (l.pattern == "channel") {
            e.channels_before = l.channels + (int64_t)l.removed_channels.size();
            e.channels_after = l.channels;
        }
        e.reason = l.skipped_reason.empty() ? "applied" : l.skipped_reason;
        p.layers.push_back(e);
    }
    return p;
}

void use_plan(const PrunePlan& p, const graph::Model& m, PruneOptions& o, const std::string& label) {
    std::set<std::string> layers;
    std::map<std::string, std::string> ops;
    for (const auto& n : m.graph.nodes) {
        ops[n.name] = n.op_type;
        if (n.domain.empty() &&
            (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm" || n.op_type == "MatMul"))
            layers.insert(n.name);
    }
    for (size_t k = 0; k < p.layers.size(); ++k) {
        const PlanEntry& e = p.layers[k];
        std::string where = label + ": layers[" + std::to_string(k) + "]";
        auto op = ops.find(e.node);
        HQ_CHECK(op != ops.end(), where, ": node '", e.node, "' is not in the model");
        HQ_CHECK(layers.count(e.node), where, ": node '", e.node, "' is a ", op->second,
                 ", not a prunable layer (Conv, ConvTranspose, Gemm, MatMul)");
        o.plan[e.node] = PruneOptions::LayerPlan{e.pattern, e.sparsity, e.reason};
    }
    if (p.criterion) o.criterion = parse_criterion(*p.criterion, label);
    if (p.channel_multiple) o.channel_multiple = *p.channel_multiple;
}

}  // namespace hq::prune
