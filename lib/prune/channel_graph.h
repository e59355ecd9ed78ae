// Channel dependency analysis for channel (filter) pruning: which output channels of which layers are tied
// together (residual Add/Mul, depthwise convolutions, concatenation offsets, Flatten blocks), which graph
// edits removing a channel implies (weights, biases, BatchNorm parameters, per-channel constants, group
// attributes, Resize sizes, value shapes), and why a group of channels cannot be pruned. No edit is made here.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::prune {

// A run of channels of one group along a tensor's channel axis: channel c of the group (0 <= c < channels)
// covers the indices offset + c * inner ... offset + c * inner + inner - 1 (inner > 1 after Flatten or a
// depthwise channel multiplier), with offset the sum of the sizes of the runs before it.
struct ChannelRun {
    int group = -1;
    int64_t channels = 0;
    int64_t inner = 1;
};

struct ChannelLayout {
    int64_t rank = 0, axis = 0;  // the channel axis of a tensor of this rank
    std::vector<ChannelRun> runs;
    int64_t size() const;  // extent of the channel axis
};

// Why a group cannot be pruned. `node` is the layer the reason belongs to ("" for a graph-level reason).
struct BlockReason {
    std::string node, text;
};

struct ChannelGroup {
    int parent = -1;  // union-find: -1 for a root
    int64_t channels = 0;
    std::vector<size_t> sources;       // prunable layers (node indices) whose output channels these are
    std::vector<BlockReason> blocked;  // non-empty: every channel is kept
};

// One graph edit implied by removing channels: slice an input of a node along an axis, set the group
// attribute of a depthwise Conv, rewrite a Resize `sizes` entry, or update a value's shape.
struct ChannelEdit {
    enum class Kind { Slice, GroupAttr, ResizeSizes, ValueShape };
    Kind kind = Kind::Slice;
    size_t node = 0;    // node index (not for ValueShape)
    size_t input = 0;   // input index (Slice, ResizeSizes)
    int64_t axis = 0;   // axis of the sliced tensor, or the entry of `sizes`, or the value's channel axis
    std::string value;  // ValueShape: the value's name
    ChannelLayout layout;
};

// How a prunable layer (Conv, ConvTranspose, Gemm, MatMul) relates to channel pruning.
struct LayerChannels {
    size_t node = 0;
    int group = -1;          // its output channels' group (a source), or the input group it follows (depthwise)
    bool depthwise = false;  // output channels follow the input's (group == channels)
    std::string not_source;  // why its output channels are not a group of their own ("" when they are)
    ChannelLayout out;       // layout of its output channels (empty runs when it has none)
};

struct ChannelAnalysis {
    std::vector<ChannelGroup> groups;
    std::vector<ChannelEdit> edits;
    std::map<size_t, LayerChannels> layers;  // by node index
    int find(int g) const;
    // Root group of every run of a layout.
    std::vector<int> roots(const ChannelLayout& l) const;
};

// Blocks the output group of a source layer (or the input group a depthwise Conv follows) with a reason
// ("" = not blocked), e.g. excluded, first layer, shared weight, not selected for channel pruning.
using SourceFilter = std::map<size_t, std::string>;

// Walks the graph (topological order) and builds the channel groups and edits. Sources are Conv (group 1),
// ConvTranspose (group 1), Gemm and MatMul (rank-2 constant weight) with constant float weights.
ChannelAnalysis analyze_channels(const graph::Model& m, const SourceFilter& blocked_sources);

// Output-channel axis of a source layer's weight (Conv 0, ConvTranspose 1, Gemm transB ? 0 : 1, MatMul 1).
int64_t weight_out_axis(const graph::Node& n);

}  // namespace hq::prune
