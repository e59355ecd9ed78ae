// Raises a model's ai.onnx opset import, rewriting the nodes whose operator schema changed on the way so
// that the upgraded model computes exactly what the original did (the QDQ writer needs opset >= 13 for
// per-axis DequantizeLinear).
#pragma once
#include <cstdint>

#include "graph/graph.h"

namespace hq::graph {

// The highest opset upgrade_opset() knows the operator history of.
inline constexpr int64_t kMaxUpgradeOpset = 21;

// Sets the default-domain opset to `target` (>= the current one, <= kMaxUpgradeOpset) and rewrites nodes:
// Clip/Slice/Squeeze/Unsqueeze/Reduce*/Split/Pad/TopK/Dropout/Reshape-1 attributes become inputs,
// Softmax/LogSoftmax/Hardmax before 13 keep their coerce-to-2D meaning, Upsample and Resize-10 become Resize
// with asymmetric coordinates, Scatter becomes ScatterElements, legacy attributes (consumed_inputs, is_test,
// spatial, broadcast) are dropped where the inference semantics are unchanged. A node whose schema changed
// in a way this does not handle is an hq::Error naming the node and both opsets; nothing is modified then.
// Returns true when anything changed. Nodes of other domains are left alone.
bool upgrade_opset(Model& m, int64_t target);

}  // namespace hq::graph
