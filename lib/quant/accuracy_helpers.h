// Closed-form accuracy helpers run before the QDQ rewrite: cross-layer equalization of Conv pairs
// and bias correction of INT8 layers. Both are pure graph rewrites on float weights.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/plan.h"
#include "quant/qdq_rewrite.h"

namespace hq::quant {

// Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019): for Conv A -> [Relu |
// LeakyRelu | PRelu | nothing] -> Conv B (group 1), with A's output used only on that path, scales
// A's output channel i by 1/s_i and B's input channel i by s_i, s_i = sqrt(r_A[i] / r_B[i]) (ranges
// of the weights), so both get the per-channel range sqrt(r_A r_B). Exact in float for these
// activations. Returns the equalized pairs as "A -> B". Run before calibration.
std::vector<std::string> cross_layer_equalize(graph::Model& m);

// Per-channel means of activations, as observed over calibration data: tensor -> mean per channel
// (axis 1 for rank >= 3, the last axis otherwise).
using ChannelMeans = std::map<std::string, std::vector<double>>;

// Bias correction (b -= (W_q - W) . E[x]) for the plan's INT8 Conv and Gemm layers, with W_q the
// weights as rewrite_qdq will quantize them (same options) and E[x] from `means`. Layers without a
// bias get one. Returns the corrected layers.
std::vector<std::string> correct_bias(graph::Model& m, const Plan& plan, const ChannelMeans& means,
                                      const QdqOptions& opt);

}  // namespace hq::quant
