// Which operators the QDQ writer quantizes, shared by calibration (what to observe) and the rewrite.
#pragma once
#include <set>
#include <string>

#include "graph/graph.h"

namespace hq::quant {

// Layers with weights: quantized with int8 per-channel weights and QDQ on their activation input.
bool is_weighted_layer(const std::string& op_type);  // Conv, ConvTranspose, Gemm, MatMul
// Activations the QDQ writer may quantize for any target, which calibration observes with full histograms:
// the activation inputs and outputs of weighted layers and the tensors around ops a target runs on int8.
std::set<std::string> calibration_targets(const graph::Model& m);
// Every float activation (input or output of a node, graph inputs included) whose min/max the FP16
// rewrite checks against the float16 range.
std::set<std::string> range_targets(const graph::Model& m);
// The first node (in graph order) that shows the model is already quantized: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, ConvInteger, MatMulInteger, QLinear* of any domain, ONNX Runtime's integer contrib ops
// (QGemm, QAttention, DynamicQuantizeMatMul, MatMulIntegerToFloat, MatMulNBits...); nullptr when none is.
const graph::Node* first_quantized_node(const graph::Model& m);

}  // namespace hq::quant
