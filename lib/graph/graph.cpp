#include "graph/graph.h"

#include <queue>
#include <set>

#include "core/error.h"

namespace hq::graph {

std::optional<Shape> ValueInfo::static_shape() const {
    if (!has_shape) return std::nullopt;
    Shape s;
    for (const auto& d : dims) {
        if (!d.known()) return std::nullopt;
        s.push_back(d.value);
    }
    return s;
}

std::string ValueInfo::shape_str() const {
    if (!has_shape) return "?";
    std::string r = "[";
    for (size_t i = 0; i < dims.size(); ++i) {
        if (i) r += ",";
        r += dims[i].known() ? std::to_string(dims[i].value) : (dims[i].param.empty() ? "?" : dims[i].param);
    }
    return r + "]";
}

Attribute::Attribute(const Attribute& o)
    : kind(o.kind), f(o.f), i(o.i), s(o.s), t(o.t), floats(o.floats), ints(o.ints), strings(o.strings),
      tensors(o.tensors) {
    if (o.g) g = std::make_shared<Graph>(*o.g);
    graphs.reserve(o.graphs.size());
    for (const auto& x : o.graphs) graphs.push_back(x ? std::make_shared<Graph>(*x) : nullptr);
}

Attribute& Attribute::operator=(const Attribute& o) {
    if (this != &o) {
        Attribute c(o);
        *this = std::move(c);
    }
    return *this;
}

static const Attribute* find_attr(const Node& n, const std::string& a, Attribute::Kind k) {
    auto it = n.attrs.find(a);
    if (it == n.attrs.end()) return nullptr;
    HQ_CHECK(it->second.kind == k, n.label(), ": attribute '", a, "' has the wrong type");
    return &it->second;
}

int64_t Node::attr_int(const std::string& a, int64_t def) const {
    auto* p = find_attr(*this, a, Attribute::Kind::Int);
    return p ? p->i : def;
}
float Node::attr_float(const std::string& a, float def) const {
    auto* p = find_attr(*this, a, Attribute::Kind::Float);
    return p ? p->f : def;
}
std::string Node::attr_string(const std::string& a, const std::string& def) const {
    auto* p = find_attr(*this, a, Attribute::Kind::String);
    return p ? p->s : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& a, std::vector<int64_t> def) const {
    auto* p = find_attr(*this, a, Attribute::Kind::Ints);
    return p ? p->ints : def;
}
std::vector<float> Node::attr_floats(const std::string& a, std::vector<float> def) const {
    auto* p = find_attr(*this, a, Attribute::Kind::Floats);
    return p ? p->floats : def;
}
const hq::Tensor* Node::attr_tensor(const std::string& a) const {
    auto* p = find_attr(*this, a, Attribute::Kind::Tensor);
    return p ? &p->t : nullptr;
}

const std::string& Node::input(size_t i) const {
    static const std::string empty;
    return i < inputs.size() ? inputs[i] : empty;
}

size_t Node::num_inputs() const {
    size_t n = inputs.size();
    while (n > 0 && inputs[n - 1].empty()) --n;
    return n;
}

std::string Node::label() const { return op_type + " '" + name + "'"; }

const ValueInfo* Graph::find_value(const std::string& v) const {
    for (const auto& i : inputs)
        if (i.name == v) return &i;
    for (const auto& o : outputs)
        if (o.name == v) return &o;
    auto it = value_info.find(v);
    return it == value_info.end() ? nullptr : &it->second;
}

std::map<std::string, size_t> Graph::producers() const {
    std::map<std::string, size_t> m;
    for (size_t i = 0; i < nodes.size(); ++i)
        for (const auto& o : nodes[i].outputs)
            if (!o.empty()) m[o] = i;
    return m;
}

std::map<std::string, std::vector<size_t>> Graph::consumers() const {
    std::map<std::string, std::vector<size_t>> m;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& in : nodes[i].inputs)
            if (!in.empty() && (m[in].empty() || m[in].back() != i)) m[in].push_back(i);
        if (has_subgraphs(nodes[i]))
            for (const auto& in : implicit_inputs(nodes[i]))
                if (m[in].empty() || m[in].back() != i) m[in].push_back(i);
    }
    return m;
}

bool Graph::is_graph_output(const std::string& v) const {
    for (const auto& o : outputs)
        if (o.name == v) return true;
    return false;
}

static void collect_names(const Graph& g, std::set<std::string>& used) {
    for (const auto& n : g.nodes) {
        used.insert(n.name);
        for (const auto& x : n.outputs) used.insert(x);
        for (const auto& x : n.inputs) used.insert(x);
        for (const auto& [a, sg] : subgraphs(n)) collect_names(*sg, used);
    }
    for (const auto& i : g.inputs) used.insert(i.name);
    for (const auto& o : g.outputs) used.insert(o.name);
    for (const auto& [k, v] : g.initializers) used.insert(k);
}

std::string Graph::unique_name(const std::string& base) const {
    std::set<std::string> used = outer_names;
    collect_names(*this, used);
    if (!used.count(base)) return base;
    for (int i = 1;; ++i) {
        std::string c = base + "_" + std::to_string(i);
        if (!used.count(c)) return c;
    }
}

std::vector<std::pair<std::string, const Graph*>> subgraphs(const Node& n) {
    std::vector<std::pair<std::string, const Graph*>> r;
    for (const auto& [k, a] : n.attrs) {
        if (a.g) r.emplace_back(k, a.g.get());
        for (const auto& sg : a.graphs)
            if (sg) r.emplace_back(k, sg.get());
    }
    return r;
}

std::vector<std::pair<std::string, Graph*>> subgraphs(Node& n) {
    std::vector<std::pair<std::string, Graph*>> r;
    for (auto& [k, a] : n.attrs) {
        if (a.g) r.emplace_back(k, a.g.get());
        for (auto& sg : a.graphs)
            if (sg) r.emplace_back(k, sg.get());
    }
    return r;
}

bool has_subgraphs(const Node& n) {
    for (const auto& [k, a] : n.attrs)
        if (a.g || !a.graphs.empty()) return true;
    return false;
}

std::set<std::string> defined_names(const Graph& g) {
    std::set<std::string> d;
    for (const auto& i : g.inputs) d.insert(i.name);
    for (const auto& [k, t] : g.initializers) d.insert(k);
    for (const auto& n : g.nodes)
        for (const auto& o : n.outputs)
            if (!o.empty()) d.insert(o);
    return d;
}

// Names graph g reads that it does not define (its outer-scope reads).
static void free_names(const Graph& g, std::set<std::string>& out) {
    const std::set<std::string> def = defined_names(g);
    auto add = [&](const std::string& v) {
        if (!v.empty() && !def.count(v)) out.insert(v);
    };
    for (const auto& n : g.nodes) {
        for (const auto& in : n.inputs) add(in);
        if (has_subgraphs(n))
            for (const auto& v : implicit_inputs(n)) add(v);
    }
    for (const auto& o : g.outputs) add(o.name);
}

std::vector<std::string> implicit_inputs(const Node& n) {
    std::set<std::string> s;
    for (const auto& [a, sg] : subgraphs(n)) free_names(*sg, s);
    return {s.begin(), s.end()};
}

void for_each_graph(const Graph& g, const std::function<void(const Graph&, int)>& fn, int depth) {
    fn(g, depth);
    for (const auto& n : g.nodes)
        for (const auto& [a, sg] : subgraphs(n)) for_each_graph(*sg, fn, depth + 1);
}

void for_each_graph(Graph& g, const std::function<void(Graph&, int)>& fn, int depth) {
    fn(g, depth);
    for (auto& n : g.nodes)
        for (auto& [a, sg] : subgraphs(n)) for_each_graph(*sg, fn, depth + 1);
}

int64_t Model::opset(const std::string& dom) const {
    auto it = opsets.find(dom == "ai.onnx" ? "" : dom);
    return it == opsets.end() ? 0 : it->second;
}

void Model::set_metadata(const std::string& key, const std::string& value) {
    for (auto& [k, v] : metadata)
        if (k == key) {
            v = value;
            return;
        }
    metadata.emplace_back(key, value);
}

void topo_sort(Graph& g, const std::set<std::string>& outer) {
    std::set<std::string> available = outer;
    available.insert(g.outer_names.begin(), g.outer_names.end());  // a subgraph handed to a pass on its own
    for (const auto& i : g.inputs) available.insert(i.name);
    for (const auto& [k, v] : g.initializers) available.insert(k);
    auto prod = g.producers();
    const size_t n = g.nodes.size();
    std::vector<int> missing(n, 0);
    std::map<std::string, std::vector<size_t>> waiting;
    // What each node reads: its inputs and what its subgraphs read from this scope or above.
    std::vector<std::vector<std::string>> reads(n);
    for (size_t i = 0; i < n; ++i) {
        reads[i] = g.nodes[i].inputs;
        if (has_subgraphs(g.nodes[i]))
            for (const auto& v : implicit_inputs(g.nodes[i])) reads[i].push_back(v);
    }
    for (size_t i = 0; i < n; ++i) {
        std::set<std::string> seen;
        for (const auto& in : reads[i]) {
            if (in.empty() || available.count(in) || !seen.insert(in).second) continue;
            if (!prod.count(in)) {
                // An outer-scope read of one of its subgraphs: name the subgraph.
                std::string where;
                for (const auto& [a, sg] : subgraphs(g.nodes[i])) {
                    std::set<std::string> f;
                    free_names(*sg, f);
                    if (where.empty() && f.count(in)) where = " " + a;
                }
                HQ_FAIL(g.nodes[i].label(), where, ": input '", in,
                        "' is not a graph input, an initializer or any node's output",
                        where.empty() ? "" : " of an enclosing scope");
            }
            ++missing[i];
            waiting[in].push_back(i);
        }
    }
    // Kahn's algorithm with a min-heap on the original index keeps the order stable.
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < n; ++i)
        if (!missing[i]) ready.push(i);
    std::vector<Node> out;
    out.reserve(n);
    std::vector<bool> done(n, false);
    while (!ready.empty()) {
        size_t i = ready.top();
        ready.pop();
        done[i] = true;
        for (const auto& o : g.nodes[i].outputs) {
            auto it = waiting.find(o);
            if (it == waiting.end()) continue;
            for (size_t c : it->second)
                if (--missing[c] == 0) ready.push(c);
            waiting.erase(it);
        }
        out.push_back(std::move(g.nodes[i]));
    }
    if (out.size() != n) {
        // Some node waits forever. Walk back from one through inputs that are never produced until a node repeats:
        // that node lies on a cycle (every node left waits on another one left).
        size_t cur = 0;
        while (done[cur]) ++cur;
        std::vector<int> visit(n, -1);
        for (int step = 0; visit[cur] < 0; ++step) {
            visit[cur] = step;
            size_t next = cur;
            for (const auto& in : reads[cur]) {
                auto it = prod.find(in);
                if (!in.empty() && !available.count(in) && it != prod.end() && !done[it->second]) {
                    next = it->second;
                    break;
                }
            }
            cur = next;
        }
        HQ_FAIL(g.nodes[cur].label(), ": the graph has a cycle through this node");
    }
    g.nodes = std::move(out);
    // Subgraphs see every name of this graph and of the enclosing ones.
    bool any = false;
    for (const auto& nd : g.nodes) any |= has_subgraphs(nd);
    if (!any) return;
    std::set<std::string> inner = available;
    for (const auto& [v, i] : prod) inner.insert(v);
    for (auto& nd : g.nodes)
        for (auto& [a, sg] : subgraphs(nd)) {
            try {
                topo_sort(*sg, inner);
            } catch (const Error& e) {
                HQ_FAIL(nd.label(), " ", a, ": ", e.what());
            }
        }
}

void check_structure(const Graph& g, const std::string& label, const std::set<std::string>& outer) {
    const bool sub = !outer.empty() || label.find(" > ") != std::string::npos;
    std::set<std::string> defined;  // graph inputs and initializers
    for (const auto& i : g.inputs) {
        HQ_CHECK(!i.name.empty(), label, ": a graph input has no name");
        HQ_CHECK(defined.insert(i.name).second, label, ": graph input '", i.name, "' is listed twice");
    }
    for (const auto& [k, t] : g.initializers) {
        HQ_CHECK(!k.empty(), label, ": an initializer has no name");
        defined.insert(k);
    }
    std::map<std::string, const Node*> produced;
    for (const auto& nd : g.nodes) {
        HQ_CHECK(!nd.op_type.empty(), label, ": node '", nd.name, "' has no operator type");
        for (const auto& o : nd.outputs) {
            if (o.empty()) continue;
            HQ_CHECK(!defined.count(o), label, ": ", nd.label(), " writes '", o,
                     "', which is already a graph input or an initializer");
            auto [it, fresh] = produced.emplace(o, &nd);
            HQ_CHECK(fresh, label, ": ", nd.label(), " writes '", o, "', which ", it->second->label(),
                     " already produces (a value has one producer)");
        }
    }
    std::set<std::string> outs;
    for (const auto& o : g.outputs) {
        HQ_CHECK(!o.name.empty(), label, ": a graph output has no name");
        HQ_CHECK(outs.insert(o.name).second, label, ": graph output '", o.name, "' is listed twice");
        HQ_CHECK(defined.count(o.name) || produced.count(o.name) || outer.count(o.name), label, ": graph output '",
                 o.name, "' is not produced by any node, nor a graph input or an initializer");
        HQ_CHECK(sub || o.dtype != DType::Undefined, label, ": graph output '", o.name, "' has no element type");
    }
    std::set<std::string> inner;
    for (const auto& nd : g.nodes)
        for (const auto& [a, sg] : subgraphs(nd)) {
            if (inner.empty()) {
                inner = outer;
                inner.insert(defined.begin(), defined.end());
                for (const auto& [v, p] : produced) inner.insert(v);
            }
            check_structure(*sg, label + " > " + nd.label() + " " + a, inner);
        }
}

}  // namespace hq::graph
