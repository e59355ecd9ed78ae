#include "calib/budget_search.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dist/dist.h"
#include "graph/passes.h"
#include "onnx_io/onnx_io.h"
#include "quant/fp16_rewrite.h"

namespace hq::calib {

// The rewritten model for a plan: FP16 regions first (they never contain INT8 layers), then QDQ.
graph::Model build_candidate(const graph::Model& prepared, const quant::Plan& plan,
                             const std::map<std::string, std::pair<float, float>>& ranges,
                             const std::map<std::string, std::pair<float, float>>& observed,
                             const quant::QdqOptions& qopt, bool whole_fp16, const std::vector<std::string>& exclude,
                             std::map<std::string, std::string>* kept_fp32, quant::QdqReport* qdq) {
    graph::Model m = prepared;  // initializers share storage: cheap
    std::set<std::string> fp16_nodes;
    if (whole_fp16) {
        std::set<std::string> excluded;
        for (const auto& l : plan.layers)
            if (l.precision != quant::Precision::Fp16) excluded.insert(l.node);
        graph::for_each_graph(m.graph, [&](const graph::Graph& g, int) {  // inside subgraphs too
            for (const auto& n : g.nodes) {
                bool ex = excluded.count(n.name) != 0;
                for (const auto& e : exclude) ex |= e == n.name || e == n.op_type;
                if (!ex) fp16_nodes.insert(n.name);
            }
        });
    } else {
        for (const auto& l : plan.layers)
            if (l.precision == quant::Precision::Fp16) fp16_nodes.insert(l.node);
        if (!fp16_nodes.empty()) fp16_nodes = quant::grow_fp16_region(m, fp16_nodes);
    }
    if (!fp16_nodes.empty()) {
        quant::Fp16Report fr = quant::rewrite_fp16(m, fp16_nodes, observed, true);
        if (kept_fp32) *kept_fp32 = fr.kept_fp32;
    }
    quant::QdqOptions q = qopt;
    q.skip.insert(fp16_nodes.begin(), fp16_nodes.end());  // INT8 placement stays out of FP16 regions
    quant::QdqReport r = quant::rewrite_qdq(m, plan, ranges, q);
    if (qdq) *qdq = r;
    graph::eliminate_dead_code(m);
    m.graph.value_info.clear();
    onnx_io::infer_shapes(m);
    return m;
}


void agree_on_plan(const quant::Plan& plan, const std::string& step) {
    if (dist::size() == 1) return;
    const std::string mine = plan.to_json();
    const std::string root = dist::broadcast(dist::is_root() ? mine : std::string());
    std::optional<dist::Failure> f;
    if (root != mine)
        f = dist::Failure{dist::rank(), 1, "internal error: this rank's plan differs from rank 0's at " + step};
    dist::agree_or_throw(f);
}

BudgetResult search_budget(const graph::Model& reference, quant::Plan plan,
                           const std::function<graph::Model(const quant::Plan&)>& build,
                           const DataSource& eval, EvaluateOptions eo, double max_drop,
                           const exec::Backend& backend) {
    std::vector<SearchStep> steps;
    auto measure = [&](const quant::Plan& p, const std::string& action, bool layerwise) {
        agree_on_plan(p, "budget search step " + std::to_string(steps.size()));
        graph::Model cand = build(p);
        EvaluateOptions e = eo;
        e.layer_samples = layerwise ? 8 : 0;
        AccuracySummary s = evaluate_models(reference, cand, eval, backend, e);
        double d = budget_drop(s, s.budget_metric);
        s.drop = d;
        SearchStep st;
        st.index = (int)steps.size();
        st.action = action;
        for (const auto& l : p.layers) {
            st.int8 += l.precision == quant::Precision::Int8;
            st.fp16 += l.precision == quant::Precision::Fp16;
            st.fp32 += l.precision == quant::Precision::Fp32;
        }
        st.metric = d;
        st.within_budget = d <= max_drop + 1e-9;
        if (!action.empty()) steps.push_back(st);
        spdlog::info("budget search step {}: {} -> {:.2f} ({})", st.index, action, d, st.within_budget ? "within" : "over");
        return s;
    };
    // Most sensitive first (lowest SQNR).
    std::vector<size_t> order;
    for (size_t i = 0; i < plan.layers.size(); ++i)
        if (plan.layers[i].precision != quant::Precision::Fp32) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return plan.layers[a].sensitivity_db.value_or(1e9) < plan.layers[b].sensitivity_db.value_or(1e9);
    });
    AccuracySummary s = measure(plan, "start: sensitivity-ranked plan", false);
    std::vector<size_t> moved;
    for (quant::Precision target : {quant::Precision::Fp16, quant::Precision::Fp32}) {
        size_t group = 1;
        while (!(s.drop.value_or(0) <= max_drop + 1e-9)) {
            std::vector<size_t> batch;
            for (size_t i : order)
                if (plan.layers[i].precision < target && batch.size() < group) batch.push_back(i);
            if (batch.empty()) break;
            std::string names;
            for (size_t i : batch) {
                plan.layers[i].precision = target;
                plan.layers[i].reason = "budget search: moved to " + quant::precision_name(target);
                names += (names.empty() ? "" : ", ") + plan.layers[i].node;
                if (std::find(moved.begin(), moved.end(), i) == moved.end()) moved.push_back(i);
            }
            s = measure(plan, names + " -> " + quant::precision_name(target), false);
            group *= 2;
        }
    }
    BudgetResult r;
    r.met = s.drop.value_or(0) <= max_drop + 1e-9;
    if (r.met) {
        // Least sensitive first: try each moved layer one precision step back.
        std::vector<size_t> back(moved.rbegin(), moved.rend());
        for (size_t i : back) {
            while (plan.layers[i].precision != quant::Precision::Int8) {
                quant::Plan trial = plan;
                auto& l = trial.layers[i];
                quant::Precision from = l.precision;
                l.precision = from == quant::Precision::Fp32 ? quant::Precision::Fp16 : quant::Precision::Int8;
                AccuracySummary t =
                    measure(trial, l.node + " " + quant::precision_name(from) + " -> " + quant::precision_name(l.precision), false);
                if (!(t.drop.value_or(0) <= max_drop + 1e-9)) break;
                l.reason = "budget search: kept " + quant::precision_name(l.precision) + " within budget";
                plan = trial;
            }
        }
    }
    r.summary = measure(plan, "", true);  // final, with the layer-wise comparison
    r.summary.steps = steps;
    r.summary.max_drop = max_drop;
    r.summary.budget_ok = r.met;
    r.plan = plan;
    return r;
}

}  // namespace hq::calib
