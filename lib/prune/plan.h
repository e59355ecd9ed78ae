// The prune plan (JSON, schema 1): per layer (node name) the pattern and sparsity to apply, or "skip".
// Written by `prune --plan-out` with what a run applied (every pattern); read by `prune --plan`, where its
// entries override the command's pattern, sparsity, first/last-layer rule (not --exclude).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "prune/prune.h"

namespace hq::prune {

struct PlanEntry {
    std::string node, op_type;
    std::string pattern;             // "skip", "unstructured", "channel", "N:M"; empty: the command's --pattern
    std::optional<double> sparsity;  // unstructured/channel; unset: the command's --sparsity
    std::string reason;              // why (informational; a "skip" entry's reason is reported)
    std::optional<int64_t> channels_before, channels_after;  // channel: informational
};

struct PrunePlan {
    static constexpr int kSchema = 1;
    std::optional<std::string> criterion;     // "l1" | "l2" | "activation"; set: overrides --criterion
    std::optional<int64_t> channel_multiple;  // set: overrides --channel-multiple
    std::vector<PlanEntry> layers;

    std::string to_json() const;
    // Parses and checks a plan; errors name `label` (the file) and the entry.
    static PrunePlan from_json(const std::string& text, const std::string& label);
};

// The plan a run applied: one entry per prunable layer of `r`, with its pattern and achieved target.
PrunePlan applied_plan(const PruneOptions& o, const PruneResult& r);

// Puts the plan's entries into `o.plan` (and its criterion / channel multiple into `o`). Every node it names
// must be a prunable layer of `m` (Conv, ConvTranspose, Gemm, MatMul); else hq::Error (exit 2) naming
// `label` and the entry.
void use_plan(const PrunePlan& p, const graph::Model& m, PruneOptions& o, const std::string& label);

Criterion parse_criterion(const std::string& s, const std::string& where);
std::string criterion_name(Criterion c);

}  // namespace hq::prune
