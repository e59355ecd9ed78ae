#include "graph/passes.h"

#include <spdlog/spdlog.h>

#include <set>

#include "core/error.h"

namespace hq::graph {

namespace {

struct FnPass : Pass {
    std::string n;
    std::function<bool(Model&, const PassContext&)> fn;
    FnPass(std::string name, std::function<bool(Model&, const PassContext&)> f) : n(std::move(name)), fn(std::move(f)) {}
    std::string name() const override { return n; }
    bool apply(Model& m, const PassContext& c) override { return fn(m, c); }
};

}  // namespace

std::vector<std::unique_ptr<Pass>> default_pipeline() {
    std::vector<std::unique_ptr<Pass>> p;
    p.push_back(std::make_unique<FnPass>("lift_constants", [](Model& m, const PassContext&) { return lift_constants(m); }));
    p.push_back(std::make_unique<FnPass>("fold_constants", fold_constants));
    p.push_back(std::make_unique<FnPass>("fold_batchnorm", [](Model& m, const PassContext&) { return fold_batchnorm(m); }));
    p.push_back(std::make_unique<FnPass>("eliminate_dead_code", [](Model& m, const PassContext&) { return eliminate_dead_code(m); }));
    return p;
}

void run_pipeline(Model& m, const PassContext& ctx) {
    for (auto& pass : default_pipeline()) {
        size_t before = m.graph.nodes.size();
        bool changed = pass->apply(m, ctx);
        topo_sort(m.graph);
        if (changed) spdlog::debug("pass {}: {} -> {} nodes", pass->name(), before, m.graph.nodes.size());
    }
}

static bool lift_constants_in(Graph& g, bool sub) {
    bool changed = false;
    std::vector<Node> kept;
    for (auto& n : g.nodes) {
        // In a subgraph, a Constant that is the subgraph's output stays a node (an output that is an initializer
        // of a branch is legal ONNX, but not every runtime takes it).
        if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 ||
            (sub && g.is_graph_output(n.outputs[0]))) {
            kept.push_back(std::move(n));
            continue;
        }
        Tensor t;
        if (const Tensor* v = n.attr_tensor("value")) t = *v;
        else if (n.has_attr("value_float")) t = Tensor::scalar_f32(n.attr_float("value_float", 0));
        else if (n.has_attr("value_floats")) {
            auto v = n.attr_floats("value_floats");
            t = Tensor::from_f32({(int64_t)v.size()}, v);
        } else if (n.has_attr("value_int")) t = Tensor::from_i64({}, {n.attr_int("value_int", 0)});
        else if (n.has_attr("value_ints")) {
            auto v = n.attr_ints("value_ints");
            t = Tensor::from_i64({(int64_t)v.size()}, v);
        } else if (n.has_attr("value_string")) {
            t = Tensor(DType::String, {});
            t.strings()[0] = n.attr_string("value_string", "");
        } else if (n.has_attr("value_strings")) {
            auto it = n.attrs.find("value_strings");
            t = Tensor(DType::String, {(int64_t)it->second.strings.size()});
            t.strings() = it->second.strings;
        } else {  // sparse_value: leave the node to the executor
            kept.push_back(std::move(n));
            continue;
        }
        g.initializers[n.outputs[0]] = t;
        g.value_info.erase(n.outputs[0]);
        changed = true;
    }
    g.nodes = std::move(kept);
    return changed;
}

bool lift_constants(Model& m) {
    bool changed = false;
    for_each_graph(m.graph, [&](Graph& g, int depth) { changed |= lift_constants_in(g, depth > 0); });
    return changed;
}

static void collect_used(const Graph& g, std::set<std::string>& used) {
    for (const auto& n : g.nodes) {
        for (const auto& i : n.inputs) used.insert(i);
        for (const auto& [k, a] : n.attrs) {
            if (a.g) collect_used(*a.g, used);
            for (const auto& sg : a.graphs) collect_used(*sg, used);
        }
    }
    for (const auto& o : g.outputs) used.insert(o.name);
}

// Dead nodes, unread initializers and stale value infos of one graph (`main`: the model's graph, whose
// outputs are the model's; a subgraph's outputs are live the same way).
static bool eliminate_dead_code_in(Graph& g) {
    bool changed = false;
    for (bool again = true; again;) {
        again = false;
        std::set<std::string> used;
        collect_used(g, used);
        std::vector<Node> kept;
        for (auto& n : g.nodes) {
            bool live = false;
            for (const auto& o : n.outputs) live |= !o.empty() && used.count(o);
            if (live) kept.push_back(std::move(n));
            else again = true;
        }
        g.nodes = std::move(kept);
        changed |= again;
    }
    std::set<std::string> used;
    collect_used(g, used);
    for (auto it = g.initializers.begin(); it != g.initializers.end();) {
        if (!used.count(it->first)) {
            it = g.initializers.erase(it);
            changed = true;
        } else {
            ++it;
        }
    }
    std::set<std::string> produced;
    for (const auto& n : g.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
    for (auto it = g.value_info.begin(); it != g.value_info.end();)
        it = produced.count(it->first) ? std::next(it) : g.value_info.erase(it);
    return changed;
}

bool eliminate_dead_code(Model& m) {
    // The main graph first (a value read only inside a branch is used: collect_used looks into subgraphs), then
    // every subgraph of what is left.
    bool changed = false;
    for_each_graph(m.graph, [&](Graph& g, int) { changed |= eliminate_dead_code_in(g); });
    return changed;
}

static std::optional<Shape> known_shape(const Graph& g, const std::string& v) {
    auto it = g.initializers.find(v);
    if (it != g.initializers.end()) return it->second.shape();
    const ValueInfo* vi = g.find_value(v);
    return vi ? vi->static_shape() : std::nullopt;
}

// A constant visible in g: g's initializer, or (for a subgraph) one of an enclosing graph that no nearer scope
// redefines. `scopes` lists the enclosing graphs, innermost last.
static const Tensor* scoped_constant(const Graph& g, const std::vector<const Graph*>& scopes,
                                     const std::vector<std::set<std::string>>& defined, const std::string& v) {
    auto it = g.initializers.find(v);
    if (it != g.initializers.end()) return &it->second;
    if (scopes.empty() || defined.back().count(v)) return nullptr;  // g's own input or node output
    for (size_t k = scopes.size(); k-- > 0;) {
        auto jt = scopes[k]->initializers.find(v);
        if (jt != scopes[k]->initializers.end()) return &jt->second;
        if (defined[k].count(v)) return nullptr;
    }
    return nullptr;
}

static bool fold_constants_in(Graph& g, const Model& m, const PassContext& ctx, std::vector<const Graph*>& scopes,
                              std::vector<std::set<std::string>>& defined) {
    const bool sub = !scopes.empty();
    if (sub) defined.push_back(defined_names(g));  // defined[k] for scopes[k]; back() is g's own when sub
    static const std::set<std::string> never = {"QuantizeLinear", "DequantizeLinear", "RandomNormal", "RandomUniform",
                                                "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
                                                "If", "Loop", "Scan", "Constant"};
    bool changed = false;
    std::vector<Node> kept;
    for (auto& n : g.nodes) {
        bool folded = false;
        bool sub_output = false;  // a subgraph's output stays a node (see lift_constants)
        for (const auto& o : n.outputs) sub_output |= sub && g.is_graph_output(o);
        if (sub_output) {
            kept.push_back(std::move(n));
            continue;
        }
        if (n.domain.empty() && (n.op_type == "Shape" || n.op_type == "Size") && n.outputs.size() == 1 &&
            !n.input(0).empty()) {
            // In a subgraph only a constant's shape is used (a body's declared shapes may vary per iteration).
            std::optional<Shape> known;
            if (!sub) known = known_shape(g, n.input(0));
            else if (const Tensor* c = scoped_constant(g, scopes, defined, n.input(0))) known = c->shape();
            if (auto s = known) {
                int64_t r = (int64_t)s->size();
                if (n.op_type == "Size") {
                    g.initializers[n.outputs[0]] = Tensor::from_i64({}, {shape_numel(*s)});
                } else {
                    int64_t start = n.attr_int("start", 0), end = n.attr_int("end", r);
                    if (start < 0) start += r;
                    if (end < 0) end += r;
                    start = std::clamp<int64_t>(start, 0, r);
                    end = std::clamp<int64_t>(end, start, r);
                    std::vector<int64_t> dims(s->begin() + start, s->begin() + end);
                    g.initializers[n.outputs[0]] = Tensor::from_i64({(int64_t)dims.size()}, dims);
                }
                folded = true;
            }
        } else if (ctx.evaluate && n.domain.empty() && !never.count(n.op_type) && n.num_inputs() > 0 &&
                   !has_subgraphs(n)) {
            bool all_const = true;
            size_t in_bytes = 0;
            std::vector<Tensor> ins;
            for (const auto& i : n.inputs) {
                if (i.empty()) {
                    ins.emplace_back();
                    continue;
                }
                const Tensor* c = scoped_constant(g, scopes, defined, i);
                if (!c) {
                    all_const = false;
                    break;
                }
                ins.push_back(*c);
                in_bytes += c->nbytes();
            }
            if (all_const) {
                std::vector<Tensor> outs = ctx.evaluate(n, ins, m.opset(n.domain));
                size_t out_bytes = 0;
                for (const auto& t : outs) out_bytes += t.nbytes();
                // Folding must not blow the model up (an Expand or ConstantOfShape of a large shape).
                if (outs.size() == n.outputs.size() && out_bytes <= 2 * in_bytes + 65536) {
                    for (size_t k = 0; k < outs.size(); ++k)
                        if (!n.outputs[k].empty()) g.initializers[n.outputs[k]] = outs[k];
                    folded = true;
                }
            }
        }
        if (folded) {
            for (const auto& o : n.outputs) g.value_info.erase(o);
            changed = true;
        } else {
            kept.push_back(std::move(n));
        }
    }
    g.nodes = std::move(kept);
    // Then inside subgraphs, which see this graph's constants (those just folded too).
    if (sub) defined.back() = defined_names(g);
    else defined.push_back(defined_names(g));
    scopes.push_back(&g);
    for (auto& n : g.nodes)
        for (auto& [a, sg] : subgraphs(n)) changed |= fold_constants_in(*sg, m, ctx, scopes, defined);
    scopes.pop_back();
    defined.pop_back();
    return changed;
}

bool fold_constants(Model& m, const PassContext& ctx) {
    std::vector<const Graph*> scopes;
    std::vector<std::set<std::string>> defined;
    return fold_constants_in(m.graph, m, ctx, scopes, defined);
}

}  // namespace hq::graph
