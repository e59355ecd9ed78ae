// What channel and N:M pruning buy on each engine that runs the written model (`prune --target`, the same names as
// `quantize --target`): held as data, one entry per engine (targets.cpp), read by the prune command and its report.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hq::prune {

struct PruneTarget {
    std::string name;    // dcu | ort-cpu | tensorrt | generic
    std::string engine;  // in words
    // Kept channel counts that are a multiple of this fill the engine's vector/tile width (default
    // --channel-multiple); layers whose input and output channels are multiples of it are "engine-friendly".
    int64_t channel_multiple = 1;
    std::string channel_reason;  // why that multiple
    // Whether the engine runs N:M sparse weights on sparse matrix units (then N:M saves time, else only size).
    bool sparse_matrix_units = false;
    std::string sparse_note;
};

// The entry named `name`; an unknown name is an hq::Error (exit 2) listing the known ones.
const PruneTarget& find_prune_target(const std::string& name);
std::vector<std::string> prune_target_names();

}  // namespace hq::prune
