// Magnitude pruning as pure graph rewrites: unstructured (per layer or one global threshold with a minimum
// kept fraction per layer), N:M along the reduction (input-channel) dimension, and channel (filter) pruning
// that physically removes output channels (channel.h). Unstructured and N:M zero weights in place and leave
// the graph structure unchanged; a plan (plan.h) may give every layer its own pattern and sparsity. Channel pruning
// can use activation statistics of calibration data (compensate.h): bias compensation and the activation criterion.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "prune/channel.h"

namespace hq::prune {

enum class Pattern { Unstructured, NM, Channel };
enum class Scope { Layer, Global };

struct PruneOptions {
    Pattern pattern = Pattern::Unstructured;
    Scope scope = Scope::Layer;
    double sparsity = 0.5;  // unstructured: fraction of weights zeroed (per layer or over all layers); channel:
                            // fraction of output channels removed (per layer or over all channel groups)
    int64_t n = 2, m = 4;              // N:M: at most n nonzeros in every group of m along the reduction dimension
    double min_keep = 0.1;             // global scope: every layer keeps at least this fraction of its weights
                                       // (channel: of its output channels, and at least one)
    std::vector<std::string> exclude;  // node names or op types left dense
    bool include_ends = false;         // also prune the first and the last prunable layer
    Criterion criterion = Criterion::L1;  // channel: ranking of the output channels (filter norm or activation)
    // channel: per-channel statistics of the layers' inputs on calibration data (compensate.h, layer_input_axes());
    // must outlive the call. Needed by Criterion::Activation and `compensate`.
    const ChannelStats* stats = nullptr;
    // channel: fold the removed input channels' mean contribution into the bias of every layer that loses input
    // channels (creating the bias, or for MatMul a bias Add, when it has none). Needs `stats`.
    bool compensate = false;
    int64_t channel_multiple = 1;         // channel: kept channels rounded up to a multiple of this
    // Per layer (node name): the pattern ("skip", "unstructured", "channel" or "N:M"; empty: `pattern`) and
    // sparsity (unset: `sparsity`) to apply, overriding the options above except `exclude`. Needs Scope::Layer.
    struct LayerPlan {
        std::string pattern;
        std::optional<double> sparsity;
        std::string reason;  // written with the plan; the skipped reason of a "skip" entry
    };
    std::map<std::string, LayerPlan> plan;
};

struct LayerResult {
    std::string node, op_type, weight;
    int64_t params = 0;  // weight elements (as the weight is now)
    int64_t zeros = 0;   // zero weight elements after pruning (or as found, when skipped)
    double sparsity = 0;
    std::string skipped_reason;           // empty when pruned
    std::optional<int64_t> macs;          // dense MACs (shape-dependent; smaller when channels were removed)
    std::optional<int64_t> nonzero_macs;  // MACs of the nonzero weights only
    std::string pattern;                  // applied: "unstructured", "N:M" or "channel"; empty when skipped
    double target = 0;                    // applied target: fraction of weights zeroed or of output channels removed
    int64_t channels = 0;                 // output channels (of the weight as it is now)
    std::vector<int64_t> removed_channels;  // channel: output channels removed (indices in the input model)
    std::vector<std::string> tied_to;       // channel: layers whose output channels were removed together
    int64_t input_channels = 0;             // channel: input channels (extent of the weight's input axis) before
    int64_t input_channels_removed = 0;     // channel: input channels it lost (removed by its producers)
    // Compensation (PruneOptions::compensate), for a layer that lost input channels: whether its bias took the
    // removed channels' mean contribution, the L2 norm of that change (over its outputs), and how ("bias created",
    // "bias Add inserted", ...) or why not.
    std::optional<bool> compensated;
    double bias_change = 0;
    std::string compensation_note;
};

struct PruneResult {
    std::vector<LayerResult> layers;  // every Conv/ConvTranspose/Gemm/MatMul with a constant weight, in node order
};

// "unstructured" -> Unstructured; "channel" -> Channel; "N:M" (e.g. "2:4") -> NM with n, m set. Throws
// hq::Error otherwise.
void parse_pattern(const std::string& s, PruneOptions& o);
std::string pattern_name(const PruneOptions& o);

// Prunes the model in place. Throws hq::Error on invalid options or plan entries (unknown node: exit 2).
PruneResult prune_model(graph::Model& m, const PruneOptions& o);

// Per prunable layer statistics without changing anything (used for the "before" numbers).
PruneResult layer_stats(const graph::Model& m);

// Nonzero elements of all float initializers.
int64_t nonzero_parameters(const graph::Model& m);
// Elements of all initializers.
int64_t total_parameters(const graph::Model& m);

// Dense MACs of a layer (Conv, ConvTranspose, Gemm, MatMul) when the shapes it needs are known.
std::optional<int64_t> layer_macs(const graph::Model& m, const graph::Node& n);

}  // namespace hq::prune
