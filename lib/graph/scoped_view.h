// Passes written for one graph (Q/DQ placement and rewrite, FP16 rewrite, the plan) applied to subgraphs: each
// subgraph is handed to them as a model of its own (a "view"), with the constants and value types it reads from
// enclosing scopes copied in (initializers share storage), and with every name of the model reserved so that
// new names stay unique across scopes. What a pass leaves behind goes back into the subgraph; an imported
// constant the pass replaced becomes the subgraph's own initializer under a fresh name.
#pragma once
#include <functional>
#include <string>

#include "graph/graph.h"

namespace hq::graph {

// fn(m, "") on the model itself, then fn(view, where) on every subgraph, depth first ("If 'x' then_branch").
// A view shares m's opsets and metadata; its graph is the subgraph, moved out for the call and put back after.
void for_each_graph_view(Model& m, const std::function<void(Model&, const std::string& where)>& fn);
// The same on a copy of each subgraph (nothing goes back).
void for_each_graph_view(const Model& m, const std::function<void(const Model&, const std::string& where)>& fn);

// Model-wide lookups (value and node names are unique across scopes in valid ONNX; the loader makes node
// names so): the node named `name` in any graph, the initializer `v` of any graph, and whether `v` is an output
// of the model's graph or of a subgraph (a value a pass must keep as it is).
const Node* find_node_anywhere(const Model& m, const std::string& name);
const Tensor* find_initializer_anywhere(const Model& m, const std::string& v);
bool is_output_anywhere(const Model& m, const std::string& v);

}  // namespace hq::graph
