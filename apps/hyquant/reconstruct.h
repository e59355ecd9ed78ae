// The executor-driving loop of layer-wise reconstruction for `prune --data` (the math is prune/reconstruct.h):
// layers are processed in waves in topological order (a wave: the layers none of whose upstream layers still wait),
// each on the already reconstructed pruned model's activations for its input, with the dense model's output of that
// layer as the target. Statistics are streamed over the samples (Gram matrices only; memory independent of the
// sample count); both models are truncated to what a wave needs before they run.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "calib/data_reader.h"
#include "exec/backend.h"
#include "graph/graph.h"
#include "prune/prune.h"

namespace hq::app {

struct ReconstructLayer {
    std::string node, op_type, mode;  // mode: "unstructured", "N:M", "dense" (refit of kept weights)
    std::string skipped_reason;       // not reconstructed: why
    std::string bias_note;            // how the fitted bias was written
    double rel_error_before = 0, rel_error_after = 0;  // output error / output energy on the calibration rows
    double positions = 0;                              // rows (im2col patches) the statistics saw
    int64_t wave = 0;
};

struct ReconstructSummary {
    int64_t samples = 0, waves = 0;
    double damp = 0.01;
    std::vector<ReconstructLayer> layers;  // in topological order
};

// Reconstructs the pruned, reshaped or downstream-refit layers of `pruned` (as `result` reports them) against `dense`
// (the model before pruning, same node names). Throws hq::Error on bad data.
ReconstructSummary reconstruct_layers(const graph::Model& dense, graph::Model& pruned, const prune::PruneResult& result,
                                      const calib::DataSource& data, const exec::Backend& backend, int64_t max_samples,
                                      double damp);

}  // namespace hq::app
