// Channel (filter) pruning: ranks the output channels of each channel group (channel_graph.h) by the L1 or
// L2 norm of their filters, summed over the group's layers (or by their effect on the layers that read them,
// measured on data), and physically removes the weakest ones from every layer that produces or consumes them.
// The graph keeps its outputs, names and output shapes. With statistics of the layers' inputs, the layers that
// lose input channels can have the removed channels' mean contribution folded into their biases (compensate.h).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "prune/compensate.h"

namespace hq::prune {

// L1 / L2: norm of the filters of the group's layers. Activation: the channel's effect on the layers that read it,
// Σ over those layers and the channel's positions along their input axis of s(x) · ||W[:, c]||_2, with x the
// layer's input on the calibration data, W its weight and s the standard deviation with `compensate` (what the
// compensation, which restores the mean, cannot restore) or else the root mean square. Needs ChannelOptions::stats;
// a group with a reader whose statistics are missing falls back to L1.
enum class Criterion { L1, L2, Activation };

struct ChannelOptions {
    Criterion criterion = Criterion::L1;
    int64_t multiple = 1;   // kept channels rounded up to a multiple of this (never above the layer's count)
    bool global = false;    // one threshold over the group-normalized norms (sparsity from `sparsity`)
    double sparsity = 0.0;  // global: fraction of all channels of the prunable groups removed
    double min_keep = 0.1;  // global: every group keeps at least this fraction (and one channel)
    // Per-channel statistics of the layers' inputs on calibration data (layer_input_axes()), by tensor name; must
    // outlive the call. Read by Criterion::Activation and by `compensate`.
    const ChannelStats* stats = nullptr;
    // Compute, for every layer that loses input channels, the bias change that compensates their mean
    // contribution (InputOutcome::delta); applying it is the caller's (add_to_bias), as it may insert nodes.
    bool compensate = false;
};

// What happened to one layer's output channels.
struct ChannelOutcome {
    std::string skipped_reason;        // empty when its channels were considered (possibly none removed)
    int64_t channels = 0;              // output channels before
    std::vector<int64_t> removed;      // removed output channels (indices before pruning), ascending
    std::vector<std::string> tied_to;  // other layers whose output channels are removed together
    double target = 0.0;               // removed / channels of its group
    bool depthwise = false;            // follows its input's channels
};

// What happened to one layer's input channels (a layer whose weight lost input channels).
struct InputOutcome {
    int64_t channels = 0;          // input channels before (extent of its weight's input axis)
    std::vector<int64_t> removed;  // removed input channels (indices before pruning), ascending
    // ChannelOptions::compensate: the bias change per output channel of the pruned layer (its kept outputs), or,
    // when `note` says why, nothing.
    std::optional<std::vector<double>> delta;
    std::string note;  // why it is not compensated
};

// Prunes in place. `selected`: node index -> fraction of output channels to remove (layer scope; ignored
// with options.global). `not_selected`: node index -> why a prunable layer takes no part (its channel group
// is then kept whole). Returns an outcome for every selected layer and every depthwise Conv that follows a
// pruned group. Throws hq::Error (exit 2) when layers of one group ask for different sparsities. `inputs` (when
// given) receives an entry for every layer that lost input channels, by node index.
std::map<size_t, ChannelOutcome> prune_channels(graph::Model& m, const std::map<size_t, double>& selected,
                                                const std::map<size_t, std::string>& not_selected,
                                                const ChannelOptions& o,
                                                std::map<size_t, InputOutcome>* inputs = nullptr);

// Per output channel norm of a layer's constant float weight (L1: sum |w|, L2: sqrt(sum w^2)).
std::vector<double> channel_norms(const graph::Node& n, const Tensor& w, Criterion c);

// Copy of `t` keeping only the indices `keep` along `axis`.
Tensor slice_axis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep);

}  // namespace hq::prune
