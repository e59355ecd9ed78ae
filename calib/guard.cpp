#include "calib/guard.h"

#include "calib/budget_search.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace hq::calib {

const OutputMetrics* worst_output(const AccuracySummary& s) {
    const OutputMetrics* w = nullptr;
    for (const auto& o : s.outputs)
        if (!w || o.sqnr_db < w->sqnr_db) w = &o;
    return w;
}

GuardResult run_guard(const graph::Model& reference, quant::Plan plan,
                      const std::function<graph::Model(const quant::Plan&)>& build, const DataSource& eval,
                      EvaluateOptions eo, const GuardOptions& opt, const exec::Backend& backend) {
    GuardResult r;
    auto measure = [&](const quant::Plan& p, bool layerwise) {
        EvaluateOptions e = eo;
        e.layer_samples = layerwise ? opt.layer_samples : 0;
        ++r.evaluations;
        agree_on_plan(p, "guard evaluation " + std::to_string(r.evaluations));
        return evaluate_models(reference, build(p), eval, backend, e);
    };
    auto worst = [](const AccuracySummary& s) {
        const OutputMetrics* w = worst_output(s);
        return w ? w->sqnr_db : 200.0;
    };
    auto holds = [&](const AccuracySummary& s) { return worst(s) >= opt.min_sqnr_db; };

    AccuracySummary s = measure(plan, true);
    r.initial_worst_sqnr_db = worst(s);
    if (opt.min_sqnr_db > 0 && !holds(s)) {
        const OutputMetrics* w0 = worst_output(s);
        char why[256];
        std::snprintf(why, sizeof why, "output '%s' at %.1f dB < --guard-sqnr %.1f dB", w0->name.c_str(), w0->sqnr_db,
                      opt.min_sqnr_db);
        spdlog::warn("guard: {}; repairing (moving the layers that add the most error to {})", why,
                     quant::precision_name(opt.fallback));
        // Moves layers at `from` to `to`, the ones adding the most error in `base` first (lowest added SQNR;
        // unmeasured ones last), in doubling groups until the guard holds; returns them in the order moved.
        auto move = [&](quant::Precision from, quant::Precision to, const AccuracySummary& base,
                        const std::string& reason) {
            std::map<std::string, double> added;
            for (const auto& l : base.layers) added[l.node] = l.added_sqnr_db;
            std::vector<size_t> order;
            for (size_t i = 0; i < plan.layers.size(); ++i)
                if (plan.layers[i].precision == from) order.push_back(i);
            std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
                auto va = added.count(plan.layers[a].node) ? added[plan.layers[a].node] : 1e9;
                auto vb = added.count(plan.layers[b].node) ? added[plan.layers[b].node] : 1e9;
                return va < vb;
            });
            std::vector<size_t> moved;
            size_t next = 0, group = 1;
            while (!holds(s) && next < order.size()) {
                for (size_t k = 0; k < group && next < order.size(); ++k, ++next) {
                    auto& l = plan.layers[order[next]];
                    l.precision = to;
                    char buf[400];
                    if (added.count(l.node))
                        std::snprintf(buf, sizeof buf, "guard: moved to %s (%s; this layer adds error at %.1f dB)",
                                      quant::precision_name(to).c_str(), reason.c_str(), added[l.node]);
                    else
                        std::snprintf(buf, sizeof buf, "guard: moved to %s (%s)", quant::precision_name(to).c_str(),
                                      reason.c_str());
                    l.reason = buf;
                    moved.push_back(order[next]);
                }
                s = measure(plan, false);
                spdlog::info("guard: {} layers at {}: worst output {:.1f} dB", moved.size(), quant::precision_name(to),
                             worst(s));
                group *= 2;
            }
            return moved;
        };
        // Tries each of `moved` back to `back` (the last moved -- least harmful -- first), keeping what holds.
        auto try_back = [&](const std::vector<size_t>& moved, quant::Precision back) {
            for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
                quant::Plan trial = plan;
                auto& l = trial.layers[*it];
                if (l.precision == back) continue;
                l.precision = back;
                l.reason = "guard: back to " + quant::precision_name(back) + " (the guard holds with it)";
                AccuracySummary t = measure(trial, false);
                if (holds(t)) {
                    plan = trial;
                    s = t;
                }
            }
        };
        std::vector<size_t> moved = move(quant::Precision::Int8, opt.fallback, s, why);
        if (!holds(s) && opt.fallback != quant::Precision::Fp32) {
            // Even every layer at the fallback does not hold (a layer the fallback's own rounding breaks, e.g. an
            // STFT basis in FP16): move layers on to FP32, ranked by their error at the fallback.
            spdlog::warn("guard: still below {:.1f} dB with every layer at {}; moving layers to fp32",
                         opt.min_sqnr_db, quant::precision_name(opt.fallback));
            const AccuracySummary at_fallback = measure(plan, true);
            s = at_fallback;
            const std::vector<size_t> to_fp32 = move(opt.fallback, quant::Precision::Fp32, at_fallback,
                                                     std::string(why) + ", and at " +
                                                         quant::precision_name(opt.fallback) + " too");
            if (holds(s)) try_back(to_fp32, opt.fallback);
            for (size_t i : to_fp32)
                if (std::find(moved.begin(), moved.end(), i) == moved.end()) moved.push_back(i);
        }
        if (holds(s)) try_back(moved, quant::Precision::Int8);
        for (size_t i : moved)
            if (plan.layers[i].precision != quant::Precision::Int8) r.moved.push_back(plan.layers[i].node);
        s = measure(plan, true);  // final, with the layer-wise comparison
    }
    r.met = opt.min_sqnr_db <= 0 || holds(s);
    const OutputMetrics* w = worst_output(s);
    r.worst_output = w ? w->name : "";
    r.worst_sqnr_db = worst(s);
    r.summary = s;
    r.plan = plan;
    return r;
}

}  // namespace hq::calib
