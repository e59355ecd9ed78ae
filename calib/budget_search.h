// Building a quantized candidate from a plan, and the accuracy-budget search over plans.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "calib/accuracy.h"
#include "calib/data_reader.h"
#include "calib/evaluate.h"
#include "exec/backend.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"

namespace hq::calib {

// The rewritten model for a plan: FP16 regions first (they never contain INT8 layers), then QDQ;
// dead code removed and shapes inferred. whole_fp16: every node not excluded goes to FP16.
graph::Model build_candidate(const graph::Model& prepared, const quant::Plan& plan,
                             const std::map<std::string, std::pair<float, float>>& ranges,
                             const std::map<std::string, std::pair<float, float>>& observed,
                             const quant::QdqOptions& qopt, bool whole_fp16, const std::vector<std::string>& exclude,
                             std::map<std::string, std::string>* kept_fp32, quant::QdqReport* qdq);

// Under MPI (dist::size() > 1): every rank must evaluate the same plan at each step of the budget search and the
// guard. Rank 0's plan is broadcast and each rank compares its own with it; a difference (an internal error) makes
// every rank throw. No-op on one rank.
void agree_on_plan(const quant::Plan& plan, const std::string& step);

struct BudgetResult {
    quant::Plan plan;
    AccuracySummary summary;  // the final evaluation, with every search step
    bool met = false;
};

// Accuracy-budget search: from the sensitivity-ranked plan, move the most sensitive INT8 layers to
// FP16 (then FP16 to FP32), doubling the group each step, until the drop (budget_drop) is within
// max_drop; then try each moved layer back one precision step (least sensitive first), keeping it
// where the budget holds. Every evaluation is recorded as a step. Under MPI (eo.distributed with share_result)
// every evaluation is split over the ranks and its result is the same on every rank, so every rank takes the same
// steps (checked at each step by agree_on_plan).
BudgetResult search_budget(const graph::Model& reference, quant::Plan plan,
                           const std::function<graph::Model(const quant::Plan&)>& build,
                           const DataSource& eval, EvaluateOptions eo, double max_drop,
                           const exec::Backend& backend);

}  // namespace hq::calib
