// The quantize report: what was chosen per layer and what it cost, as JSON (the contract, versioned
// by "schema") and Markdown (for CI comments). Written atomically; the format follows the extension.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calib/accuracy.h"
#include "calib/guard.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"

namespace hq::report {

struct QuantizeSummary {
    std::string model, output, command, method, precision, activation_type, target, engine;
    bool per_channel = true;
    uint64_t calibration_samples = 0;
    int64_t opset_in = 0, opset_out = 0;
    uint64_t bytes_in = 0, bytes_out = 0;
    quant::Plan plan;
    quant::QdqReport qdq;
    std::map<std::string, std::string> fp16_kept_fp32;  // node -> reason
    std::vector<std::string> notes;
    std::map<std::string, std::string> range_methods;  // --method auto: quantized tensor -> the method it chose
    std::optional<calib::GuardResult> guard;  // the quality guard's final evaluation, when it ran
    std::string guard_data;
    double guard_sqnr_db = 0;
};

// With `accuracy` (quantize --max-drop), the JSON gains an "accuracy" object (the evaluate report)
// and the Markdown the accuracy section.
std::string quantize_json(const QuantizeSummary& s, const calib::AccuracySummary* accuracy = nullptr);
std::string quantize_markdown(const QuantizeSummary& s, const calib::AccuracySummary* accuracy = nullptr);
// Writes each path by its extension (.json, .md); anything else is an hq::Error naming it.
void write_quantize_reports(const QuantizeSummary& s, const std::vector<std::string>& paths,
                            const calib::AccuracySummary* accuracy = nullptr);

}  // namespace hq::report
