// QDQ rewrite: INT8 layers get int8 per-channel weights behind DequantizeLinear, an int32 bias, and a
// QuantizeLinear/DequantizeLinear pair on their activation input (one pair per tensor, shared by all
// INT8 consumers), the placement ONNX Runtime and TensorRT fuse into integer kernels.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/params.h"
#include "quant/plan.h"

namespace hq::quant {

struct QdqOptions {
    bool int8_activations = false;  // int8 symmetric activations instead of uint8 asymmetric
    bool per_channel = true;
    // 7-bit weights ([-63, 63]): avoids the int16 saturation of u8*s8 pair sums (VPMADDUBSW) in
    // ONNX Runtime's x86 CPU kernels without VNNI, as ORT's own reduce_range option does.
    bool reduce_range = false;
};

struct QuantizedLayer {
    std::string node, op_type, activation;  // node, its type, its quantized activation input
    ActParams input;                        // activation scale / zero point
    std::vector<float> weight_scales;       // per output channel (or one)
    int64_t weight_axis = 0;
    bool bias_quantized = false, bias_widened = false;
};

struct QdqReport {
    std::vector<QuantizedLayer> layers;              // in graph order
    std::map<std::string, ActParams> activations;    // quantized tensor -> params
};

// Rewrites every layer the plan marks INT8. `ranges` maps activation tensors to their calibrated
// [lo, hi]; a missing range is an hq::Error naming the tensor. Needs ai.onnx opset >= 13.
QdqReport rewrite_qdq(graph::Model& m, const Plan& plan, const std::map<std::string, std::pair<float, float>>& ranges,
                      const QdqOptions& opt);

// Axis of a weighted layer's output channels in its weight tensor (Conv 0, ConvTranspose 1,
// Gemm transB ? 0 : 1, MatMul 1 for 2-D weights); -1 when per-channel quantization does not apply.
int64_t weight_channel_axis(const graph::Node& n, const Tensor& w);

}  // namespace hq::quant
