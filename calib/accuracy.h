// What an evaluation measured (filled by calib::evaluate_models and the accuracy-budget search;
// written by lib/report/eval_report). Plain data.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hq::calib {

struct OutputMetrics {
    std::string name;
    double cosine = 0, sqnr_db = 0, max_abs = 0, mean_abs = 0;  // sqnr_db capped at 200 (exact outputs)
    std::optional<double> top1_agreement;                         // percent; classifier outputs only
};

struct LayerMetrics {
    std::string node, op_type, tensor;  // the layer, its type, the output tensor compared
    std::string precision;              // int8 | fp16 | fp32 (from the candidate's graph)
    double sqnr_db = 0;                 // candidate vs reference at this tensor: accumulated error
    double added_sqnr_db = 0;           // this layer alone on the reference's inputs: the error it adds
    double inherited_sqnr_db = 0;       // error arriving at its inputs (min over them; 200 when exact)
    std::optional<float> input_scale;   // activation scale / zero point when INT8
    std::optional<int32_t> input_zero_point;
    std::optional<double> sensitivity_db;  // from the plan, when known
    std::optional<double> sparsity;        // fraction of zero weights
};

struct HistogramData {  // activation histogram of one tensor (reference model), for the worst layers
    std::string tensor;
    double lo = 0, hi = 0;                // value range covered by `counts` (equal-width bins)
    std::vector<uint64_t> counts;
    std::optional<double> clip_lo, clip_hi;  // the quantization range, when INT8
};

struct SearchStep {  // one evaluation of the accuracy-budget search
    int index = 0;
    std::string action;  // e.g. "start: sensitivity-ranked plan", "p2o.Conv.46 int8 -> fp16"
    int int8 = 0, fp16 = 0, fp32 = 0;
    double metric = 0;  // the budget metric's drop (points) after this step
    bool within_budget = false;
};

struct AccuracySummary {
    std::string kind = "evaluate";  // "evaluate" | "quantize"
    std::string reference, candidate, data, labels, command;
    int64_t samples = 0;
    std::vector<OutputMetrics> outputs;
    // With --labels: accuracy (percent) of both models on the first classifier output.
    std::optional<double> reference_accuracy, candidate_accuracy;
    // The budget: which metric (label accuracy drop | top-1 agreement drop | output SQNR), its value
    // in points, the --max-drop it is compared with, and the verdict.
    std::string budget_metric;
    std::optional<double> drop, max_drop;
    bool budget_ok = true;
    std::vector<LayerMetrics> layers;       // worst first
    std::vector<HistogramData> histograms;  // for the worst layers
    std::vector<SearchStep> steps;          // quantize --max-drop only
    std::vector<std::string> notes;
};

}  // namespace hq::calib
