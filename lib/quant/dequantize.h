// `quantize --requantize`: turns an already-quantized model back into the float model it encodes, so that it can
// be calibrated and quantized again for another target. Pure graph rewrite of the main graph.
//
// What it recovers (each the float form ONNX's and ONNX Runtime's quantizers started from):
//  - QDQ: DequantizeLinear of a constant (int8/uint8/int16/uint16/int32, per tensor or per axis) becomes the
//    float initializer it computes; QuantizeLinear -> DequantizeLinear pairs on activations are removed (the DQ's
//    readers read the Q's float input; a range starting at exactly 0 is where the quantizer folded a Relu/Clip
//    into the range, and becomes that Clip);
//  - QOperator: QLinearConv, QLinearMatMul and ONNX Runtime's com.microsoft QLinearAdd/Mul/Sigmoid/LeakyRelu/
//    GlobalAveragePool/AveragePool/Softmax/Concat and QGemm become DequantizeLinear -> the float op ->
//    QuantizeLinear (constant weights and int32 biases dequantized), whose pairs then go as above; data-movement
//    ops between them (Reshape, Flatten, Transpose, MaxPool, ...) run on the float values instead;
//  - dynamic (quantize_dynamic): DynamicQuantizeLinear -> MatMulInteger/ConvInteger -> Cast(float) ->
//    Mul(scale_x * scale_w) becomes MatMul/Conv of the float input with the dequantized weight, and ORT's fused
//    DynamicQuantizeMatMul / MatMulIntegerToFloat a MatMul (+ Add of the bias);
//  - a Gather of a constant integer table followed by a per-tensor DequantizeLinear becomes a Gather of the
//    dequantized table.
// Anything else that is quantized is left, and requantize_to_float then throws naming it (exit 2).
#pragma once
#include <string>

#include "graph/graph.h"

namespace hq::quant {

struct Dequantized {
    int64_t weights = 0;     // constant tensors dequantized to float32
    int64_t qdq_pairs = 0;   // QuantizeLinear -> DequantizeLinear pairs removed
    int64_t clips = 0;       // of which ranges starting at 0 (a Relu/Clip the quantizer folded in) kept as Clip
    int64_t qlinear = 0;     // QLinearConv / QLinearMatMul expanded
    int64_t dynamic = 0;     // MatMulInteger / ConvInteger patterns made float
    int64_t gathers = 0;     // Gather + DequantizeLinear of constant tables
    std::string summary() const;
};

// Rewrites m as described above, removes what became dead and re-sorts; throws hq::Error naming the first node
// that is still quantized afterwards (its op and why it has no float form hyquant can recover).
Dequantized requantize_to_float(graph::Model& m);

}  // namespace hq::quant
