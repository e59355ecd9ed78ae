// Graph IR: nodes, values (dtype + possibly symbolic shape), initializers, and a model around them.
// Node order in Graph::nodes is topological after load and after every pass (see topo_sort).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hq::graph {

// One dimension: a known size (value >= 0), or symbolic (param set) or unknown (value -1, no param).
struct Dim {
    int64_t value = -1;
    std::string param;
    bool known() const { return value >= 0; }
};

struct ValueInfo {
    std::string name;
    DType dtype = DType::Undefined;
    bool has_shape = false;  // false: rank unknown
    std::vector<Dim> dims;
    // Shape if every dim is known.
    std::optional<Shape> static_shape() const;
    std::string shape_str() const;  // "[N,3,48,W]", "?" when rank unknown
};

struct Graph;

struct Attribute {
    enum class Kind { Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8,
                      Tensors = 9, Graphs = 10 };
    Kind kind = Kind::Int;
    float f = 0;
    int64_t i = 0;
    std::string s;
    hq::Tensor t;
    std::shared_ptr<Graph> g;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    std::vector<hq::Tensor> tensors;
    std::vector<std::shared_ptr<Graph>> graphs;

    // Copies are deep for subgraphs (a copied model's branches are its own; their tensors share storage).
    Attribute() = default;
    Attribute(const Attribute& o);
    Attribute& operator=(const Attribute& o);
    Attribute(Attribute&&) noexcept = default;
    Attribute& operator=(Attribute&&) noexcept = default;
    ~Attribute() = default;
};

struct Node {
    std::string name, op_type, domain;  // domain "" means ai.onnx
    std::vector<std::string> inputs;    // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, Attribute> attrs;

    bool has_attr(const std::string& a) const { return attrs.count(a) != 0; }
    int64_t attr_int(const std::string& a, int64_t def) const;
    float attr_float(const std::string& a, float def) const;
    std::string attr_string(const std::string& a, const std::string& def) const;
    std::vector<int64_t> attr_ints(const std::string& a, std::vector<int64_t> def = {}) const;
    std::vector<float> attr_floats(const std::string& a, std::vector<float> def = {}) const;
    const hq::Tensor* attr_tensor(const std::string& a) const;
    // Input i if present and non-empty, else "".
    const std::string& input(size_t i) const;
    size_t num_inputs() const;  // count up to the last non-empty input
    // "Conv 'conv_12'" — how errors name a node.
    std::string label() const;
};

struct Graph {
    std::string name;
    std::vector<Node> nodes;
    std::vector<ValueInfo> inputs;   // real inputs only (initializers are not listed here)
    std::vector<ValueInfo> outputs;
    std::map<std::string, ValueInfo> value_info;     // intermediate values with known type/shape
    std::map<std::string, hq::Tensor> initializers;  // weights and constants
    // Names enclosing scopes (and sibling subgraphs) use, set while a subgraph is handed to a pass on its own
    // (scoped_view.h): unique_name avoids them. Empty otherwise; not written.
    std::set<std::string> outer_names;

    bool is_initializer(const std::string& v) const { return initializers.count(v) != 0; }
    const ValueInfo* find_value(const std::string& v) const;  // inputs, outputs, value_info
    // For each value name, the index of the node producing it.
    std::map<std::string, size_t> producers() const;
    // For each value name, the indices of the nodes consuming it (in node order): reading it as an input or
    // inside one of their subgraphs (an outer-scope read).
    std::map<std::string, std::vector<size_t>> consumers() const;
    bool is_graph_output(const std::string& v) const;
    // A name not used by any value or node yet (in this graph or any subgraph under it), built from `base`.
    std::string unique_name(const std::string& base) const;
};

struct Model {
    int64_t ir_version = 8;
    std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version
    std::string producer_name, producer_version, domain, doc;
    int64_t model_version = 0;
    std::vector<std::pair<std::string, std::string>> metadata;
    Graph graph;
    std::vector<std::string> functions;  // model-local FunctionProtos, kept serialized and written back as they are
    std::string source_path;  // file it was loaded from, for messages

    int64_t opset(const std::string& dom = "") const;
    void set_metadata(const std::string& key, const std::string& value);
};

// Subgraphs (If branches, Loop/Scan bodies: any graph-valued attribute) of a node, in attribute-name order,
// with the attribute's name.
std::vector<std::pair<std::string, const Graph*>> subgraphs(const Node& n);
std::vector<std::pair<std::string, Graph*>> subgraphs(Node& n);
bool has_subgraphs(const Node& n);
// Values a node's subgraphs read from enclosing scopes (outer-scope values; nested subgraphs included), sorted.
std::vector<std::string> implicit_inputs(const Node& n);
// Names a graph defines itself: its inputs, initializers and node outputs (not those of nested subgraphs).
std::set<std::string> defined_names(const Graph& g);
// Calls fn(graph, depth) on g (depth 0) and every subgraph under it, depth first, a graph before its subgraphs.
void for_each_graph(const Graph& g, const std::function<void(const Graph&, int)>& fn, int depth = 0);
void for_each_graph(Graph& g, const std::function<void(Graph&, int)>& fn, int depth = 0);

// Reorders g.nodes topologically (stable: keeps the existing order where it is valid), and the nodes of every
// subgraph under it. A node depends on its inputs and on the outer-scope values its subgraphs read; `outer`
// holds the names enclosing scopes provide (for a subgraph). Throws hq::Error naming a node on a cycle or on
// an input that nothing produces in this graph or an enclosing one.
void topo_sort(Graph& g, const std::set<std::string>& outer = {});

// hyquant's own structural checks, run on every model whatever its IR/opset (the ONNX checker only runs where
// Debian's libonnx knows the version): named, unique inputs and outputs; every value produced once (not also a
// graph input or initializer); graph outputs produced and typed. Inputs that nothing produces and cycles are
// topo_sort's checks. Throws hq::Error starting with `label`.
// Subgraphs are checked the same way, with enclosing scopes' values available to them (label "... > If 'x'
// then_branch"); their outputs may be untyped.
void check_structure(const Graph& g, const std::string& label, const std::set<std::string>& outer = {});

}  // namespace hq::graph
