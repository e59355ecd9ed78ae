// Bias compensation for channel pruning: a layer that loses input channels gets their expected contribution
// (each removed channel's mean over calibration data times the weights that read it) folded into its bias, so
// that removing a channel whose output is (nearly) constant does not shift the layer's output. The statistics
// are measured by the caller (apps) on the original model and passed in by tensor name; nothing here runs a model.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::prune {

// Per-channel statistics of tensors over calibration data, along the axis layer_input_axes() gives.
struct ChannelStats {
    std::map<std::string, std::vector<double>> mean;         // E[x] per channel
    std::map<std::string, std::vector<double>> mean_square;  // E[x^2] per channel (--criterion activation)
};

// Input-channel axis of a layer's weight: Conv 1, ConvTranspose 0, Gemm transB ? 1 : 0, MatMul 0.
int64_t weight_in_axis(const graph::Node& n);

// The tensors whose statistics compensation and the activation criterion read: input 0 of every Conv,
// ConvTranspose, Gemm and MatMul with a constant weight, with the axis its channels lie on (Conv/ConvTranspose 1,
// Gemm 1 of its 2-D input, MatMul the last axis, given as -1). A tensor read along two different axes is left out.
std::map<std::string, int64_t> layer_input_axes(const graph::Model& m);

// Change of a layer's output (per output channel, over all of its outputs as the weight `w` is now) when the
// input channels `removed` (indices along weight_in_axis, ascending), whose means are `mean` (over every input
// channel), are replaced by nothing: Conv: Σ_c mean[c]·Σ_k W[o, c, k]; ConvTranspose (group 1):
// Σ_c mean[c]·Σ_k W[c, o, k] / Π strides (the average over output positions); Gemm: alpha·Σ_f mean[f]·W[f, o]
// (transB: W[o, f]); MatMul: Σ_f mean[f]·W[f, o]. Zero padding makes the Conv value exact only away from borders.
std::vector<double> removed_contribution(const graph::Node& n, const Tensor& w, const std::vector<int64_t>& removed,
                                         const std::vector<double>& mean);

// Why a layer's bias cannot take a compensation ("" when it can): the bias is not a constant float tensor of a
// usable shape, a MatMul in a model below opset 7 (Add without broadcasting), ...
std::string bias_blocker(const graph::Model& m, size_t node);

// Adds `delta` (one value per output channel, as the layer is now) to the layer's bias: Conv/ConvTranspose input 2
// and Gemm C (divided by beta; C broadcast to the output columns when it has one; with beta 0, C is replaced and
// beta set to 1), created when missing; MatMul: the constant of the bias Add that is its only consumer, else a new
// Add after it (the MatMul's output renamed, the Add producing the old name). A bias shared with other nodes is
// copied first. Returns how: "bias updated", "bias created", "bias Add updated", "bias Add inserted". Node indices
// after `node` shift by one when an Add is inserted. Throws hq::Error when bias_blocker() names a reason.
std::string add_to_bias(graph::Model& m, size_t node, const std::vector<double>& delta);

}  // namespace hq::prune
