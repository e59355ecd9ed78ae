// `--method auto`: a range method per quantized tensor instead of one for the whole model. For every tensor
// the Q/DQ placement quantizes, each calibrated candidate range (minmax, percentile, entropy, mse) is tried on
// calibration samples and the one with the least squared error at the layer's output wins: where the tensor
// feeds weighted layers (Conv, ConvTranspose, Gemm, MatMul with a constant weight) the error is that of those
// layers' outputs (the layer run on the fake-quantized tensor vs on the float one), elsewhere the error of the
// tensor itself. Every rank of an MPI job computes the same choice from the same samples.
#pragma once
#include <map>
#include <string>
#include <utility>

#include "calib/data_reader.h"
#include "calib/table.h"
#include "exec/backend.h"
#include "graph/graph.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"

namespace hq::calib {

struct AutoRanges {
    std::map<std::string, std::pair<float, float>> ranges;  // every tensor of the table with values
    std::map<std::string, std::string> method;              // tensor -> chosen method (quantized tensors only)
    std::map<std::string, int> counts;                      // method -> how many tensors chose it
    int64_t samples = 0;
};

// Chooses the ranges of `table`'s tensors for `plan` placed on qopt.target with up to `max_samples` samples of
// `data` (the first ones). Tensors the placement does not quantize keep their minmax range.
AutoRanges choose_ranges_auto(const graph::Model& model, const quant::Plan& plan, const quant::QdqOptions& qopt,
                              const CalibrationTable& table, double percentile, const DataSource& data,
                              const exec::Backend& backend, int64_t max_samples);

// Fake quantization of a float32 tensor with the activation parameters of [lo, hi] (quant::activation_params):
// round half to even, saturate, dequantize. Exposed for tests.
Tensor fake_quantize(const Tensor& x, float lo, float hi, bool int8_symmetric);

}  // namespace hq::calib
