// QDQ rewrite: INT8 layers get int8 per-channel weights behind DequantizeLinear, an int32 bias (where the
// target quantizes biases), and QuantizeLinear/DequantizeLinear pairs where the target's placement
// (placement.h) puts them: one pair per tensor, shared by its quantized readers.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/params.h"
#include "quant/placement.h"
#include "quant/plan.h"
#include "quant/target.h"

namespace hq::quant {

struct QdqOptions {
    bool int8_activations = false;  // int8 symmetric activations instead of uint8 asymmetric
    bool per_channel = true;
    // 7-bit weights ([-63, 63]): avoids the int16 saturation of u8*s8 pair sums (VPMADDUBSW) in
    // ONNX Runtime's x86 CPU kernels without VNNI, as ORT's own reduce_range option does.
    bool reduce_range = false;
    // The engine the model is for: where Q/DQ goes (placement.h). Default: generic (inputs of weighted
    // layers only).
    Target target = find_target("generic");
    std::set<std::string> skip;  // nodes left alone (an FP16 region)
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
    Placement placement;                             // where the pairs went and what the engine runs
};

// Rewrites every layer the plan marks INT8, placing Q/DQ for opt.target. `ranges` maps activation tensors to
// their calibrated [lo, hi]; a missing range is an hq::Error naming the tensor. Needs ai.onnx opset >= 13.
QdqReport rewrite_qdq(graph::Model& m, const Plan& plan, const std::map<std::string, std::pair<float, float>>& ranges,
                      const QdqOptions& opt);

// Axis of a weighted layer's output channels in its weight tensor (Conv 0, ConvTranspose 1,
// Gemm transB ? 0 : 1, MatMul 1 for 2-D weights); -1 when per-channel quantization does not apply.
int64_t weight_channel_axis(const graph::Node& n, const Tensor& w);

}  // namespace hq::quant
