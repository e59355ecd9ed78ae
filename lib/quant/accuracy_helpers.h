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

// SmoothQuant (Xiao et al., 2023): where a float activation X read by MatMul/Gemm layers with constant weights
// has outlier features (max_j a_j >= outlier_ratio x the median a_j, a_j = max|X[..., j]| over calibration
// data), every such reader reads X * (1/s) instead (one Mul node, 1/s a constant vector) and its weight row j is
// multiplied by s_j = a_j^alpha / w_j^(1-alpha), w_j the largest |W[j, :]| over the readers: the product is
// unchanged in float, the activation's range shrinks and the weights take the difficulty. Returns the smoothed
// tensors. Run before calibration (the readers' input is a new tensor).
// The activations whose statistics it needs: tensor -> feature count (the readers' weight rows).
std::map<std::string, int64_t> smooth_candidates(const graph::Model& m);
using FeatureAbsMax = std::map<std::string, std::vector<double>>;  // tensor -> max |x| per last-axis feature
std::vector<std::string> smooth_quant(graph::Model& m, const FeatureAbsMax& absmax, double alpha,
                                      double outlier_ratio = 8.0);

}  // namespace hq::quant
