// Evaluation of a candidate model against its reference on a data folder, streaming sample by sample:
// per-output error metrics, top-1 agreement, label accuracy, and layer-wise SQNR that separates the
// error a layer adds from the error it inherits. Metrics are sums of per-sample records in sample order, so an
// MPI run (EvaluateOptions::distributed) equals one process bit for bit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "calib/data_reader.h"
#include "exec/backend.h"
#include "calib/accuracy.h"

namespace hq::calib {

struct EvaluateOptions {
    std::vector<int64_t> labels;    // one class per sample (per row of the first classifier output)
    int64_t layer_samples = 8;      // samples used for the layer-wise comparison (0: none)
    int64_t max_samples = 0;        // 0: all
    // Split the samples over the ranks of an MPI job (dist::size() > 1), contiguous blocks by sorted index
    // (dist::share); rank 0 adds the others' per-sample metrics in sample order and alone gets the summary (the
    // others: samples only). Equal, bit for bit, to one process. A failing rank makes every rank throw.
    bool distributed = false;
    // With distributed: rank 0 broadcasts the summary, so every rank returns the same one (bit for bit) -- what
    // the quantize pipeline needs to take the same decisions on every rank.
    bool share_result = false;
};

// Reads a labels file: one integer class per line (blank lines and '#' comments ignored).
std::vector<int64_t> read_labels(const std::string& path);

// Fills samples, outputs, accuracies and layers of the summary (worst layers first). Budget fields
// are left to the caller (see budget_drop).
AccuracySummary evaluate_models(const graph::Model& reference, const graph::Model& candidate,
                                        const DataSource& data, const exec::Backend& backend,
                                        const EvaluateOptions& opt);

// The number compared with --max-drop, in points, and its name: label accuracy drop when labels were
// given; else top-1 disagreement (100 - agreement) of the first classifier output; else the outputs'
// relative RMS error in percent.
double budget_drop(const AccuracySummary& s, std::string& metric);

// Rank 0's measurements (samples, outputs, accuracies, layers, histograms) on every rank: dist::broadcast of their
// bytes, doubles as bits. The other fields stay as the caller had them. No-op on one rank.
void broadcast_summary(AccuracySummary& s);

// Rank 0's summary on every rank (dist::broadcast of its bytes; doubles travel as bits). No-op on one rank.
void broadcast_summary(AccuracySummary& s);

}  // namespace hq::calib
