#include "graph/scoped_view.h"

#include <set>

#include "core/error.h"

namespace hq::graph {

namespace {

void all_names(const Graph& g, std::set<std::string>& out) {
    for_each_graph(g, [&](const Graph& x, int) {
        for (const auto& i : x.inputs) out.insert(i.name);
        for (const auto& o : x.outputs) out.insert(o.name);
        for (const auto& [k, t] : x.initializers) out.insert(k);
        for (const auto& [k, v] : x.value_info) out.insert(k);
        for (const auto& n : x.nodes) {
            out.insert(n.name);
            out.insert(n.outputs.begin(), n.outputs.end());
            out.insert(n.inputs.begin(), n.inputs.end());
        }
    });
    out.erase("");
}

// Names g reads that it does not define, with what the nearest enclosing scope knows of them.
struct Imports {
    std::map<std::string, Tensor> constants;
    std::map<std::string, ValueInfo> types;
};

Imports imports_for(const Graph& g, const std::vector<const Graph*>& scopes) {
    Imports im;
    std::set<std::string> free;
    const auto def = defined_names(g);
    auto add = [&](const std::string& v) {
        if (!v.empty() && !def.count(v)) free.insert(v);
    };
    for (const auto& n : g.nodes) {
        for (const auto& in : n.inputs) add(in);
        if (has_subgraphs(n))
            for (const auto& v : implicit_inputs(n)) add(v);
    }
    for (const auto& o : g.outputs) add(o.name);
    for (const auto& v : free) {
        for (size_t k = scopes.size(); k-- > 0;) {
            const Graph& s = *scopes[k];
            if (auto it = s.initializers.find(v); it != s.initializers.end()) {
                im.constants[v] = it->second;
                break;
            }
            if (const ValueInfo* vi = s.find_value(v)) {
                im.types[v] = *vi;
                break;
            }
            bool produced = false;
            for (const auto& n : s.nodes)
                for (const auto& o : n.outputs) produced |= o == v;
            if (produced) break;  // defined there without a known type
        }
    }
    return im;
}

void rename_reads(Graph& g, const std::string& from, const std::string& to) {
    for (auto& n : g.nodes) {
        for (auto& in : n.inputs)
            if (in == from) in = to;
        for (auto& [a, sg] : subgraphs(n))
            if (!defined_names(*sg).count(from)) rename_reads(*sg, from, to);
    }
    for (auto& o : g.outputs)
        if (o.name == from) o.name = to;
}

struct MutableWalker {
    Model& m;
    const std::function<void(Model&, const std::string&)>& fn;

    void walk(Graph& g, std::vector<const Graph*>& scopes, const std::string& where) {
        scopes.push_back(&g);
        for (auto& n : g.nodes)
            for (auto& [a, sgp] : subgraphs(n)) {
                Graph& sg = *sgp;
                const std::string here = (where.empty() ? "" : where + " > ") + n.label() + " " + a;
                Imports im = imports_for(sg, scopes);
                // Every name of the model but those the subgraph defines itself (topo_sort takes outer_names as
                // available; unique_name sees the subgraph's own names anyway).
                std::set<std::string> names;
                all_names(m.graph, names);
                for (const auto& d : defined_names(sg)) names.erase(d);
                Model view;
                view.ir_version = m.ir_version;
                view.opsets = m.opsets;
                view.source_path = m.source_path;
                view.graph = std::move(sg);
                for (const auto& [k, t] : im.constants) view.graph.initializers[k] = t;
                for (const auto& [k, vi] : im.types) view.graph.value_info.emplace(k, vi);
                view.graph.outer_names = std::move(names);
                fn(view, here);
                Graph& vg = view.graph;
                for (const auto& [k, vi] : im.types) vg.value_info.erase(k);
                for (const auto& [k, t] : im.constants) {
                    auto it = vg.initializers.find(k);
                    if (it == vg.initializers.end()) continue;
                    if (it->second.storage() == t.storage() && it->second.dtype() == t.dtype() &&
                        it->second.shape() == t.shape()) {
                        vg.initializers.erase(it);
                        continue;
                    }
                    // The pass replaced the constant (an FP16 conversion in place): the subgraph keeps its own.
                    const std::string fresh = vg.unique_name(k + "_" + (vg.name.empty() ? "sub" : vg.name));
                    Tensor nt = std::move(it->second);
                    vg.initializers.erase(it);
                    vg.initializers[fresh] = std::move(nt);
                    rename_reads(vg, k, fresh);
                }
                vg.outer_names.clear();
                sg = std::move(vg);
                walk(sg, scopes, here);
            }
        scopes.pop_back();
    }
};

void walk_const(const Model& m, const Graph& g, std::vector<const Graph*>& scopes, const std::string& where,
                const std::function<void(const Model&, const std::string&)>& fn) {
    scopes.push_back(&g);
    for (const auto& n : g.nodes)
        for (const auto& [a, sgp] : subgraphs(n)) {
            const std::string here = (where.empty() ? "" : where + " > ") + n.label() + " " + a;
            Imports im = imports_for(*sgp, scopes);
            Model view;
            view.ir_version = m.ir_version;
            view.opsets = m.opsets;
            view.source_path = m.source_path;
            view.graph = *sgp;
            for (const auto& [k, t] : im.constants) view.graph.initializers[k] = t;
            for (const auto& [k, vi] : im.types) view.graph.value_info.emplace(k, vi);
            fn(view, here);
            walk_const(m, *sgp, scopes, here, fn);
        }
    scopes.pop_back();
}

}  // namespace

void for_each_graph_view(Model& m, const std::function<void(Model&, const std::string&)>& fn) {
    fn(m, "");
    std::vector<const Graph*> scopes;
    MutableWalker w{m, fn};
    w.walk(m.graph, scopes, "");
}

void for_each_graph_view(const Model& m, const std::function<void(const Model&, const std::string&)>& fn) {
    fn(m, "");
    std::vector<const Graph*> scopes;
    walk_const(m, m.graph, scopes, "", fn);
}

const Node* find_node_anywhere(const Model& m, const std::string& name) {
    const Node* r = nullptr;
    for_each_graph(m.graph, [&](const Graph& g, int) {
        for (const auto& n : g.nodes)
            if (!r && n.name == name) r = &n;
    });
    return r;
}

const Tensor* find_initializer_anywhere(const Model& m, const std::string& v) {
    const Tensor* r = nullptr;
    for_each_graph(m.graph, [&](const Graph& g, int) {
        auto it = g.initializers.find(v);
        if (!r && it != g.initializers.end()) r = &it->second;
    });
    return r;
}

bool is_output_anywhere(const Model& m, const std::string& v) {
    bool r = false;
    for_each_graph(m.graph, [&](const Graph& g, int) { r = r || g.is_graph_output(v); });
    return r;
}

}  // namespace hq::graph
