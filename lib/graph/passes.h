// Graph passes: small structs with name() and apply(), and the one ordered list they run in.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace hq::graph {

struct PassContext {
    // Evaluates one node on constant inputs (given by the executor); unset disables constant folding.
    std::function<std::vector<Tensor>(const Node&, const std::vector<Tensor>&, int64_t opset)> evaluate;
};

class Pass {
public:
    virtual ~Pass() = default;
    virtual std::string name() const = 0;
    // Returns true when the graph changed.
    virtual bool apply(Model& m, const PassContext& ctx) = 0;
};

// The pipeline, top to bottom: lift_constants, fold_constants, fold_batchnorm, eliminate_dead_code.
std::vector<std::unique_ptr<Pass>> default_pipeline();
// Runs the pipeline and re-sorts topologically; logs each pass that changed something.
void run_pipeline(Model& m, const PassContext& ctx);

// Constant nodes of the main graph become initializers (Paddle/TF exports keep weights in Constants).
bool lift_constants(Model& m);
// Nodes whose outputs nothing uses, and initializers nothing reads, are removed.
bool eliminate_dead_code(Model& m);
// Nodes whose inputs are all constant are evaluated once; Shape/Size of statically shaped values
// become constants, which folds Shape->Gather->Concat->Reshape chains when input shapes are fixed.
bool fold_constants(Model& m, const PassContext& ctx);
// BatchNormalization after Conv/ConvTranspose/Gemm (sole consumer, constant weights) is folded in.
bool fold_batchnorm(Model& m);

}  // namespace hq::graph
