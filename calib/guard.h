// The quality guard of `quantize` (SPEC.md "Quality guard"): evaluates a candidate against the FP32 model on
// samples it was not calibrated on and, when an output falls below the guard's SQNR, repairs the plan by
// moving the layers that add the most error to the target's fallback precision, then tries them back.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "calib/accuracy.h"
#include "calib/data_reader.h"
#include "calib/evaluate.h"
#include "exec/backend.h"
#include "quant/plan.h"

namespace hq::calib {

struct GuardOptions {
    double min_sqnr_db = 12.0;                       // every output must reach this (dB); <= 0 disables
    quant::Precision fallback = quant::Precision::Fp32;  // where moved layers go (the target's)
    int64_t layer_samples = 8;                       // samples for the layer-wise error ranking
};

struct GuardResult {
    quant::Plan plan;            // repaired (or as given when it already held)
    AccuracySummary summary;     // the final candidate's evaluation
    bool met = true;
    std::vector<std::string> moved;  // layers the guard left at the fallback precision
    std::string worst_output;    // the output with the lowest SQNR, and that SQNR
    double worst_sqnr_db = 0;
    double initial_worst_sqnr_db = 0;
    int evaluations = 0;
};

// Worst output (lowest SQNR) of an evaluation.
const OutputMetrics* worst_output(const AccuracySummary& s);

// Runs the guard. `build` makes the candidate model for a plan.
GuardResult run_guard(const graph::Model& reference, quant::Plan plan,
                      const std::function<graph::Model(const quant::Plan&)>& build, const DataSource& eval,
                      EvaluateOptions eo, const GuardOptions& opt, const exec::Backend& backend);

}  // namespace hq::calib
