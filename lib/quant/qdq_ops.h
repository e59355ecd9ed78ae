// Which operators the QDQ writer quantizes, shared by calibration (what to observe) and the rewrite.
#pragma once
#include <set>
#include <string>

#include "graph/graph.h"

namespace hq::quant {

// Layers with weights: quantized with int8 per-channel weights and QDQ on their activation input.
bool is_weighted_layer(const std::string& op_type);  // Conv, ConvTranspose, Gemm, MatMul
// Every op whose float inputs/outputs the QDQ writer may wrap in QuantizeLinear/DequantizeLinear.
bool is_quantized_op(const std::string& op_type);
// Float activations (not initializers) that calibration must observe for this model: the float32
// inputs and outputs of the nodes of quantized ops, in a stable (sorted) order.
std::set<std::string> calibration_targets(const graph::Model& m);

}  // namespace hq::quant
