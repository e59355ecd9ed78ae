// Control flow in the executor: If, Loop and Scan run their subgraphs (branches, bodies) node by node on the
// same backend as the graph around them. A subgraph node reads values of any enclosing scope; every tensor a
// subgraph node produces goes to the observer, once per iteration.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "exec/executor.h"

namespace hq::exec {

// ai.onnx If, Loop, Scan: run by the executor itself (not by a backend kernel).
bool is_control_flow(const graph::Node& n);
// Those ops with the first opset the executor runs them at (for `inspect --ops`).
std::vector<std::pair<std::string, int64_t>> control_flow_ops();
// "" when the executor can run n: a control-flow node at a supported opset with well-formed subgraphs whose
// nodes (nested ones too) `backend` supports; else the reason, naming the nested node ("If 'if0' then_branch >
// Foo 'f': operator Foo ... is not supported").
std::string check_control_flow(const graph::Node& n, const graph::Model& m, const Backend& backend);
// "" when `backend` (or the executor, for control flow) supports n and every node nested under it.
std::string check_node(const graph::Node& n, const graph::Model& m, const Backend& backend);

// Values of the enclosing scopes, by name (nullptr: not defined there).
using ScopeLookup = std::function<const Tensor*(const std::string&)>;

// Runs a control-flow node: ctx.inputs are its inputs, ctx.outputs receives its outputs.
void run_control_flow(KernelContext& ctx, const graph::Model& m, const Backend& backend, const ScopeLookup& outer,
                      const Observer& observer);

}  // namespace hq::exec
