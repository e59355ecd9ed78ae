// The CPU backend: the reference every other backend is tested against.
#pragma once
#include <memory>

#include "exec/backend.h"

namespace hq::exec::cpu {

// The CPU kernel registry, filled once by the explicit list in cpu_backend.cpp.
const KernelRegistry& registry();
std::unique_ptr<Backend> make_backend();
// Evaluates one node on the CPU (constant folding, tests). Throws if the op is not supported.
std::vector<Tensor> evaluate_node(const graph::Node& n, const std::vector<Tensor>& inputs, int64_t opset);

}  // namespace hq::exec::cpu
