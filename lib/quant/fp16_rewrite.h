// FP16 rewrite: converts a set of nodes to compute in float16, with Cast nodes at the region borders.
#pragma once
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "graph/graph.h"

namespace hq::quant {

struct Fp16Report {
    std::map<std::string, std::string> kept_fp32;  // node -> why it stayed float32
    size_t casts_inserted = 0;
};

// Ops the rewrite converts: ONNX Runtime's CPU EP (onnxruntime-node, probed by scripts/probe_ort_fp16.js)
// loads and runs them on float16 tensors at opsets 13 and 21, natively or between Casts it inserts itself.
bool fp16_convertible_op(const std::string& op_type, int64_t opset);
// The subset ORT's CPU EP runs with a float16 kernel of its own (no inserted Casts) on x86-64.
bool ort_cpu_fp16_native(const std::string& op_type);

// Converts `nodes` (names) of the default domain to float16 compute; the model's opset must be >= 13
// (upgrade_opset first). float32 initializers read only by converted nodes become float16 (an initializer
// also read elsewhere is duplicated); one Cast(to=FLOAT16) is inserted per float32 tensor entering the region
// and one Cast(to=FLOAT) per float16 tensor leaving it. Graph inputs/outputs keep names and types when
// keep_io_types (the internal tensor is renamed), else they become float16 where the region touches them.
// Only an op's T inputs are converted (not Resize roi/scales, Dropout ratio, integer shapes or indices).
// A node stays float32 (reason recorded) when its op is not fp16_convertible_op(), its inputs' types are not
// all float32, an observed range (tensor -> [min, max]) of one of its inputs/outputs exceeds +-65504, or a
// float32 weight it reads has |w| > 65504 or more than 1% of its nonzero values below 2^-24 in magnitude
// (they would flush to zero in float16). Names not in the graph are an hq::Error.
Fp16Report rewrite_fp16(graph::Model& m, const std::set<std::string>& nodes,
                        const std::map<std::string, std::pair<float, float>>& observed_ranges, bool keep_io_types = true);

// `seeds` plus the elementwise, activation, pooling and data-movement nodes lying on a path between two
// nodes of `seeds` (through such nodes only), so a mixed-precision plan does not bounce between types.
std::set<std::string> grow_fp16_region(const graph::Model& m, std::set<std::string> seeds);

}  // namespace hq::quant
