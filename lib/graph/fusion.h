// Execution-time fusion plan: which Conv nodes absorb the element-wise ops that follow them (bias is part of Conv;
// Relu / LeakyRelu / Clip / HardSwish / HardSigmoid / Sigmoid / Swish = x*Sigmoid(x) / same-shape residual Add;
// Mul / Add / Sub / Div by a scalar constant (Linear), Max / Min with a scalar constant (Clip); HardSwish spelled out
// as x * Clip(x + 3, 0, 6) / 6, as PaddlePaddle and older PyTorch exports write it). A chain holds any number of
// element-wise ops (up to kMaxPostOps) and at most one residual Add.
// A pure analysis of a graph (no rewrite): the executor plans it for the graph it runs, so rewrites made after
// loading (QDQ, FP16, pruning, candidate models) never leave stale marks. Guarantees: a fused-away value has
// exactly one reader, inside the group, and is not a graph output nor read by any subgraph.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::graph {

// One post-op of a fused group, applied in order to the Conv's output (bias included).
struct PostOp {
    enum class Kind { Relu, LeakyRelu, Clip, HardSwish, HardSigmoid, Sigmoid, Swish, Add, Linear };
    Kind kind = Kind::Relu;
    float alpha = 0, beta = 0;  // LeakyRelu: alpha; Clip: [alpha, beta]; HardSigmoid, Linear: alpha * x + beta
    std::string operand;        // Add: the other input (same shape as the Conv's output, checked at run time)
};

struct FusionGroup {
    std::vector<size_t> nodes;           // node indices, head (the Conv) first, then the absorbed nodes in order
    std::vector<PostOp> ops;             // the post-ops the absorbed nodes make up
    std::vector<std::string> fused_away; // values only the group reads (the Conv's output, inner results)
    std::string output;                  // the group's result: the last absorbed node's output
};

// Groups of g (main graph; subgraphs are not fused) in order of their head. `opset` is the ai.onnx opset (Clip
// bounds are attributes before 11, constant inputs from 11). `exact_only`: only post-ops whose fused float result
// is bit-identical to the separate kernels' (Relu, LeakyRelu, Clip, Add, and Linear as one Mul or one Add/Sub by a
// scalar); HardSwish, HardSigmoid (one fma rounding), Sigmoid and Swish (oneDNN's own exp), Div as a multiply by the
// reciprocal and merged Linears differ from the unfused kernels in the last bits.
constexpr size_t kMaxPostOps = 8;
std::vector<FusionGroup> plan_fusions(const Graph& g, int64_t opset, bool exact_only = false);

// A constant zero Pad (spatial dimensions only, none negative) whose result only a Conv reads, as its input: the
// executor's fused plan skips the Pad and runs the Conv on the Pad's input with its pads widened, as ONNX Runtime's
// PadFusion does (TensorFlow exports write "same" convolutions as an explicit Pad and a "valid" Conv; the Pad costs a
// copy of its input). Execution only: the graph, and so every written model, keeps its Pad.
struct PadFold {
    size_t pad = 0, conv = 0;   // node indices
    std::string input;          // the Pad's input: what the Conv reads instead
    std::vector<int64_t> pads;  // added to the Conv's pads: [begin per spatial dim..., end per spatial dim...]
};
std::vector<PadFold> plan_pad_folds(const Graph& g, int64_t opset);

// Short text of a group for logs and inspect: "Conv 'c1' + Relu + Add(x) + Relu".
std::string describe(const FusionGroup& grp, const Graph& g);

}  // namespace hq::graph
