// Layer sensitivity for mixed precision: the SQNR (dB) of the model's outputs, over calibration
// samples, when only that one layer is quantized to INT8 (everything else FP32).
#pragma once
#include <map>
#include <string>

#include "calib/data_reader.h"
#include "exec/backend.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"

namespace hq::calib {

// `model` must already be at opset >= 13 (the QDQ rewrite's need). Uses at most `max_samples` samples. The error
// of a layer is the sum, in sample order, of each sample's error alone, so with `distributed` (an MPI job,
// dist::size() > 1) each rank measures its contiguous block of the samples (dist::share), rank 0 adds the blocks
// in rank order and broadcasts the result: every rank gets the same map as one process, bit for bit. A failing
// rank (a corrupt sample) makes every rank throw (dist::AgreedError, that rank's reason on rank 0).
std::map<std::string, double> layer_sensitivity(const graph::Model& model, const quant::Plan& plan,
                                                const std::map<std::string, std::pair<float, float>>& ranges,
                                                const quant::QdqOptions& qopt, const DataSource& data,
                                                const exec::Backend& backend, int64_t max_samples,
                                                bool distributed = false);

}  // namespace hq::calib
