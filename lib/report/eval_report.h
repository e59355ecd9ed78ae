// The accuracy report of `evaluate` and of the accuracy-budget search in `quantize`: JSON (the
// contract, versioned by "schema"), Markdown (CI comments) and self-contained HTML with inline SVG
// charts. The format follows the file extension; all files are written atomically, together.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "calib/accuracy.h"

namespace hq::report {

using OutputMetrics = calib::OutputMetrics;
using LayerMetrics = calib::LayerMetrics;
using HistogramData = calib::HistogramData;
using SearchStep = calib::SearchStep;
using AccuracySummary = calib::AccuracySummary;

std::string accuracy_json(const AccuracySummary& s);
std::string accuracy_markdown(const AccuracySummary& s);
std::string accuracy_html(const AccuracySummary& s);
// Writes each path by extension (.json, .md, .html); another extension is an hq::Error naming it.
void write_accuracy_reports(const AccuracySummary& s, const std::vector<std::string>& paths);

}  // namespace hq::report
