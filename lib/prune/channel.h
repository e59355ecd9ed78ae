// Channel (filter) pruning: ranks the output channels of each channel group (channel_graph.h) by the L1 or
// L2 norm of their filters, summed over the group's layers, and physically removes the weakest ones from
// every layer that produces or consumes them. The graph keeps its outputs, names and output shapes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::prune {

enum class Criterion { L1, L2 };

struct ChannelOptions {
    Criterion criterion = Criterion::L1;
    int64_t multiple = 1;   // kept channels rounded up to a multiple of this (never above the layer's count)
    bool global = false;    // one threshold over the group-normalized norms (sparsity from `sparsity`)
    double sparsity = 0.0;  // global: fraction of all channels of the prunable groups removed
    double min_keep = 0.1;  // global: every group keeps at least this fraction (and one channel)
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

// Prunes in place. `selected`: node index -> fraction of output channels to remove (layer scope; ignored
// with options.global). `not_selected`: node index -> why a prunable layer takes no part (its channel group
// is then kept whole). Returns an outcome for every selected layer and every depthwise Conv that follows a
// pruned group. Throws hq::Error (exit 2) when layers of one group ask for different sparsities.
std::map<size_t, ChannelOutcome> prune_channels(graph::Model& m, const std::map<size_t, double>& selected,
                                                const std::map<size_t, std::string>& not_selected,
                                                const ChannelOptions& o);

// Per output channel norm of a layer's constant float weight (L1: sum |w|, L2: sqrt(sum w^2)).
std::vector<double> channel_norms(const graph::Node& n, const Tensor& w, Criterion c);

// Copy of `t` keeping only the indices `keep` along `axis`.
Tensor slice_axis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep);

}  // namespace hq::prune
