// Q/DQ placement: from a precision plan and a target (target.h), which tensors get a
// QuantizeLinear/DequantizeLinear pair, which consumers read it, and what the target engine will run
// every quantized node as. One pass for every target: it only reads the target's description.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quant/plan.h"
#include "quant/target.h"

namespace hq::quant {

// One Q/DQ pair on a float tensor.
struct QdqPair {
    std::string tensor;       // the float tensor quantized
    std::string params_from;  // tensor whose calibrated range gives scale / zero point (itself, or the
                              // input of a pass-through op, whose parameters the output reuses)
    bool all_consumers = false;    // every consumer reads the dequantized tensor (an INT8 node's output)
    std::set<std::string> consumers;  // else only these nodes do
};

struct PlacedNode {
    std::string node, op_type;
    std::string role;    // "weighted", "int8" (QLinear op), "passthrough", "folded" (activation removed by the engine)
    std::string kernel;  // what the target engine runs it as
};

struct Placement {
    std::vector<QdqPair> pairs;                 // in node order of the tensors' producers
    std::vector<PlacedNode> nodes;              // quantized nodes, in graph order
    std::map<std::string, std::string> kernel;  // node -> what the target engine runs it as
    const QdqPair* find(const std::string& tensor) const;
};

// The activation inputs of a node the plan may mark INT8: the non-constant input of a weighted layer
// (constant weight), or both inputs of an activation x activation MatMul. Empty when neither.
std::vector<std::string> layer_activations(const graph::Graph& g, const graph::Node& n);

// Places Q/DQ for the plan's INT8 layers on `t`. Nodes in `skip` (an FP16 region) are left alone.
// `int8_activations`: the activation type actually used (a user can override the target's default);
// folding Relu/Clip into a Q needs asymmetric (uint8) activations.
// `ranges` (when given): the tensors with a calibrated range; an output or QLinear-op pair needs one (tensors a
// pass made after calibration have none), a weighted layer's input is checked by the rewrite.
using RangeMap = std::map<std::string, std::pair<float, float>>;
Placement place_qdq(const graph::Model& m, const Plan& plan, const Target& t, bool int8_activations,
                    const std::set<std::string>& skip = {}, const RangeMap* ranges = nullptr);

// Speed rules: moves INT8 layers that would run slower than float on `t` to its fallback precision, with
// the reason in the plan ("kept fp32: ..."). Returns how many layers moved. Layers the user fixed in a
// --plan are not second-guessed (call it only for plans hyquant made).
int apply_speed_rules(const graph::Model& m, Plan& plan, const Target& t, bool int8_activations,
                      const RangeMap* ranges = nullptr);

// INT8 layers (of a plan hyquant made) whose activation input has no calibrated range move to FP32, with the
// reason: a layer the calibration data never reached (inside an If branch no sample took, a Loop body that ran
// zero times) has nothing to set its scale from. Returns how many moved.
int keep_uncalibrated_fp32(const graph::Model& m, Plan& plan, const RangeMap& ranges);

}  // namespace hq::quant
