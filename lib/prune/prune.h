// Magnitude pruning as pure graph rewrites: unstructured (per layer or one global threshold with a minimum
// kept fraction per layer) and N:M along the reduction (input-channel) dimension. Weights are zeroed in place;
// the graph structure is unchanged.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::prune {

enum class Pattern { Unstructured, NM };
enum class Scope { Layer, Global };

struct PruneOptions {
    Pattern pattern = Pattern::Unstructured;
    Scope scope = Scope::Layer;
    double sparsity = 0.5;             // unstructured: fraction of weights zeroed (per layer or over all layers)
    int64_t n = 2, m = 4;              // N:M: at most n nonzeros in every group of m along the reduction dimension
    double min_keep = 0.1;             // global scope: every layer keeps at least this fraction of its weights
    std::vector<std::string> exclude;  // node names or op types left dense
    bool include_ends = false;         // also prune the first and the last prunable layer
};

struct LayerResult {
    std::string node, op_type, weight;
    int64_t params = 0;  // weight elements
    int64_t zeros = 0;   // zero weight elements after pruning (or as found, when skipped)
    double sparsity = 0;
    std::string skipped_reason;           // empty when pruned
    std::optional<int64_t> macs;          // dense MACs (shape-dependent; unchanged by these patterns)
    std::optional<int64_t> nonzero_macs;  // MACs of the nonzero weights only
};

struct PruneResult {
    std::vector<LayerResult> layers;  // every Conv/ConvTranspose/Gemm/MatMul with a constant weight, in node order
};

// "unstructured" -> Unstructured; "N:M" (e.g. "2:4") -> NM with n, m set. Throws hq::Error otherwise.
void parse_pattern(const std::string& s, PruneOptions& o);
std::string pattern_name(const PruneOptions& o);

// Prunes the model's weights in place. Throws hq::Error on invalid options.
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
